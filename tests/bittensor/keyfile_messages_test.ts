/** How a keyfile that is JSON but not a key record is told, where `taos miner` reads its hotkey. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { localMinerFlags, minerWallet, runMinerToExit } from "../miner/support.ts";

for (
  const [content, problem] of [
    ["[]", "the keyfile is an array, not a JSON object"],
    // A string is not shown: it may be the secret itself.
    ['"secret"', "the keyfile is a string, not a JSON object"],
    ["null", "the keyfile is null, not a JSON object"],
    ['{"privateKey": 5}', "privateKey: must be a string, got 5"],
  ]
) {
  Deno.test(`taos miner: a hotkey file holding ${content} is refused as ${problem}`, async () => {
    const root = await minerWallet("taos-keyfile-messages-");
    const hotkey = join(root, "taos", "hotkeys", "miner");
    writeFileSync(hotkey, content);
    const { code, stderr } = await runMinerToExit(localMinerFlags(root));
    assert.equal(code, 2, stderr);
    assert.match(stderr.trim(), /^taos miner: wallet: [^\n]+$/, "one line");
    assert.ok(stderr.trim().endsWith(`${hotkey}: ${problem}`), stderr);
  });
}
