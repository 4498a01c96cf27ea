/**
 * The subnet's scoring formulas as pure functions: inventory value, Sharpe ratio of value
 * changes, its normalisation, the activity factor, the per-book weighted score, aggregation
 * across books, the score EMA and the execution delay derived from a miner's response time.
 *
 * ```ts
 * import { normalizeSharpe, sharpeRatio } from "./formulas.ts";
 * normalizeSharpe(sharpeRatio([1, 2]), -10, 10); // 0.7121320343559643
 * ```
 * @module
 */

/** Scoring parameters (the validator's `--scoring.*` options and the simulation's constants). */
export interface ScoringConfig {
  /** Observations in the Sharpe window (`--scoring.sharpe.lookback`). */
  lookback: number;
  /** Sharpe clamp bounds (`--scoring.sharpe.normalization_min/_max`). */
  normalizationMin: number;
  normalizationMax: number;
  /** Trade-volume bucket length, ns. */
  volumeSamplingInterval: number;
  /** Trade volume kept (and counted against the cap), ns. */
  volumeAssessmentPeriod: number;
  /** Volume cap = capitalTurnoverCap × minerWealth. */
  capitalTurnoverCap: number;
  /** A miner's starting wealth in quote (the simulation config's `miner_wealth`). */
  minerWealth: number;
  /** Publish interval, ns. */
  publishInterval: number;
  /** Volumes are rounded to this many decimals. */
  volumeDecimals: number;
  /** Score EMA weight of the newest reward. */
  alpha: number;
}

/** The reference defaults. */
export const DEFAULT_SCORING: Readonly<ScoringConfig> = Object.freeze({
  lookback: 720,
  normalizationMin: -10,
  normalizationMax: 10,
  volumeSamplingInterval: 600e9,
  volumeAssessmentPeriod: 86_400e9,
  capitalTurnoverCap: 10,
  minerWealth: 100_000,
  publishInterval: 5e9,
  volumeDecimals: 4,
  alpha: 0.1,
});

/**
 * The digits of `magnitude` (finite, ≥ 0) rounded to `decimals` places on its exact binary value,
 * a tie going to the even digit, without the decimal point and with at least `decimals + 1` of
 * them (`halfEvenDigits(12.125, 2)` is `"1212"`, `halfEvenDigits(0.5, 0)` is `"0"`).
 */
export function halfEvenDigits(magnitude: number, decimals: number): string {
  // magnitude = mantissa × 2^exponent exactly.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, magnitude);
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  let numerator = mantissa * 10n ** BigInt(decimals);
  let denominator = 1n;
  if (exponent >= 0) numerator <<= BigInt(exponent);
  else denominator <<= BigInt(-exponent);
  let quotient = numerator / denominator;
  const twice = 2n * (numerator % denominator);
  if (twice > denominator || (twice === denominator && quotient % 2n === 1n)) quotient++;
  return quotient.toString().padStart(decimals + 1, "0");
}

/**
 * Rounds to `decimals` (≥ 0) places as Python's `round(value, decimals)` does: on the exact binary
 * value of the double (8154.21915 is stored just below …2915, so it rounds down), ties to even,
 * and the result is the double nearest the rounded decimal. Scaling by 10^decimals in floating
 * point first would round the product instead and differ in about 1 % of cases.
 */
export function roundHalfEven(value: number, decimals: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  // The floating-point product is within half an ulp of the exact one: unless it lies that close
  // to a half, both round to the same integer, and dividing that integer by the exact power of ten
  // gives the double nearest the decimal, as Python's result is. Only near-ties take the exact path.
  if (decimals <= 22) {
    const factor = 10 ** decimals;
    const scaled = Math.abs(value) * factor;
    const half = Math.abs(scaled - Math.floor(scaled) - 0.5);
    if (scaled < 2 ** 52 && half > 4 * Number.EPSILON * Math.max(1, scaled)) {
      const rounded = Math.round(scaled) / factor;
      return value < 0 ? -rounded : rounded;
    }
  }
  const digits = halfEvenDigits(Math.abs(value), decimals);
  const text = decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  return value < 0 ? -Number(text) : Number(text);
}

/**
 * Inventory value of one account on one book: `quote + mid × base − wealth`, with mid = 0 when
 * either side of the book is empty (total balances, i.e. free + reserved).
 */
export function inventoryValue(
  quoteTotal: number,
  baseTotal: number,
  bestBid: number | null,
  bestAsk: number | null,
  wealth: number,
): number {
  const mid = bestBid === null || bestAsk === null ? 0 : (bestAsk + bestBid) / 2;
  return quoteTotal + mid * baseTotal - wealth;
}

/**
 * Successive differences of `values`, skipping every difference across a point where the
 * timestamp does not move on (a new simulation began: its times start again, and its first
 * publish may fall at the time of an abandoned one's only publish).
 */
export function valueChanges(timestamps: readonly number[], values: readonly number[]): number[] {
  const changes: number[] = [];
  for (let i = 0; i + 1 < values.length; i++) {
    if (timestamps[i + 1] <= timestamps[i]) continue;
    changes.push(values[i + 1] - values[i]);
  }
  return changes;
}

/**
 * `√n · mean / std` of the changes (population std). 0 when there are no changes or their std
 * is 0, so the result is never NaN for finite input.
 */
export function sharpeRatio(changes: readonly number[]): number {
  const n = changes.length;
  if (n === 0) return 0;
  let sum = 0;
  for (const r of changes) sum += r;
  const mean = sum / n;
  let squares = 0;
  for (const r of changes) squares += (r - mean) ** 2;
  const std = Math.sqrt(squares / n);
  return std === 0 ? 0 : Math.sqrt(n) * (mean / std);
}

/** `(clamp(s, lo, hi) + hi) / (hi − lo)`: [0, 1] for symmetric bounds (kept literally). */
export function normalizeSharpe(sharpe: number, lo: number, hi: number): number {
  return (Math.max(Math.min(sharpe, hi), lo) + hi) / (hi - lo);
}

/** The factor by which an idle book's activity factor decays each step: `2^(−1/lookback)`. */
export function inactivityDecay(lookback: number): number {
  return 2 ** (-1 / lookback);
}

/**
 * New activity factor of a book: `min(1 + volume/cap, 2)` if the miner traded in the current
 * volume bucket, else the previous factor decayed.
 */
export function activityFactor(
  previous: number,
  recentVolume: number,
  latestBucketVolume: number,
  cap: number,
  lookback: number,
): number {
  return latestBucketVolume > 0
    ? Math.min(1 + recentVolume / cap, 2)
    : previous * inactivityDecay(lookback);
}

/**
 * Per-book score `m × n`: volume amplifies a good Sharpe (`m = af`) and, once `af ≥ 1`, damps a
 * Sharpe at or below neutral (`m = 2 − af`).
 */
export function weightedScore(activity: number, normalized: number): number {
  const m = activity < 1 || normalized > 0.5 ? activity : 2 - activity;
  return m * normalized;
}

/** Percentile with linear interpolation between closest ranks (numpy's default); NaN when any
 * value is NaN, as numpy (a sort would place it arbitrarily). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0 || values.some(Number.isNaN)) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (p / 100) * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const t = position - low;
  const [a, b] = [sorted[low], sorted[high]];
  // numpy interpolates from the upper neighbour past the midpoint, to the last bit.
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/**
 * Median: the middle value, or `(a + b) / 2` of the two middle ones, as numpy computes it (the
 * 50th percentile's `a + (b − a) / 2` can differ in the last bit).
 */
export function median(values: readonly number[]): number {
  if (values.length === 0 || values.some(Number.isNaN)) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * A miner's reward from its per-book weighted scores: the median minus the left-outlier
 * penalty (the smallest value below `q1 − 1.5·iqr`, counted only when negative).
 */
export function aggregateReward(weighted: readonly number[]): number {
  if (weighted.length === 0) return 0;
  const q1 = percentile(weighted, 25);
  const q3 = percentile(weighted, 75);
  const fence = q1 - 1.5 * (q3 - q1);
  const outliers = weighted.filter((w) => w < fence);
  const lowest = outliers.length > 0 ? Math.min(...outliers) : 0;
  const penalty = lowest < 0 ? lowest : 0;
  return median(weighted) - Math.abs(penalty);
}

/** Score EMA step; a NaN reward counts as 0. */
export function emaScore(score: number, reward: number, alpha: number): number {
  // The reference keeps scores in a float32 tensor: every step of the update rounds to float32.
  const f = Math.fround;
  return f(f(f(alpha) * f(Number.isNaN(reward) ? 0 : reward)) + f(f(1 - alpha) * f(score)));
}

/** Delay bounds of the execution-delay formula, ns. */
export interface DelayBounds {
  /** Delay of a response taking the whole timeout (`--scoring.max_delay`). */
  maxDelay: number;
  /** Smallest delay (`--scoring.min_delay`). */
  minDelay: number;
}

/** The reference delay bounds: 0.5 s and 10 ms. */
export const DEFAULT_DELAY_BOUNDS: Readonly<DelayBounds> = Object.freeze({
  maxDelay: 500_000_000,
  minDelay: 10_000_000,
});

/** The validator's default miner query timeout, seconds (`--neuron.timeout`): the subnet
 * README's 3.0 for run_validator.sh (the 0.1.9 Python config's own default is 5; README). */
export const DEFAULT_QUERY_TIMEOUT_SECONDS = 3.0;

/**
 * Simulated delay (ns) before a miner's instructions reach the exchange, from its measured
 * response time: `max(floor(maxDelay × processTime / timeout), minDelay)`, plus the delay the
 * miner itself requested on the instruction. A response time past the timeout counts as the
 * timeout: a reply read at all is delayed at most `maxDelay`.
 */
export function executionDelay(
  processTimeSeconds: number,
  timeoutSeconds: number,
  requestedDelay = 0,
  bounds: DelayBounds = DEFAULT_DELAY_BOUNDS,
): number {
  // A reply that came in before the timeout is timed later when the event loop was busy then.
  const time = Math.min(processTimeSeconds, timeoutSeconds);
  const fromTime = Math.floor(bounds.maxDelay * (time / timeoutSeconds));
  return Math.max(fromTime, bounds.minDelay) + requestedDelay;
}
