import assert from "node:assert/strict";
import {
  LiveSeeds,
  type LiveSeedsOptions,
  LiveTrades,
  type LiveTradesOptions,
  readVenueMessage,
  tradePrice,
} from "../../validator/live_prices.ts";
import { until } from "../until.ts";

/** A loopback WebSocket server standing in for a venue: records what clients send and lets the
 * test push messages to every client, or hang up on them. */
function venueServer(onConnect?: (socket: WebSocket) => void) {
  const received: string[] = [];
  const sockets = new Set<WebSocket>();
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => {
      sockets.add(socket);
      onConnect?.(socket);
    };
    socket.onmessage = (message) => received.push(String(message.data));
    socket.onclose = () => sockets.delete(socket);
    return response;
  });
  return {
    url: `ws://127.0.0.1:${server.addr.port}`,
    received,
    send: (data: unknown) => {
      for (const socket of sockets) socket.send(JSON.stringify(data));
    },
    connections: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.close();
      await server.shutdown();
    },
  };
}

const coinbaseTrade = (product: string, ...prices: string[]) => ({
  channel: "market_trades",
  events: [{
    type: "update",
    trades: prices.map((price) => ({ product_id: product, price, size: "0.1", side: "BUY" })),
  }],
});

const quiet = () => {};

/** The options of every test of streams against loopback venues: no op or resource sanitizer. */
const streamSanitizers = { sanitizeOps: false, sanitizeResources: false };

/** A BTC stream (BTC-USD, btcusdt) at `urls`, silent after 30 s, quiet unless told otherwise. */
function bitcoinTrades(
  options: Partial<LiveTradesOptions> & Pick<LiveTradesOptions, "urls">,
): LiveTrades {
  return new LiveTrades({
    symbols: { coinbase: "BTC-USD", binance: "btcusdt" },
    inactivitySeconds: 30,
    log: quiet,
    ...options,
  });
}

/** A BTC stream on Coinbase at `url`, Binance unreachable, quiet. */
function bitcoinOn(url: string): LiveTrades {
  return bitcoinTrades({ urls: { coinbase: url, binance: "ws://127.0.0.1:9" } });
}

/** Runs `test` on a BTC stream started on a loopback Coinbase once that has its subscription;
 * closes both after (closing the stream again is harmless). */
async function subscribedOnCoinbase(
  test: (coinbase: ReturnType<typeof venueServer>, trades: LiveTrades) => Promise<void>,
): Promise<void> {
  const coinbase = venueServer();
  const trades = bitcoinOn(coinbase.url);
  try {
    trades.start();
    await until(() => coinbase.received.length > 0, "the subscription");
    await test(coinbase, trades);
  } finally {
    trades.close();
    await coinbase.close();
  }
}

/**
 * Runs a BTC stream with both venues unreachable, pausing from `retrySeconds`, until it has logged
 * `failures` lines; resolves to those lines and its price then.
 */
async function failuresWithoutVenues(retrySeconds: number, failures: number) {
  const lines: string[] = [];
  const trades = bitcoinTrades({
    urls: { coinbase: "ws://127.0.0.1:9", binance: "ws://127.0.0.1:9/ws" },
    retrySeconds,
    log: (_, message) => lines.push(message),
  });
  try {
    trades.start();
    await until(() => lines.length >= failures, `${failures} failures`);
    return { lines, latest: trades.latest };
  } finally {
    trades.close();
  }
}

/** Seeds of BTC (fundamental) and TAO perpetuals (external) on Coinbase at `url`, quiet. */
function taoSeedsOn(
  url: string,
  options: Pick<LiveSeedsOptions, "samplingSeconds"> & Partial<LiveSeedsOptions>,
): LiveSeeds {
  return new LiveSeeds({
    fundamental: { coinbase: "BTC-USD", binance: "btcusdt" },
    external: { coinbase: "TAO-PERP-INTX", binance: "taousdt" },
    urls: { coinbase: url, binance: "ws://127.0.0.1:9" },
    log: quiet,
    ...options,
  });
}

Deno.test("trade messages of both venues parse; anything else is ignored", () => {
  assert.equal(
    tradePrice("coinbase", "BTC-USD", coinbaseTrade("BTC-USD", "95001.5", "95000")),
    95001.5,
  );
  assert.equal(tradePrice("coinbase", "BTC-USD", coinbaseTrade("ETH-USD", "3000")), null);
  // A snapshot repeats past trades: even one of the symbol is no new price.
  const snapshot = {
    ...coinbaseTrade("BTC-USD", "1"),
    events: [{ type: "snapshot", trades: coinbaseTrade("BTC-USD", "1").events[0].trades }],
  };
  assert.equal(tradePrice("coinbase", "BTC-USD", snapshot), null);
  assert.equal(tradePrice("coinbase", "BTC-USD", { channel: "subscriptions", events: [] }), null);
  assert.equal(tradePrice("coinbase", "BTC-USD", coinbaseTrade("BTC-USD", "-1")), null);
  assert.equal(
    tradePrice("binance", "btcusdt", { e: "trade", s: "BTCUSDT", p: "95000.10" }),
    95000.1,
  );
  assert.equal(tradePrice("binance", "btcusdt", { e: "trade", s: "ETHUSDT", p: "3000" }), null);
  assert.equal(tradePrice("binance", "btcusdt", { e: "trade", s: "BTCUSDT", p: "NaN" }), null);
  assert.equal(tradePrice("binance", "btcusdt", { result: null, id: 1 }), null);
});

Deno.test("a price is a positive decimal string, and a bad trade after the newest does not hide it", () => {
  // The reference reads the first (newest) trade of an update alone.
  const newestThenBad = coinbaseTrade("BTC-USD", "95000.5", "");
  assert.equal(tradePrice("coinbase", "BTC-USD", newestThenBad), 95000.5);
  const otherEvent = {
    channel: "market_trades",
    events: [
      ...coinbaseTrade("BTC-USD", "95000.5").events,
      { type: "update", trades: [{ product_id: "ETH-USD", price: null }] },
    ],
  };
  assert.equal(tradePrice("coinbase", "BTC-USD", otherEvent), 95000.5);
  // Of several update events, the first alone is read, as the reference reads a message.
  const twoUpdates = {
    channel: "market_trades",
    events: [
      { type: "snapshot", trades: [{ product_id: "BTC-USD", price: "90000" }] },
      ...coinbaseTrade("BTC-USD", "95000.5").events,
      ...coinbaseTrade("BTC-USD", "95001").events,
    ],
  };
  assert.equal(tradePrice("coinbase", "BTC-USD", twoUpdates), 95000.5);
  assert.equal(tradePrice("coinbase", "BTC-USD", coinbaseTrade("BTC-USD", "")), null);
  // Hex or padded text is no venue's price (a recorded feed refuses it too).
  assert.equal(tradePrice("binance", "btcusdt", { e: "trade", s: "BTCUSDT", p: "0x10" }), null);
  assert.equal(tradePrice("coinbase", "BTC-USD", coinbaseTrade("BTC-USD", "0x10")), null);
  assert.equal(tradePrice("binance", "btcusdt", { e: "trade", s: "BTCUSDT", p: " 5 " }), null);
  assert.equal(tradePrice("binance", "btcusdt", { e: "trade", s: "BTCUSDT", p: "1e3" }), 1000);
  // A price of zero would seed a process at 0: no trade is priced so.
  for (const zero of ["0", "0.0", ".0", "0e5"]) {
    assert.equal(tradePrice("binance", "btcusdt", { e: "trade", s: "BTCUSDT", p: zero }), null);
    assert.equal(tradePrice("coinbase", "BTC-USD", coinbaseTrade("BTC-USD", zero)), null);
  }
  assert.equal(tradePrice("binance", "btcusdt", { e: "trade", s: "BTCUSDT", p: "1e-8" }), 1e-8);
});

Deno.test({
  name: "a stream subscribes on Coinbase and follows its trades",
  ...streamSanitizers,
}, () =>
  subscribedOnCoinbase(async (coinbase, trades) => {
    assert.deepEqual(JSON.parse(coinbase.received[0]), {
      type: "subscribe",
      product_ids: ["BTC-USD"],
      channel: "market_trades",
    });
    assert.equal(trades.latest, null);
    coinbase.send(coinbaseTrade("BTC-USD", "95010.25"));
    await until(() => trades.latest === 95010.25, "the first trade");
    coinbase.send({ channel: "heartbeats", events: [] });
    coinbase.send(coinbaseTrade("BTC-USD", "95011"));
    await until(() => trades.latest === 95011, "the next trade");
    assert.equal(trades.venue, "coinbase");
  }));

Deno.test({
  name: "a stream turns to Binance when Coinbase hangs up or falls silent, and back",
  ...streamSanitizers,
}, async () => {
  const lines: string[] = [];
  const hangUp = venueServer((socket) => socket.close());
  const binance = venueServer();
  const trades = bitcoinTrades({
    urls: { coinbase: hangUp.url, binance: binance.url },
    inactivitySeconds: 0.5,
    retrySeconds: 0.05,
    log: (_, message) => lines.push(message),
  });
  try {
    trades.start();
    await until(() => binance.received.length > 0, "the Binance subscription");
    assert.deepEqual(JSON.parse(binance.received[0]), {
      method: "SUBSCRIBE",
      params: ["btcusdt@trade"],
      id: 1,
    });
    binance.send({ e: "trade", s: "BTCUSDT", p: "94999.5", T: 1 });
    await until(() => trades.latest === 94999.5, "a Binance trade");
    assert.equal(trades.venue, "binance");
    assert.ok(
      lines.some((l) => l.includes("coinbase closed the BTC-USD stream")),
      lines.join("\n"),
    );
    // Binance goes quiet: after the inactivity limit the stream tries Coinbase again.
    await until(() => lines.some((l) => l.includes("no btcusdt trade from binance")), "silence");
    await until(() => trades.venue === "binance" && binance.received.length > 1, "the round trip");
    assert.equal(trades.latest, 94999.5, "the last price stays until a new trade");
  } finally {
    trades.close();
    await hangUp.close();
    await binance.close();
  }
});

Deno.test({
  name: "the external stream is sampled once per sampling period; the fundamental follows trades",
  ...streamSanitizers,
}, async () => {
  const coinbase = venueServer();
  const seeds = taoSeedsOn(coinbase.url, { samplingSeconds: 0.2 });
  try {
    seeds.start();
    await until(() => coinbase.received.length === 2, "both subscriptions");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(seeds.takeExternalSamples(), [], "no sample before the first trade");
    coinbase.send(coinbaseTrade("TAO-PERP-INTX", "410.5"));
    coinbase.send(coinbaseTrade("BTC-USD", "95000"));
    await until(() => seeds.latestFundamental() === 95000, "the fundamental trade");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const samples = seeds.takeExternalSamples();
    assert.ok(samples.length >= 1 && samples.length <= 4, `${samples.length} samples in 0.5 s`);
    assert.ok(samples.every((s) => s === 410.5));
    assert.deepEqual(seeds.takeExternalSamples().filter((s) => s !== 410.5), []);
  } finally {
    seeds.close();
    await coinbase.close();
  }
});

Deno.test({
  name: "with no venue reachable the stream keeps trying, waiting twice as long each time",
  ...streamSanitizers,
}, async () => {
  const { lines, latest } = await failuresWithoutVenues(0.05, 4);
  assert.match(
    lines[0],
    /cannot connect to coinbase at ws:\/\/127\.0\.0\.1:9 for BTC-USD; trying binance in 0\.05 s/,
  );
  assert.match(lines[1], /cannot connect to binance .* trying coinbase in 0\.1 s/);
  assert.match(lines[2], /trying binance in 0\.2 s/);
  assert.match(lines[3], /trying coinbase in 0\.4 s/);
  assert.equal(latest, null);
});

Deno.test({
  name: "a stream reports an outage once every venue has failed, and its end at the next trade",
  ...streamSanitizers,
}, async () => {
  const outages: (string | null)[] = [];
  const lines: string[] = [];
  let refuse = true;
  const coinbase = venueServer((socket) => {
    if (refuse) socket.close();
  });
  const trades = bitcoinTrades({
    urls: { coinbase: coinbase.url, binance: "ws://127.0.0.1:9" },
    retrySeconds: 0.02,
    log: (_, message) => lines.push(message),
    onOutage: (message) => outages.push(message),
  });
  try {
    trades.start();
    await until(() => outages.length > 0, "the outage");
    assert.match(
      outages[0]!,
      /^no venue delivers trades \(BTC-USD on coinbase, btcusdt on binance\); last: /,
    );
    // Further failures of the same outage report nothing more.
    await until(() => lines.filter((l) => l.includes("; trying ")).length >= 5, "five failures");
    refuse = false;
    await until(() => coinbase.connections() > 0, "a connection to Coinbase again");
    coinbase.send(coinbaseTrade("BTC-USD", "95000"));
    await until(() => trades.latest === 95000, "a trade");
    coinbase.send(coinbaseTrade("BTC-USD", "95001"));
    await until(() => trades.latest === 95001, "a second trade");
    assert.equal(outages.length, 2, "one outage, reported once, then its end");
    assert.equal(outages[1], null);
    // A trade ends the run of failures: the next one waits the first pause again.
    const before = lines.length;
    refuse = true;
    await coinbase.close();
    await until(() => lines.length > before, "the next failure");
    assert.match(
      lines[before],
      /^price seeding: coinbase closed the BTC-USD stream; trying binance in 0\.02 s$/,
    );
  } finally {
    trades.close();
    await coinbase.close();
  }
});

Deno.test({
  name: "an external sample needs a trade since the last: a stream that stops adds none",
  ...streamSanitizers,
}, async () => {
  const coinbase = venueServer();
  let up = true;
  const outages: string[] = [];
  const seeds = taoSeedsOn(coinbase.url, {
    samplingSeconds: 0.05,
    retrySeconds: 0.02,
    onOutage: (stream, message) => {
      if (message !== null) outages.push(stream);
    },
  });
  try {
    seeds.start();
    await until(() => coinbase.received.length === 2, "both subscriptions");
    coinbase.send(coinbaseTrade("TAO-PERP-INTX", "410.5"));
    const samples: number[] = [];
    await until(() => samples.push(...seeds.takeExternalSamples()) > 0, "the first sample");
    // One trade is one observation, however many sampling periods pass after it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    samples.push(...seeds.takeExternalSamples());
    assert.deepEqual(samples, [410.5]);
    // No venue delivers: the signal holds rather than taking the old price again and again.
    up = false;
    await coinbase.close();
    await until(() => outages.includes("external"), "the outage");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(seeds.takeExternalSamples(), [], "no sample without a trade");
  } finally {
    seeds.close();
    if (up) await coinbase.close();
  }
});

Deno.test({
  name: "a stream that was closed takes no price its old connection still brings",
  ...streamSanitizers,
}, () =>
  subscribedOnCoinbase(async (coinbase, trades) => {
    coinbase.send(coinbaseTrade("BTC-USD", "95000"));
    await until(() => trades.latest === 95000, "the first trade");
    trades.close();
    // Sent before the server sees the close: these arrive on a connection the stream has left.
    for (let i = 1; i <= 100; i++) coinbase.send(coinbaseTrade("BTC-USD", String(95000 + i)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(trades.latest, 95000);
  }));

Deno.test({
  name: "the pause before the next venue is tried is a minute at most",
  ...streamSanitizers,
}, async () => {
  const { lines } = await failuresWithoutVenues(100, 1);
  assert.match(lines[0], /; trying binance in 60 s$/);
});

Deno.test("a price too large for a number is refused as out of range", () => {
  assert.deepEqual(
    readVenueMessage("binance", "btcusdt", { e: "trade", s: "BTCUSDT", p: "1e400" }),
    {
      unreadable: 'p: out of range, got "1e400"',
    },
  );
  assert.deepEqual(readVenueMessage("coinbase", "BTC-USD", coinbaseTrade("BTC-USD", "1e400")), {
    unreadable: 'trades.0.price: out of range, got "1e400"',
  });
  // The largest finite double is still a price.
  assert.equal(tradePrice("binance", "btcusdt", { e: "trade", s: "BTCUSDT", p: "1e308" }), 1e308);
});

/**
 * The warnings of a BTC stream on a loopback Coinbase that sends `messages` on its one connection
 * and then nothing more, up to the switch for silence; resolves to them and the stream's price
 * then.
 */
async function silenceAfter(messages: unknown[]) {
  const lines: string[] = [];
  const coinbase = venueServer();
  const trades = bitcoinTrades({
    urls: { coinbase: coinbase.url, binance: "ws://127.0.0.1:9" },
    inactivitySeconds: 1,
    retrySeconds: 60,
    log: (level, message) => {
      if (level === "warning") lines.push(message);
    },
  });
  try {
    trades.start();
    await until(() => coinbase.received.length > 0, "the subscription");
    for (const message of messages) coinbase.send(message);
    await until(() => lines.some((line) => line.includes("no BTC-USD trade")), "the switch");
    return { warnings: lines, latest: trades.latest };
  } finally {
    trades.close();
    await coinbase.close();
  }
}

const SUBSCRIBED = { channel: "subscriptions", events: [{ subscriptions: { market_trades: [] } }] };

Deno.test({
  name: "the switch for silence counts only the messages sent since the last trade",
  ...streamSanitizers,
}, async () => {
  const before = await silenceAfter([
    SUBSCRIBED,
    coinbaseTrade("BTC-USD", "abc"),
    coinbaseTrade("BTC-USD", "95000"),
  ]);
  assert.equal(before.latest, 95000);
  assert.match(
    before.warnings[0],
    /^price seeding: no BTC-USD trade from coinbase for \d+ s; trying /,
  );
  const after = await silenceAfter([
    SUBSCRIBED,
    coinbaseTrade("BTC-USD", "abc"),
    coinbaseTrade("BTC-USD", "95000"),
    coinbaseTrade("BTC-USD", "0"),
  ]);
  assert.equal(after.latest, 95000);
  assert.match(
    after.warnings[0],
    /^price seeding: no BTC-USD trade from coinbase for \d+ s, though it sent 1 message \(the last it could not read: trades\.0\.price: must be > 0, got 0\); trying /,
  );
  // A readable message after the trade is counted, and the problem of one before it is not told.
  const readable = await silenceAfter([
    SUBSCRIBED,
    coinbaseTrade("BTC-USD", "abc"),
    coinbaseTrade("BTC-USD", "95000"),
    SUBSCRIBED,
  ]);
  assert.equal(readable.latest, 95000);
  assert.match(
    readable.warnings[0],
    /^price seeding: no BTC-USD trade from coinbase for \d+ s, though it sent 1 message; trying /,
  );
});

Deno.test({
  name: "a venue's text in a warning is cut between characters, and the note counts characters",
  ...streamSanitizers,
}, async () => {
  // Each emoji is two UTF-16 units: a cut by units would end in half of one.
  const faces = "😀".repeat(300);
  const [warning] = (await silenceAfter([coinbaseTrade("BTC-USD", faces)])).warnings;
  const problem = [...`trades.0.price: must be a decimal number in a string, got "${faces}"`];
  assert.ok(
    warning.endsWith(
      `(the last it could not read: ${problem.slice(0, 200).join("")}… ` +
        `(${problem.length - 200} more characters)); trying binance in 60 s`,
    ),
    warning,
  );
});

Deno.test({
  name: "the switch for silence counts only the messages of the venue it leaves",
  ...streamSanitizers,
}, async () => {
  const lines: string[] = [];
  const coinbase = venueServer((socket) => {
    socket.send(JSON.stringify(SUBSCRIBED));
    socket.send(JSON.stringify(coinbaseTrade("BTC-USD", "abc")));
  });
  // Binance's answer to a subscription: read, and no trade.
  const binance = venueServer((socket) => socket.send(JSON.stringify({ result: null, id: 1 })));
  const trades = bitcoinTrades({
    urls: { coinbase: coinbase.url, binance: binance.url },
    inactivitySeconds: 1,
    retrySeconds: 0.02,
    log: (level, message) => {
      if (level === "warning") lines.push(message);
    },
  });
  try {
    trades.start();
    await until(() => lines.length >= 2, "a switch for silence from each venue", 15_000);
    assert.match(
      lines[0],
      /^price seeding: no BTC-USD trade from coinbase for \d+ s, though it sent 2 messages \(the last it could not read: trades\.0\.price: must be a decimal number in a string, got "abc"\); trying binance in 0\.02 s$/,
    );
    // Neither Coinbase's count nor its unreadable message is told of Binance.
    assert.match(
      lines[1],
      /^price seeding: no btcusdt trade from binance for \d+ s, though it sent 1 message; trying /,
    );
  } finally {
    trades.close();
    await coinbase.close();
    await binance.close();
  }
});

Deno.test({
  name: "a venue's refusal of a subscription is logged once per connection, however often sent",
  ...streamSanitizers,
}, async () => {
  const refusal = { type: "error", message: "bad product" };
  const { warnings } = await silenceAfter([refusal, refusal]);
  assert.deepEqual(warnings.slice(0, -1), [
    "price seeding: coinbase answered the BTC-USD subscription with an error: bad product",
  ]);
  assert.match(warnings.at(-1)!, /, though it sent 2 messages; trying binance in 60 s$/);
});
