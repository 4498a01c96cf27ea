import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { SimOutputs, type StepState } from "../../sim/outputs.ts";
import { UsageError } from "../../cli/command.ts";

Deno.test("balances.csv has a row per account at the start, then only for accounts that changed", async () => {
  const dir = await Deno.makeTempDir();
  const config = { ...smallPreset(), books: 2, duration: 60e9, remoteAgentCount: 3 };
  const engine = SimEngine.create({ config, seed: 2, threads: 1 });
  const outputs = new SimOutputs(dir, engine, 2);
  try {
    const steps: number[] = [];
    for (let step = engine.step(); step !== null; step = engine.step()) {
      steps.push(step.timestamp);
      if (steps.length === 2) {
        // agent 1 buys on book 1 between the second and third step
        engine.inject(1, [{ type: "PLACE_ORDER_MARKET", bookId: 1, direction: 0, volume: 1 }], 1e9);
      }
      outputs.writeStep(step.timestamp);
    }
    outputs.close();
    const rows = readFileSync(join(dir, "balances.csv"), "utf8").trim().split("\n").slice(1)
      .map((line) => line.split(","));
    const first = rows.filter((row) => row[0] === String(steps[0]));
    assert.equal(first.length, 3 * 2, "every account on every book at the first step");
    const later = rows.filter((row) => row[0] !== String(steps[0]));
    assert.deepEqual(later.map((row) => [row[0], row[1], row[2]]), [[String(steps[2]), "1", "1"]]);
    const [before] = first.filter((row) => row[1] === "1" && row[2] === "1");
    assert.ok(Number(later[0][3]) > Number(before[3]), "more base after the buy");
    assert.ok(Number(later[0][5]) < Number(before[5]), "less quote after the buy");
    assert.match(later[0][3], /^\d+\.\d{4}$/);
  } finally {
    engine.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("l2 process values: a huge one is written with 6 decimals, Infinity or NaN is refused", async () => {
  const dir = await Deno.makeTempDir();
  const config = { ...smallPreset(), books: 1, duration: 60e9, remoteAgentCount: 1 };
  const engine = SimEngine.create({ config, threads: 1 });
  const outputs = new SimOutputs(dir, engine, 1);
  const state = (fundamental: number, external: number): StepState => ({
    levels: () => [],
    processValues: () => ({ fundamental, external }),
  });
  try {
    outputs.writeStep(5e9, state(300.25, 1e22));
    assert.throws(
      () => outputs.writeStep(10e9, state(Infinity, 300)),
      (e: Error) =>
        e instanceof UsageError &&
        /^cannot write l2-0\.csv: the fundamental price of book 0 at 10000000000 ns is Infinity;/
          .test(e.message),
    );
    assert.throws(
      () => outputs.writeStep(15e9, state(300, NaN)),
      /the external price of book 0 at 15000000000 ns is NaN; the process \(processes\.external\)/,
    );
    outputs.close();
    const rows = readFileSync(join(dir, "l2-0.csv"), "utf8").trim().split("\n").slice(1);
    assert.deepEqual(rows, ["5000000000,300.250000,10000000000000000000000.000000,,,,"]);
  } finally {
    engine.close();
    await Deno.remove(dir, { recursive: true });
  }
});
