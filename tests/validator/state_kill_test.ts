/** The state file when its writer is killed (`kill -9`) at random moments of its saves. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Scorer } from "../../validator/scoring/mod.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { Child } from "./processes.ts";
import { BOOKS, observe, stepState, UIDS } from "./fixtures/state_saver.ts";
import { fileURLToPath } from "node:url";

const SAVER = fileURLToPath(new URL("./fixtures/state_saver.ts", import.meta.url));

/** A seeded stream of numbers in [0, 1) (a linear congruential generator). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
}

Deno.test({
  name: "kill -9 at random moments of a save loop: always one whole save, the next start unblocked",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-state-kill-"));
  const state = join(dir, "state.db");
  const random = seeded(79);
  let last = 0;
  let advanced = 0;
  try {
    for (let round = 0; round < 16; round++) {
      const saver = new Child([SAVER, state]);
      // A started saver shows the previous kill left no lock behind (the OS dropped it).
      await saver.waitFor((l) => l.startsWith("ready at step "), 60_000, "the saver to start");
      // Anywhere from the first saves to some hundreds of them.
      await new Promise((resolve) => setTimeout(resolve, random() * 250));
      assert.equal((await saver.stop("SIGKILL")).signal, "SIGKILL", saver.stderr.join("\n"));

      const store = ValidatorStore.open(state);
      const saved = store.load();
      store.close();
      const step = saved?.snapshot.step ?? 0;
      assert.ok(step >= last, `round ${round}: step ${step} after ${last}`);
      if (step > last) advanced++;
      last = step;
      if (saved === null) continue;
      const scorer = new Scorer({ uids: UIDS, books: BOOKS });
      for (let s = 1; s <= step; s++) observe(scorer, s);
      const [snapshot] = stepState(step, scorer);
      assert.deepEqual({ ...saved.snapshot, scoring: null }, { ...snapshot, scoring: null });
      assert.deepEqual(
        saved.injections,
        Array.from({ length: step }, (_, i) => stepState(i + 1, scorer)[1]),
        `round ${round}: the log of step ${step}`,
      );
      const restored = Scorer.fromJSON(saved.snapshot.scoring!, { uids: UIDS, books: BOOKS });
      for (let uid = 0; uid < UIDS; uid++) {
        assert.deepEqual(restored.miners[uid].inventory, scorer.miners[uid].inventory);
      }
    }
    assert.ok(advanced >= 12, `only ${advanced} of 16 kills came after a save`);
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes("-probe-")), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
