/**
 * Tests that need a tool the machine lacks are skipped with names that say why, so that a run's
 * output shows what it did not check.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

Deno.test("a test that needs strace, run where there is none, says so in its name", async () => {
  // A bare "ignored" would not say why: the name carries the reason.
  const test = fileURLToPath(new URL("./chain/commit_store_test.ts", import.meta.url));
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", test, "--filter", "flushes the file before its rename"],
    // Only Deno's own directory on the PATH: no strace there.
    env: { PATH: dirname(Deno.execPath()), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(
    text,
    /flushes the file before its rename .*\(SKIPPED: strace not found\) \.\.\. ignored/,
  );
});

Deno.test("deno task test --help prints how it runs and starts no step", async () => {
  const script = fileURLToPath(new URL("../scripts/run_tests.ts", import.meta.url));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "--help"],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Only its first line is read: a run that started the suite is stopped there, not waited for.
  let output = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (!output.trimStart().includes("\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    output += value;
  }
  await reader.cancel();
  try {
    child.kill("SIGKILL");
  } catch {
    // it had ended
  }
  await child.stderr.cancel();
  await child.status;
  assert.match(output, /^usage: deno task test \[deno test arguments\.\.\.\]\n/);
  assert.doesNotMatch(output, /^== /m, "no step started");
});
