import assert from "node:assert/strict";
import {
  convertWeightsAndUidsForEmit,
  normalizeMaxWeight,
  processWeights,
  roundHalfEven,
} from "../../chain/weights.ts";

const f32 = (xs: number[]) => Float32Array.from(xs);
const asF32 = (xs: number[]) => Array.from(Float32Array.from(xs));

Deno.test("roundHalfEven rounds ties to the even neighbour like Python's round", () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001, 16383.75].map(roundHalfEven), [
    0,
    2,
    2,
    4,
    2,
    3,
    16384,
  ]);
});

Deno.test("convertWeightsAndUidsForEmit matches the SDK vectors", () => {
  const cases: [number[], number[], number[], number[]][] = [
    [[0, 1, 2, 3], [0.1, 0.2, 0.3, 0.4], [0, 1, 2, 3], [16384, 32768, 49151, 65535]],
    [[0, 1, 2], [0.5, 0.25, 0.25], [0, 1, 2], [65535, 32768, 32768]],
    [[0, 1, 2], [0.1, 0.2, 0.7], [0, 1, 2], [9362, 18724, 65535]],
    [[5, 7, 9], [1.0, 0.0, 1e-6], [5], [65535]],
    [[0, 1, 2], [0, 0, 0], [], []],
    // A list is cast to float32 first: 0.3 becomes 0.30000001192092896, and × 65535 is
    // 19660.50078…, which rounds up; in float64 it is exactly 19660.5, a tie that goes to even.
    [[0, 1], [0.3, 1], [0, 1], [19661, 65535]],
  ];
  for (const [uids, weights, expectedUids, expectedValues] of cases) {
    assert.deepEqual(convertWeightsAndUidsForEmit(uids, weights), {
      uids: expectedUids,
      values: expectedValues,
    });
  }
});

Deno.test("convertWeightsAndUidsForEmit rounds a float64 tie to even, as Python's round", () => {
  // A Float64Array is used as it is: 0.3 × 65535 is exactly 19660.5, which goes to the even 19660
  // (half-up rounding would give 19661).
  assert.deepEqual(convertWeightsAndUidsForEmit([0, 1], Float64Array.from([0.3, 1])), {
    uids: [0, 1],
    values: [19660, 65535],
  });
});

Deno.test("convertWeightsAndUidsForEmit rejects what the chain cannot hold", () => {
  assert.throws(() => convertWeightsAndUidsForEmit([0, 1], [0.5]), /differ in length/);
  assert.throws(() => convertWeightsAndUidsForEmit([0], [-0.1]), /non-negative/);
  assert.throws(() => convertWeightsAndUidsForEmit([0], [Number.NaN]), /non-negative/);
  assert.throws(() => convertWeightsAndUidsForEmit([70000], [1]), /0\.\.65535/);
  // The u16 bound itself: 65535 is the last uid the chain can hold, 65536 the first it cannot.
  assert.throws(() => convertWeightsAndUidsForEmit([65536], [1]), /0\.\.65535/);
  assert.deepEqual(convertWeightsAndUidsForEmit([65535], [1]), { uids: [65535], values: [65535] });
});

Deno.test("normalizeMaxWeight is uniform once the limit times the count is exactly 1", () => {
  // The SDK's `x.shape[0] * limit <= 1`: 10 × 0.1 = 1 leaves no room to cap, so every weight is
  // exactly 1/10 (numpy: np.ones_like(x) / 10). Capping instead gives 0.09999999999999999 each.
  const capped = normalizeMaxWeight(Float64Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 100]), 0.1);
  assert.deepEqual(Array.from(capped), new Array(10).fill(0.1));
});

Deno.test("processWeights excludes the lowest quantile but keeps at least the minimum count", () => {
  // SDK (numpy 2.4): an exclude quantile of 65535 asks for q = 1, capped at
  // max_exclude = (4 − 2) / 4 = 0.5; np.quantile([.1, .2, .3, .4], 0.5) = 0.25 keeps uids 2 and 3,
  // exactly the minimum of 2.
  const out = processWeights([0, 1, 2, 3], [0.1, 0.2, 0.3, 0.4], {
    neuronCount: 4,
    minAllowedWeights: 2,
    maxWeightLimit: 1,
    excludeQuantile: 65535,
  });
  assert.deepEqual(out.uids, [2, 3]);
  assert.deepEqual(convertWeightsAndUidsForEmit(out.uids, out.weights), {
    uids: [2, 3],
    values: [49151, 65535],
  });
});

Deno.test("processWeights interpolates the exclude quantile between sorted weights", () => {
  // SDK (numpy 2.4): q = 14418 / 65535 = 0.22; np.quantile([.1, .2, .3, .4, .5], 0.22) is
  // 0.1 + 0.88 × 0.1 = 0.188, so only uid 0 is dropped (a position of q × n = 1.1 would also drop
  // uid 1).
  const out = processWeights([0, 1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4, 0.5], {
    neuronCount: 5,
    minAllowedWeights: 1,
    maxWeightLimit: 1,
    excludeQuantile: 14418,
  });
  assert.deepEqual(out.uids, [1, 2, 3, 4]);
});

Deno.test("processWeights keeps the weights of a subnet exactly as large as its minimum", () => {
  // The SDK falls back to uniform weights only when the subnet has fewer neurons than
  // MinAllowedWeights; 4 neurons with a minimum of 4 keep their own weights.
  const out = processWeights([0, 1, 2, 3], [0.1, 0.2, 0.3, 0.4], {
    neuronCount: 4,
    minAllowedWeights: 4,
    maxWeightLimit: 1,
  });
  assert.deepEqual(convertWeightsAndUidsForEmit(out.uids, out.weights), {
    uids: [0, 1, 2, 3],
    values: [16384, 32768, 49151, 65535],
  });
});

Deno.test("normalizeMaxWeight matches the SDK's float32 vectors", () => {
  assert.deepEqual(
    Array.from(normalizeMaxWeight(f32([1, 1, 1, 10]), 0.5)),
    asF32([0.16666673, 0.16666673, 0.16666673, 0.4999998]),
  );
  assert.deepEqual(
    Array.from(normalizeMaxWeight(f32([0.1, 0.2, 0.3, 0.4]), 0.3)),
    asF32([0.13333341, 0.26666683, 0.29999986, 0.29999986]),
  );
  assert.deepEqual(
    Array.from(normalizeMaxWeight(f32([0.1, 0.2, 0.3, 0.4]), 1.0)),
    asF32([0.1, 0.2, 0.3, 0.4]),
  );
  assert.deepEqual(Array.from(normalizeMaxWeight(f32([0, 5, 0, 1]), 0.1)), [
    0.25,
    0.25,
    0.25,
    0.25,
  ]);
});

Deno.test("normalizeMaxWeight then emit gives the spec's u16 values", () => {
  const capped = normalizeMaxWeight(f32([1, 1, 1, 10]), 0.5);
  assert.deepEqual(convertWeightsAndUidsForEmit([0, 1, 2, 3], capped).values, [
    21845,
    21845,
    21845,
    65535,
  ]);
  const capped2 = normalizeMaxWeight(f32([0.1, 0.2, 0.3, 0.4]), 0.3);
  assert.deepEqual(convertWeightsAndUidsForEmit([0, 1, 2, 3], capped2).values, [
    29127,
    58253,
    65535,
    65535,
  ]);
});

Deno.test("normalizeMaxWeight keeps the cap on a long vector (pairwise sums)", () => {
  // Expected values are numpy 2.4.6's for the SDK's normalize_max_weight on the same float32
  // arrays. A sum within 1e-4 of 1 and a max under 0.05 + 1e-6 held for a wrong blocking of the
  // pairwise sum too; the exact values do not.
  const x = Float32Array.from({ length: 300 }, (_, i) => (i % 17) + 1 + (i === 7 ? 5000 : 0));
  const y = normalizeMaxWeight(x, 0.05);
  assert.deepEqual([y[7], y[0], y[16]], [
    0.04999968782067299,
    0.00035727728391066194,
    0.006073713768273592,
  ]);
  // Fractional weights, whose float32 sum depends on how numpy splits 300 entries (150 rounded
  // down to 144, a multiple of 8, then 128-entry blocks of 8 accumulators).
  const fractional = Float32Array.from(
    { length: 300 },
    (_, i) => ((i * 7919) % 1000) / 997 + (i === 7 ? 40 : 0),
  );
  const z = normalizeMaxWeight(fractional, 0.05);
  assert.deepEqual([z[7], z[1], z[299]], [
    0.049999888986349106,
    0.005831335671246052,
    0.004955683834850788,
  ]);
});

Deno.test("processWeights follows the validator's scoring vectors G1 and G2", () => {
  const limits = { neuronCount: 4, minAllowedWeights: 1, maxWeightLimit: 1 };
  const g1 = processWeights([0, 1, 2, 3], [0, 0.2, 0.6, 0.2], limits);
  assert.deepEqual(convertWeightsAndUidsForEmit(g1.uids, g1.weights), {
    uids: [1, 2, 3],
    values: [21845, 65535, 21845],
  });
  const g2 = processWeights([0, 1, 2], [0, 1 / 3, 2 / 3], { ...limits, neuronCount: 3 });
  assert.deepEqual(convertWeightsAndUidsForEmit(g2.uids, g2.weights), {
    uids: [1, 2],
    values: [32768, 65535],
  });
});

Deno.test("processWeights falls back to uniform and to the 1e-5 floor", () => {
  const uniform = processWeights([0, 1, 2], [0, 0, 0], {
    neuronCount: 3,
    minAllowedWeights: 1,
    maxWeightLimit: 1,
  });
  assert.deepEqual(uniform.uids, [0, 1, 2]);
  assert.ok(uniform.weights instanceof Float64Array);
  assert.deepEqual(Array.from(uniform.weights), [1 / 3, 1 / 3, 1 / 3]);

  const tooSmall = processWeights([0, 1], [1, 1], {
    neuronCount: 2,
    minAllowedWeights: 8,
    maxWeightLimit: 1,
  });
  assert.deepEqual(Array.from(tooSmall.weights), [0.5, 0.5]);

  const floored = processWeights([0, 1, 2, 3], [0, 1, 0, 0], {
    neuronCount: 4,
    minAllowedWeights: 2,
    maxWeightLimit: 1,
  });
  assert.deepEqual(floored.uids, [0, 1, 2, 3]);
  assert.ok(floored.weights instanceof Float64Array);
  const expected = [1e-5, 1.00001, 1e-5, 1e-5].map((v) => v / 1.00004);
  floored.weights.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-15, `${v}`));
  assert.deepEqual(convertWeightsAndUidsForEmit(floored.uids, floored.weights).values, [
    1,
    65535,
    1,
    1,
  ]);
});

Deno.test("processWeights floors a partial vector's few positive weights at their uids", () => {
  // uid 3 (input position 1) is the only positive weight, below MinAllowedWeights 2: every uid
  // gets the 1e-5 floor and uid 3 its weight on top, not uid 1 (the SDK's input position).
  const out = processWeights([1, 3], [0, 1], {
    neuronCount: 4,
    minAllowedWeights: 2,
    maxWeightLimit: 1,
  });
  assert.deepEqual(convertWeightsAndUidsForEmit(out.uids, out.weights), {
    uids: [0, 1, 2, 3],
    values: [1, 1, 1, 65535],
  });
});

Deno.test("processWeights caps the largest weight at the subnet's limit", () => {
  const out = processWeights([0, 1, 2, 3], [1, 1, 1, 10], {
    neuronCount: 4,
    minAllowedWeights: 1,
    maxWeightLimit: 0.5,
  });
  assert.deepEqual(out.uids, [0, 1, 2, 3]);
  assert.deepEqual(convertWeightsAndUidsForEmit(out.uids, out.weights).values, [
    21845,
    21845,
    21845,
    65535,
  ]);
});

interface SdkCase {
  weights: number[];
  maxWeightsLimit: number;
  minAllowedWeights: number;
  normalized: number[] | null;
  processedDtype: "float32" | "float64";
  processed: number[];
  uids: number[];
  values: number[];
}

const sdkVectors = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/sdk_weight_vectors.json", import.meta.url)),
) as { numpy: string; cases: SdkCase[] };

Deno.test("weight processing is bit-identical to the SDK under numpy", () => {
  assert.equal(sdkVectors.cases.length, 52);
  for (const [i, c] of sdkVectors.cases.entries()) {
    const uids = c.weights.map((_, j) => j);
    const limit = c.maxWeightsLimit / 65535;
    if (c.normalized) {
      assert.deepEqual(
        Array.from(normalizeMaxWeight(Float32Array.from(c.weights), limit)),
        c.normalized,
        `case ${i}: normalize_max_weight`,
      );
    }
    const processed = processWeights(uids, c.weights, {
      neuronCount: c.weights.length,
      minAllowedWeights: c.minAllowedWeights,
      maxWeightLimit: limit,
    });
    const dtype = processed.weights instanceof Float32Array ? "float32" : "float64";
    assert.equal(dtype, c.processedDtype, `case ${i}: dtype`);
    assert.deepEqual(Array.from(processed.weights), c.processed, `case ${i}: process_weights`);
    assert.deepEqual(
      convertWeightsAndUidsForEmit(processed.uids, processed.weights),
      { uids: c.uids, values: c.values },
      `case ${i}: convert_weights_and_uids_for_emit`,
    );
  }
});
