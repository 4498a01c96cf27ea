/**
 * The contract between the validator loop and the scoring module: what the loop feeds in at each
 * publish and what it reads back (rewards, per-book details for the metrics, daily volumes for the
 * turnover cap), plus the execution-delay formula. `validator/scoring/` provides the reference
 * scoring; {@linkcode InterimScoring} is a compact implementation of the same formulas used until
 * then.
 *
 * ```ts
 * const scoring: ScoringModel = new InterimScoring(parameters);
 * const rewards = scoring.observe(publish, [0, 1, 2]);
 * ```
 * @module
 */
import type { PublishState } from "../sim/engine.ts";
import type { ScoringOptions } from "./options.ts";

/** Per-book scoring details of one miner, for metrics and the status page. */
export interface BookScoreDetail {
  sharpe: number;
  activityFactor: number;
  inventoryValue: number;
  /** Quote volume over the assessment period (24 h) by role. */
  volume: { total: number; maker: number; taker: number; self: number };
}

/** Scoring details of one miner. */
export interface MinerScoreDetail {
  uid: number;
  books: BookScoreDetail[];
  /** Latest reward (before smoothing). */
  reward: number;
  /** Inventory observations in the window. */
  observations: number;
  /** Latest minus oldest total inventory value in the window. */
  pnl: number;
}

/** Parameters of a scoring model (the `--scoring.*` options plus config facts). */
export interface ScoringParameters extends ScoringOptions {
  bookCount: number;
  publishInterval: number;
  minerWealth: number;
  volumeDecimals: number;
}

/** The scoring module as the loop uses it. */
export interface ScoringModel {
  /** Observes one published state for `uids`; returns each uid's reward for this state. */
  observe(publish: PublishState, uids: readonly number[]): Map<number, number>;
  /** Quote volume of `uid` on `bookId` over the assessment period (for the turnover cap). */
  dailyVolume(uid: number, bookId: number): number;
  /** Details for metrics, or null for a uid never observed. */
  detail(uid: number): MinerScoreDetail | null;
  /** Forgets everything about `uid` (deregistered). */
  resetUid(uid: number): void;
  /** A new simulation starts; `previousEnd` is the last timestamp of the previous one. */
  startSimulation(previousEnd: number): void;
  /** Serialisable windows for the state file. */
  snapshot(): unknown;
  /** Restores {@linkcode snapshot} output; throws on a malformed value. */
  restore(state: unknown): void;
}

/**
 * Execution delay (ns) of a miner's instructions from its measured response time:
 * `max(floor(maxDelay × processTime / timeout), minDelay)`.
 */
export function executionDelay(
  processTimeSeconds: number,
  timeoutSeconds: number,
  maxDelayNs = 500_000_000,
  minDelayNs = 10_000_000,
): number {
  return Math.max(Math.floor(maxDelayNs * (processTimeSeconds / timeoutSeconds)), minDelayNs);
}

type Roles = {
  total: Record<string, number>;
  maker: Record<string, number>;
  taker: Record<string, number>;
  self: Record<string, number>;
};

interface MinerWindow {
  /** [timestamp, value per book] in insertion order. */
  inventory: [number, number[]][];
  volumes: Roles[];
  activity: number[];
  sharpe: number[];
  reward: number;
}

function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function quantile(sorted: number[], p: number): number {
  const position = p * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/** Sharpe of absolute changes, skipping returns across a simulation changeover. */
function sharpe(timestamps: number[], values: number[], lookback: number): number {
  const returns: number[] = [];
  for (let i = 0; i + 1 < values.length; i++) {
    if (timestamps[i + 1] < timestamps[i]) continue;
    returns.push(values[i + 1] - values[i]);
  }
  const used = returns.slice(-lookback);
  const n = used.length;
  if (n === 0) return 0;
  const mean = used.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(used.reduce((a, r) => a + (r - mean) ** 2, 0) / n);
  return std === 0 ? 0 : Math.sqrt(n) * mean / std;
}

function emptyRoles(): Roles {
  return { total: {}, maker: {}, taker: {}, self: {} };
}

/** The reference scoring formulas (inventory Sharpe × activity factor, median over books). */
export class InterimScoring implements ScoringModel {
  readonly #p: ScoringParameters;
  #miners = new Map<number, MinerWindow>();

  constructor(parameters: ScoringParameters) {
    this.#p = parameters;
  }

  #window(uid: number): MinerWindow {
    let window = this.#miners.get(uid);
    if (window === undefined) {
      const books = this.#p.bookCount;
      window = {
        inventory: [],
        volumes: Array.from({ length: books }, emptyRoles),
        activity: new Array(books).fill(0),
        sharpe: new Array(books).fill(0),
        reward: 0,
      };
      this.#miners.set(uid, window);
    }
    return window;
  }

  observe(publish: PublishState, uids: readonly number[]): Map<number, number> {
    const p = this.#p;
    const T = publish.timestamp;
    const mids = publish.books.map((book) => {
      const bid = book.bid[0]?.price;
      const ask = book.ask[0]?.price;
      return bid !== undefined && ask !== undefined ? (bid + ask) / 2 : 0;
    });
    const trades = new Map<string, { maker: number; taker: number }>();
    for (const book of publish.books) {
      for (const event of book.record) {
        if (event.event === "trade") {
          trades.set(`${book.bookId}:${event.tradeId}`, {
            maker: event.restingAgentId,
            taker: event.aggressingAgentId,
          });
        }
      }
    }
    const accounts = new Map(publish.accounts.map((a) => [a.agentId, a]));
    const bucket = String(Math.ceil(T / p.volumeSamplingInterval) * p.volumeSamplingInterval);
    const rewards = new Map<number, number>();
    for (const uid of uids) {
      const window = this.#window(uid);
      const account = accounts.get(uid);
      const values = Array.from({ length: p.bookCount }, (_, b) => {
        const holding = account?.holdings[b];
        if (holding === undefined) return 0;
        return holding.quote.total + (mids[b] ?? 0) * holding.base.total - p.minerWealth;
      });
      window.inventory.push([T, values]);
      if (window.inventory.length > p.sharpeLookback) {
        window.inventory.splice(0, window.inventory.length - p.sharpeLookback);
      }
      for (const roles of window.volumes) {
        for (const map of Object.values(roles)) {
          const keys = Object.keys(map).map(Number);
          if (keys.length > 0 && Math.min(...keys) < T - p.volumeAssessmentPeriod) {
            for (const key of keys) if (key <= T - p.volumeAssessmentPeriod) delete map[key];
          }
        }
        if (!(bucket in roles.total)) {
          roles.total[bucket] = 0;
          roles.maker[bucket] = 0;
          roles.taker[bucket] = 0;
          roles.self[bucket] = 0;
        }
      }
      for (const notice of publish.notices) {
        if (notice.agentId !== uid || notice.type !== "EVENT_TRADE" || !notice.trade) continue;
        const roles = window.volumes[notice.bookId];
        if (roles === undefined) continue;
        const v = notice.trade.volume * notice.trade.price;
        const d = p.volumeDecimals;
        roles.total[bucket] = roundTo(roles.total[bucket] + v, d);
        const parties = trades.get(`${notice.bookId}:${notice.trade.tradeId}`);
        const role = parties === undefined
          ? "taker"
          : parties.maker === parties.taker
          ? "self"
          : parties.maker === uid
          ? "maker"
          : "taker";
        roles[role][bucket] = roundTo(roles[role][bucket] + v, d);
      }
      rewards.set(uid, this.#reward(window, T));
    }
    return rewards;
  }

  #reward(window: MinerWindow, T: number): number {
    const p = this.#p;
    if (window.inventory.length <= 1) return Number.NaN;
    const timestamps = window.inventory.map(([t]) => t);
    const cap = roundTo(p.capitalTurnoverCap * p.minerWealth, p.volumeDecimals);
    const decay = 2 ** (-1 / p.sharpeLookback);
    const weighted: number[] = [];
    for (let b = 0; b < p.bookCount; b++) {
      const values = window.inventory.map(([, v]) => v[b] ?? 0);
      const s = sharpe(timestamps, values, p.sharpeLookback);
      window.sharpe[b] = s;
      const normalized = (Math.min(Math.max(s, p.normalizationMin), p.normalizationMax) +
        p.normalizationMax) / (p.normalizationMax - p.normalizationMin);
      const total = window.volumes[b].total;
      const keys = Object.keys(total);
      const latest = keys.length === 0 ? 0 : total[keys[keys.length - 1]];
      if (latest > 0) {
        let volume = 0;
        for (const key of keys) {
          if (Number(key) >= T - p.sharpeLookback * p.publishInterval) volume += total[key];
        }
        window.activity[b] = Math.min(1 + roundTo(volume, p.volumeDecimals) / cap, 2);
      } else {
        window.activity[b] *= decay;
      }
      const af = window.activity[b];
      const multiplier = af < 1 || normalized > 0.5 ? af : 2 - af;
      weighted.push(multiplier * normalized);
    }
    const sorted = [...weighted].sort((a, b) => a - b);
    const q1 = quantile(sorted, 0.25);
    const q3 = quantile(sorted, 0.75);
    const outliers = weighted.filter((w) => w < q1 - 1.5 * (q3 - q1));
    const lowest = outliers.length > 0 ? Math.min(...outliers) : 0;
    const penalty = lowest < 0 ? lowest : 0;
    window.reward = median(weighted) - Math.abs(penalty);
    return window.reward;
  }

  dailyVolume(uid: number, bookId: number): number {
    const total = this.#miners.get(uid)?.volumes[bookId]?.total ?? {};
    return roundTo(Object.values(total).reduce((a, b) => a + b, 0), this.#p.volumeDecimals);
  }

  detail(uid: number): MinerScoreDetail | null {
    const window = this.#miners.get(uid);
    if (window === undefined) return null;
    const sum = (map: Record<string, number>) => Object.values(map).reduce((a, b) => a + b, 0);
    const last = window.inventory[window.inventory.length - 1]?.[1] ?? [];
    const first = window.inventory[0]?.[1] ?? [];
    const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
    return {
      uid,
      reward: window.reward,
      observations: window.inventory.length,
      pnl: total(last) - total(first),
      books: window.volumes.map((roles, b) => ({
        sharpe: window.sharpe[b],
        activityFactor: window.activity[b],
        inventoryValue: last[b] ?? 0,
        volume: {
          total: sum(roles.total),
          maker: sum(roles.maker),
          taker: sum(roles.taker),
          self: sum(roles.self),
        },
      })),
    };
  }

  resetUid(uid: number): void {
    this.#miners.delete(uid);
  }

  startSimulation(previousEnd: number): void {
    for (const window of this.#miners.values()) {
      for (const roles of window.volumes) {
        for (const name of ["total", "maker", "taker", "self"] as const) {
          const shifted: Record<string, number> = {};
          for (const [key, value] of Object.entries(roles[name])) {
            shifted[String(Number(key) - previousEnd)] = value;
          }
          roles[name] = shifted;
        }
      }
    }
  }

  snapshot(): unknown {
    return Object.fromEntries(this.#miners);
  }

  restore(state: unknown): void {
    if (state === null || state === undefined) return;
    if (typeof state !== "object") throw new Error("scoring state must be an object");
    const miners = new Map<number, MinerWindow>();
    for (const [uid, window] of Object.entries(state as Record<string, MinerWindow>)) {
      if (!Array.isArray(window?.inventory) || !Array.isArray(window.volumes)) {
        throw new Error(`scoring state of uid ${uid} is malformed`);
      }
      miners.set(Number(uid), window);
    }
    this.#miners = miners;
  }
}
