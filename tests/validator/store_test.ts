import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { type Injection, type ValidatorSnapshot, ValidatorStore } from "../../validator/store.ts";

function snapshot(publishes: number, index = 0): ValidatorSnapshot {
  return {
    simulation: { index, seed: 7 + index, publishes, timestamp: publishes * 5e9 },
    step: 100 + publishes,
    hotkeys: { "0": "5A", "1": "5B" },
    scores: { "0": 0.25, "1": 0 },
    scoring: { miners: [{ score: 0.25 }] },
    pendingResets: [1],
    lastWeightsAt: null,
  };
}

function injection(publish: number, simulation = 0): Injection {
  return {
    simulation,
    publish,
    agentId: 0,
    delayNs: 10_000_000,
    instructions: [{ type: "PLACE_ORDER_MARKET", bookId: 1, direction: 0, volume: 1.5 }],
  };
}

Deno.test("store: a snapshot and its injections round-trip through the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-store-"));
  try {
    const path = join(dir, "sub", "state.db");
    const store = ValidatorStore.open(path);
    assert.equal(store.load(), null);
    store.save(snapshot(2), [injection(1), injection(2)]);
    store.save(snapshot(3), [injection(3)]);
    store.close();
    const reopened = ValidatorStore.open(path);
    const saved = reopened.load();
    reopened.close();
    assert.ok(saved !== null);
    assert.deepEqual(saved.snapshot, snapshot(3));
    assert.deepEqual(saved.injections.map((i) => i.publish), [1, 2, 3]);
    assert.deepEqual(saved.injections[0], injection(1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("store: injections beyond the snapshot or of an older simulation are not replayed", () => {
  const store = ValidatorStore.open(":memory:");
  store.save(snapshot(2), [injection(1), injection(2), injection(3)]);
  assert.deepEqual(store.load()!.injections.map((i) => i.publish), [1, 2]);
  store.save(snapshot(1, 1), [injection(1, 1)]);
  const saved = store.load()!;
  assert.equal(saved.snapshot.simulation.index, 1);
  assert.deepEqual(saved.injections.map((i) => [i.simulation, i.publish]), [[1, 1]]);
  store.clear();
  assert.equal(store.load(), null);
  store.close();
});

Deno.test("store: a corrupt snapshot is reported with the bad field, a non-database file refused", () => {
  const store = ValidatorStore.open(":memory:");
  const bad = { ...snapshot(1), simulation: { index: -1, seed: 1, publishes: 0, timestamp: 0 } };
  store.save(bad as ValidatorSnapshot, []);
  assert.throws(() => store.load(), /simulation\.index/);
  store.close();
  const dir = mkdtempSync(join(tmpdir(), "taos-store-"));
  try {
    const path = join(dir, "state.db");
    writeFileSync(
      path,
      "this is not a database, just text that is long enough to matter".repeat(20),
    );
    assert.throws(() => ValidatorStore.open(path), /not a database|file is not/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
