import assert from "node:assert/strict";
import { PhaseTimes } from "../../validator/phases.ts";

Deno.test("phase times add the time since each start, per phase, until cleared", () => {
  const phases = new PhaseTimes();
  // Readings 50 and 20 ms in the past: the totals are at least those, never negative.
  phases.add("state", performance.now() - 50);
  phases.add("state", performance.now() - 20);
  phases.add("query", performance.now() - 10);
  assert.ok(phases.totals.get("state")! >= 70, `state ${phases.totals.get("state")}`);
  assert.ok(phases.totals.get("query")! >= 10, `query ${phases.totals.get("query")}`);
  assert.equal(phases.time("sign", () => 42), 42);
  assert.ok(phases.totals.get("sign")! >= 0);
  phases.clear();
  assert.deepEqual([...phases.totals], []);
});

Deno.test("phase times count a timed call that throws, and pass its error on", () => {
  const phases = new PhaseTimes();
  assert.throws(() =>
    phases.time("decode", () => {
      throw new RangeError("bad frame");
    }), /^RangeError: bad frame$/);
  assert.deepEqual([...phases.totals.keys()], ["decode"]);
});
