/**
 * The exchange core (C, `include/taos_exchange.h`) as a TypeScript class: one {@linkcode Exchange}
 * owns one native handle. Instructions are packed into one flat buffer per batch
 * ({@linkcode InstructionBatch}); events come back as typed objects. Every quantity is a scaled
 * integer (`bigint`), never a float: prices in ticks of 10^-priceDecimals, volumes and base in
 * 10^-baseDecimals, quote and fees in 10^-quoteDecimals, rates and leverage in 10^-9.
 *
 * ```ts
 * import { Exchange, InstructionBatch, toUnits } from "./exchange.ts";
 * const exchange = Exchange.open({
 *   books: 1, agents: 2, priceDecimals: 2, volumeDecimals: 4, baseDecimals: 4, quoteDecimals: 8,
 *   initialBase: toUnits("100", 4), initialQuote: toUnits("10000", 8),
 *   feeTiers: [{ volumeRequired: 0n, makerE9: 0n, takerE9: 0n }],
 * });
 * const batch = new InstructionBatch();
 * batch.limit({ agentId: 0, bookId: 0, direction: "buy", volume: 20000n, price: 10000n });
 * exchange.submit(1_000n, batch);
 * console.log(exchange.drainEvents());
 * exchange.close();
 * ```
 * @module
 */
import { cString, ERROR_TEXT_BYTES, errorText, native } from "./ffi.ts";

const INSTRUCTION_SIZE = 64;
const EVENT_SIZE = 112;
const CONFIG_SIZE = 472;
const ORDER_SIZE = 72;
const BALANCES_SIZE = 64;
const FEE_STATE_SIZE = 32;
const BOOK_INFO_SIZE = 64;
const LOAN_SIZE = 56;
const MAX_FEE_TIERS = 16;
const NONE = 0xFFFF_FFFF;
/** Instruction flags: `TX_IF_AFTER_RESET`, `TX_IF_SENDER`, `TX_IF_JOINED`. */
const AFTER_RESET = 0x02;
const SENDER = 0x04;
const JOINED = 0x08;
const littleEndian = true;

/** API return codes of the core (`TX_ERR_*`). */
export const ExchangeCode = {
  ok: 0,
  argument: 1,
  config: 2,
  noMemory: 3,
  book: 4,
  agent: 5,
  exists: 6,
  time: 7,
  busy: 8,
  notFound: 9,
  corrupt: 10,
  limit: 11,
} as const;

/** A failed call into the core: `code` is the `TX_ERR_*` value, `codeName` its C name. */
export class ExchangeError extends Error {
  override name = "ExchangeError";
  /** Creates the error for a core return code, with optional detail from the core. */
  constructor(readonly code: number, readonly codeName: string, detail?: string) {
    super(detail ? `${codeName}: ${detail}` : codeName);
  }
}

/** Throws an {@linkcode ExchangeError} for any return code but `TX_OK`. */
function unwrap(code: number, detail?: string): void {
  if (code === ExchangeCode.ok) return;
  throw new ExchangeError(code, cString(native().tx_errstr(code)), detail);
}

/** Like {@linkcode unwrap} for list snapshots: a negative result is a negated code. */
function unwrapCount(result: number | bigint): number {
  const count = Number(result);
  if (count < 0) unwrap(-count);
  return count;
}

/** Order side. */
export type Direction = "buy" | "sell";
/** Unit of a placement's `volume`. */
export type Currency = "base" | "quote";
/** Time in force of a limit order. */
export type TimeInForce = "GTC" | "GTT" | "IOC" | "FOK";
/** Self-trade prevention: none, cancel oldest (resting), newest (aggressing), both, or decrement. */
export type SelfTradePrevention = "NONE" | "CO" | "CN" | "CB" | "DC";

const directions: readonly Direction[] = ["buy", "sell"];
const currencies: readonly Currency[] = ["base", "quote"];
const timesInForce: readonly TimeInForce[] = ["GTC", "GTT", "IOC", "FOK"];
const stpFlags: readonly SelfTradePrevention[] = ["NONE", "CO", "CN", "CB", "DC"];

/** Fields every placement shares. Omitted options take the reference defaults. */
export interface Placement {
  agentId: number;
  bookId: number;
  direction: Direction;
  /** Base units, or quote units when `currency` is `"quote"`. */
  volume: bigint;
  currency?: Currency;
  stp?: SelfTradePrevention;
  /** 10^-9 units; 0 (default) is a cash order. */
  leverageE9?: bigint;
  clientOrderId?: number | null;
}

/** A limit order placement. */
export interface LimitPlacement extends Placement {
  /** Ticks. */
  price: bigint;
  timeInForce?: TimeInForce;
  postOnly?: boolean;
  /** GTT lifetime in ns from processing (0: cancelled after the call's instructions); without
   * it a GTT order is a GTC order. */
  expiryNs?: bigint;
}

/** A cancel of one resting order; `volume` (base units) absent cancels it whole. */
export interface Cancellation {
  agentId: number;
  bookId: number;
  orderId: number;
  volume?: bigint | null;
}

const INT64_MIN = -(1n << 63n);
const UINT64_LIMIT = 1n << 64n;

/**
 * Throws `code` naming `field` unless `value` is a bigint: the FFI would read NaN as 0 and 7.9 as
 * 7, and a DataView refuses a number with a message that names no field.
 */
function bigintOnly(value: bigint, field: string, code: number = ExchangeCode.argument): bigint {
  if (typeof value !== "bigint") unwrap(code, `${field}: ${String(value)} is not a bigint`);
  return value;
}

/**
 * A volume, price or leverage outside int64 becomes INT64_MIN, which the core rejects with that
 * field's reason: packed as it is, it would wrap modulo 2^64 (2^64 + 5 units into 5).
 */
function rejectable(value: bigint, field: string): bigint {
  bigintOnly(value, field);
  return value >= INT64_MIN && value < -INT64_MIN ? value : INT64_MIN;
}

/** `value` when it fits the core's int64 (or uint64) `field`; else throws `code` naming it. */
function fitting(value: bigint, field: string, code: number, unsigned = false): bigint {
  bigintOnly(value, field, code);
  const [low, high] = unsigned ? [0n, UINT64_LIMIT] : [INT64_MIN, -INT64_MIN];
  if (value < low || value >= high) {
    unwrap(code, `${field}: ${value} is outside ${unsigned ? "0 to 2^64 - 1" : "int64"}`);
  }
  return value;
}

/** A configuration amount: an int64, or TX_ERR_CONFIG naming it. */
function configAmount(value: bigint, field: string): bigint {
  return fitting(value, field, ExchangeCode.config);
}

/** A balance argument: an int64, or TX_ERR_ARGUMENT naming it. */
function argument(value: bigint, field: string): bigint {
  return fitting(value, field, ExchangeCode.argument);
}

/** A clock time: a uint64, or TX_ERR_TIME. */
function clockTime(nowNs: bigint): bigint {
  return fitting(nowNs, "nowNs", ExchangeCode.time, true);
}

/** Ids outside the core's u32 range become an id no book or order has, so the core rejects them.
 * -0 becomes 0 (the FFI refuses -0 as an integer). */
function u32(value: number): number {
  return Number.isInteger(value) && value >= 0 && value < NONE ? value + 0 : NONE;
}

/** Agent ids outside i32 become one the core has no account for; -0 becomes 0. */
function i32(value: number): number {
  return Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7FFF_FFFF
    ? value + 0
    : -0x8000_0000;
}

/** The core's code of a snapshot side, or TX_ERR_ARGUMENT naming it. */
function sideCode(side: Side): number {
  const code = side === "bids" ? 0 : side === "asks" ? 1 : -1;
  if (code < 0) {
    unwrap(ExchangeCode.argument, `side: ${JSON.stringify(side)} is neither "bids" nor "asks"`);
  }
  return code;
}

/**
 * A batch of instructions packed into one flat buffer of 64-byte records, processed by
 * {@linkcode Exchange.submit} in order. Reusable: {@linkcode InstructionBatch.clear} keeps the
 * memory.
 */
export class InstructionBatch {
  #bytes: Uint8Array;
  #view: DataView;
  #count = 0;

  /** Creates an empty batch with room for `capacity` instructions (it grows as needed). */
  constructor(capacity = 64) {
    this.#bytes = new Uint8Array(Math.max(1, capacity) * INSTRUCTION_SIZE);
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Number of instructions in the batch. */
  get length(): number {
    return this.#count;
  }

  /** The packed records (a view of the first `length` records). */
  get bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#count * INSTRUCTION_SIZE);
  }

  /** Empties the batch. */
  clear(): void {
    this.#count = 0;
  }

  #next(kind: number, agentId: number, bookId: number): number {
    if ((this.#count + 1) * INSTRUCTION_SIZE > this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2);
      grown.set(this.#bytes);
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    const offset = this.#count++ * INSTRUCTION_SIZE;
    this.#bytes.fill(0, offset, offset + INSTRUCTION_SIZE);
    this.#view.setUint8(offset, kind);
    this.#view.setInt32(offset + 8, i32(agentId), littleEndian);
    this.#view.setUint32(offset + 12, u32(bookId), littleEndian);
    this.#view.setUint32(offset + 16, NONE, littleEndian);
    this.#view.setUint32(offset + 20, NONE, littleEndian);
    return offset;
  }

  /** Marks the record at `offset` malformed (a non-zero padding byte), so that the core rejects
   * it as INVALID_INSTRUCTION: for a field value the record cannot hold. */
  #malformed(offset: number): void {
    this.#view.setUint8(offset + 7, 1);
  }

  /** Appends a placement's shared fields. Values are checked before anything is appended, so that
   * one the record cannot take throws with the batch unchanged. */
  #placement(kind: number, order: Placement): number {
    const volume = rejectable(order.volume, "volume");
    const leverage = rejectable(order.leverageE9 ?? 0n, "leverageE9");
    const offset = this.#next(kind, order.agentId, order.bookId);
    const view = this.#view;
    view.setUint8(offset + 1, directions.indexOf(order.direction));
    view.setUint8(offset + 2, currencies.indexOf(order.currency ?? "base"));
    view.setUint8(offset + 4, stpFlags.indexOf(order.stp ?? "CO"));
    const client = order.clientOrderId ?? null;
    if (client !== null) {
      // TX_NONE is "no client id": an id outside 0 to 2^32 - 2 must not become one.
      if (u32(client) === NONE) this.#malformed(offset);
      else view.setUint32(offset + 16, client, littleEndian);
    }
    view.setBigInt64(offset + 24, volume, littleEndian);
    view.setBigInt64(offset + 40, leverage, littleEndian);
    return offset;
  }

  /** Appends a limit order placement. */
  limit(order: LimitPlacement): void {
    const price = rejectable(order.price, "price");
    const expiry = bigintOnly(order.expiryNs ?? 0n, "expiryNs");
    const offset = this.#placement(1, order);
    // A GTT order without a lifetime is a GTC order (a lifetime of 0 expires it at once).
    const tif = order.timeInForce === "GTT" && order.expiryNs === undefined
      ? "GTC"
      : order.timeInForce ?? "GTC";
    this.#view.setUint8(offset + 3, timesInForce.indexOf(tif));
    this.#view.setUint8(offset + 5, order.postOnly ? 1 : 0);
    this.#view.setBigInt64(offset + 32, price, littleEndian);
    if (expiry >= 0n && expiry < UINT64_LIMIT) {
      this.#view.setBigUint64(offset + 48, expiry, littleEndian);
    } else {
      this.#malformed(offset);
    }
  }

  /** Appends a market order placement. */
  market(order: Placement): void {
    this.#placement(2, order);
  }

  /** Appends a cancel of (part of) one resting order. */
  cancel(cancellation: Cancellation): void {
    const partial = cancellation.volume !== undefined && cancellation.volume !== null;
    const volume = partial ? rejectable(cancellation.volume!, "volume") : 0n;
    const offset = this.#next(3, cancellation.agentId, cancellation.bookId);
    this.#view.setUint32(offset + 20, u32(cancellation.orderId), littleEndian);
    if (partial) {
      this.#view.setUint8(offset + 6, 1);
      this.#view.setBigInt64(offset + 24, volume, littleEndian);
    }
  }

  /** Appends a reset of one agent: its orders cancelled, balances and fee tier restored. */
  reset(agentId: number): void {
    this.#next(4, agentId, 0);
  }

  /** Marks the instructions from index `from` on, one response sent by agent `sender`, to be
   * dropped together if a reset of `sender` was accepted earlier in the same submit call: each is
   * then rejected as AGENT_RESET and does nothing else. Resets the response makes itself drop none
   * of it. The first record is flagged `TX_IF_AFTER_RESET` (with `TX_IF_SENDER` when it names
   * another agent), the rest `TX_IF_JOINED`. */
  dropAfterReset(from: number, sender: number): void {
    const first = Math.max(0, from);
    for (let i = first; i < this.#count; i++) {
      const offset = i * INSTRUCTION_SIZE;
      let flags = this.#view.getUint8(offset + 6);
      if (i > first) flags |= JOINED;
      else if (this.#view.getInt32(offset + 8, littleEndian) === sender) flags |= AFTER_RESET;
      else {
        flags |= AFTER_RESET | SENDER;
        this.#view.setInt32(offset + 56, i32(sender), littleEndian);
      }
      this.#view.setUint8(offset + 6, flags);
    }
  }
}

/** Event types, by their `TX_EV_*` value. */
const eventTypes = [
  "",
  "accepted",
  "rejected",
  "trade",
  "placed",
  "cancelled",
  "expired",
  "stpReduced",
  "remainderDropped",
  "reset",
  "marginCall",
  "loanSettled",
] as const;

/** What an event reports; see `TX_EV_*` in the header. */
export type EventType = Exclude<typeof eventTypes[number], "">;

/** What removed volume from a resting order, for `cancelled` events. */
export type CancelCause =
  | "request"
  | "stp"
  | "reset"
  | "expiry"
  | "marginCall"
  | "unfunded";
const cancelCauses: readonly CancelCause[] = [
  "request",
  "stp",
  "reset",
  "expiry",
  "marginCall",
  "unfunded",
];

/**
 * One event of the core. Which fields carry meaning depends on `type` (as in `tx_event`); ids
 * that do not apply are `null`.
 */
export interface ExchangeEvent {
  type: EventType;
  timestamp: bigint;
  bookId: number;
  /** Index of the causing instruction in its batch; null for events of the clock. */
  instruction: number | null;
  /** Trade: the aggressor. */
  agentId: number;
  orderId: number | null;
  clientOrderId: number | null;
  direction: Direction;
  /** Ticks (trade: the resting level's price; 0 for market orders). */
  price: bigint;
  /** Base units: trade volume, accepted size or volume removed. */
  volume: bigint;
  /** Own volume left on the order after the event. */
  remaining: bigint;
  notional: bigint;
  makerFee: bigint;
  takerFee: bigint;
  leverageE9: bigint;
  /** Trade only. */
  restingAgentId: number;
  restingOrderId: number | null;
  restingClientOrderId: number | null;
  tradeId: number | null;
  /** Rejections: the reason's name (`INSUFFICIENT_QUOTE`, ...). */
  reason: string | null;
  /** Cancellations: what removed the volume. */
  cause: CancelCause | null;
  /** The order (the aggressor, for trades) is a market order. */
  market: boolean;
  /** Cancellation left volume on the order. */
  partial: boolean;
  /** Rejection of a GTT expiry whose order was already gone. */
  expiry: boolean;
  /** Loan settlement: the amount could not be covered and was written off. */
  writeOff: boolean;
  /**
   * Margin events: the loan amount (quote units for a long loan, base units for a short one).
   * Trades: the resting order's remaining total volume (0 = it left the book).
   */
  amount: bigint;
}

const reasonNames: string[] = [];

/** Name of a rejection reason code, as the core spells it. */
function reasonName(reason: number): string {
  return reasonNames[reason] ??= cString(native().tx_reason_name(reason));
}

function optionalId(value: number): number | null {
  return value === NONE ? null : value;
}

/** Decodes event `index` of a drained buffer. */
function decodeEvent(view: DataView, index: number): ExchangeEvent {
  const o = index * EVENT_SIZE;
  const type = eventTypes[view.getUint8(o + 100)] || "rejected";
  const reason = view.getUint8(o + 102);
  const flags = view.getUint8(o + 103);
  const instruction = view.getUint32(o + 64, littleEndian);
  return {
    type,
    timestamp: view.getBigUint64(o, littleEndian),
    bookId: view.getUint32(o + 68, littleEndian),
    instruction: optionalId(instruction),
    agentId: view.getInt32(o + 84, littleEndian),
    orderId: optionalId(view.getUint32(o + 72, littleEndian)),
    clientOrderId: optionalId(view.getUint32(o + 92, littleEndian)),
    direction: view.getUint8(o + 101) === 1 ? "sell" : "buy",
    price: view.getBigInt64(o + 8, littleEndian),
    volume: view.getBigInt64(o + 16, littleEndian),
    remaining: view.getBigInt64(o + 24, littleEndian),
    notional: view.getBigInt64(o + 32, littleEndian),
    makerFee: view.getBigInt64(o + 40, littleEndian),
    takerFee: view.getBigInt64(o + 48, littleEndian),
    leverageE9: view.getBigInt64(o + 56, littleEndian),
    restingAgentId: view.getInt32(o + 88, littleEndian),
    restingOrderId: type === "trade" ? optionalId(view.getUint32(o + 76, littleEndian)) : null,
    restingClientOrderId: type === "trade"
      ? optionalId(view.getUint32(o + 96, littleEndian))
      : null,
    tradeId: type === "trade" ? view.getUint32(o + 80, littleEndian) : null,
    reason: type === "rejected" ? reasonName(reason) : null,
    cause: type === "cancelled" ? cancelCauses[reason] ?? "request" : null,
    market: (flags & 0x01) !== 0,
    partial: (flags & 0x02) !== 0,
    expiry: (flags & 0x04) !== 0,
    writeOff: (flags & 0x08) !== 0,
    amount: view.getBigInt64(o + 104, littleEndian),
  };
}

/** One fee tier: applies from `volumeRequired` (quote units) of rolling traded volume. */
export interface FeeTier {
  volumeRequired: bigint;
  makerE9: bigint;
  takerE9: bigint;
}

/** Exchange configuration, every quantity already scaled. */
export interface ExchangeConfig {
  books: number;
  /** Accounts 0..agents-1 are created with the initial balances in every book. */
  agents: number;
  priceDecimals: number;
  volumeDecimals: number;
  baseDecimals: number;
  quoteDecimals: number;
  initialBase: bigint;
  initialQuote: bigint;
  /** Ascending `volumeRequired`, the first 0; at most 16. */
  feeTiers: FeeTier[];
  feeHistorySlots?: number;
  /** Default 1 h. */
  feeSlotPeriodNs?: bigint;
  maxLeverageE9?: bigint;
  /** Quote units. */
  maxLoan?: bigint;
  maintenanceMarginE9?: bigint;
}

function packConfig(config: ExchangeConfig): Uint8Array {
  const invalid = tiersError(config.feeTiers.length);
  if (invalid !== null) throw invalid;
  const bytes = new Uint8Array(CONFIG_SIZE);
  const view = new DataView(bytes.buffer);
  // Counts outside u32 become TX_NONE, which the core refuses by name, rather than wrapping.
  view.setUint32(0, u32(config.books), littleEndian);
  view.setUint32(4, u32(config.priceDecimals), littleEndian);
  view.setUint32(8, u32(config.volumeDecimals), littleEndian);
  view.setUint32(12, u32(config.baseDecimals), littleEndian);
  view.setUint32(16, u32(config.quoteDecimals), littleEndian);
  view.setUint32(20, u32(config.agents), littleEndian);
  view.setBigInt64(24, configAmount(config.initialBase, "initialBase"), littleEndian);
  view.setBigInt64(32, configAmount(config.initialQuote, "initialQuote"), littleEndian);
  view.setBigInt64(40, configAmount(config.maxLeverageE9 ?? 0n, "maxLeverageE9"), littleEndian);
  view.setBigInt64(48, configAmount(config.maxLoan ?? 0n, "maxLoan"), littleEndian);
  view.setBigInt64(
    56,
    configAmount(config.maintenanceMarginE9 ?? 0n, "maintenanceMarginE9"),
    littleEndian,
  );
  const period = config.feeSlotPeriodNs ?? 3_600_000_000_000n;
  view.setBigUint64(
    64,
    fitting(period, "feeSlotPeriodNs", ExchangeCode.config, true),
    littleEndian,
  );
  view.setUint32(72, u32(config.feeHistorySlots ?? 24), littleEndian);
  view.setUint32(76, config.feeTiers.length, littleEndian);
  packTiers(config.feeTiers, view, 80);
  return bytes;
}

/** Writes `tx_fee_tier` records (24 bytes each) at `offset`. */
function packTiers(tiers: FeeTier[], view: DataView, offset: number): void {
  tiers.forEach((tier, i) => {
    const o = offset + i * 24;
    const field = (name: string) => `feeTiers[${i}].${name}`;
    view.setBigInt64(o, configAmount(tier.volumeRequired, field("volumeRequired")), littleEndian);
    view.setBigInt64(o + 8, configAmount(tier.makerE9, field("makerE9")), littleEndian);
    view.setBigInt64(o + 16, configAmount(tier.takerE9, field("takerE9")), littleEndian);
  });
}

function tiersError(count: number): ExchangeError | null {
  return count < 1 || count > MAX_FEE_TIERS
    ? new ExchangeError(
      ExchangeCode.config,
      "TX_ERR_CONFIG",
      `feeTiers: between 1 and ${MAX_FEE_TIERS} tiers are supported`,
    )
    : null;
}

/** A price level: price in ticks, total resting volume in base units. */
export interface Level {
  price: bigint;
  volume: bigint;
}

/** A resting order. */
export interface RestingOrder {
  orderId: number;
  agentId: number;
  bookId: number;
  clientOrderId: number | null;
  direction: Direction;
  stp: SelfTradePrevention;
  timestamp: bigint;
  price: bigint;
  /** Remaining own volume. */
  volume: bigint;
  leverageE9: bigint;
  reservedBase: bigint;
  reservedQuote: bigint;
}

function decodeOrder(view: DataView, index: number): RestingOrder {
  const o = index * ORDER_SIZE;
  return {
    timestamp: view.getBigUint64(o, littleEndian),
    price: view.getBigInt64(o + 8, littleEndian),
    volume: view.getBigInt64(o + 16, littleEndian),
    leverageE9: view.getBigInt64(o + 24, littleEndian),
    reservedBase: view.getBigInt64(o + 32, littleEndian),
    reservedQuote: view.getBigInt64(o + 40, littleEndian),
    orderId: view.getUint32(o + 48, littleEndian),
    agentId: view.getInt32(o + 52, littleEndian),
    clientOrderId: optionalId(view.getUint32(o + 56, littleEndian)),
    bookId: view.getUint32(o + 60, littleEndian),
    direction: view.getUint8(o + 64) === 1 ? "sell" : "buy",
    stp: stpFlags[view.getUint8(o + 65)] ?? "CO",
  };
}

/** An open loan: long loans (leveraged buys) in quote units, short loans in base units. */
export interface Loan {
  orderId: number;
  /** "buy" = long, "sell" = short. */
  direction: Direction;
  amount: bigint;
  collateralBase: bigint;
  collateralQuote: bigint;
  leverageE9: bigint;
  /** Price of its strictest fill (a long's highest, a short's lowest), ticks. */
  price: bigint;
  /** That fill's margin-call price, ticks (truncated). */
  callPrice: bigint;
}

function decodeLoan(view: DataView, index: number): Loan {
  const o = index * LOAN_SIZE;
  return {
    amount: view.getBigInt64(o, littleEndian),
    collateralBase: view.getBigInt64(o + 8, littleEndian),
    collateralQuote: view.getBigInt64(o + 16, littleEndian),
    leverageE9: view.getBigInt64(o + 24, littleEndian),
    price: view.getBigInt64(o + 32, littleEndian),
    callPrice: view.getBigInt64(o + 40, littleEndian),
    orderId: view.getUint32(o + 48, littleEndian),
    direction: view.getUint8(o + 52) === 1 ? "sell" : "buy",
  };
}

/** An account's balances in one book. */
export interface Balances {
  baseFree: bigint;
  baseReserved: bigint;
  quoteFree: bigint;
  quoteReserved: bigint;
  baseLoan: bigint;
  quoteLoan: bigint;
  baseCollateral: bigint;
  quoteCollateral: bigint;
}

/** An account's fee state in one book. */
export interface FeeState {
  /** Traded quote volume over the history slots. */
  volume: bigint;
  makerE9: bigint;
  takerE9: bigint;
  tier: number;
}

/** Summary of one book; prices are 0 for an empty side. */
export interface BookInfo {
  bestBid: bigint;
  bestAsk: bigint;
  bidVolume: bigint;
  askVolume: bigint;
  bidLevels: number;
  askLevels: number;
  orderCount: number;
  nextOrderId: number;
  nextTradeId: number;
  feesCollected: bigint;
}

/** Book side for snapshots. */
export type Side = "bids" | "asks";

/**
 * A listing call of the core: fills `out` with at most `capacity` records and returns how many
 * there are in all (negative: an error code).
 */
type RecordFetch = (out: Uint8Array, capacity: number) => number | bigint;

/**
 * Every record a listing call has, decoded: asked first with room for `capacity` records, then
 * again with room for all of them when the core reports more.
 */
function fetchRecords<T>(
  recordSize: number,
  capacity: number,
  fetch: RecordFetch,
  decode: (view: DataView, index: number) => T,
): T[] {
  for (;;) {
    const out = new Uint8Array(capacity * recordSize);
    const available = unwrapCount(fetch(out, capacity));
    if (available <= capacity) {
      const view = new DataView(out.buffer);
      return Array.from({ length: available }, (_, i) => decode(view, i));
    }
    capacity = available;
  }
}

/** One exchange: books, accounts and fee state behind one native handle. */
export class Exchange {
  #handle: Deno.PointerValue;

  private constructor(handle: Deno.PointerValue) {
    this.#handle = handle;
  }

  /** Creates an exchange; a rejected configuration throws with the core's message. */
  static open(config: ExchangeConfig): Exchange {
    const out = new BigUint64Array(1);
    const err = new Uint8Array(ERROR_TEXT_BYTES);
    const code = native().tx_open(
      packConfig(config),
      new Uint8Array(out.buffer),
      err,
      BigInt(err.length),
    );
    if (code !== ExchangeCode.ok) unwrap(code, errorText(err));
    return new Exchange(Deno.UnsafePointer.create(out[0]));
  }

  #live(): Deno.PointerValue {
    if (this.#handle === null) {
      throw new ExchangeError(ExchangeCode.argument, "TX_ERR_ARGUMENT", "exchange is closed");
    }
    return this.#handle;
  }

  /** Frees the native handle; further calls throw. Idempotent. */
  close(): void {
    if (this.#handle === null) return;
    native().tx_close(this.#handle);
    this.#handle = null;
  }

  /** Adds an account with the same balances in every book. */
  addAccount(agentId: number, base: bigint, quote: bigint): void {
    const [b, q] = [argument(base, "base"), argument(quote, "quote")];
    unwrap(native().tx_add_account(this.#live(), i32(agentId), b, q));
  }

  /** Replaces an account's balances in one book (no open orders there allowed). */
  setBalances(agentId: number, bookId: number, base: bigint, quote: bigint): void {
    const [b, q] = [argument(base, "base"), argument(quote, "quote")];
    unwrap(native().tx_set_balances(this.#live(), i32(agentId), u32(bookId), b, q));
  }

  /**
   * Adds a fee policy (the configuration's tiers are policy 0) and returns its index. Every
   * policy shares the configuration's history slots and slot period.
   */
  addFeePolicy(tiers: FeeTier[]): number {
    const invalid = tiersError(tiers.length);
    if (invalid !== null) throw invalid;
    const packed = new Uint8Array(tiers.length * 24);
    packTiers(tiers, new DataView(packed.buffer), 0);
    const index = new Uint32Array(1);
    const err = new Uint8Array(ERROR_TEXT_BYTES);
    const code = native().tx_add_fee_policy(
      this.#live(),
      packed,
      tiers.length,
      new Uint8Array(index.buffer),
      err,
      BigInt(err.length),
    );
    if (code !== ExchangeCode.ok) unwrap(code, errorText(err));
    return index[0];
  }

  /** Makes fee policy `policy` govern the agent's fees in every book. */
  setFeePolicy(agentId: number, policy: number): void {
    unwrap(native().tx_set_fee_policy(this.#live(), i32(agentId), u32(policy)));
  }

  /**
   * Advances the clock to `nowNs` (fee rolls, GTT expiries) and processes the batch in order.
   * Rejected instructions become `rejected` events, not exceptions.
   */
  submit(nowNs: bigint, batch: InstructionBatch): void {
    unwrap(native().tx_submit(this.#live(), clockTime(nowNs), batch.bytes, BigInt(batch.length)));
  }

  /** Same as {@linkcode Exchange.submit} for already-packed 64-byte records. */
  submitRecords(nowNs: bigint, records: Uint8Array): void {
    if (records.length % INSTRUCTION_SIZE !== 0) {
      unwrap(
        ExchangeCode.argument,
        `records: ${records.length} bytes is not a whole number of ${INSTRUCTION_SIZE}-byte records`,
      );
    }
    const count = BigInt(records.length / INSTRUCTION_SIZE);
    unwrap(native().tx_submit(this.#live(), clockTime(nowNs), records, count));
  }

  /** Advances the clock only. */
  advance(nowNs: bigint): void {
    unwrap(native().tx_advance(this.#live(), clockTime(nowNs)));
  }

  /** Number of events waiting. */
  get pendingEvents(): number {
    return Number(native().tx_pending_events(this.#live()));
  }

  /** Takes every waiting event, oldest first, read in place from the core's buffer. */
  drainEvents(): ExchangeEvent[] {
    const handle = this.#live();
    const out = new BigUint64Array(1);
    const count = Number(native().tx_peek_events(handle, new Uint8Array(out.buffer)));
    if (count === 0) return [];
    const pointer = Deno.UnsafePointer.create(out[0]);
    if (pointer === null) return [];
    const view = new DataView(
      Deno.UnsafePointerView.getArrayBuffer(pointer, count * EVENT_SIZE),
    );
    const events = Array.from({ length: count }, (_, i) => decodeEvent(view, i));
    native().tx_discard_events(handle, BigInt(count));
    return events;
  }

  /** Copies up to `out.length / 112` waiting events into `out` as raw `tx_event` records. */
  drainRaw(out: Uint8Array): number {
    const capacity = Math.floor(out.length / EVENT_SIZE);
    return Number(native().tx_drain_events(this.#live(), out, BigInt(capacity)));
  }

  /** Drops every waiting event unread; returns how many there were. */
  discardEvents(): number {
    const handle = this.#live();
    const count = native().tx_pending_events(handle);
    native().tx_discard_events(handle, count);
    return Number(count);
  }

  /** Levels of one side, best first (at most `limit`, default all). */
  levels(bookId: number, side: Side, limit = Infinity): Level[] {
    const handle = this.#live();
    const code = sideCode(side);
    if (limit !== Infinity && !(Number.isInteger(limit) && limit >= 0)) {
      unwrap(ExchangeCode.argument, `limit: ${limit} is not a whole number of levels`);
    }
    let capacity = Math.min(limit, 256);
    for (;;) {
      const prices = new BigInt64Array(capacity);
      const volumes = new BigInt64Array(capacity);
      const available = unwrapCount(
        native().tx_book_levels(
          handle,
          u32(bookId),
          code,
          new Uint8Array(prices.buffer),
          new Uint8Array(volumes.buffer),
          BigInt(capacity),
        ),
      );
      if (available <= capacity || capacity >= limit) {
        const count = Math.min(available, capacity);
        return Array.from({ length: count }, (_, i) => ({ price: prices[i], volume: volumes[i] }));
      }
      capacity = Math.min(limit, available);
    }
  }

  #orders(fetch: RecordFetch): RestingOrder[] {
    return fetchRecords(ORDER_SIZE, 64, fetch, decodeOrder);
  }

  /** Orders of one level (0 = best), in time priority. */
  levelOrders(bookId: number, side: Side, levelIndex: number): RestingOrder[] {
    const handle = this.#live();
    const code = sideCode(side);
    return this.#orders((out, capacity) =>
      native().tx_level_orders(
        handle,
        u32(bookId),
        code,
        u32(levelIndex),
        out,
        BigInt(capacity),
      )
    );
  }

  /** An agent's resting orders in one book, by ascending order id. */
  agentOrders(agentId: number, bookId: number): RestingOrder[] {
    const handle = this.#live();
    return this.#orders((out, capacity) =>
      native().tx_agent_orders(handle, i32(agentId), u32(bookId), out, BigInt(capacity))
    );
  }

  /** An agent's open loans in one book, by ascending order id. */
  loans(agentId: number, bookId: number): Loan[] {
    const handle = this.#live();
    return fetchRecords(
      LOAN_SIZE,
      16,
      (out, capacity) =>
        native().tx_agent_loans(handle, i32(agentId), u32(bookId), out, BigInt(capacity)),
      decodeLoan,
    );
  }

  /** One resting order, or null when the book has no such order. */
  order(bookId: number, orderId: number): RestingOrder | null {
    const out = new Uint8Array(ORDER_SIZE);
    const code = native().tx_order_get(this.#live(), u32(bookId), u32(orderId), out);
    if (code === ExchangeCode.notFound) return null;
    unwrap(code);
    return decodeOrder(new DataView(out.buffer), 0);
  }

  /** An account's balances in one book. */
  balances(agentId: number, bookId: number): Balances {
    const out = new BigInt64Array(BALANCES_SIZE / 8);
    unwrap(
      native().tx_balances_get(this.#live(), i32(agentId), u32(bookId), new Uint8Array(out.buffer)),
    );
    const [baseFree, baseReserved, quoteFree, quoteReserved, baseLoan, quoteLoan] = out;
    return {
      baseFree,
      baseReserved,
      quoteFree,
      quoteReserved,
      baseLoan,
      quoteLoan,
      baseCollateral: out[6],
      quoteCollateral: out[7],
    };
  }

  /** An account's fee volume, rates and tier in one book. */
  feeState(agentId: number, bookId: number): FeeState {
    const out = new Uint8Array(FEE_STATE_SIZE);
    unwrap(native().tx_fee_state_get(this.#live(), i32(agentId), u32(bookId), out));
    const view = new DataView(out.buffer);
    return {
      volume: view.getBigInt64(0, littleEndian),
      makerE9: view.getBigInt64(8, littleEndian),
      takerE9: view.getBigInt64(16, littleEndian),
      tier: view.getUint32(24, littleEndian),
    };
  }

  /** Summary of one book. */
  bookInfo(bookId: number): BookInfo {
    const out = new Uint8Array(BOOK_INFO_SIZE);
    unwrap(native().tx_book_info_get(this.#live(), u32(bookId), out));
    const view = new DataView(out.buffer);
    return {
      bestBid: view.getBigInt64(0, littleEndian),
      bestAsk: view.getBigInt64(8, littleEndian),
      bidVolume: view.getBigInt64(16, littleEndian),
      askVolume: view.getBigInt64(24, littleEndian),
      bidLevels: view.getUint32(32, littleEndian),
      askLevels: view.getUint32(36, littleEndian),
      orderCount: view.getUint32(40, littleEndian),
      nextOrderId: view.getUint32(44, littleEndian),
      nextTradeId: view.getUint32(48, littleEndian),
      feesCollected: view.getBigInt64(56, littleEndian),
    };
  }

  /** Verifies the core's invariants; throws `TX_ERR_CORRUPT` with the broken one. */
  check(): void {
    const err = new Uint8Array(ERROR_TEXT_BYTES);
    const code = native().tx_check(this.#live(), err, BigInt(err.length));
    if (code !== ExchangeCode.ok) unwrap(code, errorText(err));
  }
}

const decimalPattern = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/;

/**
 * Scales a decimal text (`"12.345"`, `"-1e-3"`) to integer units of 10^-decimals, truncating
 * toward zero as the exchange does. Throws RangeError for text that is not a decimal or whose
 * magnitude does not fit in int64.
 */
export function toUnits(text: string, decimals: number): bigint {
  const match = decimalPattern.exec(text.trim());
  if (match === null) throw new RangeError(`not a decimal number: ${JSON.stringify(text)}`);
  const [, sign, whole, fraction = "", exponentText = "0"] = match;
  const exponent = Number(exponentText) - fraction.length + decimals;
  const digits = BigInt(whole + fraction);
  let units: bigint;
  if (digits === 0n) {
    units = 0n;
  } else if (exponent >= 0) {
    if (exponent > 40) throw new RangeError(`out of range: ${text}`);
    units = digits * 10n ** BigInt(exponent);
  } else {
    // Past the mantissa's own length the value is below one unit.
    units = -exponent > whole.length + fraction.length ? 0n : digits / 10n ** BigInt(-exponent);
  }
  if (units > 0x7FFF_FFFF_FFFF_FFFFn) throw new RangeError(`out of range: ${text}`);
  return sign === "-" ? -units : units;
}

/** Whether `text` (a decimal toUnits reads) has non-zero digits below 10^-decimals. */
export function hasDigitsBelow(text: string, decimals: number): boolean {
  const match = decimalPattern.exec(text.trim());
  if (match === null) return false;
  const [, , whole, fraction = "", exponentText = "0"] = match;
  // Digits after the point, once the exponent has moved it, beyond the first `decimals`.
  const below = fraction.length - Number(exponentText) - decimals;
  if (below <= 0) return false;
  const digits = whole + fraction;
  return /[1-9]/.test(digits.slice(Math.max(0, digits.length - below)));
}

/** Formats integer units of 10^-decimals as a decimal string with exactly `decimals` places. */
export function formatUnits(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals);
  return `${negative ? "-" : ""}${whole}${decimals > 0 ? "." + fraction : ""}`;
}
