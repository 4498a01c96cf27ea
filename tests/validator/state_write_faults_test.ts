/**
 * The validator's state file when writes fail: a file-size limit (`ulimit -f`, with SIGXFSZ ignored
 * so that a write past it fails with EFBIG instead of killing the process).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ValidatorStore } from "../../validator/store.ts";
import { noMinerRun, startValidator } from "./processes.ts";
import { fileURLToPath } from "node:url";

/** `taos validator` flags for a no-miner run of the small preset, saving after every round. */
function savingRun(state: string, duration: string): string[] {
  return [...noMinerRun(state, duration), "--neuron.save_interval", "0"];
}

/** `taos validator` in a shell whose files may not grow past `kib` KiB, SIGXFSZ ignored. */
async function validatorWithFileLimit(kib: number, args: string[]) {
  return await withFileLimit(kib, ["validator", ...args]);
}

/** `deno run -A main.ts <args>` (or another script as `script`) under a file-size limit. */
async function withFileLimit(kib: number, args: string[], script = "../../main.ts") {
  const main = fileURLToPath(new URL(script, import.meta.url));
  const output = await new Deno.Command("bash", {
    args: [
      "-c",
      `trap '' XFSZ; ulimit -f ${kib}; main="$1"; shift; exec "$0" run -A "$main" "$@"`,
      Deno.execPath(),
      main,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

const savedStep = (state: string) => {
  const store = ValidatorStore.open(state);
  try {
    return store.load()?.snapshot.step ?? null;
  } finally {
    store.close();
  }
};

Deno.test({
  name: "a crash-left state on a disk refusing writes is kept, not taken for damage, then resumed",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-state-efbig-"));
  const state = join(dir, "state.db");
  try {
    const args = savingRun(state, "30m");
    const first = startValidator(args);
    await first.waitFor((l) => l.includes(" step 24:"), 60_000, "24 publishes");
    assert.equal((await first.stop("SIGKILL")).signal, "SIGKILL");
    // The saves since the last checkpoint are in the -wal, which a reader indexes in a -shm file
    // that cannot grow past the limit.
    assert.ok(existsSync(`${state}-wal`), "the kill left the -wal");
    const files = () => ["", "-wal"].map((s) => Deno.readFileSync(state + s));
    const before = files();
    for (const extra of [[], ["--neuron.reset"]]) {
      const refused = await validatorWithFileLimit(16, [...args, ...extra]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(
        refused.stderr,
        new RegExp(`--state: ${state} cannot be read: disk I/O error \\(check the free space`),
      );
      assert.doesNotMatch(refused.stderr, /damaged|starts over|Uncaught/);
    }
    assert.deepEqual(files(), before, "the state and its -wal are as the kill left them");
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes(".damaged-")), []);

    const resumed = startValidator(args);
    assert.equal((await resumed.done).code, 0, resumed.stderr.join("\n"));
    // Every round is saved before the next one's progress line: step 23 at least.
    const at = resumed.stderr.map((l) =>
      /resuming simulation 0 \(seed 1\) at publish (\d+)/.exec(l)
    )
      .find((m) => m !== null);
    assert.ok(at && Number(at[1]) >= 23, resumed.stderr.join("\n"));
    assert.equal(savedStep(state), 360, "the half hour's 360 publishes, none lost");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name: "saves refused past a file-size limit page naming the file; the run ends with exit 1",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-state-fsize-"));
  const state = join(dir, "state.db");
  try {
    const first = startValidator(savingRun(state, "10s"));
    assert.equal((await first.done).code, 0, first.stderr.join("\n"));
    assert.equal(savedStep(state), 2);

    // Room for the index of the -wal (32 KiB) and the 28 KiB file, not for the file's growth
    // over half an hour of saves (each folded into the file at once).
    const limited = await validatorWithFileLimit(40, savingRun(state, "30m"));
    assert.equal(limited.code, 1, limited.stderr);
    assert.match(
      limited.stderr,
      new RegExp(
        `ALERT state-save: cannot write the state file ${state}: disk I/O error; the unsaved ` +
          "rounds are kept in memory",
      ),
    );
    assert.match(limited.stderr, /stopped; the last state save failed \(see the alert above\)\n$/);
    assert.doesNotMatch(limited.stderr, /Uncaught| {4}at /);
    // The run went on to the end of its half hour all the same.
    assert.match(limited.stderr, /simulation 1 \(seed 2\) ended/);
    const kept = savedStep(state);
    assert.ok(kept !== null && kept >= 2 && kept < 2 + 360, `saved step ${kept}`);

    const again = startValidator(savingRun(state, "30m"));
    assert.equal((await again.done).code, 0, again.stderr.join("\n"));
    assert.equal(savedStep(state), 2 + 360);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a state file under a --logging.logging_dir that cannot hold it names the flags", async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-logging-dir-"));
  try {
    const file = join(dir, "a-file");
    Deno.writeTextFileSync(file, "");
    const args = noMinerRun(join(dir, "unused.db"));
    const withoutState = args.filter((a, i) => a !== "--state" && args[i - 1] !== "--state");
    const run = startValidator([...withoutState, "--logging.logging_dir", join(file, "logs")]);
    assert.equal((await run.done).code, 2);
    // It names the flags that chose the path, not --state, which was not given.
    assert.ok(
      run.stderr.some((l) =>
        l.startsWith(
          "taos validator: default state file (from --logging.logging_dir, the --hotkey-uri " +
            `address): ${join(file, "logs")}/`,
        ) && /\/state\.db cannot be created: /.test(l)
      ),
      run.stderr.join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name: "a deleted state that cannot be written again leaves no part of a copy in its place",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-state-rewrite-"));
  const state = join(dir, "state.db");
  try {
    // A state of about 200 KiB: instructions at seeded prices, which compress poorly.
    let seed = 79;
    const price = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 21474836.48;
    const store = ValidatorStore.open(state);
    store.save(
      {
        simulation: { index: 0, seed: 1, publishes: 400, timestamp: 400 * 5e9 },
        step: 400,
        hotkeys: {},
        scores: {},
        scoring: null,
        pendingResets: [],
        lastWeightsAt: null,
      },
      Array.from({ length: 400 }, (_, i) => ({
        simulation: 0,
        publish: i + 1,
        agentId: 0,
        delayNs: 0,
        instructions: Array.from({ length: 20 }, () => ({
          type: "PLACE_ORDER_LIMIT" as const,
          bookId: 0,
          direction: 0 as const,
          volume: 1,
          price: price(),
        })),
      })),
    );
    store.close();
    assert.ok(statSync(state).size > 160 * 1024, `${statSync(state).size} bytes`);

    // Room for the index of the -wal (32 KiB), not for a whole copy of the state.
    const run = await withFileLimit(96, [state], "./fixtures/state_rewriter.ts");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^save 1: disk I\/O error$/m);
    assert.match(run.stdout, /^save 2: disk I\/O error$/m);
    // A cut copy at the path would be taken for a new state (its scores lost) at the next
    // start, and for another file at the next save (the state then written beside it).
    assert.deepEqual(
      readdirSync(dir).filter((name) => !/-(lock|wal)$/.test(name)),
      [],
      "nothing where the state was",
    );
    // The deleted file's log, which its connection leaves at the path, holds no failed save.
    assert.ok(!existsSync(`${state}-wal`) || statSync(`${state}-wal`).size === 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
