/**
 * The validator's running score book: per miner, the inventory-value history, the trade volume
 * in 10-minute buckets per role, the activity factor and Sharpe per book, and the score EMA.
 * One {@linkcode Scorer.observe} call per published state updates every miner.
 *
 * ```ts
 * const scorer = new Scorer({ uids: 256, books: 20 });
 * for (let s = engine.advance(); s !== null; s = engine.advance()) {
 *   scorer.observe(observationFromPublish(s));
 * }
 * console.log(scorer.scores());
 * ```
 * @module
 */
import type { PublishState } from "../../sim/engine.ts";
import {
  activityFactor,
  aggregateReward,
  DEFAULT_SCORING,
  emaScore,
  inventoryValue,
  median,
  normalizeSharpe,
  roundHalfEven,
  type ScoringConfig,
  sharpeRatio,
  weightedScore,
} from "./formulas.ts";

/** One fill a miner took part in. */
export interface Fill {
  bookId: number;
  price: number;
  quantity: number;
  makerAgentId: number;
  takerAgentId: number;
}

/** What the scorer needs from one published state. */
export interface ScoringObservation {
  /** Simulated ns of the state. */
  timestamp: number;
  /** Per book: best bid and ask (null for an empty side). */
  quotes: { bid: number | null; ask: number | null }[];
  /** Per miner uid: total base and quote per book. Missing uid = no account. */
  holdings: Map<number, { base: number; quote: number }[]>;
  /** Per miner uid: its fills since the previous state. */
  fills: Map<number, Fill[]>;
}

/** Volume roles a fill is booked under (besides `total`). */
export type VolumeRole = "total" | "maker" | "taker" | "self";
const ROLES: VolumeRole[] = ["total", "maker", "taker", "self"];

/** Sharpe values of one miner (per book plus reporting aggregates). */
export interface SharpeValues {
  books: number[];
  total: number;
  average: number;
  median: number;
  normalizedAverage: number;
  normalizedTotal: number;
  normalizedMedian: number;
}

/** Everything the scorer keeps about one miner. */
export interface MinerRecord {
  /**
   * Inventory values per book at the last `lookback` states, oldest first. A state's entry holds
   * the books it published (the first `values.length`): one published before a book was added
   * does not hold that book.
   */
  inventory: { timestamp: number; values: number[] }[];
  /** Per book, per role: bucket end (ns) → quote volume, in insertion order. */
  volumes: Record<VolumeRole, Map<number, number>>[];
  /** Activity factor per book. */
  activity: number[];
  sharpe: SharpeValues;
  /** Reward of the latest state. */
  reward: number;
  /** Score EMA. */
  score: number;
}

/** Plain-JSON form of a scorer, for persistence. */
export interface ScorerSnapshot {
  books: number;
  miners: {
    inventory: { timestamp: number; values: number[] }[];
    volumes: Record<VolumeRole, [number, number][]>[];
    activity: number[];
    sharpe: SharpeValues;
    reward: number;
    score: number;
  }[];
}

/** How to create a scorer. */
export interface ScorerOptions {
  /** Number of miner uids (0 … uids−1). */
  uids: number;
  /** Number of books. */
  books: number;
  config?: Partial<ScoringConfig>;
}

function emptySharpe(books: number): SharpeValues {
  return {
    books: new Array(books).fill(0),
    total: 0,
    average: 0,
    median: 0,
    normalizedAverage: 0.5,
    normalizedTotal: 0.5,
    normalizedMedian: 0.5,
  };
}

function emptyRecord(books: number): MinerRecord {
  return {
    inventory: [],
    volumes: Array.from({ length: books }, () => ({
      total: new Map(),
      maker: new Map(),
      taker: new Map(),
      self: new Map(),
    })),
    activity: new Array(books).fill(0),
    sharpe: emptySharpe(books),
    reward: 0,
    score: 0,
  };
}

/** Per-miner scoring state and the per-state update of §4 of the network spec. */
export class Scorer {
  /** Effective parameters. */
  readonly config: ScoringConfig;
  /** Books scored. */
  readonly books: number;
  /** One record per uid. */
  readonly miners: MinerRecord[];
  /**
   * Saved records of uids from `uids` up, which a configuration with fewer miner accounts left
   * without one: their score, Sharpe values, activity and volumes are kept (not updated, and no
   * score is given for them) so that a later configuration with accounts for them takes them up
   * again, instead of the state losing them.
   */
  readonly #dormant: ScorerSnapshot["miners"] = [];
  /** Value changes of each miner's history, kept in step with it (derived, not persisted). */
  readonly #changes = new WeakMap<MinerRecord, ChangeWindow>();

  /** Creates an empty score book. */
  constructor(options: ScorerOptions) {
    this.config = { ...DEFAULT_SCORING, ...options.config };
    this.books = options.books;
    this.miners = Array.from({ length: options.uids }, () => emptyRecord(options.books));
  }

  /** The volume at which a miner's new placements on a book are refused. */
  get volumeCap(): number {
    return roundHalfEven(
      this.config.capitalTurnoverCap * this.config.minerWealth,
      this.config.volumeDecimals,
    );
  }

  /** A miner's traded volume per book over the assessment period (what the cap applies to). */
  volumeTraded(uid: number): number[] {
    const record = this.miners[uid];
    if (record === undefined) return new Array(this.books).fill(0);
    return record.volumes.map((book) => {
      let sum = 0;
      for (const v of book.total.values()) sum += v;
      return roundHalfEven(sum, this.config.volumeDecimals);
    });
  }

  /** Current EMA scores by uid. */
  scores(): number[] {
    return this.miners.map((m) => m.score);
  }

  /**
   * Scores one published state for every uid and steps the EMA. Returns the rewards by uid.
   * A miner whose reward cannot be computed (fewer than two observations, or bad numbers)
   * keeps its current score as its reward.
   */
  observe(observation: ScoringObservation): number[] {
    const rewards = this.miners.map((record, uid) => {
      try {
        const reward = this.#reward(record, uid, observation);
        return reward ?? record.score;
      } catch {
        return record.score;
      }
    });
    this.miners.forEach((record, uid) => {
      record.reward = rewards[uid];
      record.score = emaScore(record.score, rewards[uid], this.config.alpha);
    });
    return rewards;
  }

  #reward(record: MinerRecord, uid: number, obs: ScoringObservation): number | null {
    const c = this.config;
    const T = obs.timestamp;
    const bucket = Math.ceil(T / c.volumeSamplingInterval) * c.volumeSamplingInterval;
    const horizon = T - c.volumeAssessmentPeriod;
    for (const book of record.volumes) {
      for (const role of ROLES) {
        const buckets = book[role];
        if (smallestKey(buckets) < horizon) {
          for (const key of buckets.keys()) if (!(key > horizon)) buckets.delete(key);
        }
      }
      if (!book.total.has(bucket)) { for (const role of ROLES) book[role].set(bucket, 0); }
    }
    for (const fill of obs.fills.get(uid) ?? []) {
      const book = record.volumes[fill.bookId];
      const value = fill.quantity * fill.price;
      // A fill of no real quote value (NaN, infinite, zero or negative) books nothing: NaN would
      // void the activity factor for the hour and hide the 24 h volume from the cap, a negative
      // amount would push the factor below 0 and the reward out of [0, 2].
      if (book === undefined || !(value > 0 && value < Infinity)) continue;
      const add = (role: VolumeRole) =>
        book[role].set(
          bucket,
          roundHalfEven((book[role].get(bucket) ?? 0) + value, c.volumeDecimals),
        );
      add("total");
      if (fill.makerAgentId === fill.takerAgentId) add("self");
      else if (fill.makerAgentId === uid) add("maker");
      else if (fill.takerAgentId === uid) add("taker");
    }

    const holdings = obs.holdings.get(uid);
    const values = obs.quotes.map((q, bookId) => {
      const h = holdings?.[bookId];
      return h === undefined ? 0 : inventoryValue(h.quote, h.base, q.bid, q.ask, c.minerWealth);
    });
    record.inventory.push({ timestamp: T, values });
    if (record.inventory.length > c.lookback) {
      record.inventory.splice(0, record.inventory.length - c.lookback);
    }
    this.#changesOf(record).follow(record.inventory);
    if (record.inventory.length <= 1) return null;

    record.sharpe = this.#sharpe(record);
    const cap = this.volumeCap;
    const since = T - c.lookback * c.publishInterval;
    const weighted = record.volumes.map((book, bookId) => {
      let recent = 0;
      let last: number | undefined;
      for (const [key, v] of book.total) {
        if (key >= since) recent += v;
        last = v;
      }
      recent = roundHalfEven(recent, c.volumeDecimals);
      const latest = last ?? 0;
      record.activity[bookId] = activityFactor(
        record.activity[bookId],
        recent,
        latest,
        cap,
        c.lookback,
      );
      const normalized = normalizeSharpe(
        record.sharpe.books[bookId],
        c.normalizationMin,
        c.normalizationMax,
      );
      return weightedScore(record.activity[bookId], normalized);
    });
    return aggregateReward(weighted);
  }

  #changesOf(record: MinerRecord): ChangeWindow {
    let window = this.#changes.get(record);
    if (window === undefined) {
      window = new ChangeWindow(this.books, this.config.lookback);
      window.follow(record.inventory);
      this.#changes.set(record, window);
    }
    return window;
  }

  #sharpe(record: MinerRecord): SharpeValues {
    const c = this.config;
    const all = this.#changesOf(record).sharpes();
    const books = Array.from(all.subarray(0, this.books));
    // The window's changes are those of books every entry holds; the others are taken apart.
    let held = this.books;
    for (const entry of record.inventory) held = Math.min(held, entry.values.length);
    for (let b = held; b < this.books; b++) books[b] = heldSharpe(record.inventory, b);
    const total = all[this.books];
    const average = books.reduce((a, b) => a + b, 0) / books.length;
    const med = median(books);
    const n = (s: number) => normalizeSharpe(s, c.normalizationMin, c.normalizationMax);
    return {
      books,
      total,
      average,
      median: med,
      normalizedAverage: n(average),
      normalizedTotal: n(total),
      normalizedMedian: n(med),
    };
  }

  /** Clears a deregistered uid: history, volumes, activity, Sharpe and score. */
  reset(uid: number): void {
    if (uid >= 0 && uid < this.miners.length) this.miners[uid] = emptyRecord(this.books);
    const dormant = uid - this.miners.length;
    if (dormant >= 0 && dormant < this.#dormant.length) {
      this.#dormant[dormant] = recordJSON(emptyRecord(this.books));
    }
  }

  /** The uids kept without an account (see `#dormant`) whose score is not 0. */
  get dormantScored(): number[] {
    const uids: number[] = [];
    this.#dormant.forEach((m, i) => m.score !== 0 && uids.push(this.miners.length + i));
    return uids;
  }

  /**
   * At the start of a new simulation: shifts every volume bucket by `−previousEnd` (the last
   * timestamp of the previous simulation) so the volume windows continue across the boundary.
   */
  rebase(previousEnd: number): void {
    for (const record of this.miners) {
      for (const book of record.volumes) {
        for (const role of ROLES) {
          book[role] = new Map([...book[role]].map(([key, v]) => [key - previousEnd, v]));
        }
      }
    }
    for (const record of this.#dormant) {
      for (const book of record.volumes) {
        for (const role of ROLES) book[role] = book[role].map(([key, v]) => [key - previousEnd, v]);
      }
    }
  }

  /**
   * Every record the state keeps, those kept without an account last: what a save writes (the
   * scorer's `miners` are only the scored ones).
   */
  get windows(): {
    books: number;
    miners: readonly (MinerRecord | ScorerSnapshot["miners"][number])[];
  } {
    return { books: this.books, miners: [...this.miners, ...this.#dormant] };
  }

  /** Plain-JSON snapshot (Maps as entry lists), the records kept without an account last. */
  toJSON(): ScorerSnapshot {
    return { books: this.books, miners: [...this.miners.map(recordJSON), ...this.#dormant] };
  }

  /**
   * Restores a snapshot; uids and books beyond the snapshot start empty, extra books are dropped,
   * and extra uids are kept aside as saved (see `#dormant`).
   */
  static fromJSON(snapshot: ScorerSnapshot, options: ScorerOptions): Scorer {
    const scorer = new Scorer(options);
    scorer.#dormant.push(
      ...snapshot.miners.slice(options.uids).map((m) => fitBooks(m, options.books)),
    );
    snapshot.miners.slice(0, options.uids).forEach((m, uid) => {
      const record = scorer.miners[uid];
      record.inventory = m.inventory.map((e) => ({
        timestamp: e.timestamp,
        values: Array.from(
          { length: Math.min(e.values.length, options.books) },
          (_, b) => e.values[b] ?? 0,
        ),
      }));
      m.volumes.slice(0, options.books).forEach((book, b) => {
        record.volumes[b] = {
          total: new Map(book.total),
          maker: new Map(book.maker),
          taker: new Map(book.taker),
          self: new Map(book.self),
        };
      });
      m.activity.slice(0, options.books).forEach((a, b) => (record.activity[b] = a));
      record.sharpe = { ...emptySharpe(options.books), ...m.sharpe };
      record.reward = m.reward;
      record.score = m.score;
    });
    return scorer;
  }
}

/**
 * A saved record set aside without its inventory window (those stay in step with the publishes,
 * which the state's storage relies on, and an account made for the uid later starts afresh
 * anyway), its per-book values fitted to `books`.
 */
function fitBooks(
  m: ScorerSnapshot["miners"][number],
  books: number,
): ScorerSnapshot["miners"][number] {
  const none = (): Record<VolumeRole, [number, number][]> => ({
    total: [],
    maker: [],
    taker: [],
    self: [],
  });
  return {
    ...m,
    inventory: [],
    volumes: Array.from({ length: books }, (_, b) => m.volumes[b] ?? none()),
    activity: Array.from({ length: books }, (_, b) => m.activity[b] ?? 0),
    sharpe: {
      ...m.sharpe,
      books: Array.from({ length: books }, (_, b) => m.sharpe.books?.[b] ?? 0),
    },
  };
}

/** A record's plain-JSON form (Maps as entry lists). */
function recordJSON(m: MinerRecord): ScorerSnapshot["miners"][number] {
  return {
    inventory: m.inventory,
    volumes: m.volumes.map((book) => ({
      total: [...book.total],
      maker: [...book.maker],
      taker: [...book.taker],
      self: [...book.self],
    })),
    activity: m.activity,
    sharpe: m.sharpe,
    reward: m.reward,
    score: m.score,
  };
}

/**
 * The Sharpe ratio of book `book` over the entries that hold it: the changes between its
 * successive values, less those with a new simulation (a timestamp that does not move on)
 * anywhere between them; 0 for fewer than two values.
 */
function heldSharpe(entries: readonly { timestamp: number; values: number[] }[], book: number) {
  const changes: number[] = [];
  let previous: number | null = null;
  let across = false;
  entries.forEach((entry, i) => {
    if (i > 0 && entry.timestamp <= entries[i - 1].timestamp) across = true;
    if (book >= entry.values.length) return;
    if (previous !== null && !across) changes.push(entry.values[book] - previous);
    previous = entry.values[book];
    across = false;
  });
  return sharpeRatio(changes);
}

/** `Math.min(...buckets.keys())` (NaN if a key is NaN, Infinity if none) without a copy. */
function smallestKey(buckets: Map<number, number>): number {
  let smallest = Infinity;
  for (const key of buckets.keys()) {
    if (Number.isNaN(key)) return NaN;
    if (key < smallest) smallest = key;
  }
  return smallest;
}

/**
 * The value changes of one miner's inventory history per book and for the sum over books, in a
 * ring of typed rows that follows the history as it grows and drops old entries, so each
 * publish costs one new row and two passes over contiguous numbers. A change across a timestamp
 * that goes backwards (a new simulation) is kept as a row but excluded.
 */
class ChangeWindow {
  readonly #series: number;
  readonly #capacity: number;
  readonly #rows: Float64Array;
  readonly #valid: Uint8Array;
  #start = 0;
  #size = 0;
  /** The history entry the newest row ends at. */
  #last: { timestamp: number; values: number[] } | null = null;

  constructor(readonly books: number, lookback: number) {
    this.#series = books + 1;
    this.#capacity = Math.max(1, lookback);
    this.#rows = new Float64Array(this.#capacity * this.#series);
    this.#valid = new Uint8Array(this.#capacity);
  }

  /** Brings the rows in line with `entries` (appending the newest change, dropping old ones). */
  follow(entries: { timestamp: number; values: number[] }[]): void {
    const n = entries.length;
    if (n >= 2 && this.#last === entries[n - 2]) {
      this.#push(entries[n - 2], entries[n - 1]);
    } else if (this.#last !== entries[n - 1]) {
      this.#start = 0;
      this.#size = 0;
      for (let i = 1; i < n; i++) this.#push(entries[i - 1], entries[i]);
    }
    this.#last = entries[n - 1] ?? null;
    while (this.#size > Math.max(0, n - 1)) {
      this.#start = (this.#start + 1) % this.#capacity;
      this.#size--;
    }
  }

  #push(
    from: { timestamp: number; values: number[] },
    to: { timestamp: number; values: number[] },
  ) {
    if (this.#size === this.#capacity) {
      this.#start = (this.#start + 1) % this.#capacity;
      this.#size--;
    }
    const row = (this.#start + this.#size) % this.#capacity;
    const offset = row * this.#series;
    // The total is the change of the per-state sums, not the sum of the per-book changes: the
    // two round differently, and a last-bit difference can turn a zero std into a tiny one.
    let fromTotal = 0;
    let toTotal = 0;
    for (let b = 0; b < this.books; b++) {
      const [before, after] = [from.values[b] ?? 0, to.values[b] ?? 0];
      this.#rows[offset + b] = after - before;
      fromTotal += before;
      toTotal += after;
    }
    this.#rows[offset + this.books] = toTotal - fromTotal;
    this.#valid[row] = to.timestamp <= from.timestamp ? 0 : 1;
    this.#size++;
  }

  /** `√n·mean/std` per book and (last) for the sum; 0 without changes or with zero std. */
  sharpes(): Float64Array {
    const series = this.#series;
    const rows = this.#rows;
    const valid = this.#valid;
    const sum = new Float64Array(series);
    const squares = new Float64Array(series);
    // The window is the ring's rows [start, end) followed, when it wraps, by [0, wrapped).
    const end = Math.min(this.#start + this.#size, this.#capacity);
    const wrapped = this.#start + this.#size - end;
    let count = 0;
    const addRows = (from: number, to: number) => {
      for (let row = from; row < to; row++) {
        if (valid[row] === 0) continue;
        count++;
        const offset = row * series;
        for (let k = 0; k < series; k++) sum[k] += rows[offset + k];
      }
    };
    addRows(this.#start, end);
    addRows(0, wrapped);
    const out = new Float64Array(series);
    if (count === 0) return out;
    const mean = sum.map((s) => s / count);
    const addSquares = (from: number, to: number) => {
      for (let row = from; row < to; row++) {
        if (valid[row] === 0) continue;
        const offset = row * series;
        for (let k = 0; k < series; k++) squares[k] += (rows[offset + k] - mean[k]) ** 2;
      }
    };
    addSquares(this.#start, end);
    addSquares(0, wrapped);
    for (let k = 0; k < series; k++) {
      const std = Math.sqrt(squares[k] / count);
      out[k] = std === 0 ? 0 : Math.sqrt(count) * (mean[k] / std);
    }
    return out;
  }
}

/** Builds the scorer's input from a published simulation state. */
export function observationFromPublish(publish: PublishState): ScoringObservation {
  const quotes = publish.books.map((b) => ({
    bid: b.bid[0]?.price ?? null,
    ask: b.ask[0]?.price ?? null,
  }));
  const holdings = new Map<number, { base: number; quote: number }[]>();
  for (const account of publish.accounts) {
    holdings.set(
      account.agentId,
      account.holdings.map((h) => ({ base: h.base.total, quote: h.quote.total })),
    );
  }
  const trades = new Map<string, { maker: number; taker: number }>();
  for (const book of publish.books) {
    for (const e of book.record) {
      if (e.event === "trade") {
        trades.set(`${book.bookId}:${e.tradeId}`, {
          maker: e.restingAgentId,
          taker: e.aggressingAgentId,
        });
      }
    }
  }
  const fills = new Map<number, Fill[]>();
  for (const notice of publish.notices) {
    if (notice.type !== "EVENT_TRADE" || notice.trade === undefined) continue;
    const parties = trades.get(`${notice.bookId}:${notice.trade.tradeId}`);
    const list = fills.get(notice.agentId) ?? [];
    list.push({
      bookId: notice.bookId,
      price: notice.trade.price,
      quantity: notice.trade.volume,
      makerAgentId: parties?.maker ?? -1,
      takerAgentId: parties?.taker ?? notice.agentId,
    });
    fills.set(notice.agentId, list);
  }
  return { timestamp: publish.timestamp, quotes, holdings, fills };
}
