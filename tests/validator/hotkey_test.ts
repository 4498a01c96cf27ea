import assert from "node:assert/strict";
import { UsageError } from "../../cli/command.ts";
import { Keypair } from "../../bittensor/keypair.ts";
import { loadHotkey } from "../../validator/hotkey.ts";
import { testTempDir } from "../temp_dir.ts";
import { noMinerRun, startValidator } from "./processes.ts";

/** Substrate's well-known development account //Alice, at the generic prefix 42. */
const ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

Deno.test("a hotkey URI gives the same sr25519 key for dendrite signatures and extrinsics", async () => {
  const { keypair, pair } = await loadHotkey({
    walletPath: "/nonexistent",
    walletName: "unused",
    walletHotkey: "unused",
    uri: "//Alice",
  });
  assert.equal(keypair.ss58Address, ALICE);
  assert.equal(pair.address, ALICE);
  assert.equal(pair.type, "sr25519");
  // The two forms sign as one key: the extrinsic pair's signature verifies under the keypair's key.
  const message = new TextEncoder().encode("weights");
  assert.ok(Keypair.verify(message, pair.sign(message), keypair.ss58Address));
});

Deno.test("a hotkey that cannot be had is a usage error naming the flag or the file", async () => {
  await assert.rejects(
    loadHotkey({ walletPath: "/x", walletName: "w", walletHotkey: "h", uri: "//Alice///secret" }),
    (error: unknown) =>
      error instanceof UsageError &&
      error.message === "--hotkey-uri: password-protected URIs are not supported",
  );
  const root = testTempDir("taos-hotkey-");
  for (const walletVariables of [undefined, []]) {
    await assert.rejects(
      loadHotkey({
        walletPath: root,
        walletName: "w",
        walletHotkey: "h",
        uri: null,
        walletVariables,
      }),
      (error: unknown) => {
        assert.ok(error instanceof UsageError, String(error));
        // No variable chose the names: nothing but the flags to point at.
        assert.match(
          error.message,
          new RegExp(
            `^hotkey w/h in ${root}: .* \\(set -p/-w/-h, or --hotkey-uri for a development key\\)$`,
          ),
        );
        return true;
      },
    );
  }
});

Deno.test("a hotkey found but not readable is not told to set the wallet flags", async () => {
  const root = testTempDir("taos-hotkey-");
  Deno.mkdirSync(`${root}/w/hotkeys`, { recursive: true });
  Deno.writeTextFileSync(`${root}/w/hotkeys/h`, "not a key file");
  for (
    const [walletVariables, note] of [[[], ""], [
      ["BT_WALLET_NAME"],
      " (chosen by BT_WALLET_NAME)",
    ]] as const
  ) {
    await assert.rejects(
      loadHotkey({
        walletPath: root,
        walletName: "w",
        walletHotkey: "h",
        uri: null,
        walletVariables: [...walletVariables],
      }),
      (error: unknown) => {
        assert.ok(error instanceof UsageError, String(error));
        assert.ok(error.message.startsWith(`hotkey w/h in ${root}: `), error.message);
        // Another name would not open this file: the flags are no help, only the variable is named.
        assert.doesNotMatch(error.message, /set -p/);
        if (note === "") assert.doesNotMatch(error.message, /chosen by/);
        else assert.ok(error.message.endsWith(note), error.message);
        return true;
      },
    );
  }
});

Deno.test("a --miner giving the validator's own hotkey is warned about: it is never queried", async () => {
  const dir = testTempDir("taos-own-miner-");
  const own = Keypair.fromUri("//Validator").ss58Address;
  const validator = startValidator([
    ...noMinerRun(`${dir}/state.db`),
    "--miner",
    `3:${own}@127.0.0.1:9`,
  ]);
  const status = await validator.done;
  assert.equal(status.code, 0, validator.stderr.join("\n"));
  assert.ok(
    validator.stderr.some((line) =>
      line.includes(
        `--miner uid 3: ${own} is this validator's own hotkey; a validator never queries itself`,
      )
    ),
    validator.stderr.join("\n"),
  );
});
