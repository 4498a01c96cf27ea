/**
 * The market simulation as a TypeScript object: owns one native simulation handle (books, event
 * loops, background agents, remote accounts) and steps it one publish interval at a time.
 *
 * ```ts
 * const engine = SimEngine.create({ config: smallPreset(), seed: 42, threads: 2 });
 * for (let state = engine.advance(); state !== null; state = engine.advance()) {
 *   engine.inject(0, [{ type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 1 }], 10e6);
 * }
 * engine.close();
 * ```
 * @module
 */
import { ERROR_TEXT_BYTES, errorText } from "../native/ffi.ts";
import type { SimConfig } from "./config.ts";
import { gridUnits } from "./grid.ts";
import { ArrivalQueues } from "./arrival_queues.ts";
import {
  EVENT_FLAG_DROPPED,
  EVENT_FLAG_MARKET,
  EVENT_FLAG_PARTIAL,
  EVENT_FLAG_QUOTE,
  EVENT_FLAG_STP,
  EVENT_SIZE,
  EventKind,
  nativeParams,
  NONE,
  ORDER_SIZE,
  packInstructions,
  packParams,
  type RawEvent,
  type RawInstruction,
  type RawOrder,
  readEvent,
  readOrder,
  rejectReason,
  SimStatus,
  type SimSymbols,
  simSymbols,
} from "./native_sim.ts";

/**
 * Steps `taos sim` has each book run in one go (see {@linkcode SimEngine.steps}): one visit per
 * book per simulated minute instead of one every 5 s keeps a book's state in cache, for the same
 * results.
 */
export const WINDOW_STEPS = 12;

/** Most levels per side {@linkcode SimEngine.steps} keeps of a step (TAOS_SIM_MAX_STEP_DEPTH). */
export const MAX_STEP_DEPTH = 100;

/** Order side: 0 = BUY, 1 = SELL (the reference's enum values). */
export type Direction = 0 | 1;

/** Values per account in the raw balance arrays (`TAOS_SIM_BALANCE_VALUES`). */
export const BALANCE_VALUES = 10;

/** Units standing for an amount beyond the core's range (it takes at most 2^53 per order). */
const TOO_LARGE = 1n << 62n;

/** The simulation clock's range in ns (`SIM_CLOCK_MAX`): a delay past it arrives never. */
const CLOCK_RANGE_NS = 2 ** 62;

/** Reason code of a placement refused for a `clientOrderId` the core cannot keep. */
const INVALID_CLIENT_ORDER_ID = "INVALID_CLIENT_ORDER_ID";

/** Self-trade prevention flag: 0 NONE, 1 CO, 2 CN, 3 CB, 4 DC. */
export type StpFlag = 0 | 1 | 2 | 3 | 4;

/** Is `value` one of the enum values 0..last? */
function enumValue(value: number, last: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= last;
}

/** One resting order as published inside a detailed level. */
export interface LevelOrder {
  orderId: number;
  /** Simulated ns at which the order was accepted. */
  timestamp: number;
  volume: number;
  leverage: number;
  direction: Direction;
}

/** One price level of a book side; `orders` only for the first `detailedDepth` levels. */
export interface Level {
  price: number;
  volume: number;
  orders?: LevelOrder[];
}

/** An L3 event recorded on a book since the previous publish. */
export type BookEvent =
  | {
    event: "place";
    orderId: number;
    timestamp: number;
    volume: number;
    leverage: number;
    direction: Direction;
    /** null for market orders. */
    price: number | null;
    agentId: number;
    clientOrderId: number | null;
  }
  | {
    event: "trade";
    tradeId: number;
    timestamp: number;
    /** Aggressor side. */
    direction: Direction;
    aggressingOrderId: number;
    restingOrderId: number;
    volume: number;
    price: number;
    aggressingAgentId: number;
    restingAgentId: number;
    fees: { maker: number; taker: number };
  }
  | {
    event: "cancel";
    orderId: number;
    timestamp: number;
    /** Cancelled volume. */
    volume: number;
    agentId: number;
  };

/** One book in a published state. */
export interface BookState {
  bookId: number;
  /** L3 events since the previous publish, in processing order. */
  record: BookEvent[];
  /** Best first (descending price); empty when the side is empty. */
  bid: Level[];
  /** Best first (ascending price). */
  ask: Level[];
  /** Value of the fundamental price process for this book at publish time. */
  fundamental: number;
}

/** One balance (base or quote) of a remote account on one book. */
export interface Balance {
  free: number;
  reserved: number;
  total: number;
  /** Margin: outstanding loan in this currency (base for shorts, quote for longs). */
  loan?: number;
  /** Margin: this currency held as collateral of the account's loans. */
  collateral?: number;
}

/** A resting limit order of a remote account. */
export interface AccountOrder extends LevelOrder {
  price: number;
  clientOrderId: number | null;
}

/** A remote (miner) account across all books. */
export interface RemoteAccount {
  agentId: number;
  /** Indexed by book id. */
  holdings: { base: Balance; quote: Balance }[];
  /** Resting limit orders, indexed by book id. */
  orders: AccountOrder[][];
  /** Per book: rolling traded quote volume and the current fee rates. */
  fees: { volume: number; makerFeeRate: number; takerFeeRate: number }[];
}

/** A message addressed to one remote agent (response to its instruction, or a trade it took part in). */
export interface Notice {
  /** Simulated ns at which the notice reaches the agent. */
  timestamp: number;
  agentId: number;
  bookId: number;
  type:
    | "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT"
    | "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT"
    | "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET"
    | "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET"
    | "RESPONSE_DISTRIBUTED_CANCEL_ORDERS"
    | "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS"
    | "RESPONSE_DISTRIBUTED_RESET_AGENT"
    | "EVENT_TRADE";
  /** Order concerned (placement, cancel or the agent's side of a trade); -1 when none. */
  orderId: number;
  clientOrderId: number | null;
  /** Error text for ERROR_RESPONSE_* notices. */
  message?: string;
  /**
   * A rejected placement's reason code (`INSUFFICIENT_QUOTE`, `INVALID_CLIENT_ORDER_ID`), the
   * reference's message for it.
   */
  reason?: string;
  /** A placement as it was requested, for a rejected one and for an accepted market order sized
   * in quote: side, volume (base, or quote for a market order sized in quote) and limit price (null
   * for market orders). */
  request?: { direction: Direction; volume: number; price: number | null };
  /** RESPONSE_DISTRIBUTED_CANCEL_ORDERS: base volume cancelled, null when the whole order went. */
  cancelledVolume?: number | null;
  /** For EVENT_TRADE: the fill. */
  trade?: { tradeId: number; price: number; volume: number; direction: Direction; fee: number };
}

/** A placement as its agent asked for it (see {@linkcode Notice.request}). */
type Requested = NonNullable<Notice["request"]>;

/** What one `advance()` returns: the state to publish at `timestamp`. */
export interface PublishState {
  /** Simulated ns of this publish instant. */
  timestamp: number;
  /** True for the final publish (the clock reached start + duration). */
  final: boolean;
  books: BookState[];
  /** Remote accounts 0 … n−1 (n: `publishedAccounts`, by default `remoteAgentCount`). */
  accounts: RemoteAccount[];
  notices: Notice[];
  /** Background events processed since the previous publish (all books). */
  eventsProcessed: number;
}

/** An instruction from a remote agent, as in the `/orderbook` response body. */
export type Instruction =
  | {
    type: "PLACE_ORDER_LIMIT";
    bookId: number;
    direction: Direction;
    volume: number;
    price: number;
    clientOrderId?: number | null;
    postOnly?: boolean;
    /** Margin leverage L (the order trades volume x (1 + L)); 0 or absent = cash order. */
    leverage?: number;
    /** 0 GTC, 1 GTT, 2 IOC, 3 FOK. */
    timeInForce?: 0 | 1 | 2 | 3;
    /** ns, GTT only. */
    expiryPeriod?: number | null;
    stpFlag?: StpFlag;
  }
  | {
    type: "PLACE_ORDER_MARKET";
    bookId: number;
    direction: Direction;
    volume: number;
    clientOrderId?: number | null;
    stpFlag?: StpFlag;
    /** 0 = volume in base units, 1 = volume in quote units. */
    currency?: 0 | 1;
    /** Margin leverage L, base-sized orders only; 0 or absent = cash order. */
    leverage?: number;
  }
  | {
    type: "CANCEL_ORDERS";
    bookId: number;
    cancellations: { orderId: number; volume?: number | null }[];
  }
  | { type: "RESET_AGENT" };

/** How to create an engine. */
export interface SimEngineOptions {
  config: SimConfig;
  /** Master seed; every random stream derives from it. Default: `config.seed`. */
  seed?: number;
  /** Worker threads for the books; default = number of cores. Output does not depend on it. */
  threads?: number;
  /**
   * Recorded feeds (optional): `fundamental` = seed prices, one per seed update (they seed the
   * fundamental price's draws, as the live BTC feed does in the reference); `external` = futures
   * signal samples, one per sample interval. Without them both are generated from the seed.
   */
  feed?: { fundamental?: number[]; external?: number[] };
  /**
   * Remote accounts a publish reads, ids 0 … n−1 (default: every one, `remoteAgentCount`): a
   * backtest reads its copies' only, where converting every idle account would cost it more than
   * its agent's step.
   */
  publishedAccounts?: number;
}

/** What one {@linkcode SimEngine.step} reports. */
export interface StepResult {
  /** Simulated ns at the end of the step. */
  timestamp: number;
  /** True for the last step of the run. */
  final: boolean;
  /** Messages processed during the step, all books. */
  eventsProcessed: number;
}

/** Aggregated price level (prices and volumes in market units). */
export interface LevelSummary {
  price: number;
  volume: number;
}

/** Aggregated price level in the engine's integer units: exact at any size, where a volume as a
 * double can miss the last lot from about 2^52 lots on. */
export interface RawLevel {
  ticks: bigint;
  lots: bigint;
}

/**
 * One step of a {@linkcode SimEngine.steps} window: what it reports and the state each book had at
 * its end. Readable until the engine advances again.
 */
export interface RecordedStep extends StepResult {
  /** The book's events during the step. */
  rawEvents(bookId: number): RawEvent[];
  /** Up to `depth` levels of a side at the step's end (at most the window's depth). */
  levels(bookId: number, side: 0 | 1, depth: number): LevelSummary[];
  /** {@linkcode RecordedStep.levels} in ticks and lots. */
  rawLevels(bookId: number, side: 0 | 1, depth: number): RawLevel[];
  /** The book's fundamental and external values at the step's end. */
  processValues(bookId: number): { fundamental: number; external: number };
}

/** Base lots each market order sized in quote among `events` filled, by order id. */
function quoteSizedFills(events: readonly RawEvent[]): Map<number, bigint> {
  const bought = new Map<number, bigint>();
  for (const e of events) {
    if (e.kind === EventKind.PLACE && e.flags & EVENT_FLAG_QUOTE) bought.set(e.orderId, 0n);
    else if (e.kind === EventKind.TRADE && bought.has(e.orderId)) {
      bought.set(e.orderId, bought.get(e.orderId)! + e.volume);
    }
  }
  return bought;
}

const rejectText: Record<number, string> = {
  1: "no account on this book",
  2: "not enough free base",
  3: "not enough free quote",
  4: "no liquidity on the opposite side",
  7: "the loan would exceed the limit",
  8: "the IOC, FOK or post-only condition was not met",
  9: "leverage out of range",
  10: "volume is zero after rounding to the lot size",
  11: "price is not positive or out of range",
  12: "unknown book",
  14: "unknown kind or option",
  16: "the expiry overflows the clock",
};

/**
 * The core's leverage limit in 10^-9, as the native simulation sets it: `maxLeverage` x 10^9
 * truncated, except that a product within a double's error of a whole number is that number
 * (1.001 x 1e9 is 1000999999.9999999, and 1.001 is the limit meant).
 */
function leverageLimitE9(maxLeverage: number): bigint {
  const scaled = maxLeverage * 1e9, whole = Math.round(scaled);
  return BigInt(
    Math.abs(scaled - whole) <= scaled * 4 * Number.EPSILON ? whole : Math.trunc(scaled),
  );
}

/** The most worker threads an engine runs its books on. */
export const MAX_THREADS = 1024;

/** A running simulation: see the module doc. */
export class SimEngine {
  /** The validated configuration the engine runs. */
  readonly config: SimConfig;
  readonly #lib: SimSymbols;
  #handle: Deno.PointerValue;
  /**
   * Integer units per whole price, volume, base and quote. Units are divided by these exact powers
   * of ten, which gives the double nearest the decimal value, as the reference sends it;
   * multiplying by 10^-d instead is a rounding step off for about a quarter of all values
   * (119.87270000000001 for 119.8727).
   */
  readonly #priceScale: number;
  readonly #volumeScale: number;
  readonly #baseScale: number;
  readonly #quoteScale: number;
  /** Remote accounts a publish reads (see `SimEngineOptions.publishedAccounts`). */
  readonly #publishedAccounts: number;
  #now = 0;
  #final = false;
  #pending: Notice[] = [];
  /** Answers on their way back to their agents (acknowledgements, refusals), each with the
   * instant it arrives. */
  #returning: { notice: Notice; at: number }[] = [];
  /** When each remote instruction was sent (its publish instant), keyed by agent, book and
   * arrival, in the order queued, so that an answer travels back with the latency its own
   * instruction had: instructions sent at two publishes, with two delays, may arrive together. */
  #sent = new ArrivalQueues<number>();
  /** Placements with an amount beyond the core's range, as their agents sent them, keyed by agent,
   * book and arrival in the order sent: the core's refusal carries {@linkcode TOO_LARGE}, and the
   * notice should echo what was asked. */
  #oversized = new ArrivalQueues<Requested>();
  #eventBuffer = new Uint8Array(EVENT_SIZE * 4096);
  #orderBuffer: Uint8Array<ArrayBuffer> = new Uint8Array(ORDER_SIZE * 256);

  private constructor(
    config: SimConfig,
    lib: SimSymbols,
    handle: Deno.PointerValue,
    publishedAccounts: number,
  ) {
    this.config = config;
    this.#publishedAccounts = publishedAccounts;
    this.#lib = lib;
    this.#handle = handle;
    const x = config.exchange;
    this.#priceScale = 10 ** x.priceDecimals;
    this.#volumeScale = 10 ** x.volumeDecimals;
    this.#baseScale = 10 ** x.baseDecimals;
    this.#quoteScale = 10 ** x.quoteDecimals;
    this.#now = config.start;
  }

  /** Creates the native simulation. Throws on an invalid configuration. */
  static create(options: SimEngineOptions): SimEngine {
    const config = { ...options.config, seed: options.seed ?? options.config.seed };
    const threads = options.threads ?? 0;
    if (!Number.isInteger(threads) || threads < 0 || threads > MAX_THREADS) {
      throw new RangeError(
        `threads: must be an integer in 0..${MAX_THREADS} (0 = cores), got ${threads}`,
      );
    }
    const remote = config.remoteAgentCount;
    const publishedAccounts = options.publishedAccounts ?? remote;
    if (
      !Number.isInteger(publishedAccounts) || publishedAccounts < 0 || publishedAccounts > remote
    ) {
      throw new RangeError(
        `publishedAccounts: must be an integer in 0..${remote}, got ${publishedAccounts}`,
      );
    }
    const lib = simSymbols();
    const params = packParams(nativeParams(config, threads));
    const out = new BigUint64Array(1);
    const err = new Uint8Array(ERROR_TEXT_BYTES);
    const rc = lib.taos_sim_create(params, params.length, out, err, BigInt(err.length));
    if (rc !== SimStatus.OK) {
      const text = errorText(err);
      throw new Error(`invalid simulation config: ${text || `native error ${rc}`}`);
    }
    const engine = new SimEngine(
      config,
      lib,
      Deno.UnsafePointer.create(out[0]),
      publishedAccounts,
    );
    const feeds = [options.feed?.fundamental, options.feed?.external];
    feeds.forEach((prices, series) => {
      if (prices === undefined || prices.length === 0) return;
      const data = new Float64Array(prices);
      if (lib.taos_sim_set_feed(engine.#handle, series, data, BigInt(data.length)) !== 0) {
        engine.close();
        throw new Error("feed: prices must be positive finite numbers");
      }
    });
    return engine;
  }

  /**
   * Appends prices to a feed between steps, as a live feed delivers them: `series` 0 = fundamental
   * seed prices, one per seed update (the last one serves every later update until more come),
   * 1 = external samples: each external seed update takes the newest sample that came since the
   * last one, skipping any before it (the signal holds while none comes; extending it by no prices
   * switches it from the synthetic signal to the feed).
   */
  extendFeed(series: 0 | 1, prices: readonly number[]): void {
    const data = new Float64Array(prices);
    if (this.#lib.taos_sim_extend_feed(this.#live(), series, data, BigInt(data.length)) !== 0) {
      throw new RangeError("feed: prices must be positive finite numbers");
    }
  }

  /** Seeds every later fundamental update from `price`, a live feed's latest trade (between
   * steps), over any recorded fundamental feed. */
  setLiveFundamental(price: number): void {
    if (this.#lib.taos_sim_set_live_fundamental(this.#live(), price) !== 0) {
      throw new RangeError(`feed: ${price} is not a positive finite price`);
    }
  }

  /** Simulated ns of the last step end (the start before the first step). */
  get now(): number {
    return this.#now;
  }

  /** True once the final step has run. */
  get ended(): boolean {
    return this.#final;
  }

  #live(): Deno.PointerValue {
    if (this.#handle === null) throw new Error("the simulation is closed");
    return this.#handle;
  }

  /** Runs every book for one step (the publish interval) and reports it, or null once ended. */
  step(): StepResult | null {
    const processed = this.#advance(1, 0);
    if (processed === null) return null;
    return { timestamp: this.#now, final: this.#final, eventsProcessed: processed };
  }

  /** Runs up to `maxSteps` steps (taos_sim_advance_steps); the messages processed, or null when
   * the run had already ended. */
  #advance(maxSteps: number, depth: number): number | null {
    const handle = this.#live();
    if (this.#final) return null;
    const now = new BigUint64Array(1);
    const events = new BigUint64Array(1);
    const rc = this.#lib.taos_sim_advance_steps(handle, maxSteps, depth, now, events);
    if (rc < 0) {
      if (rc === SimStatus.ENDED) return null;
      throw new Error(`native simulation failed (code ${rc})`);
    }
    this.#now = Number(now[0]);
    this.#final = rc === 0;
    return Number(events[0]);
  }

  /**
   * Runs up to `maxSteps` steps with each book running all of them in one go, which keeps a
   * book's state in cache (see `taos_sim_advance_steps`), and returns them with the first `depth`
   * levels per side of each; null once ended. The results are those of as many
   * {@linkcode step} calls. While a remote account has orders or instructions in flight, one
   * step runs.
   */
  steps(maxSteps: number, depth: number): RecordedStep[] | null {
    if (!Number.isInteger(maxSteps) || maxSteps < 1 || maxSteps > 0xFFFFFFFF) {
      throw new RangeError(`maxSteps: must be a positive integer, got ${maxSteps}`);
    }
    if (!Number.isInteger(depth) || depth < 0 || depth > MAX_STEP_DEPTH) {
      throw new RangeError(`depth: must be an integer in 0..${MAX_STEP_DEPTH}, got ${depth}`);
    }
    if (this.#advance(maxSteps, depth) === null) return null;
    const handle = this.#live();
    const count = this.#lib.taos_sim_steps(handle);
    const time = new BigUint64Array(1);
    const messages = new BigUint64Array(1);
    const processes = new Float64Array(2);
    const recorded: RecordedStep[] = [];
    for (let step = 0; step < count; step++) {
      let processed = 0;
      for (let book = 0; book < this.config.books; book++) {
        this.#lib.taos_sim_step_info(handle, book, step, time, messages, null);
        processed += Number(messages[0]);
      }
      const rawLevels = (book: number, side: 0 | 1, levelDepth: number) => {
        const kept = Math.min(levelDepth, depth);
        return this.#readLevels(kept, (prices, volumes) =>
          this.#lib.taos_sim_step_levels(
            this.#live(),
            book,
            step,
            side,
            BigInt(kept),
            prices,
            volumes,
          ));
      };
      recorded.push({
        timestamp: Number(time[0]),
        final: this.#final && step === count - 1,
        eventsProcessed: processed,
        rawEvents: (book) =>
          this.#readEvents((out, capacity) =>
            this.#lib.taos_sim_step_events(this.#live(), book, step, out, capacity)
          ),
        levels: (book, side, levelDepth) => this.#marketUnits(rawLevels(book, side, levelDepth)),
        rawLevels,
        processValues: (book) => {
          this.#lib.taos_sim_step_info(this.#live(), book, step, null, null, processes);
          return { fundamental: processes[0], external: processes[1] };
        },
      });
    }
    return recorded;
  }

  /** Runs every book to the next publish instant and returns the state, or null once ended. */
  advance(): PublishState | null {
    let processed = 0;
    for (;;) {
      const result = this.step();
      if (result === null) return null;
      processed += result.eventsProcessed;
      if (result.final || result.timestamp >= this.config.gracePeriod) {
        return this.#publish(result, processed);
      }
      this.#pending = [];
    }
  }

  /** Raw records of a book's events during the last step (and injections since). */
  rawEvents(bookId: number): RawEvent[] {
    return this.#readEvents((out, capacity) =>
      this.#lib.taos_sim_events(this.#live(), bookId, out, capacity)
    );
  }

  /** Events through `read(out, capacity)`, which returns how many there are. */
  #readEvents(read: (out: Uint8Array, capacity: bigint) => number | bigint): RawEvent[] {
    let n = Number(read(this.#eventBuffer, 0n));
    if (n * EVENT_SIZE > this.#eventBuffer.length) {
      this.#eventBuffer = new Uint8Array(EVENT_SIZE * Math.max(n, 2 * this.#eventBuffer.length));
    }
    n = Number(read(this.#eventBuffer, BigInt(this.#eventBuffer.length / EVENT_SIZE)));
    const view = new DataView(this.#eventBuffer.buffer);
    const out: RawEvent[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = readEvent(view, i);
    return out;
  }

  /** Up to `depth` aggregated levels of a side (0 bid, 1 ask), best first, in market units. */
  levels(bookId: number, side: 0 | 1, depth: number): LevelSummary[] {
    return this.#marketUnits(this.rawLevels(bookId, side, depth));
  }

  /** {@linkcode SimEngine.levels} in ticks and lots. */
  rawLevels(bookId: number, side: 0 | 1, depth: number): RawLevel[] {
    return this.#readLevels(
      depth,
      (prices, volumes) =>
        this.#lib.taos_sim_levels(this.#live(), bookId, side, BigInt(depth), prices, volumes),
    );
  }

  /** Levels through `read(prices, volumes)`, which returns how many the side has. */
  #readLevels(
    depth: number,
    read: (prices: BigInt64Array, volumes: BigInt64Array) => number | bigint,
  ): RawLevel[] {
    const prices = new BigInt64Array(Math.max(1, depth));
    const volumes = new BigInt64Array(Math.max(1, depth));
    const n = Number(read(prices, volumes));
    const out: RawLevel[] = [];
    for (let i = 0; i < Math.min(n, depth); i++) out.push({ ticks: prices[i], lots: volumes[i] });
    return out;
  }

  #marketUnits(levels: RawLevel[]): LevelSummary[] {
    return levels.map(({ ticks, lots }) => ({
      price: this.price(ticks),
      volume: this.volume(lots),
    }));
  }

  /** Number of non-empty levels of a side. */
  levelCount(bookId: number, side: 0 | 1): number {
    const none = new BigInt64Array(1);
    return Number(this.#lib.taos_sim_levels(this.#live(), bookId, side, 0n, none, none));
  }

  /** Balances of an account (remote id >= 0, background agent id < 0) on a book. */
  balances(agentId: number, bookId: number): { base: Balance; quote: Balance } {
    const out = new BigInt64Array(BALANCE_VALUES);
    if (this.#lib.taos_sim_balances(this.#live(), agentId, bookId, out) !== 0) {
      throw new RangeError(`no account ${agentId} on book ${bookId}`);
    }
    const b = (i: number) => Number(out[i]) / this.#baseScale;
    const q = (i: number) => Number(out[i]) / this.#quoteScale;
    return {
      base: { free: b(0), reserved: b(1), total: b(2), loan: b(6), collateral: b(8) },
      quote: { free: q(3), reserved: q(4), total: q(5), loan: q(7), collateral: q(9) },
    };
  }

  /**
   * Raw balances in native units: base free, reserved, total, quote free, reserved, total, base
   * loan, quote loan, base collateral, quote collateral.
   */
  rawBalances(agentId: number, bookId: number): BigInt64Array {
    const out = new BigInt64Array(BALANCE_VALUES);
    this.#lib.taos_sim_balances(this.#live(), agentId, bookId, out);
    return out;
  }

  /** Raw balances of every remote account on a book, {@linkcode BALANCE_VALUES} per account. */
  rawRemoteBalances(bookId: number): BigInt64Array {
    const remote = this.config.remoteAgentCount;
    const balances = new BigInt64Array(Math.max(1, BALANCE_VALUES * remote));
    const fees = new Float64Array(Math.max(1, 3 * remote));
    if (remote > 0) this.#lib.taos_sim_remote_accounts(this.#live(), bookId, balances, fees);
    return balances;
  }

  /** Values of the book's processes: fundamental price and external (futures) signal. */
  processValues(bookId: number): { fundamental: number; external: number } {
    const out = new Float64Array(2);
    this.#lib.taos_sim_process_values(this.#live(), bookId, out);
    return { fundamental: out[0], external: out[1] };
  }

  /** Account id of a background agent: group 0 init, 1 stylized, 2 hft, 3 algo, 4 futures. */
  backgroundAgentId(group: 0 | 1 | 2 | 3 | 4, index: number): number {
    return this.#lib.taos_sim_agent_id(this.#live(), group, index);
  }

  /** Ticks to a price. */
  price(ticks: bigint): number {
    return Number(ticks) / this.#priceScale;
  }

  /** Lots to a volume in base units. */
  volume(lots: bigint): number {
    return Number(lots) / this.#volumeScale;
  }

  /** Native quote units to quote. */
  quote(units: bigint): number {
    return Number(units) / this.#quoteScale;
  }

  /**
   * Queues a remote agent's instructions to arrive `delayNs` after the last publish instant.
   * Malformed instructions (unknown book, non-finite numbers, a time in force, STP flag or currency
   * outside its values, ...) are skipped; an amount too large for the core reaches it and is
   * rejected with a notice, and so is a placement whose `clientOrderId` is outside 0..4294967294
   * (`INVALID_CLIENT_ORDER_ID`), and a cancellation of an id outside that range (as an unknown
   * order). A partial cancellation below one lot cancels nothing and is answered as a
   * cancellation, as the specification has it. Returns how many were sent to the core.
   * RESET_AGENT takes effect at once.
   */
  inject(agentId: number, instructions: Instruction[], delayNs: number): number {
    const handle = this.#live();
    if (!Number.isInteger(agentId) || agentId < 0 || agentId >= this.config.remoteAgentCount) {
      return 0;
    }
    // Past the clock's range a delay means never, and the native side takes it modulo 2^64.
    if (!Number.isFinite(delayNs) || delayNs < 0 || delayNs >= CLOCK_RANGE_NS) return 0;
    const delay = Math.round(delayNs);
    const raw: RawInstruction[] = [];
    for (const instruction of instructions) {
      const converted = this.#convert(instruction, agentId, this.#now + delay);
      if (converted === null) continue;
      if (instruction.type === "RESET_AGENT") {
        for (let bookId = 0; bookId < this.config.books; bookId++) {
          this.#pending.push({
            timestamp: this.#now,
            agentId,
            bookId,
            type: "RESPONSE_DISTRIBUTED_RESET_AGENT",
            orderId: -1,
            clientOrderId: null,
          });
        }
      }
      // One at a time: spreading a list of 100 000 cancellations would overflow the stack.
      for (const one of converted) raw.push(one);
    }
    if (raw.length === 0) return 0;
    const packed = packInstructions(raw);
    const rc = this.#lib.taos_sim_inject(
      handle,
      agentId,
      packed,
      BigInt(raw.length),
      BigInt(delay),
    );
    if (rc > 0) this.#noteSent(agentId, raw, this.#now + delay);
    return rc < 0 ? 0 : rc;
  }

  /** Notes when the instructions the core took were sent. A reset purges the agent's
   * instructions still in flight, so none of those will be answered. */
  #noteSent(agentId: number, raw: RawInstruction[], arrival: number): void {
    for (const instruction of raw) {
      if (instruction.kind === 4) this.#sent.dropAgent(agentId);
      else this.#sent.push(agentId, instruction.bookId ?? 0, arrival, this.#now);
    }
  }

  /**
   * `x` as the core's instructions, arriving at `arrival`; null when malformed. A placement or
   * cancellation the core cannot represent is answered here with the refusal the exchange would
   * send.
   */
  #convert(x: Instruction, agentId: number, arrival: number): RawInstruction[] | null {
    if (x.type === "RESET_AGENT") return [{ kind: 4 }];
    if (!Number.isInteger(x.bookId) || x.bookId < 0 || x.bookId >= this.config.books) return null;
    if (x.type === "CANCEL_ORDERS") {
      const out: RawInstruction[] = [];
      for (const c of x.cancellations) {
        if (!Number.isInteger(c.orderId)) continue;
        if (c.orderId < 0 || c.orderId >= NONE) {
          // No order has such an id: answered here as the core answers an unknown one, travelling
          // back with the instruction's latency.
          this.#returning.push({
            at: 2 * arrival - this.#now,
            notice: {
              timestamp: arrival,
              agentId,
              bookId: x.bookId,
              type: "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS",
              orderId: c.orderId,
              clientOrderId: null,
              message: `Order IDs ${c.orderId} do not exist.`,
            },
          });
          continue;
        }
        const volume = c.volume == null ? 0n : this.#lots(c.volume);
        if (volume === null) continue;
        // A volume below one lot is a partial cancel of 0 lots: it cancels nothing and is answered
        // as a cancellation, as the specification has it (a bare 0 would cancel the whole order).
        const partial = c.volume != null;
        out.push({ kind: 3, bookId: x.bookId, orderId: c.orderId, volume, partial });
      }
      return out;
    }
    const client = x.clientOrderId ?? null;
    if (client !== null && !Number.isInteger(client)) return null;
    if (x.direction !== 0 && x.direction !== 1) return null;
    // One byte each in the core's record: a value past them would wrap into another (260 into 4).
    if (!enumValue(x.stpFlag ?? 0, 4)) return null;
    if (x.type === "PLACE_ORDER_LIMIT" && !enumValue(x.timeInForce ?? 0, 3)) return null;
    if (x.type === "PLACE_ORDER_MARKET" && !enumValue(x.currency ?? 0, 1)) return null;
    if (client !== null && (client < 0 || client >= NONE)) {
      // The core keeps a client id in 32 bits, NONE meaning none: the order is refused as the
      // exchange refuses an order, so that its sender hears of it.
      const limit = x.type === "PLACE_ORDER_LIMIT";
      this.#returning.push({
        at: arrival,
        notice: {
          timestamp: arrival,
          agentId,
          bookId: x.bookId,
          type: `ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_${limit ? "LIMIT" : "MARKET"}`,
          orderId: -1,
          clientOrderId: client,
          message: `${INVALID_CLIENT_ORDER_ID}: clientOrderId ${client} is outside 0..${NONE - 1}`,
          reason: INVALID_CLIENT_ORDER_ID,
          request: { direction: x.direction, volume: x.volume, price: limit ? x.price : null },
        },
      });
      return [];
    }
    const leverage = x.leverage ?? 0;
    if (!Number.isFinite(leverage) || leverage < 0 || leverage > 1e6) return null;
    // The range is judged on the value, as the reference judges it: rounding to 10^-9 (to undo a
    // double's error, 0.3 x 1e9) must neither bring a leverage just past maxLeverage inside it nor
    // put one within it past the core's limit (see `leverageLimitE9`). The simulation keeps a
    // leverage in 10^-6: one past it is moved a whole such unit beyond the limit.
    const max = this.config.exchange.maxLeverage;
    const maxE9 = leverageLimitE9(max);
    const roundedE9 = BigInt(Math.round(leverage * 1e9));
    const leverageE9 = leverage > max ? maxE9 + 1000n : roundedE9 < maxE9 ? roundedE9 : maxE9;
    if (x.type === "PLACE_ORDER_MARKET") {
      const quoteSized = x.currency === 1;
      const volume = quoteSized
        ? this.#units(x.volume, this.config.exchange.quoteDecimals)
        : this.#lots(x.volume);
      if (volume === null) return null;
      if (volume === TOO_LARGE) {
        this.#oversized.push(agentId, x.bookId, arrival, {
          direction: x.direction,
          volume: x.volume,
          price: null,
        });
      }
      return [{
        kind: 2,
        bookId: x.bookId,
        direction: x.direction,
        volume,
        clientOrderId: client ?? NONE,
        stpFlag: x.stpFlag ?? 0,
        currency: quoteSized ? 1 : 0,
        leverageE9,
      }];
    }
    const volume = this.#lots(x.volume);
    const price = this.#units(x.price, this.config.exchange.priceDecimals);
    if (volume === TOO_LARGE || price === TOO_LARGE) {
      this.#oversized.push(agentId, x.bookId, arrival, {
        direction: x.direction,
        volume: x.volume,
        price: x.price,
      });
    }
    // A GTT order without an expiry period is a GTC order.
    const tif = x.timeInForce === 1 && (x.expiryPeriod ?? null) === null ? 0 : x.timeInForce ?? 0;
    const expiry = x.expiryPeriod ?? 0;
    if (volume === null || price === null || !Number.isFinite(expiry) || expiry < 0) return null;
    return [{
      kind: 1,
      bookId: x.bookId,
      direction: x.direction,
      volume,
      price,
      clientOrderId: client ?? NONE,
      postOnly: x.postOnly ?? false,
      timeInForce: tif,
      expiryNs: BigInt(Math.round(expiry)),
      stpFlag: x.stpFlag ?? 0,
      leverageE9,
    }];
  }

  /** A base volume to lots, truncated (`gridUnits`); null when not a finite number. */
  #lots(volume: number): bigint | null {
    return this.#units(volume, this.config.exchange.volumeDecimals);
  }

  /**
   * A price, volume or quote amount to integer units, truncated (`gridUnits`); null when not a
   * finite number. One too large for the core becomes {@linkcode TOO_LARGE}, so that the core
   * rejects the order with its reason and the miner is told, rather than it vanishing here.
   */
  #units(value: number, decimals: number): bigint | null {
    if (!Number.isFinite(value) || value < 0) return null;
    // A volume of 2^53 units is the most the core takes: it reaches the core, which judges it.
    if (value * 10 ** decimals > 2 ** 53) return TOO_LARGE;
    return BigInt(gridUnits(value, decimals));
  }

  #publish(result: StepResult, processed: number): PublishState {
    const books: BookState[] = [];
    const notices: Notice[] = this.#pending;
    this.#pending = [];
    for (let bookId = 0; bookId < this.config.books; bookId++) {
      const record: BookEvent[] = [];
      const events = this.rawEvents(bookId);
      const bought = quoteSizedFills(events);
      for (const e of events) {
        const event = this.#bookEvent(e, bought.get(e.orderId) ?? 0n);
        if (event !== null) record.push(event);
        this.#notices(bookId, e, notices);
      }
      books.push({
        bookId,
        record,
        bid: this.#detailedLevels(bookId, 0),
        ask: this.#detailedLevels(bookId, 1),
        fundamental: this.processValues(bookId).fundamental,
      });
    }
    // Acknowledgements reach their agents the latency of their instruction after it arrived (the
    // reference's symmetric round trip); those still on their way wait for a later publish.
    const returning = this.#returning;
    this.#returning = [];
    const travelled = new Map<Notice, number>();
    for (const item of returning) {
      if (item.at <= result.timestamp) {
        notices.push(item.notice);
        travelled.set(item.notice, item.at - item.notice.timestamp);
      } else this.#returning.push(item);
    }
    // Every instruction that arrived before this publish instant has been answered by now; one
    // arriving at the instant itself is taken in the next step, as the reference's loop does.
    this.#sent.dropArrivedBefore(result.timestamp);
    this.#oversized.dropArrivedBefore(result.timestamp);
    const accounts = this.#remoteAccounts();
    // As the reference orders them: by time, then those that travelled back longest first, so an
    // order's acceptance comes before the fills it made on arrival, which were reported at once.
    notices.sort((a, b) =>
      a.timestamp - b.timestamp || (travelled.get(b) ?? 0) - (travelled.get(a) ?? 0)
    );
    return {
      timestamp: result.timestamp,
      final: result.final,
      books,
      accounts,
      notices,
      eventsProcessed: processed,
    };
  }

  /** `bought`: for a market order sized in quote, the base lots it filled. */
  #bookEvent(e: RawEvent, bought: bigint): BookEvent | null {
    const timestamp = Number(e.timestamp);
    const direction = e.direction as Direction;
    switch (e.kind) {
      case EventKind.PLACE:
        return {
          event: "place",
          orderId: e.orderId,
          timestamp,
          // A market order sized in quote is the base volume it bought, as the reference converts
          // it to a base-sized order before placing it.
          volume: this.volume(e.flags & EVENT_FLAG_QUOTE ? bought : e.volume),
          leverage: Number(e.leverageE9) / 1e9,
          direction,
          price: e.flags & EVENT_FLAG_MARKET ? null : this.price(e.price),
          agentId: e.agentId,
          clientOrderId: e.clientOrderId === NONE ? null : e.clientOrderId,
        };
      case EventKind.TRADE:
        return {
          event: "trade",
          tradeId: e.tradeId,
          timestamp,
          direction,
          aggressingOrderId: e.orderId,
          restingOrderId: e.restingOrderId,
          volume: this.volume(e.volume),
          price: this.price(e.price),
          aggressingAgentId: e.agentId,
          restingAgentId: e.restingAgentId,
          fees: { maker: this.quote(e.feeMaker), taker: this.quote(e.feeTaker) },
        };
      case EventKind.CANCEL:
        return {
          event: "cancel",
          orderId: e.orderId,
          timestamp,
          volume: this.volume(e.volume),
          agentId: e.agentId,
        };
      default:
        return null;
    }
  }

  /** An acknowledgement of an agent's instruction goes back with the latency the instruction had
   * (anything else the agent hears of at once). */
  #acknowledge(notice: Notice, out: Notice[]): void {
    const sentAt = this.#sent.take(notice.agentId, notice.bookId, notice.timestamp);
    if (sentAt === undefined) out.push(notice);
    else this.#returning.push({ notice, at: 2 * notice.timestamp - sentAt });
  }

  #notices(bookId: number, e: RawEvent, out: Notice[]): void {
    const timestamp = Number(e.timestamp);
    const client = (id: number) => id === NONE ? null : id;
    const market = (e.flags & EVENT_FLAG_MARKET) !== 0;
    const placeType = market ? "PLACE_ORDER_MARKET" : "PLACE_ORDER_LIMIT";
    if (e.kind === EventKind.PLACE && e.agentId >= 0) {
      this.#acknowledge({
        timestamp,
        agentId: e.agentId,
        bookId,
        type: `RESPONSE_DISTRIBUTED_${placeType}`,
        orderId: e.orderId,
        clientOrderId: client(e.clientOrderId),
        ...(e.flags & EVENT_FLAG_QUOTE
          ? {
            request: {
              direction: e.direction as Direction,
              volume: this.quote(e.volume),
              price: null,
            },
          }
          : {}),
      }, out);
    } else if (e.kind === EventKind.REJECT) {
      // It answers its instruction at once, so the next answer there is for the next one.
      this.#sent.take(e.agentId, bookId, timestamp);
      const reason = rejectReason[e.code] ?? "REJECTED";
      const oversized = e.volume === TOO_LARGE || e.price === TOO_LARGE
        ? this.#oversized.take(e.agentId, bookId, timestamp)
        : undefined;
      // Only the field that held the placeholder is said to be too large: the core checks the
      // volume first, so a tiny volume beside a huge price is refused for the volume.
      const text = oversized !== undefined && reason === "INVALID_VOLUME" && e.volume === TOO_LARGE
        ? `volume ${oversized.volume} is more than one order may carry`
        : oversized !== undefined && reason === "INVALID_PRICE" && e.price === TOO_LARGE
        ? `price ${oversized.price} is beyond the exchange's range`
        : rejectText[e.code] ?? `code ${e.code}`;
      out.push({
        timestamp,
        agentId: e.agentId,
        bookId,
        type: `ERROR_RESPONSE_DISTRIBUTED_${placeType}`,
        orderId: -1,
        clientOrderId: client(e.clientOrderId),
        message: `${reason}: ${text}`,
        reason,
        request: oversized ?? {
          direction: e.direction as Direction,
          volume: e.flags & EVENT_FLAG_QUOTE ? this.quote(e.volume) : this.volume(e.volume),
          price: market ? null : this.price(e.price),
        },
      });
    } else if (
      e.kind === EventKind.CANCEL && e.agentId >= 0 &&
      !(e.flags & (EVENT_FLAG_DROPPED | EVENT_FLAG_STP))
    ) {
      // Self-trade prevention cancels a resting order no one asked to cancel: its owner sees it in
      // the book's events only, as in the reference.
      this.#acknowledge({
        timestamp,
        agentId: e.agentId,
        bookId,
        type: "RESPONSE_DISTRIBUTED_CANCEL_ORDERS",
        orderId: e.orderId,
        clientOrderId: client(e.clientOrderId),
        cancelledVolume: e.flags & EVENT_FLAG_PARTIAL ? this.volume(e.volume) : null,
      }, out);
    } else if (e.kind === EventKind.CANCEL_FAIL) {
      this.#acknowledge({
        timestamp,
        agentId: e.agentId,
        bookId,
        type: "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS",
        orderId: e.orderId,
        clientOrderId: null,
        message: `Order IDs ${e.orderId} do not exist.`,
      }, out);
    } else if (e.kind === EventKind.TRADE) {
      const price = this.price(e.price);
      const volume = this.volume(e.volume);
      const sides: [number, number, number, number][] = [
        [e.agentId, e.orderId, e.clientOrderId, Number(e.feeTaker)],
        [e.restingAgentId, e.restingOrderId, e.restingClientOrderId, Number(e.feeMaker)],
      ];
      for (const [agentId, orderId, clientOrderId, fee] of sides) {
        if (agentId < 0) continue;
        out.push({
          timestamp,
          agentId,
          bookId,
          type: "EVENT_TRADE",
          orderId,
          clientOrderId: client(clientOrderId),
          trade: {
            tradeId: e.tradeId,
            price,
            volume,
            direction: e.direction as Direction,
            fee: fee / this.#quoteScale,
          },
        });
      }
    }
  }

  #readOrders(
    count: number,
    fill: (buffer: Uint8Array<ArrayBuffer>, capacity: bigint) => number,
  ): RawOrder[] {
    if (count * ORDER_SIZE > this.#orderBuffer.length) {
      this.#orderBuffer = new Uint8Array(ORDER_SIZE * count);
    }
    const n = Math.min(
      count,
      fill(this.#orderBuffer, BigInt(this.#orderBuffer.length / ORDER_SIZE)),
    );
    const view = new DataView(this.#orderBuffer.buffer);
    const out: RawOrder[] = [];
    for (let i = 0; i < n; i++) out.push(readOrder(view, i));
    return out;
  }

  #detailedLevels(bookId: number, side: 0 | 1): Level[] {
    const count = this.levelCount(bookId, side);
    const prices = new BigInt64Array(Math.max(1, count));
    const volumes = new BigInt64Array(Math.max(1, count));
    this.#lib.taos_sim_levels(this.#live(), bookId, side, BigInt(count), prices, volumes);
    const detailed = this.config.exchange.detailedDepth;
    const levels: Level[] = [];
    for (let i = 0; i < count; i++) {
      const level: Level = { price: this.price(prices[i]), volume: this.volume(volumes[i]) };
      if (i < detailed) {
        const fill = (buffer: Uint8Array<ArrayBuffer>, capacity: bigint) =>
          Number(
            this.#lib.taos_sim_level_orders(
              this.#live(),
              bookId,
              side,
              BigInt(i),
              buffer,
              capacity,
            ),
          );
        const total = fill(this.#orderBuffer, 0n);
        level.orders = this.#readOrders(total, fill).map((o) => ({
          orderId: o.orderId,
          timestamp: Number(o.timestamp),
          volume: this.volume(o.volume),
          leverage: Number(o.leverageE9) / 1e9,
          direction: o.direction as Direction,
        }));
      }
      levels.push(level);
    }
    return levels;
  }

  /** The remote accounts a publish reads, book by book in two calls per book. */
  #remoteAccounts(): RemoteAccount[] {
    const remote = this.config.remoteAgentCount;
    const accounts: RemoteAccount[] = [];
    for (let agentId = 0; agentId < this.#publishedAccounts; agentId++) {
      accounts.push({ agentId, holdings: [], orders: [], fees: [] });
    }
    if (accounts.length === 0) return accounts;
    const balances = new BigInt64Array(BALANCE_VALUES * remote);
    const fees = new Float64Array(3 * remote);
    const b = (i: number) => Number(balances[i]) / this.#baseScale;
    const q = (i: number) => Number(balances[i]) / this.#quoteScale;
    for (let bookId = 0; bookId < this.config.books; bookId++) {
      this.#lib.taos_sim_remote_accounts(this.#live(), bookId, balances, fees);
      for (const account of accounts) {
        const o = BALANCE_VALUES * account.agentId;
        const f = 3 * account.agentId;
        account.holdings.push({
          base: {
            free: b(o),
            reserved: b(o + 1),
            total: b(o + 2),
            loan: b(o + 6),
            collateral: b(o + 8),
          },
          quote: {
            free: q(o + 3),
            reserved: q(o + 4),
            total: q(o + 5),
            loan: q(o + 7),
            collateral: q(o + 9),
          },
        });
        account.fees.push({
          volume: fees[f],
          makerFeeRate: fees[f + 1],
          takerFeeRate: fees[f + 2],
        });
        account.orders.push([]);
      }
      const fill = (buffer: Uint8Array<ArrayBuffer>, capacity: bigint) =>
        Number(this.#lib.taos_sim_remote_orders(this.#live(), bookId, buffer, capacity));
      for (const o of this.#readOrders(fill(this.#orderBuffer, 0n), fill)) {
        // An order of an account this publish does not read.
        if (o.agentId >= accounts.length) continue;
        accounts[o.agentId].orders[bookId].push({
          orderId: o.orderId,
          timestamp: Number(o.timestamp),
          volume: this.volume(o.volume),
          leverage: Number(o.leverageE9) / 1e9,
          direction: o.direction as Direction,
          price: this.price(o.price),
          clientOrderId: o.clientOrderId === NONE ? null : o.clientOrderId,
        });
      }
    }
    return accounts;
  }

  /** Frees the native handle; the engine is unusable afterwards. */
  close(): void {
    if (this.#handle !== null) {
      this.#lib.taos_sim_destroy(this.#handle);
      this.#handle = null;
    }
  }
}
