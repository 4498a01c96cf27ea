/**
 * The pending-commits file is saved durably: the data is flushed before the rename that makes it
 * current, and the directory after it. Checked by tracing a real save's system calls.
 */
import assert from "node:assert/strict";
import { needsStrace, traceSyncsAndRenames } from "../strace.ts";
import { readFileSync } from "node:fs";
import { syncDirectory, syncToDisk } from "../../cli/sync_to_disk.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

Deno.test({
  ...needsStrace(
    "saving pending commits flushes the file before its rename and the directory after",
  ),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "commits.json");
      const store = fileURLToPath(new URL("../../chain/commit_store.ts", import.meta.url));
      const script = `const { savePendingCommits } = await import(${JSON.stringify(store)});
        savePendingCommits(${JSON.stringify(path)}, [{ uids: [1], values: [65535], salt: [7],
          versionKey: 1n, hash: "0x${"ab".repeat(32)}", commitEpoch: 3, revealEpoch: 4,
          confirmed: true }]);`;
      const mine = await traceSyncsAndRenames(script, dir, /commits\.json\.tmp/);
      assert.equal(JSON.parse(readFileSync(path, "utf8"))[0].revealEpoch, 4);
      assert.deepEqual(mine, [`fsync ${path}.tmp`, "rename", `fsync ${dir}`]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a directory the file system will not flush does not fail a write already renamed into it",
  ignore: Deno.build.os !== "linux",
  fn: () => {
    // /proc refuses fsync (EINVAL), as some file systems refuse it for directories.
    assert.throws(() => syncToDisk("/proc"), { code: "EINVAL" });
    syncDirectory("/proc");
    // A real problem still shows.
    assert.throws(() => syncDirectory("/no/such/directory"), { code: "ENOENT" });
  },
});
