/**
 * The pending-commits file is saved durably: the data is flushed before the rename that makes it
 * current, and the directory after it. Checked by tracing a real save's system calls.
 */
import assert from "node:assert/strict";
import { needsStrace, traceSyncsAndRenames } from "../strace.ts";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { loadPendingCommits, savePendingCommits } from "../../chain/commit_store.ts";
import { testTempDir } from "../temp_dir.ts";
import { syncDirectory, syncToDisk } from "../../cli/sync_to_disk.ts";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

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

/** Root reads any directory: as root, the check runs as nobody, where setpriv can switch to it. */
const asNobody = Deno.uid() === 0
  ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
  : [];

Deno.test({
  name: "a directory that may be written but not read does not fail a write renamed into it",
  ignore: Deno.build.os !== "linux" || (asNobody.length > 0 && !existsSync("/usr/bin/setpriv")),
  fn: async () => {
    const dir = testTempDir("taos-sync-");
    chmodSync(dir, 0o777);
    // A copy of the module, so that the other user need not reach this checkout.
    const module = join(dir, "sync_to_disk.ts");
    copyFileSync(fileURLToPath(new URL("../../cli/sync_to_disk.ts", import.meta.url)), module);
    chmodSync(module, 0o644);
    const writeOnly = join(dir, "drop-box");
    mkdirSync(writeOnly);
    chmodSync(writeOnly, 0o333);
    const code = `import { syncDirectory, syncToDisk } from ${
      JSON.stringify(pathToFileURL(module).href)
    };
      try { syncToDisk(${JSON.stringify(writeOnly)}); } catch (error) { console.log(error.code); }
      syncDirectory(${JSON.stringify(writeOnly)});
      console.log("synced");`;
    const [program, ...args] = [...asNobody, Deno.execPath(), "eval", code];
    const output = await new Deno.Command(program, {
      args,
      cwd: dir,
      env: { DENO_DIR: join(dir, "deno"), HOME: dir, NO_COLOR: "1" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    // The directory cannot be opened to flush it (EACCES); the rename into it stands all the same.
    assert.equal(stdout, "EACCES\nsynced\n");
  },
});

Deno.test("saved commits are owner-only and load back; an older file's missing flags default to not done", () => {
  const dir = testTempDir("taos-commits-");
  const path = join(dir, "commits.json");
  const commit = {
    uids: [1, 2],
    values: [65535, 1],
    salt: [7, 8],
    versionKey: 18_446_744_073_709_551_615n,
    hash: `0x${"ab".repeat(32)}`,
    commitEpoch: 3,
    revealEpoch: 4,
    confirmed: true,
    revealSent: true,
    revealSentAtBlock: 912,
  };
  savePendingCommits(path, [commit]);
  // The salts keep the weights secret until the reveal.
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const warnings: string[] = [];
  assert.deepEqual(loadPendingCommits(path, (m) => warnings.push(m)), [commit]);

  // Written before the flags existed: a reveal not known to be sent must be sent again.
  const { confirmed: _c, revealSent: _s, revealSentAtBlock: _b, ...older } = commit;
  writeFileSync(path, JSON.stringify([{ ...older, versionKey: "5" }]));
  assert.deepEqual(loadPendingCommits(path, (m) => warnings.push(m)), [
    { ...older, versionKey: 5n, confirmed: false, revealSent: false, revealSentAtBlock: 0 },
  ]);
  assert.deepEqual(warnings, []);
});

Deno.test("a value past 16 bits makes the file damaged: it is moved aside, named in the warning", () => {
  const dir = testTempDir("taos-commits-");
  const path = join(dir, "commits.json");
  const commit = {
    uids: [1],
    values: [65535],
    salt: [65536],
    versionKey: "1",
    hash: `0x${"ab".repeat(32)}`,
    commitEpoch: 3,
    revealEpoch: 4,
  };
  // 65535 is the largest u16 the chain takes; 65536 cannot have come from a commit.
  const text = JSON.stringify([commit]);
  writeFileSync(path, text);
  const warnings: string[] = [];
  assert.deepEqual(loadPendingCommits(path, (m) => warnings.push(m)), []);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^pending commits .*commits\.json: 0\.salt\.0: .*; moved to /);
  // Kept whole beside it for recovery by hand; the next save starts a new file.
  const [aside] = readdirSync(dir);
  assert.match(aside, /^commits\.json\.damaged-\d+$/);
  assert.equal(readFileSync(join(dir, aside), "utf8"), text);
  assert.equal(existsSync(path), false);
});
