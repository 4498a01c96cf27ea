import assert from "node:assert/strict";
import { testTempDir } from "../temp_dir.ts";
import { smallPreset } from "../../sim/config.ts";
import type { BookEvent, Notice, PublishState } from "../../sim/engine.ts";
import { runAgentStep, type TradingAgent } from "../../agents/sdk/agent.ts";
import { type Instruction, validateInstructions } from "../../agents/sdk/instructions.ts";
import { loadAgent } from "../../agents/sdk/loader.ts";
import { simulationConfigFor, stateForAgent } from "../../agents/sdk/state.ts";
import { PassiveAggressiveRegressor } from "../../agents/examples/passive_aggressive.ts";
import { barFeatures } from "../../agents/examples/simple_regressor.ts";

const simulation = simulationConfigFor(smallPreset());

interface Setup {
  timestamp?: number;
  base?: number;
  quote?: number;
  books?: number;
  bid?: number | null;
  ask?: number | null;
  orders?: { orderId: number; timestamp: number; price: number }[];
  /** L3 events of book 0 since the previous update. */
  record?: BookEvent[];
  notices?: Notice[];
}

function publish(s: Setup = {}): PublishState {
  const books = s.books ?? 1;
  const bid = s.bid === undefined ? 299.9 : s.bid;
  const ask = s.ask === undefined ? 300.1 : s.ask;
  return {
    timestamp: s.timestamp ?? 50e9,
    final: false,
    eventsProcessed: 0,
    notices: s.notices ?? [],
    books: Array.from({ length: books }, (_, bookId) => ({
      bookId,
      fundamental: 300,
      record: bookId === 0 ? s.record ?? [] : [],
      bid: bid === null ? [] : [{ price: bid, volume: 4 }],
      ask: ask === null ? [] : [{ price: ask, volume: 3 }],
    })),
    accounts: [{
      agentId: 0,
      holdings: Array.from({ length: books }, () => ({
        base: { free: s.base ?? 10, reserved: 0, total: s.base ?? 10 },
        quote: { free: s.quote ?? 5000, reserved: 0, total: s.quote ?? 5000 },
      })),
      orders: Array.from({ length: books }, () =>
        (s.orders ?? []).map((o) => ({
          ...o,
          volume: 1,
          leverage: 0,
          direction: 0 as const,
          clientOrderId: null,
        }))),
      fees: Array.from(
        { length: books },
        () => ({ volume: 0, makerFeeRate: 0.005, takerFeeRate: 0.005 }),
      ),
    }],
  };
}

async function step(agent: TradingAgent, s: Setup = {}, dropped = 0): Promise<Instruction[]> {
  const response = await runAgentStep(agent, 0, stateForAgent(publish(s), 0, simulation));
  const checked = validateInstructions(response, { uid: 0, bookCount: s.books ?? 1 });
  assert.equal(checked.discarded, null, "the validator accepts the agent's response");
  assert.equal(checked.rejected.length, dropped);
  return checked.accepted;
}

/** An agents directory without files: the bundled examples load by name. */
const noAgents = testTempDir("taos-no-agents-");
const load = (name: string, params = "") => loadAgent({ path: noAgents, name, params, uid: 0 });

Deno.test("RandomMakerAgent cancels expired orders and quotes inside the spread", async () => {
  const agent = await load("RandomMakerAgent", "min_quantity=0.5 max_quantity=0.7 seed=3");
  const orders = [{ orderId: 4, timestamp: 10e9, price: 299 }, {
    orderId: 5,
    timestamp: 50e9,
    price: 299,
  }];
  const out = await step(agent, { orders });
  assert.deepEqual(out[0], {
    type: "CANCEL_ORDERS",
    agentId: 0,
    delay: 0,
    bookId: 0,
    cancellations: [{ orderId: 4, volume: null }],
  });
  const [buy, sell] = out.slice(1);
  assert.ok(buy.type === "PLACE_ORDER_LIMIT" && sell.type === "PLACE_ORDER_LIMIT");
  assert.equal(buy.direction, 0);
  assert.equal(buy.stp, 3);
  assert.equal(sell.stp, 2);
  assert.ok(buy.price >= 299.9 && buy.price <= sell.price && sell.price <= 300.1);
  assert.ok(buy.quantity >= 0.5 && buy.quantity <= 0.7);
  const broke = await step(await load("RandomMakerAgent", "seed=3"), { base: 0, quote: 0 });
  assert.deepEqual(broke, [], "no orders without free balance");
  // A one-sided book is left alone: the reference quotes around 100 there, a third of this
  // market's price, and sold the book down to 49 in a 15-minute backtest.
  const oneSided = await load("RandomMakerAgent", "seed=3");
  assert.deepEqual(await step(oneSided, { ask: null }), []);
  assert.deepEqual(await step(oneSided, { bid: null }), []);
});

Deno.test("RandomMakerAgent cancels an order only once it is more than expiry_period ns old, and sells all its free base", async () => {
  const agent = await load("RandomMakerAgent", "min_quantity=0.5 max_quantity=0.5 seed=3");
  // With the default expiry_period of 200 ns, an order placed 200 ns ago stays and one placed
  // 201 ns ago goes, as the reference compares (now > placed + expiry_period).
  const orders = [
    { orderId: 4, timestamp: 50e9 - 201, price: 299 },
    { orderId: 5, timestamp: 50e9 - 200, price: 299 },
  ];
  const out = await step(agent, { orders, base: 0.5 });
  assert.deepEqual(
    out.map((o) =>
      o.type === "CANCEL_ORDERS"
        ? o.cancellations.map((c) => c.orderId)
        : o.type === "PLACE_ORDER_LIMIT"
        ? [o.direction, o.quantity]
        : []
    ),
    [[4], [0, 0.5], [1, 0.5]],
    "a free base equal to the quantity is enough to sell it",
  );
});

Deno.test("RandomMakerAgent rounds its draws to the nearest tick, as the reference: a one-tick spread is quoted", async () => {
  const agent = await load("RandomMakerAgent", "seed=5");
  const quotes: [number, number][] = [];
  let atBestAsk = 0;
  for (let i = 1; i <= 40; i++) {
    for (const o of await step(agent, { timestamp: i * 5e9, bid: 299.9, ask: 299.91 })) {
      if (o.type === "PLACE_ORDER_LIMIT") quotes.push([o.direction, o.price]);
    }
    for (const o of await step(agent, { timestamp: i * 5e9, bid: 299.9, ask: 299.93 })) {
      if (o.type === "PLACE_ORDER_LIMIT" && o.direction === 1 && o.price === 299.93) atBestAsk++;
    }
  }
  // Truncated draws never reached the ask: a one-tick book was never quoted, and no sell was at the
  // best ask (the reference's rounded draws do both about a quarter and a sixth of the time).
  assert.ok(quotes.length > 0, "a one-tick spread is quoted");
  assert.ok(quotes.every(([side, price]) => price === (side === 0 ? 299.9 : 299.91)));
  assert.ok(atBestAsk > 0, "a sell at the best ask");
});

Deno.test("the example agents refuse a min_quantity below one lot when the simulation starts", async () => {
  for (
    const name of [
      "RandomMakerAgent",
      "RandomTakerAgent",
      "SelfTradingAgent",
      "OrderOptionAgent",
      "SimpleRegressorAgent",
    ]
  ) {
    const agent = await load(name, "min_quantity=0.00001 max_quantity=0.00002");
    await assert.rejects(
      step(agent),
      /agent parameter 'min_quantity': 0\.00001 is less than one lot of this market \(0\.0001 at volumeDecimals 4\)/,
      name,
    );
  }
  const lot = await load("RandomMakerAgent", "min_quantity=0.0001 max_quantity=0.0001 seed=3");
  assert.equal((await step(lot)).length, 2, "one lot is enough");
});

Deno.test("RandomTakerAgent sends one market order per book, direction fixed between redraws", async () => {
  const agent = await load("RandomTakerAgent", "seed=9");
  const directions = new Set<number>();
  for (let t = 1; t < 20; t++) {
    const out = await step(agent, { timestamp: t * 5e9, books: 2 });
    assert.equal(out.length, 2);
    for (const o of out) {
      assert.ok(o.type === "PLACE_ORDER_MARKET");
      assert.ok(o.quantity >= 0.1 && o.quantity <= 1);
      assert.ok(o.stp === 1 || o.stp === 4);
    }
    if (out[0].type === "PLACE_ORDER_MARKET") directions.add(out[0].direction);
  }
  assert.equal(directions.size, 1, "no redraw before 100 s");
});

Deno.test("RandomTakerAgent redraws each book's direction at every multiple of 100 s, and only then", async () => {
  const agent = await load("RandomTakerAgent", "seed=9");
  const directions: number[] = [];
  for (let k = 1; k <= 12; k++) {
    const [atRedraw] = await step(agent, { timestamp: k * 100e9 });
    const [after] = await step(agent, { timestamp: k * 100e9 + 5e9 });
    assert.ok(atRedraw.type === "PLACE_ORDER_MARKET" && after.type === "PLACE_ORDER_MARKET");
    assert.equal(after.direction, atRedraw.direction, `no redraw 5 s after ${k * 100} s`);
    directions.push(atRedraw.direction);
  }
  // Seed 9's twelve draws (fixed by the seeded generator): both directions occur.
  assert.deepEqual(new Set(directions), new Set([0, 1]));
});

Deno.test("SelfTradingAgent places a fresh pair, then crosses it on the next book", async () => {
  const agent = await load("SelfTradingAgent", "seed=1");
  const out = await step(agent, { books: 2, bid: 299, ask: 301 });
  assert.equal(out.length, 4);
  const [buy, sell, cross1, cross2] = out as Extract<Instruction, { type: "PLACE_ORDER_LIMIT" }>[];
  assert.ok(buy.price > 299 && buy.price < sell.price && sell.price < 301);
  assert.equal(cross1.bookId, 1);
  assert.equal(cross1.price, sell.price);
  assert.equal(cross2.price, buy.price);
  assert.ok(Math.abs(cross1.quantity - (buy.quantity + 0.1)) < 1e-9);
  assert.ok(out.every((o) => o.type === "PLACE_ORDER_LIMIT" && o.stp === 4));
});

Deno.test("SelfTradingAgent quotes a book exactly 3 ticks wide and skips one 2 ticks wide", async () => {
  // 300.13 − 300.1 is 0.029999999999972715 in floating point: less than 3 ticks of 0.01.
  const wide = await step(await load("SelfTradingAgent", "seed=1"), { bid: 300.1, ask: 300.13 });
  assert.deepEqual(
    wide.map((o) => o.type === "PLACE_ORDER_LIMIT" ? [o.direction, o.price] : []),
    [[0, 300.11], [1, 300.12]],
  );
  assert.deepEqual(
    await step(await load("SelfTradingAgent", "seed=1"), { bid: 300.1, ask: 300.12 }),
    [],
  );
});

Deno.test("SelfTradingAgent places neither side it has no free balance for", async () => {
  const noBase = await step(await load("SelfTradingAgent", "seed=1"), {
    bid: 299,
    ask: 301,
    base: 0,
  });
  assert.deepEqual(noBase.map((o) => o.type === "PLACE_ORDER_LIMIT" && o.direction), [0]);
  const noQuote = await step(await load("SelfTradingAgent", "seed=1"), {
    bid: 299,
    ask: 301,
    quote: 0,
  });
  assert.deepEqual(noQuote.map((o) => o.type === "PLACE_ORDER_LIMIT" && o.direction), [1]);
});

Deno.test("OrderOptionAgent: flags are booleans or 1/0; none on enables all but those off", async () => {
  for (const on of ["PO=true", "PO=1"]) {
    const poOnly = await step(await load("OrderOptionAgent", on));
    assert.equal(poOnly.length, 4, on);
    assert.ok(poOnly.every((o) => o.type === "PLACE_ORDER_LIMIT" && o.postOnly), on);
  }
  const quoteOn = await load("OrderOptionAgent", "PO=0 QUOTE=1");
  assert.deepEqual([...(quoteOn as unknown as { enabled: Set<string> }).enabled], ["QUOTE"]);
  await assert.rejects(
    load("OrderOptionAgent", "PO=yes"),
    /parameter 'PO': expected true or false \(or 1\/0\)/,
  );
  // Switches only turned off leave the others on (the reference would run all, the ones turned
  // off too; running none would leave the agent idle).
  const noPostOnly = await load("OrderOptionAgent", "PO=0");
  assert.deepEqual(
    [...(noPostOnly as unknown as { enabled: Set<string> }).enabled],
    ["QUOTE", "GTT", "IOC", "FOK"],
  );
  await assert.rejects(
    load("OrderOptionAgent", "PO=0 GTT=0 IOC=0 FOK=0 QUOTE=false"),
    /every option \(QUOTE, PO, GTT, IOC, FOK\) is switched off/,
  );
  const quoteOnly = await step(await load("OrderOptionAgent", "PO=False QUOTE=true"));
  assert.equal(quoteOnly.length, 4);
  assert.ok(quoteOnly.every((o) => o.type === "PLACE_ORDER_MARKET" && o.currency === 1));
  // All options make 22 orders per book, past the validator's 20: they come in two turns, so
  // nothing is dropped (not even the last two fill-or-kill orders).
  const agent = await load("OrderOptionAgent");
  const first = await step(agent);
  const second = await step(agent);
  assert.deepEqual([first.length, second.length], [16, 6]);
  const kinds = (orders: Instruction[]) =>
    [...new Set(orders.map((o) => o.type === "PLACE_ORDER_LIMIT" ? o.timeInForce : "market"))]
      .sort();
  assert.deepEqual(kinds(first), [0, 1, 2, "market"].sort());
  assert.deepEqual(kinds(second), [3]);
  assert.equal((await step(agent)).length, 16, "then the first turn again");
});

Deno.test("OrderOptionAgent's orders: quote amounts, post-only prices, GTT expiry of 10 s, exactly 20 orders in one turn", async () => {
  const limits = (orders: Instruction[]) =>
    orders.map((o) =>
      o.type === "PLACE_ORDER_LIMIT" ? [o.direction, o.price, o.timeInForce, o.expiryPeriod] : []
    );
  // Best bid 299.9 × 4 and best ask 300.1 × 3: half and all of each touch, in quote.
  const quote = await step(await load("OrderOptionAgent", "QUOTE=1"));
  assert.deepEqual(
    quote.map((o) => o.type === "PLACE_ORDER_MARKET" ? [o.direction, o.quantity] : []),
    [[0, 450.15], [0, 900.3], [1, 599.8], [1, 1199.6]],
  );
  // One post-only order of each side rests at its own touch, one crosses and is refused.
  const postOnly = await step(await load("OrderOptionAgent", "PO=1"));
  assert.deepEqual(limits(postOnly), [
    [0, 299.9, 0, null],
    [0, 300.1, 0, null],
    [1, 300.1, 0, null],
    [1, 299.9, 0, null],
  ]);
  const gtt = await step(await load("OrderOptionAgent", "GTT=1"));
  assert.deepEqual(limits(gtt), [[0, 299.9, 1, 10e9], [1, 300.1, 1, 10e9]]);
  // Without GTT the options make 4 + 4 + 6 + 6 = 20 orders: the validator's limit, so one turn.
  const noGtt = await load("OrderOptionAgent", "GTT=0");
  assert.deepEqual([(await step(noGtt)).length, (await step(noGtt)).length], [20, 20]);
});

Deno.test("OrderOptionAgent's sweeping sells stay at a positive price below a price of 10", async () => {
  // The sweeping orders go 10 past the touch; below 10 the sell's price would be 0 or less, and
  // the builder's refusal lost every response in a market priced at 5.
  for (const option of ["IOC", "FOK"]) {
    const orders = await step(await load("OrderOptionAgent", `${option}=1 seed=2`), {
      bid: 4.9,
      ask: 5.1,
    });
    const prices = orders.map((o) => o.type === "PLACE_ORDER_LIMIT" ? [o.direction, o.price] : []);
    assert.deepEqual(prices, [[0, 15.1], [0, 5.1], [0, 4.9], [1, 0.01], [1, 4.9], [1, 5.1]]);
  }
  const high = await step(await load("OrderOptionAgent", "IOC=1 seed=2"));
  assert.deepEqual(
    high.map((o) => o.type === "PLACE_ORDER_LIMIT" ? o.price : 0),
    [310.1, 300.1, 299.9, 289.9, 299.9, 300.1],
  );
});

Deno.test("MarketMakerAgent flattens a large position, then quotes beyond the fee", async () => {
  const agent = await load("MarketMakerAgent");
  const flatten = await step(agent, { base: 10, orders: [{ orderId: 8, timestamp: 1, price: 1 }] });
  assert.equal(flatten[0].type, "CANCEL_ORDERS");
  assert.ok(flatten[1].type === "PLACE_ORDER_MARKET" && flatten[1].direction === 1);
  assert.equal(flatten[1].quantity, 10);
  const quotes = await step(agent, { base: 1 });
  const [ask, bid] = quotes as Extract<Instruction, { type: "PLACE_ORDER_LIMIT" }>[];
  assert.equal(ask.direction, 1);
  assert.equal(ask.quantity, 1);
  assert.equal(ask.price, 301.8);
  assert.equal(bid.price, 298.2);
  assert.equal(bid.quantity, 0.5);
  assert.ok(ask.postOnly && bid.postOnly);
  assert.deepEqual(await step(agent, { base: 1, ask: null }), [], "no quotes on a one-sided book");
  const idle = await step(agent, { base: 0, timestamp: 100e9 });
  const keepalive = idle.at(-1)!;
  assert.ok(keepalive.type === "PLACE_ORDER_LIMIT" && keepalive.timeInForce === 2);
  assert.equal(keepalive.direction, 0);
  assert.equal(keepalive.price, 300.1);
  assert.equal(keepalive.quantity, 0.01);
  // Holding base, the keepalive sells it: the resting ask leaves that much unreserved (an ask
  // offering all of it would leave none, and the exchange would refuse every keepalive sale).
  const selling = (await step(agent, { base: 1, timestamp: 100e9 })) as Extract<
    Instruction,
    { type: "PLACE_ORDER_LIMIT" }
  >[];
  assert.deepEqual(
    selling.map((o) => [o.direction, o.quantity, o.price, o.timeInForce ?? 0]),
    [[1, 0.99, 301.8, 0], [0, 0.5, 298.2, 0], [1, 0.01, 299.9, 2]],
  );
  // Short of quote for both, the keepalive buy goes first and the resting bid is left out.
  const short = await step(agent, { base: 0, quote: 150, timestamp: 100e9 });
  assert.equal(short.length, 1);
  assert.ok(short[0].type === "PLACE_ORDER_LIMIT" && short[0].timeInForce === 2);
});

Deno.test("MarketMakerAgent offers all its lots and sends no keepalive it cannot pay for", async () => {
  const agent = await load("MarketMakerAgent");
  // Without quote the keepalive buy would only be refused (INSUFFICIENT_QUOTE) at every update.
  assert.deepEqual(await step(agent, { base: 0, quote: 0, timestamp: 100e9 }), []);
  // 3 lots are offered as 3 lots (0.0003 / 0.0001 is 2.9999999999999996 in floating point).
  const dust = await step(agent, { base: 0.0003, quote: 0, timestamp: 100e9 });
  assert.deepEqual(
    dust.map((o) => o.type === "PLACE_ORDER_LIMIT" ? [o.direction, o.quantity, o.price] : []),
    [[1, 0.0003, 301.8]],
  );
});

Deno.test("MarketMakerAgent keeps a position of exactly max_inventory and bids only up to it", async () => {
  const agent = await load("MarketMakerAgent");
  const limits = (orders: Instruction[]) =>
    orders.map((o) => o.type === "PLACE_ORDER_LIMIT" ? [o.direction, o.quantity, o.price] : []);
  // At max_inventory (2) it offers the position and bids nothing; one lot more is flattened.
  assert.deepEqual(limits(await step(agent, { base: 2 })), [[1, 2, 301.8]]);
  const over = await step(agent, { base: 2.0001 });
  assert.ok(over.length === 1 && over[0].type === "PLACE_ORDER_MARKET");
  assert.equal(over[0].quantity, 2.0001);
  // 0.2 below max_inventory, the bid is 0.2, not the usual 0.5.
  assert.deepEqual(limits(await step(agent, { base: 1.8 })), [[1, 1.8, 301.8], [0, 0.2, 298.2]]);
});

Deno.test("MarketMakerAgent's keepalive: from keepalive_after into a volume bucket, and not after a fill in it", async () => {
  const keepalives = (orders: Instruction[]) =>
    orders.filter((o) => o.type === "PLACE_ORDER_LIMIT" && o.timeInForce === 2).length;
  // 60 s into the first 10-minute bucket is the earliest keepalive; 1 ns before, none.
  assert.equal(
    keepalives(await step(await load("MarketMakerAgent"), { base: 0, timestamp: 60e9 - 1 })),
    0,
  );
  assert.equal(
    keepalives(await step(await load("MarketMakerAgent"), { base: 0, timestamp: 60e9 })),
    1,
  );
  // A fill of its own in the bucket keeps the activity factor fresh: no keepalive for the rest of it.
  const filled = await load("MarketMakerAgent");
  const fill: Notice = {
    timestamp: 95e9,
    agentId: 0,
    bookId: 0,
    type: "EVENT_TRADE",
    orderId: 7,
    clientOrderId: null,
    trade: { tradeId: 1, price: 299.9, volume: 0.5, direction: 1, fee: 0.75 },
  };
  assert.equal(keepalives(await step(filled, { base: 0, timestamp: 100e9, notices: [fill] })), 0);
  assert.equal(keepalives(await step(filled, { base: 0, timestamp: 105e9 })), 0);
  // The next bucket starts idle again.
  assert.equal(keepalives(await step(filled, { base: 0, timestamp: 700e9 })), 1);
});

Deno.test("SimpleRegressorAgent: documented defaults, model validated, bar features", async () => {
  const agent = await load("SimpleRegressorAgent");
  assert.deepEqual((agent as unknown as { params: unknown }).params, {
    min_quantity: 0.1,
    max_quantity: 1,
    expiry_period: 200,
    model: "PassiveAggressiveRegressor",
    signal_threshold: 0.0025,
  });
  await assert.rejects(load("SimpleRegressorAgent", "model=MLP"), /agent parameter 'model'/);
  // Below signal_threshold every signal strong enough to trade would be distrusted: no trades ever.
  await assert.rejects(
    load("SimpleRegressorAgent", "model_threshold=0.001"),
    /agent parameter 'model_threshold': must not be below signal_threshold \(0\.0025\)/,
  );
  await load("SimpleRegressorAgent", "model_threshold=0.003 signal_threshold=0.003");
  const features = barFeatures({
    open: 100,
    high: 102,
    low: 99,
    close: 101,
    volume: 10,
    buyTrades: 3,
    sellTrades: 1,
    buyOrders: 6,
    sellOrders: 4,
    priceSum: 303,
    trades: 3,
  })!;
  assert.deepEqual(features.slice(0, 8), [100, 102, 99, 101, 10, 1, 0.5, 0.2]);
  assert.ok(Math.abs(features[8] - (1 - 101 / 102)) < 1e-12);
  assert.ok(Math.abs(features[9] - Math.log(1.01)) < 1e-12);
  assert.deepEqual(await step(agent), [], "no signal before any bar");
});

Deno.test("PassiveAggressiveRegressor learns a linear relation online", () => {
  const model = new PassiveAggressiveRegressor(2, { C: 1 });
  let seed = 1;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (let i = 0; i < 3000; i++) {
    const x = [rand(), rand()];
    model.learn(x, 2 * x[0] - x[1] + 0.5);
  }
  assert.ok(Math.abs(model.predict([0.5, -0.5]) - 2) < 0.05);
  assert.ok(Math.abs(model.predict([0, 0]) - 0.5) < 0.05);
  assert.equal(model.samples, 3000);
});

/** One trade at `price` on book 0, as an L3 record. */
function tradeRecord(tradeId: number, timestamp: number, price: number): BookEvent {
  return {
    event: "trade",
    tradeId,
    timestamp,
    direction: 0,
    aggressingOrderId: 2 * tradeId,
    restingOrderId: 2 * tradeId + 1,
    volume: 1,
    price,
    aggressingAgentId: 5,
    restingAgentId: 6,
    fees: { maker: 0, taker: 0 },
  };
}

/**
 * Runs a SimpleRegressorAgent through 3 updates 5 s apart (the small preset's publish interval,
 * its default sampling interval) and returns its orders of the 3rd. The 2nd and 3rd bring two
 * trades each, at 300 and 300 · `factor`. The first bar closes at 10 s (the first update starts
 * it), the second at 15 s, each with the log return ln(factor); the second close learns that
 * return from the first bar and predicts it again (from the bias alone: with one sample no
 * feature has a spread to standardise by, so all scale to 0).
 */
async function regressorAfterTwoBars(factor: number, params: string) {
  const agent = await load("SimpleRegressorAgent", `seed=4 ${params}`);
  let out: Instruction[] = [];
  for (let k = 1; k <= 3; k++) {
    const t = k * 5e9;
    const record = k === 1
      ? []
      : [tradeRecord(2 * k, t - 2, 300), tradeRecord(2 * k + 1, t - 1, 300 * factor)];
    out = await step(agent, { timestamp: t, record });
    if (k < 3) assert.deepEqual(out, [], `no signal at ${k * 5} s`);
  }
  const signal = (agent as unknown as { signal(book: number): number }).signal(0);
  const orders = out.map((o) =>
    o.type === "PLACE_ORDER_LIMIT" ? [o.direction, o.price, o.timeInForce, o.expiryPeriod] : []
  );
  return { signal, orders };
}

Deno.test("SimpleRegressorAgent closes a bar at each sampling interval and trades a strong signal", async () => {
  const up = await regressorAfterTwoBars(1.01, "model_threshold=0.02");
  assert.ok(Math.abs(up.signal - Math.log(1.01)) < 1e-12, `signal ${up.signal}`);
  // Buy a tick above the bid (299.9), sell at mid · e^signal = 300 · 1.01, truncated to a tick.
  assert.deepEqual(up.orders, [[0, 299.91, 1, 200], [1, 303, 1, 200]]);
  const down = await regressorAfterTwoBars(1 / 1.01, "model_threshold=0.02");
  // Sell a tick below the ask (300.1), buy at 300 / 1.01 = 297.0297..., truncated.
  assert.deepEqual(down.orders, [[1, 300.09, 1, 200], [0, 297.02, 1, 200]]);
  // Beyond model_threshold (by default 2 × 0.0025) the prediction is distrusted: no trade.
  const distrusted = await regressorAfterTwoBars(1.01, "");
  assert.ok(Math.abs(distrusted.signal - Math.log(1.01)) < 1e-12);
  assert.deepEqual(distrusted.orders, []);
});
