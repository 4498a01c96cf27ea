import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ValidatorStore } from "../../validator/store.ts";
import { minerFlags, startMiner, startValidator } from "./processes.ts";

Deno.test({
  name: "validator + 3 miner processes: garbage, sleeper and good; only the good one earns weight",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-e2e-"));
  const miners = await Promise.all([
    startMiner("garbage", 0),
    startMiner("sleep", 1, ["--sleep", "5"]),
    startMiner("good", 2),
  ]);
  try {
    const validator = startValidator([
      "--local",
      "--hotkey-uri",
      "//Validator",
      ...minerFlags(miners),
      "--config",
      "small",
      "--duration",
      "1m",
      "--simulations",
      "1",
      "--threads",
      "1",
      "-t",
      "1",
      "--neuron.weights_interval",
      "0",
      "--prometheus.level",
      "OFF",
      "--state",
      join(dir, "state.db"),
    ]);
    const status = await validator.done;
    assert.equal(status.code, 0, validator.stderr.join("\n"));
    const submissions = validator.stdout
      .filter((line) => line.startsWith('{"weights"'))
      .map((line) => JSON.parse(line).weights as { uids: number[]; weights: number[] });
    assert.ok(submissions.length > 0, "weights were set");
    const last = submissions[submissions.length - 1];
    const weightOf = (uid: number) => last.weights[last.uids.indexOf(uid)];
    assert.deepEqual(last.uids, [0, 1, 2]);
    assert.ok(weightOf(2) > 0.99, `good miner weight ${weightOf(2)}`);
    assert.ok(weightOf(0) < 0.01, `garbage miner weight ${weightOf(0)}`);
    assert.ok(weightOf(1) < 0.01, `sleeping miner weight ${weightOf(1)}`);

    const store = ValidatorStore.open(join(dir, "state.db"));
    const saved = store.load();
    store.close();
    assert.ok(saved !== null);
    assert.equal(saved.snapshot.step, 12, "one simulated minute at 5 s per publish");
    assert.equal(saved.snapshot.simulation.index, 1, "the next simulation is prepared");
    assert.ok(saved.snapshot.scores[2] > 0);
    assert.equal(saved.snapshot.scores[0], 0);
    assert.equal(saved.snapshot.scores[1], 0);
  } finally {
    await Promise.all(miners.map((m) => m.child.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
});
