/**
 * From score EMAs to the weights a validator sets on chain: shift negatives, L1-normalise, apply
 * the chain's minimum-count and maximum-weight limits, and convert to u16 as emitted.
 *
 * ```ts
 * const { uids, weights } = weightsForEmit([0, 0.2, 0.6, 0.2]);
 * // uids [1, 2, 3], weights [21845, 65535, 21845]
 * ```
 * @module
 */

/** Largest u16, the scale of emitted weights. */
export const U16_MAX = 65_535;

/** Chain limits on a weight vector (subnet hyperparameters). */
export interface WeightLimits {
  /** Fewest non-zero weights a validator must set. */
  minAllowedWeights: number;
  /** Largest share one uid may receive, as a fraction (u16 hyperparameter / 65535). */
  maxWeightLimit: number;
}

/** Limits that never bind. */
export const NO_WEIGHT_LIMITS: Readonly<WeightLimits> = Object.freeze({
  minAllowedWeights: 0,
  maxWeightLimit: 1,
});

/** Rounds to the nearest integer, ties to even (as Python's `round`). */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Shifts so the minimum is 0 when any score is negative, then divides by the sum (zeros stay zero). */
export function normalizeScores(scores: readonly number[]): number[] {
  const clean = scores.map((s) => (Number.isFinite(s) ? s : 0));
  const min = Math.min(0, ...clean);
  const shifted = min < 0 ? clean.map((s) => s - min) : clean;
  const sum = shifted.reduce((a, b) => a + b, 0);
  return sum === 0 ? shifted.map(() => 0) : shifted.map((s) => s / sum);
}

/** Caps every weight at `limit` of the total, spreading the excess (Bittensor's max-weight normalisation). */
export function normalizeMaxWeight(weights: readonly number[], limit: number): number[] {
  const epsilon = 1e-7;
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0 || weights.length * limit <= 1) return weights.map(() => 1 / weights.length);
  const sorted = [...weights].sort((a, b) => a - b);
  const estimation = sorted.map((v) => v / sum);
  if (Math.max(...estimation) <= limit) return weights.map((w) => w / sum);
  const cumsum: number[] = [];
  estimation.reduce((acc, v, i) => (cumsum[i] = acc + v), 0);
  const n = estimation.length;
  let count = 0;
  estimation.forEach((e, i) => {
    if (e / ((n - i - 1) * e + cumsum[i] + epsilon) < limit) count++;
  });
  const cutoffScale = (limit * cumsum[count - 1] - epsilon) / (1 - limit * (n - count));
  const cutoff = cutoffScale * sum;
  const capped = weights.map((w) => Math.min(w, cutoff));
  const cappedSum = capped.reduce((a, b) => a + b, 0);
  return capped.map((w) => w / cappedSum);
}

/** The chain's processing of a weight vector: keep non-zero weights, enforce the limits. */
export function processWeights(
  weights: readonly number[],
  limits: WeightLimits = NO_WEIGHT_LIMITS,
): { uids: number[]; weights: number[] } {
  const n = weights.length;
  const nonZero = weights.flatMap((w, uid) => (w > 0 ? [uid] : []));
  if (nonZero.length === 0 || n < limits.minAllowedWeights) {
    return { uids: weights.map((_, uid) => uid), weights: weights.map(() => 1 / n) };
  }
  if (nonZero.length < limits.minAllowedWeights) {
    const padded = weights.map((w) => 1e-5 + (w > 0 ? w : 0));
    return {
      uids: weights.map((_, uid) => uid),
      weights: normalizeMaxWeight(padded, limits.maxWeightLimit),
    };
  }
  return {
    uids: nonZero,
    weights: normalizeMaxWeight(nonZero.map((uid) => weights[uid]), limits.maxWeightLimit),
  };
}

/** Scales weights so the largest is 65535, rounds ties to even, drops zeros. */
export function convertWeightsForEmit(
  uids: readonly number[],
  weights: readonly number[],
): { uids: number[]; weights: number[] } {
  const max = Math.max(0, ...weights);
  const out = { uids: [] as number[], weights: [] as number[] };
  if (max === 0) return out;
  weights.forEach((w, i) => {
    const u16 = roundHalfToEven((w / max) * U16_MAX);
    if (u16 > 0) {
      out.uids.push(uids[i]);
      out.weights.push(u16);
    }
  });
  return out;
}

/** Score EMAs → the uids and u16 weights to submit. */
export function weightsForEmit(
  scores: readonly number[],
  limits: WeightLimits = NO_WEIGHT_LIMITS,
): { uids: number[]; weights: number[] } {
  const processed = processWeights(normalizeScores(scores), limits);
  return convertWeightsForEmit(processed.uids, processed.weights);
}
