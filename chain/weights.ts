/**
 * Weight processing exactly as the Bittensor SDK does it before a weight extrinsic: the
 * max-weight normalisation, the subnet-aware pre-processing and the float → u16 conversion.
 *
 * The SDK works on numpy arrays, so the arithmetic here follows numpy's rules bit for bit:
 * float32 arrays stay float32 (Python scalars are cast to float32 first), sums use numpy's
 * pairwise summation, and rounding is Python's `round` (ties to even). A `Float32Array` or a
 * `Float64Array` stands for a numpy array of that dtype; a plain `number[]` stands for a Python list,
 * which the SDK casts to float32.
 *
 * ```ts
 * const emitted = convertWeightsAndUidsForEmit([0, 1, 2, 3], [0.1, 0.2, 0.3, 0.4]);
 * // emitted.uids = [0, 1, 2, 3], emitted.values = [16384, 32768, 49151, 65535]
 * ```
 * @module
 */

/** The largest u16, the chain's fixed-point scale for weights and limits. */
export const U16_MAX = 65535;

/** A float array with numpy's dtype semantics. */
export type FloatArray = Float32Array | Float64Array;

/** uids with their weights, as the chain receives them. */
export interface EmittedWeights {
  uids: number[];
  values: number[];
}

/** uids with float weights, the output of {@link processWeights}. */
export interface ProcessedWeights {
  uids: number[];
  weights: FloatArray;
}

/** Python's `round` for a float: nearest integer, ties to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Rounding to the array's precision after every operation (float32) or none (float64). */
function precisionOf(x: FloatArray): (v: number) => number {
  return x instanceof Float32Array ? Math.fround : (v: number) => v;
}

/** numpy's pairwise summation kernel for a contiguous run (blocks of 128, 8 accumulators). */
function pairwiseSum(x: FloatArray, start: number, n: number, r: (v: number) => number): number {
  if (n < 8) {
    let res = r(0);
    for (let i = 0; i < n; i++) res = r(res + x[start + i]);
    return res;
  }
  if (n <= 128) {
    const acc = Array.from({ length: 8 }, (_, j) => x[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) acc[j] = r(acc[j] + x[start + i + j]);
    }
    let res = r(
      r(r(acc[0] + acc[1]) + r(acc[2] + acc[3])) + r(r(acc[4] + acc[5]) + r(acc[6] + acc[7])),
    );
    for (; i < n; i++) res = r(res + x[start + i]);
    return res;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return r(pairwiseSum(x, start, half, r) + pairwiseSum(x, start + half, n - half, r));
}

/** `x.sum()` as numpy (2.x) computes it: the pairwise sum of the whole array. */
function numpySum(x: FloatArray): number {
  return pairwiseSum(x, 0, x.length, precisionOf(x));
}

function sameKind(x: FloatArray, length: number): FloatArray {
  return x instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
}

/**
 * Scales `x` to sum 1 with no element above `limit` (the SDK's `normalize_max_weight`): weights
 * above a cutoff are clipped to it so that, after renormalising, the largest equals the limit.
 */
export function normalizeMaxWeight(x: FloatArray, limit: number): FloatArray {
  const r = precisionOf(x);
  const epsilon = r(1e-7);
  const n = x.length;
  const out = sameKind(x, n);
  if (numpySum(x) === 0 || n * limit <= 1) {
    out.fill(r(1 / n));
    return out;
  }
  const limitCast = r(limit);
  const values = sameKind(x, n);
  values.set(x);
  values.sort();
  const valuesSum = numpySum(values);
  const estimation = values.map((v) => r(v / valuesSum));
  const weights = sameKind(x, n);
  weights.set(x);
  if (Math.max(...estimation) <= limitCast) {
    const total = numpySum(weights);
    return weights.map((w) => r(w / total));
  }
  const cumsum = sameKind(x, n);
  estimation.forEach((e, i) => cumsum[i] = i === 0 ? e : r(cumsum[i - 1] + e));
  let below = 0;
  for (let i = 0; i < n; i++) {
    const spread = r(r(r((n - i - 1) * estimation[i]) + cumsum[i]) + epsilon);
    if (r(estimation[i] / spread) < limitCast) below++;
  }
  // Python indexing: cumsum[-1] is the last element when no position is below the limit.
  const cumAtCut = cumsum[(below - 1 + n) % n];
  // The count is a numpy int64, so the denominator, the scale and the cutoff are float64 even for
  // float32 weights; the cutoff is cast back when it is stored.
  const cutoffScale = r(r(limitCast * cumAtCut) - epsilon) / (1 - limit * (n - below));
  const cutoff = cutoffScale * valuesSum;
  for (let i = 0; i < n; i++) if (weights[i] > cutoff) weights[i] = r(cutoff);
  const total = numpySum(weights);
  return weights.map((w) => r(w / total));
}

/** Subnet limits that shape a validator's weights, read from the chain. */
export interface WeightLimits {
  /** Number of uids on the subnet (`SubnetworkN`). */
  neuronCount: number;
  /** `MinAllowedWeights`. */
  minAllowedWeights: number;
  /** `MaxWeightsLimit / 65535`. */
  maxWeightLimit: number;
  /** Quantile (in u16 units) of the lowest weights to drop; the SDK's default 0 drops none. */
  excludeQuantile?: number;
}

/** numpy's default ("linear") quantile of a sorted copy of `x`. */
function quantile(x: FloatArray, q: number): number {
  const sorted = [...x].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The SDK's `process_weights`: keeps the positive weights and caps the largest at the subnet's
 * limit; falls back to uniform weights over every uid when nothing is positive (or the subnet is
 * smaller than its own minimum), and to a 1e-5 floor on every uid when too few are positive.
 * Weights are cast to float32 first; the two fallbacks produce float64, as numpy does.
 */
export function processWeights(
  uids: number[],
  weights: ArrayLike<number>,
  limits: WeightLimits,
): ProcessedWeights {
  if (uids.length !== weights.length) {
    throw new RangeError(`uids (${uids.length}) and weights (${weights.length}) differ in length`);
  }
  const w = Float32Array.from(weights);
  const n = limits.neuronCount;
  const positive = [...w.keys()].filter((i) => w[i] > 0);
  if (positive.length === 0 || n < limits.minAllowedWeights) {
    return { uids: [...Array(n).keys()], weights: new Float64Array(n).fill(1 / n) };
  }
  if (positive.length < limits.minAllowedWeights) {
    const floored = new Float64Array(n).fill(1e-5);
    // The reference adds at the input position; adding at the uid is the same for a full vector
    // and correct for a partial one.
    for (const i of positive) if (uids[i] < n) floored[uids[i]] += w[i];
    return {
      uids: [...Array(n).keys()],
      weights: normalizeMaxWeight(floored, limits.maxWeightLimit),
    };
  }
  const kept = Float32Array.from(positive, (i) => w[i]);
  const maxExclude = Math.max(0, kept.length - limits.minAllowedWeights) / kept.length;
  const q = Math.min((limits.excludeQuantile ?? 0) / U16_MAX, maxExclude);
  const lowest = quantile(kept, q);
  const selected = positive.filter((i) => w[i] >= lowest);
  return {
    uids: selected.map((i) => uids[i]),
    weights: normalizeMaxWeight(
      Float32Array.from(selected, (i) => w[i]),
      limits.maxWeightLimit,
    ),
  };
}

/**
 * The SDK's `convert_weights_and_uids_for_emit`: max-upscales the weights to u16 (the largest
 * becomes 65535), rounds ties to even and drops the entries that round to 0. A plain array is
 * cast to float32 first, as the SDK does with a list.
 */
export function convertWeightsAndUidsForEmit(
  uids: number[],
  weights: ArrayLike<number>,
): EmittedWeights {
  const w = Array.isArray(weights) ? Array.from(Float32Array.from(weights)) : Array.from(weights);
  if (uids.length !== w.length) {
    throw new RangeError(`uids (${uids.length}) and weights (${w.length}) differ in length`);
  }
  if (w.some((v) => !(v >= 0))) throw new RangeError("weights must be non-negative numbers");
  if (uids.some((u) => !Number.isInteger(u) || u < 0 || u > U16_MAX)) {
    throw new RangeError("uids must be integers in 0..65535");
  }
  const emitted: EmittedWeights = { uids: [], values: [] };
  if (w.reduce((a, b) => a + b, 0) === 0) return emitted;
  const max = Math.max(...w);
  w.forEach((v, i) => {
    const value = roundHalfEven((v / max) * U16_MAX);
    if (value !== 0) {
      emitted.uids.push(uids[i]);
      emitted.values.push(value);
    }
  });
  return emitted;
}
