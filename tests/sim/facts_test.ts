import assert from "node:assert/strict";
import { autocorrelation, FactsCollector } from "../../sim/facts.ts";

Deno.test("a minute whose book is one-sided is a gap: no return spans two minutes", () => {
  const facts = new FactsCollector(1, 60e9);
  const mids = [100, 101, 100, NaN, 102, 103, 102];
  mids.forEach((mid, i) => {
    const [bid, ask] = Number.isNaN(mid) ? [NaN, 100] : [mid - 0.5, mid + 0.5];
    facts.observe(0, (i + 1) * 60e9, bid, ask, 0.01);
  });
  // 100→101→100 and 102→103→102: four 1-minute returns; 100→102 spans two minutes and is left out.
  assert.equal(facts.summary().returns, 4);
});

Deno.test("autocorrelation leaves out the pairs a gap belongs to", () => {
  // The six present values have mean 0 and squares summing to 6. The pairs (1,-1), (-1,1),
  // (-1,1) and (1,-1) remain; (1,NaN) and (NaN,-1) are dropped.
  assert.equal(autocorrelation([1, -1, 1, NaN, -1, 1, -1], 1), -4 / 6);
  assert.ok(Number.isNaN(autocorrelation([NaN, NaN, 1], 1)));
});
