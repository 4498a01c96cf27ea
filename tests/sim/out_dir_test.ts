import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { main, spawnTaos, taos } from "./taos_process.ts";
import { smallPreset } from "../../sim/config.ts";

/**
 * Runs `taos sim --config small --quiet <args>` from `sh -c '<setup>; exec <wrapper> taos ...'`;
 * `env` is given to the shell.
 */
async function simUnder(
  shell: { setup?: string; wrapper?: string; env?: Record<string, string> },
  ...args: string[]
) {
  const script = `${shell.setup ?? ":"}; exec ${shell.wrapper ?? ""} "$TAOS_DENO" run -A ` +
    `"$TAOS_MAIN" sim --config small --quiet "$@"`;
  const output = await new Deno.Command("sh", {
    args: ["-c", script, "sh", ...args],
    env: { ...shell.env, TAOS_DENO: Deno.execPath(), TAOS_MAIN: main },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

/**
 * The shell setup of a run under a file-size limit of `blocks` (512 bytes each). SIGXFSZ is
 * ignored first, and the ignored disposition passes to Deno across exec: Deno writes its own
 * caches (SQLite files, past offsets of a few KiB) before taos starts ignoring the signal, and
 * would be killed there instead of getting EFBIG.
 */
const fileSizeLimit = (blocks: number) => `trap '' XFSZ; ulimit -f ${blocks}`;

/** Whether this system lets an unprivileged process mount a directory read-only in a namespace. */
const canMountReadOnly = (() => {
  try {
    return new Deno.Command("unshare", { args: ["-rm", "true"], stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

Deno.test("a config.json the file-size limit cuts off is exit 1 naming it, and not left behind", async () => {
  const out = await Deno.makeTempDir();
  try {
    // 1 KiB (sh counts 512-byte blocks): the effective configuration is about 4.6 KB.
    const run = await simUnder({ setup: fileSizeLimit(2) }, "--duration", "1m", "--out", out);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^taos sim: cannot write .*config\.json: file too large$/m);
    assert.deepEqual(readdirSync(out), [], "no cut-off config.json, no partial file");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a file-size limit names the first file refused and every other file it cut short", async () => {
  const out = await Deno.makeTempDir();
  try {
    // 8 KiB (sh counts 512-byte blocks): every CSV of the run passes it; events-0.csv is the
    // first to be flushed (its buffer fills at 1 MiB).
    const run = await simUnder(
      { setup: fileSizeLimit(16) },
      ...["--books", "2", "--duration", "3h", "--out", out],
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^taos sim: cannot write .*\/events-0\.csv \(also cut short: events-1\.csv, trades-0\.csv, trades-1\.csv, l2-0\.csv, l2-1\.csv\): File too large \(os error 27\)$/m,
    );
    assert.ok(!existsSync(join(out, "summary.json")));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name: "--out on a read-only file system is exit 1 naming the file, and an earlier run stays",
  ignore: !canMountReadOnly,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(out, "summary.json"), '{"seed": 3}\n');
      // The directory is mounted read-only over itself in a mount namespace of the child's own.
      const wrapper = `unshare -rm sh -c 'mount --bind "$RO" "$RO" && ` +
        `mount -o remount,bind,ro "$RO" && exec "$@"' sh`;
      for (const dir of [out, join(out, "sub")]) {
        const run = await simUnder(
          { wrapper, env: { RO: out } },
          "--duration",
          "1m",
          "--out",
          dir,
        );
        assert.equal(run.code, 1, run.stderr);
        assert.match(
          run.stderr,
          /^taos sim: cannot (replace|write to) .*(summary\.json|sub): read-only file system$/m,
        );
      }
      assert.deepEqual(readdirSync(out), ["summary.json"]);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

/** Writes the files of an earlier run into `out`; returns their names and contents. */
function earlierRun(out: string): Record<string, string> {
  const files: Record<string, string> = {
    "config.json": '{"seed": 3}\n',
    "events-0.csv": "timestamp,event\n",
    "summary.json": '{"seed": 3}\n',
  };
  for (const [name, text] of Object.entries(files)) Deno.writeTextFileSync(join(out, name), text);
  return files;
}

function assertUntouched(out: string, files: Record<string, string>, extra: string[] = []) {
  assert.deepEqual(readdirSync(out).sort(), [...Object.keys(files), ...extra].sort());
  for (const [name, text] of Object.entries(files)) {
    assert.equal(readFileSync(join(out, name), "utf8"), text, name);
  }
}

Deno.test("more books than open files allowed is a usage error that leaves an earlier run as it was", async () => {
  const out = await Deno.makeTempDir();
  try {
    const files = earlierRun(out);
    // 60 books under a limit of 128 open files.
    const tooMany = (dir: string) =>
      simUnder({ setup: "ulimit -n 128" }, "--books", "60", "--duration", "10s", "--out", dir);
    const run = await tooMany(out);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /^taos sim: --out: cannot open .*: too many open files; a run keeps 181 files open \(3 per book and balances\.csv\): raise the limit \(ulimit -n\)/,
    );
    assert.doesNotMatch(run.stderr, /panicked|Uncaught/);
    assertUntouched(out, files);
    // A directory the refused run would have made is not left behind, empty.
    const fresh = join(out, "fresh");
    const nested = join(fresh, "a", "b");
    const again = await tooMany(nested);
    assert.equal(again.code, 2, again.stderr);
    assert.equal(existsSync(fresh), false, "nor the parents it made");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("an earlier run's file that is a directory is refused before anything is removed", async () => {
  const out = await Deno.makeTempDir();
  try {
    const files = earlierRun(out);
    await Deno.mkdir(join(out, "trades-0.csv"));
    await Deno.writeTextFile(join(out, "trades-0.csv", "keep"), "x");
    const run = await simUnder({}, "--duration", "1m", "--out", out);
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /^taos sim: --out: cannot replace .*\/trades-0\.csv: it is a directory$/m,
    );
    assertUntouched(out, files, ["trades-0.csv"]);
    assert.deepEqual(readdirSync(join(out, "trades-0.csv")), ["keep"]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a --config read from the output directory's config.json is refused, not replaced", async () => {
  const out = await Deno.makeTempDir();
  try {
    const config = join(out, "config.json");
    await Deno.writeTextFile(config, JSON.stringify({ ...smallPreset(), duration: "10m" }));
    const before = readFileSync(config, "utf8");
    // The same file by another name too.
    Deno.symlinkSync(config, join(out, "mine.json"));
    for (const given of [config, join(out, "mine.json")]) {
      const run = await taos(
        "sim",
        "--config",
        given,
        "--duration",
        "10s",
        "--out",
        out,
        "--quiet",
      );
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        /^taos sim: --out: .*\/config\.json is the --config file, which this run would replace; copy it elsewhere or choose another directory$/m,
      );
      assert.equal(readFileSync(config, "utf8"), before);
    }
    // An earlier run's file that is a dangling link is no input: it is replaced.
    Deno.removeSync(join(out, "mine.json"));
    Deno.renameSync(config, join(out, "kept.json"));
    Deno.symlinkSync(join(out, "gone.json"), config);
    const dangling = await taos(
      "sim",
      "--config",
      join(out, "kept.json"),
      "--duration",
      "10s",
      "--out",
      out,
      "--quiet",
    );
    assert.equal(dangling.code, 0, dangling.stderr);
    assert.ok(!Deno.lstatSync(config).isSymlink, "replaced by the run's config.json");
    // A feed read from a pipe is no file the run could replace.
    const piped = spawnTaos(
      [
        "sim",
        "--config",
        "small",
        "--duration",
        "20s",
        "--quiet",
        "--fundamental-feed",
        "/dev/stdin",
        "--out",
        out,
      ],
      { stdin: "piped", stdout: "null", stderr: "piped" },
    );
    const writer = piped.stdin.getWriter();
    await writer.write(new TextEncoder().encode("1,95000\n2,95001\n"));
    await writer.close();
    const pipedRun = await piped.output();
    assert.equal(pipedRun.code, 0, new TextDecoder().decode(pipedRun.stderr));
    // A file no run writes (zero-padded) is left alone by one that runs.
    await Deno.writeTextFile(join(out, "events-01.csv"), "mine\n");
    const run = await taos(
      "sim",
      "--config",
      "small",
      "--duration",
      "10s",
      "--out",
      out,
      "--quiet",
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readFileSync(join(out, "events-01.csv"), "utf8"), "mine\n");
    assert.ok(existsSync(join(out, "events-0.csv")));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("summary.json is written even when the report cannot be printed (stdout on a full disk)", async () => {
  const out = await Deno.makeTempDir();
  try {
    const run = await simUnder({ setup: "exec >/dev/full" }, "--duration", "1m", "--out", out);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^taos sim: cannot write to standard output: No space left on device/m,
    );
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    assert.equal(summary.duration, 60e9);
    assert.equal(summary.interrupted, undefined);
    assert.ok(!existsSync(join(out, "summary.json.partial")));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
