import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ValidatorStore } from "../../validator/store.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import { startValidator } from "./processes.ts";

/** A 10-second local run of the small preset, no miners, no metrics, state under `loggingDir`. */
function defaultStateRun(loggingDir: string, key: string[]): string[] {
  return [
    "--local",
    ...key,
    "--config",
    "small",
    "--duration",
    "10s",
    "--simulations",
    "1",
    "--prometheus.level",
    "OFF",
    "--logging.logging_dir",
    loggingDir,
  ];
}

function ownerOf(state: string): string | undefined {
  const store = ValidatorStore.open(state);
  try {
    return store.load()?.snapshot.owner;
  } finally {
    store.close();
  }
}

Deno.test({
  name: "two --hotkey-uri validators in one logging dir keep a default state each",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-state-uri-"));
  try {
    await cryptoReady();
    for (const uri of ["//Alice", "//Charlie"]) {
      const run = startValidator(defaultStateRun(dir, ["--hotkey-uri", uri]));
      assert.equal((await run.done).code, 0, run.stderr.join("\n"));
    }
    for (const uri of ["//Alice", "//Charlie"]) {
      const address = Keypair.fromUri(uri).ss58Address;
      // The hotkey's address takes the place of the wallet's names, which a URI does not use.
      const state = join(dir, address, "local", "validator", "state.db");
      assert.equal(ownerOf(state), `${address}@local`);
    }
    // No state under the wallet's default names, which both would have shared.
    assert.equal(existsSync(join(dir, "taos")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
