/**
 * Differential test: seeded random instruction streams (cash; on margin with price shocks that
 * set off margin calls; extended with fee policies added as they trade and malformed raw records;
 * and at the holdings bound) go through the C core (over FFI, as `property_test.ts` does) and
 * through the plain TypeScript model of the specification (`model.ts`); after every batch the
 * events (kind, ids, prices, volumes, fees, reasons, order), every account's free and reserved
 * balances, loans and collateral, fee volume and tier, every loan, every resting order with its
 * leverage and what it holds, and both sides' levels must agree. On a mismatch the stream is
 * shrunk and the failure names the seed, the batch and a minimal reproducer.
 */
import assert from "node:assert/strict";
import {
  Exchange,
  type ExchangeEvent,
  type FeeTier,
  InstructionBatch,
  type SelfTradePrevention,
  toUnits,
} from "../../native/exchange.ts";
import { ExchangeModel, type Instruction, type ModelConfig, type RawRecord } from "./model.ts";
import { append, RECORD_SIZE, recordOf, writeRecord } from "./raw_records.ts";
import { seededRandom } from "./seeded_random.ts";

/** One call: instructions at `now` (none: the clock only moves), a fee-policy switch or a new
 * fee policy. */
interface Batch {
  now: bigint;
  instructions: Instruction[];
  feePolicy?: { agentId: number; policy: number };
  addPolicy?: FeeTier[];
}

/**
 * What a stream covers. `plain`: well-formed instructions, the three fee policies added at open.
 * `extended`: besides, fee policies added as it trades (tiers from above volume 0, rebates, steep
 * maker rates) and switched often, and malformed records. `range`: the extended stream in books
 * whose accounts hold 2^62 units of each asset together (rebates bounded by holdings, resets
 * refused), with volumes up to 2^53 units, prices up to 2^40 ticks and a flood of bids that takes
 * a side's volume to the bound. `marginRange`: the range stream on margin, at up to 98x leverage
 * with no loan limit to speak of, so that loans reach the book's lending limit and collateral
 * values pass 128 bits. `liquidation`: the margin stream with, now and then, a loan set up so that
 * its liquidation is refused for collateral it could not touch and retried once that is freed
 * (`liquidationEpisode`).
 */
type Mode = "plain" | "extended" | "range" | "marginRange" | "liquidation";
const NONE = 0xFFFF_FFFF;
const MAX_VOLUME = 1n << 53n;
const MAX_PRICE = 1n << 40n;
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

const AGENTS = 4;
const E9 = 1_000_000_000n;
/** Fee policies added to every exchange (besides the configuration's, policy 0), in quote. */
function extraPolicies(config: ModelConfig): FeeTier[][] {
  return [
    [{ volumeRequired: 0n, makerE9: 0n, takerE9: 0n }],
    [
      { volumeRequired: 0n, makerE9: 2_000_000n, takerE9: 3_000_000n },
      {
        volumeRequired: toUnits("300", config.quoteDecimals),
        makerE9: 100_000n,
        takerE9: 500_000n,
      },
    ],
  ];
}
const STPS: SelfTradePrevention[] = ["NONE", "CO", "CN", "CB", "DC"];
/** Policies extended streams add first: a steep maker rate, then rebates on both sides. */
const STEEP_AND_REBATE: FeeTier[][] = [
  [{ volumeRequired: 0n, makerE9: 40_000_000n, takerE9: 2_000_000n }],
  [{ volumeRequired: 0n, makerE9: -500_000n, takerE9: -100_000n }],
];

/** Seeds from here on trade on margin. */
const LEVERAGED = 101;

function configFor(seed: number, mode: Mode = "plain"): ModelConfig {
  if (mode === "marginRange") {
    return {
      ...configFor(seed, "range"),
      maxLeverageE9: 98_000_000_000n,
      maxLoan: INT64_MAX,
      // The most 98x allows: 1 / (2 * 99) is about 0.005.
      maintenanceMarginE9: 5_000_000n,
    };
  }
  if (mode !== "range") return plainConfigFor(seed, [8, 4, 2][seed % 3]);
  // Cash only. Four accounts of 2^60 units: the book holds exactly the bound of each asset.
  // Quote at 2 decimals, so that 2^60 units buy about as much as 2^60 base units are worth.
  const { maxLeverageE9: _, maxLoan: __, maintenanceMarginE9: ___, ...cash } = plainConfigFor(
    seed,
    2,
  );
  return { ...cash, initialBase: 1n << 60n, initialQuote: 1n << 60n };
}

/** Quote kept to 8, 4 or 2 decimals: below 6 (price 2 + base 4) notionals and fees truncate. */
function plainConfigFor(seed: number, quoteDecimals: number): ModelConfig {
  const baseDecimals = seed % 5 === 4 ? 6 : 4;
  return {
    books: seed % 2 === 0 ? 2 : 1,
    agents: AGENTS,
    // Prices at 2 decimals, or 3 (then prices near 10); seeds in 5 keep base to 6 decimals.
    priceDecimals: seed % 4 === 3 ? 3 : 2,
    // Odd seeds trade in lots of 0.01 base with balances kept finer.
    volumeDecimals: seed % 2 === 1 ? 2 : baseDecimals,
    baseDecimals,
    quoteDecimals,
    // Small enough that orders of up to 3 base at about 100 run some accounts dry.
    initialBase: toUnits("10", baseDecimals),
    initialQuote: toUnits("1200", quoteDecimals),
    feeTiers: [
      { volumeRequired: 0n, makerE9: 1_000_000n, takerE9: 2_000_000n },
      { volumeRequired: toUnits("500", quoteDecimals), makerE9: 500_000n, takerE9: 1_000_000n },
      { volumeRequired: toUnits("2000", quoteDecimals), makerE9: -100_000n, takerE9: 700_000n },
    ],
    feeHistorySlots: 2,
    feeSlotPeriodNs: 50_000n,
    // Leverage up to 4 (5x exposure) with the reference's maintenance margin: a long at 4x is
    // called about 11 % below its price, a short about 9 % above.
    ...(seed >= LEVERAGED
      ? {
        maxLeverageE9: 4_000_000_000n,
        maxLoan: toUnits(seed % 3 === 0 ? "800" : "5000", quoteDecimals),
        maintenanceMarginE9: 100_000_000n,
      }
      : {}),
  };
}

/**
 * With the book at the holdings bound and no fee paid yet, so that it has no room for rebates:
 * a buy resting at a maker rebate that holds all but a lot's worth of its owner's quote, which a
 * sell then reaches (its fill is refused and the buy cancelled); a market buy whose reservation at
 * the taker rebate holds as much of its owner's quote (halted at its first fill); and a limit buy
 * of the same kind that would rest what the sell before it leaves (halted too, not resting short).
 * The sells left over are cancelled, so that the stream goes on around its usual prices. A price
 * high enough that the volumes fit an instruction.
 */
function rebatesPastTheBound(model: ExchangeModel, config: ModelConfig, now: bigint): Batch[] {
  const scale = 10n ** BigInt(config.priceDecimals + config.baseDecimals - config.quoteDecimals);
  const lot = 10n ** BigInt(config.baseDecimals - config.volumeDecimals);
  const price = (model.balances(0, 0).quoteFree * scale) / (MAX_VOLUME / 2n) + 1n;
  const allIn = (agentId: number, rate: bigint) => {
    const free = model.balances(agentId, 0).quoteFree;
    const volume = (free * scale * 1_000_000_000n) / (price * (1_000_000_000n + rate));
    return (volume / lot) * lot;
  };
  const buy = (kind: "limit" | "market", agentId: number, volume: bigint): Instruction => ({
    kind,
    agentId,
    bookId: 0,
    direction: "buy",
    volume,
    price,
  });
  const sell = (kind: "limit" | "market", volume: bigint): Instruction => ({
    kind,
    agentId: 1,
    bookId: 0,
    direction: "sell",
    volume: (volume / lot) * lot,
    price,
  });
  const size = allIn(0, 0n);
  // A limit buy crossing `size / 2` at the taker rate and resting the rest at the maker rate,
  // reserving all its owner's quote.
  const crossing = (size / 2n / lot) * lot;
  const rates3 = model.rates(3, 0);
  const crossCost = (price * crossing * (1_000_000_000n + rates3.takerE9)) /
    (1_000_000_000n * scale);
  const rest = ((model.balances(3, 0).quoteFree - crossCost) * scale * 1_000_000_000n) /
    (price * (1_000_000_000n + rates3.makerE9));
  const steps: (Instruction[] | "cancel")[] = [
    [buy("limit", 0, allIn(0, model.rates(0, 0).makerE9))],
    [sell("market", size)],
    [sell("limit", 2n * size)],
    [buy("market", 2, allIn(2, model.rates(2, 0).takerE9))],
    "cancel",
    [sell("limit", crossing)],
    [buy("limit", 3, crossing + (rest / lot) * lot)],
    "cancel",
  ];
  const batches: Batch[] = [];
  for (const step of steps) {
    const instructions: Instruction[] = step !== "cancel" ? step : model.liveOrders(0).map((o) => ({
      kind: "cancel",
      agentId: o.agentId,
      bookId: 0,
      orderId: o.id,
      volume: null,
    }));
    model.submit(now, instructions);
    batches.push({ now, instructions });
  }
  return batches;
}

/**
 * A liquidation the core must retry (README "Margin"): on one book cleared of its orders, agent A
 * leaves itself little free quote (a long) or base (a short) in a far cash order, so that its
 * leveraged buy (or sell) at `p` takes most of its collateral in the other currency; now and
 * then it opens a second, less leveraged position after the first (called first, its sale repays
 * the older loan). A one-lot order of another agent next to `p` holds off the call until the next
 * call, which cancels it and places the other agents' orders at a price past the new loan's call
 * price, as much as an order the size of the loan's collateral-freed retry needs, or more, or
 * less. The liquidation at the start of the call after that is refused for want of free base (or
 * quote), retried with the collateral freed and filled or refused again, or not refused at all.
 */
function liquidationEpisode(
  model: ExchangeModel,
  config: ModelConfig,
  now: bigint,
  rand: () => number,
): Batch[] {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const bookId = int(0, config.books - 1);
  const long = rand() < 0.5;
  const lot = 10n ** BigInt(config.baseDecimals - config.volumeDecimals);
  const toLot = (v: bigint) => (v / lot) * lot;
  const ticks = 10n ** BigInt(config.priceDecimals + config.baseDecimals);
  const quoteUnit = 10n ** BigInt(config.quoteDecimals);
  // Quote for `volume` base at `price` (rate in 1e9), and the base `quote` buys at `price`.
  const quoteOf = (price: bigint, volume: bigint, rate = 0n) =>
    (price * volume * (E9 + rate) * quoteUnit) / (E9 * ticks);
  const baseOf = (quote: bigint, price: bigint, rate = 0n) =>
    (quote * ticks * E9) / (price * quoteUnit * (E9 + rate));
  // About where the stream trades, unless a far order left by an earlier episode sets the touch.
  const touch = model.touch(bookId);
  const center = touch.bid !== null && touch.ask !== null
    ? (touch.bid + touch.ask) / 2n
    : touch.bid ?? touch.ask ?? 10_000n;
  const p = center >= 5_000n && center <= 20_000n ? center : 10_000n;
  // A: an agent with no loan in the book if there is one; the others take the other sides.
  const agents = Array.from({ length: AGENTS }, (_, i) => i);
  for (let i = agents.length - 1; i > 0; i--) {
    const j = int(0, i);
    [agents[i], agents[j]] = [agents[j], agents[i]];
  }
  const unindebted = agents.filter((x) => model.loans(x, bookId).length === 0);
  const a = unindebted[0] ?? agents[0];
  const others = agents.filter((x) => x !== a);
  const guard = others[int(0, others.length - 1)];
  const batches: Batch[] = [];
  const send = (instructions: Instruction[]) => {
    model.submit(now, instructions);
    batches.push({ now, instructions });
  };
  send(
    model.liveOrders(bookId).map((o) => ({
      kind: "cancel",
      agentId: o.agentId,
      bookId,
      orderId: o.id,
      volume: null,
    })),
  );
  const setup: Instruction[] = [];
  const account = model.balances(a, bookId);
  const fee = (agentId: number) => {
    const r = model.rates(agentId, bookId);
    return r.makerE9 > r.takerE9 ? r.makerE9 : r.takerE9;
  };
  // Most of A's quote in a bid at one tick, or of its base in an ask at 50 times the price; what
  // it has left free for collateral, valued in quote at `p`.
  const share = rand() < 0.9 ? BigInt(int(98, 100)) : 0n;
  let wealth: bigint;
  if (long) {
    const volume = toLot(baseOf((account.quoteFree * share) / 100n, 1n, fee(a)));
    if (volume > 0n) {
      setup.push({ kind: "limit", agentId: a, bookId, direction: "buy", volume, price: 1n });
    }
    wealth = (account.quoteFree * (100n - share)) / 100n + quoteOf(p, account.baseFree);
  } else {
    const volume = toLot((account.baseFree * share) / 100n);
    if (volume > 0n) {
      setup.push({ kind: "limit", agentId: a, bookId, direction: "sell", volume, price: 50n * p });
    }
    wealth = account.quoteFree + quoteOf(p, account.baseFree - volume);
  }
  // Their counterparties at `p`: as much as each other agent can trade.
  const sides = others.map((agentId) => {
    const held = model.balances(agentId, bookId);
    return { agentId, can: toLot(long ? held.baseFree : baseOf(held.quoteFree, p, fee(agentId))) };
  });
  // One or two leveraged orders of A at `p`; with two, the second less leveraged (called first).
  // Together within half of A's wealth, the loan limit and what the others can trade.
  const levers = rand() < 0.35 ? [int(2, 4) * 2, int(1, 3)] : [int(2, 8)];
  const owed = account.quoteLoan + quoteOf(p, account.baseLoan);
  const room = (config.maxLoan ?? 0n) * 9n / 10n - owed;
  const sized = levers.map((halves) => {
    const leverageE9 = BigInt(halves) * E9 / 2n;
    const byWealth = baseOf(wealth / 2n / BigInt(levers.length), p);
    const byLoan = baseOf(room > 0n ? room * 2n / BigInt(halves * levers.length) : 0n, p);
    const byBook = (sides.reduce((sum, x) => sum + x.can, 0n) * E9) /
      ((E9 + leverageE9) * BigInt(levers.length));
    let volume = [byWealth, byLoan, byBook].reduce((x, y) => (y < x ? y : x));
    volume = toLot((volume * BigInt(int(30, 100))) / 100n);
    return { volume, leverageE9 };
  }).filter((o) => o.volume > 0n);
  let needed = sized.reduce((sum, o) => sum + (o.volume * (E9 + o.leverageE9)) / E9, 0n);
  for (const { agentId, can } of sides) {
    const volume = can < needed ? can : needed;
    if (volume <= 0n) continue;
    setup.push({
      kind: "limit",
      agentId,
      bookId,
      direction: long ? "sell" : "buy",
      volume,
      price: p,
    });
    needed -= volume;
  }
  const firstId = model.nextOrderId(bookId);
  for (const o of sized) {
    setup.push({
      kind: "limit",
      agentId: a,
      bookId,
      direction: long ? "buy" : "sell",
      volume: o.volume,
      price: p,
      leverageE9: o.leverageE9,
    });
  }
  const guardPrice = long ? p - 1n : p + 1n;
  setup.push({
    kind: "limit",
    agentId: guard,
    bookId,
    direction: long ? "buy" : "sell",
    volume: lot,
    price: guardPrice,
  });
  send(setup);
  // The new loan called first (the lowest call price for a long, the highest for a short).
  const loans = model.loans(a, bookId).filter((l) => l.orderId >= firstId);
  if (loans.length === 0) return batches;
  const loan = loans.reduce((x, y) =>
    (long ? y.callPrice < x.callPrice : y.callPrice > x.callPrice) ? y : x
  );
  const held = model.balances(a, bookId);
  const next: Instruction[] = model.orders(bookId, long ? "bids" : "asks")
    .filter((o) => Number(o[1]) === guard && o[2] === guardPrice)
    .map((o) => ({ kind: "cancel", agentId: guard, bookId, orderId: Number(o[0]), volume: null }));
  const roll = rand();
  let q: bigint;
  let volume: bigint;
  if (long) {
    // The sale walks `volume`: more than A's free base (refused), at most that plus the loan's
    // base collateral (the retry fills), or more (refused again), or less (not refused).
    const lo = held.baseFree;
    const hi = held.baseFree + loan.collateralBase;
    volume = roll < 0.5
      ? toLot(lo + lot + (BigInt(Math.floor(rand() * 1e6)) * (hi - lo)) / 1_000_000n)
      : roll < 0.85
      ? toLot(hi + lot + (hi * BigInt(int(0, 50))) / 100n)
      : toLot((lo * BigInt(int(30, 100))) / 100n);
    // Below the call price, and low enough that the loan is worth more than `volume` there.
    const worth = volume > 0n ? (loan.amount * ticks) / (volume * quoteUnit) : loan.callPrice;
    const top = worth < loan.callPrice ? worth : loan.callPrice - 1n;
    q = (top * BigInt(int(70, 99))) / 100n;
  } else {
    // The buy-back costs more than A's free quote (refused), at most that plus the loan's quote
    // collateral (the retry fills), or more (refused again), or less (not refused).
    const rate = model.rates(a, bookId).takerE9;
    const lo = held.quoteFree;
    const hi = held.quoteFree + loan.collateralQuote;
    // Past the call price, and high enough that `hi` buys less than the loan there.
    const floor = (hi * ticks * E9) / (loan.amount * quoteUnit * (E9 + rate)) + 1n;
    const bottom = floor > loan.callPrice ? floor : loan.callPrice + 1n;
    q = (bottom * BigInt(int(101, 130))) / 100n;
    const cost = roll < 0.5
      ? lo + 1n + (BigInt(Math.floor(rand() * 1e6)) * (hi - lo)) / 1_000_000n
      : roll < 0.85
      ? hi + (hi * BigInt(int(1, 50))) / 100n
      : (lo * BigInt(int(30, 100))) / 100n;
    volume = toLot(baseOf(cost, q, rate)) + (roll < 0.85 ? lot : 0n);
    if (roll < 0.5 && quoteOf(q, volume, rate) > hi) volume -= lot;
  }
  // As much of it as the other agents can pay for.
  for (const agentId of others) {
    if (q <= 0n || q > MAX_PRICE || volume <= 0n) break;
    const free = model.balances(agentId, bookId);
    const can = toLot(long ? baseOf(free.quoteFree, q, fee(agentId)) : free.baseFree);
    const part = can < volume ? can : volume;
    if (part <= 0n) continue;
    next.push({
      kind: "limit",
      agentId,
      bookId,
      direction: long ? "buy" : "sell",
      volume: part,
      price: q,
    });
    volume -= part;
  }
  send(next);
  return batches;
}

/** Leverages a margin stream draws from: whole, fractional, finer than the lot, too large. */
const LEVERAGES = ["0.5", "1", "2", "3", "4", "4", "1.23456789", "0.00001", "4.5"];
/** Leverages of a margin stream at the holdings bound: up to the largest allowed, and past it. */
const RANGE_LEVERAGES = ["0.5", "1", "4", "20", "50", "97.123456789", "98", "98", "98.5"];

/** A stream whose prices follow the touch of a model run alongside, so that orders cross. */
function generate(
  seed: number,
  config: ModelConfig,
  instructions: number,
  mode: Mode = "plain",
): Batch[] {
  const rand = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const model = new ExchangeModel(config);
  for (const tiers of extraPolicies(config)) model.addFeePolicy(tiers);
  const batches: Batch[] = [];
  let now = 1_000n;
  let count = 0;
  const extended = mode !== "plain" && mode !== "liquidation";
  const atTheBound = mode === "range" || mode === "marginRange";
  let policies = 1 + extraPolicies(config).length;
  let flooded = false;
  const quoteUnits = (amount: number) => toUnits(String(amount), config.quoteDecimals);
  // Tiers from volume 0 or above it, with rebates, zero fees and steep maker rates.
  const randomPolicy = (): FeeTier[] => {
    let threshold = rand() < 0.5 ? 0n : quoteUnits(int(1, 400));
    return Array.from({ length: int(1, 4) }, () => {
      const tier = {
        volumeRequired: threshold,
        makerE9: BigInt(pick([-300_000, -100_000, 0, 200_000, 1_000_000, 5_000_000, 30_000_000])),
        takerE9: BigInt(pick([-50_000, 0, 500_000, 2_000_000, 10_000_000])),
      };
      threshold += quoteUnits(int(1, 1500));
      return tier;
    });
  };
  // A record with one or two fields the core must refuse (or, for a few, must ignore).
  const corrupt = (record: RawRecord, rounds = rand() < 0.3 ? 2 : 1): RawRecord => {
    const r = { ...record };
    for (let round = 0; round < rounds; round++) {
      const field = int(0, 16);
      if (field === 0) r.kind = pick([0, 5, 6, 255]);
      else if (field === 1) r.direction = int(2, 255);
      else if (field === 2) r.currency = int(2, 255);
      else if (field === 3) r.timeInForce = int(4, 255);
      else if (field === 4) r.stp = int(5, 255);
      else if (field === 5) r.postOnly = int(2, 255);
      else if (field === 6) r.flags = pick([2, 0x16, 0x80, 0xFF]);
      else if (field === 7) r.pad0 = int(1, 255);
      else if (field === 8) {
        // The reserved word, or a sender without TX_IF_SENDER (which no flag above sets).
        const k = int(0, 5);
        if (k < 3) r.reserved = [1, 1 << 20, NONE][k];
        else r.senderId = [1, -1, AGENTS][k - 3];
      } else if (field === 9) {
        r.volume = pick([0n, -1n, -INT64_MAX - 1n, MAX_VOLUME, MAX_VOLUME + 1n, INT64_MAX]);
      } else if (field === 10) {
        r.price = pick([0n, -5n, MAX_PRICE, MAX_PRICE + 1n, INT64_MAX, -INT64_MAX - 1n]);
      } else if (field === 11) r.bookId = pick([config.books, 7, NONE - 1, NONE]);
      else if (field === 12) {
        r.agentId = pick([AGENTS, -1, -(2 ** 31), 2 ** 31 - 1, 1 << 20, -(1 << 20)]);
      } else if (field === 13) {
        // A cancel of an id never issued, gone, someone else's or none; or a partial one.
        r.kind = 3;
        r.orderId = pick([NONE, int(0, model.nextOrderId(0) + 2)]);
        r.flags = int(0, 1);
      } else if (field === 14) {
        // A GTT lifetime at or past the end of the clock (a market order ignores it).
        r.timeInForce = 1;
        r.expiryNs = pick([UINT64_MAX, UINT64_MAX - now, UINT64_MAX - now + 1n, 1n << 63n]);
      } else if (field === 15) {
        r.leverageE9 = pick([1n, 500_000_000n, 4_000_000_001n, INT64_MAX, -1n]);
        if (rand() < 0.3) r.currency = 1;
      } else {
        r.postOnly = 1;
        r.timeInForce = pick([2, 3]);
      }
    }
    return r;
  };
  // A quote amount of the same order as a base volume of `volume` units at about 100.
  const quoteAmount = (volume: bigint) =>
    (volume * BigInt(int(1, 1000)) * 10n ** BigInt(config.quoteDecimals)) /
    10n ** BigInt(config.baseDecimals + 1);
  // Expiry times of the GTT orders sent, so that some batches land on one exactly.
  const dues: bigint[] = [];
  const margin = (config.maxLeverageE9 ?? 0n) > 0n;
  // Cash streams send a few invalid leverages; margin streams lever a third of their orders
  // sized in base and one in twenty sized in quote.
  const leverage = (quote: boolean) => {
    if (!margin) return rand() < 0.02 ? BigInt(int(-1, 1) * 500_000_000) : 0n;
    if (rand() >= (quote ? 0.05 : 0.35)) return 0n;
    return toUnits(pick(atTheBound ? RANGE_LEVERAGES : LEVERAGES), 9);
  };
  if (extended) {
    // A steep maker rate, for agents switched to it while their buys rest at a lower one (their
    // fills' fees are cut to what they can pay); and rebates with no fee to make room for them.
    for (const addPolicy of STEEP_AND_REBATE) {
      model.addFeePolicy(addPolicy);
      batches.push({ now, instructions: [], addPolicy });
    }
    policies += STEEP_AND_REBATE.length;
    if (atTheBound) {
      // Every agent starts on rebates: none is paid until fees make room.
      for (let agentId = 0; agentId < AGENTS; agentId++) {
        const feePolicy = { agentId, policy: policies - 1 };
        model.setFeePolicy(agentId, feePolicy.policy);
        batches.push({ now, instructions: [], feePolicy });
      }
      batches.push(...rebatesPastTheBound(model, config, now));
    }
  }
  while (count < instructions) {
    if (mode === "liquidation" && rand() < 0.05) {
      const episode = liquidationEpisode(model, config, now, rand);
      batches.push(...episode);
      count += episode.reduce((sum, b) => sum + b.instructions.length, 0);
    }
    if (extended && rand() < 0.03) {
      if (policies < 16 && rand() < 0.3) {
        const tiers = randomPolicy();
        model.addFeePolicy(tiers);
        policies++;
        batches.push({ now, instructions: [], addPolicy: tiers });
      } else {
        const feePolicy = { agentId: int(0, AGENTS - 1), policy: int(0, policies - 1) };
        model.setFeePolicy(feePolicy.agentId, feePolicy.policy);
        batches.push({ now, instructions: [], feePolicy });
      }
    }
    if (atTheBound && !flooded && count >= instructions * 0.8) {
      // Bids of the largest volume at a tick or three until the side passes 2^62 units.
      flooded = true;
      const flood: Instruction[] = Array.from({ length: 520 }, (_, i) => ({
        kind: "limit",
        agentId: i % AGENTS,
        bookId: 0,
        direction: "buy",
        volume: MAX_VOLUME,
        price: BigInt(1 + (i % 3)),
      }));
      model.submit(now, flood);
      batches.push({ now, instructions: flood });
      count += flood.length;
    }
    if (rand() < 0.01) {
      const feePolicy = { agentId: int(0, AGENTS - 1), policy: int(0, policies - 1) };
      model.setFeePolicy(feePolicy.agentId, feePolicy.policy);
      batches.push({ now, instructions: [], feePolicy });
    }
    const step = rand();
    const due = dues.find((d) => d > now);
    if (step < 0.03) now += BigInt(int(20_000, 120_000));
    else if (step < 0.05) now = (now / config.feeSlotPeriodNs + 1n) * config.feeSlotPeriodNs;
    else if (step < 0.08 && due !== undefined) now = due;
    else now += BigInt(int(0, 2_000));
    const batch: Instruction[] = [];
    if (margin && rand() < 0.06) {
      // A price shock: a large order 12 % to 25 % through the touch sweeps its side, so that
      // the orders that follow the touch trade there and leveraged positions get called.
      const bookId = int(0, config.books - 1);
      const touch = model.touch(bookId);
      const direction = rand() < 0.5 ? "buy" as const : "sell" as const;
      const reference = direction === "buy" ? touch.ask : touch.bid;
      if (reference !== null) {
        batch.push({
          kind: "limit",
          agentId: int(0, AGENTS - 1),
          bookId,
          direction,
          volume: BigInt(int(3, 10)) * 10n ** BigInt(config.baseDecimals),
          price: (reference * BigInt(direction === "buy" ? int(112, 125) : int(75, 88))) / 100n,
          leverageE9: rand() < 0.5 ? toUnits(pick(["1", "3"]), 9) : 0n,
        });
      }
    }
    // Some calls only move the clock (`tx_advance`).
    for (let i = rand() < 0.03 ? 0 : int(1, 10); i > 0; i--) {
      const bookId = rand() < 0.01 ? 5 : int(0, config.books - 1);
      const agentId = bookId === 5 || rand() >= 0.01 ? int(0, AGENTS - 1) : 9;
      const direction = rand() < 0.5 ? "buy" as const : "sell" as const;
      const touch = model.touch(Math.min(bookId, config.books - 1));
      const center = touch.bid !== null && touch.ask !== null
        ? (touch.bid + touch.ask) / 2n
        : touch.bid ?? touch.ask ?? 10_000n;
      const clientOrderId = rand() < 0.5 ? null : int(0, 1000);
      let volume = BigInt(int(1, 30_000)) * 10n ** BigInt(config.baseDecimals - 4);
      // Margin streams sometimes ask for more than wealth or the loan limit allow.
      if (margin && rand() < 0.05) volume *= 10n;
      if (rand() < 0.02) volume = BigInt(-int(0, 3));
      if (atTheBound) {
        volume *= 1n << BigInt(int(0, 36));
        if (rand() < 0.03) volume = pick([MAX_VOLUME, MAX_VOLUME + 1n]);
      }
      const before = batch.length;
      const roll = rand();
      if (roll < 0.005) {
        batch.push({ kind: "reset", agentId });
      } else if (roll < 0.04 && agentId < AGENTS && bookId < config.books) {
        // All in: an order sized at the edge of what the account can pay, or one unit past it.
        const free = model.balances(agentId, bookId);
        const over = BigInt(int(0, 1));
        if (direction === "sell") {
          batch.push({ kind: "market", agentId, bookId, direction, volume: free.baseFree + over });
        } else {
          // The largest quote amount whose trunc(amount * (1 + taker rate)) fits the free quote.
          const rate = 1_000_000_000n + model.rates(agentId, bookId).takerE9;
          const amount = (free.quoteFree * 1_000_000_000n + rate - 1n) / rate;
          const fits = (amount * rate) / 1_000_000_000n <= free.quoteFree ? amount : amount - 1n;
          if (rand() < 0.5) {
            batch.push({
              kind: "market",
              agentId,
              bookId,
              direction,
              volume: fits + over,
              currency: "quote",
              stp: pick(STPS),
            });
          } else {
            // A limit buy that crosses part of the book and rests the rest.
            batch.push({
              kind: "limit",
              agentId,
              bookId,
              direction,
              volume: fits + over - BigInt(int(0, 3)),
              currency: "quote",
              price: (touch.ask ?? 10_000n) + BigInt(int(0, 10)),
              stp: pick(STPS),
            });
          }
        }
      } else if (roll < 0.5) {
        const tif = pick(["GTC", "GTC", "GTT", "IOC", "FOK"] as const);
        const quote = rand() < 0.15;
        batch.push({
          kind: "limit",
          agentId,
          bookId,
          direction,
          volume: quote ? quoteAmount(volume) : volume,
          currency: quote ? "quote" : "base",
          price: rand() < 0.02 ? BigInt(-int(0, 2)) : center + BigInt(int(-25, 25)),
          clientOrderId,
          stp: pick(STPS),
          timeInForce: tif,
          postOnly: rand() < 0.12,
          expiryNs: tif === "GTT" && rand() < 0.9 ? BigInt(int(0, 8_000)) : undefined,
          leverageE9: leverage(quote),
        });
      } else if (roll < 0.7) {
        const quote = rand() < 0.3;
        batch.push({
          kind: "market",
          agentId,
          bookId,
          direction,
          volume: quote ? quoteAmount(volume) : volume,
          currency: quote ? "quote" : "base",
          clientOrderId,
          stp: pick(STPS),
          leverageE9: leverage(quote),
        });
      } else {
        const live = model.liveOrders(Math.min(bookId, config.books - 1));
        const mine = live.filter((o) => o.agentId === agentId);
        const foreign = live.filter((o) => o.agentId !== agentId);
        const next = model.nextOrderId(Math.min(bookId, config.books - 1));
        const which = rand();
        const target = which < 0.6 && mine.length > 0
          ? pick(mine)
          : which < 0.75 && foreign.length > 0
          ? pick(foreign)
          : null;
        const orderId = target?.id ?? (rand() < 0.8 ? int(0, next) : int(0, 1 << 30));
        const base = target?.volume ?? 10_000n;
        batch.push({
          kind: "cancel",
          agentId,
          bookId,
          orderId,
          volume: rand() < 0.5 ? null : rand() < 0.03 ? -1n : (base * BigInt(int(0, 120))) / 100n,
        });
      }
      if (extended && batch.length > before) {
        const last = batch[batch.length - 1];
        if (atTheBound && last.kind === "limit" && rand() < 0.05) {
          last.price = pick([1n, 2n, MAX_PRICE - 1n, MAX_PRICE, MAX_PRICE + 1n]);
        }
        if (rand() < 0.08) {
          batch[batch.length - 1] = { kind: "raw", record: corrupt(recordOf(last)) };
        }
      }
    }
    for (const i of batch) {
      if (i.kind === "limit" && i.expiryNs !== undefined) dues.push(now + i.expiryNs);
    }
    dues.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    model.submit(now, batch);
    batches.push({ now, instructions: batch });
    count += Math.max(1, batch.length);
    const allIn = batch.find((i) => i.kind === "limit" && i.currency === "quote");
    if (extended && allIn !== undefined && allIn.kind === "limit" && rand() < 0.5) {
      // Its buy rests reserved at the old maker rate; the steep one applies to its fills.
      const feePolicy = { agentId: allIn.agentId, policy: 1 + extraPolicies(config).length };
      if (feePolicy.agentId >= 0 && feePolicy.agentId < AGENTS) {
        model.setFeePolicy(feePolicy.agentId, feePolicy.policy);
        batches.push({ now, instructions: [], feePolicy });
      }
    }
  }
  return batches;
}

/** Packs a call's instructions into `batch`; with raw records among them, returns the records
 * to send instead (the batch's, raw ones written over their placeholders). */
function pack(instructions: Instruction[], batch: InstructionBatch): Uint8Array | null {
  batch.clear();
  for (const instruction of instructions) {
    append(batch, instruction.kind === "raw" ? { kind: "reset", agentId: 0 } : instruction);
  }
  if (!instructions.some((i) => i.kind === "raw")) return null;
  const records = batch.bytes.slice();
  const view = new DataView(records.buffer);
  instructions.forEach((instruction, index) => {
    if (instruction.kind === "raw") writeRecord(view, index * RECORD_SIZE, instruction.record);
  });
  return records;
}

const show = (value: unknown) =>
  JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));

/** The first disagreement between `core` and `model` events, or null. */
function compareEvents(core: ExchangeEvent[], model: Record<string, unknown>[]): string | null {
  for (let i = 0; i < Math.max(core.length, model.length); i++) {
    const expected = model[i];
    const actual = core[i] as unknown as Record<string, unknown> | undefined;
    if (expected === undefined || actual === undefined) {
      return `event ${i}: core ${show(actual ?? null)}, model ${show(expected ?? null)}`;
    }
    for (const [key, value] of Object.entries(expected)) {
      if (actual[key] !== value) {
        return `event ${i} field ${key}: core ${show(actual[key])}, model ${show(value)}\n` +
          `  core  ${show(actual)}\n  model ${show(expected)}`;
      }
    }
  }
  return null;
}

/** The first disagreement in state after a batch, or null. */
function compareState(
  exchange: Exchange,
  model: ExchangeModel,
  config: ModelConfig,
  seen: Map<string, number>,
) {
  for (let bookId = 0; bookId < config.books; bookId++) {
    for (const side of ["bids", "asks"] as const) {
      const core = show(exchange.levels(bookId, side));
      const expected = show(model.levels(bookId, side));
      if (core !== expected) return `book ${bookId} ${side}: core ${core}, model ${expected}`;
    }
    const coreOrders = new Map<number, unknown>();
    for (let agentId = 0; agentId < config.agents; agentId++) {
      const core = show(exchange.balances(agentId, bookId));
      const expected = show(model.balances(agentId, bookId));
      if (core !== expected) {
        return `agent ${agentId} book ${bookId} balances: core ${core}, model ${expected}`;
      }
      const loans = exchange.loans(agentId, bookId);
      for (const loan of loans) {
        const kind = loan.direction === "buy" ? "long loan" : "short loan";
        seen.set(kind, (seen.get(kind) ?? 0) + 1);
      }
      const coreLoans = show(loans);
      const modelLoans = show(model.loans(agentId, bookId));
      if (coreLoans !== modelLoans) {
        return `agent ${agentId} book ${bookId} loans: core ${coreLoans}, model ${modelLoans}`;
      }
      const fees = exchange.feeState(agentId, bookId);
      const modelFees = model.feeState(agentId, bookId);
      seen.set(`tier ${fees.tier}`, (seen.get(`tier ${fees.tier}`) ?? 0) + 1);
      if (fees.volume !== modelFees.volume || fees.tier !== modelFees.tier) {
        return `agent ${agentId} book ${bookId} fees: core ${show(fees)}, model ${show(modelFees)}`;
      }
      for (const o of exchange.agentOrders(agentId, bookId)) {
        coreOrders.set(
          o.orderId,
          [
            o.orderId,
            o.agentId,
            o.price,
            o.volume,
            o.timestamp,
            o.leverageE9,
            o.reservedBase,
            o.reservedQuote,
          ].map(BigInt),
        );
      }
    }
    for (const side of ["bids", "asks"] as const) {
      for (const expected of model.orders(bookId, side)) {
        const id = Number(expected[0]);
        const core = show(coreOrders.get(id) ?? null);
        if (core !== show(expected)) {
          return `book ${bookId} order ${id}: core ${core}, model ${show(expected)}`;
        }
        coreOrders.delete(id);
      }
    }
    if (coreOrders.size > 0) {
      return `book ${bookId}: core has orders ${show([...coreOrders.keys()])}`;
    }
  }
  return null;
}

interface Mismatch {
  batch: number;
  message: string;
}

/** What kind of event this is, for counting what a stream covered. */
function eventKind(e: ExchangeEvent): string {
  if (e.type === "rejected") return `rejected ${e.reason}${e.expiry ? " (expiry)" : ""}`;
  if (e.type === "cancelled") return `cancelled ${e.cause}${e.partial ? " partial" : ""}`;
  if (e.type === "accepted" || e.type === "trade") return `${e.type}${e.market ? " market" : ""}`;
  return e.type;
}

/** Runs a stream through a fresh core and a fresh model; the first mismatch, or null. Counts
 * the core's events by kind into `seen`. */
function run(config: ModelConfig, stream: Batch[], seen = new Map<string, number>()) {
  const exchange = Exchange.open(config);
  const model = new ExchangeModel(config);
  for (const tiers of extraPolicies(config)) {
    exchange.addFeePolicy(tiers);
    model.addFeePolicy(tiers);
  }
  const batch = new InstructionBatch();
  try {
    for (let i = 0; i < stream.length; i++) {
      const { feePolicy, addPolicy } = stream[i];
      const instructed = feePolicy === undefined && addPolicy === undefined;
      if (feePolicy !== undefined) {
        exchange.setFeePolicy(feePolicy.agentId, feePolicy.policy);
        model.setFeePolicy(feePolicy.agentId, feePolicy.policy);
        seen.set("fee policy switch", (seen.get("fee policy switch") ?? 0) + 1);
      } else if (addPolicy !== undefined) {
        assert.equal(exchange.addFeePolicy(addPolicy), model.addFeePolicy(addPolicy));
        seen.set("fee policy added", (seen.get("fee policy added") ?? 0) + 1);
      } else if (stream[i].instructions.length === 0) exchange.advance(stream[i].now);
      else {
        const records = pack(stream[i].instructions, batch);
        if (records === null) exchange.submit(stream[i].now, batch);
        else exchange.submitRecords(stream[i].now, records);
      }
      const expected = instructed ? model.submit(stream[i].now, stream[i].instructions) : [];
      const events = exchange.drainEvents();
      for (const e of events) seen.set(eventKind(e), (seen.get(eventKind(e)) ?? 0) + 1);
      const message = compareEvents(events, expected) ??
        compareState(exchange, model, config, seen);
      if (message !== null) return { batch: i, message } as Mismatch;
    }
    for (const [path, n] of model.counts) seen.set(path, (seen.get(path) ?? 0) + n);
    return null;
  } finally {
    exchange.close();
  }
}

/** A mismatch's kind: its message's first clause without the numbers (which shift as a stream
 * shrinks), so that shrinking keeps to the same disagreement. */
function kindOf(mismatch: Mismatch): string {
  return mismatch.message.split(":")[0].replace(/\d+/g, "#");
}

/** One instruction with its batch time, or (null) a call that only moves the clock, switches a
 * fee policy or adds one. */
interface Step {
  now: bigint;
  instruction: Instruction | null;
  feePolicy?: Batch["feePolicy"];
  addPolicy?: Batch["addPolicy"];
}

/**
 * Shrinks a mismatching stream (delta debugging over its instructions, each keeping its batch
 * time, and its clock-only calls): drops chunks of halving size while the same kind of mismatch
 * remains.
 */
function shrink(config: ModelConfig, stream: Batch[], first: Mismatch): Batch[] {
  const kind = kindOf(first);
  let items = stream.slice(0, first.batch + 1).flatMap((b): Step[] =>
    b.instructions.length === 0
      ? [{ now: b.now, instruction: null, feePolicy: b.feePolicy, addPolicy: b.addPolicy }]
      : b.instructions.map((instruction) => ({ now: b.now, instruction }))
  );
  const regroup = (list: Step[]): Batch[] => {
    const batches: Batch[] = [];
    for (const { now, instruction, feePolicy, addPolicy } of list) {
      const last = batches.at(-1);
      if (instruction === null) batches.push({ now, instructions: [], feePolicy, addPolicy });
      else if (last !== undefined && last.now === now && last.instructions.length > 0) {
        last.instructions.push(instruction);
      } else batches.push({ now, instructions: [instruction] });
    }
    return batches;
  };
  const fails = (list: Step[]) => {
    try {
      const mismatch = list.length > 0 ? run(config, regroup(list)) : null;
      return mismatch !== null && kindOf(mismatch) === kind;
    } catch {
      // Without a fee policy it added, a stream's later switches name a policy that is not there.
      return false;
    }
  };
  const deadline = Date.now() + 60_000;
  for (let chunk = Math.ceil(items.length / 2); chunk >= 1; chunk = Math.floor(chunk / 2)) {
    for (let at = items.length - chunk; at >= 0 && Date.now() < deadline; at -= chunk) {
      const candidate = [...items.slice(0, at), ...items.slice(at + chunk)];
      if (fails(candidate)) items = candidate;
    }
    if (chunk === 1) break;
  }
  return regroup(items);
}

// Seeds 1 to 10 cover quote at 8, 4 and 2 decimals, lots coarser than the base unit, 3 price
// decimals and 6 base decimals, one and two books; the margin seeds likewise (a low loan limit
// on those with quote at 8 decimals), picked among margin seeds that each produce
// every outcome below, write-offs included.
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const MARGIN_SEEDS = [124, 128, 147, 169, 171, 206];
/** Extended streams (fee policies added mid-stream, malformed records): cash and margin. */
const EXTENDED_SEEDS = [14, 18, 21, 25, 133, 404];
/** Range streams, at the holdings bound. */
const RANGE_SEEDS = [22, 27, 29];
const MARGIN_RANGE_SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);
/** Outcomes every seed's stream must produce (core events by kind, and fee tiers reached). */
const COVERED = [
  "trade",
  "trade market",
  "placed",
  "remainderDropped",
  "stpReduced",
  "cancelled request",
  "cancelled request partial",
  "cancelled stp",
  "cancelled stp partial",
  "cancelled reset",
  "reset",
  "expired",
  "rejected ORDER_NOT_FOUND",
  "rejected ORDER_NOT_FOUND (expiry)",
  "rejected INSUFFICIENT_BASE",
  "rejected INSUFFICIENT_QUOTE",
  "rejected CONTRACT_VIOLATION",
  "rejected EMPTY_BOOK",
  "rejected INVALID_VOLUME",
  "rejected INVALID_PRICE",
  "rejected INVALID_LEVERAGE",
  "tier 1",
  "fee policy switch",
];
/** What margin streams must produce besides. */
const MARGIN_COVERED = [
  "long loan",
  "short loan",
  "marginCall",
  "cancelled marginCall",
  "loanSettled",
  "rejected EXCEEDING_LOAN",
  "leveraged quote limit",
  "leveraged quote market",
];
/** What extended streams must produce besides. */
const EXTENDED_COVERED = [
  "fee policy added",
  "maker fee cut",
  "rejected INVALID_INSTRUCTION",
  "rejected INVALID_BOOK",
  "rejected NONEXISTENT_ACCOUNT",
  "rejected INVALID_EXPIRY",
];
/** What every stream at the holdings bound must produce, cash or margin. */
const AT_THE_BOUND_COVERED = [
  "rebate limited",
  "rejected HOLDINGS_LIMIT",
  "rejected BOOK_VOLUME_LIMIT",
  "fill refused at the holdings bound",
  "cancelled unfunded",
  "aggressing buy halted",
];
/** What range streams must produce (their all-in orders are too large to cut a maker fee). */
const RANGE_COVERED = [
  ...EXTENDED_COVERED.filter((kind) => kind !== "maker fee cut"),
  ...AT_THE_BOUND_COVERED,
  "fill-or-kill refused near the bound",
];
/** What margin streams at the bound must produce (leveraged quote orders: between them). */
const MARGIN_RANGE_COVERED = [
  ...MARGIN_COVERED.filter((kind) =>
    kind !== "loanSettled" && kind !== "rejected EXCEEDING_LOAN" && !kind.startsWith("leveraged")
  ),
  ...AT_THE_BOUND_COVERED,
];
/** Margin streams of retried liquidations (seeds spread over the configurations as above, each
 * among those that reach every path below several times); what each must produce. */
const LIQUIDATION_SEEDS = [104, 108, 111, 124, 131, 139, 146, 150];
const LIQUIDATION_COVERED = [
  "marginCall",
  "cancelled marginCall",
  "loanSettled",
  "liquidation retried",
  "liquidation retried and refused again",
  "called again after repaying older loans",
];
const LIQUIDATION_INSTRUCTIONS = 2_000;
const INSTRUCTIONS = 4_000;
const MARGIN_INSTRUCTIONS = 3_000;
const EXTENDED_INSTRUCTIONS = 3_000;
const RANGE_INSTRUCTIONS = 2_000;

/** What the extended streams of this run produced between them, and how many of them ran. */
const seenByExtended = new Set<string>();
let extendedRuns = 0;
/** What the extended streams must produce between them: outcomes too rare to ask of each. */
const EXTENDED_JOINTLY_COVERED = ["fill kept off the rest's reservation"];
/** The same for the margin streams at the bound: the lending limit, collateral arithmetic past
 * 128 bits (where the core computes in 256), and the two margin-call paths a core that differed
 * from the model only there would otherwise pass unseen: a loan's call price made stricter by a
 * later fill, and a loan called again after its liquidation repaid only older loans. */
const seenByMarginRange = new Set<string>();
let marginRangeRuns = 0;
const MARGIN_RANGE_JOINTLY_COVERED = [
  "leveraged quote limit",
  "leveraged quote market",
  "fill refused at the lending limit",
  "halted at the lending limit",
  "fill-or-kill refused near the bound",
  "collateral split past 128 bits",
  "loan limit past 128 bits",
  "rejected EXCEEDING_LOAN",
  "call price made stricter by a later fill",
  "called again after repaying older loans",
];

/** Checks one seed's stream; returns the number of instructions it sent. */
function check(seed: number, instructions: number, covered: string[], mode: Mode = "plain") {
  const config = configFor(seed, mode);
  const stream = generate(seed, config, instructions, mode);
  const seen = new Map<string, number>();
  const mismatch = run(config, stream, seen);
  if (mode === "extended") {
    extendedRuns++;
    for (const kind of seen.keys()) seenByExtended.add(kind);
  }
  if (mode === "marginRange") {
    marginRangeRuns++;
    for (const kind of seen.keys()) seenByMarginRange.add(kind);
  }
  if (mismatch === null) {
    const missing = covered.filter((kind) => !seen.has(kind));
    assert.deepEqual(missing, [], `the stream should produce every kind of outcome`);
    return stream.reduce((sum, b) => sum + b.instructions.length, 0);
  }
  const minimal = shrink(config, stream, mismatch);
  const again = run(config, minimal) ?? mismatch;
  assert.fail(
    `seed ${seed}, batch ${mismatch.batch} (time ${stream[mismatch.batch].now}): ` +
      `${mismatch.message}\nminimal reproducer (${minimal.length} batches), failing at batch ` +
      `${again.batch}: ${again.message}\nconfig ${show(config)}\nstream ${show(minimal)}`,
  );
}

/**
 * `stream` with records flagged TX_IF_AFTER_RESET around each reset: copies of the batch's
 * instructions given to the reset agent, one before the reset (which runs) and all after it (which
 * the core drops if the reset was accepted), and copies after it for another agent (which run).
 * Then the copies as one response (TX_IF_JOINED after its first record) for the other agent sent
 * by the reset one (dropped whole if the reset was accepted), and for the reset agent sent by the
 * other (which runs).
 */
function flaggedAroundResets(stream: Batch[]): Batch[] {
  return stream.map((b) => {
    const at = b.instructions.findIndex((i) => i.kind === "reset");
    const placed = b.instructions.filter((i) => i.kind !== "raw" && i.kind !== "reset");
    if (at < 0 || placed.length === 0) return b;
    const reset = b.instructions[at] as { kind: "reset"; agentId: number };
    const flagged = (i: Instruction, agentId: number): Instruction => ({
      kind: "raw",
      record: { ...recordOf(i), agentId, flags: recordOf(i).flags | 2 },
    });
    const other = (reset.agentId + 1) % AGENTS;
    // TX_IF_AFTER_RESET | TX_IF_SENDER on the response's first record, TX_IF_JOINED on the rest.
    const response = (agentId: number, senderId: number): Instruction[] =>
      placed.map((i, k) => ({
        kind: "raw",
        record: k === 0
          ? { ...recordOf(i), agentId, senderId, flags: recordOf(i).flags | 2 | 4 }
          : { ...recordOf(i), agentId, flags: recordOf(i).flags | 8 },
      }));
    return {
      ...b,
      instructions: [
        ...b.instructions.slice(0, at),
        flagged(placed[0], reset.agentId),
        reset,
        ...placed.map((i) => flagged(i, reset.agentId)),
        ...placed.map((i) => flagged(i, other)),
        ...response(other, reset.agentId),
        ...response(reset.agentId, other),
        ...b.instructions.slice(at + 1),
      ],
    };
  });
}

Deno.test("core and model agree on records flagged to be dropped after a reset of their sender", () => {
  const config = configFor(SEEDS[0]);
  const stream = flaggedAroundResets(generate(SEEDS[0], config, INSTRUCTIONS, "plain"));
  const seen = new Map<string, number>();
  const mismatch = run(config, stream, seen);
  assert.equal(mismatch, null, mismatch?.message ?? "");
  // Each reset dropped its agent's flagged copies after it; the others ran.
  assert.ok((seen.get("rejected AGENT_RESET") ?? 0) > 0, show([...seen]));
  assert.ok((seen.get("reset") ?? 0) > 0);
});

for (const seed of SEEDS) {
  Deno.test(`core and model agree on a random cash stream (seed ${seed})`, () => {
    check(seed, INSTRUCTIONS, COVERED);
  });
}
for (const seed of MARGIN_SEEDS) {
  Deno.test(`core and model agree on a random margin stream (seed ${seed})`, () => {
    check(seed, MARGIN_INSTRUCTIONS, [...COVERED, ...MARGIN_COVERED]);
  });
}
for (const seed of EXTENDED_SEEDS) {
  const margin = seed >= LEVERAGED;
  Deno.test(
    `core and model agree on a ${margin ? "margin" : "cash"} stream with fee policies added ` +
      `as it trades and malformed records (seed ${seed})`,
    () => {
      check(seed, EXTENDED_INSTRUCTIONS, [
        ...COVERED,
        ...EXTENDED_COVERED,
        ...(margin ? MARGIN_COVERED : []),
      ], "extended");
    },
  );
}
Deno.test("the extended streams together produce the outcomes too rare to ask of each", () => {
  // Judged only when every extended stream ran before (not under a --filter that left some out).
  if (extendedRuns < EXTENDED_SEEDS.length) return;
  assert.deepEqual(EXTENDED_JOINTLY_COVERED.filter((kind) => !seenByExtended.has(kind)), []);
});
for (const seed of RANGE_SEEDS) {
  Deno.test(`core and model agree on a stream at the holdings bound (seed ${seed})`, () => {
    check(seed, RANGE_INSTRUCTIONS, RANGE_COVERED, "range");
  });
}
for (const seed of MARGIN_RANGE_SEEDS) {
  Deno.test(`core and model agree on a margin stream at the holdings bound (seed ${seed})`, () => {
    check(seed, RANGE_INSTRUCTIONS, MARGIN_RANGE_COVERED, "marginRange");
  });
}
Deno.test("the margin streams at the bound together reach the lending limit and 256-bit arithmetic", () => {
  if (marginRangeRuns < MARGIN_RANGE_SEEDS.length) return;
  assert.deepEqual(
    MARGIN_RANGE_JOINTLY_COVERED.filter((kind) => !seenByMarginRange.has(kind)),
    [],
  );
});

for (const seed of LIQUIDATION_SEEDS) {
  Deno.test(`core and model agree on a margin stream of retried liquidations (seed ${seed})`, () => {
    check(seed, LIQUIDATION_INSTRUCTIONS, LIQUIDATION_COVERED, "liquidation");
  });
}

// More seeds outside CI: DIFFERENTIAL_SEEDS=1000-1999 (seeds of LEVERAGED and up trade on margin),
// each as a plain, an extended, a range (cash) and a margin range stream, and a margin seed as a
// stream of retried liquidations too.
const extra = /^(\d+)-(\d+)$/.exec(Deno.env.get("DIFFERENTIAL_SEEDS") ?? "");
if (extra !== null) {
  Deno.test(`core and model agree on seeds ${extra[1]} to ${extra[2]}`, () => {
    let instructions = 0;
    for (let seed = Number(extra[1]); seed <= Number(extra[2]); seed++) {
      const length = seed >= LEVERAGED ? MARGIN_INSTRUCTIONS : INSTRUCTIONS;
      instructions += check(seed, length, []) + check(seed, length, [], "extended") +
        check(seed, INSTRUCTIONS, [], "range") +
        check(seed, RANGE_INSTRUCTIONS, [], "marginRange") +
        (seed >= LEVERAGED ? check(seed, LIQUIDATION_INSTRUCTIONS, [], "liquidation") : 0);
    }
    console.log(`${instructions} instructions checked`);
  });
}
