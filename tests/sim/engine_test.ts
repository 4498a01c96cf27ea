import assert from "node:assert/strict";
import { parseSimConfig, smallPreset, type VolumeDistributionConfig } from "../../sim/config.ts";
import { type Instruction, type PublishState, SimEngine } from "../../sim/engine.ts";
import { FactsCollector } from "../../sim/facts.ts";
import { simulationConfigFor, stateForAgent } from "../../agents/sdk/state.ts";
import { EVENT_FLAG_DROPPED, EventKind } from "../../sim/native_sim.ts";

/** A short quiet market: small preset, one book, 20 simulated minutes, no grace period. */
function shortConfig(minutes = 20) {
  return { ...smallPreset(), books: 1, duration: minutes * 60e9, remoteAgentCount: 2 };
}

function tier(makerFee: number, takerFee: number) {
  return { volumeRequired: 0, makerFee, takerFee };
}

/** Ids of a background group's agents (0 init, 1 stylized, 2 HFT, 3 ALGO, 4 futures). */
function groupIds(engine: SimEngine, group: 0 | 1 | 2 | 3 | 4): Set<number> {
  const key = (["initialization", "stylized", "hft", "algo", "futures"] as const)[group];
  const count = engine.config.agents[key]?.count ?? 0;
  return new Set(Array.from({ length: count }, (_, i) => engine.backgroundAgentId(group, i)));
}

function firstState(engine: SimEngine): PublishState {
  const state = engine.advance();
  assert.ok(state !== null);
  return state;
}

Deno.test("a short seeded run is realistic: fat tails, volatility clustering, prices near the fundamental", () => {
  const config = { ...smallPreset(), duration: 7200e9 };
  const engine = SimEngine.create({ config, seed: 1, threads: 2 });
  const facts = new FactsCollector(config.books);
  let crossed = 0;
  try {
    for (let step = engine.step(); step !== null; step = engine.step()) {
      for (let book = 0; book < config.books; book++) {
        const bid = engine.levels(book, 0, 1)[0]?.price ?? NaN;
        const ask = engine.levels(book, 1, 1)[0]?.price ?? NaN;
        if (bid >= ask) crossed++;
        const fundamental = engine.processValues(book).fundamental;
        facts.observe(book, step.timestamp, bid, ask, 0.01, fundamental);
      }
    }
  } finally {
    engine.close();
  }
  const f = facts.summary();
  assert.equal(crossed, 0);
  assert.ok(f.returns >= 200, `returns ${f.returns}`);
  assert.ok(f.excessKurtosis > 0, `excess kurtosis ${f.excessKurtosis}`);
  assert.ok(f.absReturnAutocorr.lag1 > 0, `abs autocorr ${f.absReturnAutocorr.lag1}`);
  assert.ok(f.minMid > 0);
  // Over seeds 1 to 36 this mean |ln(mid / fundamental)| ranged from 0.006 to 0.12 (mean 0.036);
  // the bound leaves room for that spread between seeds.
  assert.ok(f.meanAbsDeviationFromFundamental < 0.15, `${f.meanAbsDeviationFromFundamental}`);
});

Deno.test("background agent ids follow group order and index, not the order of their names", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    // initialization 50, stylized 100, HFT 3, ALGO 2, futures 10: -1 down to -165, so that
    // initialization agent 10 comes after agent 2 (by name, _10 sorts before _2).
    const counts = [50, 100, 3, 2, 10];
    let next = -1;
    counts.forEach((count, group) => {
      for (let i = 0; i < count; i++) {
        assert.equal(engine.backgroundAgentId(group as 0 | 1 | 2 | 3 | 4, i), next--);
      }
    });
    // The ladder placed at time 0 is the initialization agents', under those ids.
    const ladder = firstState(engine).books[0].record.filter((e) =>
      e.event === "place" && e.timestamp === 0
    );
    const owners = new Set(ladder.map((e) => e.event === "place" && e.agentId));
    assert.deepEqual([...owners].sort((a, b) => Number(b) - Number(a)), [
      ...groupIds(engine, 0),
    ]);
  } finally {
    engine.close();
  }
});

Deno.test("advance publishes books, remote accounts and processes; the grace period is skipped", () => {
  const engine = SimEngine.create({
    config: { ...shortConfig(), gracePeriod: 300e9 },
    seed: 3,
    threads: 1,
  });
  try {
    const state = firstState(engine);
    assert.equal(state.timestamp, 300e9);
    assert.equal(state.final, false);
    assert.equal(state.books.length, 1);
    assert.equal(state.accounts.length, 2);
    const book = state.books[0];
    assert.ok(book.bid.length > 0 && book.ask.length > 0);
    assert.ok(book.bid[0].price < book.ask[0].price);
    assert.ok(book.bid[0].orders !== undefined && book.bid[0].orders.length > 0);
    assert.ok(book.fundamental > 0);
    assert.ok(state.eventsProcessed > 0);
    // The record holds the last step's events only, not those of the grace period before it.
    assert.ok(book.record.length > 0);
    const stepStart = state.timestamp - engine.config.step;
    assert.ok(book.record.every((event) => event.timestamp >= stepStart));
    const holdings = state.accounts[0].holdings[0];
    assert.ok(holdings.base.free > 0 && holdings.quote.free > 0);
    assert.equal(state.accounts[0].fees[0].makerFeeRate, 0.005);
  } finally {
    engine.close();
  }
});

Deno.test("remote instructions arrive after their delay and show up as events, orders and notices", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    let state = firstState(engine);
    const ask = state.books[0].ask[0].price;
    const bid = state.books[0].bid[0].price;
    const accepted = engine.inject(0, [
      // a passive bid far below the market, with a client id
      {
        type: "PLACE_ORDER_LIMIT",
        bookId: 0,
        direction: 0,
        volume: 1.5,
        price: Math.floor(bid * 0.5),
        clientOrderId: 77,
      },
      // an aggressive buy that trades
      { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 0.5 },
      // a GTT ask far above the market that expires after 2 s
      {
        type: "PLACE_ORDER_LIMIT",
        bookId: 0,
        direction: 1,
        volume: 1,
        price: Math.ceil(ask * 2),
        timeInForce: 1,
        expiryPeriod: 2e9,
      },
      // invalid: unknown book (skipped)
      { type: "PLACE_ORDER_MARKET", bookId: 9, direction: 0, volume: 1 },
    ], 10e6);
    assert.equal(accepted, 3);
    state = firstState(engine);
    const mine = state.books[0].record.filter((e) => e.event !== "trade" && e.agentId === 0);
    assert.equal(mine.filter((e) => e.event === "place").length, 3);
    assert.ok(mine.filter((e) => e.event === "place").every((e) => e.timestamp === 5e9 + 10e6));
    const trades = state.books[0].record.filter((e) =>
      e.event === "trade" && e.aggressingAgentId === 0
    );
    assert.ok(trades.length > 0);
    const expiry = mine.find((e) => e.event === "cancel");
    assert.ok(expiry !== undefined && expiry.timestamp === 5e9 + 10e6 + 2e9);
    const orders = state.accounts[0].orders[0];
    assert.equal(orders.length, 1);
    assert.equal(orders[0].clientOrderId, 77);
    const types = state.notices.filter((n) => n.agentId === 0).map((n) => n.type);
    assert.ok(types.includes("RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT"));
    assert.ok(types.includes("EVENT_TRADE"));
    assert.ok(state.accounts[0].holdings[0].quote.reserved > 0);

    // cancel the resting bid, and cancel an order that does not exist
    engine.inject(0, [{
      type: "CANCEL_ORDERS",
      bookId: 0,
      cancellations: [{ orderId: orders[0].orderId }, { orderId: 999999 }],
    }], 0);
    state = firstState(engine);
    assert.equal(state.accounts[0].orders[0].length, 0);
    const noticeTypes = state.notices.map((n) => n.type);
    assert.ok(noticeTypes.includes("RESPONSE_DISTRIBUTED_CANCEL_ORDERS"));
    assert.ok(noticeTypes.includes("ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS"));
    assert.equal(state.accounts[0].holdings[0].quote.reserved, 0);
  } finally {
    engine.close();
  }
});

Deno.test("the event record adds up: placed volume = 2 x traded + cancelled + dropped + resting", () => {
  const base = shortConfig(10);
  // Margin off: every record is then in the book's own volume units.
  const config = {
    ...base,
    exchange: { ...base.exchange, maxLeverage: 0, maxLoan: 0, maintenanceMargin: 0 },
  };
  const engine = SimEngine.create({ config, seed: 9, threads: 1 });
  try {
    let placed = 0n, traded = 0n, removed = 0n, dropped = 0n;
    for (let step = engine.step(), n = 0; step !== null; step = engine.step(), n++) {
      if (n === 3) {
        const { bid, ask } = { bid: engine.levels(0, 0, 1)[0], ask: engine.levels(0, 1, 1)[0] };
        engine.inject(0, [
          // an IOC buy through the best ask and a market sell larger than the best bid
          {
            type: "PLACE_ORDER_LIMIT",
            bookId: 0,
            direction: 0,
            volume: ask.volume + 5,
            price: ask.price,
            timeInForce: 2,
          },
          { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 1, volume: bid.volume + 0.5 },
        ], 1e6);
      }
      for (const e of engine.rawEvents(0)) {
        if (e.kind === EventKind.PLACE) placed += e.volume;
        else if (e.kind === EventKind.TRADE) traded += e.volume;
        else if (e.kind === EventKind.CANCEL && e.flags & EVENT_FLAG_DROPPED) dropped += e.volume;
        else if (e.kind === EventKind.CANCEL) removed += e.volume;
      }
    }
    let resting = 0n;
    for (const side of [0, 1] as const) {
      for (const level of engine.levels(0, side, 100_000)) {
        resting += BigInt(Math.round(level.volume * 10 ** config.exchange.volumeDecimals));
      }
    }
    assert.ok(dropped > 0n, "remainders were dropped");
    assert.equal(placed, 2n * traded + removed + dropped + resting);
  } finally {
    engine.close();
  }
});

Deno.test("acknowledgements travel back with their instruction's latency; rejections come at once", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    let state = firstState(engine);
    const bid = state.books[0].bid[0].price;
    // Sent at 5 s with a 4 s latency: both arrive at 9 s, before the publish at 10 s.
    engine.inject(0, [
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1, price: bid - 1 },
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1e7, price: bid - 1 },
    ], 4e9);
    const mine = (s: PublishState) => s.notices.filter((n) => n.agentId === 0).map((n) => n.type);
    state = firstState(engine); // 10 s
    assert.equal(state.books[0].record.filter((e) => e.event === "place").length > 0, true);
    assert.deepEqual(mine(state), ["ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT"]);
    state = firstState(engine); // 15 s: the acceptance came back at 9 + 4 = 13 s
    assert.deepEqual(mine(state), ["RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT"]);
    const accepted = state.notices.find((n) => n.agentId === 0)!;
    assert.equal(accepted.timestamp, 9e9, "stamped when the order was placed");
    // A short latency: the acknowledgement is back well within the same publish interval.
    engine.inject(0, [{
      type: "CANCEL_ORDERS",
      bookId: 0,
      cancellations: [{ orderId: accepted.orderId }],
    }], 10e6);
    state = firstState(engine); // 20 s
    assert.deepEqual(mine(state), ["RESPONSE_DISTRIBUTED_CANCEL_ORDERS"]);
  } finally {
    engine.close();
  }
});

Deno.test("notices of one instant are ordered by the time they travelled, longest first, as the reference orders them", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    let state = firstState(engine); // 5 s
    const bid = state.books[0].bid[0].price;
    // Sent at 5 s with 10 ms of latency: all three arrive at 5.01 s. The market buy trades at
    // once, the oversized bid is refused at once, and both acceptances are back at 5.02 s.
    engine.inject(0, [
      { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 0.5, clientOrderId: 1 },
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1e7, price: bid - 1 },
      {
        type: "PLACE_ORDER_LIMIT",
        bookId: 0,
        direction: 0,
        volume: 1,
        price: bid - 1,
        clientOrderId: 3,
      },
    ], 10e6);
    state = firstState(engine); // 10 s
    const mine = state.notices.filter((n) => n.agentId === 0);
    assert.ok(mine.every((n) => n.timestamp === 5e9 + 10e6), "all stamped at the arrival");
    const types = mine.map((n) => n.type);
    const trades = types.filter((t) => t === "EVENT_TRADE").length;
    assert.ok(trades > 0);
    // The acceptances travelled back for 10 ms; the fills and the refusal did not travel.
    assert.deepEqual(types, [
      "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET",
      "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT",
      ...Array(trades).fill("EVENT_TRADE"),
      "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT",
    ]);
  } finally {
    engine.close();
  }
});

Deno.test("a market order sized in quote is recorded with the base volume it bought", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    firstState(engine); // 5 s
    engine.inject(0, [
      { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 100, currency: 1 },
    ], 10e6);
    const state = firstState(engine); // 10 s
    const record = state.books[0].record;
    const placed = record.find((e) => e.event === "place" && e.agentId === 0);
    assert.ok(placed !== undefined && placed.event === "place");
    const fills = record.filter((e) =>
      e.event === "trade" && e.aggressingOrderId === placed.orderId
    );
    assert.ok(fills.length > 0);
    const bought = fills.reduce((sum, e) => sum + (e.event === "trade" ? e.volume : 0), 0);
    assert.ok(bought > 0.3 && bought < 0.35, `100 quote near 300 buys about 0.33, got ${bought}`);
    assert.equal(placed.volume, Math.round(bought * 1e4) / 1e4);
  } finally {
    engine.close();
  }
});

Deno.test("each acknowledgement travels back with its own instruction's latency when two publishes' instructions arrive together", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    const state = firstState(engine); // 5 s
    const bid = state.books[0].bid[0].price;
    const order = (clientOrderId: number, price: number): Instruction => ({
      type: "PLACE_ORDER_LIMIT",
      bookId: 0,
      direction: 0,
      volume: 1,
      price,
      clientOrderId,
    });
    // Sent at 5 s with 9 s of latency and at 10 s with 4 s: both arrive at 14 s, and their
    // acceptances are back at 23 s and 18 s.
    engine.inject(0, [order(1, bid - 1)], 9e9);
    firstState(engine); // 10 s
    engine.inject(0, [order(2, bid - 2)], 4e9);
    const accepted = (s: PublishState) =>
      s.notices.filter((n) => n.agentId === 0 && n.type.startsWith("RESPONSE_"))
        .map((n) => n.clientOrderId);
    const seen: (number | null)[][] = [];
    for (let publish = 0; publish < 3; publish++) seen.push(accepted(firstState(engine)));
    assert.deepEqual(seen, [[], [2], [1]], "15 s, 20 s and 25 s");
  } finally {
    engine.close();
  }
});

Deno.test("an instruction arriving at a publish instant is answered after its whole round trip", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    const state = firstState(engine); // 5 s
    const bid = state.books[0].bid[0].price;
    // Sent at 5 s with 10 s of latency: they arrive at the 15 s publish instant, so the exchange
    // takes them in the next step; the acceptance is back at 25 s, the refusal at once.
    engine.inject(0, [
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1, price: bid - 1 },
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1e13, price: bid - 1 },
    ], 10e9);
    const mine = (s: PublishState) =>
      s.notices.filter((n) => n.agentId === 0).map((n) => `${n.type} ${n.message ?? ""}`.trim());
    const seen: string[][] = [];
    for (let publish = 0; publish < 4; publish++) seen.push(mine(firstState(engine)));
    assert.deepEqual(seen, [
      [], // 10 s
      [], // 15 s
      [
        "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT INVALID_VOLUME: volume 10000000000000 is " +
        "more than one order may carry",
      ], // 20 s
      ["RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT"], // 25 s
    ]);
  } finally {
    engine.close();
  }
});

Deno.test("a delay past the clock's range is refused, not wrapped into a short one", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    const state = firstState(engine);
    const bid = state.books[0].bid[0].price;
    const order: Instruction = {
      type: "PLACE_ORDER_LIMIT",
      bookId: 0,
      direction: 0,
      volume: 1,
      price: bid - 1,
    };
    // 2^64 + 2^30 ns: taken modulo 2^64 it would be 1.07 s.
    assert.equal(engine.inject(0, [order], 2 ** 64 + 2 ** 30), 0);
    assert.equal(engine.inject(1, [order], 2 ** 62 + 2 ** 30), 0);
    for (let publish = 0; publish < 2; publish++) {
      const placed = firstState(engine).books[0].record.filter((e) =>
        e.event === "place" && e.agentId >= 0
      );
      assert.deepEqual(placed, []);
    }
  } finally {
    engine.close();
  }
});

Deno.test("a reset restores the account's initial balances at once", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 9, threads: 1 });
  try {
    firstState(engine);
    const before = engine.balances(1, 0);
    engine.inject(1, [{ type: "PLACE_ORDER_MARKET", bookId: 0, direction: 1, volume: 2 }], 0);
    const traded = firstState(engine).accounts[1].holdings[0];
    assert.ok(traded.base.total < before.base.total);
    assert.equal(engine.inject(1, [{ type: "RESET_AGENT" }], 0), 1);
    // Read before any step runs: the reset took effect on the calling thread, drawing the
    // account's balances afresh.
    const after = engine.balances(1, 0);
    assert.equal(after.base.reserved, 0);
    assert.ok(after.base.total > 0 && after.quote.total > 0);
    assert.notEqual(after.base.total, traded.base.total);
    assert.notEqual(after.quote.total, traded.quote.total);
    const state = firstState(engine);
    assert.ok(state.notices.some((n) => n.type === "RESPONSE_DISTRIBUTED_RESET_AGENT"));
  } finally {
    engine.close();
  }
});

Deno.test("remote accounts and ALGO traders pay the exchange's fees; the other background groups trade free", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 7, threads: 1 });
  // The preset gives every background group but ALGO a zero-fee tier, as production does.
  const free = new Set([0, 1, 2, 4].flatMap((g) => [...groupIds(engine, g as 0 | 1 | 2 | 4)]));
  const algo = groupIds(engine, 3);
  try {
    firstState(engine);
    engine.inject(0, [{ type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 1 }], 0);
    const bid = engine.levels(0, 0, 1)[0].price;
    engine.inject(1, [
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1e6, price: bid },
    ], 0);
    const state = firstState(engine);
    const trades = state.books[0].record.filter((e) => e.event === "trade");
    const mine = trades.filter((e) => e.aggressingAgentId === 0);
    assert.ok(mine.length > 0);
    for (const t of mine) {
      // tier 0 of the reference policy: 0.5 % taker, truncated to the quote decimals
      assert.ok(t.fees.taker > 0 && Math.abs(t.fees.taker - 0.005 * t.price * t.volume) < 1e-6);
      assert.ok(t.restingAgentId < 0);
      const maker = free.has(t.restingAgentId) ? 0 : 0.005 * t.price * t.volume;
      assert.ok(Math.abs(t.fees.maker - maker) < 1e-6, JSON.stringify(t));
    }
    const background = trades.filter((e) => e.aggressingAgentId < 0 && e.restingAgentId < 0);
    const paying = () => background.some((t) => algo.has(t.aggressingAgentId));
    for (let step = 0; step < 200 && (background.length < 40 || !paying()); step++) {
      const later = firstState(engine).books[0].record;
      for (const e of later) {
        if (e.event === "trade" && e.aggressingAgentId < 0 && e.restingAgentId < 0) {
          background.push(e);
        }
      }
    }
    // ALGO traders are on the exchange's first tier in these minutes.
    const rate = (id: number) => free.has(id) ? 0 : 0.005;
    for (const t of background) {
      assert.ok(Math.abs(t.fees.taker - rate(t.aggressingAgentId) * t.price * t.volume) < 1e-6);
      assert.ok(Math.abs(t.fees.maker - rate(t.restingAgentId) * t.price * t.volume) < 1e-6);
    }
    assert.ok(background.some((t) => free.has(t.restingAgentId)), "a fee-free maker");
    assert.ok(paying(), "an ALGO taker, who pays");
    // a bid the account cannot fund is refused by the exchange with its reason
    const rejected = state.notices.find((n) => n.agentId === 1 && n.type.startsWith("ERROR_"));
    assert.ok(rejected !== undefined && /INSUFFICIENT_QUOTE/.test(rejected.message ?? ""));
  } finally {
    engine.close();
  }
});

Deno.test("published balances and fees are the doubles nearest their decimal values, as the reference sends them", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 7, threads: 1 });
  const { baseDecimals, quoteDecimals } = engine.config.exchange;
  // Number(v.toFixed(d)) is the double nearest v's d-decimal value.
  const offGrid = (v: number, decimals: number) => v !== Number(v.toFixed(decimals));
  try {
    firstState(engine);
    const values: [number, number][] = [];
    for (let step = 0; step < 30; step++) {
      engine.inject(0, [
        { type: "PLACE_ORDER_MARKET", bookId: 0, direction: step % 2 === 0 ? 0 : 1, volume: 0.37 },
      ], 0);
      const state = firstState(engine);
      for (const { base, quote } of state.accounts[0].holdings) {
        for (const v of [base.free, base.reserved, base.total]) values.push([v, baseDecimals]);
        for (const v of [quote.free, quote.reserved, quote.total]) values.push([v, quoteDecimals]);
      }
      for (const notice of state.notices) {
        if (notice.trade !== undefined) values.push([notice.trade.fee, quoteDecimals]);
      }
    }
    assert.ok(values.some(([v]) => v % 1 !== 0), "some fractional amounts");
    // Scaling by multiplying with 10^-d put about a quarter of these a rounding step off.
    assert.deepEqual(values.filter(([v, d]) => offGrid(v, d)), []);
  } finally {
    engine.close();
  }
});

/** A limit buy of 0.1 on book 0 at half the best bid `bid`, at `leverage`: it rests. */
function leveragedBid(bid: number, leverage: number, clientOrderId: number) {
  return {
    type: "PLACE_ORDER_LIMIT" as const,
    bookId: 0,
    direction: 0 as const,
    volume: 0.1,
    price: Math.floor(bid * 0.5),
    leverage,
    clientOrderId,
  };
}

Deno.test("a remote leverage past maxLeverage by less than 10^-9 is refused; maxLeverage itself is taken", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 4, threads: 1 });
  try {
    let state = firstState(engine);
    const bid = state.books[0].bid[0].price;
    // maxLeverage is 4: rounding 4.0000000001 to 10^-9 would make it 4.
    engine.inject(0, [leveragedBid(bid, 4.0000000001, 1), leveragedBid(bid, 4, 2)], 0);
    state = firstState(engine);
    const placed = state.books[0].record.filter((e) => e.event === "place" && e.agentId === 0);
    assert.deepEqual(placed.map((e) => e.event === "place" && e.leverage), [4]);
    const refused = state.notices.filter((n) => n.agentId === 0 && n.type.startsWith("ERROR_"));
    assert.equal(refused.length, 1);
    assert.match(refused[0].message ?? "", /INVALID_LEVERAGE/);
    assert.equal(refused[0].clientOrderId, 1);
  } finally {
    engine.close();
  }
});

Deno.test("a remote leverage of maxLeverage is taken whole, even when maxLeverage x 10^9 is no whole double", () => {
  const placedLeverage = (maxLeverage: number, leverage: number) => {
    const base = shortConfig();
    const exchange = { ...base.exchange, maxLeverage, maintenanceMargin: 0.05 };
    const engine = SimEngine.create({ config: { ...base, exchange }, seed: 4, threads: 1 });
    try {
      let state = firstState(engine);
      const bid = state.books[0].bid[0].price;
      engine.inject(0, [leveragedBid(bid, leverage, 1)], 0);
      state = firstState(engine);
      const refused = state.notices.filter((n) => n.agentId === 0 && n.type.startsWith("ERROR_"));
      assert.deepEqual(refused.map((n) => n.message), [], `${leverage} of ${maxLeverage}`);
      const [placed] = state.books[0].record.filter((e) => e.event === "place" && e.agentId === 0);
      return placed?.event === "place" ? placed.leverage : undefined;
    } finally {
      engine.close();
    }
  };
  // 1.001 x 1e9 is 1000999999.9999999 as a double: truncated, the limit would be 1.000999999 and
  // the order's leverage, cut to the volume's 4 decimals, 1.0009.
  assert.equal(placedLeverage(1.001, 1.001), 1.001);
  // Within a maxLeverage finer than 10^-9, rounding must not take a leverage past the core's
  // limit, maxLeverage truncated to 10^-9.
  assert.equal(placedLeverage(4.0000000007, 4.0000000006), 4);
});

Deno.test("remote orders on margin trade their whole volume and publish their leverage", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 4, threads: 1 });
  try {
    let state = firstState(engine);
    const bid = state.books[0].bid[0].price;
    engine.inject(0, [
      {
        type: "PLACE_ORDER_LIMIT",
        bookId: 0,
        direction: 0,
        volume: 1,
        price: Math.floor(bid * 0.5),
        leverage: 1,
        clientOrderId: 1,
      },
      { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 0.5, leverage: 2 },
      // beyond the exchange's maxLeverage of 4
      { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 0.5, leverage: 5 },
    ], 0);
    state = firstState(engine);
    const places = state.books[0].record.filter((e) => e.event === "place" && e.agentId === 0);
    assert.deepEqual(places.map((e) => e.event === "place" && e.leverage), [1, 2]);
    const resting = state.accounts[0].orders[0];
    assert.equal(resting.length, 1);
    assert.equal(resting[0].leverage, 1);
    assert.equal(resting[0].volume, 1);
    const level = state.books[0].bid.find((l) => l.price === resting[0].price);
    assert.ok(level !== undefined && level.volume >= 2); // 1 own, traded as 2
    const bought = state.books[0].record
      .filter((e) => e.event === "trade" && e.aggressingAgentId === 0)
      .reduce((sum, e) => sum + (e.event === "trade" ? e.volume : 0), 0);
    assert.ok(Math.abs(bought - 1.5) < 1e-9, `bought ${bought}`); // 0.5 own x (1 + 2)
    // the leveraged buy borrowed quote against collateral; the cash account had no loan before
    const quote = state.accounts[0].holdings[0].quote;
    assert.ok(quote.loan !== undefined && quote.loan > 0, `loan ${quote.loan}`);
    assert.ok(quote.collateral !== undefined && quote.collateral > 0);
    assert.equal(state.accounts[1].holdings[0].quote.loan, 0);
    const refused = state.notices.find((n) => n.agentId === 0 && n.type.startsWith("ERROR_"));
    assert.ok(refused !== undefined && /INVALID_LEVERAGE/.test(refused.message ?? ""));
  } finally {
    engine.close();
  }
});

Deno.test("a background group may trade under its own fee policy", () => {
  const base = shortConfig();
  const stylized = { ...base.agents.stylized!, fees: { tiers: [tier(0.001, 0.002)] } };
  const config = { ...base, agents: { ...base.agents, stylized } };
  const engine = SimEngine.create({ config, seed: 6, threads: 1 });
  try {
    const ids = groupIds(engine, 1);
    const zero = new Set([...groupIds(engine, 0), ...groupIds(engine, 2)]);
    let charged = 0, free = 0;
    for (let s = engine.advance(); s !== null && !s.final; s = engine.advance()) {
      for (const e of s.books[0].record) {
        if (e.event !== "trade" || e.aggressingAgentId >= 0 || e.restingAgentId >= 0) continue;
        // Only trades between the stylized group and the zero-fee groups have known rates here.
        const known = (id: number) => ids.has(id) || zero.has(id);
        if (!known(e.aggressingAgentId) || !known(e.restingAgentId)) continue;
        const notional = e.price * e.volume;
        const taker = ids.has(e.aggressingAgentId) ? 0.002 : 0;
        const maker = ids.has(e.restingAgentId) ? 0.001 : 0;
        assert.ok(Math.abs(e.fees.taker - taker * notional) < 1e-6, JSON.stringify(e));
        assert.ok(Math.abs(e.fees.maker - maker * notional) < 1e-6, JSON.stringify(e));
        if (taker > 0) charged++;
        if (taker === 0 && maker === 0) free++;
      }
    }
    assert.ok(charged > 0 && free > 0, `${charged} charged, ${free} free`);
  } finally {
    engine.close();
  }
});

/** Sizes of the ALGO traders' market orders over a run with the given size distribution. */
function algoOrderSizes(volumeDistribution: VolumeDistributionConfig): number[] {
  const base = shortConfig(30);
  // Frequent executions, each many child orders long.
  const algo = {
    ...base.agents.algo!,
    VBS: 100,
    volumeProp: 0.5,
    wakeupProb: 1,
    volumeDistribution,
  };
  const config = { ...base, agents: { ...base.agents, algo } };
  const engine = SimEngine.create({ config, seed: 5, threads: 1 });
  try {
    const ids = groupIds(engine, 3);
    const sizes: number[] = [];
    for (let s = engine.advance(); s !== null && !s.final; s = engine.advance()) {
      for (const e of s.books[0].record) {
        if (e.event === "place" && e.price === null && ids.has(e.agentId)) sizes.push(e.volume);
      }
    }
    return sizes;
  } finally {
    engine.close();
  }
}

Deno.test("ALGO child orders follow the configured size distribution", () => {
  // dirac: every child order is the constant, but for the last of an execution, cut to what is left
  const constant = algoOrderSizes({ type: "dirac", loc: 0.37 });
  assert.ok(constant.length >= 50, `${constant.length} ALGO orders`);
  assert.ok(constant.every((v) => v <= 0.37));
  assert.ok(constant.filter((v) => v === 0.37).length >= 0.9 * constant.length);
  // gamma(2, 0.25): mean 0.5, standard deviation 0.35, truncated to the lot
  const gamma = algoOrderSizes({ type: "gamma", shape: 2, scale: 0.25 });
  assert.ok(gamma.length >= 50, `${gamma.length} ALGO orders`);
  const mean = gamma.reduce((a, b) => a + b, 0) / gamma.length;
  assert.ok(mean > 0.47 && mean < 0.53, `mean ${mean}`); // standard error 0.005
  assert.ok(new Set(gamma).size > gamma.length / 2, "sizes vary");
});

Deno.test("the same seed gives the same market whatever the thread count; another seed differs", () => {
  const run = (seed: number, threads: number) => {
    const engine = SimEngine.create({ config: { ...shortConfig(10), books: 3 }, seed, threads });
    const mids: number[] = [];
    try {
      for (let s = engine.step(); s !== null; s = engine.step()) {
        for (let book = 0; book < 3; book++) {
          mids.push(engine.levels(book, 0, 1)[0]?.price ?? 0, engine.levels(book, 1, 1)[0]?.price);
        }
      }
    } finally {
      engine.close();
    }
    return mids;
  };
  const one = run(11, 1);
  assert.deepEqual(run(11, 3), one);
  assert.notDeepEqual(run(12, 1), one);
});

Deno.test("windows of steps report every step as single steps do", () => {
  const config = { ...shortConfig(10), books: 2 };
  const single = SimEngine.create({ config, seed: 5, threads: 1 });
  const windowed = SimEngine.create({ config, seed: 5, threads: 2 });
  try {
    let steps = 0;
    let windows = 0;
    // 120 steps in windows of 9: the last window has 3, of which only the last is final.
    for (let window = windowed.steps(9, 2); window !== null; window = windowed.steps(9, 2)) {
      windows++;
      // The remote accounts stay idle: full windows, then the 3 steps left.
      assert.equal(window.length, windows === 14 ? 3 : 9);
      for (const step of window) {
        const expected = single.step();
        assert.ok(expected !== null);
        steps++;
        assert.equal(step.timestamp, expected.timestamp);
        assert.equal(step.final, expected.final);
        assert.equal(step.eventsProcessed, expected.eventsProcessed);
        for (let book = 0; book < 2; book++) {
          assert.deepEqual(step.rawEvents(book), single.rawEvents(book));
          assert.deepEqual(step.processValues(book), single.processValues(book));
          for (const side of [0, 1] as const) {
            assert.deepEqual(step.levels(book, side, 2), single.levels(book, side, 2));
            // only the window's depth was kept, and no more than asked for is given
            assert.deepEqual(step.levels(book, side, 5), single.levels(book, side, 2));
            assert.deepEqual(step.levels(book, side, 1), single.levels(book, side, 2).slice(0, 1));
            assert.deepEqual(
              single.levels(book, side, 1),
              single.levels(book, side, 2).slice(0, 1),
            );
          }
        }
      }
    }
    assert.equal(steps, 120);
    assert.equal(windows, 14); // the remote accounts stay idle: full windows of 9
    assert.equal(single.step(), null);
    assert.equal(windowed.steps(9, 2), null);
    assert.throws(() => windowed.steps(0, 2), /maxSteps: must be a positive integer, got 0/);
    assert.throws(() => windowed.steps(1.5, 2), /maxSteps/);
    assert.throws(() => windowed.steps(2, 101), /depth: must be an integer in 0\.\.100, got 101/);
    assert.ok(windowed.ended);
  } finally {
    single.close();
    windowed.close();
  }
});

Deno.test("the fundamental may drift down and jump down", () => {
  const run = (fundamental: Record<string, number>) => {
    const config = shortConfig(10);
    const engine = SimEngine.create({
      config: parseSimConfig({
        ...config,
        processes: { ...config.processes, fundamental: { seedInterval: 10e9, ...fundamental } },
      }),
      seed: 3,
      threads: 1,
    });
    try {
      const path: number[] = [];
      for (let s = engine.step(); s !== null; s = engine.step()) {
        path.push(engine.processValues(0).fundamental);
      }
      return path;
    } finally {
      engine.close();
    }
  };
  // No noise: 60 updates of 10 s at a drift of -2 a day, exactly.
  const drift = run({ mu: -2, sigma: 0, lambda: 0, muJump: 0, sigmaJump: 0 });
  const expected = 300 * Math.exp(-2 * 60 * (10e9 / 86400e9));
  assert.ok(Math.abs(drift.at(-1)! / expected - 1) < 1e-12, `${drift.at(-1)} vs ${expected}`);
  // Jumps of exactly -0.01 (about one per update): the path only ever steps down.
  const jumps = run({ mu: 0, sigma: 0, lambda: 1, muJump: -0.01, sigmaJump: 0 });
  assert.ok(jumps.every((value, i) => value <= (i === 0 ? 300 : jumps[i - 1])));
  assert.ok(jumps.at(-1)! < 300 * Math.exp(-0.3));
  assert.throws(
    () => run({ mu: -11, sigma: 0, lambda: 0, muJump: 0, sigmaJump: 0 }),
    /fundamental\.mu: must be at least -10/,
  );
});

Deno.test("each fundamental update draws afresh from its book, its index and its feed price", () => {
  // Per book, the log change of each 10 s update (sigma 1, no jumps: drift plus one normal draw).
  const increments = (feed: number[]) => {
    const config = { ...shortConfig(2), books: 2 };
    const engine = SimEngine.create({
      config: parseSimConfig({
        ...config,
        processes: {
          ...config.processes,
          fundamental: { seedInterval: 10e9, mu: 0, sigma: 1, lambda: 0, muJump: 0, sigmaJump: 0 },
        },
      }),
      seed: 4,
      threads: 1,
      feed: { fundamental: feed },
    });
    try {
      const logs: number[][] = [[Math.log(300)], [Math.log(300)]];
      for (let s = engine.step(); s !== null; s = engine.step()) {
        if (engine.now % 10e9 !== 0) continue;
        for (const book of [0, 1]) {
          logs[book].push(Math.log(engine.processValues(book).fundamental));
        }
      }
      return logs.map((path) => path.slice(1).map((value, k) => value - path[k]));
    } finally {
      engine.close();
    }
  };
  const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;
  const feed = Array.from({ length: 12 }, (_, k) => 200000 + 0.1 * k);
  const base = increments(feed);
  assert.equal(base[0].length, 12);

  // Another price for the third update changes that update's draw and no other: nothing drawn
  // for one update is carried to the next.
  const third = increments(feed.with(2, 250000));
  for (const book of [0, 1]) {
    base[book].forEach((step, k) =>
      assert.equal(near(step, third[book][k]), k !== 2, `update ${k}`)
    );
  }
  // Prices one cent apart that single precision cannot tell apart (both 200000.015625 as a
  // float) give different draws.
  const cent = (price: number) => increments(feed.with(2, price))[0][2];
  assert.ok(!near(cent(200000.01), cent(200000.02)));
  // The feed rises by 10 cents an update: book 1 at one update and book 0 at the next see prices
  // 10 cents x book id apart, and still draw differently.
  for (let k = 0; k < 11; k++) assert.ok(!near(base[1][k], base[0][k + 1]), `update ${k}`);
});

Deno.test("a recorded feed drives the processes", () => {
  const external = [310, 320, 330];
  const engine = SimEngine.create({
    config: shortConfig(5),
    seed: 2,
    threads: 1,
    feed: { fundamental: [100000.5, 100001.5], external },
  });
  try {
    const seen: number[] = [];
    for (let s = engine.step(); s !== null; s = engine.step()) {
      seen.push(engine.processValues(0).external);
    }
    assert.equal(seen.at(-1), 330);
    assert.ok(seen.includes(310) && seen.includes(320));
  } finally {
    engine.close();
  }
  assert.throws(
    () => SimEngine.create({ config: shortConfig(5), feed: { external: [-1] } }),
    /feed/,
  );
});

Deno.test("a feed extended step by step drives the processes as the same feed given up front", () => {
  const fundamental = Array.from({ length: 40 }, (_, i) => 95000 + 7 * i);
  const external = [310, 320, 330];
  const path = (engine: SimEngine, live: boolean) => {
    const fundamentals: number[] = [];
    const externals: number[] = [];
    let updates = 0;
    let samples = 0;
    for (;;) {
      if (live) {
        // Before each 5 s step: the prices of the process updates (every 10 s) it reaches, and
        // the external sample only once the step is past the minute it belongs to.
        const end = engine.now + 5e9;
        const due = Math.min(fundamental.length, Math.floor(end / 10e9));
        engine.extendFeed(0, fundamental.slice(updates, due));
        updates = Math.max(updates, due);
        if (samples < external.length && engine.now >= (samples + 1) * 60e9 + 20e9) {
          engine.extendFeed(1, [external[samples++]]);
        }
      }
      if (engine.step() === null) break;
      fundamentals.push(engine.processValues(0).fundamental);
      externals.push(engine.processValues(0).external);
    }
    return { fundamentals, externals };
  };
  const upFront = SimEngine.create({
    config: shortConfig(5),
    seed: 2,
    threads: 1,
    feed: { fundamental },
  });
  const streamed = SimEngine.create({ config: shortConfig(5), seed: 2, threads: 1 });
  streamed.extendFeed(1, []); // the external signal follows the feed from the start
  try {
    const a = path(upFront, false);
    const b = path(streamed, true);
    assert.deepEqual(b.fundamentals, a.fundamentals);
    // each sample shows up at the first update after it arrived, 20 s late, in order
    const firstAt = (value: number) => b.externals.indexOf(value);
    assert.ok(firstAt(310) > 0 && firstAt(310) < firstAt(320) && firstAt(320) < firstAt(330));
    assert.equal(firstAt(310), (60e9 + 20e9 + 10e9) / 5e9 - 1);
    assert.throws(() => streamed.extendFeed(0, [Number.NaN]), /feed/);
  } finally {
    upFront.close();
    streamed.close();
  }
});

Deno.test("a live external feed gives its newest sample, skipping those a slow simulation missed", () => {
  // As the reference reads the newest line of its sampled file: three samples that came while
  // the market stood still are one observation, the last. Taken one per simulated minute, they
  // would leave the market further and further behind the live signal.
  const engine = SimEngine.create({ config: shortConfig(5), seed: 2, threads: 1 });
  try {
    engine.extendFeed(1, []);
    for (let step = 0; step < 14; step++) engine.step(); // 70 s: the first sample is due
    assert.equal(engine.processValues(0).external, 300, "no sample yet: the initial price");
    engine.extendFeed(1, [310, 320, 330]);
    for (let step = 0; step < 3; step++) engine.step(); // past the next 10 s seed update
    assert.equal(engine.processValues(0).external, 330);
    engine.extendFeed(1, [340]);
    for (let step = 0; step < 3; step++) engine.step();
    assert.equal(engine.processValues(0).external, 340);
  } finally {
    engine.close();
  }
});

Deno.test("a live fundamental price seeds the updates from then on, over a recorded feed", () => {
  const run = (setUp: (engine: SimEngine) => void, feed?: number[]) => {
    const engine = SimEngine.create({
      config: shortConfig(5),
      seed: 2,
      threads: 1,
      ...(feed && { feed: { fundamental: feed } }),
    });
    try {
      setUp(engine);
      const path: number[] = [];
      for (let step = engine.step(); step !== null; step = engine.step()) {
        path.push(engine.processValues(0).fundamental);
        if (path.length === 10) engine.setLiveFundamental(96000);
      }
      return path;
    } finally {
      engine.close();
    }
  };
  const live = run((engine) => engine.setLiveFundamental(95000));
  const recorded = run(() => {}, [95000, 95000, 95000, 95000, 95000, 96000]);
  // 10 steps of 5 s are 5 updates at 95000; the sixth onwards uses 96000 in both.
  assert.deepEqual(live, recorded);
  assert.notDeepEqual(live, run(() => {}));
  assert.deepEqual(
    run((engine) => engine.setLiveFundamental(95000), [1, 2, 3]),
    live,
    "the live price wins over a recorded feed",
  );
  const engine = SimEngine.create({ config: shortConfig(5), threads: 1 });
  try {
    assert.throws(() => engine.setLiveFundamental(0), /feed/);
  } finally {
    engine.close();
  }
});

Deno.test("an invalid configuration is refused with the field named", () => {
  const config = { ...shortConfig(), books: 0 };
  assert.throws(() => SimEngine.create({ config }), /books/);
});

Deno.test("amounts beyond the core's range are rejected with a notice, not dropped unseen", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    let state = firstState(engine);
    const bid = state.books[0].bid[0].price;
    const sent = engine.inject(0, [
      // 950 000 quote is 9.5e15 units at 10 decimals: more than one order may carry.
      { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 950_000, currency: 1 },
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1e13, price: bid },
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1, price: 1e14 },
      // Refused for its volume, checked first: the price is not what was too large.
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1e-9, price: 1e14 },
    ], 0);
    assert.equal(sent, 4, "all four reach the exchange");
    state = firstState(engine);
    const refusals = state.notices.filter((n) => n.agentId === 0);
    const reasons = refusals.map((n) => n.message ?? "");
    assert.equal(reasons.length, 4, JSON.stringify(state.notices));
    // The notices echo what was asked, not the placeholder the core was handed.
    assert.equal(reasons[0], "INVALID_VOLUME: volume 950000 is more than one order may carry");
    assert.equal(
      reasons[1],
      "INVALID_VOLUME: volume 10000000000000 is more than one order may carry",
    );
    assert.equal(reasons[2], "INVALID_PRICE: price 100000000000000 is beyond the exchange's range");
    assert.equal(reasons[3], "INVALID_VOLUME: volume is zero after rounding to the lot size");
    assert.deepEqual(refusals.map((n) => n.request), [
      { direction: 0, volume: 950_000, price: null },
      { direction: 0, volume: 1e13, price: bid },
      { direction: 0, volume: 1, price: 1e14 },
      { direction: 0, volume: 1e-9, price: 1e14 },
    ]);
  } finally {
    engine.close();
  }
});

Deno.test("a time in force, STP flag or currency outside its values is skipped as malformed, never wrapped", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    const bid = firstState(engine).books[0].bid[0].price;
    const limit = { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1, price: bid - 1 };
    const market = { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 1 };
    // As an untyped sender may write them: one byte each in the record, where 257 read as 1 (GTT)
    // and 260 as 4 (DC).
    const malformed = [
      { ...limit, timeInForce: 257, expiryPeriod: 1e9 },
      { ...limit, timeInForce: 1.5 },
      { ...limit, stpFlag: 260 },
      { ...market, stpFlag: -1 },
      { ...market, currency: 2 },
    ] as unknown as Instruction[];
    assert.equal(engine.inject(0, malformed, 0), 0);
    assert.equal(
      engine.inject(0, [{ ...limit, timeInForce: 0, stpFlag: 4 }] as Instruction[], 0),
      1,
    );
  } finally {
    engine.close();
  }
});

Deno.test("a cancellation list of 150 000 ids is injected without exhausting the stack", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    firstState(engine);
    const cancellations = Array.from({ length: 150_000 }, (_, orderId) => ({
      orderId,
      volume: null,
    }));
    const sent = engine.inject(0, [{ type: "CANCEL_ORDERS", bookId: 0, cancellations }], 0);
    assert.equal(sent, 150_000, "one native instruction per cancellation");
  } finally {
    engine.close();
  }
});

Deno.test("a GTT order expiring at a publish instant is in that publish and expires after it, as in the reference", () => {
  // The reference's expiry is a message arriving at that instant, which its loop takes in the
  // next step. Expired at the step's end, the order would be missing from the publish.
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    const bid = firstState(engine).books[0].bid[0].price; // 5 s
    for (const [agent, lifetime] of [[0, 4e9], [1, 4e9 - 1]] as const) {
      engine.inject(agent, [{
        type: "PLACE_ORDER_LIMIT",
        bookId: 0,
        direction: 0,
        volume: 1,
        price: Math.floor(bid / 2),
        timeInForce: 1,
        expiryPeriod: lifetime,
      }], 1e9); // arriving at 6 s: expiring at 10 s and 1 ns before
    }
    const expiries = (state: PublishState) =>
      state.books[0].record.flatMap((e) =>
        e.event === "cancel" && e.agentId >= 0 ? [[e.agentId, e.timestamp]] : []
      );
    let state = firstState(engine); // 10 s
    assert.deepEqual(state.accounts.map((a) => a.orders[0].length), [1, 0]);
    assert.deepEqual(expiries(state), [[1, 10e9 - 1]]);
    state = firstState(engine); // 15 s
    assert.deepEqual(state.accounts.map((a) => a.orders[0].length), [0, 0]);
    assert.deepEqual(expiries(state), [[0, 10e9]]);
  } finally {
    engine.close();
  }
});

Deno.test("a configured amount is taken at the decimal it is written as, not one unit below", () => {
  // 0.29 x 10^2 and 0.57 x 10^10 are 28.999999999999996 and 5699999999.9999995 in doubles.
  const config = parseSimConfig({
    ...shortConfig(),
    exchange: {
      ...smallPreset().exchange,
      quoteDecimals: 2,
      fees: { tiers: [tier(0, 0), { volumeRequired: 1.13, makerFee: 0, takerFee: 0.001 }] },
    },
    remoteBalances: { type: "fixed", base: 4.35, quote: 0.29 },
  });
  const engine = SimEngine.create({ config, seed: 1, threads: 1 });
  try {
    assert.deepEqual([...engine.rawBalances(0, 0).subarray(0, 6)], [
      43500n,
      0n,
      43500n,
      29n,
      0n,
      29n,
    ]);
  } finally {
    engine.close();
  }
  const tiers = parseSimConfig({
    ...shortConfig(),
    exchange: {
      ...smallPreset().exchange,
      fees: {
        tiers: [tier(0, 0), { volumeRequired: 0.5699999999, makerFee: 0, takerFee: 0 }, {
          volumeRequired: 0.57,
          makerFee: 0,
          takerFee: 0,
        }],
      },
    },
  });
  assert.equal(tiers.exchange.fees.tiers.length, 3);
});

Deno.test("published accounts hold each book's own orders and the balances the core keeps, loans and collateral in place", () => {
  const engine = SimEngine.create({ config: { ...shortConfig(), books: 2 }, seed: 4, threads: 2 });
  try {
    let state = firstState(engine);
    const ask = state.books[1].ask[0].price;
    engine.inject(0, [
      // A resting sell on book 1 only, and a short on margin there: a base loan, quote collateral.
      {
        type: "PLACE_ORDER_LIMIT",
        bookId: 1,
        direction: 1,
        volume: 1,
        price: Math.ceil(ask * 2),
        clientOrderId: 8,
      },
      { type: "PLACE_ORDER_MARKET", bookId: 1, direction: 1, volume: 0.5, leverage: 2 },
    ], 0.6); // a delay in whole ns, to the nearest
    // A post-only buy at the ask would take liquidity: refused.
    engine.inject(1, [{
      type: "PLACE_ORDER_LIMIT",
      bookId: 1,
      direction: 0,
      volume: 1,
      price: ask,
      postOnly: true,
    }], 0);
    state = firstState(engine);
    const places = state.books[1].record.filter((e) => e.event === "place" && e.agentId === 0);
    assert.deepEqual(places.map((e) => e.timestamp), [5e9 + 1, 5e9 + 1]);
    const answers = state.notices.filter((n) => n.agentId <= 1);
    assert.ok(answers.length > 0 && answers.every((n) => n.bookId === 1));
    const refused = answers.find((n) => n.agentId === 1);
    assert.equal(refused?.reason, "CONTRACT_VIOLATION");
    const account = state.accounts[0];
    assert.deepEqual(account.orders[0], []);
    assert.equal(account.orders[1].length, 1);
    assert.equal(account.orders[1][0].direction, 1);
    assert.equal(account.orders[1][0].clientOrderId, 8);
    const base = account.holdings[1].base;
    // The short borrowed base: a loan with nothing of it held as collateral, so a swap would show.
    assert.ok(base.loan! > 0 && base.loan !== base.collateral, JSON.stringify(base));
    for (const agentId of [0, 1]) {
      for (const bookId of [0, 1]) {
        assert.deepEqual(
          state.accounts[agentId].holdings[bookId],
          engine.balances(agentId, bookId),
        );
      }
    }
  } finally {
    engine.close();
  }
});

Deno.test("a publish reads only the remote accounts asked for, each as a publish of every account has it", () => {
  const config = { ...shortConfig(), books: 2, remoteAgentCount: 5 };
  const order: Instruction = {
    type: "PLACE_ORDER_LIMIT",
    bookId: 1,
    direction: 0,
    volume: 1,
    price: 1,
    clientOrderId: 3,
  };
  const run = (publishedAccounts?: number) => {
    const engine = SimEngine.create({ config, seed: 4, threads: 1, publishedAccounts });
    try {
      firstState(engine);
      engine.inject(1, [order], 0);
      engine.inject(3, [order], 0);
      return firstState(engine);
    } finally {
      engine.close();
    }
  };
  const all = run();
  const first = run(2);
  assert.deepEqual(all.accounts.map((a) => a.agentId), [0, 1, 2, 3, 4]);
  assert.equal(all.accounts[3].orders[1].length, 1, "account 3's order rests");
  // Account 3's order is outside the two read: it is left out, not filed under another account.
  assert.deepEqual(first.accounts, all.accounts.slice(0, 2));
  assert.deepEqual(first.books, all.books);
  assert.deepEqual(first.notices, all.notices);
  assert.deepEqual(run(0).accounts, []);
  for (const bad of [-1, 6, 1.5]) {
    assert.throws(
      () => SimEngine.create({ config, threads: 1, publishedAccounts: bad }),
      new RangeError(`publishedAccounts: must be an integer in 0..5, got ${bad}`),
    );
  }
});

Deno.test("a fill of a resting remote order tells its owner the order's own client id", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    let state = firstState(engine);
    // A publish whose spread leaves room for a better ask.
    while (state.books[0].ask[0].price - state.books[0].bid[0].price < 0.015) {
      state = firstState(engine);
    }
    const price = state.books[0].ask[0].price - 0.01;
    // Agent 0 rests the best ask; a millisecond later agent 1 buys it.
    engine.inject(0, [{
      type: "PLACE_ORDER_LIMIT",
      bookId: 0,
      direction: 1,
      volume: 0.2,
      price,
      clientOrderId: 41,
    }], 0);
    engine.inject(1, [{
      type: "PLACE_ORDER_LIMIT",
      bookId: 0,
      direction: 0,
      volume: 0.2,
      price,
      clientOrderId: 42,
      timeInForce: 2,
    }], 1e6);
    state = firstState(engine);
    const fills = state.notices.filter((n) => n.type === "EVENT_TRADE");
    const resting = fills.filter((n) => n.agentId === 0);
    const aggressing = fills.filter((n) => n.agentId === 1);
    assert.ok(resting.length > 0 && aggressing.length > 0, JSON.stringify(state.notices));
    assert.ok(resting.every((n) => n.clientOrderId === 41));
    assert.ok(aggressing.every((n) => n.clientOrderId === 42));
  } finally {
    engine.close();
  }
});

Deno.test("a partial cancellation below one lot leaves the order whole", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    let state = firstState(engine);
    const bid = state.books[0].bid[0].price;
    engine.inject(0, [{
      type: "PLACE_ORDER_LIMIT",
      bookId: 0,
      direction: 0,
      volume: 1,
      price: Math.floor(bid * 0.5),
    }], 0);
    state = firstState(engine);
    const [order] = state.accounts[0].orders[0];
    // 0.00001 is below the 0.0001 lot: 0 lots, which cancel nothing (0 alone would be all).
    engine.inject(0, [{
      type: "CANCEL_ORDERS",
      bookId: 0,
      cancellations: [{ orderId: order.orderId, volume: 0.00001 }],
    }], 0);
    state = firstState(engine);
    assert.deepEqual(state.accounts[0].orders[0].map((o) => [o.orderId, o.volume]), [[
      order.orderId,
      1,
    ]]);
    const answer = state.notices.find((n) => n.agentId === 0);
    assert.equal(answer?.type, "RESPONSE_DISTRIBUTED_CANCEL_ORDERS");
    assert.equal(answer?.cancelledVolume, 0);
  } finally {
    engine.close();
  }
});

Deno.test("an order of exactly 2^53 units, the most the core takes, is judged by the core", () => {
  const engine = SimEngine.create({ config: shortConfig(), seed: 5, threads: 1 });
  try {
    let state = firstState(engine);
    const bid = state.books[0].bid[0].price;
    // 2^53 lots at 4 volume decimals: within the core's range, beyond the account's quote.
    engine.inject(0, [
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 2 ** 53 / 1e4, price: bid },
    ], 0);
    state = firstState(engine);
    const refusal = state.notices.find((n) => n.agentId === 0);
    assert.equal(refusal?.message, "INSUFFICIENT_QUOTE: not enough free quote");
  } finally {
    engine.close();
  }
});

Deno.test("a cancellation of k orders reaches the miner as k notices of one order; a reset as one notice per book", () => {
  const config = { ...shortConfig(), books: 2 };
  const engine = SimEngine.create({ config, seed: 4, threads: 1 });
  const minerConfig = simulationConfigFor(config);
  const notices = (state: PublishState) => stateForAgent(state, 1, minerConfig).notices![1];
  try {
    const bid = firstState(engine).books[0].bid[0].price;
    const prices = [0.5, 0.55, 0.6].map((f) => Math.floor(bid * f));
    engine.inject(
      1,
      prices.map((price) => ({
        type: "PLACE_ORDER_LIMIT",
        bookId: 0,
        direction: 0,
        volume: 1,
        price,
      })),
      0,
    );
    const placed = notices(firstState(engine)).flatMap((n) =>
      n.type === "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT" && n.orderId !== null ? [n.orderId] : []
    );
    assert.equal(placed.length, 3);
    engine.inject(1, [{
      type: "CANCEL_ORDERS",
      bookId: 0,
      cancellations: placed.map((orderId) => ({ orderId, volume: null })),
    }], 0);
    const cancelled = notices(firstState(engine)).filter((n) =>
      n.type === "RESPONSE_DISTRIBUTED_CANCEL_ORDERS"
    );
    assert.deepEqual(
      cancelled.map((n) => "cancellations" in n && n.cancellations.map((c) => c.orderId)),
      placed.map((orderId) => [orderId]),
    );

    engine.inject(1, [{ type: "RESET_AGENT" }], 0);
    const resets = notices(firstState(engine)).filter((n) =>
      n.type === "RESPONSE_DISTRIBUTED_RESET_AGENT"
    );
    // The wire notice names no book: one per book of the simulation.
    assert.equal(resets.length, config.books);
    assert.ok(
      resets.every((n) => "resets" in n && n.resets.length === 1 && n.resets[0].agentId === 1),
    );
  } finally {
    engine.close();
  }
});
