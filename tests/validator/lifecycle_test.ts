import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type SimConfig, smallPreset } from "../../sim/config.ts";
import { type PublishState, SimEngine } from "../../sim/engine.ts";
import { type Neuron, StaticNeuronDirectory } from "../../bittensor/neurons.ts";
import { parseValidatorArgs } from "../../validator/options.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { Alerter } from "../../validator/pagerduty.ts";
import { loggingAlerter, quietParts } from "./quiet_parts.ts";
import { answering } from "./answering_client.ts";
import {
  type Market,
  sameMarket,
  StartInterrupted,
  Validator,
  type ValidatorDeps,
  watchedMarket,
} from "../../validator/validator.ts";
import type { MinerClient } from "../../validator/miner_client.ts";
import { StatusBoard, type StatusView } from "../../validator/status.ts";
import { parseStateUpdate, simulationConfigFor, stateForAgent } from "../../agents/sdk/state.ts";

const neurons: Neuron[] = [0, 1].map((uid) => ({
  uid,
  hotkey: `5Miner${uid}`,
  coldkey: "",
  stake: 0,
  validatorPermit: false,
  axon: { ip: "127.0.0.1", port: 9, ipType: 4, protocol: 4, version: 0 },
  lastUpdate: 0,
}));

/** A client whose miners `uids` buy 1 on every book each publish; the others answer nothing. */
const buyers = (uids: number[]) =>
  answering(({ uid, state }) => ({
    agent_id: uid,
    instructions: !uids.includes(uid) ? [] : Object.keys(state.books).map((book) => ({
      type: "PLACE_ORDER_MARKET",
      agentId: uid,
      bookId: Number(book),
      direction: 0,
      quantity: 1,
      clientOrderId: null,
    })),
  }), 0.1);

/** uid 0 buys 1 on every book each publish; uid 1 answers with nothing. */
const client = buyers([0]);
/** Both miners buy, so both are scored. */
const bothTrade = buyers([0, 1]);

/**
 * A validator of the two `neurons` over `store`, run with `--local` and `flags`: each market a
 * fresh engine, `client` for the miners, the state saved every hour and the other parts quiet,
 * unless `parts` gives its own.
 */
function localValidator(
  store: ValidatorStore,
  config: SimConfig,
  flags: string[],
  parts: Partial<Omit<ValidatorDeps, "options">> & { saveIntervalSeconds?: number } = {},
): Validator {
  const { saveIntervalSeconds = 3600, ...others } = parts;
  return new Validator({
    options: { ...parseValidatorArgs(["--local", ...flags]), saveIntervalSeconds },
    config,
    createMarket: (c, seed): Market => SimEngine.create({ config: c, seed, threads: 1 }),
    directory: new StaticNeuronDirectory(neurons),
    client,
    store,
    ...quietParts(),
    ...others,
  });
}

Deno.test("a new simulation follows the last one with the next seed and a re-read config; scores carry over", async () => {
  const first = { ...smallPreset(), duration: 30e9 };
  const reloaded = { ...first, books: 3 };
  const published: PublishState[] = [];
  const seeds: number[] = [];
  const store = ValidatorStore.open(":memory:");
  const validator = localValidator(store, first, ["--simulations", "2", "--seed", "41"], {
    reloadConfig: () => Promise.resolve(reloaded),
    createMarket: (c, seed): Market => {
      seeds.push(seed);
      return watchedMarket(SimEngine.create({ config: c, seed, threads: 1 }), {
        advanced: (state) => state !== null && published.push(state),
      });
    },
  });
  try {
    await validator.start();
    await validator.run();
    assert.deepEqual(seeds, [41, 42]);
    assert.equal(published.length, 12, "two simulations of six publishes");
    assert.equal(published[5].books.length, 2);
    assert.ok(published[5].final);
    assert.equal(published[6].books.length, 3, "the second simulation runs the re-read config");
    assert.equal(published[6].timestamp, 5e9, "its clock starts again");
    const saved = store.load()!;
    assert.equal(saved.snapshot.step, 12);
    assert.equal(saved.snapshot.simulation.index, 2);
    assert.equal((saved.snapshot.simulation.config as { books: number }).books, 3);
    const scoring = saved.snapshot.scoring!;
    assert.equal(scoring.books, 3);
    assert.equal(scoring.miners[0].inventory.length, 12, "the inventory window spans both");
    // Each saved observation holds the books of its own publish, not the third book as 0.
    assert.deepEqual(
      scoring.miners[0].inventory.map((e) => e.values.length),
      [2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3],
    );
    assert.ok(validator.scores.get(0)! > 0, "the trading miner's score carried over");
    assert.equal(validator.scores.get(1), 0);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("at the end the validator says it waits for a weight submission still on its way", async () => {
  const logged: string[] = [];
  const submitted: number[][] = [];
  let release = () => {};
  const store = ValidatorStore.open(":memory:");
  const validator = localValidator(
    store,
    { ...smallPreset(), duration: 10e9 },
    ["--simulations", "1", "--neuron.weights_interval", "0"],
    {
      // The chain takes its time: the first submission settles only when the test releases it.
      weights: {
        setWeights: (uids) => {
          submitted.push(uids);
          if (submitted.length > 1) return Promise.resolve({ accepted: true, message: "set" });
          return new Promise((resolve) => {
            release = () => resolve({ accepted: true, message: "set" });
          });
        },
      },
      log: (_level, message) => logged.push(message),
    },
  );
  try {
    await validator.start();
    const running = validator.run();
    const waiting = () => logged.some((m) => m.includes("waiting for the weight submission"));
    for (let i = 0; i < 2000 && !waiting(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    release();
    assert.ok(waiting(), "the wait was announced");
    await running;
    // The one in flight, awaited, then the final scores' weights.
    assert.equal(submitted.length, 2);
    assert.equal(logged.filter((m) => m.startsWith("weights set")).length, 2);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("a stop during the start-up replay ends it between publishes and saves nothing", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.db`;
  const make = (store: ValidatorStore) =>
    localValidator(store, { ...smallPreset(), duration: 600e9 }, []);
  try {
    const first = ValidatorStore.open(path);
    const running = make(first);
    await running.start();
    for (let i = 0; i < 5; i++) await running.round();
    running.save();
    running.close();
    first.close();

    const second = ValidatorStore.open(path);
    const resumed = make(second);
    const stop = new AbortController();
    stop.abort();
    await assert.rejects(
      resumed.start(stop.signal),
      (e: Error) => e instanceof StartInterrupted && /at publish 1 of 5/.test(e.message),
    );
    resumed.close();
    assert.equal(second.load()!.snapshot.step, 5, "the saved state is as it was");
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a start-up replay that fails starts the next simulation with the volume windows re-based", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state.db`;
  /** The seed of each market created. */
  const seeds: number[] = [];
  const make = (store: ValidatorStore, failReplay: boolean) =>
    localValidator(store, { ...smallPreset(), duration: 600e9 }, [], {
      createMarket: (c, seed): Market => {
        seeds.push(seed);
        const engine = SimEngine.create({ config: c, seed, threads: 1 });
        return failReplay ? failingMarket(engine, 1) : engine;
      },
    });
  /** The volume bucket keys (ns) of uid 0 on book 0. */
  const bucketKeys = (store: ValidatorStore) => {
    const scoring = store.load()!.snapshot.scoring as {
      miners: { volumes: { total: [number, number][] }[] }[];
    };
    return scoring.miners[0].volumes[0].total.map(([key]) => key);
  };
  try {
    const first = ValidatorStore.open(path);
    const running = make(first, false);
    await running.start();
    for (let i = 0; i < 5; i++) await running.round();
    running.save();
    running.close();
    const before = bucketKeys(first);
    first.close();
    assert.ok(before.length > 0 && before.every((key) => key > 0), `${before}`);

    const second = ValidatorStore.open(path);
    const resumed = make(second, true);
    await resumed.start();
    resumed.save();
    resumed.close();
    const after = bucketKeys(second);
    const point = second.load()!.snapshot.simulation;
    second.close();
    // Shifted back by the lost simulation's last publish (25 s): they sit at or before the new
    // simulation's start, where the one-hour window lets them age out.
    assert.deepEqual(after, before.map((key) => key - 25e9));
    // The next simulation runs on the next seed, as saved: the lost one's market is not rebuilt.
    assert.deepEqual(seeds, [1, 1, 2]);
    assert.deepEqual([point.index, point.seed, point.publishes], [1, 2, 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a simulation's end re-bases the volume windows to the next one's start", async () => {
  const store = ValidatorStore.open(":memory:");
  const config = { ...smallPreset(), duration: 25e9 };
  const validator = localValidator(store, config, ["--simulations", "1"]);
  try {
    await validator.start();
    await validator.run();
    const scoring = store.load()!.snapshot.scoring as {
      miners: { volumes: { total: [number, number][] }[] }[];
    };
    const keys = scoring.miners[0].volumes[0].total.map(([key]) => key);
    // uid 0 traded at publishes 5 s to 25 s, all in the bucket keyed by the end of its 600 s
    // sampling interval; shifted back by the simulation's last publish (25 s), as the next
    // simulation's clock starts at 0 again.
    assert.deepEqual(keys, [600e9 - 25e9]);
  } finally {
    validator.close();
    store.close();
  }
});

/** `engine` as a market whose `advance` throws at its `failAt`-th call (counting from 1). */
function failingMarket(engine: SimEngine, failAt: number): Market {
  let calls = 0;
  return {
    advance: () => {
      if (++calls === failAt) throw new Error("native engine failure");
      return engine.advance();
    },
    inject: (agentId, instructions, delayNs) => engine.inject(agentId, instructions, delayNs),
    setLiveFundamental: (price) => engine.setLiveFundamental(price),
    extendFeed: (series, prices) => engine.extendFeed(series, prices),
    close: () => engine.close(),
  };
}

Deno.test("a failed publish round abandons its simulation and the next one starts; repeated failures stop", async () => {
  const lines: string[] = [];
  const seeds: number[] = [];
  let reloads = 0;
  const make = (failing: (seed: number) => number | null, simulations: string) => {
    const store = ValidatorStore.open(":memory:");
    const config = { ...smallPreset(), duration: 30e9 };
    const validator = localValidator(
      store,
      config,
      ["--simulations", simulations, "--seed", "41"],
      {
        // As the command does; the second re-read finds the file broken.
        reloadConfig: () =>
          ++reloads === 2 ? Promise.reject(new Error("bad file")) : Promise.resolve(config),
        createMarket: (c, seed): Market => {
          seeds.push(seed);
          lines.push(`market ${seed}`);
          const engine = SimEngine.create({ config: c, seed, threads: 1 });
          const at = failing(seed);
          return at === null ? engine : failingMarket(engine, at);
        },
        alerts: loggingAlerter(lines),
      },
    );
    return { validator, store };
  };

  const once = make((seed) => seed === 41 ? 3 : null, "4");
  try {
    await once.validator.start();
    await once.validator.run();
    assert.deepEqual(seeds, [41, 42, 43, 44], "41 abandoned at its third publish (it counts)");
    assert.match(
      lines[1],
      /^ALERT simulation: publish round failed: native engine failure; simulation 0 abandoned/,
    );
    // The alert stays open until a simulation runs to its end (resolving it as the next one
    // starts could come before its trigger is even sent); the broken config file has an alert of
    // its own, resolved by the next re-read that works.
    assert.deepEqual(lines.slice(2), [
      "market 42",
      "RESOLVED simulation",
      "ALERT config: new simulation config unusable, keeping the previous one: bad file",
      "market 43",
      "RESOLVED config",
      "market 44",
    ]);
    assert.equal(once.store.load()!.snapshot.simulation.index, 4);
  } finally {
    once.validator.close();
    once.store.close();
  }

  seeds.length = 0;
  lines.length = 0;
  reloads = 0;
  const always = make(() => 1, "10");
  try {
    await always.validator.start();
    await assert.rejects(always.validator.run(), /native engine failure/);
    assert.deepEqual(seeds, [41, 42, 43]);
    assert.match(lines.at(-1)!, /3 rounds in a row, stopping$/);
  } finally {
    always.validator.close();
    always.store.close();
  }

  // Three failures with working rounds between them are not in a row: the run goes on.
  seeds.length = 0;
  reloads = 0;
  const apart = make((seed) => seed <= 43 ? 3 : null, "4");
  try {
    await apart.validator.start();
    await apart.validator.run();
    assert.deepEqual(seeds, [41, 42, 43, 44]);
    assert.equal(apart.store.load()!.snapshot.simulation.index, 4);
  } finally {
    apart.validator.close();
    apart.store.close();
  }
});

Deno.test("a round failing between its publish and its scoring saves the windows as they are live", async () => {
  let queries = 0;
  const failing: MinerClient = {
    query: (requests, timeout, check) =>
      ++queries === 4
        ? Promise.reject(new Error("query failure"))
        : client.query(requests, timeout, check),
  };
  const store = ValidatorStore.open(":memory:");
  const validator = localValidator(
    store,
    { ...smallPreset(), duration: 30e9 },
    ["--simulations", "2", "--seed", "41"],
    {
      saveIntervalSeconds: 0,
      client: failing,
      alerts: loggingAlerter(),
    },
  );
  try {
    await validator.start();
    await validator.run();
    type Windows = { miners: { inventory: { timestamp: number }[] }[] };
    const saved = (store.load()!.snapshot.scoring as Windows).miners[0].inventory;
    const times = saved.map((entry) => entry.timestamp);
    assert.equal(times.length, queries - 1, `one row per scored round: ${times}`);
    // Each simulation's publishes are 5 s apart; a row saved a step off repeats its neighbour.
    assert.ok(times.every((t, i) => i === 0 || t !== times[i - 1]), `${times}`);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("the progress line names a miner as the leader, never a uid that is not one", async () => {
  const logged: string[] = [];
  const store = ValidatorStore.open(":memory:");
  const miners = [3, 5].map((uid) => ({ ...neurons[0], uid, hotkey: `5Miner${uid}` }));
  // 12 publishes: one progress line
  const config = { ...smallPreset(), duration: 60e9 };
  const validator = localValidator(store, config, ["--simulations", "1"], {
    directory: new StaticNeuronDirectory(miners),
    log: (_level, message) => logged.push(message),
  });
  try {
    await validator.start();
    await validator.run();
    const progress = logged.filter((m) => m.includes("miners answered"));
    assert.equal(progress.length, 1, logged.join("\n"));
    // Neither trades (the client buys for uid 0 only): both score 0, and a tie goes to the lower uid.
    assert.match(progress[0], /miners answered, round [\d.]+ s, best uid 3 score 0\.000000$/);
    // Told after the 12th publish, not the first.
    assert.match(progress[0], / step 12: /);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("a resumed simulation keeps its saved configuration and says the new one waits", async () => {
  const store = ValidatorStore.open(":memory:");
  const start = async (duration: number, logged: string[], flags: string[] = []) => {
    const validator = localValidator(store, { ...smallPreset(), duration, seed: 7 }, flags, {
      log: (_level, message) => logged.push(message),
    });
    await validator.start();
    return validator;
  };
  try {
    const first = await start(600e9, []);
    for (let i = 0; i < 3; i++) await first.round();
    first.save();
    first.close();
    const same: string[] = [];
    (await start(600e9, same)).close();
    assert.ok(
      !same.some((m) => m.includes("resumes with its saved configuration")),
      same.join("\n"),
    );
    const changed: string[] = [];
    const second = await start(900e9, changed);
    assert.ok(
      changed.some((m) => m.includes("simulation 0 resumes with its saved configuration")),
      changed.join("\n"),
    );
    second.close();
    // A seed names the first simulation of a new state: a saved one's seeds go on, and saying the
    // config changed would promise it for the next simulation.
    const seeded: string[] = [];
    (await start(600e9, seeded, ["--seed", "42"])).close();
    assert.ok(!seeded.some((m) => m.includes("resumes with its saved configuration")));
    assert.ok(
      seeded.some((m) =>
        m.includes("--seed 42 applies to a new state only") && m.includes("has seed 7")
      ),
      seeded.join("\n"),
    );
    // A shorter window drops observations for good: said, not done silently.
    const shorter: string[] = [];
    (await start(600e9, shorter, ["--scoring.sharpe.lookback", "2"])).close();
    assert.ok(
      shorter.some((m) =>
        /lookback 2 keeps the last 2 of the 3 saved inventory observations/.test(m)
      ),
      shorter.join("\n"),
    );
  } finally {
    store.close();
  }
});

/** A miner's buy of 1 at 1, far below the market: it rests deep in the book. */
function deepBid(uid: number, clientOrderId: number | null) {
  const order = { type: "PLACE_ORDER_LIMIT", agentId: uid, bookId: 0, direction: 0 };
  return { ...order, quantity: 1, price: 1, clientOrderId };
}

Deno.test("a replay that loses a miner's resting order is reported, though the prices match", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "taos-replay-accounts-" });
  const path = join(dir, "state.db");
  // Far below the market: the order rests deep in the book and leaves the best prices alone.
  const deepBids = answering(({ uid }) => ({
    agent_id: uid,
    instructions: [deepBid(uid, null)],
  }), 0.05);
  const alerted: string[] = [];
  const open = (miners: MinerClient) => {
    const store = ValidatorStore.open(path);
    const config = { ...smallPreset(), duration: 600e9 };
    return { store, validator: validatorOn(store, config, [], alerted, miners) };
  };
  try {
    const first = open(deepBids);
    await first.validator.start();
    for (let i = 0; i < 8; i++) await first.validator.round();
    first.validator.save();
    first.validator.close();
    first.store.close();
    const raw = new DatabaseSync(path);
    raw.exec("DELETE FROM injections WHERE publish = 2");
    raw.close();
    const second = open(client);
    await second.validator.start();
    second.validator.close();
    second.store.close();
    assert.ok(
      alerted.some((line) => line.includes("the replayed market differs from the one saved")),
      alerted.join("\n"),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("order ids past 2^53 are logged, reloaded and told back to the miner", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "taos-big-ids-" });
  const path = join(dir, "state.db");
  // A nanosecond clock as the client order id, and a cancellation of an id no order has.
  const bigIds = answering(({ uid }) => ({
    agent_id: uid,
    instructions: [deepBid(uid, 1.7e18), {
      type: "CANCEL_ORDERS",
      agentId: uid,
      bookId: 0,
      cancellations: [{ orderId: 2 ** 60, volume: null }],
    }],
  }), 0.05);
  try {
    const store = ValidatorStore.open(path);
    const config = { ...smallPreset(), duration: 600e9 };
    const validator = validatorOn(store, config, [], [], bigIds);
    let last: PublishState | null = null;
    await validator.start();
    for (let i = 0; i < 6; i++) await validator.round();
    validator.save();
    validator.close();
    store.close();
    const reopened = ValidatorStore.open(path);
    const injected = reopened.load()!.injections.flatMap((i) => i.instructions);
    reopened.close();
    assert.ok(
      injected.some((i) => "clientOrderId" in i && i.clientOrderId === 1.7e18),
      JSON.stringify(injected).slice(0, 600),
    );
    // What the miner hears of it: the refusal, with the id it sent.
    const engine = SimEngine.create({ config, seed: 1, threads: 1 });
    try {
      engine.advance();
      engine.inject(0, [
        {
          type: "PLACE_ORDER_LIMIT",
          bookId: 0,
          direction: 0,
          volume: 1,
          price: 1,
          clientOrderId: 1.7e18,
        },
        { type: "CANCEL_ORDERS", bookId: 0, cancellations: [{ orderId: 2 ** 60, volume: null }] },
      ], 0);
      last = engine.advance();
    } finally {
      engine.close();
    }
    const update = parseStateUpdate(stateForAgent(last!, 0, simulationConfigFor(config)));
    const notices = JSON.stringify(update.notices);
    assert.match(notices, /"clientOrderId":1700000000000000000/);
    assert.match(notices, /"orderId":1152921504606847000/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a market fingerprint saved before the accounts were in it is compared without them", () => {
  const rebuilt = "492:302.42/302.87,-/301:0a1b2c3d";
  assert.ok(sameMarket("492:302.42/302.87,-/301", rebuilt));
  assert.ok(sameMarket(rebuilt, rebuilt));
  assert.ok(!sameMarket("492:302.42/302.87,-/301:ffffffff", rebuilt));
  assert.ok(!sameMarket("491:302.42/302.87,-/301", rebuilt));
  assert.ok(!sameMarket("492:302.42/302.87,-/301", undefined));
});

/** A validator of two miners on the small preset over `store`, logging into `logged`. */
function validatorOn(
  store: ValidatorStore,
  config: SimConfig,
  flags: string[],
  logged: string[] = [],
  miners: MinerClient = client,
): Validator {
  return localValidator(store, config, flags, {
    client: miners,
    alerts: new Alerter({ routingKey: null, source: "t", log: (line) => logged.push(line) }),
    log: (_level, message) => logged.push(message),
  });
}

Deno.test("a simulation not begun when the validator stopped runs with the configuration given at the restart", async () => {
  const store = ValidatorStore.open(":memory:");
  try {
    // Stopped right after simulation 0 ended: the saved point is simulation 1 at publish 0.
    const first = validatorOn(store, { ...smallPreset(), duration: 10e9 }, ["--simulations", "1"]);
    await first.start();
    await first.run();
    first.close();
    assert.equal(store.load()!.snapshot.step, 2);
    const second = validatorOn(store, { ...smallPreset(), duration: 20e9 }, ["--simulations", "1"]);
    await second.start();
    await second.run();
    second.close();
    const saved = store.load()!.snapshot;
    assert.equal(saved.simulation.index, 2);
    assert.equal(saved.step, 2 + 4, "simulation 1 ran the 20 s given at the restart");
  } finally {
    store.close();
  }
});

Deno.test("the start names the simulation that starts, fresh or after a save at a simulation's end, not one resumed", async () => {
  const store = ValidatorStore.open(":memory:");
  const startedLines = (logged: string[]) => logged.filter((m) => / started \(seed /.test(m));
  try {
    const config = { ...smallPreset(), duration: 10e9 };
    const freshLog: string[] = [];
    const fresh = validatorOn(store, config, ["--simulations", "1", "--seed", "40"], freshLog);
    await fresh.start();
    assert.deepEqual(startedLines(freshLog), ["simulation 0 started (seed 40)"]);
    await fresh.run();
    fresh.close();
    // Saved as simulation 0 ended: simulation 1, not begun, starts at the restart.
    const boundaryLog: string[] = [];
    const boundary = validatorOn(store, config, ["--simulations", "1"], boundaryLog);
    await boundary.start();
    assert.deepEqual(startedLines(boundaryLog), ["simulation 1 started (seed 41)"]);
    await boundary.round();
    boundary.save();
    boundary.close();
    // Saved mid-way: simulation 1 goes on, nothing starts.
    const midwayLog: string[] = [];
    const midway = validatorOn(store, config, [], midwayLog);
    await midway.start();
    midway.close();
    assert.deepEqual(startedLines(midwayLog), []);
    assert.ok(midwayLog.some((m) => m.startsWith("resuming simulation 1 (seed 41) at publish 1")));
  } finally {
    store.close();
  }
});

Deno.test("the first progress line after a restart has no pace yet and says so rather than 0.0x", async () => {
  const store = ValidatorStore.open(":memory:");
  const progress = (logged: string[]) =>
    logged.filter((m) => / step \d+: .* miners answered/.test(m));
  try {
    const config = { ...smallPreset(), duration: 600e9 };
    const first = validatorOn(store, config, []);
    await first.start();
    // Stopped one publish before a progress line (every 12 publishes).
    for (let i = 0; i < 11; i++) await first.round();
    first.close();
    const logged: string[] = [];
    const second = validatorOn(store, config, [], logged);
    await second.start();
    assert.ok(logged.some((m) => m.startsWith("resuming simulation 0 (seed 1) at publish 11")));
    // Publish 12 is the first this process times: there is no interval to measure a pace over.
    await second.round();
    const [resumed] = progress(logged);
    assert.match(
      resumed ?? "",
      /^simulation 0 t=00:01:00 \(10\.0%, \?x real time, ETA \?\) step 12:/,
    );
    for (let i = 0; i < 12; i++) await second.round();
    const [, later] = progress(logged);
    assert.match(
      later ?? "",
      /^simulation 0 t=00:02:00 \(20\.0%, \d+\.\dx real time, ETA [\d:]+\) /,
    );
    second.close();
  } finally {
    store.close();
  }
});

Deno.test("the progress line's pace and ETA count a slow round's wall time, the round just ended included", async () => {
  const store = ValidatorStore.open(":memory:");
  const slowSeconds = 3;
  let round = 0;
  // The last round before the progress line waits `slowSeconds` for its miners, as one timing out
  // would.
  const oneSlowRound: MinerClient = {
    query: async (requests, timeout, check) => {
      if (++round === 12) await new Promise((resolve) => setTimeout(resolve, slowSeconds * 1000));
      return await client.query(requests, timeout, check);
    },
  };
  try {
    const config = { ...smallPreset(), duration: 600e9 };
    const logged: string[] = [];
    const validator = validatorOn(store, config, [], logged, oneSlowRound);
    await validator.start();
    for (let i = 0; i < 12; i++) await validator.round();
    validator.close();
    const line = logged.find((m) => / step 12: /.test(m)) ?? "";
    const [, pace, eta] = line.match(/, ([\d.]+)x real time, ETA ([\d:]+)\)/) ?? [];
    assert.ok(pace !== undefined && eta !== undefined, line);
    // 60 simulated seconds took at least `slowSeconds` of wall time, whatever the machine's speed.
    assert.ok(Number(pace) <= 60 / slowSeconds, `pace ${pace}x in: ${line}`);
    // The 540 simulated seconds left take at least 540 / 20 = 27 s at that pace.
    const [h, m, s] = eta.split(":").map(Number);
    assert.ok(h * 3600 + m * 60 + s >= 540 / (60 / slowSeconds) - 1, `ETA ${eta} in: ${line}`);
  } finally {
    store.close();
  }
});

Deno.test("a saved configuration that cannot be used starts the next simulation; the old log is never replayed", async () => {
  const store = ValidatorStore.open(":memory:");
  try {
    const config = { ...smallPreset(), duration: 600e9 };
    const first = validatorOn(store, config, []);
    await first.start();
    for (let i = 0; i < 3; i++) await first.round();
    first.close();
    const saved = store.load()!;
    assert.ok(saved.injections.length > 0);
    // As a configuration an older release wrote and this one refuses.
    const unusable = structuredClone(saved.snapshot);
    (unusable.simulation.config as { books: number }).books = 0;
    store.save(unusable, []);
    const logged: string[] = [];
    const second = validatorOn(store, config, [], logged);
    await second.start();
    second.close();
    // As at any simulation's end, the volume windows continue from the lost one's last publish
    // (15 s): uid 0's buckets are shifted back by it.
    const bucketKeys = (scoring: unknown) =>
      (scoring as { miners: { volumes: { total: [number, number][] }[] }[] }).miners[0]
        .volumes[0].total.map(([key]) => key);
    const before = bucketKeys(saved.snapshot.scoring);
    assert.ok(before.length > 0 && before.every((key) => key > 0), `${before}`);
    assert.deepEqual(bucketKeys(store.load()!.snapshot.scoring), before.map((key) => key - 15e9));
    assert.ok(
      logged.some((m) =>
        /ALERT simulation: the saved configuration of simulation 0 is unusable, starting the next one/
          .test(m)
      ),
      logged.join("\n"),
    );
    const after = store.load()!;
    assert.equal(after.snapshot.simulation.index, 1);
    assert.equal(after.snapshot.simulation.publishes, 0);
    assert.deepEqual(after.injections, []);
  } finally {
    store.close();
  }
});

Deno.test("a configuration with fewer miner accounts keeps the others' scores for a later one", async () => {
  const full = { ...smallPreset(), duration: 30e9 };
  // Simulation 1 has no account for uid 1, simulation 2 has them all again.
  const reloads = [{ ...full, remoteAgentCount: 1 }, full];
  const warnings: string[] = [];
  const scoresAtStart: number[][] = [];
  const store = ValidatorStore.open(":memory:");
  const flags = ["--simulations", "3", "--seed", "41"];
  const validator: Validator = localValidator(store, full, flags, {
    reloadConfig: () => Promise.resolve(reloads.shift()!),
    createMarket: (c, seed) => {
      scoresAtStart.push([0, 1].map((uid) => validator.scores.get(uid) ?? NaN));
      return SimEngine.create({ config: c, seed, threads: 1 });
    },
    client: bothTrade,
    log: (level, message) => void (level === "warning" && warnings.push(message)),
  });
  try {
    await validator.start();
    await validator.run();
    const [, fewer, again] = scoresAtStart;
    assert.ok(Number.isNaN(fewer[1]), "no score while it has no account");
    assert.ok(fewer[0] > 0, `uid 0 scored in the first simulation: ${fewer}`);
    // Uid 1's record is kept while it has no account, so it does not begin again at 0.
    assert.ok(again[1] > 0, `uid 1's score is back: ${again}`);
    assert.deepEqual(warnings, [
      "the configuration has 1 miner accounts (remoteAgentCount): the saved scores of uid 1 are " +
      "kept in the state but not updated, and those uids get no weight, until a configuration " +
      "with accounts for them",
    ]);
    const saved = store.load()!;
    assert.equal(saved.snapshot.scoring!.miners.length, 4);
  } finally {
    validator.close();
    store.close();
  }
});

/**
 * A validator on the state file at `path`, saving after every round, whose two miners both trade;
 * its warnings go to `warnings`. `simulations` bounds `run()`.
 */
function tradingValidator(
  path: string,
  config: SimConfig,
  warnings: string[],
  simulations?: number,
) {
  const store = ValidatorStore.open(path);
  const flags = ["--seed", "41"];
  if (simulations !== undefined) flags.push("--simulations", String(simulations));
  const validator = localValidator(store, config, flags, {
    saveIntervalSeconds: 0,
    client: bothTrade,
    log: (level, message) => void (level === "warning" && warnings.push(message)),
  });
  return { validator, store, close: () => (validator.close(), store.close()) };
}

Deno.test("scores kept for uids without an account survive saves and restarts, at another book count", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "state.db");
  const full = { ...smallPreset(), duration: 30e9 };
  const warnings: string[] = [];
  const open = (config: SimConfig, simulations: number) =>
    tradingValidator(path, config, warnings, simulations);
  const savedMiners = () => {
    const store = ValidatorStore.open(path);
    try {
      return store.load()!.snapshot.scoring!.miners;
    } finally {
      store.close();
    }
  };
  try {
    // A simulation run to its end: the next one, not begun, takes the configuration given then.
    const first = open(full, 1);
    await first.validator.start();
    await first.validator.run();
    const scored = first.validator.scores.get(1)!;
    assert.ok(scored > 0);
    first.close();

    // One account and three books: uid 1 is set aside, and the saves keep it.
    const fewer = open({ ...full, remoteAgentCount: 1, books: 3 }, 1);
    await fewer.validator.start();
    for (let i = 0; i < 3; i++) await fewer.validator.round();
    fewer.close();
    assert.equal(warnings.length, 1, warnings.join("\n"));
    // The save writes every uid, not only the scored ones: uid 1's score is still there.
    assert.equal(savedMiners().length, 4);

    // The restart resumes that simulation with its saved one-account configuration.
    const resumed = open(full, 1);
    await resumed.validator.start();
    await resumed.validator.run();
    assert.equal(resumed.validator.scores.get(1), undefined, "no score without an account");
    resumed.close();
    // The next simulation gives uid 1 an account again: its score is the one it had, not updated
    // while it had no account.
    const again = open(full, 1);
    await again.validator.start();
    assert.equal(again.validator.scores.get(1), scored);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a simulation resumed with its saved configuration keeps the windows of the uids it has accounts for", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "state.db");
  const full = { ...smallPreset(), duration: 600e9 };
  const warnings: string[] = [];
  const open = (config: SimConfig) => tradingValidator(path, config, warnings);
  try {
    const first = open(full);
    await first.validator.start();
    for (let i = 0; i < 10; i++) await first.validator.round();
    first.close();
    const second = open({ ...full, remoteAgentCount: 1 });
    await second.validator.start();
    second.close();
    const store = ValidatorStore.open(path);
    try {
      // The resumed simulation has uid 1's account: its window is kept, and no warning says it
      // has none.
      assert.equal(store.load()!.snapshot.scoring!.miners[1].inventory.length, 10);
    } finally {
      store.close();
    }
    assert.deepEqual(warnings, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("after a restart the status page shows the replayed prices, the saved step and the saved leaderboard", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "state.db");
  const run = (board: StatusBoard) => {
    const store = ValidatorStore.open(path);
    const config = { ...smallPreset(), duration: 600e9 };
    const validator = localValidator(store, config, ["--seed", "41"], {
      saveIntervalSeconds: 0,
      board,
    });
    return { validator, store };
  };
  const points = (board: StatusBoard) =>
    (JSON.parse(board.json()) as StatusView).books.map((b) => b.points.length);
  try {
    const before = new StatusBoard();
    const first = run(before);
    await first.validator.start();
    for (let i = 0; i < 10; i++) await first.validator.round();
    first.validator.close();
    first.store.close();
    assert.deepEqual(points(before), [10, 10]);

    const after = new StatusBoard();
    const second = run(after);
    try {
      await second.validator.start();
      // The chart goes on from the saved prices, not from the restart.
      assert.deepEqual(points(after), [10, 10]);
      const view = (board: StatusBoard) => JSON.parse(board.json()) as StatusView;
      assert.deepEqual(view(after).books, view(before).books, "the same points");
      // The saved step and miners at once, not step 0 and no miner until the first round.
      assert.equal(view(after).step, view(before).step);
      assert.ok(view(before).leaderboard.length > 0);
      assert.deepEqual(
        view(after).leaderboard,
        view(before).leaderboard.map((row) => ({ ...row, answered: null })),
        "the saved scores; whether each answered is not known before the first query",
      );
      await second.validator.round();
      assert.deepEqual(points(after), [11, 11]);
      assert.ok(view(after).leaderboard.every((row) => typeof row.answered === "boolean"));
    } finally {
      second.validator.close();
      second.store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

type Reply = Awaited<ReturnType<MinerClient["query"]>>[number];
type ReplyCheck = Parameters<MinerClient["query"]>[2];

/**
 * Runs a one-hour small validator whose client passes uid 1's replies through `rewrite` (rounds
 * count from 1), giving `body` the validator and the lines it logs about uid 1 above debug level.
 */
async function withUid1Rewritten(
  rewrite: (reply: Reply, round: number, check: ReplyCheck) => Reply,
  body: (validator: ReturnType<typeof localValidator>, lines: string[]) => Promise<void>,
): Promise<void> {
  let round = 0;
  const rewriting: MinerClient = {
    query: async (requests, timeout, check) => {
      round++;
      const replies = await client.query(requests, timeout, check);
      return replies.map((reply) => reply.uid === 1 ? rewrite(reply, round, check) : reply);
    },
  };
  const lines: string[] = [];
  const store = ValidatorStore.open(":memory:");
  const validator = localValidator(store, { ...smallPreset(), duration: 3600e9 }, [], {
    client: rewriting,
    log: (level, message) =>
      void (level !== "debug" && message.startsWith("uid 1") && lines.push(message)),
  });
  try {
    await validator.start();
    await body(validator, lines);
  } finally {
    validator.close();
    store.close();
  }
}

const timedOut = (reply: Reply): Reply => ({
  ...reply,
  outcome: "timeout",
  checked: null,
  message: "no reply in 1 s",
});
const timeoutLine =
  "uid 1: timeout (no reply in 1 s) (later timeouts of this uid are logged at debug level)";
const answeringLine =
  "uid 1: answering again (60 rounds in a row since its timeouts; the next ones are logged)";

Deno.test("a miner's timeouts are logged once, then again after it answered for 60 rounds in a row", async () => {
  // uid 1 is down in rounds 1-2, answers in rounds 3-70, and is down again from round 71.
  await withUid1Rewritten(
    (reply, round) => round <= 2 || round > 70 ? timedOut(reply) : reply,
    async (validator, lines) => {
      for (let i = 0; i < 72; i++) await validator.round();
      assert.deepEqual(lines, [timeoutLine, answeringLine, timeoutLine]);
    },
  );
});

Deno.test("a timeout breaks a miner's answers in a row: 'answering again' counts from the last one", async () => {
  // uid 1 times out in rounds 1 and 61 (the second logged at debug level), answering in between
  // and after: 59 answers, then 60 from round 62 to 121.
  await withUid1Rewritten(
    (reply, round) => round === 1 || round === 61 ? timedOut(reply) : reply,
    async (validator, lines) => {
      // 59 answers before round 61 and 59 after it: no run of 60 yet.
      for (let i = 0; i < 120; i++) await validator.round();
      assert.deepEqual(lines, [timeoutLine]);
      await validator.round();
      assert.deepEqual(lines, [timeoutLine, answeringLine]);
    },
  );
});

Deno.test("a refused reply breaks a miner's answers in a row: no 'answering again' without 60 of them", async () => {
  // uid 1 times out in round 1, then answers with another uid's response every other round.
  await withUid1Rewritten(
    (reply, round, check) =>
      round === 1
        ? timedOut(reply)
        : round % 2 === 0
        ? { ...reply, checked: check(1, { agent_id: 0, instructions: [] }) }
        : reply,
    async (validator, lines) => {
      // 61 valid answers in rounds 3, 5, ..., 123, never two in a row.
      for (let i = 0; i < 123; i++) await validator.round();
      assert.deepEqual(lines, [
        timeoutLine,
        "uid 1: response discarded: response agent_id 0 is not uid 1 (later discards of this uid " +
        "are logged at debug level)",
      ]);
    },
  );
});
