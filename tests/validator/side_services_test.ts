/**
 * The publish round when a side service fails: the metrics report, the state file and PagerDuty.
 * The round goes on, each failure is told once, the validator recovers with the service, and the
 * bookkeeping (query counts, saved state) stays right. Real SimEngine, real miners' axons on
 * loopback, real files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type SimConfig, smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { Axon } from "../../bittensor/axon.ts";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import { encodeResponse, MarketSimulationStateUpdate } from "../../bittensor/market_synapse.ts";
import { type Neuron, StaticNeuronDirectory } from "../../bittensor/neurons.ts";
import { parseValidatorArgs } from "../../validator/options.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { neuronInfoLabels, type ReportInput, ValidatorMetrics } from "../../validator/metrics.ts";
import { simulationConfigFor } from "../../agents/sdk/state.ts";
import { DendriteMinerClient } from "../../validator/miner_client.ts";
import { Alerter } from "../../validator/pagerduty.ts";
import { Validator, type ValidatorDeps } from "../../validator/validator.ts";
import { loggingAlerter, quietParts } from "./quiet_parts.ts";
import { minerGaugeValue } from "./metrics_reports.ts";
import { until } from "../until.ts";
import { noMinerRun } from "./processes.ts";

await cryptoReady();

const VALIDATOR = Keypair.fromUri("//Validator");

/** Two miners' axons on loopback, each answering every state update with a market buy of 1. */
async function answeringMiners(): Promise<{ neurons: Neuron[]; stop: () => Promise<void> }> {
  const axons: Axon[] = [];
  const neurons: Neuron[] = [];
  for (const uid of [0, 1]) {
    const keypair = Keypair.fromUri(`//Miner${uid}`);
    const axon = new Axon({ keypair, port: 0, host: "127.0.0.1", requireSignature: true });
    axon.attach(MarketSimulationStateUpdate, {
      forward: (synapse) =>
        encodeResponse(synapse.fields, {
          agent_id: uid,
          instructions: [{
            type: "PLACE_ORDER_MARKET",
            agentId: uid,
            bookId: 0,
            direction: 0,
            quantity: 1,
            clientOrderId: null,
          }],
        }),
    });
    const port = await axon.start();
    axons.push(axon);
    neurons.push({
      uid,
      hotkey: keypair.ss58Address,
      coldkey: "",
      stake: 0,
      validatorPermit: false,
      axon: { ip: "127.0.0.1", port, ipType: 4, protocol: 4, version: 0 },
      lastUpdate: 0,
    });
  }
  return { neurons, stop: async () => void await Promise.all(axons.map((a) => a.stop())) };
}

/**
 * A local validator of the small market (an hour: 720 publishes) querying `neurons` over the real
 * dendrite, the state saved after every round; `parts` replaces the quiet parts.
 */
function validatorOf(neurons: Neuron[], store: ValidatorStore, parts: Partial<ValidatorDeps>) {
  return new Validator({
    options: {
      ...parseValidatorArgs(["--local", "--neuron.weights_interval", "0", "-t", "5"]),
      saveIntervalSeconds: 0,
    },
    config: { ...smallPreset(), duration: 3600e9 },
    createMarket: (c, seed) => SimEngine.create({ config: c, seed, threads: 1 }),
    directory: new StaticNeuronDirectory(neurons),
    client: new DendriteMinerClient(new Dendrite(VALIDATOR)),
    store,
    ...quietParts(),
    hotkey: VALIDATOR.ss58Address,
    ...parts,
  });
}

/** Metrics whose report fails at the calls numbered in `failing` (1 = the first publish's). */
class FailingReports extends ValidatorMetrics {
  calls = 0;
  constructor(readonly failing: Set<number>) {
    super({ wallet: VALIDATOR.ss58Address, netuid: "local", info: {} });
  }
  override report(input: ReportInput): void {
    if (this.failing.has(++this.calls)) throw new Error(`report ${this.calls} refused`);
    super.report(input);
  }
}

Deno.test({
  name:
    "a metrics report failing at a query-count publish still starts the next 100 publishes' counts afresh",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const miners = await answeringMiners();
  const store = ValidatorStore.open(":memory:");
  const lines: string[] = [];
  // The counts are handed over at publishes 100, 200, ...: the one at 100 fails.
  const metrics = new FailingReports(new Set([100]));
  const validator = validatorOf(miners.neurons, store, {
    metrics,
    alerts: loggingAlerter(lines),
  });
  try {
    await validator.start();
    for (let i = 0; i < 200; i++) await validator.round();
    assert.deepEqual(lines, [
      "ALERT metrics: metrics report failed: report 100 refused",
      "RESOLVED metrics",
    ]);
    const text = await metrics.registry.metrics();
    for (const uid of [0, 1]) {
      assert.equal(minerGaugeValue(text, uid, "requests"), "100", `uid ${uid}'s requests`);
      assert.equal(minerGaugeValue(text, uid, "success"), "100", `uid ${uid}'s successes`);
    }
  } finally {
    validator.close();
    store.close();
    await miners.stop();
  }
});

Deno.test({
  name:
    "the query counts are handed over at the 100th publish, as the reference's at 100 intervals",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const miners = await answeringMiners();
  const store = ValidatorStore.open(":memory:");
  const metrics = new FailingReports(new Set());
  const validator = validatorOf(miners.neurons, store, { metrics });
  try {
    await validator.start();
    for (let i = 0; i < 99; i++) await validator.round();
    assert.equal(minerGaugeValue(await metrics.registry.metrics(), 0, "requests"), undefined);
    await validator.round();
    const text = await metrics.registry.metrics();
    for (const uid of [0, 1]) {
      assert.equal(minerGaugeValue(text, uid, "requests"), "100", `uid ${uid}'s requests`);
    }
  } finally {
    validator.close();
    store.close();
    await miners.stop();
  }
});

/** What a store at `path` holds: the saved step, publishes and injections per publish. */
function savedAt(path: string) {
  const store = ValidatorStore.open(path);
  try {
    const saved = store.load()!;
    const perPublish = new Map<number, number>();
    for (const i of saved.injections) {
      perPublish.set(i.publish, (perPublish.get(i.publish) ?? 0) + 1);
    }
    return {
      step: saved.snapshot.step,
      publishes: saved.snapshot.simulation.publishes,
      perPublish: [...perPublish.values()],
    };
  } finally {
    store.close();
  }
}

/**
 * Takes the state file's directory away and puts a plain file in its place (`break`), as an
 * unmounted or removed volume leaves it, and gives an empty directory back (`mend`).
 */
function vanishingDirectory(dir: string) {
  return {
    break() {
      Deno.renameSync(dir, `${dir}.gone-${crypto.randomUUID()}`);
      Deno.writeTextFileSync(dir, "");
    },
    mend() {
      Deno.removeSync(dir);
      Deno.mkdirSync(dir);
    },
  };
}

/**
 * Runs `body` with a validator (two answering miners) that saves to a state file in a directory
 * `volume` can take away, its alerts' lines in `lines`; `close` closes the validator and its store
 * before the saved file is read (and is done anyway at the end).
 */
async function withVanishingState(
  body: (run: {
    validator: ReturnType<typeof validatorOf>;
    path: string;
    lines: string[];
    volume: ReturnType<typeof vanishingDirectory>;
    close: () => void;
  }) => Promise<void>,
): Promise<void> {
  const root = Deno.makeTempDirSync({ prefix: "taos-side-" });
  const dir = join(root, "state");
  Deno.mkdirSync(dir);
  const path = join(dir, "state.db");
  const miners = await answeringMiners();
  const store = ValidatorStore.open(path);
  const lines: string[] = [];
  const alerts = new Alerter({ routingKey: null, source: "t", log: (l) => void lines.push(l) });
  const validator = validatorOf(miners.neurons, store, { alerts });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    validator.close();
    store.close();
  };
  try {
    await body({ validator, path, lines, volume: vanishingDirectory(dir), close });
  } finally {
    close();
    await miners.stop();
    Deno.removeSync(root, { recursive: true });
  }
}

Deno.test({
  name:
    "state saves failing for many rounds: the round goes on, one alert, and the state is whole once saves work again",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await withVanishingState(async ({ validator, path, lines, volume, close }) => {
    await validator.start();
    for (let i = 0; i < 5; i++) await validator.round();
    volume.break();
    for (let i = 0; i < 40; i++) await validator.round();
    assert.equal(validator.saved, false);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /^ALERT state-save: cannot write the state file /);
    volume.mend();
    await validator.round();
    await validator.round();
    assert.equal(validator.saved, true);
    assert.equal(lines.at(-1), "RESOLVED state-save");
    assert.equal(lines.length, 2, lines.join("\n"));
    close();
    const saved = savedAt(path);
    assert.equal(saved.step, 47);
    assert.equal(saved.publishes, 47);
    // Each publish's two replies are logged, the rounds that could not be saved included.
    assert.deepEqual(saved.perPublish, new Array(47).fill(2));
  });
});

Deno.test({
  name: "a state directory gone at every other round's save costs no round's injections; one alert",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await withVanishingState(async ({ validator, path, lines, volume, close }) => {
    await validator.start();
    for (let i = 0; i < 20; i++) {
      volume.break();
      await validator.round();
      volume.mend();
      await validator.round();
    }
    // Each failure leaves the alert open; each save that works writes the state again, which
    // the alert tells (counted, as it is open), so no round resolves it.
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /^ALERT state-save: cannot write the state file /);
    close();
    const saved = savedAt(path);
    assert.equal(saved.step, 40);
    assert.deepEqual(saved.perPublish, new Array(40).fill(2));
  });
});

/** Metrics that fail to take the simulations numbered in `failing` (1 = the first). */
class FailingSimulations extends ValidatorMetrics {
  simulations = 0;
  constructor(readonly failing: Set<number>, config: SimConfig) {
    const identity = {
      uid: null,
      network: "local",
      coldkey: null,
      coldkeyName: "",
      hotkey: VALIDATOR.ss58Address,
      name: "",
    };
    const info = neuronInfoLabels(identity, simulationConfigFor(config), config.seed);
    super({ wallet: VALIDATOR.ss58Address, netuid: "local", info });
  }
  /** The calls in order: `switch <seed>` for each simulation taken, `report` for each report. */
  calls: string[] = [];
  override newSimulation(simulation: Record<string, unknown>, seed: number): void {
    if (this.failing.has(++this.simulations)) throw new Error(`seed ${seed} refused`);
    super.newSimulation(simulation, seed);
    this.calls.push(`switch ${seed}`);
  }
  override report(input: ReportInput): void {
    super.report(input);
    this.calls.push("report");
  }
  /** The seed `neuron_info` shows. */
  async seed(): Promise<string | undefined> {
    const text = await this.registry.metrics();
    return /^neuron_info_info\{.*simulation_seed="(\d+)"/m.exec(text)?.[1];
  }
}

Deno.test({
  name:
    "metrics that cannot take a new simulation neither abandon it nor stop the validator, and take it at the next report",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const miners = await answeringMiners();
  const store = ValidatorStore.open(":memory:");
  const lines: string[] = [];
  // 12 publishes a simulation.
  const config = { ...smallPreset(), duration: 60e9, seed: 1 };
  const metrics = new FailingSimulations(new Set([2]), config);
  const validator = new Validator({
    options: {
      ...parseValidatorArgs(["--local", "--simulations", "3", "-t", "5"]),
      saveIntervalSeconds: 0,
    },
    config,
    createMarket: (c, seed) => SimEngine.create({ config: c, seed, threads: 1 }),
    directory: new StaticNeuronDirectory(miners.neurons),
    client: new DendriteMinerClient(new Dendrite(VALIDATOR)),
    store,
    ...quietParts(),
    hotkey: VALIDATOR.ss58Address,
    alerts: new Alerter({ routingKey: null, source: "t", log: (l) => void lines.push(l) }),
    metrics,
  });
  try {
    await validator.start();
    // The first simulation's 12 publishes; the metrics refuse the second (seed 2) as it opens.
    for (let i = 0; i < 12; i++) await validator.round();
    assert.equal(await metrics.seed(), "1");
    assert.deepEqual(lines, [
      "ALERT metrics: metrics not switched to the new simulation (seed 2): seed 2 refused",
    ]);
    metrics.calls.length = 0;
    await validator.round();
    assert.equal(await metrics.seed(), "2", "taken at the first report of the simulation");
    // Before that report, which it would otherwise clear (the trades it shows).
    assert.deepEqual(metrics.calls, ["switch 2", "report"]);
    // The switch that failed counts as a failed report: three that work after it resolve it.
    await validator.round();
    assert.deepEqual(lines, [
      "ALERT metrics: metrics not switched to the new simulation (seed 2): seed 2 refused",
    ]);
    await validator.round();
    assert.deepEqual(lines, [
      "ALERT metrics: metrics not switched to the new simulation (seed 2): seed 2 refused",
      "RESOLVED metrics",
    ]);
    await validator.run();
    // Three whole simulations.
    assert.equal(validator.snapshot.step, 36);
    assert.equal(validator.snapshot.simulation.index, 3);
    assert.equal(await metrics.seed(), "3");
    // Never raised again.
    assert.deepEqual(lines, [
      "ALERT metrics: metrics not switched to the new simulation (seed 2): seed 2 refused",
      "RESOLVED metrics",
    ]);
  } finally {
    validator.close();
    store.close();
    await miners.stop();
  }
});

/** A port on loopback with nothing listening (taken and released). */
function closedPort(): number {
  const probe = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

Deno.test({
  name:
    "PagerDuty down: rounds do not wait, each kind's failed delivery is told once, and the events arrive once it is back",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const root = Deno.makeTempDirSync({ prefix: "taos-side-" });
  const dir = join(root, "state");
  Deno.mkdirSync(dir);
  const miners = await answeringMiners();
  const store = ValidatorStore.open(join(dir, "state.db"));
  const port = closedPort();
  const lines: string[] = [];
  const alerts = new Alerter({
    routingKey: "KEY",
    source: "t",
    url: `http://127.0.0.1:${port}/v2/enqueue`,
    log: (line, level) => void lines.push(`${level} ${line}`),
    retryMs: 20,
  });
  const validator = validatorOf(miners.neurons, store, { alerts });
  const volume = vanishingDirectory(dir);
  const received: { event_action: string; dedup_key: string }[] = [];
  let pagerDuty: Deno.HttpServer | null = null;
  try {
    await validator.start();
    volume.break();
    const slowest = { ms: 0 };
    for (let i = 0; i < 60; i++) {
      const started = performance.now();
      await validator.round();
      slowest.ms = Math.max(slowest.ms, performance.now() - started);
      // Retries go out meanwhile (every 20 ms at first, up to 240 ms).
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(slowest.ms < 1000, `slowest round ${slowest.ms} ms`);
    assert.ok(alerts.deliveryFailures > 10, `${alerts.deliveryFailures} failed attempts`);
    const told = lines.filter((l) => !l.startsWith("debug "));
    const failures = told.filter((l) => l.includes("state-save not delivered"));
    assert.equal(failures.length, 1, told.join("\n"));
    assert.match(failures[0], /^error PagerDuty trigger of state-save not delivered/);
    // Every kind's failure is told once, whatever the number of retries.
    const kinds = told.filter((l) => l.includes("not delivered")).map((l) =>
      / of ([a-z-]+) not delivered/.exec(l)![1]
    );
    assert.deepEqual(kinds, [...new Set(kinds)], told.join("\n"));

    pagerDuty = Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
      received.push(await req.json());
      return new Response(JSON.stringify({ status: "success" }), { status: 202 });
    });
    volume.mend();
    for (let i = 0; i < 3; i++) await validator.round();
    await until(() => alerts.undelivered.length === 0, "every event delivered");
    // The trigger, if a retry got it through before the save worked, then the resolve.
    const saves = received.filter((e) => e.dedup_key.endsWith(":state-save"));
    assert.equal(saves.at(-1)?.event_action, "resolve", JSON.stringify(saves));
    assert.deepEqual(alerts.open, []);
  } finally {
    validator.close();
    store.close();
    await miners.stop();
    await pagerDuty?.shutdown();
    await alerts.close(100);
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test({
  name: "a validator whose log cannot be written (a full disk) runs to the end and saves",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "taos-side-" });
  const state = join(dir, "state.db");
  try {
    // /dev/full refuses every write with ENOSPC, as a log file's full disk does.
    const output = await new Deno.Command("bash", {
      args: [
        "-c",
        'exec "$0" run -A main.ts validator "$@" 2>/dev/full',
        Deno.execPath(),
        ...noMinerRun(state, "30m"),
      ],
      cwd: fileURLToPath(new URL("../../", import.meta.url)),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stdout));
    assert.equal(savedAt(state).step, 360, "the half hour's 360 publishes");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Where line `line` of a no-miner validator's debug log stands among its round lines. */
function roundLineIndex(line: string): number | undefined {
  // Each round logs its publish; every 12th (a simulated minute) its progress line before it.
  const publish = / DEBUG +publish (\d+) /.exec(line);
  if (publish) return Number(publish[1]) + Math.floor(Number(publish[1]) / 12);
  const progress = / INFO +simulation \d+ t=.* step (\d+):/.exec(line);
  if (progress) return Number(progress[1]) + Number(progress[1]) / 12 - 1;
  return undefined;
}

Deno.test({
  name: "log lines a full log file refused are counted, and told once the log takes lines again",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "taos-side-" });
  const log = join(dir, "validator.log");
  // A file-size limit stands for the full disk: the log, appended to, is 2000 bytes short of it.
  const limit = 64 * 1024 * 1024;
  Deno.writeTextFileSync(log, "");
  Deno.truncateSync(log, limit - 2000);
  let exited = false;
  let child: Deno.ChildProcess | undefined;
  try {
    child = new Deno.Command("bash", {
      args: [
        "-c",
        `trap '' XFSZ; ulimit -f ${
          limit / 1024
        }; exec "$0" run -A main.ts validator "$@" 2>>"$LOG"`,
        Deno.execPath(),
        ...noMinerRun(join(dir, "state.db"), "1h"),
        "--logging.debug",
      ],
      cwd: fileURLToPath(new URL("../../", import.meta.url)),
      env: { LOG: log },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    child.status.then(() => exited = true);
    // Full: the last line written only in part, every later one refused.
    await until(() => exited || Deno.statSync(log).size === limit, "the log at its limit", 60_000);
    assert.equal(Deno.statSync(log).size, limit, "the log filled before the validator ended");
    const file = Deno.openSync(log);
    const tail = new Uint8Array(2000);
    file.seekSync(limit - 2000, Deno.SeekMode.Start);
    let read = 0;
    while (read < tail.length) read += file.readSync(tail.subarray(read)) ?? tail.length;
    file.close();
    const written = new TextDecoder().decode(tail).split("\n").slice(0, -1);
    // Some rounds go by with their lines refused; then the disk has room again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    Deno.truncateSync(log, 0);
    const status = await child.output();
    assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
    const after = Deno.readTextFileSync(log).split("\n");
    const told = after.filter((line) => line.includes("log lines could not be written"));
    assert.equal(told.length, 1, after.slice(0, 5).join("\n"));
    // With the first line written again; or the second, when the room came back between the
    // attempt to tell the loss and that line.
    const at = after.indexOf(told[0]);
    assert.ok(at <= 1, JSON.stringify(after.slice(0, 3)));
    const [, count, why] = / WARNING +(\d+) log lines could not be written \((.*)\)$/.exec(
      told[0],
    )!;
    assert.match(why, /File too large/);
    // The count is the lines missing between the last written in full and the first after.
    const lastBefore = written.map(roundLineIndex).findLast((i) => i !== undefined)!;
    const firstAfter = after.map(roundLineIndex).find((i) => i !== undefined)!;
    assert.equal(Number(count), firstAfter - lastBefore - 1, `${written.at(-1)}\n${after[0]}`);
  } finally {
    if (!exited) child?.kill();
    await child?.status;
    Deno.removeSync(dir, { recursive: true });
  }
});
