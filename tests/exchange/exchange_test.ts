/** The TypeScript binding of the exchange core, in process: batches, typed events, snapshots. */
import assert from "node:assert/strict";
import {
  Exchange,
  ExchangeCode,
  ExchangeError,
  formatUnits,
  InstructionBatch,
  toUnits,
} from "../../native/exchange.ts";

const zeroFees = [{ volumeRequired: 0n, makerE9: 0n, takerE9: 0n }];

const config = {
  books: 1,
  agents: 2,
  priceDecimals: 2,
  volumeDecimals: 4,
  baseDecimals: 4,
  quoteDecimals: 8,
  initialBase: toUnits("100", 4),
  initialQuote: toUnits("10000", 8),
  feeTiers: [{ volumeRequired: 0n, makerE9: 1_000_000n, takerE9: 2_000_000n }],
};

/** `exchange`, closed where the `using` declaration that holds it goes out of scope. */
function closing(exchange: Exchange): Exchange & Disposable {
  return Object.assign(exchange, { [Symbol.dispose]: () => exchange.close() });
}

/** An exchange of `config` with `agents` accounts on `books` books, closed as {@linkcode closing}. */
function open(agents = 2, books = 1): Exchange & Disposable {
  return closing(Exchange.open({ ...config, agents, books }));
}

/**
 * An exchange of `agents` accounts on one book that lends up to 10000 quote at leverage 4, with a
 * 0.1 maintenance margin and no fees; closed as {@linkcode closing}.
 */
function openLeveraged(agents: number): Exchange & Disposable {
  return closing(Exchange.open({
    ...config,
    agents,
    maxLeverageE9: 4_000_000_000n,
    maxLoan: toUnits("10000", 8),
    maintenanceMarginE9: 100_000_000n,
    feeTiers: zeroFees,
  }));
}

/** Agent 0's limit buy of 2 at 100 with leverage 1 on book 0. */
const leveragedBuy = {
  agentId: 0,
  bookId: 0,
  direction: "buy",
  volume: 20_000n,
  price: 10000n,
  leverageE9: 1_000_000_000n,
} as const;

Deno.test("toUnits scales decimal text exactly, truncating toward zero", () => {
  assert.equal(toUnits("100.009", 2), 10000n);
  assert.equal(toUnits("1.23456", 4), 12345n);
  assert.equal(toUnits("-0.129", 2), -12n);
  assert.equal(toUnits("1e-4", 4), 1n);
  assert.equal(toUnits("2.5E3", 2), 250000n);
  assert.equal(toUnits("0.00004", 4), 0n);
  assert.throws(() => toUnits("abc", 2), RangeError);
  assert.throws(() => toUnits("1e30", 2), RangeError);
  assert.equal(toUnits("0e999999999", 2), 0n); // no 10^999999999 is ever computed
  assert.equal(toUnits("5e-999999999", 2), 0n);
  assert.throws(() => toUnits(`1${"0".repeat(500)}e-450`, 2), RangeError); // 10^50 is too big
  assert.equal(toUnits("92233720368547758.07", 2), (1n << 63n) - 1n); // the largest int64 fits
  assert.throws(() => toUnits("92233720368547758.08", 2), RangeError);
});

Deno.test("formatUnits prints exactly the configured number of places", () => {
  assert.equal(formatUnits(10050n, 2), "100.50");
  assert.equal(formatUnits(5n, 4), "0.0005");
  assert.equal(formatUnits(-5n, 4), "-0.0005");
  assert.equal(formatUnits(0n, 10), "0.0000000000");
  assert.equal(formatUnits(1234n, 0), "1234");
});

Deno.test("a batch packed in one buffer is matched in order and drained as typed events", () => {
  using exchange = open();
  const batch = new InstructionBatch(1); // grows past its initial capacity
  batch.limit({ agentId: 1, bookId: 0, direction: "sell", volume: 30000n, price: 10100n });
  batch.limit({
    agentId: 0,
    bookId: 0,
    direction: "buy",
    volume: 20000n,
    price: 10200n,
    clientOrderId: 77,
  });
  assert.equal(batch.length, 2);
  exchange.submit(1_000n, batch);
  const events = exchange.drainEvents();
  const trade = events.find((e) => e.type === "trade");
  assert.ok(trade);
  assert.equal(trade.price, 10100n);
  assert.equal(trade.volume, 20000n);
  assert.equal(trade.agentId, 0);
  assert.equal(trade.orderId, 1);
  assert.equal(trade.restingAgentId, 1);
  assert.equal(trade.restingOrderId, 0);
  assert.equal(trade.clientOrderId, 77);
  assert.equal(trade.direction, "buy");
  assert.equal(trade.makerFee, toUnits("0.202", 8)); // 0.001 * 2 * 101
  assert.equal(trade.takerFee, toUnits("0.404", 8));
  assert.equal(trade.timestamp, 1_000n);
  assert.equal(exchange.pendingEvents, 0);
  assert.deepEqual(exchange.levels(0, "asks"), [{ price: 10100n, volume: 10000n }]);
  assert.deepEqual(exchange.levels(0, "bids"), []);
  assert.equal(exchange.feeState(0, 0).volume, toUnits("202", 8)); // 2 traded at 101
  const b = exchange.balances(0, 0);
  assert.equal(b.baseFree, toUnits("102", 4));
  assert.equal(b.quoteFree, toUnits("10000", 8) - toUnits("202.404", 8));
  exchange.check();
});

Deno.test("rejections are events with the core's reason, never exceptions", () => {
  using exchange = open();
  const batch = new InstructionBatch();
  batch.limit({ agentId: 0, bookId: 9, direction: "buy", volume: 10000n, price: 100n });
  batch.limit({ agentId: 0, bookId: 0, direction: "buy", volume: -1n, price: 100n });
  batch.market({ agentId: 5, bookId: 0, direction: "buy", volume: 10000n });
  batch.cancel({ agentId: 0, bookId: 0, orderId: 12 });
  batch.limit({ agentId: 0, bookId: -3, direction: "buy", volume: 10000n, price: 100n });
  exchange.submit(1n, batch);
  const events = exchange.drainEvents();
  assert.deepEqual(events.map((e) => [e.type, e.instruction, e.reason]), [
    ["rejected", 0, "INVALID_BOOK"],
    ["rejected", 1, "INVALID_VOLUME"],
    ["rejected", 2, "NONEXISTENT_ACCOUNT"],
    ["rejected", 3, "ORDER_NOT_FOUND"],
    ["rejected", 4, "INVALID_BOOK"],
  ]);
});

Deno.test("a response marked dropAfterReset is dropped whole after its sender's reset in the same call only", () => {
  using exchange = open(3);
  const batch = new InstructionBatch();
  const bid = (agentId: number) => ({
    agentId,
    bookId: 0,
    direction: "buy" as const,
    volume: 10000n,
    price: 100n,
  });
  batch.reset(0);
  batch.limit(bid(0));
  batch.cancel({ agentId: 0, bookId: 0, orderId: 0 });
  batch.dropAfterReset(1, 0);
  // A reset of agent 1 then 2 sent by agent 0: dropped by agent 0's reset.
  batch.reset(1);
  batch.reset(2);
  batch.dropAfterReset(3, 0);
  // Agent 1's own order, sent by it: it was not reset.
  batch.limit(bid(1));
  batch.dropAfterReset(5, 1);
  batch.limit(bid(0));
  exchange.submit(1n, batch);
  assert.deepEqual(exchange.drainEvents().map((e) => [e.type, e.instruction, e.reason]), [
    ["reset", 0, null],
    ["rejected", 1, "AGENT_RESET"],
    ["rejected", 2, "AGENT_RESET"],
    ["rejected", 3, "AGENT_RESET"],
    ["rejected", 4, "AGENT_RESET"],
    ["placed", 5, null],
    ["accepted", 5, null],
    ["placed", 6, null],
    ["accepted", 6, null],
  ]);
  // The next call: the reset was in an earlier one. A response that resets its own sender first
  // runs whole (judged by its sender, the reset of agent 1 would have been dropped).
  batch.clear();
  batch.limit(bid(0));
  batch.dropAfterReset(0, 0);
  batch.reset(2);
  batch.reset(1);
  batch.dropAfterReset(1, 2);
  exchange.submit(2n, batch);
  assert.deepEqual(exchange.drainEvents().map((e) => [e.type, e.agentId]), [
    ["placed", 0],
    ["accepted", 0],
    ["reset", 2],
    ["cancelled", 1],
    ["reset", 1],
  ]);
});

Deno.test("snapshots: level orders in time priority, agent orders, order lookup, book info", () => {
  using exchange = open(3);
  const batch = new InstructionBatch();
  for (const agentId of [2, 1, 2]) {
    batch.limit({ agentId, bookId: 0, direction: "buy", volume: 10000n, price: 9900n });
  }
  batch.limit({
    agentId: 0,
    bookId: 0,
    direction: "sell",
    volume: 5000n,
    price: 10100n,
    stp: "CB",
    clientOrderId: 41,
  });
  exchange.submit(7n, batch);
  exchange.drainEvents();
  const level = exchange.levelOrders(0, "bids", 0);
  assert.deepEqual(level.map((o) => [o.orderId, o.agentId]), [[0, 2], [1, 1], [2, 2]]);
  assert.equal(level[0].reservedQuote, toUnits("99.099", 8));
  assert.deepEqual(exchange.agentOrders(2, 0).map((o) => o.orderId), [0, 2]);
  const order = exchange.order(0, 3);
  assert.equal(order?.direction, "sell");
  assert.equal(order?.reservedBase, 5000n);
  assert.deepEqual(
    [order?.stp, order?.clientOrderId, order?.bookId, order?.timestamp, order?.price],
    ["CB", 41, 0, 7n, 10100n],
  );
  assert.deepEqual([level[0].stp, level[0].clientOrderId], ["CO", null]); // the defaults
  assert.equal(exchange.order(0, 99), null);
  const info = exchange.bookInfo(0);
  assert.equal(info.bestBid, 9900n);
  assert.equal(info.bestAsk, 10100n);
  assert.equal(info.bidVolume, 30000n);
  assert.equal(info.orderCount, 4);
  assert.equal(info.nextOrderId, 4);
  // One tier: every agent pays the configuration's maker and taker rates, nothing traded yet.
  assert.deepEqual(exchange.feeState(2, 0), {
    volume: 0n,
    makerE9: 1_000_000n,
    takerE9: 2_000_000n,
    tier: 0,
  });
});

Deno.test("API errors become ExchangeError with the core's code name", () => {
  const exchange = open();
  try {
    exchange.advance(100n);
    assert.throws(() => exchange.advance(99n), (error) => {
      assert.ok(error instanceof ExchangeError);
      assert.equal(error.code, ExchangeCode.time);
      assert.equal(error.codeName, "TX_ERR_TIME");
      return true;
    });
    assert.throws(() => exchange.balances(0, 5), /TX_ERR_BOOK/);
    assert.throws(() => exchange.balances(40, 0), /TX_ERR_AGENT/);
    assert.throws(() => exchange.addAccount(0, 0n, 0n), /TX_ERR_EXISTS/);
    exchange.addAccount(-1, 5n, 6n);
    assert.equal(exchange.balances(-1, 0).quoteFree, 6n);
  } finally {
    exchange.close();
  }
  exchange.close(); // idempotent
  assert.throws(() => exchange.levels(0, "bids"), /exchange is closed/);
});

Deno.test("a configuration the core refuses throws TX_ERR_CONFIG with its message", () => {
  assert.throws(
    () => Exchange.open({ ...config, books: 0 }),
    (error) => error instanceof ExchangeError && error.code === ExchangeCode.config,
  );
});

Deno.test("a leveraged buy opens a long loan, visible through loans()", () => {
  using exchange = openLeveraged(2);
  const batch = new InstructionBatch();
  batch.limit({ agentId: 1, bookId: 0, direction: "sell", volume: 100_000n, price: 10000n });
  batch.limit(leveragedBuy);
  exchange.submit(1n, batch);
  const trades = exchange.drainEvents().filter((e) => e.type === "trade");
  assert.deepEqual(trades.map((t) => t.volume), [40_000n]); // own 2 at leverage 1 trades 4
  const loans = exchange.loans(0, 0);
  assert.equal(loans.length, 1);
  assert.equal(loans[0].orderId, 1);
  assert.equal(loans[0].direction, "buy");
  assert.equal(loans[0].amount, toUnits("400", 8));
  assert.equal(loans[0].collateralQuote, toUnits("200", 8));
  assert.equal(loans[0].callPrice, 5555n); // 100 * 1 / (2 * 0.9), truncated to the tick
  assert.deepEqual(exchange.loans(1, 0), []);
});

Deno.test("events can be copied out raw or dropped unread", () => {
  using exchange = open();
  const batch = new InstructionBatch();
  batch.limit({ agentId: 0, bookId: 0, direction: "buy", volume: 10000n, price: 9900n });
  batch.limit({ agentId: 1, bookId: 0, direction: "sell", volume: 10000n, price: 10100n });
  exchange.submit(1n, batch);
  assert.equal(exchange.pendingEvents, 4); // place + accepted, twice
  // A buffer short of a fourth whole record takes three: the core never writes past it.
  const raw = new Uint8Array(4 * 112 - 1);
  assert.equal(exchange.drainRaw(raw), 3);
  assert.equal(new DataView(raw.buffer).getUint8(100), 4); // TX_EV_PLACED first
  assert.equal(exchange.discardEvents(), 1);
  assert.equal(exchange.pendingEvents, 0);
  assert.deepEqual(exchange.drainEvents(), []);
});

Deno.test("an agent under an added fee policy pays that policy's rates", () => {
  using exchange = open();
  const zero = exchange.addFeePolicy([{ volumeRequired: 0n, makerE9: 0n, takerE9: 0n }]);
  assert.equal(zero, 1);
  exchange.setFeePolicy(1, zero);
  const batch = new InstructionBatch();
  batch.limit({ agentId: 0, bookId: 0, direction: "sell", volume: 20000n, price: 10100n });
  batch.market({ agentId: 1, bookId: 0, direction: "buy", volume: 20000n });
  exchange.submit(1n, batch);
  const trade = exchange.drainEvents().find((e) => e.type === "trade");
  assert.equal(trade?.makerFee, toUnits("0.202", 8)); // agent 0: policy 0, maker 0.001
  assert.equal(trade?.takerFee, 0n); // agent 1: the zero-fee policy
  assert.throws(
    () =>
      exchange.addFeePolicy([
        { volumeRequired: 5n, makerE9: 0n, takerE9: 0n },
        { volumeRequired: 5n, makerE9: 0n, takerE9: 0n }, // not above the first
      ]),
    (error) => error instanceof ExchangeError && error.code === ExchangeCode.config,
  );
  assert.throws(() => exchange.setFeePolicy(1, 9), ExchangeError);
});

Deno.test("setBalances replaces one book's balances, and is refused while orders rest there", () => {
  using exchange = open(2, 2);
  exchange.setBalances(1, 1, 7n, 8n);
  assert.deepEqual([exchange.balances(1, 1).baseFree, exchange.balances(1, 1).quoteFree], [
    7n,
    8n,
  ]);
  assert.equal(exchange.balances(1, 0).baseFree, toUnits("100", 4)); // the other book keeps its own
  const batch = new InstructionBatch();
  batch.limit({ agentId: 0, bookId: 0, direction: "sell", volume: 10000n, price: 10100n });
  exchange.submit(1n, batch);
  assert.throws(() => exchange.setBalances(0, 0, 1n, 1n), /TX_ERR_BUSY/);
  exchange.setBalances(0, 1, 1n, 1n); // no orders in book 1
  assert.throws(() => exchange.setBalances(0, 2, 1n, 1n), /TX_ERR_BOOK/);
  assert.throws(() => exchange.setBalances(9, 0, 1n, 1n), /TX_ERR_AGENT/);
  assert.throws(() => exchange.setBalances(1, 0, -1n, 1n), /TX_ERR_ARGUMENT/);
  // Ids past 32 bits name no book or agent: they are not wrapped onto one that exists.
  assert.throws(() => exchange.setBalances(2 ** 32 + 1, 0, 1n, 1n), /TX_ERR_AGENT/);
  assert.throws(() => exchange.setBalances(1, 2 ** 32 + 1, 1n, 1n), /TX_ERR_BOOK/);
  assert.throws(() => exchange.addAccount(2 ** 32 + 5, 1n, 1n), /TX_ERR_AGENT/);
  assert.throws(() => exchange.agentOrders(9, 0), /TX_ERR_AGENT/);
  assert.equal(exchange.balances(1, 0).baseFree, toUnits("100", 4));
});

Deno.test("values past their field are refused by name or rejected per instruction, never wrapped", () => {
  const huge = (1n << 64n) + 5n; // wrapped modulo 2^64 it would be 5
  const refused = (field: string) => (error: unknown) =>
    error instanceof ExchangeError && error.code === ExchangeCode.config &&
    error.message.includes(`${field}: `) && error.message.includes("is outside");
  assert.throws(() => Exchange.open({ ...config, initialBase: huge }), refused("initialBase"));
  assert.throws(() => Exchange.open({ ...config, maxLoan: 1n << 63n }), refused("maxLoan"));
  assert.throws(
    () => Exchange.open({ ...config, feeSlotPeriodNs: -1n }),
    refused("feeSlotPeriodNs"),
  );
  assert.throws(
    () =>
      Exchange.open({ ...config, feeTiers: [{ volumeRequired: 0n, makerE9: huge, takerE9: 0n }] }),
    refused("feeTiers[0].makerE9"),
  );
  // A count past 32 bits reaches the core as TX_NONE, which it refuses by its own name.
  assert.throws(() => Exchange.open({ ...config, books: 2 ** 32 + 1 }), /book_count/);

  using exchange = open();
  const batch = new InstructionBatch();
  const order = { agentId: 0, bookId: 0, direction: "buy" as const, volume: 5n, price: 100n };
  batch.limit({ ...order, volume: huge });
  batch.limit({ ...order, price: huge });
  batch.limit({ ...order, leverageE9: huge });
  batch.limit({ ...order, timeInForce: "GTT", expiryNs: -1n });
  batch.limit({ ...order, timeInForce: "GTT", expiryNs: 1n << 64n });
  batch.market({ ...order, volume: -huge });
  batch.limit({ ...order, clientOrderId: 2 ** 32 - 1 }); // TX_NONE: no client id
  batch.market({ ...order, clientOrderId: -1 });
  batch.limit(order); // order 0
  batch.cancel({ agentId: 0, bookId: 0, orderId: 0, volume: huge });
  exchange.submit(1n, batch);
  const outcomes = exchange.drainEvents().filter((e) => e.type !== "placed");
  assert.deepEqual(outcomes.map((e) => [e.instruction, e.type, e.reason]), [
    [0, "rejected", "INVALID_VOLUME"],
    [1, "rejected", "INVALID_PRICE"],
    [2, "rejected", "INVALID_LEVERAGE"],
    [3, "rejected", "INVALID_INSTRUCTION"],
    [4, "rejected", "INVALID_INSTRUCTION"],
    [5, "rejected", "INVALID_VOLUME"],
    [6, "rejected", "INVALID_INSTRUCTION"],
    [7, "rejected", "INVALID_INSTRUCTION"],
    [8, "accepted", null],
    [9, "rejected", "INVALID_VOLUME"],
  ]);
  assert.equal(exchange.order(0, 0)?.volume, 5n); // the partial cancel took nothing
  const time = (error: unknown) =>
    error instanceof ExchangeError && error.code === ExchangeCode.time &&
    error.message.includes("nowNs: ");
  assert.throws(() => exchange.submit(-1n, new InstructionBatch()), time);
  assert.throws(() => exchange.submitRecords(1n << 64n, new Uint8Array(0)), time);
  assert.throws(() => exchange.advance(huge), time);
  assert.throws(() => exchange.setBalances(1, 0, huge, 0n), /TX_ERR_ARGUMENT: base: /);
  assert.throws(() => exchange.addAccount(5, 0n, -huge), /TX_ERR_ARGUMENT: quote: /);
  assert.equal(exchange.balances(1, 0).baseFree, toUnits("100", 4));
});

Deno.test("levels() reads a side past its first 256 levels, and up to a limit", () => {
  using exchange = open();
  const batch = new InstructionBatch();
  for (let i = 0; i < 300; i++) {
    batch.limit({
      agentId: 0,
      bookId: 0,
      direction: "buy",
      volume: 100n,
      price: 5000n + BigInt(i),
    });
  }
  exchange.submit(1n, batch);
  const all = exchange.levels(0, "bids");
  assert.equal(all.length, 300);
  assert.deepEqual([all[0].price, all[299].price], [5299n, 5000n]); // best first
  assert.equal(exchange.levels(0, "bids", 280).length, 280);
  assert.equal(exchange.levels(0, "bids", 3)[2].price, 5297n);
});

Deno.test("a number where the binding takes a bigint throws naming the field, never truncated", () => {
  using exchange = open();
  // Values from untyped callers (JSON, plain JavaScript).
  const loose = (value: number) => value as unknown as bigint;
  for (const value of [NaN, 7.9, -0, 5]) {
    assert.throws(
      () => exchange.setBalances(1, 0, loose(value), 0n),
      (error) =>
        error instanceof ExchangeError && error.code === ExchangeCode.argument &&
        error.message.includes(`base: ${value} is not a bigint`),
    );
    assert.throws(() => exchange.addAccount(9, 0n, loose(value)), /quote: .* is not a bigint/);
    assert.throws(() => exchange.advance(loose(value)), /TX_ERR_TIME: nowNs: .* is not a bigint/);
    assert.throws(
      () => Exchange.open({ ...config, initialBase: loose(value) }),
      /TX_ERR_CONFIG: initialBase: .* is not a bigint/,
    );
    const batch = new InstructionBatch();
    const order = { agentId: 0, bookId: 0, direction: "buy" as const, volume: 1n, price: 1n };
    assert.throws(
      () => batch.limit({ ...order, volume: loose(value) }),
      /volume: .* is not a bigint/,
    );
    assert.throws(
      () => batch.limit({ ...order, price: loose(value) }),
      /price: .* is not a bigint/,
    );
    assert.throws(
      () => batch.market({ ...order, leverageE9: loose(value) }),
      /leverageE9: .* is not a bigint/,
    );
    assert.throws(
      () => batch.limit({ ...order, timeInForce: "GTT", expiryNs: loose(value) }),
      /expiryNs: .* is not a bigint/,
    );
    assert.throws(
      () => batch.cancel({ agentId: 0, bookId: 0, orderId: 0, volume: loose(value) }),
      /volume: .* is not a bigint/,
    );
    assert.equal(batch.length, 0); // nothing half-appended
  }
  assert.equal(exchange.balances(1, 0).baseFree, toUnits("100", 4)); // untouched
});

Deno.test("ids of -0 read as 0; a bad side, level limit or record length throws naming it", () => {
  using exchange = open();
  const batch = new InstructionBatch();
  batch.limit({ agentId: 0, bookId: 0, direction: "buy", volume: 10000n, price: 9900n });
  exchange.submit(1n, batch);
  exchange.discardEvents();
  assert.equal(exchange.balances(-0, -0).baseFree, toUnits("100", 4));
  assert.equal(exchange.order(-0, -0)?.orderId, 0);
  assert.equal(exchange.agentOrders(-0, -0).length, 1);
  assert.equal(exchange.levelOrders(-0, "bids", -0).length, 1);
  assert.deepEqual(exchange.levels(0, "bids", 0), []);
  for (const limit of [NaN, 1.5, -1]) {
    assert.throws(() => exchange.levels(0, "bids", limit), /limit: .* is not a whole number/);
  }
  const bogus = "bid" as "bids";
  assert.throws(() => exchange.levels(0, bogus), /side: "bid" is neither "bids" nor "asks"/);
  assert.throws(() => exchange.levelOrders(0, bogus, 0), /side: "bid"/);
  assert.throws(
    () => exchange.submitRecords(2n, new Uint8Array(65)),
    /records: 65 bytes is not a whole number of 64-byte records/,
  );
  assert.equal(exchange.pendingEvents, 0);
  assert.equal(ExchangeCode.limit, 11);
});

Deno.test("a loan its collateral cannot cover is settled with the shortfall written off", () => {
  using exchange = openLeveraged(3);
  exchange.setBalances(0, 0, 0n, toUnits("200", 8)); // no free quote left after the buy
  const batch = new InstructionBatch();
  batch.limit({ agentId: 1, bookId: 0, direction: "sell", volume: 40_000n, price: 10000n });
  batch.limit(leveragedBuy);
  // The only bid, at one tick, is below the loan's margin-call price of 55.55.
  batch.limit({ agentId: 2, bookId: 0, direction: "buy", volume: 1_000_000n, price: 1n });
  exchange.submit(1n, batch);
  assert.deepEqual(
    exchange.drainEvents().filter((e) => e.type === "trade").map((t) => t.tradeId),
    [0],
  );
  exchange.advance(2n); // the margin check runs at the next call
  const events = exchange.drainEvents();
  const liquidation = events.find((e) => e.type === "trade");
  assert.equal(liquidation?.tradeId, 1);
  assert.equal(liquidation?.volume, 40_000n); // the 4 bought sold at 0.01: 0.04 quote
  const settled = events.find((e) => e.type === "loanSettled");
  assert.ok(settled);
  // Loan 400 less collateral 200 and the 0.04 the sale raised.
  assert.equal(settled.amount, toUnits("199.96", 8));
  assert.equal(settled.writeOff, true);
  assert.equal(events.some((e) => e.type !== "loanSettled" && e.writeOff), false);
  assert.deepEqual(exchange.loans(0, 0), []);
  assert.equal(exchange.bookInfo(0).nextTradeId, 2);
  assert.equal(exchange.bookInfo(0).nextOrderId, 4);
});
