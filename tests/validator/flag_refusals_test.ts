/**
 * `taos validator` command lines refused before anything starts, on real child processes: the
 * message names the flag and the problem, and the exit code is 2.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { taos } from "../sim/taos_process.ts";
import { testTempDir } from "../temp_dir.ts";

/**
 * Runs `taos validator <args>` and checks it stops with exit code 2 and one line: `message`. Its
 * wallet path has no wallet, so a command line taken in error stops at the hotkey all the same.
 */
async function refused(args: string[], message: string): Promise<void> {
  const noWallet = join(testTempDir("taos-validator-refusals-"), "none");
  const { code, stdout, stderr } = await taos("validator", "-p", noWallet, ...args);
  assert.equal(code, 2, stderr);
  assert.equal(stdout, "");
  assert.equal(stderr.trim(), `taos validator: ${message}`);
}

for (const flag of ["-s", "-x"]) {
  Deno.test(`taos validator ${flag} takes 0 or 1 alone, as run_validator.sh passes it`, async () => {
    for (const value of ["yes", "2", "", "01"]) {
      await refused([flag, value], `${flag}: '${value}' must be 0 or 1`);
    }
    // Attached with '=', as argparse reads it, the value is checked all the same.
    await refused([`${flag}=true`], `${flag}: 'true' must be 0 or 1`);
  });
}
