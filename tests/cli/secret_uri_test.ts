/** How `taos wallet create` tells a `--coldkey-uri` or `--hotkey-uri` that makes no key. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { testTempDir } from "../temp_dir.ts";
import { repoRoot, taosWallet } from "../wallet_process.ts";

const FORMS = "a mnemonic, a 0x hex seed of 32 bytes or //Name, then any /soft or //hard path";

for (
  const [uri, problem] of [
    ["bad uri !!", `not a secret URI (${FORMS})`],
    ["//Alice/", `not a secret URI (${FORMS})`],
    ["0xzz", "a hex seed must be 0x and 64 hex digits (32 bytes)"],
    ["0x1234", "a hex seed must be 0x and 64 hex digits (32 bytes)"],
    // 33 bytes, one more than a seed holds: the digits are counted exactly, not as at least 64.
    [`0x${"ab".repeat(33)}`, "a hex seed must be 0x and 64 hex digits (32 bytes)"],
    ["apple", "not a valid mnemonic (12, 15, 18, 21 or 24 BIP39 words, the last a checksum)"],
  ]
) {
  Deno.test(`taos wallet create --coldkey-uri '${uri}' is refused as: ${problem}`, async () => {
    const root = testTempDir("taos-secret-uri-");
    const { code, stderr } = await taosWallet(
      ["create", "-p", root, "-w", "w", "--coldkey-uri", uri, "--hotkey-uri", "//Bob"],
      { cwd: repoRoot },
    );
    assert.equal(code, 2, stderr);
    // The URI itself is not repeated: it may be a real secret.
    assert.equal(stderr.trim(), `taos wallet: --coldkey-uri: ${problem}`);
    assert.ok(!existsSync(join(root, "w", "coldkey")), "nothing written");
  });
}
