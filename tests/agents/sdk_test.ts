import assert from "node:assert/strict";
import { testTempDir } from "../temp_dir.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { referenceConfig, smallPreset } from "../../sim/config.ts";
import { type PublishState, SimEngine } from "../../sim/engine.ts";
import {
  bestAsk,
  bestBid,
  depth,
  imbalance,
  inventoryValue,
  isCancellation,
  isOrder,
  isTrade,
  mid,
  openOrders,
  spread,
} from "../../agents/sdk/book.ts";
import {
  cancelOrders,
  CURRENCY_BASE,
  FOK,
  GTC,
  GTT,
  ignoredField,
  type Instruction,
  IOC,
  limitOrder,
  marketOrder,
  scheduleInstructions,
  STP_CANCEL_OLDEST,
  toEngineInstruction,
  validateInstructions,
} from "../../agents/sdk/instructions.ts";
import {
  AgentLoadError,
  checkAgentParams,
  loadAgent,
  loadAgentClass,
  parseAgentParams,
} from "../../agents/sdk/loader.ts";
import {
  type CancellationEvent,
  parseStateUpdate,
  type PlacementEvent,
  roundTo,
  type SimulationConfig,
  simulationConfigFor,
  stateForAgent,
  type StateUpdate,
  type TradeEvent,
  tradeSchema,
  truncateTo,
} from "../../agents/sdk/state.ts";
import {
  Agent,
  type AgentClass,
  type AgentInstructions,
  runAgentStep,
} from "../../agents/sdk/agent.ts";
import { describeThrown } from "../../agents/sdk/thrown.ts";
import { gridUnits } from "../../sim/grid.ts";

const simulation = simulationConfigFor(smallPreset());

/** A published state with one book, two remote accounts and notices for both. */
function publish(overrides: Partial<PublishState> = {}): PublishState {
  const holdings = [{
    base: { free: 10, reserved: 1, total: 11 },
    quote: { free: 1000, reserved: 299.5, total: 1299.5 },
  }];
  const account = (agentId: number) => ({
    agentId,
    holdings,
    orders: [[{
      orderId: 9,
      timestamp: 4e9,
      volume: 1,
      leverage: 0,
      direction: 0 as const,
      price: 299.5,
      clientOrderId: 77,
    }]],
    fees: [{ volume: 1234, makerFeeRate: 0.005, takerFeeRate: 0.005 }],
  });
  return {
    timestamp: 5e9,
    final: false,
    eventsProcessed: 10,
    books: [{
      bookId: 0,
      fundamental: 300.2,
      bid: Array.from({ length: 30 }, (_, i) => ({
        price: 299.9 - i / 100,
        volume: 2,
        orders: i === 0
          ? [{ orderId: 1, timestamp: 1, volume: 2, leverage: 0, direction: 0 as const }]
          : undefined,
      })),
      ask: [{ price: 300.1, volume: 3 }],
      record: [
        {
          event: "place",
          orderId: 12,
          timestamp: 4.5e9,
          volume: 1.5,
          leverage: 0,
          direction: 1,
          price: 300.1,
          agentId: 1,
          clientOrderId: 5,
        },
        {
          event: "trade",
          tradeId: 3,
          timestamp: 4.6e9,
          direction: 1,
          aggressingOrderId: 12,
          restingOrderId: 9,
          volume: 0.5,
          price: 299.9,
          aggressingAgentId: 1,
          restingAgentId: 0,
          fees: { maker: 0.75, taker: 0.75 },
        },
        { event: "cancel", orderId: 2, timestamp: 4.7e9, volume: 1, agentId: -4 },
      ],
    }],
    accounts: [account(0), account(1)],
    notices: [
      {
        timestamp: 4.6e9,
        agentId: 0,
        bookId: 0,
        type: "EVENT_TRADE",
        orderId: 9,
        clientOrderId: 77,
        trade: { tradeId: 3, price: 299.9, volume: 0.5, direction: 1, fee: 0.75 },
      },
      {
        timestamp: 4.5e9,
        agentId: 1,
        bookId: 0,
        type: "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT",
        orderId: 12,
        clientOrderId: 5,
      },
      {
        timestamp: 4.4e9,
        agentId: 0,
        bookId: 0,
        type: "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET",
        orderId: -1,
        clientOrderId: null,
        message: "insufficient balance",
      },
    ],
    ...overrides,
  };
}

Deno.test("stateForAgent: own account and notices only, levels capped at 21, events converted", () => {
  const state = stateForAgent(publish(), 0, simulation, { first: true });
  assert.deepEqual(Object.keys(state.accounts), ["0"]);
  assert.deepEqual(Object.keys(state.notices ?? {}), ["0"]);
  const book = state.books[0];
  assert.equal(book.bids.length, 21);
  assert.equal(book.bids[0].orders?.[0].id, 1);
  assert.equal(book.bids[1].orders, null);
  assert.deepEqual(book.asks, [{ price: 300.1, quantity: 3, orders: null }]);
  assert.deepEqual(book.events?.[2], { orderId: 2, quantity: 1 });
  assert.equal((book.events?.[1] as { maker_agent_id: number }).maker_agent_id, 0);
  const account = state.accounts[0][0];
  assert.equal(account.base_balance.total, 11);
  assert.equal(account.quote_balance.currency, "QUOTE");
  assert.equal(account.orders[0].client_id, 77);
  assert.equal(account.fees?.volume_traded, 1234);
  const events = state.notices![0];
  assert.equal((events[0] as { logDir: unknown }).logDir, "", "a text, as the reference requires");
  assert.deepEqual(events.map((e) => e.type), [
    "EVENT_SIMULATION_START",
    "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET",
    "EVENT_TRADE",
  ]);
  const trade = events[2];
  assert.ok(trade.type === "EVENT_TRADE");
  assert.equal(trade.makerAgentId, 0);
  assert.equal(trade.takerAgentId, 1);
  assert.equal(trade.makerFee, 0.75);
  const rejected = events[1];
  assert.ok(rejected.type === "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET");
  assert.equal(rejected.success, false);
  assert.equal(rejected.orderId, null);
  assert.equal(rejected.message, "insufficient balance");
});

Deno.test("stateForAgent: placement notices take side, quantity and price from the book record", () => {
  const state = stateForAgent(publish({ final: true }), 1, simulation);
  const [stop, accepted] = state.notices![1];
  assert.ok(accepted.type === "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT");
  assert.equal(accepted.price, 300.1);
  assert.equal(accepted.side, 1);
  assert.equal(accepted.quantity, 1.5);
  assert.equal(stop.type, "EVENT_SIMULATION_STOP");
});

Deno.test("stateForAgent: the start and stop notices carry the simulation's start, as the reference's", () => {
  // Not the publish instant: a first publish after a 10-minute grace period would stamp the start
  // 600 s late.
  const state = stateForAgent(publish({ final: true }), 0, simulation, { first: true, start: 1e9 });
  const events = state.notices![0];
  assert.deepEqual(
    events.slice(0, 2).map((e) => [e.type, e.timestamp]),
    [["EVENT_SIMULATION_START", 1e9], ["EVENT_SIMULATION_STOP", 1e9]],
  );
  assert.ok(events.slice(2).every((e) => e.timestamp > 1e9), "the rest follow, by time");
  const unstarted = stateForAgent(publish({ final: true }), 0, simulation, { first: true });
  assert.equal(unstarted.notices![0][0].timestamp, 0, "a config's start defaults to 0");
});

Deno.test("the config sent to miners carries the reference's fields for margin and every agent group", () => {
  const config = simulationConfigFor(referenceConfig());
  assert.deepEqual(
    [config.max_leverage, config.max_loan, config.maintenance_margin],
    [4, 10000, 0.1],
  );
  assert.deepEqual(
    [config.miner_capital_type, config.miner_base_balance, config.miner_wealth],
    ["pareto", null, 100000],
  );
  assert.equal(config.fp_update_period, 10e9); // the reference reports one more (off by one)
  assert.deepEqual(
    [config.init_agent_count, config.init_agent_capital_type, config.init_agent_wealth],
    [500, "static", 60000],
  );
  assert.equal(config.init_agent_tau, 300e9);
  assert.deepEqual(
    [config.hft_agent_count, config.hft_agent_base_balance, config.hft_agent_order_latency_max],
    [10, 500, 50e6],
  );
  assert.deepEqual(
    [config.hft_agent_psi, config.hft_agent_order_size_mean, config.hft_agent_price_shift],
    [100, 1.6, 0.05],
  );
  assert.deepEqual(
    [config.sta_agent_count, config.sta_agent_capital_type, config.sta_agent_wealth],
    [1000, "pareto-50", 60000],
  );
  assert.deepEqual(
    [config.sta_agent_chartist_weight, config.sta_agent_tau, config.sta_agent_tauF],
    [1.8, 175e9, 1],
  );
  assert.deepEqual(
    [config.futures_agent_count, config.futures_agent_volume, config.futures_agent_selection_scale],
    [100, 4, 0.2],
  );
  // A group that is not configured still sends every field the reference's model requires.
  const noGroups = simulationConfigFor({ ...smallPreset(), agents: {} });
  assert.deepEqual(
    [noGroups.init_agent_count, noGroups.hft_agent_count, noGroups.hft_agent_tau],
    [0, 0, 0],
  );
  const required = (c: object) =>
    Object.keys(c).filter((k) => /^(init|hft|sta)_agent_/.test(k)).sort();
  assert.deepEqual(required(noGroups), required(config));
  assert.equal(noGroups.sta_agent_capital_type, "static");
});

/** Runs `fn` on a one-book engine (small preset, one remote account, seed 3) after its first
 * publish. */
function withOneBookEngine(fn: (engine: SimEngine, first: PublishState) => void): void {
  const config = { ...smallPreset(), books: 1, duration: 10 * 60e9, remoteAgentCount: 1 };
  const engine = SimEngine.create({ config, seed: 3, threads: 1 });
  try {
    const first = engine.advance();
    assert.ok(first !== null);
    fn(engine, first);
  } finally {
    engine.close();
  }
}

Deno.test("rejected orders and partial cancels reach the miner as they were requested", () => {
  withOneBookEngine((engine, first) => {
    let publish: PublishState | null = first;
    const bid = publish.books[0].bid[0].price;
    const farBid = Math.floor(bid * 0.5);
    const tooMuchQuote = Math.ceil(publish.accounts[0].holdings[0].quote.free * 10);
    engine.inject(0, [
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 2, price: farBid },
      // more quote than the account holds, and more base than it holds
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1e9, price: farBid },
      { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 1, volume: 1e6 },
      { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: tooMuchQuote, currency: 1 },
      // accepted, sized in quote: the notice reports the quote asked for, as the reference's
      { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 1, volume: 100, currency: 1 },
    ], 0);
    publish = engine.advance();
    assert.ok(publish !== null);
    let notices = stateForAgent(publish, 0, simulation).notices![0];
    const quoteSized = notices.find((n) => n.type === "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET");
    assert.ok(quoteSized?.type === "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET");
    assert.deepEqual([quoteSized.side, quoteSized.quantity], [1, 100]);
    assert.match(quoteSized.message, /^Sell Market Order \d+ placed successfully for 100\.0!$/);
    const rejectedLimit = notices.find((n) =>
      n.type === "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT"
    );
    assert.ok(rejectedLimit?.type === "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT");
    assert.deepEqual(
      [rejectedLimit.side, rejectedLimit.quantity, rejectedLimit.price, rejectedLimit.orderId],
      [0, 1e9, farBid, null],
    );
    const rejectedMarkets = notices.filter((n) =>
      n.type === "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET"
    ).map((n) =>
      n.type === "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET" && [n.side, n.quantity]
    );
    assert.deepEqual(rejectedMarkets, [[1, 1e6], [0, tooMuchQuote]]);

    const resting = publish.accounts[0].orders[0][0];
    engine.inject(0, [{
      type: "CANCEL_ORDERS",
      bookId: 0,
      cancellations: [{ orderId: resting.orderId, volume: 0.5 }],
    }], 0);
    engine.inject(0, [{
      type: "CANCEL_ORDERS",
      bookId: 0,
      cancellations: [{ orderId: resting.orderId, volume: null }],
    }], 1e6);
    publish = engine.advance();
    assert.ok(publish !== null);
    notices = stateForAgent(publish, 0, simulation).notices![0];
    const cancelled = notices.flatMap((n) =>
      n.type === "RESPONSE_DISTRIBUTED_CANCEL_ORDERS" ? n.cancellations : []
    );
    assert.deepEqual(
      cancelled.map((c) => [c.orderId, c.quantity, c.success]),
      [[resting.orderId, 0.5, true], [resting.orderId, null, true]],
    );
  });
});

Deno.test("a miner reply with a clientOrderId outside 0..4294967294 passes the validator and is rejected with a notice", () => {
  withOneBookEngine((engine, first) => {
    const farBid = Math.floor(first.books[0].bid[0].price * 0.5);
    const limit = (clientOrderId: number) => ({
      type: "PLACE_ORDER_LIMIT",
      agentId: 0,
      bookId: 0,
      direction: 0,
      quantity: 0.1,
      price: farBid,
      clientOrderId,
    });
    const reply = {
      agent_id: 0,
      instructions: [
        limit(7),
        limit(5e9),
        limit(-1),
        limit(4294967295),
        {
          type: "PLACE_ORDER_MARKET",
          agentId: 0,
          bookId: 0,
          direction: 0,
          quantity: 0.1,
          clientOrderId: 2 ** 40,
        },
      ],
    };
    const checked = validateInstructions(reply, { uid: 0, bookCount: 1 });
    assert.equal(checked.accepted.length, 5, "the reference's schema takes any integer id");
    for (const batch of scheduleInstructions(checked.accepted, 0)) {
      engine.inject(0, batch.instructions, batch.delayNs);
    }
    const publish = engine.advance();
    assert.ok(publish !== null);
    assert.deepEqual(publish.accounts[0].orders[0].map((o) => o.clientOrderId), [7]);
    const update = parseStateUpdate(stateForAgent(publish, 0, simulation));
    const rejected = update.notices![0].flatMap((n) =>
      n.type === "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT" ||
        n.type === "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET"
        ? [[n.type.endsWith("LIMIT") ? "limit" : "market", n.clientOrderId, n.message]]
        : []
    );
    assert.deepEqual(rejected, [
      ["limit", 5e9, "INVALID_CLIENT_ORDER_ID"],
      ["limit", -1, "INVALID_CLIENT_ORDER_ID"],
      ["limit", 4294967295, "INVALID_CLIENT_ORDER_ID"],
      ["market", 2 ** 40, "INVALID_CLIENT_ORDER_ID"],
    ]);
    const reasons = publish.notices.filter((n) => n.reason === "INVALID_CLIENT_ORDER_ID");
    assert.match(reasons[0].message ?? "", /clientOrderId 5000000000 is outside 0\.\.4294967294/);
  });
});

Deno.test("cancellations of ids outside 0..4294967294 get a failed-cancel notice, and one of less than a lot cancels nothing and is answered", async () => {
  const failed: string[] = [];
  const cancelled: [number, number | null][] = [];
  class CancelWatcher extends Agent {
    override onOrderCancellationFailed(event: CancellationEvent) {
      failed.push(`${event.orderId} ${event.message}`);
    }
    override onOrderCancelled(event: CancellationEvent) {
      cancelled.push([event.orderId, event.quantity]);
    }
    onUpdate() {
      return [];
    }
  }
  const agent = new CancelWatcher(0, {});
  const config = { ...smallPreset(), books: 1, duration: 10 * 60e9, remoteAgentCount: 1 };
  const engine = SimEngine.create({ config, seed: 3, threads: 1 });
  let restingId = -1;
  try {
    let publish = engine.advance();
    assert.ok(publish !== null);
    const farBid = Math.floor(publish.books[0].bid[0].price * 0.5);
    engine.inject(0, [
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 1, price: farBid },
    ], 0);
    publish = engine.advance();
    assert.ok(publish !== null);
    restingId = publish.accounts[0].orders[0][0].orderId;
    const reply = {
      agent_id: 0,
      instructions: [cancelOrders(0, 0, [
        { orderId: restingId, volume: 0.00001 },
        -5,
        2 ** 33,
        4294967295,
        123456,
      ])],
    };
    const checked = validateInstructions(reply, { uid: 0, bookCount: 1 });
    assert.equal(checked.accepted.length, 1);
    for (const batch of scheduleInstructions(checked.accepted, 0)) {
      engine.inject(0, batch.instructions, batch.delayNs);
    }
    publish = engine.advance();
    assert.ok(publish !== null);
    assert.deepEqual(
      publish.accounts[0].orders[0].map((o) => [o.orderId, o.volume]),
      [[restingId, 1]],
      "the order is untouched",
    );
    await runAgentStep(agent, 0, parseStateUpdate(stateForAgent(publish, 0, simulation)));
  } finally {
    engine.close();
  }
  assert.deepEqual(
    failed.toSorted(),
    [
      "-5 Order Id does not exist!",
      "123456 Order Id does not exist!",
      "4294967295 Order Id does not exist!",
      "8589934592 Order Id does not exist!",
    ].toSorted(),
  );
  // As the specification has it: a partial cancel of 0 lots succeeds and changes nothing.
  assert.deepEqual(cancelled, [[restingId, 0]]);
});

Deno.test("an order's acceptance is dispatched before its fills of the same update", async () => {
  const hooks: string[] = [];
  class HookOrder extends Agent {
    override onOrderAccepted(event: PlacementEvent) {
      hooks.push(`accepted ${event.clientOrderId}`);
    }
    override onTrade(event: TradeEvent) {
      hooks.push(`trade ${event.clientOrderId}`);
    }
    onUpdate() {
      return [];
    }
  }
  const config = { ...smallPreset(), books: 1, duration: 10 * 60e9, remoteAgentCount: 1 };
  const engine = SimEngine.create({ config, seed: 3, threads: 1 });
  try {
    assert.ok(engine.advance() !== null);
    engine.inject(0, [
      { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 0.5, clientOrderId: 2 },
    ], 0);
    const publish = engine.advance();
    assert.ok(publish !== null);
    const update = parseStateUpdate(stateForAgent(publish, 0, simulation));
    assert.ok(
      update.notices![0].findIndex((n) => n.type === "EVENT_TRADE") <
        update.notices![0].findIndex((n) => n.type === "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET"),
      "the fills are reported before the acceptance comes back",
    );
    await runAgentStep(new HookOrder(0, {}), 0, update);
  } finally {
    engine.close();
  }
  assert.equal(hooks[0], "accepted 2");
  assert.ok(hooks.length > 1 && hooks.slice(1).every((h) => h === "trade 2"), hooks.join(", "));
});

Deno.test("a GTT order filled when placed still reaches its expiry: the miner hears of a failed cancel", () => {
  withOneBookEngine((engine, first) => {
    let publish: PublishState | null = first;
    const ask = publish.books[0].ask[0].price;
    engine.inject(0, [{
      type: "PLACE_ORDER_LIMIT",
      bookId: 0,
      direction: 0,
      volume: 0.01,
      price: ask,
      timeInForce: 1,
      expiryPeriod: 1e9,
    }], 0);
    const failed: { orderId: number | null; message: string }[] = [];
    for (let step = 0; step < 3; step++) {
      publish = engine.advance();
      assert.ok(publish !== null);
      for (const notice of stateForAgent(publish, 0, simulation).notices![0]) {
        if (notice.type !== "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS") continue;
        for (const c of notice.cancellations) {
          failed.push({ orderId: c.orderId, message: c.message });
        }
      }
    }
    assert.equal(failed.length, 1, "one failed cancel, from the expiry");
    assert.match(failed[0].message, /does not exist/);
  });
});

Deno.test("a resting order cancelled by self-trade prevention gets no cancel notice, as in the reference", () => {
  withOneBookEngine((engine, first) => {
    let publish: PublishState | null = first;
    const [bid, ask] = [publish.books[0].bid[0].price, publish.books[0].ask[0].price];
    // Inside the spread: the new best ask, first in the way of a buy at its price.
    const price = Math.round((ask - 0.01) * 100) / 100;
    assert.ok(price > bid);
    engine.inject(0, [
      { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 1, volume: 0.01, price, clientOrderId: 1 },
    ], 0);
    publish = engine.advance();
    assert.ok(publish !== null);
    const resting = publish.accounts[0].orders[0].find((o) => o.clientOrderId === 1);
    assert.ok(resting !== undefined);
    // A buy at that price meets the agent's own sell first: cancel-oldest removes it.
    engine.inject(0, [{
      type: "PLACE_ORDER_LIMIT",
      bookId: 0,
      direction: 0,
      volume: 0.01,
      price: resting.price,
      stpFlag: 1,
    }], 0);
    publish = engine.advance();
    assert.ok(publish !== null);
    const cancelledInBook = publish.books[0].record.some((e) =>
      e.event === "cancel" && e.orderId === resting.orderId
    );
    assert.ok(cancelledInBook, "the book's events show the cancel");
    const notices = stateForAgent(publish, 0, simulation).notices![0];
    assert.equal(
      notices.filter((n) => n.type === "RESPONSE_DISTRIBUTED_CANCEL_ORDERS").length,
      0,
    );
  });
});

Deno.test("a converted state survives JSON and parses; a bad state names the field", () => {
  const state = stateForAgent(publish(), 0, simulation);
  assert.deepEqual(parseStateUpdate(JSON.parse(JSON.stringify(state))), state);
  const broken = JSON.parse(JSON.stringify(state));
  broken.books["0"].bids[0].price = "high";
  assert.throws(() => parseStateUpdate(broken), /books\.0\.bids\.0\.price/);
  // Map keys are integer ids, a background agent's negative one included.
  const keyed = (key: string) => JSON.parse(JSON.stringify({ ...state, notices: { [key]: [] } }));
  assert.deepEqual(parseStateUpdate(keyed("-3")).notices, { "-3": [] });
  assert.throws(() => parseStateUpdate(keyed("3a")), /^Error: invalid state update: notices\.3a: /);
});

Deno.test("book helpers read best prices, mid, spread, depth, imbalance and inventory value", () => {
  const state = stateForAgent(publish(), 0, simulation);
  const book = state.books[0];
  assert.equal(bestBid(book), 299.9);
  assert.equal(bestAsk(book), 300.1);
  assert.equal(mid(book), 300);
  assert.ok(Math.abs(spread(book)! - 0.2) < 1e-9);
  assert.equal(depth(book, 0, 3), 6);
  assert.equal(imbalance(book, 1), (2 - 3) / 5);
  assert.equal(inventoryValue(state.accounts[0][0], book), 1299.5 + 300 * 11);
  assert.equal(mid({ ...book, asks: [] }), null);
  assert.equal(inventoryValue(state.accounts[0][0], { ...book, asks: [] }), 1299.5);
  // An empty book has no imbalance rather than 0 / 0.
  const empty = { ...book, bids: [], asks: [] };
  assert.equal(imbalance(empty), 0);
  assert.equal(depth(empty, 1), 0);
});

Deno.test("openOrders lists the account's resting orders, of one side when asked", () => {
  const account = stateForAgent(publish(), 0, simulation).accounts[0][0];
  const buy = account.orders[0];
  const both = { ...account, orders: [buy, { ...buy, id: 10, side: 1 as const, price: 300.5 }] };
  assert.deepEqual(openOrders(both).map((order) => order.id), [9, 10]);
  assert.deepEqual(openOrders(both, 0).map((order) => order.id), [9]);
  assert.deepEqual(openOrders(both, 1).map((order) => order.id), [10]);
  assert.deepEqual(openOrders(account, 1), []);
  assert.deepEqual(openOrders(undefined), []);
});

const limit = (extra: Record<string, unknown> = {}) => ({
  type: "PLACE_ORDER_LIMIT",
  agentId: 2,
  bookId: 0,
  direction: 0,
  quantity: 1,
  price: 300,
  clientOrderId: null,
  ...extra,
});

Deno.test("validateInstructions: defaults applied and schema rules of each field", () => {
  const ok = validateInstructions({ agent_id: 2, instructions: [limit()] }, {
    uid: 2,
    bookCount: 1,
  });
  assert.deepEqual(ok.accepted[0], {
    ...limit(),
    delay: 0,
    stp: 1,
    postOnly: false,
    timeInForce: 0,
    expiryPeriod: null,
    currency: 0,
  });
  for (
    const bad of [
      { stp: 0 },
      { quantity: 0 },
      { price: -1 },
      { direction: 2 },
      { clientOrderId: undefined },
      { expiryPeriod: 0 },
      { timeInForce: 4 },
      { delay: -1 },
      { delay: 3_600_000_000_001 }, // beyond 1 h
    ]
  ) {
    const result = validateInstructions(
      { agent_id: 2, instructions: [limit(), limit(bad)] },
      { uid: 2, bookCount: 1 },
    );
    assert.deepEqual(result.accepted, [], `${JSON.stringify(bad)} must void the response`);
    assert.equal(result.rejected[0].index, 1);
    assert.match(result.discarded ?? "", /instruction 1 invalid/);
  }
});

Deno.test("validateInstructions: a market order needs clientOrderId, a cancelled volume is positive, a delay of 1 h passes", () => {
  const market = {
    type: "PLACE_ORDER_MARKET",
    agentId: 2,
    bookId: 0,
    direction: 1,
    quantity: 1,
    clientOrderId: null,
  };
  const cancel = { type: "CANCEL_ORDERS", agentId: 2, bookId: 0 };
  const context = { uid: 2, bookCount: 1 };
  assert.equal(
    validateInstructions({ agent_id: 2, instructions: [market] }, context).accepted.length,
    1,
  );
  // clientOrderId may be null but must be present, on a market order as on a limit order; a
  // partial cancellation of 0 is not one (the reference's PositiveFloat).
  for (
    const bad of [
      { ...market, clientOrderId: undefined },
      { ...cancel, cancellations: [{ orderId: 1, volume: 0 }] },
    ]
  ) {
    const result = validateInstructions({ agent_id: 2, instructions: [bad] }, context);
    assert.equal(result.refused, true, `${JSON.stringify(bad)} must void the response`);
    assert.deepEqual(result.rejected.map((r) => [r.index, r.rule]), [[0, "invalid"]]);
  }
  const latest = validateInstructions(
    { agent_id: 2, instructions: [{ ...market, delay: 3_600_000_000_000 }] },
    context,
  );
  assert.deepEqual(latest.accepted.map((i) => i.delay), [3_600_000_000_000]);
});

Deno.test("validateInstructions names every invalid instruction, or with firstInvalidOnly only the first", () => {
  const response = {
    agent_id: 2,
    instructions: [limit(), limit({ quantity: 0 }), limit(), limit({ price: -1 })],
  };
  const every = validateInstructions(response, { uid: 2, bookCount: 1 });
  assert.deepEqual(every.rejected.map((r) => [r.index, r.rule]), [[1, "invalid"], [3, "invalid"]]);
  assert.match(every.discarded ?? "", /^instruction 1 invalid: quantity: /);
  const first = validateInstructions(response, { uid: 2, bookCount: 1, firstInvalidOnly: true });
  assert.deepEqual(first.rejected.map((r) => [r.index, r.rule]), [[1, "invalid"]]);
  assert.equal(first.discarded, every.discarded);
  assert.equal(first.refused, true);
});

Deno.test("an instruction built by hand is told, field by field, what to write", () => {
  // As an agent might write a limit order without the builders: no agentId, the side by name, no
  // clientOrderId.
  const handmade = {
    type: "PLACE_ORDER_LIMIT",
    bookId: 0,
    direction: "BUY",
    quantity: 0.5,
    price: 300,
  };
  assert.equal(
    validateInstructions({ agent_id: 2, instructions: [handmade] }, { uid: 2, bookCount: 1 })
      .discarded,
    "instruction 0 invalid: agentId: required (the agent's uid, this.uid in an Agent); " +
      'direction: must be 0 (buy) or 1 (sell), got "BUY"; ' +
      "clientOrderId: required (an integer, or null for none)",
  );
});

Deno.test("each instruction field's error says what the field accepts", () => {
  const market = { ...limit({ type: "PLACE_ORDER_MARKET" }), price: undefined };
  const cancel = { type: "CANCEL_ORDERS", agentId: 2, bookId: 0, cancellations: [] };
  const reason = (instruction: unknown) =>
    validateInstructions({ agent_id: 2, instructions: [instruction] }, { uid: 2, bookCount: 1 })
      .rejected[0]?.reason;
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const cases: [unknown, string][] = [
    [limit({ agentId: "me" }), `agentId: must be the agent's uid, this.uid in an Agent, got "me"`],
    [
      limit({ delay: -1 }),
      "delay: must be an integer number of ns in 0..3600000000000 (at most 1 h), got -1",
    ],
    [
      limit({ delay: 3_600_000_000_001 }),
      "delay: must be an integer number of ns in 0..3600000000000 (at most 1 h), got 3600000000001",
    ],
    [limit({ bookId: -1 }), "bookId: must be a book id, an integer >= 0, got -1"],
    [limit({ bookId: 1.5 }), "bookId: must be a book id, an integer >= 0, got 1.5"],
    [limit({ direction: 2 }), "direction: must be 0 (buy) or 1 (sell), got 2"],
    [limit({ quantity: 0 }), "quantity: must be a finite number > 0, got 0"],
    [limit({ quantity: undefined }), "quantity: required (a finite number > 0)"],
    [limit({ price: -1 }), "price: must be a finite number > 0, got -1"],
    [limit({ price: NaN }), "price: must be a finite number > 0, got NaN"],
    // Values no JSON reply holds, which an agent class run in code can still hand over.
    [limit({ quantity: 10n }), "quantity: must be a finite number > 0, got 10n"],
    [
      limit({ price: cyclic }),
      "price: must be a finite number > 0, got a value JSON cannot write (a cycle, or a getter that throws)",
    ],
    // A list is shown up to 10 entries; a longer one by its length.
    [
      limit({ price: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }),
      "price: must be a finite number > 0, got [1,2,3,4,5,6,7,8,9,10]",
    ],
    [
      limit({ price: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }),
      "price: must be a finite number > 0, got 11 entries",
    ],
    [limit({ clientOrderId: 1.5 }), "clientOrderId: must be an integer, or null for none, got 1.5"],
    [
      limit({ stp: 0 }),
      "stp: must be 1 (cancel oldest), 2 (cancel newest), 3 (cancel both) or 4 " +
      "(decrement and cancel), got 0",
    ],
    [limit({ postOnly: "maybe" }), 'postOnly: must be true or false, got "maybe"'],
    [limit({ timeInForce: 4 }), "timeInForce: must be 0 (GTC), 1 (GTT), 2 (IOC) or 3 (FOK), got 4"],
    [
      limit({ expiryPeriod: 0 }),
      "expiryPeriod: must be an integer number of ns > 0, or null for none, got 0",
    ],
    [limit({ currency: 2 }), "currency: must be 0 (base) or 1 (quote), got 2"],
    [
      { ...market, clientOrderId: undefined },
      "clientOrderId: required (an integer, or null for none)",
    ],
    [{ ...market, direction: "SELL" }, 'direction: must be 0 (buy) or 1 (sell), got "SELL"'],
    // A miner chose the value: cut, its control characters escaped, before a validator logs it.
    [
      { ...market, direction: `\u009b${"x".repeat(60)}` },
      `direction: must be 0 (buy) or 1 (sell), got "\\u009b${"x".repeat(38)}… (23 more characters)`,
    ],
    [
      { ...cancel, cancellations: undefined },
      "cancellations: required (a list of { orderId, volume }, at most 10000)",
    ],
    [
      {
        ...cancel,
        cancellations: Array.from({ length: 10_001 }, () => ({ orderId: 1, volume: null })),
      },
      "cancellations: must be a list of { orderId, volume }, at most 10000, got 10001 entries",
    ],
    [{ ...cancel, cancellations: [3] }, "cancellations.0: must be { orderId, volume }, got 3"],
    [
      { ...cancel, cancellations: [{ orderId: "a", volume: null }] },
      'cancellations.0.orderId: must be an order id, an integer, got "a"',
    ],
    [
      { ...cancel, cancellations: [{ orderId: 1 }] },
      "cancellations.0.volume: required (a finite number > 0, or null to cancel the whole order)",
    ],
    [
      { ...cancel, cancellations: [{ orderId: 1, volume: 0 }] },
      "cancellations.0.volume: must be a finite number > 0, or null to cancel the whole order, got 0",
    ],
    [
      { type: "RESET_AGENT", agentId: 2, agentIds: ["x"] },
      'agentIds.0: must be an agent uid, an integer, got "x"',
    ],
    [
      { ...cancel, type: "CANCEL" },
      'type: must be PLACE_ORDER_LIMIT, PLACE_ORDER_MARKET or CANCEL_ORDERS, got "CANCEL"',
    ],
    [
      { ...cancel, type: undefined },
      "type: required (PLACE_ORDER_LIMIT, PLACE_ORDER_MARKET or CANCEL_ORDERS)",
    ],
    [5, "(root): must be an instruction object, got 5"],
  ];
  for (const [instruction, expected] of cases) assert.equal(reason(instruction), expected);
});

Deno.test("validateInstructions names the rule that dropped each instruction", () => {
  const result = validateInstructions(
    {
      agent_id: 2,
      instructions: [limit({ bookId: 3 }), limit(), limit({ bookId: 1 }), limit({ bookId: 1 })],
    },
    { uid: 2, bookCount: 2, volumes: [0, 500], volumeCap: 100, maxInstructionsPerBook: 1 },
  );
  assert.deepEqual(result.rejected.map((r) => [r.index, r.rule]), [
    [0, "unknownBook"],
    [2, "volumeCap"],
    [3, "volumeCap"],
  ]);
  const crowded = validateInstructions(
    { agent_id: 2, instructions: [limit(), limit()] },
    { uid: 2, bookCount: 1, maxInstructionsPerBook: 1 },
  );
  assert.deepEqual(crowded.rejected.map((r) => [r.index, r.rule]), [[1, "instructionsPerBook"]]);
  const invalid = validateInstructions(
    { agent_id: 2, instructions: [limit({ quantity: 0 })] },
    { uid: 2, bookCount: 1 },
  );
  assert.deepEqual(invalid.rejected.map((r) => [r.index, r.rule]), [[0, "invalid"]]);
});

Deno.test("validateInstructions at its bounds: book id = count, volume = cap, cancels at the cap", () => {
  const result = validateInstructions(
    {
      agent_id: 2,
      instructions: [
        limit({ bookId: 2 }),
        limit(),
        cancelOrders(2, 0, [7]),
        limit({ bookId: 1 }),
      ],
    },
    { uid: 2, bookCount: 2, volumes: [100, 99.9999], volumeCap: 100 },
  );
  // Book ids run 0..count−1; a volume equal to the cap already stops placements (the reference's
  // `>= volume_cap`) but never a cancellation; just under the cap still places.
  assert.deepEqual(result.rejected.map((r) => [r.index, r.rule]), [
    [0, "unknownBook"],
    [1, "volumeCap"],
  ]);
  assert.deepEqual(result.accepted.map((i) => [i.type, "bookId" in i && i.bookId]), [
    ["CANCEL_ORDERS", 0],
    ["PLACE_ORDER_LIMIT", 1],
  ]);
});

Deno.test("validateInstructions drops an instruction for a book id past 2^53 as an unknown book, the response stands", () => {
  const result = validateInstructions(
    { agent_id: 2, instructions: [limit({ bookId: 2 ** 53 }), limit({ bookId: 1e20 }), limit()] },
    { uid: 2, bookCount: 2 },
  );
  assert.equal(result.discarded, null);
  assert.deepEqual(result.rejected.map((r) => [r.index, r.rule]), [
    [0, "unknownBook"],
    [1, "unknownBook"],
  ]);
  assert.match(result.rejected[0].reason, /^bookId 9007199254740992 outside 0\.\.1$/);
  assert.equal(result.accepted.length, 1);
  // A fraction or a negative id is still no book id: the response is malformed.
  for (const bookId of [-1, 0.5]) {
    assert.match(
      validateInstructions({ agent_id: 2, instructions: [limit({ bookId })] }, {
        uid: 2,
        bookCount: 2,
      })
        .discarded ?? "",
      /bookId: must be a book id, an integer >= 0/,
    );
  }
});

Deno.test("validateInstructions: over 200 000 instructions, or over 10 000 ids in one CANCEL_ORDERS, void the response", () => {
  const cancel = (n: number) => ({
    type: "CANCEL_ORDERS",
    agentId: 2,
    bookId: 0,
    delay: 0,
    cancellations: Array.from({ length: n }, (_, orderId) => ({ orderId, volume: null })),
  });
  const context = { uid: 2, bookCount: 1 };
  assert.equal(
    validateInstructions({ agent_id: 2, instructions: [cancel(10_000)] }, context)
      .accepted.length,
    1,
  );
  // Exactly 200 000 is within the limit and read as leniently as a short reply (numeric text).
  const full = Array.from({ length: 200_000 }, () => ({ ...cancel(1), bookId: "0" }));
  const atLimit = validateInstructions({ agent_id: 2, instructions: full }, context);
  assert.equal(atLimit.discarded, null);
  assert.equal(atLimit.accepted.length, 20);
  const flood = Array.from({ length: 200_001 }, () => cancel(1));
  assert.match(
    validateInstructions({ agent_id: 2, instructions: flood }, context).discarded ?? "",
    /^invalid response: instructions: must be a list of at most 200000 instructions, got 200001 entries$/,
  );
  for (const n of [10_001, 150_000]) {
    const many = validateInstructions({ agent_id: 2, instructions: [cancel(n)] }, context);
    assert.deepEqual(many.accepted, [], `${n} ids`);
    assert.match(
      many.discarded ?? "",
      /instruction 0 invalid: cancellations: must be a list of \{ orderId, volume \}, at most 10000, got \d+ entries$/,
    );
  }
});

Deno.test("validateInstructions: wrong uid, foreign agentId and RESET_AGENT void the response", () => {
  const ctx = { uid: 2, bookCount: 1 };
  assert.match(
    validateInstructions({ agent_id: 3, instructions: [limit()] }, ctx).discarded!,
    /not uid 2/,
  );
  assert.match(validateInstructions("garbage", ctx).discarded!, /invalid response/);
  const foreign = validateInstructions(
    { agent_id: 2, instructions: [limit(), limit({ agentId: 5 })] },
    ctx,
  );
  assert.equal(foreign.accepted.length, 0);
  assert.match(foreign.discarded!, /agent 5/);
  const reset = validateInstructions({
    agent_id: 2,
    instructions: [limit(), { type: "RESET_AGENT", agentId: 2, agentIds: [4] }],
  }, ctx);
  assert.equal(reset.accepted.length, 0);
  assert.match(reset.discarded!, /RESET_AGENT/);
});

Deno.test("validateInstructions: out-of-range books dropped, 20 per book kept, order preserved", () => {
  const instructions = [
    ...Array.from({ length: 22 }, (_, i) => limit({ price: 300 + i })),
    limit({ bookId: 1 }),
    limit({ bookId: 9 }),
  ];
  const result = validateInstructions({ agent_id: 2, instructions }, { uid: 2, bookCount: 2 });
  assert.equal(result.discarded, null);
  assert.equal(result.accepted.length, 21);
  assert.deepEqual(
    result.accepted.slice(0, 20).map((i) => (i as { price: number }).price),
    Array.from({ length: 20 }, (_, i) => 300 + i),
  );
  assert.equal(result.accepted[20].type === "PLACE_ORDER_LIMIT" && result.accepted[20].bookId, 1);
  assert.deepEqual(result.rejected.map((r) => r.index), [20, 21, 23]);
  assert.match(result.rejected[2].reason, /bookId 9 outside 0..1/);
});

Deno.test("builders, engine conversion and scheduling by requested delay", () => {
  assert.throws(
    () => limitOrder(1, 0, 0, 1, 300, { timeInForce: 1 }),
    /^RangeError: limitOrder: a GTT order needs/,
  );
  assert.throws(
    () => limitOrder(1, 0, 0, 1, 300, { timeInForce: 2, postOnly: true }),
    /^RangeError: limitOrder: an IOC or FOK order cannot be postOnly/,
  );
  assert.throws(
    () => limitOrder(1, 0, 0, 1, 300, { expiryPeriod: 5 }),
    /^RangeError: limitOrder: expiryPeriod applies only to GTT/,
  );
  for (const timeInForce of [IOC, FOK] as const) {
    assert.throws(
      () => limitOrder(1, 0, 0, 1, 300, { timeInForce, postOnly: true }),
      /^RangeError: limitOrder: an IOC or FOK order cannot be postOnly/,
    );
  }
  for (const timeInForce of [GTC, IOC, FOK] as const) {
    assert.throws(
      () => limitOrder(1, 0, 0, 1, 300, { timeInForce, expiryPeriod: 5 }),
      /^RangeError: limitOrder: expiryPeriod applies only to GTT/,
    );
  }
  // postOnly stays open to orders that rest: GTC and GTT.
  assert.equal(limitOrder(1, 0, 0, 1, 300, { postOnly: true }).postOnly, true);
  assert.equal(
    limitOrder(1, 0, 0, 1, 300, { timeInForce: GTT, expiryPeriod: 5, postOnly: true }).postOnly,
    true,
  );
  const gtt = limitOrder(1, 0, 1, 2, 301, { timeInForce: 1, expiryPeriod: 10e9, stp: 4 });
  assert.deepEqual(toEngineInstruction(gtt), {
    type: "PLACE_ORDER_LIMIT",
    bookId: 0,
    direction: 1,
    volume: 2,
    price: 301,
    clientOrderId: null,
    postOnly: false,
    timeInForce: 1,
    expiryPeriod: 10e9,
    stpFlag: 4,
  });
  const postOnly = toEngineInstruction(limitOrder(1, 0, 0, 1, 300, { postOnly: true }));
  assert.ok(postOnly.type === "PLACE_ORDER_LIMIT" && postOnly.postOnly === true);
  const market = marketOrder(1, 0, 0, 500, { currency: 1, delay: 1000, stp: 2 });
  assert.deepEqual(toEngineInstruction(market), {
    type: "PLACE_ORDER_MARKET",
    bookId: 0,
    direction: 0,
    volume: 500,
    clientOrderId: null,
    stpFlag: 2,
    currency: 1,
  });
  const cancel = cancelOrders(1, 0, [4, { orderId: 5, volume: 0.5 }]);
  assert.deepEqual(toEngineInstruction(cancel), {
    type: "CANCEL_ORDERS",
    bookId: 0,
    cancellations: [{ orderId: 4, volume: null }, { orderId: 5, volume: 0.5 }],
  });
  const batches = scheduleInstructions([gtt, market, cancel], 10_000_000);
  assert.deepEqual(batches.map((b) => [b.delayNs, b.instructions.map((i) => i.type)]), [
    [10_000_000, ["PLACE_ORDER_LIMIT", "CANCEL_ORDERS"]],
    [10_001_000, ["PLACE_ORDER_MARKET"]],
  ]);
});

Deno.test("parseAgentParams coerces numbers and booleans and names bad tokens", () => {
  assert.deepEqual(
    parseAgentParams("min_quantity=0.1 expiry_period=200 PO=False x=1e-3 model=MLP"),
    {
      min_quantity: 0.1,
      expiry_period: 200,
      PO: false,
      x: 0.001,
      model: "MLP",
    },
  );
  assert.deepEqual(parseAgentParams(undefined), {});
  // Signs, a bare leading or trailing point and any case of true/false: numbers and booleans.
  assert.deepEqual(parseAgentParams("a=-1 b=+2 c=.5 d=5. e=TRUE f=fAlSe g=-.5e1 h=1_000 i=0x10"), {
    a: -1,
    b: 2,
    c: 0.5,
    d: 5,
    e: true,
    f: false,
    g: -5,
    h: "1_000",
    i: "0x10",
  });
  assert.throws(
    () => parseAgentParams("a=1=2"),
    /'a=1=2' must have the form name=value \(a value cannot contain '='\)$/,
  );
  assert.throws(() => parseAgentParams("novalue"), /'novalue' must have the form name=value$/);
  // A quoted value with white space was split apart: said as such, not as a stray word ("agent
  // parameter 'words' must have the form name=value" would hide the cause).
  assert.throws(
    () => parseAgentParams("label=two words"),
    /^AgentLoadError: agent parameter 'label=two words': a value cannot contain white space \('words' has no '='\)$/,
  );
  assert.throws(() => parseAgentParams("a=1 a=2"), /'a' is given more than once/);
  assert.throws(
    () => parseAgentParams("max_quantity=1e400"),
    /^AgentLoadError: agent parameter 'max_quantity': must be finite, got 1e400$/,
  );
  assert.throws(() => parseAgentParams("x=-1e999"), /'x': must be finite, got -1e999/);
});

Deno.test("loadAgent: from a directory, from a file, bundled fallback, and clear errors", async () => {
  const dir = testTempDir("taos-agents-");
  writeFileSync(
    join(dir, "EchoAgent.ts"),
    `export class EchoAgent {
       constructor(uid, params) { this.uid = uid; this.params = params; }
       onUpdate(state) { return [{ type: "CANCEL_ORDERS", agentId: this.uid, bookId: 0,
         cancellations: [{ orderId: this.params.order, volume: null }] }]; }
     }
     export const NotAnAgent = 5;\n`,
  );
  const agent = await loadAgent({ path: dir, name: "EchoAgent", params: "order=42", uid: 7 });
  const state = stateForAgent(publish(), 7, simulation);
  const response = await runAgentStep(agent, 7, state);
  assert.equal(response.agent_id, 7);
  assert.deepEqual(validateInstructions(response, { uid: 7, bookCount: 1 }).accepted.length, 1);
  const viaFile = await loadAgent({ path: join(dir, "EchoAgent.ts"), name: "EchoAgent", uid: 1 });
  assert.equal((viaFile as unknown as { uid: number }).uid, 1);
  const bundled = await loadAgent({ path: dir, name: "RandomMakerAgent", params: "", uid: 0 });
  assert.equal(bundled.constructor.name, "RandomMakerAgent");
  await assert.rejects(
    loadAgent({ path: dir, name: "Missing", uid: 0 }),
    (e: Error) => e instanceof AgentLoadError && /agent 'Missing' not found/.test(e.message),
  );
  await assert.rejects(
    loadAgent({ path: join(dir, "EchoAgent.ts"), name: "NotAnAgent", uid: 0 }),
    /not an agent class/,
  );
  await assert.rejects(
    loadAgent({ path: dir, name: "RandomMakerAgent", params: "max_quantity=big", uid: 0 }),
    /agent parameter 'max_quantity': must be a number, got "big"$/,
  );
  await assert.rejects(
    loadAgent({ path: dir, name: "RandomMakerAgent", params: "min_quantity=0", uid: 0 }),
    /agent parameter 'min_quantity': must be > 0, got 0$/,
  );
  await assert.rejects(
    loadAgent({ path: dir, name: "RandomMakerAgent", params: "seed=1.5", uid: 0 }),
    /agent parameter 'seed': /,
  );
  await assert.rejects(
    loadAgent({ path: dir, name: "RandomMakerAgent", params: "seed=-1", uid: 0 }),
    /agent parameter 'seed': /,
  );
  await assert.rejects(
    loadAgent({
      path: dir,
      name: "RandomMakerAgent",
      params: "min_quantity=2 max_quantity=1",
      uid: 0,
    }),
    /agent parameter 'min_quantity': must not exceed max_quantity \(1\), got 2$/,
  );
  // A misspelt name is not an error (a miner's -m may be meant for another agent) but is named.
  const warnings: string[] = [];
  const typo = await loadAgent({
    path: dir,
    name: "RandomMakerAgent",
    params: "max_quantty=3 expiry_period=200",
    uid: 0,
    onWarning: (message) => warnings.push(message),
  });
  assert.equal(typo.constructor.name, "RandomMakerAgent");
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /^RandomMakerAgent ignores agent parameter 'max_quantty' \(it takes .*max_quantity.*\)$/,
  );
  // A reference Python agent is not replaced by the bundled one of the same name.
  writeFileSync(join(dir, "RandomTakerAgent.py"), "class RandomTakerAgent: pass\n");
  await assert.rejects(
    loadAgent({ path: dir, name: "RandomTakerAgent", uid: 0 }),
    /RandomTakerAgent\.py is a Python agent; taos runs TypeScript or JavaScript agents/,
  );
  // The same when the file itself is given.
  await assert.rejects(
    loadAgent({ path: join(dir, "RandomTakerAgent.py"), name: "RandomTakerAgent", uid: 0 }),
    /RandomTakerAgent\.py is a Python agent; taos runs TypeScript or JavaScript agents/,
  );
  // A link to a missing file is not passed over for the bundled agent of that name.
  Deno.symlinkSync(join(dir, "gone.ts"), join(dir, "RandomMakerAgent.ts"));
  await assert.rejects(
    loadAgent({ path: dir, name: "RandomMakerAgent", uid: 0 }),
    /cannot load agent file .*RandomMakerAgent\.ts/,
  );
  Deno.removeSync(join(dir, "RandomMakerAgent.ts"));
  // No schema, nothing to compare with: no warning.
  await loadAgent({
    path: dir,
    name: "EchoAgent",
    params: "x=1",
    uid: 0,
    onWarning: (m) => warnings.push(m),
  });
  assert.equal(warnings.length, 1);
});

Deno.test("loadAgentClass: the user's file before a bundled one, .ts before .js, a default export by its name", async () => {
  const dir = testTempDir("taos-agents-");
  const agentClass = (name: string, tag: string) =>
    `export class ${name} { static tag = "${tag}"; onUpdate() { return []; } }\n`;
  const tagOf = async (name: string) =>
    ((await loadAgentClass(dir, name)) as unknown as { tag?: string }).tag;
  // A file named like a bundled example is the miner's own agent.
  writeFileSync(join(dir, "RandomMakerAgent.ts"), agentClass("RandomMakerAgent", "mine"));
  assert.equal(await tagOf("RandomMakerAgent"), "mine");
  writeFileSync(join(dir, "Both.js"), agentClass("Both", "js"));
  writeFileSync(join(dir, "Both.ts"), agentClass("Both", "ts"));
  assert.equal(await tagOf("Both"), "ts");
  writeFileSync(join(dir, "OnlyJs.mjs"), agentClass("OnlyJs", "mjs"));
  writeFileSync(join(dir, "OnlyJs.js"), agentClass("OnlyJs", "js"));
  assert.equal(await tagOf("OnlyJs"), "js");
  writeFileSync(
    join(dir, "Defaulted.ts"),
    'export default class Defaulted { static tag = "default"; onUpdate() { return []; } }\n',
  );
  assert.equal(await tagOf("Defaulted"), "default");
  // A default export of another name is not taken for the class asked for.
  writeFileSync(
    join(dir, "Renamed.ts"),
    "export default class Other { onUpdate() { return []; } }\n",
  );
  await assert.rejects(
    loadAgentClass(dir, "Renamed"),
    /Renamed\.ts has no export named 'Renamed'; it exports class default$/,
  );
});

Deno.test("a load error lists 20 exports, then counts the rest", async () => {
  const dir = testTempDir("taos-agents-");
  const constants = (count: number) =>
    Array.from({ length: count }, (_, i) => `export const C${i} = ${i};`).join("\n") + "\n";
  // A module's names come in code-unit order: C0, C1, C10, C11, ...
  const names = (count: number) =>
    Array.from({ length: count }, (_, i) => `C${i}`).sort().slice(0, 20).join(", ");
  writeFileSync(join(dir, "Twenty.ts"), constants(20));
  await assert.rejects(
    loadAgentClass(dir, "Twenty"),
    (e: Error) => e.message.endsWith(`it exports ${names(20)}`),
  );
  writeFileSync(join(dir, "TwentyOne.ts"), constants(21));
  await assert.rejects(
    loadAgentClass(dir, "TwentyOne"),
    (e: Error) => e.message.endsWith(`it exports ${names(21)} and 1 more`),
  );
});

Deno.test("a paramsSchema that is not a zod schema is a load error naming it and what it is", async () => {
  const dir = testTempDir("taos-agents-");
  writeFileSync(
    join(dir, "BadSchema.ts"),
    "export class BadSchema { static paramsSchema = 42; onUpdate() { return []; } }\n",
  );
  await assert.rejects(
    loadAgent({ path: dir, name: "BadSchema", uid: 0 }),
    (e: Error) =>
      e instanceof AgentLoadError &&
      e.message === "BadSchema: paramsSchema must be a zod schema (got number 42)",
  );
  const withSchema = (paramsSchema: unknown) =>
    Object.assign(
      class BareAgent {
        onUpdate() {
          return [];
        }
      },
      { paramsSchema },
    ) as unknown as AgentClass;
  assert.throws(
    () => checkAgentParams(withSchema({ parse: () => ({}) }), {}),
    /BareAgent: paramsSchema must be a zod schema \(got an object with no safeParse method\)/,
  );
  assert.throws(
    () => checkAgentParams(withSchema(null), {}),
    /BareAgent: paramsSchema must be a zod schema \(got null\)/,
  );
  assert.throws(
    () => checkAgentParams(withSchema("x"), {}),
    /BareAgent: paramsSchema must be a zod schema \(got string "x"\)/,
  );
});

Deno.test("runAgentStep: nothing returned is no instructions; a lone instruction or object is an error", async () => {
  const state = stateForAgent(publish(), 0, simulation);
  const returning = (value: unknown) => ({ onUpdate: () => value }) as unknown as Agent;
  for (const nothing of [undefined, null, []]) {
    assert.deepEqual((await runAgentStep(returning(nothing), 0, state)).instructions, []);
  }
  const lone = { type: "PLACE_ORDER_MARKET", agentId: 0, bookId: 0, direction: 0, quantity: 1 };
  await assert.rejects(
    runAgentStep(returning(lone), 0, state),
    /^TypeError: invalid agent response: onUpdate returned a single instruction \(wrap it in \[ \]\), not an array of instructions$/,
  );
  await assert.rejects(runAgentStep(returning({ hello: 1 }), 0, state), /returned an object/);
  await assert.rejects(runAgentStep(returning("buy"), 0, state), /returned a string/);
});

Deno.test("runAgentStep drives onStart once, observe, onUpdate and onEnd at the stop notice", async () => {
  const calls: string[] = [];
  const agent = {
    onStart: () => void calls.push("start"),
    observe: () => void calls.push("observe"),
    onUpdate: () => (calls.push("update"), []),
    onEnd: () => void calls.push("end"),
  };
  await runAgentStep(agent, 0, stateForAgent(publish(), 0, simulation));
  await runAgentStep(agent, 0, stateForAgent(publish(), 0, simulation));
  await runAgentStep(agent, 0, stateForAgent(publish({ final: true }), 0, simulation));
  assert.deepEqual(calls, [
    "start",
    "observe",
    "update",
    "observe",
    "update",
    "observe",
    "update",
    "end",
  ]);
});

Deno.test("runAgentStep: a failed onStart is tried again; onEnd follows a last update that threw", async () => {
  const calls: string[] = [];
  let startFails = true;
  const agent = {
    onStart: () => {
      calls.push("start");
      if (startFails) throw new Error("no model yet");
    },
    onUpdate: (state: StateUpdate) => {
      calls.push("update");
      if (state.notices?.[0]?.some((e) => e.type === "EVENT_SIMULATION_STOP")) {
        throw new Error("crashed on the last update");
      }
      return [];
    },
    onEnd: () => void calls.push("end"),
  };
  await assert.rejects(
    runAgentStep(agent, 0, stateForAgent(publish(), 0, simulation)),
    /no model yet/,
  );
  startFails = false;
  await runAgentStep(agent, 0, stateForAgent(publish(), 0, simulation));
  await runAgentStep(agent, 0, stateForAgent(publish(), 0, simulation));
  await assert.rejects(
    runAgentStep(agent, 0, stateForAgent(publish({ final: true }), 0, simulation)),
    /crashed on the last update/,
  );
  assert.deepEqual(calls, ["start", "start", "update", "update", "update", "end"]);
});

Deno.test("runAgentStep: onEnd follows the stop notice even when onUpdate empties the notices", async () => {
  const calls: string[] = [];
  const agent = {
    onStart: () => void calls.push("start"),
    onUpdate: (state: StateUpdate) => {
      calls.push("update");
      state.notices![0].length = 0;
      return [];
    },
    onEnd: () => void calls.push("end"),
  };
  await runAgentStep(agent, 0, stateForAgent(publish(), 0, simulation));
  await runAgentStep(agent, 0, stateForAgent(publish({ final: true }), 0, simulation));
  // The next simulation starts afresh.
  await runAgentStep(agent, 0, stateForAgent(publish(), 0, simulation));
  assert.deepEqual(calls, ["start", "update", "update", "end", "start", "update"]);
});

Deno.test("the base class keeps broadcast and own notices, and the last config through an update without one", async () => {
  class Recorder extends Agent {
    onUpdate() {
      return [];
    }
  }
  const agent = new Recorder(0, {});
  const first = stateForAgent(publish(), 0, simulation, { first: true });
  const [start, rejected] = first.notices![0];
  // A reference validator sends agent 0's notices to every miner: agent 1's is dropped.
  first.notices![0].push({ ...rejected, agentId: 1 } as typeof rejected);
  await runAgentStep(agent, 0, first);
  assert.equal(start.agentId, null, "the start notice is a broadcast");
  assert.deepEqual(agent.events.map((e) => [e.type, e.agentId]), [
    ["EVENT_SIMULATION_START", null],
    ["ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET", 0],
    ["EVENT_TRADE", 0],
  ]);
  await runAgentStep(agent, 0, { ...stateForAgent(publish(), 0, simulation), config: null });
  assert.equal(agent.config, simulation);
  assert.equal(agent.tick, 10 ** -simulation.priceDecimals);
});

Deno.test("runAgentStep: a start notice begins a new simulation of the same validator, even with no stop before it", async () => {
  const calls: string[] = [];
  const agent = {
    onStart: (_config: unknown, validator: string | null) => void calls.push(`start ${validator}`),
    onUpdate: () => (calls.push("update"), []),
  };
  const update = (first: boolean) => ({
    ...stateForAgent(publish(), 0, simulation, { first }),
    validator: "5Validator",
  });
  await runAgentStep(agent, 0, update(true));
  await runAgentStep(agent, 0, update(false));
  // The validator restarted: its new simulation's first update comes without a stop.
  await runAgentStep(agent, 0, update(true));
  await runAgentStep(agent, 0, update(false));
  assert.deepEqual(calls, [
    "start 5Validator",
    "update",
    "update",
    "start 5Validator",
    "update",
    "update",
  ]);
});

Deno.test("notices carry the reference validator's messages", () => {
  const notices: PublishState["notices"] = [
    {
      timestamp: 4.5e9,
      agentId: 1,
      bookId: 0,
      type: "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT",
      orderId: 12,
      clientOrderId: 5,
    },
    {
      timestamp: 4.6e9,
      agentId: 1,
      bookId: 0,
      type: "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET",
      orderId: -1,
      clientOrderId: null,
      message: "INSUFFICIENT_BASE: not enough free base",
      reason: "INSUFFICIENT_BASE",
      request: { direction: 1, volume: 2, price: null },
    },
    {
      timestamp: 4.7e9,
      agentId: 1,
      bookId: 0,
      type: "RESPONSE_DISTRIBUTED_CANCEL_ORDERS",
      orderId: 12,
      clientOrderId: 5,
      cancelledVolume: null,
    },
    {
      timestamp: 4.8e9,
      agentId: 1,
      bookId: 0,
      type: "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS",
      orderId: 99,
      clientOrderId: null,
      message: "Order IDs 99 do not exist.",
    },
  ];
  const events = stateForAgent(publish({ notices }), 1, simulation).notices![1];
  const messages = events.map((e) =>
    "cancellations" in e ? e.cancellations[0].message : "message" in e ? e.message : ""
  );
  assert.deepEqual(messages, [
    "Sell Limit Order 12 placed successfully for 1.5@300.1!",
    "INSUFFICIENT_BASE",
    "Cancelled order 12 on book 0 for agent 1.",
    "Order Id does not exist!",
  ]);
});

Deno.test("builders refuse what the validator would void, naming the builder and the field", () => {
  assert.throws(() => limitOrder(1, 0, 0, NaN, 300), /^RangeError: limitOrder: quantity: /);
  assert.throws(() => limitOrder(1, 0, 0, 0, 300), /limitOrder: quantity: /);
  assert.throws(() => limitOrder(1, 0, 0, 1, -300), /limitOrder: price: /);
  assert.throws(() => limitOrder(1, 0, 0, 1, 300, { delay: -1 }), /limitOrder: delay: /);
  assert.throws(
    () => limitOrder(1, 0, 0, 1, 300, { timeInForce: 1, expiryPeriod: 0 }),
    /limitOrder: expiryPeriod: /,
  );
  assert.throws(() => marketOrder(1, 0, 1, Infinity), /marketOrder: quantity: /);
  assert.throws(() => marketOrder(1, -1, 1, 1), /marketOrder: bookId: /);
  assert.throws(
    () => cancelOrders(1, 0, [{ orderId: 3, volume: -1 }]),
    /cancelOrders: cancellations\.0\.volume: /,
  );
});

Deno.test("a builder's error says what the field accepts", () => {
  assert.throws(
    () => limitOrder(1, 0, 0, 0, 300),
    /^RangeError: limitOrder: quantity: must be a finite number > 0, got 0$/,
  );
  assert.throws(
    () => marketOrder(1, 0, 2 as 0, 1),
    /^RangeError: marketOrder: direction: must be 0 \(buy\) or 1 \(sell\), got 2$/,
  );
  assert.throws(
    () => cancelOrders(1.5, 0, [3]),
    /^RangeError: cancelOrders: agentId: must be the agent's uid, this.uid in an Agent, got 1.5$/,
  );
});

Deno.test("cancelOrders given no list of orders says so, naming the argument", () => {
  assert.throws(
    () => cancelOrders(1, 0, 5 as never),
    /^RangeError: cancelOrders: orders: must be a list of order ids or \{ orderId, volume \}, got 5 \(wrap it in \[ \]\)$/,
  );
  assert.throws(
    () => cancelOrders(1, 0, undefined as never),
    /^RangeError: cancelOrders: orders: must be a list of order ids or \{ orderId, volume \}, got missing$/,
  );
  assert.throws(
    () => new BuilderAgent(1, {}).cancelOrders(0, new Set([3]) as never),
    /^RangeError: cancelOrders: orders: must be a list of order ids or \{ orderId, volume \}, got an object$/,
  );
});

Deno.test("builders refuse an option they do not know, which would otherwise be left out unseen", () => {
  assert.throws(
    () => limitOrder(1, 0, 0, 1, 300, { postonly: true } as never),
    /^RangeError: limitOrder: options: 'postonly' is not an option \(it takes delay, clientOrderId, stp, postOnly, timeInForce, expiryPeriod\)$/,
  );
  assert.throws(
    () => marketOrder(1, 0, 0, 1, { client_order_id: 7 } as never),
    /^RangeError: marketOrder: options: 'client_order_id' is not an option \(it takes delay, clientOrderId, stp, currency\)$/,
  );
  assert.throws(
    () => new BuilderAgent(1, {}).limitOrder(0, 0, 1, 300, { leverage: 2 } as never),
    /^RangeError: limitOrder: options: 'leverage' is not an option: the subnet's protocol has no leverage, so a miner's orders are cash orders$/,
  );
  assert.throws(
    () => limitOrder(1, 0, 0, 1, 300, { currency: 1 } as never),
    /^RangeError: limitOrder: options: 'currency' is not an option: a limit order's quantity is always in base$/,
  );
  // Every option it knows is taken, an undefined one as absent; one it does not know is let pass
  // where it changes nothing: unset, or a limit order's currency given as base.
  assert.equal(limitOrder(1, 0, 0, 1, 300, { postOnly: true, stp: undefined }).postOnly, true);
  assert.deepEqual(
    limitOrder(1, 0, 0, 1, 300, { currency: 0, leverage: undefined } as never),
    limitOrder(1, 0, 0, 1, 300),
  );
});

Deno.test("builders given null for their options take the defaults", () => {
  assert.deepEqual(limitOrder(1, 0, 0, 1, 300, null as never), limitOrder(1, 0, 0, 1, 300));
  assert.deepEqual(marketOrder(1, 0, 0, 1, null as never), marketOrder(1, 0, 0, 1));
  const agent = new BuilderAgent(1, {});
  assert.deepEqual(agent.limitOrder(0, 0, 1, 300, null as never), limitOrder(1, 0, 0, 1, 300));
  assert.deepEqual(agent.marketOrder(0, 0, 1, null as never), marketOrder(1, 0, 0, 1));
});

Deno.test("builders' defaults: a GTC cash order in base units, cancelling the oldest on self-trade, no delay", () => {
  assert.deepEqual(limitOrder(1, 0, 0, 1, 300), {
    type: "PLACE_ORDER_LIMIT",
    agentId: 1,
    delay: 0,
    bookId: 0,
    direction: 0,
    quantity: 1,
    price: 300,
    clientOrderId: null,
    stp: STP_CANCEL_OLDEST,
    postOnly: false,
    timeInForce: GTC,
    expiryPeriod: null,
    currency: CURRENCY_BASE,
  });
  assert.deepEqual(marketOrder(1, 0, 1, 2), {
    type: "PLACE_ORDER_MARKET",
    agentId: 1,
    delay: 0,
    bookId: 0,
    direction: 1,
    quantity: 2,
    clientOrderId: null,
    stp: STP_CANCEL_OLDEST,
    currency: CURRENCY_BASE,
  });
});

Deno.test("builders refuse a clientOrderId the exchange cannot keep (outside 0..4294967294)", () => {
  for (const id of [-1, 4294967295, 5e9]) {
    assert.throws(
      () => limitOrder(1, 0, 0, 1, 300, { clientOrderId: id }),
      /^RangeError: limitOrder: clientOrderId: must be an integer in 0\.\.4294967294, or null for none/,
    );
    assert.throws(
      () => marketOrder(1, 0, 0, 1, { clientOrderId: id }),
      /^RangeError: marketOrder: clientOrderId: must be an integer in 0\.\.4294967294, or null for none/,
    );
  }
  assert.equal(
    limitOrder(1, 0, 0, 1, 300, { clientOrderId: 4294967294 }).clientOrderId,
    4294967294,
  );
  assert.equal(marketOrder(1, 0, 0, 1, { clientOrderId: 0 }).clientOrderId, 0);
});

Deno.test("gridUnits truncates to the grid; float noise around a grid point counts as on it", () => {
  assert.equal(gridUnits(300.12, 2), 30012);
  assert.equal(gridUnits(300.11999999999998, 2), 30012);
  assert.equal(gridUnits(0.1 + 0.2, 1), 3);
  assert.equal(gridUnits(300.129, 2), 30012);
  assert.equal(gridUnits(300.1299999, 2), 30012);
  // The snap is relative 1e-14 (about 14 digits): 1e-9 of a unit below 30013 (3.3e-14 of it) is
  // off the grid, 1.1e-11 of a unit below (3.6e-16) is noise.
  assert.equal(gridUnits(300.12999999999, 2), 30012);
  assert.equal(gridUnits(300.1299999999999, 2), 30013);
  assert.equal(gridUnits(123456.78, 2), 12345678);
  assert.equal(gridUnits(1.00005, 4), 10000);
  assert.equal(gridUnits(-2.5, 0), -2);
  assert.equal(gridUnits(0.00004, 4), 0);
  assert.equal(truncateTo(300.126, 2), 300.12);
});

/** An agent that answers with the order given to `make`, built by its own builders. */
class BuilderAgent extends Agent {
  make: (agent: BuilderAgent) => Instruction = (agent) => agent.limitOrder(0, 0, 1, 300);
  onUpdate() {
    return [this.make(this)];
  }
}

Deno.test("an agent's builders truncate to tick and lot as the exchange does; below one unit goes as given", async () => {
  const agent = new BuilderAgent(0, {});
  const state = stateForAgent(publish(), 0, simulation);
  const build = async (make: (agent: BuilderAgent) => Instruction) => {
    agent.make = make;
    return (await runAgentStep(agent, 0, state)).instructions[0] as Instruction;
  };
  const limit = await build((a) => a.limitOrder(0, 0, 1.23456, 300.129));
  assert.ok(limit.type === "PLACE_ORDER_LIMIT");
  assert.deepEqual([limit.quantity, limit.price], [1.2345, 300.12]);
  assert.equal(agent.roundPrice(0.1 + 0.2), 0.3);
  // 0 would void the whole response; as given, the exchange rejects this order alone.
  const tiny = await build((a) => a.limitOrder(0, 0, 0.00004, 300));
  assert.ok(tiny.type === "PLACE_ORDER_LIMIT");
  assert.equal(tiny.quantity, 0.00004);
  assert.equal(
    validateInstructions({ agent_id: 0, instructions: [tiny] }, {
      uid: 0,
      bookCount: 1,
    }).discarded,
    null,
  );
  // An amount of quote is truncated to the quote's decimals (10 here), not to the lot's (4).
  assert.deepEqual([simulation.quoteDecimals, simulation.volumeDecimals], [10, 4]);
  const quote = await build((a) => a.marketOrder(0, 0, 10.12345678912, { currency: 1 }));
  assert.ok(quote.type === "PLACE_ORDER_MARKET");
  assert.equal(quote.quantity, 10.1234567891);
  const base = await build((a) => a.marketOrder(0, 0, 10.12345678912));
  assert.ok(base.type === "PLACE_ORDER_MARKET");
  assert.equal(base.quantity, 10.1234);
  await assert.rejects(build((a) => a.limitOrder(0, 0, NaN, 300)), /limitOrder: quantity/);
});

Deno.test("an agent's builders return their own instruction types, as the free functions do", () => {
  const agent = new BuilderAgent(0, {});
  // Not the union of every instruction: from that, neither the price nor the client order id
  // could be read, and this would not type-check.
  const limit = agent.limitOrder(0, 0, 1, 300, { clientOrderId: 7 });
  const market = agent.marketOrder(0, 1, 2);
  const cancel = agent.cancelOrders(0, [3]);
  assert.deepEqual([limit.price, limit.clientOrderId], [300, 7]);
  assert.equal(market.quantity, 2);
  assert.deepEqual(cancel.cancellations, [{ orderId: 3, volume: null }]);
  const repriced: Instruction = { ...limit, price: 301 };
  assert.equal(repriced.type, "PLACE_ORDER_LIMIT");
});

Deno.test("an agent's cancelOrders takes a delay as the free function does", () => {
  const agent = new BuilderAgent(4, {});
  const cancel = agent.cancelOrders(1, [7, { orderId: 8, volume: 0.5 }], 2e9);
  assert.deepEqual(cancel, cancelOrders(4, 1, [7, { orderId: 8, volume: 0.5 }], 2e9));
  assert.equal(cancel.delay, 2e9);
  assert.equal(agent.cancelOrders(1, [7]).delay, 0);
  assert.throws(() => agent.cancelOrders(1, [7], -1), /^RangeError: cancelOrders: delay: /);
});

Deno.test("a miner's off-grid limit price rests truncated to the tick, as in the reference", () => {
  withOneBookEngine((engine, first) => {
    let publish: PublishState | null = first;
    const farBid = Math.floor(publish.books[0].bid[0].price * 0.5);
    engine.inject(0, [
      {
        type: "PLACE_ORDER_LIMIT",
        bookId: 0,
        direction: 0,
        volume: 1.00009,
        price: farBid + 0.019,
      },
    ], 0);
    publish = engine.advance();
    assert.ok(publish !== null);
    const order = publish.accounts[0].orders[0].at(-1)!;
    assert.deepEqual([order.price, order.volume], [farBid + 0.01, 1]);
  });
});

Deno.test("the lifecycle runs per validator: state recorded before onStart, one validator's end does not restart another", async () => {
  const calls: string[] = [];
  class Lifecycle extends Agent {
    override onStart(config: SimulationConfig | null, validator: string | null) {
      calls.push(`start ${validator} config=${config !== null && this.config === config}`);
    }
    onUpdate(state: StateUpdate) {
      calls.push(`update ${state.validator}`);
      return [];
    }
    override onEnd(state: StateUpdate) {
      calls.push(`end ${state.validator}`);
    }
  }
  const agent = new Lifecycle(0, {});
  const from = (validator: string, options: { first?: boolean; final?: boolean } = {}) => ({
    ...stateForAgent(publish({ final: options.final ?? false }), 0, simulation, options),
    validator,
  });
  await runAgentStep(agent, 0, from("A", { first: true }));
  await runAgentStep(agent, 0, from("B"));
  await runAgentStep(agent, 0, from("A", { final: true }));
  await runAgentStep(agent, 0, from("B"));
  await runAgentStep(agent, 0, from("A", { first: true }));
  assert.deepEqual(calls, [
    "start A config=true",
    "update A",
    "start B config=true",
    "update B",
    "update A",
    "end A",
    "update B",
    "start A config=true",
    "update A",
  ]);
});

Deno.test("cancellation hooks fire once per order of a reference validator's cancel notice", async () => {
  const seen: string[] = [];
  class Hooks extends Agent {
    override onOrderCancelled(event: CancellationEvent) {
      seen.push(`cancelled ${event.orderId} ${event.quantity}`);
    }
    override onOrderCancellationFailed(event: CancellationEvent) {
      seen.push(`failed ${event.orderId} ${event.message}`);
    }
    override onOrderAccepted(event: PlacementEvent) {
      seen.push(`accepted ${event.orderId}`);
    }
    onUpdate() {
      return [];
    }
  }
  const state = parseStateUpdate({
    ...JSON.parse(JSON.stringify(stateForAgent(publish(), 0, simulation))),
    notices: {
      0: [{
        type: "RESPONSE_DISTRIBUTED_CANCEL_ORDERS",
        timestamp: 1,
        agentId: 0,
        bookId: 0,
        cancellations: [
          { timestamp: 1, bookId: 0, orderId: 4, quantity: 1.5, success: true, message: "" },
          { timestamp: 1, bookId: 0, orderId: 5, quantity: 2, success: true, message: "" },
        ],
      }, {
        type: "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS",
        timestamp: 2,
        agentId: 0,
        bookId: 0,
        cancellations: [{
          timestamp: 2,
          bookId: 0,
          orderId: 6,
          quantity: 1,
          success: false,
          message: "Order Id does not exist!",
        }],
      }],
    },
  });
  await runAgentStep(new Hooks(0, {}), 0, state);
  assert.deepEqual(seen, ["cancelled 4 1.5", "cancelled 5 2", "failed 6 Order Id does not exist!"]);
  // The same notices under another uid name agent 0: a reference validator sends agent 0's
  // notices to every miner, and they are not this agent's.
  seen.length = 0;
  const elsewhere = parseStateUpdate({ ...state, notices: { 3: state.notices![0] } });
  await runAgentStep(new Hooks(3, {}), 3, elsewhere);
  assert.deepEqual(seen, []);
});

Deno.test("loadAgent: a broken agent file or constructor is a plain-text load error naming it", async () => {
  const dir = testTempDir("taos-agents-");
  writeFileSync(
    join(dir, "Broken.ts"),
    `import { missing } from "./no_such_module.ts";\nexport class Broken { onUpdate() { return missing; } }\n`,
  );
  writeFileSync(
    join(dir, "Shapeless.ts"),
    `export class Shapeless { constructor() { return { ready: true }; } onUpdate() { return []; } }\n`,
  );
  writeFileSync(
    join(dir, "Later.ts"),
    `export class Later {
       constructor(uid, params) {
         if (params.fail) return Promise.reject(new Error("no model file"));
         return (async () => { await new Promise((r) => setTimeout(r, 10)); this.ready = true; return this; })();
       }
       onUpdate() { return []; }
     }\n`,
  );
  await assert.rejects(loadAgent({ path: dir, name: "Broken", uid: 0 }), (e: Error) => {
    assert.ok(e instanceof AgentLoadError);
    assert.match(e.message, /^cannot load agent file .*Broken\.ts: .*no_such_module\.ts/);
    assert.ok(!e.message.includes("\x1b"), "no terminal colour codes");
    return true;
  });
  await assert.rejects(
    loadAgent({ path: dir, name: "Shapeless", uid: 0 }),
    /^AgentLoadError: Shapeless's constructor gave an object without an onUpdate method/,
  );
  // A constructor returning a promise of the agent is awaited; its failure is a failed start.
  const later = await loadAgent({ path: dir, name: "Later", uid: 0 });
  assert.equal((later as unknown as { ready: boolean }).ready, true);
  await assert.rejects(
    loadAgent({ path: dir, name: "Later", params: "fail=true", uid: 0 }),
    // Named with the place in the agent's file, as an update's failure is.
    /^AgentLoadError: Later failed to start: no model file \(at .*Later\.ts:3:\d+\)$/,
  );
});

Deno.test("a trade whose fees are null (the reference's model allows None) reads as no fee", () => {
  const trade = {
    id: 1,
    side: 0,
    timestamp: 5,
    taker_id: 2,
    taker_agent_id: 0,
    maker_id: 1,
    maker_agent_id: -1,
    quantity: 1.5,
    price: 300,
  };
  const parsed = tradeSchema.parse({ ...trade, maker_fee: null, taker_fee: null });
  assert.deepEqual([parsed.maker_fee, parsed.taker_fee], [0, 0]);
  assert.equal(tradeSchema.parse({ ...trade, maker_fee: 0.3 }).maker_fee, 0.3);
});

Deno.test("ignoredField names the first instruction field validators strip, leverage with why", () => {
  const order = limitOrder(3, 0, 0, 1, 300);
  assert.equal(ignoredField({ agent_id: 3, instructions: [order, cancelOrders(3, 0, [1])] }), null);
  assert.equal(
    ignoredField({ agent_id: 3, instructions: [order, { ...order, leverage: 2 }] }),
    "instruction 1 (PLACE_ORDER_LIMIT) carries 'leverage', which validators ignore: the " +
      "subnet's protocol has no leverage, so a miner's orders are cash orders",
  );
  assert.match(
    ignoredField({ agent_id: 3, instructions: [{ leverage: 2, ...order }] }) ?? "",
    /^instruction 0 \(PLACE_ORDER_LIMIT\) carries 'leverage', /,
  );
  const market = marketOrder(3, 0, 1, 1);
  assert.equal(
    ignoredField({ agent_id: 3, instructions: [{ ...market, note: "x" }] }),
    "instruction 0 (PLACE_ORDER_MARKET) carries 'note', which validators ignore",
  );
  // What is not an instruction is the schema's to judge, not this.
  for (const raw of [null, "x", { instructions: "x" }, { instructions: [null, 5, { a: 1 }] }]) {
    assert.equal(ignoredField(raw), null);
  }
});

Deno.test("describeThrown shows a thrown plain object as JSON, other values by their form", () => {
  assert.equal(
    describeThrown({ code: 7, why: "no model" }),
    '{"code":7,"why":"no model"}' +
      " (thrown, not an Error)",
  );
  assert.equal(
    describeThrown(Object.assign(Object.create(null), { a: 1 })),
    '{"a":1} (thrown, not an Error)',
  );
  assert.equal(describeThrown([1, 2]), "1,2 (thrown, not an Error)");
  assert.equal(describeThrown({ toString: () => "mine" }), "mine (thrown, not an Error)");
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assert.equal(describeThrown(cycle), "[object Object] (thrown, not an Error)");
  assert.equal(describeThrown(new Error("plain")), "plain");
});

Deno.test("describeThrown cuts a long message between characters, counting them", () => {
  // 999 letters then 10 emoji of two UTF-16 units each: the cut falls after the first emoji.
  const text = describeThrown(new Error("a".repeat(999) + "😀".repeat(10)));
  assert.ok(text.isWellFormed(), "a cut inside a surrogate pair leaves half of one");
  assert.equal(text, `${"a".repeat(999)}😀… (9 more characters)`);
});

Deno.test("stateForAgent: the first order of a simulation (id 0) keeps its id; a market order's record reads as one", () => {
  const base = publish();
  const record = [{
    event: "place" as const,
    orderId: 0,
    timestamp: 4.5e9,
    volume: 2,
    leverage: 0,
    direction: 0 as const,
    price: null,
    agentId: 1,
    clientOrderId: null,
  }];
  const state = stateForAgent(
    publish({
      books: [{ ...base.books[0], record }],
      notices: [{
        timestamp: 4.5e9,
        agentId: 1,
        bookId: 0,
        type: "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET",
        orderId: 0,
        clientOrderId: null,
      }],
    }),
    1,
    simulation,
  );
  const [accepted] = state.notices![1];
  assert.ok(accepted.type === "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET");
  // Only a refused order (id -1) has none.
  assert.equal(accepted.orderId, 0);
  assert.deepEqual(state.books[0].events, [{
    id: 0,
    client_id: null,
    timestamp: 4.5e9,
    quantity: 2,
    side: 0,
    order_type: "market",
    price: null,
  }]);
});

Deno.test("stateForAgent: a fill whose trade record is not in the publish charges the fee to the agent as taker", () => {
  const base = publish();
  const state = stateForAgent(
    publish({ books: [{ ...base.books[0], record: [] }], notices: [base.notices[0]] }),
    0,
    simulation,
  );
  const [trade] = state.notices![0];
  assert.ok(trade.type === "EVENT_TRADE");
  assert.deepEqual(
    [trade.takerAgentId, trade.takerOrderId, trade.makerAgentId, trade.takerFee, trade.makerFee],
    [0, 9, -1, 0.75, 0],
  );
});

Deno.test("stateForAgent: account 0's notices find their records, whichever side of a trade a background agent is on", () => {
  const base = publish();
  const trade = (tradeId: number, aggressingAgentId: number, restingAgentId: number) => ({
    event: "trade" as const,
    tradeId,
    timestamp: 4.6e9,
    direction: 1 as const,
    aggressingOrderId: 30 + tradeId,
    restingOrderId: 40 + tradeId,
    volume: 0.5,
    price: 299.8,
    aggressingAgentId,
    restingAgentId,
    fees: { maker: 0.25, taker: 0.5 },
  });
  const fill = (tradeId: number, fee: number) => ({
    timestamp: 4.6e9,
    agentId: 0,
    bookId: 0,
    type: "EVENT_TRADE" as const,
    orderId: 20,
    clientOrderId: 8,
    trade: { tradeId, price: 299.8, volume: 0.5, direction: 1 as const, fee },
  });
  const state = stateForAgent(
    publish({
      books: [{
        ...base.books[0],
        record: [
          {
            event: "place",
            orderId: 20,
            timestamp: 4.5e9,
            volume: 2.5,
            leverage: 0,
            direction: 0,
            price: 299.8,
            agentId: 0,
            clientOrderId: 8,
          },
          // Account 0's order rests and is hit by background agent -3, then account 0 takes from
          // background agent -2.
          trade(5, -3, 0),
          trade(6, 0, -2),
        ],
      }],
      notices: [
        {
          timestamp: 4.5e9,
          agentId: 0,
          bookId: 0,
          type: "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT",
          orderId: 20,
          clientOrderId: 8,
        },
        fill(5, 0.25),
        fill(6, 0.5),
      ],
    }),
    0,
    simulation,
  );
  const [placed, asMaker, asTaker] = state.notices![0];
  assert.ok(placed.type === "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT");
  assert.deepEqual([placed.side, placed.quantity, placed.price], [0, 2.5, 299.8]);
  assert.ok(asMaker.type === "EVENT_TRADE" && asTaker.type === "EVENT_TRADE");
  assert.deepEqual(
    [asMaker.takerAgentId, asMaker.makerAgentId, asMaker.makerOrderId, asMaker.makerFee],
    [-3, 0, 45, 0.25],
  );
  assert.deepEqual(
    [asTaker.takerAgentId, asTaker.makerAgentId, asTaker.makerOrderId, asTaker.takerFee],
    [0, -2, 46, 0.5],
  );
});

Deno.test("book helpers: imbalance over 5 levels unless told, and each L3 event is of one kind", () => {
  const book = stateForAgent(publish(), 0, simulation).books[0];
  // 5 bid levels of 2 against the one ask level of 3 (21 bid levels would give (42 - 3) / 45).
  assert.equal(imbalance(book), (10 - 3) / 13);
  assert.deepEqual(
    book.events!.map((event) => [isOrder(event), isTrade(event), isCancellation(event)]),
    [[true, false, false], [false, true, false], [false, false, true]],
  );
});

Deno.test("roundTo rounds half away from zero on both sides of it", () => {
  // 0.125 and 2.5 are exact in binary, so these are true halves.
  assert.equal(roundTo(0.125, 2), 0.13);
  assert.equal(roundTo(-0.125, 2), -0.13);
  assert.equal(roundTo(-2.5, 0), -3);
  assert.equal(roundTo(-2.4, 0), -2);
});

Deno.test("a state update whose notices are null is taken, and its agent is stepped with none", async () => {
  // The reference's model lets `notices` be None: the update is still one to answer.
  const update = parseStateUpdate({ timestamp: 5e9, books: {}, accounts: {}, notices: null });
  assert.equal(update.notices, null);
  const seen: string[] = [];
  class Counter extends Agent {
    override onUpdate(): AgentInstructions {
      seen.push(`${this.events.length} notices`);
      return [];
    }
  }
  const reply = await runAgentStep(new Counter(3, {}), 3, update);
  assert.deepEqual(reply, { agent_id: 3, instructions: [] });
  assert.deepEqual(seen, ["0 notices"]);
});
