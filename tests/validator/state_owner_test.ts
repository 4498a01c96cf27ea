import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { ValidatorStore } from "../../validator/store.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import { Wallet } from "../../bittensor/wallet.ts";
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
      const fresh = run.stderr.find((line) => line.includes("no saved state in"));
      // Nothing at the wallet names' default path to point to.
      assert.match(fresh ?? "", /no saved state in \S+: starting with empty scores$/);
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

Deno.test({
  name: "a --hotkey-uri validator is told of a state at the wallet names' default path, left alone",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-state-old-uri-"));
  try {
    await cryptoReady();
    // The default path of a --hotkey-uri validator when it was built from the wallet's names.
    const old = join(dir, "taos", "validator", "local", "validator", "state.db");
    ValidatorStore.open(old).close();
    rmSync(`${old}-lock`);
    const oldFiles = readdirSync(dirname(old));
    const oldBytes = readFileSync(old);
    const oldModified = statSync(old).mtimeMs;

    const run = startValidator(defaultStateRun(dir, ["--hotkey-uri", "//Alice"]));
    assert.equal((await run.done).code, 0, run.stderr.join("\n"));
    const alice = Keypair.fromUri("//Alice").ss58Address;
    const state = join(dir, alice, "local", "validator", "state.db");
    const hint = `no saved state in ${state}: starting with empty scores; a state file is at ` +
      `${old}, the default before --hotkey-uri validators had their own (give --state ${old} ` +
      "to resume it)";
    assert.ok(run.stderr.some((line) => line.endsWith(hint)), run.stderr.join("\n"));
    // It started fresh at its own path; the old file may be another validator's: not opened.
    assert.equal(ownerOf(state), `${alice}@local`);
    assert.deepEqual(readdirSync(dirname(old)), oldFiles);
    assert.deepEqual(readFileSync(old), oldBytes);
    assert.equal(statSync(old).mtimeMs, oldModified);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name: "a wallet's default state of another hotkey is refused naming the default path, unpaged",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-state-wallet-"));
  const wallets = join(dir, "wallets");
  const logs = join(dir, "logs");
  try {
    await cryptoReady();
    const wallet = new Wallet({ root: wallets, name: "taos", hotkey: "validator" });
    const args = defaultStateRun(logs, ["-p", wallets]);
    const alice = Keypair.fromUri("//Alice").ss58Address;
    await wallet.writeHotkey(Keypair.fromUri("//Alice"));
    const first = startValidator(args);
    assert.equal((await first.done).code, 0, first.stderr.join("\n"));
    // A wallet's default path is where earlier releases kept it.
    const state = join(logs, "taos", "validator", "local", "validator", "state.db");
    assert.equal(ownerOf(state), `${alice}@local`);
    const saved = readFileSync(state);

    // The hotkey file replaced by another key under the same names.
    await wallet.writeHotkey(Keypair.fromUri("//Charlie"));
    const charlie = Keypair.fromUri("//Charlie").ss58Address;
    const refused = startValidator(args);
    assert.equal((await refused.done).code, 2);
    const stderr = refused.stderr.join("\n");
    assert.ok(
      refused.stderr.includes(
        "taos validator: default state file (from --logging.logging_dir, --wallet.name, " +
          `--wallet.hotkey): ${state} is the state of validator ${alice}@local, not of this one ` +
          `(${charlie}@local) (give this validator a state file of its own with --state <file>; ` +
          `--neuron.reset would discard the state of validator ${alice}@local)`,
      ),
      stderr,
    );
    // A refusal of the command as given, told on stderr: no page.
    assert.doesNotMatch(stderr, /ALERT/);
    assert.deepEqual(readFileSync(state), saved, "the other validator's state is untouched");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
