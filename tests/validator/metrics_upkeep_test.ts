/**
 * How `/metrics` follows a running validator: uids leaving the neuron list, the validator's own
 * uid as it registers and leaves, and a report that fails once.
 */
import assert from "node:assert/strict";
import { smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { parseValidatorArgs } from "../../validator/options.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { neuronInfoLabels, ValidatorMetrics } from "../../validator/metrics.ts";
import { simulationConfigFor } from "../../agents/sdk/state.ts";
import { Validator } from "../../validator/validator.ts";
import { Alerter } from "../../validator/pagerduty.ts";
import { quietParts } from "./quiet_parts.ts";
import { marketBuyers } from "./answering_client.ts";
import { EditableDirectory } from "./editable_directory.ts";
import { StatusBoard } from "../../validator/status.ts";
import { startMonitoringServer } from "../../validator/server.ts";

/** The `agent_gauges` and `miner_gauges` series of `/metrics` that name `uid`. */
async function seriesOf(metrics: ValidatorMetrics, uid: number): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split("\n").filter((line) =>
    /^(agent|miner)_gauges\{/.test(line) && line.includes(`agent_id="${uid}"`)
  );
}

/**
 * A local validator on the small market (`agents` remote agents) whose neuron list is `directory`,
 * reporting to `metrics`, with the neuron list re-read every round; `parts` replaces its quiet
 * parts (alerts); `shared`, a store another validator ran on (left open), or one of its own.
 */
function metricsValidator(
  directory: EditableDirectory,
  metrics: ValidatorMetrics,
  agents: number,
  parts: Partial<ReturnType<typeof quietParts>> = {},
  shared?: ValidatorStore,
) {
  const store = shared ?? ValidatorStore.open(":memory:");
  const validator = new Validator({
    options: {
      ...parseValidatorArgs(["--local", "--neuron.weights_interval", "0"]),
      saveIntervalSeconds: 0,
    },
    config: { ...smallPreset(), remoteAgentCount: agents, duration: 3600e9 },
    createMarket: (c, seed) => SimEngine.create({ config: c, seed, threads: 1 }),
    directory,
    client: marketBuyers,
    store,
    ...quietParts(),
    ...parts,
    metrics,
  });
  return {
    validator,
    /** Runs `n` rounds, each after the background reads of the last have settled. */
    async rounds(n: number) {
      for (let i = 0; i < n; i++) {
        await validator.settled();
        await validator.round();
      }
    },
    close() {
      validator.close();
      if (shared === undefined) store.close();
    },
  };
}

Deno.test("a uid that leaves the neuron list leaves agent_gauges and miner_gauges, its query counts too", async () => {
  const directory = new EditableDirectory(["5A0", "5A1", "5A2", "5A3", "5A4", "5A5"]);
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
  const run = metricsValidator(directory, metrics, 6);
  const board = new StatusBoard();
  const server = await startMonitoringServer({ port: 0, hostname: "127.0.0.1", metrics, board });
  /** uid `uid`'s `agent_gauges` and `miner_gauges` series, as a scraper reads them. */
  const scraped = async (uid: number) => {
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    return text.split("\n").filter((line) =>
      /^(agent|miner)_gauges\{/.test(line) && line.includes(`agent_id="${uid}"`)
    );
  };
  try {
    await run.validator.start();
    // Past a query-statistics report (every 100 publishes), so every family names each uid.
    await run.rounds(101);
    const before = await scraped(5);
    assert.ok(before.some((l) => l.includes('miner_gauge_name="requests"')), before.join("\n"));
    assert.ok(before.some((l) => l.includes('agent_gauge_name="base_balance_initial"')));

    directory.hotkeys.pop();
    // The neuron list is read again at the next round: from then on uid 5 is neither queried nor
    // scored, and none of its series stays behind, not even the query counts of the last report
    // period, which it was part of.
    await run.rounds(2);
    // Past the second for which one rendering serves every scrape.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.deepEqual(await scraped(5), [], "uid 5's series are gone");
    const stayed = await scraped(4);
    assert.equal(
      stayed.length,
      before.length,
      "uid 4 keeps as many series as uid 5 had (same books, same families)",
    );
  } finally {
    run.close();
    await server.close();
  }
});

/** The `timestamp` labels of uid `uid`'s `miner_trades` series. */
async function minerTradeTimes(metrics: ValidatorMetrics, uid: number): Promise<number[]> {
  const text = await metrics.registry.metrics();
  return text.split("\n")
    .filter((line) => line.startsWith("miner_trades{") && line.includes(`,uid="${uid}",`))
    .map((line) => Number(/timestamp="(\d+)"/.exec(line)![1]));
}

Deno.test("miner_trades drops the fills of a uid that leaves the neuron list or changes hands", async () => {
  const directory = new EditableDirectory(["5A0", "5A1", "5A2"]);
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
  const run = metricsValidator(directory, metrics, 3);
  const simulated = async () => {
    const text = await metrics.registry.metrics();
    return Number(/simulation_gauge_name="timestamp"[^}]*\} (\d+)/.exec(text)![1]);
  };
  try {
    await run.validator.start();
    await run.rounds(10);
    assert.ok((await minerTradeTimes(metrics, 2)).length > 0, "uid 2 traded");
    assert.ok((await minerTradeTimes(metrics, 1)).length > 0, "uid 1 traded");

    directory.hotkeys.pop();
    await run.rounds(30);
    assert.deepEqual(await minerTradeTimes(metrics, 2), [], "uid 2 left: its fills are gone");

    // uid 1 changes hands: its earlier fills go as soon as the validator reads the new list (in
    // the background, so from the second round on), before the new owner's could push them out
    // of the last five.
    const changedAt = await simulated();
    directory.hotkeys[1] = "5B1";
    await run.rounds(1);
    for (let round = 1; round < 8; round++) {
      await run.rounds(1);
      const times = await minerTradeTimes(metrics, 1);
      assert.ok(
        times.every((t) => t > changedAt),
        `round ${round}: fills from before the re-registration at ${changedAt}: ${
          times.join(", ")
        }`,
      );
    }
    assert.ok((await minerTradeTimes(metrics, 1)).length > 0, "the new owner of uid 1 traded");
  } finally {
    run.close();
  }
});

Deno.test("a failing metrics report raises the metrics alert, and three that work in a row resolve it", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
  const report = metrics.report.bind(metrics);
  let reports = 0;
  // Failing every other report, then working: one alert, resolved by the third that works.
  const failing = new Set([2, 4]);
  const worked: number[] = [];
  metrics.report = (input) => {
    if (failing.has(++reports)) throw new Error("label cardinality exceeded");
    worked.push(reports);
    return report(input);
  };
  const lines: string[] = [];
  const alerts = new Alerter({
    routingKey: null,
    source: "t",
    log: (line) => void lines.push(line),
  });
  const run = metricsValidator(new EditableDirectory(["5A0", "5A1"]), metrics, 2, { alerts });
  try {
    await run.validator.start();
    await run.rounds(6);
    assert.deepEqual(worked, [1, 3, 5, 6]);
    assert.deepEqual(lines, ["ALERT metrics: metrics report failed: label cardinality exceeded"]);
    assert.deepEqual(alerts.open, ["metrics"]);
    await run.rounds(1);
    assert.deepEqual(lines, [
      "ALERT metrics: metrics report failed: label cardinality exceeded",
      "RESOLVED metrics",
    ]);
    assert.deepEqual(alerts.open, []);
  } finally {
    run.close();
  }
});

Deno.test("neuron_info and validator_gauges follow the validator's own uid as it registers and leaves", async () => {
  const directory = new EditableDirectory(["5A0", "5A1"]);
  const identity = {
    uid: null,
    network: "local",
    coldkey: null,
    coldkeyName: "owner",
    hotkey: "5Validator",
    name: "validator",
  };
  const metrics = new ValidatorMetrics({
    wallet: "5Validator",
    netuid: 79,
    info: neuronInfoLabels(identity, simulationConfigFor(smallPreset()), 1),
  });
  const run = metricsValidator(directory, metrics, 3);
  const shown = async () => {
    const text = await metrics.registry.metrics();
    const info = text.split("\n").find((line) => line.startsWith("neuron_info_info{"))!;
    const gauge = text.split("\n").find((line) =>
      line.startsWith("validator_gauges{") && line.includes('validator_gauge_name="uid"')
    );
    return { uid: /[{,]uid="(-?\d+)"/.exec(info)![1], gauge: gauge?.split(" ").at(-1) ?? null };
  };
  try {
    await run.validator.start();
    await run.rounds(3);
    assert.deepEqual(await shown(), { uid: "-1", gauge: null });
    directory.hotkeys.push("5Validator");
    await run.rounds(3);
    assert.deepEqual(await shown(), { uid: "2", gauge: "2" }, "registered after the start");
    directory.hotkeys.pop();
    await run.rounds(3);
    assert.deepEqual(await shown(), { uid: "-1", gauge: null }, "deregistered");
  } finally {
    run.close();
  }
});

Deno.test("after a restart the miners' initial balances are those of the resumed simulation", async () => {
  const initial = async (metrics: ValidatorMetrics) =>
    (await seriesOf(metrics, 1)).filter((l) => /_balance_initial"/.test(l));
  const store = ValidatorStore.open(":memory:");
  try {
    const hotkeys = ["5A0", "5A1", "5A2"];
    const before = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
    const first = metricsValidator(new EditableDirectory(hotkeys), before, 3, {}, store);
    await first.validator.start();
    await first.rounds(4);
    first.close();
    const expected = await initial(before);
    // A base and a quote balance per book of the small market.
    assert.equal(expected.length, 2 * smallPreset().books, expected.join("\n"));

    const after = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
    const second = metricsValidator(new EditableDirectory(hotkeys), after, 3, {}, store);
    await second.validator.start();
    await second.rounds(1);
    second.close();
    assert.deepEqual(await initial(after), expected);
  } finally {
    store.close();
  }
});

Deno.test("without a chain the chain gauges are not exported; the process metrics are process_* and nodejs_*", async () => {
  const directory = new EditableDirectory(["5A0", "5A1", "5Validator"]);
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
  const run = metricsValidator(directory, metrics, 3);
  try {
    await run.validator.start();
    await run.rounds(5);
    const text = await metrics.registry.metrics();
    const names = (family: string, label: string) =>
      new Set(
        [...text.matchAll(new RegExp(`^${family}\\{[^}]*${label}="([^"]+)"`, "gm"))].map((m) =>
          m[1]
        ),
      );
    const validatorGauges = names("validator_gauges", "validator_gauge_name");
    const minerGauges = names("miner_gauges", "miner_gauge_name");
    assert.ok(validatorGauges.has("stake"), [...validatorGauges].join(", "));
    assert.ok(minerGauges.has("score"), [...minerGauges].join(", "));
    for (const chainOnly of ["last_update", "active", "validator_trust", "dividends", "emission"]) {
      assert.ok(!validatorGauges.has(chainOnly), `validator gauge ${chainOnly}`);
    }
    for (const chainOnly of ["trust", "consensus", "incentive", "emission"]) {
      assert.ok(!minerGauges.has(chainOnly), `miner gauge ${chainOnly}`);
    }
    assert.match(text, /^process_resident_memory_bytes\{/m);
    assert.match(text, /^nodejs_heap_size_used_bytes\{/m);
    assert.doesNotMatch(text, /^python_/m);
  } finally {
    run.close();
  }
});
