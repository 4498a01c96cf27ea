import assert from "node:assert/strict";
import {
  activityFactor,
  aggregateReward,
  emaScore,
  executionDelay,
  inventoryValue,
  median,
  normalizeSharpe,
  percentile,
  roundHalfEven,
  sharpeRatio,
  valueChanges,
  weightedScore,
} from "../../validator/scoring/formulas.ts";
import { normalizedWeights } from "../../validator/validator.ts";
import { convertWeightsAndUidsForEmit, processWeights } from "../../chain/weights.ts";

const LOOKBACK = 720;
const CAP = 1_000_000;

function close(actual: number, expected: number, tolerance = 1e-9) {
  const scale = Math.max(1, Math.abs(expected));
  assert.ok(
    Math.abs(actual - expected) <= tolerance * scale,
    `expected ${expected}, got ${actual}`,
  );
}

function sharpeOf(timestamps: number[], values: number[]) {
  const s = sharpeRatio(valueChanges(timestamps, values));
  return { s, n: normalizeSharpe(s, -10, 10) };
}

const secs = (...xs: number[]) => xs.map((x) => x * 1e9);

Deno.test("S1: constant changes have zero std, Sharpe 0, N 0.5", () => {
  const { s, n } = sharpeOf(secs(5, 10, 15, 20), [0, 1, 2, 3]);
  assert.equal(s, 0);
  assert.equal(n, 0.5);
});

Deno.test("S2–S4, S8, S9: Sharpe and normalisation of value series", () => {
  const cases: [number[], number[], number, number][] = [
    [secs(5, 10, 15), [0, 1, 3], 4.242640687119286, 0.7121320343559643],
    [secs(5, 10, 15, 20), [10, 8, 9, 5], -1.4048787173725408, 0.429756064131373],
    [secs(5, 10, 15, 20, 25), [0, 1, 2, 3, 4.5], 10.392304845413264, 1.0],
    [secs(5, 10, 15, 20), [0, 1, 3, 4], 4.898979485566356, 0.7449489742783178],
    [secs(5, 10, 15), [10, 8, 9], -0.4714045207910317, 0.4764297739604484],
  ];
  for (const [t, v, sharpe, normalized] of cases) {
    const { s, n } = sharpeOf(t, v);
    close(s, sharpe);
    close(n, normalized);
  }
});

Deno.test("S6, S7: the change across a timestamp reset is dropped", () => {
  const s6 = sharpeOf([100, 200, 50, 150], [0, 2, 5, 6]);
  close(s6.s, 4.242640687119286);
  close(s6.n, 0.7121320343559643);
  // A new simulation whose first publish falls at the time of the last one's: no change across.
  assert.deepEqual(valueChanges([100, 200, 200, 300], [0, 1, 5, 6]), [1, 1]);
  assert.deepEqual(valueChanges([100], [3]), [], "one observation has no change");
  const s7 = sharpeOf([100, 50], [0, 7]);
  assert.equal(s7.s, 0);
  assert.equal(s7.n, 0.5);
});

Deno.test("I1–I5: inventory value from total balances and the mid", () => {
  assert.equal(inventoryValue(100_000, 0, 299.99, 300.01, 100_000), 0);
  close(inventoryValue(97_000, 10, 300.49, 300.51, 100_000), 5);
  close(inventoryValue(97_000, 10, 301, 301, 100_000), 10);
  close(inventoryValue(97_000, 10, 300.7, 300.7, 100_000), 7);
  assert.equal(inventoryValue(97_000, 10, 300, null, 100_000), -3000);
});

Deno.test("I6: Sharpe of the I1→I4 series", () => {
  const { s, n } = sharpeOf(secs(5, 10, 15, 20), [0, 5, 10, 7]);
  close(s, 1.0716517624676405);
  close(n, 0.553582588123382);
});

Deno.test("A2–A6: activity factor", () => {
  assert.equal(activityFactor(0, 250_000, 1, CAP, LOOKBACK), 1.25);
  assert.equal(activityFactor(0, 1_500_000, 1, CAP, LOOKBACK), 2);
  close(activityFactor(1.5, 0, 0, CAP, LOOKBACK), 1.4985566382506752);
  close(activityFactor(0.5, 0, 0, CAP, LOOKBACK), 0.4995188794168917);
  assert.equal(activityFactor(0, 0, 0, CAP, LOOKBACK), 0);
});

Deno.test("W1–W7: per-book weighted score", () => {
  close(weightedScore(1.25, 0.7121320343559643), 0.8901650429449554);
  close(weightedScore(1.25, 0.429756064131373), 0.3223170480985298);
  assert.equal(weightedScore(1.25, 0.5), 0.375);
  close(weightedScore(0.5, 0.8), 0.4);
  assert.equal(weightedScore(2, 0.3), 0);
  close(weightedScore(2, 0.9), 1.8);
  assert.equal(weightedScore(0, 0.9), 0);
});

Deno.test("R1, R2: median with the left-outlier penalty that never triggers", () => {
  const r1 = [0.8901650429449554, 0.3223170480985298, 0.375, 0.4];
  close(percentile(r1, 25), 0.36182926202463245);
  close(percentile(r1, 75), 0.5225412607362389);
  close(aggregateReward(r1), 0.3875);
  close(aggregateReward([1.2, 1.1, 1.0, 0.9, 0.0]), 1.0);
});

Deno.test("the median of an even count is numpy's (a + b) / 2, to the last bit", () => {
  // np.median([0.1, 0.7]) == 0.39999999999999997; a + (b - a) / 2 gives 0.4.
  assert.equal(median([0.7, 0.1]), 0.39999999999999997);
  assert.equal(aggregateReward([0.1, 0.7]), 0.39999999999999997);
  assert.equal(median([0.3, 0.1, 0.2]), 0.2);
  assert.ok(Number.isNaN(median([])));
});

Deno.test("a NaN on any book makes the reward NaN, which the score takes as 0", () => {
  // Sorting with a NaN inside leaves it anywhere: a median read from that sort would depend on
  // the engine's sort and on which book held the NaN.
  for (const books of [[NaN, 0.5, 0.6], [0.5, NaN, 0.6], [0.5, 0.6, NaN]]) {
    assert.ok(Number.isNaN(percentile(books, 50)));
    assert.ok(Number.isNaN(aggregateReward(books)));
  }
  assert.equal(emaScore(0.5, aggregateReward([0.7, NaN]), 0.1), Math.fround(0.45));
});

Deno.test("the left-outlier penalty, which only negative weighted scores trigger, at its 1.5·iqr fence", () => {
  // Sorted [-0.8, 0, 0.2, 0.4, 0.6, 0.8]: q1 = 0.05, q3 = 0.55, fence 0.05 − 1.5·0.5 = −0.7, so
  // −0.8 is an outlier and the median 0.3 loses 0.8.
  close(aggregateReward([0.8, 0.6, 0.4, 0.2, 0, -0.8]), -0.5);
  // −0.5 lies inside the fence (a fence at 1·iqr, −0.45, would take it): no penalty.
  close(aggregateReward([0.8, 0.6, 0.4, 0.2, 0, -0.5]), 0.3);
  // Sorted [-0.3, -0.2, 0.5 ×6]: q1 = 0.325, q3 = 0.5, fence 0.0625; of the two outliers the
  // smallest is the penalty.
  close(aggregateReward([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, -0.2, -0.3]), 0.5 - 0.3);
  // Equal scores on every book put the fence on them: none lies below it, so none is penalised.
  assert.equal(aggregateReward([-0.1, -0.1, -0.1]), -0.1);
});

Deno.test("asymmetric Sharpe bounds normalise literally, (clamp(s) + hi) / (hi − lo)", () => {
  // Only bounds with lo < −hi give a negative N, hence a negative weighted score and a penalty;
  // (clamp(s) − lo) / (hi − lo) would map them to [0, 1] instead.
  close(normalizeSharpe(-15, -20, 10), -5 / 30);
  close(normalizeSharpe(-25, -20, 10), -10 / 30);
  close(normalizeSharpe(15, -20, 10), 20 / 30);
  close(normalizeSharpe(0, -5, 10), 10 / 15);
});

Deno.test("R4–R9: aggregation over books", () => {
  const w = 0.8901650429449554;
  close(aggregateReward([w, w, w, w, w]), w);
  close(aggregateReward([0.9311862178478973, 0.3223170480985298]), 0.6267516329732136);
  assert.equal(aggregateReward([0, 0, 0]), 0);
  assert.equal(aggregateReward([]), 0, "no books, no reward (not NaN)");
  assert.equal(aggregateReward([2, 2, 2]), 2);
  close(aggregateReward([w, w, w, w, 0]), w);
  // R7: a negative Sharpe with a full activity factor weighs 0 on every book.
  const n = normalizeSharpe(-1.4048787173725408, -10, 10);
  assert.equal(aggregateReward([1, 2, 3].map(() => weightedScore(2, n))), 0);
  // R8: maximum Sharpe with maximum activity.
  assert.equal(weightedScore(2, normalizeSharpe(10.39, -10, 10)), 2);
});

Deno.test("E1–E3: score EMA, NaN reward counts as 0 (to float32 precision)", () => {
  const float32 = 1e-7;
  close(emaScore(0.2, 0.3875, 0.1), 0.21875, float32);
  let score = 0;
  const seen = [0.5, 0.5, 0].map((r) => (score = emaScore(score, r, 0.1)));
  close(seen[0], 0.05, float32);
  close(seen[1], 0.095, float32);
  close(seen[2], 0.0855, float32);
  close(emaScore(0.4, NaN, 0.1), 0.36, float32);
});

Deno.test("the score EMA is kept in float32, as the reference's torch tensor", () => {
  // numpy float32 replay of `alpha * rewards + (1 - alpha) * scores` from 0.
  const expected = [
    0.05000000074505806,
    0.11800000071525574,
    0.12619999051094055,
    0.2135699987411499,
    0.20455867052078247,
  ];
  let score = 0;
  const seen = [0.5, 0.73, 0.2, 0.9999, 0.123456789].map((r) => (score = emaScore(score, r, 0.1)));
  assert.deepEqual(seen, expected);
});

Deno.test("D1–D5: execution delay from response time", () => {
  assert.equal(executionDelay(0.05, 5), 10_000_000);
  assert.equal(executionDelay(0.5, 5), 50_000_000);
  assert.equal(executionDelay(1.0, 5), 100_000_000);
  assert.equal(executionDelay(4.999, 5), 499_899_999);
  assert.equal(executionDelay(5.0, 5, 1000), 500_001_000);
  assert.equal(executionDelay(2.5, 5), 250_000_000);
  assert.equal(executionDelay(0, 5), 10_000_000);
});

Deno.test("a reply measured past the timeout is delayed max_delay, never more", () => {
  // The dendrite can time a reply that came in before the timeout later than the timeout, when the
  // validator's own event loop was busy when it arrived.
  assert.equal(executionDelay(5.3, 5), 500_000_000);
  assert.equal(executionDelay(7.5, 5, 1000), 500_001_000);
  // Pinned delays (min = max) stay pinned.
  const pinned = { maxDelay: 20_000_000, minDelay: 20_000_000 };
  assert.equal(executionDelay(0.3, 0.2, 0, pinned), 20_000_000);
});

/** Score EMAs to the u16 weights a validator emits: its normalisation, then the chain's processing
 * of the weight vector, as the validator's weight setter runs them. */
function weightsForEmit(scores: number[], limits = { minAllowedWeights: 0, maxWeightLimit: 1 }) {
  const uids = scores.map((_, uid) => uid);
  const normalized = normalizedWeights(uids, (uid) => scores[uid]);
  const processed = processWeights(normalized.uids, normalized.weights, {
    neuronCount: scores.length,
    ...limits,
  });
  const emitted = convertWeightsAndUidsForEmit(processed.uids, processed.weights);
  return { uids: emitted.uids, weights: emitted.values };
}

Deno.test("G1, G2: scores to u16 weights", () => {
  assert.deepEqual(weightsForEmit([0, 0.2, 0.6, 0.2]), {
    uids: [1, 2, 3],
    weights: [21845, 65535, 21845],
  });
  assert.deepEqual(weightsForEmit([-0.1, 0.1, 0.3]), { uids: [1, 2], weights: [32768, 65535] });
});

Deno.test("weights: all-zero scores give a uniform vector; max-weight limit caps a share", () => {
  assert.deepEqual(weightsForEmit([0, 0, 0]).weights, [65535, 65535, 65535]);
  const capped = weightsForEmit([0.9, 0.05, 0.05], { minAllowedWeights: 0, maxWeightLimit: 0.5 });
  assert.equal(capped.weights[0], 65535);
  // Uncapped the small shares emit 3641 each; capped at 0.5 (SDK under numpy 2.4:
  // [0.49999952, 0.25000027, 0.25000027]) they are half the largest, 65535 / 2 rounded to even.
  assert.deepEqual(weightsForEmit([0.9, 0.05, 0.05]).weights, [65535, 3641, 3641]);
  assert.deepEqual(capped.weights, [65535, 32768, 32768]);
});

Deno.test("roundHalfEven rounds ties to even like Python's round", () => {
  assert.equal(roundHalfEven(0.125, 2), 0.12);
  assert.equal(roundHalfEven(450.375, 4), 450.375);
  assert.equal(roundHalfEven(2.5, 0), 2);
  assert.equal(roundHalfEven(3.5, 0), 4);
  // Python rounds the double's exact binary value: these are Python 3 `round(v, d)` results.
  const python: [number, number, number][] = [
    [8154.21915, 4, 8154.2191],
    [56855.514650000005, 4, 56855.5147],
    [1.03125, 4, 1.0312],
    [-1.03125, 4, -1.0312],
    [123456789.123456, 4, 123456789.1235],
    [1e-7, 4, 0],
    [5e-5, 4, 0.0001],
    [1.00005, 4, 1.0001],
    [35853.551179999005, 4, 35853.5512],
    [2900.522830001, 4, 2900.5228],
    [77595.85674, 4, 77595.8567],
  ];
  for (const [value, decimals, rounded] of python) {
    assert.equal(roundHalfEven(value, decimals), rounded, `round(${value}, ${decimals})`);
  }
  // Values at, just below and just above halves, and away from them (Python 3 results).
  const nearHalves: [number, number, number][] = [
    [27798.609675, 4, 27798.6097],
    [78.8374575, 6, 78.837457],
    [687072.1450000011, 2, 687072.15],
    [82.4041595, 6, 82.40416],
    [4072.18285, 4, 4072.1829],
    [723022.185, 2, 723022.19],
    [53.1716915, 6, 53.171692],
    [2.0133643, 6, 2.013364],
    [79928.145, 2, 79928.15],
    [324730.413, 2, 324730.41],
    [4379.43525000001, 4, 4379.4353],
    [26.2155913, 6, 26.215591],
    [3179724.4445, 2, 3179724.44],
    [889124.715, 2, 889124.71],
    [8788.598849999998, 4, 8788.5988],
    [27376.263925, 4, 27376.2639],
    [3082.52353, 4, 3082.5235],
    [399.32345, 4, 399.3234],
    [14.4857055, 6, 14.485705],
    [5187.696849999999, 4, 5187.6968],
    [919253.835, 2, 919253.83],
    [1041468.3965, 2, 1041468.4],
    [9514.68325000001, 4, 9514.6833],
    [980.30403, 4, 980.304],
    [98.57130965, 6, 98.57131],
    [417698.4949999999, 2, 417698.49],
    [550361.025, 2, 550361.03],
    [330696.305, 2, 330696.3],
    [624031.695000001, 2, 624031.7],
    [915468.843, 2, 915468.84],
    [600523.503, 2, 600523.5],
    [17.5781045000001, 6, 17.578105],
    [51.5062935, 6, 51.506293],
    [5647.28625, 4, 5647.2863],
    [7955.630049999999, 4, 7955.63],
    [282810.475, 2, 282810.47],
    [8080.15543, 4, 8080.1554],
    [196439.195, 2, 196439.2],
    [3466.54275, 4, 3466.5428],
    [163.36110315, 6, 163.361103],
  ];
  for (const [value, decimals, rounded] of nearHalves) {
    assert.equal(roundHalfEven(value, decimals), rounded, `round(${value}, ${decimals})`);
    assert.equal(roundHalfEven(-value, decimals), -rounded, `round(${-value}, ${decimals})`);
  }
});

Deno.test("percentiles are numpy's to the last bit (from the upper neighbour at and past the midpoint)", () => {
  // numpy 2.4: np.percentile(values, 75) and (values, 25).
  const values = [1.6808270640639822, 0.012687229256448385];
  assert.equal(percentile(values, 75), 1.2637921053620986);
  assert.equal(percentile(values, 25), 0.42972218795833184);
  // Exactly at the midpoint numpy also takes the upper neighbour: np.percentile([0.1, 0.7, 0.9],
  // 25) is 0.7 − 0.6 × 0.5 = 0.39999999999999997, where 0.1 + 0.6 × 0.5 gives 0.4.
  assert.equal(percentile([0.9, 0.1, 0.7], 25), 0.39999999999999997);
});

Deno.test("the std is the correctly rounded square root of the variance, not the reference's pow", () => {
  // Variance 470.8888888888889: Math.sqrt gives 21.699974398346395, the nearest double to the
  // root; the reference's `variance ** 0.5` (glibc pow, numpy 2.4) gives 21.69997439834639 and a
  // Sharpe one ulp lower, -0.13303017289126887.
  assert.equal(sharpeRatio([-16, -18, 29]), -0.13303017289126884);
});
