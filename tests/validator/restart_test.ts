import assert from "node:assert/strict";
import { smallPreset } from "../../sim/config.ts";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { ValidatorStore } from "../../validator/store.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import {
  minerFlags,
  noMinerRun,
  oneSmallSimulation,
  startValidator,
  startWalletMiner,
} from "./processes.ts";

Deno.test({
  name:
    "kill -9 in the middle of a simulation, restart: resumes at the saved publish, no score lost",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-restart-"));
  const state = join(dir, "state.db");
  const wallets = join(dir, "wallets");
  await cryptoReady();
  const miner = await startWalletMiner(0, {
    wallets,
    wallet: "miner",
    key: Keypair.fromUri("//Miner0"),
    validator: Keypair.fromUri("//Validator").ss58Address,
    agent: "RandomTakerAgent",
  });
  const args = [
    "--local",
    "--hotkey-uri",
    "//Validator",
    ...minerFlags([miner]),
    ...oneSmallSimulation("5m"),
    "--neuron.save_interval",
    "0",
    "--prometheus.level",
    "OFF",
    "--state",
    state,
  ];
  try {
    const first = startValidator(args);
    await first.waitFor((l) => l.includes(" step 24:"), 120_000, "24 publishes");
    const killed = await first.stop("SIGKILL");
    assert.equal(killed.signal, "SIGKILL");

    const store = ValidatorStore.open(state);
    const saved = store.load();
    store.close();
    assert.ok(saved !== null, "a snapshot survived the kill");
    const atKill = saved.snapshot.step;
    assert.ok(atKill >= 23 && atKill < 60, `saved at step ${atKill}`);
    assert.equal(saved.snapshot.simulation.publishes, atKill);
    assert.ok(saved.snapshot.scores[0] > 0, "the good miner had a score");
    assert.ok(saved.injections.length > 0, "its instructions were logged for the replay");

    const second = startValidator(args);
    const status = await second.done;
    assert.equal(status.code, 0, second.stderr.join("\n"));
    assert.ok(
      second.stderr.some((l) => l.includes(`resuming simulation 0 (seed 1) at publish ${atKill}`)),
      second.stderr.join("\n"),
    );
    assert.ok(
      !second.stderr.some((l) => l.includes("replayed market differs")),
      "the replay rebuilt the same market",
    );
    const reopened = ValidatorStore.open(state);
    const final = reopened.load();
    reopened.close();
    assert.ok(final !== null);
    // 5 simulated minutes at 5 s: 60 publishes in all, none repeated, none lost.
    assert.equal(final.snapshot.step, 60);
    assert.equal(final.snapshot.simulation.index, 1);
    const scoring = final.snapshot.scoring as { miners: { inventory: unknown[] }[] };
    assert.equal(scoring.miners[0].inventory.length, 60, "inventory history spans the restart");
    assert.ok(final.snapshot.scores[0] > 0);
  } finally {
    await miner.child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name:
    "an unreadable state file stops the validator untouched; --neuron.reset discards a damaged " +
    "state but never a file that is not one",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-badstate-"));
  const state = join(dir, "state.db");
  try {
    const store = ValidatorStore.open(state);
    const bad = {
      simulation: { index: -1, seed: 1, publishes: 0, timestamp: 0 },
      step: 5,
      hotkeys: {},
      scores: {},
      scoring: null,
      pendingResets: [],
      lastWeightsAt: null,
    };
    store.save(bad, []);
    store.close();
    const args = noMinerRun(state);
    const unreadable = Deno.readFileSync(state);
    const refused = startValidator(args);
    const status = await refused.done;
    assert.equal(status.code, 2);
    assert.ok(
      refused.stderr.some((l) =>
        /--state: .*state\.db is damaged: state file snapshot is invalid at simulation\.index/
          .test(l) && l.includes("--neuron.reset")
      ),
      refused.stderr.join("\n"),
    );
    assert.deepEqual(Deno.readFileSync(state), unreadable, "the file was left as it was");

    const reset = startValidator([...args, "--neuron.reset"]);
    assert.equal((await reset.done).code, 0, reset.stderr.join("\n"));
    const after = ValidatorStore.open(state);
    assert.equal(after.load()!.snapshot.step, 2, "a fresh run of two publishes");
    after.close();
    const asideFiles = () =>
      readdirSync(dirname(state)).filter((n) => /^state\.db\.damaged-\d+$/.test(n));
    const firstAside = asideFiles();
    assert.equal(firstAside.length, 1, "the unreadable state was moved aside");

    // A state too damaged to open: refused (and paged), and replaced with --neuron.reset.
    const whole = Deno.readFileSync(state);
    assert.ok(whole.length > 8192, `${whole.length} bytes`);
    Deno.writeFileSync(state, whole.subarray(0, 8192));
    const broken = startValidator(args);
    assert.equal((await broken.done).code, 2);
    assert.ok(
      broken.stderr.some((l) =>
        /--state: .*state\.db is damaged: .*\(restore a backup, or --neuron\.reset starts over\)/
          .test(l)
      ),
      broken.stderr.join("\n"),
    );
    const replaced = startValidator([...args, "--neuron.reset"]);
    assert.equal((await replaced.done).code, 0, replaced.stderr.join("\n"));
    const fresh = ValidatorStore.open(state);
    assert.equal(fresh.load()!.snapshot.step, 2);
    fresh.close();
    // The damaged file is kept aside, byte for byte, for recovery by hand.
    const aside = asideFiles().filter((n) => !firstAside.includes(n));
    assert.equal(aside.length, 1, replaced.stderr.join("\n"));
    assert.deepEqual(Deno.readFileSync(join(dirname(state), aside[0])), whole.subarray(0, 8192));
    assert.ok(
      replaced.stderr.some((l) => l.includes(`moved to ${join(dirname(state), aside[0])}`)),
    );

    // A file that is not a SQLite database may be anyone's: never replaced, even with the reset.
    const text = "not a database, only text".repeat(400);
    writeFileSync(state, text);
    for (const extra of [[], ["--neuron.reset"]]) {
      const refusedText = startValidator([...args, ...extra]);
      assert.equal((await refusedText.done).code, 2);
      assert.ok(
        refusedText.stderr.some((l) => /--state: .*state\.db is not a SQLite database$/.test(l)),
        refusedText.stderr.join("\n"),
      );
    }
    assert.equal(Deno.readTextFileSync(state), text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name:
    "a state is its validator's: another hotkey is refused, the file untouched, until it resets",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-owner-"));
  const state = join(dir, "state.db");
  try {
    const first = startValidator(noMinerRun(state));
    assert.equal((await first.done).code, 0, first.stderr.join("\n"));
    const saved = Deno.readFileSync(state);
    const other = noMinerRun(state).map((a) => a === "//Validator" ? "//Other" : a);
    const refused = startValidator(other);
    assert.equal((await refused.done).code, 2);
    const owner = `${Keypair.fromUri("//Validator").ss58Address}@local`;
    const intruder = `${Keypair.fromUri("//Other").ss58Address}@local`;
    assert.ok(
      refused.stderr.some((l) =>
        l.startsWith("taos validator: --state: ") &&
        l.includes(`state.db is the state of validator ${owner}, not of this one (${intruder})`) &&
        l.includes(`--neuron.reset would discard the state of validator ${owner}`)
      ),
      refused.stderr.join("\n"),
    );
    assert.ok(!refused.stderr.some((l) => l.includes("ALERT")), "no page for a wrong --state");
    assert.deepEqual(Deno.readFileSync(state), saved, "the other validator's state is untouched");
    const reset = startValidator([...other, "--neuron.reset"]);
    assert.equal((await reset.done).code, 0, reset.stderr.join("\n"));
    const mine = ValidatorStore.open(state);
    try {
      mine.claim(intruder);
      assert.equal(mine.load()?.snapshot.owner, intruder);
    } finally {
      mine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name: "recorded feeds drive the validator's simulations; a bad feed stops it naming the flag",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-feed-"));
  try {
    const feed = join(dir, "fundamental_seed.csv");
    writeFileSync(feed, "1,95000.12\n2,95001.5\n");
    const broken = join(dir, "broken.csv");
    writeFileSync(broken, "1,95000.12\n2,-3\n");
    const args = noMinerRun(join(dir, "state.db"));
    const run = startValidator([...args, "--fundamental-feed", feed]);
    assert.equal((await run.done).code, 0, run.stderr.join("\n"));
    // Two prices cover 20 s of a 30 s run: the validator says so, as `taos sim` says it, rather
    // than nothing.
    const longer = startValidator([
      ...noMinerRun(join(dir, "longer.db"), "30s"),
      "--fundamental-feed",
      feed,
    ]);
    assert.equal((await longer.done).code, 0, longer.stderr.join("\n"));
    assert.ok(
      longer.stderr.some((l) =>
        /WARNING +--fundamental-feed: 2 prices cover 00:00:20 of the 00:00:30 run/.test(l)
      ),
      longer.stderr.join("\n"),
    );
    assert.ok(!run.stderr.some((l) => l.includes("prices cover")), "a 10 s run is covered");
    const bad = startValidator([...args, "--fundamental-feed", broken]);
    assert.equal((await bad.done).code, 2);
    assert.ok(
      bad.stderr.some((l) => l.includes("--fundamental-feed") && l.includes("line 2")),
      bad.stderr.join("\n"),
    );
    const missing = startValidator([...args, "--external-feed", join(dir, "missing.csv")]);
    assert.equal((await missing.done).code, 2);
    assert.ok(missing.stderr.some((l) => l.includes("--external-feed")), missing.stderr.join("\n"));
    // The reference config's 10 minutes of grace would leave a 5-minute simulation unpublished.
    const graceOnly = startValidator([...args, "--config", "reference", "--duration", "5m"]);
    assert.equal((await graceOnly.done).code, 2);
    assert.ok(
      graceOnly.stderr.some((l) => /--duration: 5m ends before the first publish/.test(l)),
      graceOnly.stderr.join("\n"),
    );
    // 10 s of grace and a step of 5 s: a 15 s run reaches the first publish, so it is accepted.
    const justLongEnough = join(dir, "one_publish.json");
    writeFileSync(
      justLongEnough,
      JSON.stringify({ ...smallPreset(), gracePeriod: 10e9, duration: 15e9 }),
    );
    const oneRun = noMinerRun(join(dir, "one.db"));
    const flagsOnly = oneRun.filter((a, i) =>
      !["--duration", "--config"].includes(a) &&
      !["--duration", "--config"].includes(oneRun[i - 1])
    );
    const onePublish = startValidator([...flagsOnly, "--config", justLongEnough]);
    assert.equal((await onePublish.done).code, 0, onePublish.stderr.join("\n"));
    // The same from the config file's own duration names the file, not the flag.
    const file = join(dir, "grace.json");
    writeFileSync(file, JSON.stringify({ ...smallPreset(), gracePeriod: 600e9, duration: 300e9 }));
    const withoutFlag = args.filter((a, i) => a !== "--duration" && args[i - 1] !== "--duration");
    const configOnly = startValidator([...withoutFlag, "--config", file]);
    assert.equal((await configOnly.done).code, 2);
    assert.ok(
      configOnly.stderr.some((l) =>
        l.includes(`--config ${file}: duration: 5m ends before the first publish`)
      ),
      configOnly.stderr.join("\n"),
    );
    // Given by the reference's spelling, the file is named under that flag, not under --config,
    // which this command line does not have.
    const withoutConfig = withoutFlag.filter((a, i) =>
      a !== "--config" && withoutFlag[i - 1] !== "--config"
    );
    const byAlias = startValidator([...withoutConfig, "--simulation.xml_config", file]);
    assert.equal((await byAlias.done).code, 2);
    assert.ok(
      byAlias.stderr.some((l) =>
        l.includes(`--simulation.xml_config ${file}: duration: 5m ends before the first publish`)
      ),
      byAlias.stderr.join("\n"),
    );
    const unreadable = join(dir, "broken.xml");
    writeFileSync(unreadable, "<Simulation");
    const brokenByAlias = startValidator([...withoutConfig, "--simulation.xml_config", unreadable]);
    assert.equal((await brokenByAlias.done).code, 2);
    assert.ok(
      brokenByAlias.stderr.some((l) => l.includes("--simulation.xml_config: ")),
      brokenByAlias.stderr.join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name:
    "a monitoring port in use stops the validator naming the flag, before any state file is made",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-port-"));
  const taken = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const port = String((taken.addr as Deno.NetAddr).port);
    const args = noMinerRun(join(dir, "state.db"))
      .map((a) => a === "OFF" ? "INFO" : a);
    const validator = startValidator([...args, "--http.host", "127.0.0.1", "-o", port]);
    assert.equal((await validator.done).code, 2, validator.stderr.join("\n"));
    assert.ok(
      validator.stderr.some((l) =>
        l.includes(`-o/--prometheus.port: cannot listen on 127.0.0.1 port ${port}`) &&
        l.includes("in use")
      ),
      validator.stderr.join("\n"),
    );
    assert.deepEqual(readdirSync(dir), [], "no state file is left behind");
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name: "a second validator on a state file in use stops naming the file once, the first goes on",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-inuse-"));
  const state = join(dir, "state.db");
  try {
    // Long enough to be still running when the second one starts (about a minute unqueried).
    const args = noMinerRun(state, "1d");
    const first = startValidator(args);
    try {
      await first.waitFor((l) => l.includes(" step 12:"), 120_000, "12 publishes");
      const second = startValidator(args);
      assert.equal((await second.done).code, 2, second.stderr.join("\n"));
      assert.ok(
        second.stderr.includes(
          `taos validator: --state: ${state} is in use by another process (another validator?)`,
        ),
        second.stderr.join("\n"),
      );
    } finally {
      assert.equal((await first.stop()).code, 0, first.stderr.join("\n"));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name: "a hangup (SIGHUP) stops the validator as SIGTERM does: state saved, exit 0",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-hup-"));
  const state = join(dir, "state.db");
  try {
    const args = noMinerRun(state, "1h");
    const validator = startValidator([...args, "--neuron.save_interval", "3600"]);
    try {
      await validator.waitFor((l) => l.includes(" step 12:"), 120_000, "12 publishes");
    } catch (error) {
      await validator.stop("SIGKILL");
      throw error;
    }
    const status = await validator.stop("SIGHUP");
    assert.equal(status.code, 0, validator.stderr.join("\n"));
    assert.ok(validator.stderr.some((l) => l.includes("state saved")), validator.stderr.join("\n"));
    assert.ok(
      validator.stderr.some((l) => l.includes("SIGHUP: stopping after the current round")),
      validator.stderr.join("\n"),
    );
    const store = ValidatorStore.open(state);
    const saved = store.load();
    store.close();
    assert.ok((saved?.snapshot.step ?? 0) >= 12, "the progress since the last save was kept");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name: "a replay that rebuilds a different market (another feed) is reported, scores kept",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-diverge-"));
  const state = join(dir, "state.db");
  const feed = (name: string, start: number) => {
    const path = join(dir, name);
    writeFileSync(
      path,
      Array.from({ length: 400 }, (_, i) => `${i + 1},${start + (i % 7) * 25}`).join("\n"),
    );
    return path;
  };
  try {
    const args = [
      ...noMinerRun(state, "1h"),
      "--neuron.save_interval",
      "0",
    ];
    const first = startValidator([...args, "--fundamental-feed", feed("a.csv", 300)]);
    try {
      await first.waitFor((l) => l.includes(" step 24:"), 120_000, "24 publishes");
    } finally {
      assert.equal((await first.stop()).code, 0, first.stderr.join("\n"));
    }
    const second = startValidator([...args, "--fundamental-feed", feed("b.csv", 900)]);
    try {
      await second.waitFor(
        (l) => l.includes("the replayed market differs from the one saved"),
        120_000,
        "the divergence report",
      );
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name:
    "a signal repeated while the round waits for a silent miner is answered as already stopping",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await cryptoReady();
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-twice-"));
  // A miner that takes connections and never answers: each round waits its 5 s timeout.
  const silent = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })();
  try {
    const port = (silent.addr as Deno.NetAddr).port;
    const miner = Keypair.fromUri("//Silent").ss58Address;
    const validator = startValidator([
      ...noMinerRun(join(dir, "state.db"), "1h"),
      ...["--miner", `0:${miner}@127.0.0.1:${port}`, "-t", "5"],
    ]);
    try {
      await validator.waitFor((l) => l.includes("uid 0: timeout"), 120_000, "a first round");
    } catch (error) {
      await validator.stop("SIGKILL");
      throw error;
    }
    // The first round ended at its timeout line; the next, paced to real time, starts at once and
    // waits its 5 s: signalled 1.5 s into it, the validator is still waiting for the miner.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    validator.process.kill("SIGINT");
    await validator.waitFor((l) => l.includes("SIGINT: stopping"), 30_000, "the first signal");
    const status = await validator.stop("SIGTERM");
    assert.equal(status.code, 0, validator.stderr.join("\n"));
    assert.ok(
      validator.stderr.some((l) => l.includes("SIGTERM: already stopping after the current round")),
      validator.stderr.join("\n"),
    );
  } finally {
    silent.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
