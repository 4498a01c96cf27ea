/**
 * How the validator loop is wired to its parts: who gets queried (network.md §9 #3), how a
 * refused query is classified (§9 #13), which delay reaches the simulation (§3.5) and the
 * version key weights are submitted with (§4.9). Real SimEngine, real axons on loopback; only the
 * chain is faked (static neuron lists, recorded weights).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { smallPreset } from "../../sim/config.ts";
import { type Instruction, SimEngine } from "../../sim/engine.ts";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import {
  type Neuron,
  RecordingWeightSetter,
  StaticNeuronDirectory,
} from "../../bittensor/neurons.ts";
import { type RunningMiner, startMiner } from "../../miner/miner.ts";
import { parseValidatorArgs } from "../../validator/options.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { ValidatorMetrics } from "../../validator/metrics.ts";
import { executionDelay } from "../../validator/scoring/formulas.ts";
import {
  type Market,
  Validator,
  type ValidatorDeps,
  watchedMarket,
  WEIGHTS_VERSION_KEY,
} from "../../validator/validator.ts";
import {
  DendriteMinerClient,
  type MinerClient,
  type MinerReply,
  type MinerRequest,
} from "../../validator/miner_client.ts";
import { loggingAlerter, quietParts } from "./quiet_parts.ts";

await cryptoReady();

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "miner", "fixtures");

function neuron(
  uid: number,
  hotkey: string,
  ip = "127.0.0.1",
  port = 9,
  validatorPermit = false,
): Neuron {
  return {
    uid,
    hotkey,
    coldkey: hotkey,
    stake: validatorPermit ? 1000 : 0,
    validatorPermit,
    axon: { ip, port, ipType: 4, protocol: 4, version: 0 },
    lastUpdate: 0,
  };
}

/** A validator on a fresh small simulation (600 s: 120 publishes), state kept in memory. */
function makeValidator(
  overrides: Partial<ValidatorDeps> & Pick<ValidatorDeps, "directory" | "client">,
  args: string[] = [],
): { validator: Validator; store: ValidatorStore } {
  const store = ValidatorStore.open(":memory:");
  const validator = new Validator({
    options: { ...parseValidatorArgs(["--local", ...args]), saveIntervalSeconds: 3600 },
    config: { ...smallPreset(), duration: 600e9 },
    createMarket: (c, seed): Market =>
      watchedMarket(SimEngine.create({ config: c, seed, threads: 1 }), {}),
    store,
    ...quietParts(),
    ...overrides,
  });
  return { validator, store };
}

/** An answer with no instructions, 0.1 s after the query. */
function emptyReply(request: MinerRequest): MinerReply {
  return {
    uid: request.uid,
    outcome: "ok",
    processTime: 0.1,
    message: "",
    checked: {
      accepted: [],
      dropped: 0,
      firstDrop: null,
      foreignCancellations: 0,
      discarded: null,
      refused: false,
    },
  };
}

Deno.test("the validator queries neither its own uid nor axons at 0.0.0.0 (network.md §9 #3)", async () => {
  const own = "5Validator"; // quietParts' hotkey
  const directory = new StaticNeuronDirectory([
    neuron(0, "5MinerAtZero", "0.0.0.0", 8091), // registered, never served a reachable axon
    neuron(1, own, "127.0.0.1", 8092, true), // the validator itself, with a reachable axon
    neuron(2, "5MinerServing", "127.0.0.1", 8093),
    // The small config has accounts for uids 0-3 only: uid 4 has none to be told about.
    neuron(4, "5MinerWithoutAccount", "127.0.0.1", 8094),
  ]);
  const queried: { uid: number; ip: string; port: number; hotkey: string }[][] = [];
  const client: MinerClient = {
    query: (requests) => {
      queried.push(requests.map((r) => ({ uid: r.uid, ...r.target })));
      return Promise.resolve(requests.map(emptyReply));
    },
  };
  const { validator, store } = makeValidator({ directory, client, hotkey: own });
  try {
    await validator.start();
    for (let i = 0; i < 3; i++) await validator.round();
    assert.deepEqual(
      queried,
      [0, 1, 2].map(() => [{ uid: 2, ip: "127.0.0.1", port: 8093, hotkey: "5MinerServing" }]),
      "each round queries the serving miner only",
    );
    assert.equal(validator.lastAnswered, 1);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("only a simulation's first state update tells the miner the simulation started", async () => {
  const directory = new StaticNeuronDirectory([0, 1].map((uid) => neuron(uid, `5Miner${uid}`)));
  const starts: number[][] = [];
  const client: MinerClient = {
    query: (requests) => {
      starts.push(
        requests.filter((r) =>
          (r.state.notices?.[r.uid] ?? []).some((e) => e.type === "EVENT_SIMULATION_START")
        ).map((r) => r.uid),
      );
      return Promise.resolve(requests.map(emptyReply));
    },
  };
  const { validator, store } = makeValidator({ directory, client });
  try {
    await validator.start();
    for (let i = 0; i < 3; i++) await validator.round();
    assert.deepEqual(starts, [[0, 1], [], []]);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("instructions dropped one by one are logged with the first reason, once per uid", async () => {
  const directory = new StaticNeuronDirectory([neuron(2, "5MinerServing", "127.0.0.1", 8093)]);
  // 22 market orders on book 0 and one on a book the simulation lacks, every round.
  const order = {
    type: "PLACE_ORDER_MARKET",
    agentId: 2,
    bookId: 0,
    direction: 0,
    quantity: 1,
    clientOrderId: null,
  };
  const instructions = [...Array(22).fill(order), { ...order, bookId: 7 }];
  const client: MinerClient = {
    query: (requests, _timeout, check) =>
      Promise.resolve(requests.map((request) => ({
        ...emptyReply(request),
        checked: check(request.uid, { agent_id: request.uid, instructions }),
      }))),
  };
  const lines: string[] = [];
  const { validator, store } = makeValidator({
    directory,
    client,
    log: (level, message) => void lines.push(`${level} ${message}`),
  });
  try {
    await validator.start();
    for (let i = 0; i < 3; i++) await validator.round();
    const drops = lines.filter((l) => l.includes("of its instructions dropped"));
    assert.deepEqual(drops, [
      "info uid 2: 3 of its instructions dropped, the first being instruction 20: more than 20 " +
      "instructions on book 0 (later drops of this uid are logged at debug level)",
      "debug uid 2: 3 of its instructions dropped, the first being instruction 20: more than 20 " +
      "instructions on book 0",
      "debug uid 2: 3 of its instructions dropped, the first being instruction 20: more than 20 " +
      "instructions on book 0",
    ]);
  } finally {
    validator.close();
    store.close();
  }
});

/** The value of the one sample of `family` whose labels include all of `labels`. */
function sample(text: string, family: string, labels: Record<string, string>): number | null {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${family}{`)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return null;
}

Deno.test("a query refused by a miner's blacklist counts as a rejection, not a failure (network.md §9 #13)", async () => {
  const validatorKey = Keypair.fromUri("//Alice");
  const keys = ["//Bob", "//Charlie", "//Dave"].map((uri) => Keypair.fromUri(uri));
  // uid 0 does not know the validator; uid 1 knows it without a permit; uid 2 accepts it.
  const callers = [
    [],
    [neuron(9, validatorKey.ss58Address, "127.0.0.1", 9, false)],
    [neuron(9, validatorKey.ss58Address, "127.0.0.1", 9, true)],
  ];
  const miners: RunningMiner[] = [];
  try {
    for (let uid = 0; uid < 3; uid++) {
      miners.push(
        await startMiner({
          hotkey: keys[uid],
          uid,
          directory: new StaticNeuronDirectory([
            { ...neuron(uid, keys[uid].ss58Address), axon: null },
            ...callers[uid],
          ]),
          netuid: 79,
          agent: { path: FIXTURES, name: "FixtureAgent", params: "" },
          port: 0,
          host: "127.0.0.1",
          metricsPort: null,
          log: () => {},
        }),
      );
    }
    // uid 3: a port nothing listens on, the plain failure to compare with.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const miner3 = Keypair.fromUri("//Eve");
    const directory = new StaticNeuronDirectory([
      ...miners.map((m, uid) => neuron(uid, keys[uid].ss58Address, "127.0.0.1", m.port)),
      neuron(3, miner3.ss58Address, "127.0.0.1", closedPort),
    ]);

    const dendriteClient = new DendriteMinerClient(new Dendrite(validatorKey));
    const rounds: MinerReply[][] = [];
    const client: MinerClient = {
      query: async (requests, timeout, check) => {
        const replies = await dendriteClient.query(requests, timeout, check);
        rounds.push(replies);
        return replies;
      },
    };
    const metrics = new ValidatorMetrics({
      wallet: validatorKey.ss58Address,
      netuid: 79,
      info: {},
    });
    const { validator, store } = makeValidator({
      directory,
      client,
      metrics,
      hotkey: validatorKey.ss58Address,
    });
    try {
      await validator.start();
      // Per-uid query statistics are reported every 100 publishes.
      for (let i = 0; i < 100; i++) await validator.round();

      const first = new Map(rounds[0].map((r) => [r.uid, r]));
      assert.deepEqual(
        [0, 1, 2, 3].map((uid) => first.get(uid)?.outcome),
        ["rejected", "rejected", "ok", "failure"],
        rounds[0].map((r) => `${r.uid}: ${r.outcome} ${r.message}`).join("\n"),
      );
      assert.match(first.get(0)!.message, /blacklisted: Unrecognized hotkey/);
      assert.match(first.get(1)!.message, /blacklisted: Non-validator hotkey/);
      assert.ok(
        rounds.every((round) =>
          round.map((r) => r.outcome).join() === "rejected,rejected,ok,failure"
        ),
        "the same outcomes in every round",
      );

      const text = await metrics.registry.metrics();
      const queries = (outcome: string) =>
        sample(text, "validator_miner_queries_total", { outcome });
      assert.equal(queries("rejected"), 200);
      assert.equal(queries("failure"), 100, "only the closed port counts as a failure");
      assert.equal(queries("ok"), 100);
      const gauge = (uid: number, name: string) =>
        sample(text, "miner_gauges", { agent_id: String(uid), miner_gauge_name: name });
      for (const uid of [0, 1]) {
        assert.equal(gauge(uid, "requests"), 100, `uid ${uid} requests`);
        assert.equal(gauge(uid, "rejections"), 100, `uid ${uid} rejections`);
        assert.equal(gauge(uid, "failures"), 0, `uid ${uid} failures`);
        assert.equal(gauge(uid, "success"), 0, `uid ${uid} success`);
      }
      assert.equal(gauge(2, "success"), 100);
      assert.equal(gauge(2, "rejections"), 0);
      assert.equal(gauge(3, "failures"), 100);
      assert.equal(gauge(3, "rejections"), 0);
    } finally {
      validator.close();
      store.close();
    }
  } finally {
    for (const miner of miners) await miner.stop();
  }
});

Deno.test("a response that is not valid or not the uid's counts as a failure; one voided by an instruction as an answer (network.md §3.5, §3.6)", async () => {
  const order = (agentId: number) => ({
    type: "PLACE_ORDER_MARKET",
    agentId,
    bookId: 0,
    direction: 0,
    quantity: 1,
    clientOrderId: null,
  });
  // uid 0 names another uid, uid 1 sends a quantity the schema refuses, uid 2 an instruction for
  // another agent (void instructions, the response stands), uid 3 a valid order.
  const responses: Record<number, unknown> = {
    0: { agent_id: 3, instructions: [order(0)] },
    1: { agent_id: 1, instructions: [{ ...order(1), quantity: -1 }] },
    2: { agent_id: 2, instructions: [order(3)] },
    3: { agent_id: 3, instructions: [order(3)] },
  };
  const client: MinerClient = {
    query: (requests, _timeout, check) =>
      Promise.resolve(requests.map((request) => ({
        ...emptyReply(request),
        checked: check(request.uid, responses[request.uid]),
      }))),
  };
  const metrics = new ValidatorMetrics({ wallet: "5Validator", netuid: 79, info: {} });
  const directory = new StaticNeuronDirectory(
    [0, 1, 2, 3].map((uid) => neuron(uid, `5Miner${uid}`)),
  );
  const { validator, store } = makeValidator({ directory, client, metrics });
  try {
    await validator.start();
    // Per-uid query statistics are reported every 100 publishes.
    for (let i = 0; i < 100; i++) await validator.round();
    const text = await metrics.registry.metrics();
    const gauge = (uid: number, name: string) =>
      sample(text, "miner_gauges", { agent_id: String(uid), miner_gauge_name: name });
    for (const uid of [0, 1]) {
      assert.equal(gauge(uid, "requests"), 100, `uid ${uid} requests`);
      assert.equal(gauge(uid, "failures"), 100, `uid ${uid} failures`);
      assert.equal(gauge(uid, "success"), 0, `uid ${uid} success`);
      assert.equal(gauge(uid, "call_time"), 0, `uid ${uid} call_time`);
    }
    for (const uid of [2, 3]) {
      assert.equal(gauge(uid, "failures"), 0, `uid ${uid} failures`);
      assert.equal(gauge(uid, "success"), 100, `uid ${uid} success`);
      // The mean of 100 times of 0.1 s, summed in floating point.
      assert.ok(Math.abs(gauge(uid, "call_time")! - 0.1) < 1e-9, `uid ${uid} call_time`);
    }
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("the injected delay is the §3.5 formula of the reply's process time plus each instruction's own delay", async () => {
  // uid → measured process time and the `delay` of each instruction (undefined = not given).
  const plan: Record<number, { processTime: number; delays: (number | undefined)[] }> = {
    0: { processTime: 0.75, delays: [undefined, 7_000, 0] },
    1: { processTime: 0.01, delays: [5] },
    2: { processTime: 0.3, delays: [0] },
    3: { processTime: 3, delays: [1_000] },
  };
  const client: MinerClient = {
    query: (requests, _timeout, check) =>
      Promise.resolve(requests.map((r): MinerReply => ({
        uid: r.uid,
        outcome: "ok",
        processTime: plan[r.uid].processTime,
        message: "",
        checked: check(r.uid, {
          agent_id: r.uid,
          instructions: plan[r.uid].delays.map((delay, i) => ({
            type: "PLACE_ORDER_MARKET",
            agentId: r.uid,
            bookId: 0,
            direction: i % 2,
            quantity: 1,
            clientOrderId: 100 * r.uid + i,
            ...(delay === undefined ? {} : { delay }),
          })),
        }),
      }))),
  };
  const injected: { agentId: number; delayNs: number; orders: number[] }[] = [];
  const directory = new StaticNeuronDirectory(
    [0, 1, 2, 3].map((uid) => neuron(uid, `5Miner${uid}`)),
  );
  const { validator, store } = makeValidator(
    {
      directory,
      client,
      createMarket: (c, seed): Market => {
        const market = watchedMarket(SimEngine.create({ config: c, seed, threads: 1 }), {});
        const inject = market.inject;
        market.inject = (agentId: number, instructions: Instruction[], delayNs: number) => {
          injected.push({
            agentId,
            delayNs,
            orders: instructions.map((i) => (i as { clientOrderId: number }).clientOrderId),
          });
          inject(agentId, instructions, delayNs);
        };
        return market;
      },
    },
    ["-t", "3"],
  );
  // timeout 3 s: max(floor(500 000 000 × (processTime / 3)), 10 000 000) + instruction delay.
  const expected = [
    { agentId: 0, delayNs: 125_000_000, orders: [0, 2] },
    { agentId: 0, delayNs: 125_007_000, orders: [1] },
    { agentId: 1, delayNs: 10_000_005, orders: [100] }, // 1 666 666 → the 10 ms minimum
    // 0.3 / 3 is 0.09999999999999999 in binary floating point; the reference evaluates
    // max_delay × (process_time / timeout) in that order (network.md §10.6 D4), so 49 999 999.
    { agentId: 2, delayNs: 49_999_999, orders: [200] },
    { agentId: 3, delayNs: 500_001_000, orders: [300] }, // the whole timeout: max_delay
  ];
  const sorted = (list: typeof injected) =>
    [...list].sort((a, b) => a.agentId - b.agentId || a.delayNs - b.delayNs);
  try {
    await validator.start();
    for (let round = 0; round < 2; round++) {
      injected.length = 0;
      await validator.round();
      assert.deepEqual(sorted(injected), expected, `round ${round + 1}`);
    }
    for (const { agentId, delayNs } of expected) {
      const own = delayNs - executionDelay(plan[agentId].processTime, 3);
      assert.ok(plan[agentId].delays.map((d) => d ?? 0).includes(own), `uid ${agentId}`);
    }
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("the answered count is the last round's: a miner that stops answering leaves it", async () => {
  const directory = new StaticNeuronDirectory([0, 1].map((uid) => neuron(uid, `5Miner${uid}`)));
  let round = 0;
  const client: MinerClient = {
    query: (requests) =>
      Promise.resolve(
        requests.map((r): MinerReply =>
          round > 1 && r.uid === 1
            ? { uid: 1, outcome: "timeout", processTime: 3, message: "timed out", checked: null }
            : emptyReply(r)
        ),
      ),
  };
  const { validator, store } = makeValidator({ directory, client });
  try {
    await validator.start();
    const answered: number[] = [];
    for (round = 1; round <= 3; round++) {
      await validator.round();
      answered.push(validator.lastAnswered);
    }
    assert.deepEqual(answered, [2, 1, 1]);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("the unreachable alert needs 12 publishes in a row without an answer; one answer starts the count over", async () => {
  const alerts: string[] = [];
  const directory = new StaticNeuronDirectory([neuron(0, "5Miner0")]);
  // Silent for 11 publishes, one answer, silent for 11 more, then a 12th: the alert comes then.
  const answersAt = new Set([12]);
  let round = 0;
  const client: MinerClient = {
    query: (requests) =>
      Promise.resolve(
        requests.map((r): MinerReply =>
          answersAt.has(round) ? emptyReply(r) : {
            uid: r.uid,
            outcome: "timeout",
            processTime: 3,
            message: "timed out",
            checked: null,
          }
        ),
      ),
  };
  const { validator, store } = makeValidator({
    directory,
    client,
    alerts: loggingAlerter(alerts),
  });
  try {
    await validator.start();
    const raisedAt: number[] = [];
    for (round = 1; round <= 24; round++) {
      const before = alerts.filter((l) => l.startsWith("ALERT miners-unreachable")).length;
      await validator.round();
      const after = alerts.filter((l) => l.startsWith("ALERT miners-unreachable")).length;
      if (after > before) raisedAt.push(round);
    }
    assert.deepEqual(raisedAt, [24], alerts.join("\n"));
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("the weights interval is in seconds: a 600 s interval sets weights once over rounds 0.7 s apart", async () => {
  const weights = new RecordingWeightSetter();
  const directory = new StaticNeuronDirectory([0, 1].map((uid) => neuron(uid, `5Miner${uid}`)));
  const client: MinerClient = { query: (requests) => Promise.resolve(requests.map(emptyReply)) };
  const { validator, store } = makeValidator(
    { directory, client, weights },
    ["--neuron.weights_interval", "600"],
  );
  try {
    await validator.start();
    for (let i = 0; i < 3; i++) {
      await validator.round();
      await validator.settled();
      // Longer than 600 ms, far shorter than 600 s.
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    assert.equal(weights.submissions.length, 1);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("weights are submitted with version key 19 (sn-79 0.1.9)", async () => {
  assert.equal(WEIGHTS_VERSION_KEY, 19);
  const weights = new RecordingWeightSetter();
  const directory = new StaticNeuronDirectory(
    [0, 1, 2, 3].map((uid) => neuron(uid, `5Miner${uid}`)),
  );
  const client: MinerClient = { query: (requests) => Promise.resolve(requests.map(emptyReply)) };
  const { validator, store } = makeValidator(
    { directory, client, weights },
    ["--neuron.weights_interval", "0"],
  );
  try {
    await validator.start();
    assert.equal(weights.submissions.length, 0, "nothing before the first publish");
    for (let i = 0; i < 3; i++) {
      await validator.round();
      await validator.settled();
    }
    assert.equal(weights.submissions.length, 3, "one submission per round at interval 0");
    for (const submission of weights.submissions) {
      assert.equal(submission.versionKey, 19);
      assert.deepEqual(submission.uids, [0, 1, 2, 3]);
      assert.equal(submission.weights.reduce((a, b) => a + b, 0).toFixed(12), (1).toFixed(12));
    }
  } finally {
    validator.close();
    store.close();
  }
});
