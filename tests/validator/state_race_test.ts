/** Validators starting together on one state file: one opens it, the others are told it is in use. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";

const OPENER = fileURLToPath(new URL("./fixtures/state_opener.ts", import.meta.url));

Deno.test("three processes opening one new state file at the same instant: one opens it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-state-race-"));
  try {
    for (let round = 0; round < 8; round++) {
      const state = join(dir, `state-${round}.db`);
      // Late enough for every child to be loaded and spinning.
      const at = Date.now() + 1500;
      const outputs = await Promise.all([0, 1, 2].map(() =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", OPENER, state, String(at)],
          stdout: "piped",
          stderr: "piped",
        }).output()
      ));
      const said = outputs.map((o) => new TextDecoder().decode(o.stdout).trim()).sort();
      const inUse = `StateInUseError: ${state} is in use by another process (another validator?)`;
      assert.deepEqual(said, [inUse, inUse, "opened"], `round ${round}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
