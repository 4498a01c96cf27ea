/** The agent's socket lives in TMPDIR; a TMPDIR too long for a socket's path says what to do. */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { testTempDir } from "../temp_dir.ts";
import { fixtures, repoRoot } from "./support.ts";

Deno.test("a TMPDIR too long for the agent's socket is named, with the way out", async () => {
  const long = join(testTempDir("taos-long-tmp-"), "d".repeat(60), "e".repeat(60));
  mkdirSync(long, { recursive: true });
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(fixtures, "host_script.ts"), "", "1000"],
    cwd: repoRoot,
    env: { TMPDIR: long },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.notEqual(output.code, 0);
  assert.match(
    stderr,
    new RegExp(
      `cannot start FixtureAgent: cannot listen on ${long}/taos-agent-\\w+/socket: its path has ` +
        `\\d+ bytes, more than the 107 a socket's address holds; set TMPDIR to a shorter directory`,
    ),
    stderr,
  );
  // Nothing is left behind in it.
  assert.deepEqual([...Deno.readDirSync(long)], []);
});
