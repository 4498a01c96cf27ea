/**
 * The pending-commits file is saved durably: the data is flushed before the rename that makes it
 * current, and the directory after it. Checked by tracing a real save's system calls.
 */
import assert from "node:assert/strict";
import { hasStrace } from "../strace.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

Deno.test({
  name: "saving pending commits flushes the file before its rename and the directory after",
  ignore: !hasStrace,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "commits.json");
      const trace = join(dir, "trace.txt");
      const store = fileURLToPath(new URL("../../chain/commit_store.ts", import.meta.url));
      const script = `const { savePendingCommits } = await import(${JSON.stringify(store)});
        savePendingCommits(${JSON.stringify(path)}, [{ uids: [1], values: [65535], salt: [7],
          versionKey: 1n, hash: "0x${"ab".repeat(32)}", commitEpoch: 3, revealEpoch: 4,
          confirmed: true }]);`;
      const run = await new Deno.Command("strace", {
        args: [
          "-f",
          "-e",
          "trace=openat,fsync,rename,renameat,renameat2",
          "-o",
          trace,
          Deno.execPath(),
          "eval",
          script,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      assert.equal(JSON.parse(readFileSync(path, "utf8"))[0].revealEpoch, 4);

      // Each call as [kind, argument]: the path opened (with its fd), the fd synced, the rename.
      const fds = new Map<string, string>();
      const calls: string[] = [];
      for (const line of readFileSync(trace, "utf8").split("\n")) {
        const opened = /openat\(AT_FDCWD, "([^"]+)", .*\) = (\d+)$/.exec(line);
        if (opened) fds.set(opened[2], opened[1]);
        const synced = /fsync\((\d+)\)\s+= 0$/.exec(line);
        if (synced) calls.push(`fsync ${fds.get(synced[1])}`);
        if (/rename(at2?)?\(.*commits\.json\.tmp/.test(line) && / = 0$/.test(line)) {
          calls.push("rename");
        }
      }
      const mine = calls.filter((call) => call === "rename" || call.startsWith(`fsync ${dir}`));
      assert.deepEqual(mine, [`fsync ${path}.tmp`, "rename", `fsync ${dir}`]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
