/**
 * `taos validator` command lines refused before anything starts, on real child processes: the
 * message names the flag and the problem, and the exit code is 2.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { taos } from "../sim/taos_process.ts";
import { testTempDir } from "../temp_dir.ts";

const ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

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

Deno.test("taos validator refuses two --miner entries giving one hotkey under two uids", async () => {
  await refused(
    [
      "--local",
      "--miner",
      `3:${ALICE}@127.0.0.1:30101`,
      "--miner",
      `5:${BOB}@127.0.0.1:30102`,
      "--miner",
      `7:${ALICE}@127.0.0.1:30103`,
    ],
    `--miner: uids 3 and 7 both give hotkey ${ALICE} (a hotkey has one uid on a subnet)`,
  );
});
