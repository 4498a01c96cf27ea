import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, renameSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { referenceConfig, smallPreset } from "../../sim/config.ts";
import { type BookEvent, type PublishState, SimEngine } from "../../sim/engine.ts";
import {
  type Neuron,
  RecordingWeightSetter,
  StaticNeuronDirectory,
  type WeightSetter,
} from "../../bittensor/neurons.ts";
import { parseValidatorArgs, pendingCommitsPath } from "../../validator/options.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { Alerter } from "../../validator/pagerduty.ts";
import {
  CpuUsage,
  type MinerScoreDetail,
  neuronInfoLabels,
  pythonFixed,
  pythonFloat,
  ValidatorMetrics,
} from "../../validator/metrics.ts";
import { simulationConfigFor } from "../../agents/sdk/state.ts";
import { StatusBoard, type StatusView } from "../../validator/status.ts";
import { monitoringApp, startMonitoringServer } from "../../validator/server.ts";
import { Validator } from "../../validator/validator.ts";
import { DendriteMinerClient, type MinerClient } from "../../validator/miner_client.ts";
import { Axon } from "../../bittensor/axon.ts";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import { encodeResponse, MarketSimulationStateUpdate } from "../../bittensor/market_synapse.ts";
import { Wallet } from "../../bittensor/wallet.ts";
import { MinerMetrics } from "../../miner/metrics.ts";
import { SubtensorClient } from "../../chain/client.ts";
import { readMetagraph } from "../../chain/subnet.ts";
import { NETUID, startNode } from "../chain/subnet_fixture.ts";
import { oneMinerDirectory } from "./quiet_parts.ts";
import {
  familySeries,
  labelValue,
  minerGaugeValue,
  reportBooks,
  sharpeDetail,
} from "./metrics_reports.ts";
import { startOnForeignState, startValidator } from "./processes.ts";
import { browserTest, launchChromium } from "../browser.ts";
import { until } from "../until.ts";

/** Neurons registered without an axon: scored from their accounts, never queried. */
function silentNeurons(count: number): Neuron[] {
  return Array.from({ length: count }, (_, uid) => ({
    uid,
    hotkey: `5${"C".repeat(46)}${uid}`.slice(0, 48),
    coldkey: "",
    stake: 0,
    validatorPermit: false,
    axon: null,
    lastUpdate: 0,
  }));
}

const noMiners: MinerClient = { query: () => Promise.resolve([]) };

/** A validator over the real small simulation, in this process. */
function validatorFor(options: {
  store: ValidatorStore;
  alerts: Alerter;
  metrics: ValidatorMetrics | null;
  board: StatusBoard;
  weights?: WeightSetter;
  weightsIntervalSeconds?: number;
}) {
  const { weightsIntervalSeconds = 0, ...parts } = options;
  const parsed = parseValidatorArgs([
    "--local",
    "--neuron.weights_interval",
    String(weightsIntervalSeconds),
  ]);
  const config = { ...smallPreset(), duration: 300e9 };
  return new Validator({
    options: { ...parsed, saveIntervalSeconds: 0 },
    config,
    createMarket: (c, seed) => SimEngine.create({ config: c, seed, threads: 1 }),
    directory: new StaticNeuronDirectory([...silentNeurons(config.remoteAgentCount), {
      uid: 4,
      hotkey: "5Validator",
      coldkey: "",
      stake: 1234.5,
      validatorPermit: true,
      axon: null,
      lastUpdate: 99,
    }]),
    weights: new RecordingWeightSetter(),
    client: noMiners,
    hotkey: "5Validator",
    log: () => {},
    ...parts,
  });
}

/** A PagerDuty event as received (loosely typed JSON). */
// deno-lint-ignore no-explicit-any
type PagerDutyEvent = Record<string, any>;

/**
 * Collects PagerDuty events posted to a loopback receiver, answering `status` (changeable) and
 * `reply`; `accepted` are the events it answered with a 2xx.
 */
function pagerDutyReceiver(status = 202, reply = JSON.stringify({ status: "success" })) {
  const receiver = {
    events: [] as PagerDutyEvent[],
    accepted: [] as PagerDutyEvent[],
    status,
    url: "",
    close: () => server.shutdown(),
  };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const event = await req.json();
    receiver.events.push(event);
    if (receiver.status < 300) receiver.accepted.push(event);
    return new Response(reply, { status: receiver.status });
  });
  receiver.url = `http://127.0.0.1:${server.addr.port}/v2/enqueue`;
  return receiver;
}

Deno.test("neuron_info labels: every config field but logDir and fee_policy, and the fee tiers", () => {
  const labels = neuronInfoLabels(
    {
      uid: null,
      network: "local",
      coldkey: null,
      coldkeyName: "taos",
      hotkey: "5Validator",
      name: "validator",
    },
    simulationConfigFor(referenceConfig()),
    7,
  );
  // As the reference's exporter prints them: -1 for an unregistered hotkey, floats as Python.
  assert.equal(labels.uid, "-1");
  assert.equal(labels.coldkey, "");
  assert.equal(labels.simulation_book_count, "20");
  assert.equal(labels.simulation_publish_interval, "5000000000");
  assert.equal(labels.simulation_miner_base_balance, "None");
  assert.equal(labels.simulation_hft_agent_psi, "100.0");
  assert.equal(labels.simulation_init_price, "300.0");
  assert.equal(labels.simulation_logDir, undefined);
  assert.equal(labels.simulation_fee_policy, undefined);
  assert.equal(labels.simulation_fee_policy_type, "tiered");
  assert.equal(labels.simulation_fee_policy_historySlots, "24");
  assert.equal(labels.simulation_fee_policy_tier_0_volume_required, "0.00");
  assert.equal(labels.simulation_fee_policy_tier_0_maker_rate, "0.5000");
  assert.equal(labels.simulation_fee_policy_tier_5_volume_required, "3200000.00");
  assert.equal(labels.simulation_fee_policy_tier_5_taker_rate, "0.0380");
  assert.equal(labels.simulation_seed, "7");
});

Deno.test("neuron_info's fee tiers on /metrics: a value halfway between two printed ones goes to the even one, as Python's format", async () => {
  const simulation = simulationConfigFor(referenceConfig()) as Record<string, unknown>;
  simulation.fee_policy = {
    fee_type: "tiered",
    params: {},
    // 12.125 and 0.03125 (percent) are exact halves at 2 and 4 places; -0.001 prints as -0.00.
    tiers: [
      { volume_required: 12.125, maker_fee: 0.0003125, taker_fee: 0.0009375 },
      { volume_required: 12.375, maker_fee: -0.00000001, taker_fee: 0.00015 },
      { volume_required: 12.625, maker_fee: 0.00015, taker_fee: 0.0003125 },
    ],
  };
  const identity = {
    uid: 1,
    network: "local",
    coldkey: null,
    coldkeyName: "",
    hotkey: "5Validator",
    name: "",
  };
  const metrics = new ValidatorMetrics({
    wallet: "5Validator",
    netuid: 79,
    info: neuronInfoLabels(identity, simulation, 1),
  });
  const server = await startMonitoringServer({
    port: 0,
    hostname: "127.0.0.1",
    metrics,
    board: new StatusBoard(),
  });
  try {
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const info = familySeries(text, "neuron_info_info")[0];
    const tier = (i: number, name: string) =>
      labelValue(info, `simulation_fee_policy_tier_${i}_${name}`);
    // As the reference's f"{volume_required:.2f}" and f"{fee * 100:.4f}" print them.
    assert.deepEqual(
      [tier(0, "volume_required"), tier(0, "maker_rate"), tier(0, "taker_rate")],
      ["12.12", "0.0312", "0.0938"],
    );
    assert.deepEqual(
      [tier(1, "volume_required"), tier(1, "maker_rate"), tier(1, "taker_rate")],
      ["12.38", "-0.0000", "0.0150"],
    );
    assert.deepEqual(
      [tier(2, "volume_required"), tier(2, "maker_rate"), tier(2, "taker_rate")],
      ["12.62", "0.0150", "0.0312"],
    );
  } finally {
    await server.close();
  }
});

Deno.test("neuron_info follows the simulation running, not the one the command line named", async () => {
  const identity = {
    uid: 7,
    network: "local",
    coldkey: null,
    coldkeyName: "owner",
    hotkey: "5Validator",
    name: "validator",
  };
  const named = { ...smallPreset(), books: 3 };
  const metrics = new ValidatorMetrics({
    wallet: "5Validator",
    netuid: 79,
    info: neuronInfoLabels(identity, simulationConfigFor(named), 1),
  });
  const info = async () =>
    (await metrics.registry.metrics()).split("\n").find((line) =>
      line.startsWith("neuron_info_info{")
    )!;
  assert.match(await info(), /simulation_book_count="3"/);
  // A resumed simulation of 2 books with one fee tier fewer: other values and other labels.
  const running = smallPreset();
  running.exchange.fees.tiers = running.exchange.fees.tiers.slice(0, -1);
  metrics.newSimulation(simulationConfigFor(running), 4);
  const line = await info();
  assert.match(line, /simulation_book_count="2"/);
  assert.match(line, /simulation_seed="4"/);
  assert.match(line, /uid="7"/);
  const tiers = running.exchange.fees.tiers.length;
  assert.doesNotMatch(line, new RegExp(`simulation_fee_policy_tier_${tiers}_`));
  assert.equal((await metrics.registry.metrics()).match(/^neuron_info_info\{/gm)?.length, 1);
});

Deno.test("metrics: every family of the spec is served on /metrics with wallet and netuid", async () => {
  const metrics = new ValidatorMetrics({
    wallet: "5Validator",
    netuid: 79,
    info: neuronInfoLabels(
      {
        uid: 7,
        network: "local",
        coldkey: "5Cold",
        coldkeyName: "owner",
        hotkey: "5Validator",
        name: "validator",
      },
      { book_count: 2 },
      1,
    ),
  });
  const board = new StatusBoard();
  const store = ValidatorStore.open(":memory:");
  const alerts = new Alerter({ routingKey: null, source: "taos:validator", log: () => {} });
  const validator = validatorFor({ store, alerts, metrics, board });
  const server = await startMonitoringServer({ port: 0, hostname: "127.0.0.1", metrics, board });
  try {
    await validator.start();
    for (let i = 0; i < 6; i++) await validator.round();
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    for (
      const family of [
        "neuron_info_info",
        "simulation_gauges",
        "validator_gauges",
        "book_gauges",
        "books",
        "agent_gauges",
        "miner_gauges",
        "miners",
        "validator_round_seconds_bucket",
      ]
    ) {
      assert.match(text, new RegExp(`^${family}\\{`, "m"), `${family} is exported`);
    }
    assert.match(text, /^# TYPE counters_total counter$/m);
    assert.match(
      text,
      /simulation_gauges\{simulation_gauge_name="timestamp",wallet="5Validator",netuid="79"\} 30000000000/,
    );
    assert.match(text, /book_gauges\{book_id="0",level="0",book_gauge_name="mid",/);
    assert.match(text, /validator_gauges\{validator_gauge_name="uid",[^}]*\} 4$/m);
    assert.match(text, /validator_gauges\{validator_gauge_name="stake",[^}]*\} 1234\.5$/m);
    assert.match(text, /miner_gauges\{agent_id="3",miner_gauge_name="score",/);
    assert.match(
      text,
      /agent_gauges\{book_id="1",agent_id="0",agent_gauge_name="quote_balance_total",/,
    );
    // The uid the neuron list gives (4), not the one the identity had at the start (7).
    assert.match(
      text,
      /neuron_info_info\{uid="4",network="local",coldkey="5Cold",coldkey_name="owner",hotkey="5Validator",name="validator",[^}]*simulation_book_count="2",[^}]*wallet=/,
    );
    // Per-book PnL adds up to the miner's; the leaderboard rows carry the changes since the
    // previous observation.
    const bookPnl = [0, 1].map((b) =>
      sample(
        text,
        new RegExp(`^agent_gauges\\{book_id="${b}",agent_id="3",agent_gauge_name="pnl",`),
      )
    );
    const minerPnl = sample(text, /^miner_gauges\{agent_id="3",miner_gauge_name="pnl",/)!;
    assert.ok(Math.abs(bookPnl[0]! + bookPnl[1]! - minerPnl) <= 1e-9 * (1 + Math.abs(minerPnl)));
    assert.match(
      text,
      /^miners\{[^}]*agent_id="3",[^}]*,inventory_value_change="-?[\d.e+-]+",pnl="[^"]+",pnl_change="-?[\d.e+-]+",/m,
    );
    // A new simulation's trades only: the last one's leave `trades`.
    for (let i = 0; i < 60 && !/^trades\{/m.test(await metrics.registry.metrics()); i++) {
      await validator.round();
    }
    assert.match(await metrics.registry.metrics(), /^trades\{/m);
    metrics.newSimulation({ book_count: 2 }, 99);
    assert.doesNotMatch(await metrics.registry.metrics(), /^trades\{/m);
  } finally {
    validator.close();
    store.close();
    await server.close();
  }
});

Deno.test("PagerDuty: trigger with a dedup key, one resolve, an earlier run's alert resolved, failures counted", async () => {
  const receiver = pagerDutyReceiver();
  try {
    const lines: string[] = [];
    const alerts = new Alerter({
      routingKey: "R0UTINGKEY",
      source: "taos:validator",
      url: receiver.url,
      log: (line, level) => void lines.push(`${level} ${line}`),
    });
    alerts.trigger("state-save", "disk full", { path: "state.db" });
    alerts.resolve("state-save");
    alerts.resolve("state-save");
    // Healthy for the first time in this process: a previous run may have left it open.
    alerts.resolve("weights");
    alerts.resolve("weights");
    await alerts.settled();
    assert.equal(receiver.events.length, 3);
    assert.deepEqual(lines, ["error ALERT state-save: disk full", "info RESOLVED state-save"]);
    const [trigger, resolve, earlier] = receiver.events;
    assert.deepEqual(earlier, {
      routing_key: "R0UTINGKEY",
      event_action: "resolve",
      dedup_key: "taos:taos:validator:weights",
    });
    assert.equal(trigger.routing_key, "R0UTINGKEY");
    assert.equal(trigger.event_action, "trigger");
    assert.equal(trigger.dedup_key, "taos:taos:validator:state-save");
    assert.equal(trigger.payload.severity, "error");
    assert.equal(trigger.payload.source, "taos:validator:state-save");
    assert.equal(trigger.payload.group, "taos:validator");
    assert.match(trigger.payload.summary, /state-save : disk full/);
    assert.deepEqual(trigger.payload.custom_details, { path: "state.db" });
    assert.deepEqual(resolve, {
      routing_key: "R0UTINGKEY",
      event_action: "resolve",
      dedup_key: "taos:taos:validator:state-save",
    });
    assert.equal(alerts.deliveryFailures, 0);
  } finally {
    await receiver.close();
  }
  const refusing = pagerDutyReceiver(500);
  try {
    const alerts = new Alerter({
      routingKey: "K",
      source: "w:h",
      url: refusing.url,
      log: () => {},
    });
    alerts.trigger("metrics", "x");
    await alerts.settled();
    assert.equal(alerts.deliveryFailures, 1);
    // Short: closing sends it again until its deadline.
    await alerts.close(100);
  } finally {
    await refusing.close();
  }
});

Deno.test("PagerDuty: a validator that cannot write its state file raises the state-save alert", async () => {
  const receiver = pagerDutyReceiver();
  const store = ValidatorStore.open(":memory:");
  const alerts = new Alerter({
    routingKey: "KEY",
    source: "taos:validator",
    url: receiver.url,
    log: () => {},
  });
  const validator = validatorFor({ store, alerts, metrics: null, board: new StatusBoard() });
  try {
    await validator.start();
    store.close();
    await validator.round();
    // Only this kind's events: others are resolved once as the validator finds them healthy.
    const saves = () => receiver.events.filter((e) => e.dedup_key.endsWith(":state-save"));
    // The alert is sent in the background; give it a moment to arrive.
    for (let i = 0; i < 50 && saves().length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const event = saves()[0];
    assert.equal(event.event_action, "trigger");
    assert.equal(event.dedup_key, "taos:taos:validator:state-save");
    assert.match(
      event.payload.summary,
      /cannot write the state file :memory:: .*; the unsaved rounds are kept in memory and the save is retried after every round \(check the free space/,
    );
    assert.doesNotMatch(event.payload.summary, /rollback/, "the original error, not ROLLBACK's");
    assert.equal(validator.saved, false);
    // Later failures within the repeat period are counted, not paged again.
    for (let i = 0; i < 3; i++) await validator.round();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(saves().length, 1);
  } finally {
    validator.close();
    await receiver.close();
  }
});

Deno.test("a state file replaced while the validator runs keeps the state-save alert raised", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "taos-replaced-" });
  const path = join(dir, "state.db");
  const lines: string[] = [];
  const alerts = new Alerter({
    routingKey: null,
    source: "taos:validator",
    log: (line, level) => void lines.push(`${level} ${line}`),
  });
  const store = ValidatorStore.open(path);
  const validator = validatorFor({ store, alerts, metrics: null, board: new StatusBoard() });
  try {
    await validator.start();
    await validator.round();
    const other = join(dir, "other.db");
    new DatabaseSync(other).close();
    renameSync(other, path);
    await validator.round();
    await validator.round();
    await alerts.settled();
    const saves = lines.filter((line) => line.includes("state-save"));
    assert.equal(saves.length, 1, saves.join("\n"));
    assert.match(saves[0], /^error ALERT state-save: the state file was replaced by another file/);
    assert.match(store.path, /state\.db\.recovered-\d+$/);
  } finally {
    validator.close();
    store.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

browserTest(
  "status page: clock, one price chart per book and the leaderboard render in Chromium",
  async () => {
    const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
    const board = new StatusBoard();
    const store = ValidatorStore.open(":memory:");
    const alerts = new Alerter({ routingKey: null, source: "taos:validator", log: () => {} });
    const validator = validatorFor({ store, alerts, metrics, board });
    const server = await startMonitoringServer({ port: 0, hostname: "127.0.0.1", metrics, board });
    const browser = await launchChromium();
    try {
      await validator.start();
      for (let i = 0; i < 12; i++) await validator.round();
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.port}/`);
      await page.locator('body[data-updated="12"]').waitFor();
      assert.equal(await page.textContent("#clock"), "00:01:00");
      assert.equal(await page.locator(".book svg path").count(), 2, "one chart per book");
      const price = Number(await page.textContent('.book[data-book="0"] .price'));
      assert.ok(price > 100 && price < 1000, `book 0 price ${price}`);
      assert.equal(await page.locator("#leaderboard tbody tr").count(), 4);
      for (let i = 0; i < 12; i++) await validator.round();
      await page.locator('body[data-updated="24"]').waitFor();
      assert.equal(await page.textContent("#clock"), "00:02:00");
    } finally {
      await browser.close();
      validator.close();
      store.close();
      await server.close();
    }
  },
);

Deno.test({
  name: "PagerDuty: no miner answering for a simulated minute pages; an answer resolves it",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await cryptoReady();
  // A port with nothing listening yet: take a free one and release it.
  const probe = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const minerKey = Keypair.fromUri("//Unreachable");
  const receiver = pagerDutyReceiver();
  const store = ValidatorStore.open(":memory:");
  const config = { ...smallPreset(), duration: 300e9 };
  const alerts = new Alerter({
    routingKey: "KEY",
    source: "w:h",
    url: receiver.url,
    log: () => {},
  });
  const validator = new Validator({
    options: { ...parseValidatorArgs(["--local", "-t", "5"]), saveIntervalSeconds: 3600 },
    config,
    createMarket: (c, seed) => SimEngine.create({ config: c, seed, threads: 1 }),
    directory: oneMinerDirectory(minerKey.ss58Address, port),
    weights: new RecordingWeightSetter(),
    client: new DendriteMinerClient(new Dendrite(Keypair.fromUri("//Validator"))),
    store,
    alerts,
    metrics: null,
    board: new StatusBoard(),
    hotkey: Keypair.fromUri("//Validator").ss58Address,
    log: () => {},
  });
  const axon = new Axon({ keypair: minerKey, port, host: "127.0.0.1", requireSignature: true });
  axon.attach(MarketSimulationStateUpdate, {
    forward: (synapse) => encodeResponse(synapse.fields, { agent_id: 0, instructions: [] }),
  });
  // Only this kind's events: others are resolved once as the validator finds them healthy.
  const pages = () => receiver.events.filter((e) => e.dedup_key.endsWith(":miners-unreachable"));
  try {
    await validator.start();
    for (let i = 0; i < 11; i++) await validator.round();
    await alerts.settled();
    assert.equal(pages().length, 0, "no page before a simulated minute of silence");
    await validator.round();
    await alerts.settled();
    assert.equal(pages().length, 1);
    const trigger = pages()[0];
    assert.equal(trigger.event_action, "trigger");
    assert.equal(trigger.dedup_key, "taos:w:h:miners-unreachable");
    await axon.start();
    await validator.round();
    await alerts.settled();
    assert.equal(validator.lastAnswered, 1);
    assert.equal(pages().length, 2);
    assert.deepEqual(pages()[1], {
      routing_key: "KEY",
      event_action: "resolve",
      dedup_key: "taos:w:h:miners-unreachable",
    });
  } finally {
    await axon.stop();
    validator.close();
    store.close();
    await receiver.close();
  }
});

Deno.test("PagerDuty: an open alert recurring within the repeat period is counted, then reported with its count", async () => {
  const lines: string[] = [];
  const alerts = new Alerter({
    routingKey: null,
    source: "w:h",
    log: (l) => void lines.push(l),
    repeatMs: 50,
  });
  alerts.trigger("weights", "refused");
  alerts.trigger("weights", "refused");
  alerts.trigger("weights", "refused");
  assert.deepEqual(lines, ["ALERT weights: refused"]);
  await new Promise((r) => setTimeout(r, 60));
  alerts.trigger("weights", "refused");
  assert.equal(lines[1], "ALERT weights: refused (recurred 2 times since last reported)");
  alerts.resolve("weights");
  alerts.trigger("weights", "refused again");
  assert.deepEqual(lines.slice(2), ["RESOLVED weights", "ALERT weights: refused again"]);
  // A single recurrence is reported too; a repeat with none since says nothing of recurring.
  alerts.trigger("weights", "refused again");
  await new Promise((r) => setTimeout(r, 60));
  alerts.trigger("weights", "refused again");
  await new Promise((r) => setTimeout(r, 60));
  alerts.trigger("weights", "refused again");
  assert.deepEqual(lines.slice(4), [
    "ALERT weights: refused again (recurred 1 times since last reported)",
    "ALERT weights: refused again",
  ]);
});

/** Runs `rounds` publish rounds with `weights`, waiting for each submission; returns the alert
 * lines and the submissions counted by result (sorted). */
async function weightRounds(weights: WeightSetter, rounds: number, weightsIntervalSeconds = 0) {
  const lines: string[] = [];
  const store = ValidatorStore.open(":memory:");
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
  const validator = validatorFor({
    store,
    alerts: new Alerter({ routingKey: null, source: "w:h", log: (l) => void lines.push(l) }),
    metrics,
    board: new StatusBoard(),
    weights,
    weightsIntervalSeconds,
  });
  try {
    await validator.start();
    for (let i = 0; i < rounds; i++) {
      await validator.round();
      await validator.settled();
    }
    const counted = (await metrics.weightSubmissions.get()).values
      .map((v) => [v.labels.result, v.value]).sort();
    return { alerts: lines.filter((l) => l.startsWith("ALERT weights")), counted };
  } finally {
    validator.close();
    store.close();
  }
}

/** A chain that refuses every weight submission (as a node does when it rejects the extrinsic). */
const refusing: WeightSetter = {
  setWeights: () => Promise.resolve({ accepted: false, message: "NeuronNoValidatorPermit" }),
};

Deno.test("weights refused three times in a row raise the weights alert", async () => {
  assert.deepEqual((await weightRounds(refusing, 2)).alerts, []);
  const three = await weightRounds(refusing, 3);
  assert.deepEqual(three.alerts, [
    "ALERT weights: weights not set 3 times in a row: NeuronNoValidatorPermit",
  ]);
  assert.deepEqual(three.counted, [["refused", 3]]);
});

Deno.test("weights that could not reach the chain count as failed, and alert as refusals do", async () => {
  // A node that cannot be reached is no refusal: it counts under `failed`, not `refused`.
  const unreachable: WeightSetter = {
    setWeights: () =>
      Promise.resolve({ accepted: false, message: "cannot read the chain: closed", failed: true }),
  };
  const three = await weightRounds(unreachable, 3);
  assert.deepEqual(three.alerts, [
    "ALERT weights: weights not set 3 times in a row: cannot read the chain: closed",
  ]);
  assert.deepEqual(three.counted, [["failed", 3]]);
});

Deno.test("submissions the weights rate limit defers neither count as refusals nor raise the alert", async () => {
  const deferring: WeightSetter = {
    setWeights: () => Promise.resolve({ accepted: false, message: "rate limited", deferred: true }),
  };
  const run = await weightRounds(deferring, 5);
  assert.deepEqual(run.alerts, []);
  assert.deepEqual(run.counted, [["deferred", 5]]);
});

Deno.test("with commit-reveal, commits whose reveals keep failing raise the weights alert", async () => {
  // Every commit lands, and the reveal of the previous one is given up.
  const run = await weightRounds({
    setWeights: () =>
      Promise.resolve({
        accepted: true,
        committed: "hash",
        message: "commit_weights",
        reveals: [{ accepted: false, message: "commit expired unrevealed" }],
      }),
  }, 3);
  assert.deepEqual(run.alerts, [
    "ALERT weights: weights not set 3 times in a row: commit expired unrevealed",
  ]);
  assert.deepEqual(run.counted, [["committed", 3], ["refused", 3]]);
});

Deno.test("timelocked commits count as weights set: they end a run of refusals", async () => {
  // Two refusals, then a timelocked commit (the chain reveals it), then two more refusals: never
  // three in a row, so no alert; a hash commit in its place would have let the third refusal page.
  let call = 0;
  const run = await weightRounds({
    setWeights: () =>
      Promise.resolve(
        ++call === 3
          ? { accepted: true, committed: "timelock", message: "commit_timelocked_weights" }
          : { accepted: false, message: "node busy" },
      ),
  }, 5);
  assert.deepEqual(run.alerts, []);
  assert.deepEqual(run.counted, [["committed", 1], ["refused", 4]]);
});

Deno.test("between weight settings further apart than a minute, due reveals are sent", async () => {
  let sets = 0;
  let revealChecks = 0;
  const run = await weightRounds(
    {
      setWeights: () => {
        sets++;
        return Promise.resolve({ accepted: true, committed: "hash", message: "commit_weights" });
      },
      revealDue: () => {
        revealChecks++;
        return Promise.resolve([{ accepted: true, message: "reveal_weights" }]);
      },
    },
    4,
    3600,
  );
  assert.equal(sets, 1, "one setting per hour");
  assert.equal(revealChecks, 1, "one reveal check per minute in between");
  assert.deepEqual(run.counted, [["committed", 1], ["revealed", 1]]);
});

Deno.test("neuron_info shows the running simulation's seed; disk usage is the state file's file system", async () => {
  const dir = await Deno.makeTempDir();
  const store = ValidatorStore.open(`${dir}/state.db`);
  const alerts = new Alerter({ routingKey: null, source: "w:h", log: () => {} });
  const metrics = new ValidatorMetrics({
    wallet: "5Validator",
    netuid: 79,
    info: { uid: "4", simulation_seed: "999" },
  });
  const validator = validatorFor({ store, alerts, metrics, board: new StatusBoard() });
  try {
    await validator.start();
    await validator.round();
    const text = await metrics.registry.metrics();
    const seed = smallPreset().seed;
    assert.match(text, new RegExp(`neuron_info_info\\{uid="4",[^}]*simulation_seed="${seed}"`));
    assert.doesNotMatch(text, /simulation_seed="999"/, "the old seed's series is gone");
    const disk = /validator_gauges\{validator_gauge_name="disk_usage_percent"[^}]*\} ([\d.e+-]+)/
      .exec(text);
    assert.ok(disk !== null, "disk usage exported");
    // df counts the same way (blocks reserved for root left out) and rounds up to a whole percent.
    const df = new Deno.Command("df", { args: ["--output=pcent", dir], stdout: "piped" })
      .outputSync();
    const percent = Number(/(\d+)%/.exec(new TextDecoder().decode(df.stdout))![1]);
    assert.ok(Math.abs(Number(disk[1]) - percent) <= 1, `${disk[1]} against df's ${percent}%`);
    const ram = /validator_gauges\{validator_gauge_name="ram_usage_percent"[^}]*\} ([\d.e+-]+)/
      .exec(text);
    assert.ok(ram !== null, "RAM usage exported");
    // Like psutil's virtual_memory().percent, a tenth of a percent at most.
    assert.match(ram[1], /^\d{1,3}(\.\d)?$/);
    assert.ok(Number(ram[1]) > 0 && Number(ram[1]) < 100, ram[1]);
  } finally {
    validator.close();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A local validator of one miner (uid 0, served at port 9) over `store`, on a 300 s small market. */
function oneMinerValidator(client: MinerClient, store: ValidatorStore, alerts: Alerter): Validator {
  return new Validator({
    options: { ...parseValidatorArgs(["--local"]), saveIntervalSeconds: 3600 },
    config: { ...smallPreset(), duration: 300e9 },
    createMarket: (c, seed) => SimEngine.create({ config: c, seed, threads: 1 }),
    directory: oneMinerDirectory("5Miner", 9),
    weights: new RecordingWeightSetter(),
    client,
    store,
    alerts,
    metrics: null,
    board: new StatusBoard(),
    hotkey: "5Validator",
    log: () => {},
  });
}

Deno.test("scrapes within a second share one rendering of /metrics; a later one sees new values", async () => {
  const alerts = new Alerter({ routingKey: null, source: "w:h", log: () => {}, repeatMs: 0 });
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {}, alerts });
  const app = monitoringApp(metrics, new StatusBoard());
  const scrape = async () => await (await app.request("/metrics")).text();
  const count = (text: string) => /alerts_total\{[^}]*kind="weights"[^}]*\} (\d+)/.exec(text)?.[1];
  alerts.trigger("weights", "refused");
  const first = await scrape();
  alerts.trigger("weights", "refused");
  assert.equal(await scrape(), first, "a flood of scrapes costs one rendering");
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const later = await scrape();
  assert.equal(count(first), "1");
  assert.equal(count(later), "2");
});

Deno.test("every response forbids sniffing and framing; the page may run only its own script and style", async () => {
  // Every response carries these headers, the data's as well as the page's.
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
  const server = await startMonitoringServer({
    port: 0,
    hostname: "127.0.0.1",
    metrics,
    board: new StatusBoard(),
  });
  try {
    // With sniffing off, a type a client goes by must be the right one; other paths are not found.
    for (
      const [path, status, type] of [
        ["/", 200, "text/html; charset=UTF-8"],
        ["/status.json", 200, "application/json"],
        ["/metrics", 200, metrics.registry.contentType],
        ["/missing", 404, "text/plain; charset=UTF-8"],
      ] as const
    ) {
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
      await response.body?.cancel();
      assert.equal(response.status, status, path);
      assert.equal(response.headers.get("content-type"), type, path);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
      assert.equal(response.headers.get("x-frame-options"), "DENY", path);
    }
    // The server's own answer to a target that is no path (`*`) carries them as well.
    const star = await rawExchange(
      server.port,
      "OPTIONS * HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert.match(star, /^HTTP\/1\.1 400 /, star.slice(0, 80));
    assert.match(star, /\r\nx-content-type-options: nosniff\r\n/i);
    assert.match(star, /\r\nx-frame-options: DENY\r\n/i);
  } finally {
    await server.close();
  }
  const app = monitoringApp(metrics, new StatusBoard());
  const page = await app.request("/");
  const html = await page.text();
  const policy = page.headers.get("content-security-policy") ?? "";
  const digest = (text: string) => createHash("sha256").update(text).digest("base64");
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
  assert.equal(
    policy,
    `default-src 'none'; script-src 'sha256-${digest(script)}'; style-src 'sha256-${
      digest(style)
    }'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; ` +
      "frame-ancestors 'none'",
  );
});

Deno.test({
  name:
    "PagerDuty: a validator whose hotkey comes from a URI keys its alerts by the hotkey address",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await cryptoReady();
  const receiver = pagerDutyReceiver();
  const dir = Deno.makeTempDirSync();
  try {
    // Another program's database: the validator refuses it and pages state-load.
    const validator = startOnForeignState(dir, receiver.url, "KEY");
    assert.equal((await validator.done).code, 2, validator.stderr.join("\n"));
    const trigger = receiver.events.find((e) => e.event_action === "trigger");
    assert.equal(trigger?.dedup_key, `taos:${Keypair.fromUri("//Dave").ss58Address}:state-load`);
  } finally {
    await receiver.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("label values read as the reference's Python prints its floats", () => {
  const cases: [number, string][] = [
    [100, "100.0"],
    [0.1 + 0.2, "0.30000000000000004"],
    [1e16, "1e+16"],
    [9999999999999998, "9999999999999998.0"],
    [1e15, "1000000000000000.0"],
    [1e-5, "1e-05"],
    [0.0001, "0.0001"],
    [0.00012, "0.00012"],
    [-123.456e-10, "-1.23456e-08"],
    [12345678901234567890, "1.2345678901234567e+19"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [-0, "-0.0"],
    [NaN, "nan"],
    [-Infinity, "-inf"],
  ];
  for (const [value, python] of cases) assert.equal(pythonFloat(value), python, String(value));
});

Deno.test("fixed-point label values read as Python's format prints them", () => {
  // As f"{value:.<decimals>f}": the sign of a negative zero kept, nan and inf as Python names
  // them, no point without decimals, every digit of a large value.
  const cases: [number, number, string][] = [
    [-0, 2, "-0.00"],
    [-0, 4, "-0.0000"],
    [-0.001, 2, "-0.00"],
    [NaN, 2, "nan"],
    [Infinity, 4, "inf"],
    [-Infinity, 4, "-inf"],
    [2.5, 0, "2"],
    [3.5, 0, "4"],
    [0.125, 2, "0.12"],
    [1e22, 2, "10000000000000000000000.00"],
    [5e-324, 2, "0.00"],
  ];
  for (const [value, decimals, python] of cases) {
    assert.equal(pythonFixed(value, decimals), python, `${value} to ${decimals}`);
  }
});

/** A book with one level a side (the ask's volume tiny) and the given trades. */
function bookWith(bookId: number, record: BookEvent[]): PublishState["books"][number] {
  return {
    bookId,
    record,
    bid: [{ price: 100, volume: 2 }],
    ask: [{ price: 100.5, volume: 0.0001 }],
    fundamental: 100,
  };
}

/** A trade in which miner `uid` rests against a background agent's buy. */
function minerTrade(tradeId: number, timestamp: number, uid: number): BookEvent {
  return {
    event: "trade",
    tradeId,
    timestamp,
    direction: 0,
    aggressingOrderId: 100 + tradeId,
    restingOrderId: 200 + tradeId,
    volume: 1,
    price: 77,
    aggressingAgentId: -5,
    restingAgentId: uid,
    fees: { maker: 0, taker: 0.25 },
  };
}

Deno.test("metrics: miner trades at their own time, floats as the reference prints them, per-book PnL and the leaderboard's changes", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  const volume = { total: 0, maker: 0, taker: 0, self: 0 };
  const detail: MinerScoreDetail = {
    uid: 1,
    reward: 0.5,
    score: 0.25,
    observations: 3,
    pnl: 30,
    inventoryValueChange: 12.5,
    pnlChange: 12.5,
    books: [
      { sharpe: 1, activityFactor: 1, inventoryValue: 1010, pnl: 10, volume },
      { sharpe: 1, activityFactor: 1, inventoryValue: 1020, pnl: 20, volume },
    ],
  };
  // Two fills of the same size, price and fee in one publish, at their own times.
  const publish: PublishState = {
    timestamp: 600e9,
    final: false,
    books: [bookWith(0, [minerTrade(1, 595.01e9, 1), minerTrade(2, 597e9, 1)]), bookWith(1, [])],
    accounts: [],
    notices: [],
    eventsProcessed: 0,
  };
  metrics.report({
    publish,
    stepRate: 0,
    ownUid: null,
    scores: new Map([[1, 0.25]]),
    details: [detail],
    initialBalances: new Map(),
    usage: { cpu: 0, ram: 0, disk: 0 },
  });
  const text = await metrics.registry.metrics();
  const series = (family: string) => text.split("\n").filter((l) => l.startsWith(`${family}{`));
  const minerTrades = series("miner_trades");
  assert.equal(minerTrades.length, 2, minerTrades.join("\n"));
  assert.match(
    minerTrades[0],
    /^miner_trades\{timestamp="595010000000",timestamp_str="00:09:55\.010000000",book_id="0",uid="1",role="maker",price="77\.0",volume="1\.0",side="0",fee="0\.0",/,
  );
  assert.match(minerTrades[1], /timestamp="597000000000",timestamp_str="00:09:57\.000000000"/);
  assert.match(
    series("trades")[0],
    /maker_fee="0\.0",taker_fee="0\.25",price="77\.0",volume="1\.0"/,
  );
  // A missing level is the reference's int 0; a present one its float.
  assert.match(
    series("books")[0],
    /bid_1="100\.0",bid_vol_1="2\.0",ask_1="100\.5",ask_vol_1="0\.0001",bid_2="0",/,
  );
  const pnl = (book: number) =>
    new RegExp(
      `^agent_gauges\\{book_id="${book}",agent_id="1",agent_gauge_name="pnl",[^}]*\\} (\\S+)$`,
      "m",
    )
      .exec(text)?.[1];
  assert.deepEqual([pnl(0), pnl(1)], ["10", "20"]);
  assert.match(
    series("miners")[0],
    /agent_id="1",placement="0",base_balance="0\.0",quote_balance="0\.0",inventory_value="2030\.0",inventory_value_change="12\.5",pnl="30\.0",pnl_change="12\.5",min_daily_volume="0\.0",activity_factor="1\.0",sharpe="1\.0",unnormalized_score="0\.0",score="0\.25",miner_gauge_name="miners"/,
  );
});

Deno.test("status board: a one-sided book charts its side, 720 points at most, ties ranked by uid", () => {
  const board = new StatusBoard();
  const level = (price: number) => [{ price, volume: 1 }];
  const publish = (timestamp: number): PublishState => ({
    timestamp,
    final: false,
    books: [
      { bookId: 0, record: [], bid: level(99), ask: level(101), fundamental: 100 },
      { bookId: 1, record: [], bid: [], ask: level(7), fundamental: 7 },
      { bookId: 2, record: [], bid: level(5), ask: [], fundamental: 5 },
    ],
    accounts: [],
    notices: [],
    eventsProcessed: 0,
  });
  for (let t = 1; t <= 721; t++) board.recordPrices(publish(t));
  const row = (uid: number, score: number) => ({ uid, score, reward: 0, pnl: 0, answered: true });
  board.rank(721, [row(3, 0.5), row(2, Number.NaN), row(1, 0.5), row(0, 0.75)]);
  const view = JSON.parse(board.json()) as StatusView;
  // The oldest point (t = 1) has dropped out of each chart.
  assert.deepEqual(
    view.books.map((b) => [b.bookId, b.points.length, b.points[0], b.points.at(-1)]),
    [[0, 720, [2, 100], [721, 100]], [1, 720, [2, 7], [721, 7]], [2, 720, [2, 5], [721, 5]]],
  );
  assert.deepEqual(view.leaderboard.map((r) => r.uid), [0, 1, 3, 2]);
  // A score that is not a number ranks below a score of 0, even for a lower uid.
  board.rank(722, [row(5, 0), row(2, Number.NaN)]);
  assert.deepEqual(JSON.parse(board.json()).leaderboard.map((r: { uid: number }) => r.uid), [5, 2]);
});

Deno.test("status board: the page's JSON follows each publish, not the one it first served", () => {
  const board = new StatusBoard();
  const publish = (timestamp: number, mid: number) =>
    ({
      timestamp,
      books: [{
        bookId: 0,
        bid: [{ price: mid - 1, volume: 1 }],
        ask: [{ price: mid + 1, volume: 1 }],
      }],
    }) as unknown as PublishState;
  board.recordPrices(publish(5e9, 100));
  assert.deepEqual(JSON.parse(board.json()).books[0].points, [[5e9, 100]]);
  // The JSON is kept between changes (every open page asks each second), and made anew after one.
  board.recordPrices(publish(10e9, 102));
  const view = JSON.parse(board.json()) as StatusView;
  assert.equal(view.timestamp, 10e9);
  assert.deepEqual(view.books[0].points, [[5e9, 100], [10e9, 102]]);
});

Deno.test("metrics: the last 25 trades per book and 5 per miner and book are kept, miners placed by score, Sharpe their books' median", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  // 30 trades of uid 1 on book 0, trade i at i seconds.
  const trades = Array.from({ length: 30 }, (_, i) => minerTrade(i + 1, (i + 1) * 1e9, 1));
  reportBooks(metrics, 600e9, [bookWith(0, trades), bookWith(1, [])], {
    scores: new Map([[1, 0.25], [2, 0.75]]),
    details: [
      sharpeDetail(1, [3, 1], { reward: 0.25, score: 0.25 }),
      sharpeDetail(2, [2, 2], { reward: 0.75, score: 0.75 }),
    ],
  });
  const text = await metrics.registry.metrics();
  const numbers = (family: string, name: string) =>
    familySeries(text, family).map((l) => Number(labelValue(l, name))).sort((a, b) => a - b);
  assert.deepEqual(numbers("trades", "trade_id"), Array.from({ length: 25 }, (_, i) => i + 6));
  assert.deepEqual(numbers("miner_trades", "timestamp"), [26e9, 27e9, 28e9, 29e9, 30e9]);
  const miners = familySeries(text, "miners");
  const of = (uid: number) => miners.find((l) => labelValue(l, "agent_id") === String(uid)) ?? "";
  assert.deepEqual([labelValue(of(2), "placement"), labelValue(of(1), "placement")], ["0", "1"]);
  // Two books: the median is the mean of the middle two, 1 and 3.
  assert.equal(labelValue(of(1), "sharpe"), "2.0");
});

Deno.test("metrics: a forgotten miner's fills leave miner_trades at the next report, one without fills too; uid 0's are kept", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  const report = (timestamp: number, record: BookEvent[]) =>
    reportBooks(metrics, timestamp, [bookWith(0, record)]);
  const uids = async () =>
    (await metrics.registry.metrics()).split("\n")
      .filter((l) => l.startsWith("miner_trades{"))
      .map((l) => Number(/,uid="(\d+)",/.exec(l)![1]));
  // uid 0 is a miner like any other (only background agents' ids are negative).
  report(60e9, [minerTrade(1, 59e9, 0), minerTrade(2, 59.5e9, 3)]);
  assert.deepEqual(await uids(), [0, 3]);
  metrics.forgetMiner(3);
  // No miner traded in this publish: the forgotten fills must go all the same.
  report(120e9, []);
  assert.deepEqual(await uids(), [0]);
});

Deno.test("metrics: a miner's query statistics: successes are what neither failed, timed out nor was rejected; call_time their mean", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  reportBooks(metrics, 60e9, [bookWith(0, [])], {
    details: [sharpeDetail(2, [0])],
    queryStats: new Map([[2, {
      requests: 10,
      timeouts: 2,
      failures: 1,
      rejections: 3,
      callTime: 1.5,
      successes: 4,
    }]]),
  });
  const text = await metrics.registry.metrics();
  const gauge = (name: string) => minerGaugeValue(text, 2, name);
  assert.deepEqual(
    ["requests", "success", "failures", "timeouts", "rejections", "call_time"].map(gauge),
    ["10", "4", "1", "2", "3", "0.375"],
  );
});

Deno.test("metrics: book_gauges split a publish's trade volume by side, show the last price, and no mid for a one-sided book", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  const sell = minerTrade(2, 59.5e9, 1);
  Object.assign(sell, { direction: 1, volume: 2.5, price: 78 });
  const twoSided = bookWith(0, [minerTrade(1, 59e9, 1), sell]);
  const bidsOnly = { ...bookWith(1, []), ask: [] };
  reportBooks(metrics, 60e9, [twoSided, bidsOnly]);
  const text = await metrics.registry.metrics();
  const gauge = (book: number, name: string) =>
    new RegExp(
      `^book_gauges\\{book_id="${book}",level="0",book_gauge_name="${name}",[^}]*\\} (\\S+)$`,
      "m",
    ).exec(text)?.[1];
  // Side 0 is a buy, 1 a sell, as the reference's trade side.
  assert.deepEqual(
    ["trade_price", "trade_volume", "trade_buy_volume", "trade_sell_volume", "mid"].map((name) =>
      gauge(0, name)
    ),
    ["78", "3.5", "1", "2.5", "100.25"],
  );
  assert.equal(gauge(1, "mid"), undefined);
  assert.equal(gauge(1, "bid"), "100");
});

Deno.test("metrics: a miner's total balances and daily volumes are rounded as the reference's Python rounds them", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  // Three different numbers of places: the reference rounds the quote total to baseDecimals too.
  metrics.newSimulation({ book_count: 2, baseDecimals: 4, quoteDecimals: 6, volumeDecimals: 2 }, 1);
  const balance = (total: number) => ({ free: total, reserved: 0, total });
  const book = (total: number, maker: number, taker: number) => ({
    sharpe: 1,
    activityFactor: 1,
    inventoryValue: 0,
    pnl: 0,
    volume: { total, maker, taker, self: 0 },
  });
  const fees = { volume: 0, makerFeeRate: 0, takerFeeRate: 0 };
  metrics.report({
    publish: {
      timestamp: 600e9,
      final: false,
      books: [bookWith(0, []), bookWith(1, [])],
      accounts: [{
        agentId: 1,
        holdings: [
          { base: balance(143004.35775), quote: balance(1000.123456) },
          { base: balance(143004.35775000002), quote: balance(0.1) },
        ],
        orders: [[], []],
        fees: [fees, fees],
      }],
      notices: [],
      eventsProcessed: 0,
    },
    stepRate: 0,
    ownUid: null,
    scores: new Map([[1, 0.25]]),
    details: [{
      uid: 1,
      reward: 0.5,
      score: 0.25,
      observations: 3,
      pnl: 0,
      inventoryValueChange: 0,
      pnlChange: 0,
      books: [book(10.005, 0.1, 1.125), book(20.115, 0.2, 2.675)],
    }],
    initialBalances: new Map(),
    usage: { cpu: 0, ram: 0, disk: 0 },
  });
  const text = await metrics.registry.metrics();
  const value = (family: string, labels: string) =>
    new RegExp(`^${family}\\{${labels},[^}]*\\} (\\S+)$`, "m").exec(text)?.[1];
  const miner = (name: string) => value("miner_gauges", `agent_id="1",miner_gauge_name="${name}"`);
  const agent = (book: number, name: string) =>
    value("agent_gauges", `book_id="${book}",agent_id="1",agent_gauge_name="${name}"`);
  // What Python 3.10 prints for round(sum(...), places) of the same doubles (unrounded, the sums
  // read 286008.71550000005, 1000.223456, 30.119999999999997, 0.30000000000000004, 3.8).
  assert.deepEqual(
    [miner("total_base_balance"), miner("total_quote_balance")],
    ["286008.7155", "1000.2235"],
  );
  // Each book's volume is rounded before the totals, as the reference sums rounded ones.
  assert.deepEqual(
    [agent(0, "daily_volume"), agent(1, "daily_volume"), agent(1, "daily_taker_volume")],
    ["10.01", "20.11", "2.67"],
  );
  assert.deepEqual(
    ["total_daily_volume", "average_daily_volume", "min_daily_volume"].map(miner),
    ["30.12", "15.06", "10.01"],
  );
  assert.deepEqual(
    ["total_daily_maker_volume", "average_daily_maker_volume"].map(miner),
    ["0.3", "0.15"],
  );
  assert.deepEqual(
    ["total_daily_taker_volume", "average_daily_taker_volume", "min_daily_taker_volume"].map(miner),
    ["3.79", "1.9", "1.12"],
  );
  const row = text.split("\n").find((line) => line.startsWith("miners{")) ?? "";
  assert.match(row, /base_balance="286008\.7155",quote_balance="1000\.2235",/);
  assert.match(row, /min_daily_volume="10\.01",/);
});

Deno.test({
  name: "the metagraph read gives each neuron's standing in the SDK metagraph's units",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { node, subnet } = startNode();
  // Runtimes that dropped the deprecated trust field read it as 0.
  delete (subnet.neurons[1] as Record<string, unknown>).trust;
  const client = await SubtensorClient.connect({ network: node.url, connectTimeoutMs: 10_000 });
  try {
    const { standing } = await readMetagraph(client, NETUID);
    assert.deepEqual(standing.get(0), {
      active: true,
      validatorTrust: Math.fround(58982 / 65535),
      trust: 0,
      consensus: 0,
      incentive: 0,
      dividends: 1,
      emission: 41,
    });
    assert.deepEqual(standing.get(2), {
      active: false,
      validatorTrust: 0,
      trust: 0,
      consensus: Math.fround(1 / 65535),
      incentive: Math.fround(26214 / 65535),
      dividends: 0,
      emission: Math.fround(999 / 1e9),
    });
    assert.equal(standing.get(1)?.emission, 1.5);
  } finally {
    await client.close();
    await node.close();
  }
});

/** The value of the first series of `text` whose line matches `selector`. */
function sample(text: string, selector: RegExp): number | undefined {
  const line = text.split("\n").find((l) => !l.startsWith("#") && selector.test(l));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

Deno.test({
  name: "taos validator on a chain: blocks since its weights, its standing and the miners', its " +
    "hotkey name, process metrics and the weight setter's pages in /metrics",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await cryptoReady();
  const { node, subnet } = startNode();
  node.best = 1300;
  // An inactive validator: the gauge an operator alerts on must say so.
  subnet.neurons[0].active = false;
  const receiver = pagerDutyReceiver();
  const dir = Deno.makeTempDirSync();
  const state = join(dir, "state.db");
  // Unreadable pending commits: the weight setter pages as it starts.
  Deno.writeTextFileSync(pendingCommitsPath(state), "not json");
  await new Wallet({ root: join(dir, "wallets"), name: "owner", hotkey: "hotname" })
    .writeHotkey(Keypair.fromUri("//Alice"));
  const validator = startValidator([
    ...["-e", node.url, "-p", join(dir, "wallets"), "-w", "owner", "-h", "hotname"],
    ...["--config", "small", "--duration", "5m", "--threads", "1", "-t", "1"],
    ...["--neuron.disable_set_weights", "--state", state, "-o", "0", "--http.host", "127.0.0.1"],
    ...["-d", "KEY", "--pagerduty.url", receiver.url],
  ]);
  try {
    const line = await validator.waitFor(
      (l) => l.includes("status page and metrics on"),
      60_000,
      "the metrics server",
    );
    const url = `${/(http:\/\/\S+\/)/.exec(line)![1]}metrics`;
    let text = "";
    for (let i = 0; i < 300 && !/miner_gauge_name="trust"/.test(text); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = await (await fetch(url)).text();
    }
    const own = (name: string) =>
      sample(text, new RegExp(`^validator_gauges\\{validator_gauge_name="${name}",`));
    assert.equal(own("last_update"), 1300 - 500, "blocks since the last weight update");
    assert.equal(own("active"), 0);
    assert.equal(own("validator_trust"), Math.fround(58982 / 65535));
    assert.equal(own("dividends"), 1);
    assert.equal(own("emission"), 41);
    const miner = (uid: number, name: string) =>
      sample(text, new RegExp(`^miner_gauges\\{agent_id="${uid}",miner_gauge_name="${name}",`));
    assert.equal(miner(1, "trust"), Math.fround(13107 / 65535));
    assert.equal(miner(1, "consensus"), Math.fround(32768 / 65535));
    assert.equal(miner(1, "incentive"), Math.fround(39321 / 65535));
    assert.equal(miner(1, "emission"), 1.5);
    assert.equal(miner(2, "emission"), Math.fround(999 / 1e9));
    assert.match(
      text,
      /^neuron_info_info\{uid="0",[^}]*coldkey_name="owner",[^}]*,name="hotname",/m,
    );
    assert.ok((sample(text, /^process_start_time_seconds\{/) ?? 0) > 1.7e9, "process metrics");
    assert.equal(sample(text, /^validator_alerts_total\{kind="weights",/), 1);
    const page = receiver.events.find((e) => e.dedup_key.endsWith(":weights"));
    assert.match(page?.payload.summary, /weights : pending commits .*: .*; moved to /);
  } finally {
    await validator.stop();
    await receiver.close();
    await node.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "taos validator --local --hotkey-uri: no wallet names and netuid local in /metrics",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = Deno.makeTempDirSync();
  const validator = startValidator([
    ...["--local", "--hotkey-uri", "//Validator", "--config", "small", "--duration", "5m"],
    ...["--threads", "1", "--state", join(dir, "state.db"), "-o", "0", "--http.host", "127.0.0.1"],
  ]);
  try {
    const line = await validator.waitFor(
      (l) => l.includes("status page and metrics on"),
      60_000,
      "the metrics server",
    );
    const text = await (await fetch(`${/(http:\/\/\S+\/)/.exec(line)![1]}metrics`)).text();
    const info = text.split("\n").find((l) => l.startsWith("neuron_info_info{")) ?? "";
    assert.match(info, /,coldkey_name="",hotkey="5\w+",name="",/);
    assert.match(info, /netuid="local"/);
    assert.doesNotMatch(text, /netuid="79"/);
  } finally {
    await validator.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("PagerDuty: an event it did not accept is sent again until it is: a resolve, and a trigger a recurrence does not hide", async () => {
  const receiver = pagerDutyReceiver();
  const lines: string[] = [];
  const alerts = new Alerter({
    routingKey: "K",
    source: "w:h",
    url: receiver.url,
    log: (line, level) => void lines.push(`${level} ${line}`),
    retryMs: 20,
  });
  const delivered = (kind: string, action: string) =>
    receiver.accepted.filter((e) => e.dedup_key.endsWith(`:${kind}`) && e.event_action === action)
      .length;
  try {
    alerts.trigger("state-save", "disk full");
    await alerts.settled();
    receiver.status = 503;
    alerts.resolve("state-save");
    await alerts.settled();
    assert.deepEqual(alerts.undelivered, ["state-save"]);
    // A trigger lost while PagerDuty is down, then the same failure again within the repeat period.
    alerts.trigger("weights", "refused");
    await alerts.settled();
    alerts.trigger("weights", "refused again");
    receiver.status = 202;
    await until(() => alerts.undelivered.length === 0, "the retries");
    assert.equal(delivered("state-save", "resolve"), 1, "the incident is closed");
    assert.equal(delivered("weights", "trigger"), 1, "the page reached PagerDuty");
    assert.ok(alerts.deliveryFailures >= 2);
    // Delivered: nothing more is sent for either.
    const sent = receiver.events.length;
    alerts.resolve("state-save");
    alerts.trigger("weights", "refused");
    await alerts.settled();
    assert.equal(receiver.events.length, sent);
    assert.ok(
      lines.some((l) => /^info PagerDuty resolve of state-save delivered at attempt \d+$/.test(l)),
      lines.join("\n"),
    );
  } finally {
    await alerts.close();
    await receiver.close();
  }
});

Deno.test("PagerDuty: while it is down, at most one event per kind waits, the latest", async () => {
  const receiver = pagerDutyReceiver(500);
  const alerts = new Alerter({
    routingKey: "K",
    source: "w:h",
    url: receiver.url,
    log: () => {},
    repeatMs: 0,
    retryMs: 60_000,
  });
  try {
    for (let i = 0; i < 1000; i++) {
      alerts.trigger("miners-unreachable", `silent ${i}`);
      alerts.resolve("miners-unreachable");
      alerts.trigger("metrics", `failed ${i}`);
    }
    assert.deepEqual(alerts.undelivered.sort(), ["metrics", "miners-unreachable"]);
    await alerts.settled();
    // Back up: the latest state of each kind is what reaches PagerDuty.
    receiver.status = 202;
    await alerts.close();
    assert.deepEqual(alerts.undelivered, []);
    const last = receiver.accepted.map((e) => [e.dedup_key.split(":").pop(), e.event_action]);
    assert.deepEqual(last.sort(), [["metrics", "trigger"], ["miners-unreachable", "resolve"]]);
    assert.match(receiver.accepted.find((e) => e.payload)!.payload.summary, /failed 999$/);
    assert.ok(receiver.events.length < 1000, `${receiver.events.length} requests`);
  } finally {
    await receiver.close();
  }
});

Deno.test("PagerDuty: a failed delivery names the event and quotes the reply; a start-up resolve that fails is a warning", async () => {
  const reply = JSON.stringify({ status: "unavailable", message: "Service Unavailable" });
  const receiver = pagerDutyReceiver(503, `${reply}\n${" ".repeat(5000)}`);
  const lines: string[] = [];
  const alerts = new Alerter({
    routingKey: "SHORT",
    source: "w:h",
    url: receiver.url,
    log: (line, level) => void lines.push(`${level} ${line}`),
  });
  try {
    alerts.resolve("state-load");
    alerts.trigger("metrics", "report failed");
    await alerts.settled();
    assert.deepEqual(lines, [
      "error ALERT metrics: report failed",
      `warning PagerDuty resolve of state-load not delivered (HTTP 503: ${reply}); it will be sent again`,
      `error PagerDuty trigger of metrics not delivered (HTTP 503: ${reply}); it will be sent again`,
    ]);
  } finally {
    await alerts.close(100);
    await receiver.close();
  }
});

Deno.test({
  name:
    "PagerDuty that accepts connections and never answers holds up neither start-up nor a round",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const connection of listener) held.push(connection);
  })();
  const alerts = new Alerter({
    routingKey: "K",
    source: "w:h",
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/v2/enqueue`,
    log: () => {},
  });
  const timeouts: MinerClient = {
    query: (requests) =>
      Promise.resolve(requests.map((r) => ({
        uid: r.uid,
        outcome: "timeout" as const,
        processTime: 3,
        message: "timeout",
        checked: null,
      }))),
  };
  const store = ValidatorStore.open(":memory:");
  const validator = oneMinerValidator(timeouts, store, alerts);
  try {
    let started = performance.now();
    await validator.start();
    assert.ok(performance.now() - started < 2000, "start-up resolves state-load in the background");
    started = performance.now();
    // The twelfth silent round pages miners-unreachable.
    for (let i = 0; i < 12; i++) await validator.round();
    assert.ok(performance.now() - started < 2000, "the rounds do not wait for PagerDuty");
    assert.deepEqual(alerts.open, ["miners-unreachable"]);
    started = performance.now();
    await alerts.close(200);
    assert.ok(performance.now() - started < 2000, "closing gives up after its deadline");
    assert.ok(alerts.deliveryFailures >= 1);
  } finally {
    validator.close();
    store.close();
    listener.close();
    await accepting.catch(() => {});
    for (const connection of held) connection.close();
  }
});

Deno.test({
  name: "cpu_usage_percent is the host's, as psutil's: a busy child process shows while this " +
    "process idles; without /proc/stat it is this process's",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const cores = availableParallelism();
  if (existsSync("/proc/stat")) {
    const usage = new CpuUsage();
    const busy = new Deno.Command(Deno.execPath(), {
      args: ["eval", "while (true) {}"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 300));
      usage.percent();
      await new Promise((r) => setTimeout(r, 1000));
      const host = usage.percent();
      // One core spinning is 100 / cores %; on a machine shared with other work (and stolen
      // time) it gets less, while this idle process alone would show about 0.
      assert.ok(host >= 30 / cores && host <= 100, `${host} % with 1 of ${cores} cores busy`);
    } finally {
      busy.kill();
      await busy.status;
    }
  }
  const dir = Deno.makeTempDirSync();
  try {
    const own = new CpuUsage(join(dir, "no-stat"));
    const spinning = performance.now();
    while (performance.now() - spinning < 300) {
      // busy on purpose
    }
    const percent = own.percent();
    assert.ok(percent >= 20 / cores, `${percent} % after spinning one of ${cores} cores`);
  } finally {
    Deno.removeSync(dir);
  }
});

Deno.test("process metrics: process_* on the miner's /metrics too", async () => {
  const metrics = new MinerMetrics({ hotkey: "5Miner", netuid: 79 });
  const port = await metrics.serve(0, "127.0.0.1");
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(text, /^process_resident_memory_bytes\{wallet="5Miner",netuid="79"\} \d+/m);
    assert.match(text, /^process_start_time_seconds\{/m);
  } finally {
    await metrics.close();
  }
});

/** A monitoring server on loopback with an empty status board, and headless Chromium. */
async function statusPageRig() {
  const board = new StatusBoard();
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
  const server = await startMonitoringServer({ port: 0, hostname: "127.0.0.1", metrics, board });
  const browser = await launchChromium();
  return {
    board,
    server,
    browser,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

browserTest(
  "status page: a number that is not finite shows as –, and a failed refresh says so",
  async () => {
    const { board, server, browser, close } = await statusPageRig();
    const publish = (timestamp: number): PublishState => ({
      timestamp,
      final: false,
      books: [bookWith(0, [])],
      accounts: [],
      notices: [],
      eventsProcessed: 0,
    });
    try {
      // JSON carries NaN and Infinity as null.
      // 90 061 s is a day, an hour, a minute and a second.
      board.record(publish(90_061e9), 1, [{
        uid: 0,
        score: 0.5,
        reward: NaN,
        pnl: Infinity,
        answered: true,
      }]);
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.port}/`);
      await page.locator('body[data-updated="1"]').waitFor({ timeout: 5000 });
      assert.deepEqual(await page.locator("#leaderboard tbody td").allTextContents(), [
        "1",
        "0",
        "0.500000",
        "–",
        "–",
        "yes",
      ]);
      assert.equal(await page.textContent("#clock"), "1d 01:01:01");
      // A leaderboard restored at a restart: not queried yet, so neither "yes" nor a greyed "no".
      board.rank(2, [{ uid: 0, score: 0.5, reward: 1, pnl: 2, answered: null }]);
      await page.locator('body[data-updated="2"]').waitFor({ timeout: 5000 });
      // Score to 6 decimals, reward to 4, PnL to 2.
      assert.deepEqual(await page.locator("#leaderboard tbody td").allTextContents(), [
        "1",
        "0",
        "0.500000",
        "1.0000",
        "2.00",
        "–",
      ]);
      assert.equal(await page.textContent("#leaderboard tbody td:last-child"), "–");
      assert.equal(await page.getAttribute("#leaderboard tbody tr", "class"), null);
      assert.equal(await page.isVisible("#error"), false);
      await server.close();
      await page.waitForSelector("#error", { state: "visible", timeout: 5000 });
      assert.match(
        await page.textContent("#error") ?? "",
        /^refresh failed at .*: the figures below/,
      );
      assert.equal(await page.textContent("#step"), "2", "the last figures stay");
    } finally {
      await close();
    }
  },
);

browserTest(
  "status page: no console error, a note for no miners, served under a proxy's prefix, fits 320 px",
  async () => {
    const { board, server, browser, close } = await statusPageRig();
    // A reverse proxy serving the validator under /validator (the page's address has no slash).
    const proxy = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
      const url = new URL(req.url);
      if (!url.pathname.startsWith("/validator")) return new Response("not here", { status: 404 });
      const path = url.pathname.slice("/validator".length) || "/";
      return fetch(`http://127.0.0.1:${server.port}${path}`);
    });
    const publish: PublishState = {
      timestamp: 5e9,
      final: false,
      books: [{ ...bookWith(0, []), bid: [], ask: [] }],
      accounts: [],
      notices: [],
      eventsProcessed: 0,
    };
    try {
      const page = await browser.newPage({ viewport: { width: 320, height: 640 } });
      const problems: string[] = [];
      page.on("console", (m) => void (m.type() === "error" && problems.push(m.text())));
      page.on("pageerror", (e) => void problems.push(String(e)));
      await page.goto(`http://127.0.0.1:${proxy.addr.port}/validator`);
      await page.locator('body[data-updated="0"]').waitFor({ timeout: 5000 });
      assert.equal(await page.textContent("#leaderboard tbody"), "no miner scored yet");
      assert.equal(await page.isVisible("#error"), false, "its data found beside it");
      // A NaN score ranks last, and the page is no wider than a phone's screen.
      const row = (uid: number, score: number) => ({
        uid,
        score,
        reward: 0,
        pnl: 0,
        answered: true,
      });
      board.record(publish, 1, [row(0, 0.5), row(1, NaN), row(2, 0.9), row(3, 0.1)]);
      await page.locator('body[data-updated="1"]').waitFor({ timeout: 5000 });
      const uids = await page.locator("#leaderboard tbody tr").evaluateAll((rows) =>
        rows.map((r) => r.getAttribute("data-uid"))
      );
      assert.deepEqual(uids, ["2", "0", "3", "1"]);
      assert.equal(await page.textContent('.book[data-book="0"] .price'), "–");
      assert.ok(
        await page.evaluate("document.documentElement.scrollWidth <= 320"),
        "no sideways page",
      );
      assert.deepEqual(problems, [], "no console error (not even a 404 for the favicon)");
    } finally {
      await proxy.shutdown();
      await close();
    }
  },
);

Deno.test("the monitoring server takes as many connections from one address as it is told", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
  const board = new StatusBoard();
  for (const [limit, answered] of [[undefined, false], [40, true]] as const) {
    const server = await startMonitoringServer({
      port: 0,
      hostname: "127.0.0.1",
      maxConnectionsPerIp: limit,
      metrics,
      board,
    });
    // Twenty idle connections from one address, as a reverse proxy's pages would keep open.
    const idle = await Promise.all(
      Array.from({ length: 20 }, () => Deno.connect({ port: server.port, hostname: "127.0.0.1" })),
    );
    try {
      const reply = await fetch(`http://127.0.0.1:${server.port}/status.json`)
        .then(async (r) => r.ok && (await r.json()).step === 0)
        .catch(() => false);
      assert.equal(reply, answered, `limit ${limit ?? "default (16)"}`);
    } finally {
      for (const connection of idle) connection.close();
      await server.close();
    }
  }
  assert.equal(parseValidatorArgs([]).httpMaxConnectionsPerIp, 16);
  assert.equal(
    parseValidatorArgs(["--http.max_connections_per_ip", "64"]).httpMaxConnectionsPerIp,
    64,
  );
  assert.throws(
    () => parseValidatorArgs(["--http.max_connections_per_ip", "0"]),
    /--http\.max_connections_per_ip: '0' must be >= 1/,
  );
});

/**
 * Sends `head` (and `body`, if any) on a new loopback connection, sends nothing more and reads
 * until the server closes the connection; the whole reply as text.
 */
async function rawExchange(port: number, head: string, body = ""): Promise<string> {
  const connection = await Deno.connect({ port, hostname: "127.0.0.1" });
  try {
    await connection.write(new TextEncoder().encode(head + body));
    let reply = "";
    for await (const chunk of connection.readable.pipeThrough(new TextDecoderStream())) {
      reply += chunk;
    }
    return reply;
  } finally {
    try {
      connection.close();
    } catch {
      // closed by the readable stream ending
    }
  }
}

Deno.test("monitoring server: other methods get 405 without their body being waited for; a GET's body is not waited for either", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
  const server = await startMonitoringServer({
    port: 0,
    hostname: "127.0.0.1",
    metrics,
    board: new StatusBoard(),
  });
  // A head announcing 1000 bytes of body, of which one is ever sent: the reply must come and the
  // connection close without the rest (waiting for it held the connection for 30 s).
  const trickled = (method: string, path: string) =>
    rawExchange(
      server.port,
      `${method} ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n`,
      "a",
    );
  try {
    for (const path of ["/metrics", "/status.json", "/", "/nowhere"]) {
      const reply = await trickled("POST", path);
      assert.match(reply, /^HTTP\/1\.1 405 /, `POST ${path}: ${reply.slice(0, 80)}`);
      assert.match(reply, /\r\nallow: GET, HEAD\r\n/i);
      assert.match(reply, /\r\nconnection: close\r\n/i);
      // A refusal is a response like any other: it forbids sniffing and framing too.
      assert.match(reply, /\r\nx-content-type-options: nosniff\r\n/i);
      assert.match(reply, /\r\nx-frame-options: DENY\r\n/i);
    }
    for (const method of ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]) {
      const reply = await rawExchange(
        server.port,
        `${method} /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
      );
      assert.match(reply, /^HTTP\/1\.1 405 /, `${method}: ${reply.slice(0, 80)}`);
    }
    const get = await trickled("GET", "/status.json");
    assert.match(get, /^HTTP\/1\.1 200 /, get.slice(0, 80));
    assert.match(get, /\r\nconnection: close\r\n/i);
    // The endpoints still answer as before.
    const head = await rawExchange(
      server.port,
      "HEAD /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.ok(head.endsWith("\r\n\r\n"), "a HEAD reply has no body");
    // Its length is the GET's, as HTTP has it, not 0.
    assert.match(head, /\r\ncontent-length: [1-9]\d*\r\n/i);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/nowhere`)).status, 404);
    const scrape = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(scrape.status, 200);
    assert.match(await scrape.text(), /process_start_time_seconds/);
  } finally {
    await server.close();
  }
});

Deno.test("the status page's mids carry no binary noise", () => {
  const board = new StatusBoard();
  const level = (price: number) => [{ price, volume: 1 }];
  board.recordPrices({
    timestamp: 5e9,
    books: [{ bookId: 0, bid: level(299.33), ask: level(299.35) }, {
      bookId: 1,
      bid: level(0.1),
      ask: level(0.2),
    }],
  } as unknown as PublishState);
  const books = JSON.parse(board.json()).books;
  // (299.33 + 299.35) / 2 is 299.34000000000003 in doubles, (0.1 + 0.2) / 2 0.15000000000000002.
  assert.deepEqual(books.map((b: { points: number[][] }) => b.points[0][1]), [299.34, 0.15]);
});

Deno.test("status board: a new simulation clears the charts and the clock, and keeps the leaderboard", () => {
  const board = new StatusBoard();
  board.record(
    {
      timestamp: 5e9,
      books: [{ bookId: 0, bid: [{ price: 99, volume: 1 }], ask: [{ price: 101, volume: 1 }] }],
    } as unknown as PublishState,
    7,
    [{ uid: 4, score: 0.5, reward: 0.25, pnl: 3, answered: true }],
  );
  board.startSimulation(1, 8);
  const view = JSON.parse(board.json()) as StatusView;
  // Scores carry over from one simulation to the next; prices and the clock do not.
  assert.deepEqual(view, {
    simulation: 1,
    seed: 8,
    timestamp: null,
    step: 7,
    books: [],
    leaderboard: [{ uid: 4, score: 0.5, reward: 0.25, pnl: 3, answered: true }],
  });
});
