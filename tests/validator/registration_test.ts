import assert from "node:assert/strict";
import { smallPreset } from "../../sim/config.ts";
import { type Instruction, type PublishState, SimEngine } from "../../sim/engine.ts";
import { parseValidatorArgs } from "../../validator/options.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { loggingAlerter, quietParts } from "./quiet_parts.ts";
import { answering, marketBuyers } from "./answering_client.ts";
import type { MinerClient } from "../../validator/miner_client.ts";
import { EditableDirectory } from "./editable_directory.ts";
import { convertWeightsAndUidsForEmit, processWeights } from "../../chain/weights.ts";
import {
  type Market,
  type MarketWatch,
  normalizedWeights,
  Validator,
  type ValidatorDeps,
  watchedMarket,
} from "../../validator/validator.ts";

/**
 * A local validator over the small market (one thread) that asks the `client`, as these tests
 * run it: the neuron list is read again at each weight setting (interval 0). `watch` sees the
 * market; `market` may wrap it further.
 */
function localValidator(
  setup: {
    directory: EditableDirectory;
    store: ValidatorStore;
    watch?: MarketWatch;
    market?: (market: Market) => Market;
    args?: string[];
    saveIntervalSeconds?: number;
    duration?: number;
    client?: MinerClient;
  } & Partial<Pick<ValidatorDeps, "alerts" | "log">>,
): Validator {
  const { directory, store, watch = {}, market = (m) => m, args = [], ...rest } = setup;
  return new Validator({
    options: {
      ...parseValidatorArgs(["--local", "--neuron.weights_interval", "0", ...args]),
      saveIntervalSeconds: rest.saveIntervalSeconds ?? 3600,
    },
    config: { ...smallPreset(), duration: rest.duration ?? 600e9 },
    createMarket: (c, seed): Market =>
      market(watchedMarket(SimEngine.create({ config: c, seed, threads: 1 }), watch)),
    directory,
    client: rest.client ?? marketBuyers,
    store,
    ...quietParts(),
    ...(rest.alerts === undefined ? {} : { alerts: rest.alerts }),
    ...(rest.log === undefined ? {} : { log: rest.log }),
  });
}

/** A market watch that records the uid of every reset injected, in `into`. */
const recordResets = (into: number[]): MarketWatch => ({
  injected: (agentId, instructions) => {
    if (instructions.some((i) => i.type === "RESET_AGENT")) into.push(agentId);
  },
});

Deno.test("a re-registered uid loses its score and gets its account reset in the simulation", async () => {
  const directory = new EditableDirectory(["5Old0", "5Old1", "5Old2", "5Old3"]);
  const injected: { agentId: number; instructions: Instruction[] }[] = [];
  let last: PublishState | null = null;
  const store = ValidatorStore.open(":memory:");
  const validator = localValidator({
    directory,
    store,
    saveIntervalSeconds: 0,
    watch: {
      advanced: (state) => (last = state),
      injected: (agentId, instructions) => injected.push({ agentId, instructions }),
    },
  });
  try {
    await validator.start();
    for (let i = 0; i < 6; i++) await validator.round();
    const base = (uid: number) => last!.accounts[uid].holdings[0].base.total;
    const before = base(2);
    const baseOf1 = base(1);
    assert.ok(validator.scores.get(2)! > 0, "uid 2 earned a score by trading");

    directory.hotkeys[2] = "5New2";
    // The neuron list is read in the background and applied at the start of a later round.
    const isReset = (i: { instructions: Instruction[] }) =>
      i.instructions.some((x) => x.type === "RESET_AGENT");
    let rounds = 0;
    do {
      injected.length = 0;
      // The read a round started has finished before the next one (on a chain it takes a while).
      await validator.settled();
      await validator.round();
      rounds++;
    } while (!injected.some(isReset) && rounds < 3);
    assert.ok(rounds <= 2, `reset sent ${rounds} rounds after the change`);
    const resets = injected.filter(isReset);
    assert.deepEqual(resets.map((r) => r.agentId), [2], "one reset, for uid 2 only");
    assert.equal(validator.snapshot.pendingResets.length, 1);
    assert.equal(validator.snapshot.hotkeys[2], "5New2");
    assert.equal(validator.scores.get(2), 0, "its score starts over");
    assert.ok(validator.scores.get(1)! > 0, "other uids keep theirs");

    injected.length = 0;
    await validator.round();
    assert.deepEqual(validator.snapshot.pendingResets, [], "the reset notice cleared it");
    validator.save();
    const history = (uid: number) => store.load()!.snapshot.scoring!.miners[uid].inventory;
    assert.equal(history(2).length, 1, "uid 2's returns start from its reset account");
    // One observation per round: the 6 before the change, the rounds until the reset, this one.
    assert.equal(history(1).length, 6 + rounds + 1, "uid 1's history goes on");
    assert.ok(
      !injected.some((i) => i.instructions.some((x) => x.type === "RESET_AGENT")),
      "the reset is not sent again",
    );
    // One more buy of 1 per round: uid 1's account just continues; uid 2's was replaced.
    assert.equal(base(1).toFixed(6), (baseOf1 + rounds + 1).toFixed(6));
    assert.notEqual(
      base(2).toFixed(6),
      (before + rounds + 1).toFixed(6),
      "uid 2's account was reset",
    );
    assert.ok(
      last!.notices.some((n) => n.agentId === 2 && n.type === "RESPONSE_DISTRIBUTED_RESET_AGENT"),
    );
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("a uid registered mid-run starts with no history and no reset of its untouched account", async () => {
  const directory = new EditableDirectory(["5Miner0", "5Miner1"]);
  const injected: Instruction[][] = [];
  const store = ValidatorStore.open(":memory:");
  const validator = localValidator({
    directory,
    store,
    watch: { injected: (_, instructions) => injected.push(instructions) },
  });
  try {
    await validator.start();
    for (let i = 0; i < 4; i++) await validator.round();
    directory.hotkeys.push("5Miner2");
    let rounds = 0;
    do {
      await validator.settled();
      await validator.round();
      rounds++;
    } while (validator.snapshot.hotkeys[2] === undefined && rounds < 3);
    assert.equal(validator.snapshot.hotkeys[2], "5Miner2");
    for (let i = 0; i < 2; i++) await validator.round();
    validator.save();
    const history = (uid: number) => store.load()!.snapshot.scoring!.miners[uid].inventory.length;
    // uid 3 (an account, never registered) was observed at every publish; uid 2 only from the
    // round that listed it, plus the two after.
    assert.equal(history(3), 4 + rounds + 2);
    assert.equal(history(2), 1 + 2);
    assert.deepEqual(validator.snapshot.pendingResets, []);
    assert.ok(!injected.flat().some((i) => i.type === "RESET_AGENT"), "no reset sent");
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("a reset lost with its abandoned simulation is sent again in the next one", async () => {
  const directory = new EditableDirectory(["5Old0", "5Old1", "5Old2", "5Old3"]);
  let resetThisRound = false;
  let resets = 0;
  let round = 0;
  let failed = false;
  const client: MinerClient = {
    query: (requests, timeout, check) => {
      round++;
      if (round === 3) directory.hotkeys[2] = "5New2";
      // The round that sends the reset fails after it: its simulation is abandoned.
      if (resetThisRound && !failed) {
        failed = true;
        return Promise.reject(new Error("query failed"));
      }
      resetThisRound = false;
      return marketBuyers.query(requests, timeout, check);
    },
  };
  const store = ValidatorStore.open(":memory:");
  const validator = localValidator({
    directory,
    store,
    args: ["--simulations", "2"],
    duration: 50e9,
    client,
    watch: {
      injected: (_, instructions) => {
        if (instructions.some((i) => i.type === "RESET_AGENT")) {
          resets++;
          resetThisRound = true;
        }
      },
    },
  });
  try {
    await validator.start();
    await validator.run();
    assert.ok(failed, "the round sending the reset failed");
    assert.equal(resets, 2, "sent once in each simulation");
    assert.deepEqual(
      store.load()!.snapshot.pendingResets,
      [],
      "the second one's notice cleared it",
    );
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("a re-registered uid without a miner account in the configuration gets no reset sent", async () => {
  // The small configuration has accounts for uids 0-3: uid 4's reset waits, pending, for a
  // configuration with an account for it.
  const directory = new EditableDirectory(["5Old0", "5Old1", "5Old2", "5Old3", "5Old4"]);
  const injected: number[] = [];
  const store = ValidatorStore.open(":memory:");
  const validator = localValidator({
    directory,
    store,
    watch: recordResets(injected),
  });
  try {
    await validator.start();
    await validator.round();
    directory.hotkeys[4] = "5New4";
    for (let i = 0; i < 4; i++) {
      await validator.settled();
      await validator.round();
    }
    assert.equal(validator.snapshot.hotkeys[4], "5New4");
    assert.deepEqual(injected, []);
    assert.deepEqual(validator.snapshot.pendingResets, [4]);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("a reset the simulation reports as failed on any book is sent again, alerting once until it works", async () => {
  const directory = new EditableDirectory(["5Old0", "5Old1", "5Old2", "5Old3"]);
  const resets: number[] = [];
  const alerts: string[] = [];
  let failedOne = false;
  const store = ValidatorStore.open(":memory:");
  const validator = localValidator({
    directory,
    store,
    watch: recordResets(resets),
    market: (market) => {
      const advance = market.advance;
      // The first reset's notices (one per book) but the first book's are turned into the
      // failure the engine reports with a message: it has no way to fail a reset on demand.
      market.advance = () => {
        const state = advance();
        const notices = (state?.notices ?? []).filter((notice) =>
          notice.type === "RESPONSE_DISTRIBUTED_RESET_AGENT"
        );
        if (!failedOne && notices.length > 0) {
          for (const notice of notices.slice(1)) notice.message = "agent busy";
          failedOne = true;
        }
        return state;
      };
      return market;
    },
    alerts: loggingAlerter(alerts),
  });
  try {
    await validator.start();
    await validator.round();
    directory.hotkeys[2] = "5New2";
    for (let i = 0; i < 6; i++) {
      await validator.settled();
      await validator.round();
    }
    assert.ok(failedOne);
    assert.deepEqual(resets, [2, 2], "sent again after the failure");
    assert.deepEqual(validator.snapshot.pendingResets, []);
    // Raised once by the failure (not once per book's notice), resolved by the reset that worked.
    assert.deepEqual(alerts.filter((l) => l.includes("agent-reset")), [
      "ALERT agent-reset: reset of uid 2 failed: agent busy",
      "RESOLVED agent-reset",
    ]);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("weights: negative scores shifted, L1-normalised; all zero gives uniform", () => {
  const scores = [-0.1, 0.1, 0.3];
  const w = normalizedWeights([0, 1, 2], (uid) => scores[uid]);
  assert.deepEqual(w.uids, [0, 1, 2]);
  assert.deepEqual(
    w.weights.map((x) => Number(x.toFixed(6))),
    [0, 1 / 3, 2 / 3].map((x) => Number(x.toFixed(6))),
  );
  assert.deepEqual(normalizedWeights([3, 4], () => 0).weights, [0.5, 0.5]);
  assert.deepEqual(normalizedWeights([0, 1], (uid) => (uid === 0 ? NaN : 2)).weights, [0, 1]);
});

Deno.test("weights are normalised in float32 as the reference's torch tensors", () => {
  // The reference (torch float32 normalize, then the SDK's processing) emits 16948 for the last
  // uid; normalising in float64 gave 16949.
  const scores = [0.5483, 0.3526, 0.5004, 0.1418].map(Math.fround);
  const { uids, weights } = normalizedWeights([0, 1, 2, 3], (uid) => scores[uid]);
  const processed = processWeights(uids, Float32Array.from(weights), {
    neuronCount: 4,
    minAllowedWeights: 0,
    maxWeightLimit: 1,
  });
  const emitted = convertWeightsAndUidsForEmit(processed.uids, processed.weights);
  assert.deepEqual(emitted.values, [65535, 42144, 59810, 16948]);
});

Deno.test("the first voided response of a uid is a warning, later ones debug lines, until the uid changes hands", async () => {
  const logged: { level: string; message: string }[] = [];
  // Every miner answers as uid 0, as a local miner left at --local.uid 0 would.
  const mismatched = answering(() => ({ agent_id: 0, instructions: [] }), 0.05);
  const directory = new EditableDirectory(["5Old0", "5Old1", "5Old2", "5Old3"]);
  const store = ValidatorStore.open(":memory:");
  const validator = localValidator({
    directory,
    store,
    saveIntervalSeconds: 0,
    client: mismatched,
    log: (level, message) => logged.push({ level, message }),
  });
  try {
    await validator.start();
    for (let i = 0; i < 3; i++) await validator.round();
    const about = (uid: number) =>
      logged.filter((l) => l.message.startsWith(`uid ${uid}: response`));
    assert.deepEqual(about(0), [], "uid 0's answers are its own");
    const uid1 = about(1);
    assert.equal(uid1.length, 3);
    assert.deepEqual(uid1.map((l) => l.level), ["warning", "debug", "debug"]);
    assert.match(uid1[0].message, /response agent_id 0 is not uid 1 \(later discards of this uid/);

    // A new miner on uid 1 is named again the first time.
    directory.hotkeys[1] = "5New1";
    logged.length = 0;
    for (let i = 0; i < 3; i++) {
      await validator.settled();
      await validator.round();
    }
    assert.deepEqual(about(1).map((l) => l.level).filter((level) => level === "warning"), [
      "warning",
    ]);
  } finally {
    validator.close();
    store.close();
  }
});

Deno.test("a reset pending at a stop is still pending after the restart: its notice there starts the uid's history over", async () => {
  const store = ValidatorStore.open(":memory:");
  const run = (directory: EditableDirectory, resets: number[]) =>
    localValidator({ directory, store, watch: recordResets(resets) });
  try {
    const directory = new EditableDirectory(["5Old0", "5Old1", "5Old2", "5Old3"]);
    const sent: number[] = [];
    const first = run(directory, sent);
    await first.start();
    await first.round();
    directory.hotkeys[2] = "5New2";
    // Stopped right after the round that sends the reset, before its notice comes back.
    for (let rounds = 0; sent.length === 0 && rounds < 3; rounds++) {
      await first.settled();
      await first.round();
    }
    first.close();
    assert.deepEqual(sent, [2]);
    assert.deepEqual(store.load()!.snapshot.pendingResets, [2]);

    const replayed: number[] = [];
    const second = run(new EditableDirectory(["5Old0", "5Old1", "5New2", "5Old3"]), replayed);
    await second.start();
    assert.deepEqual(replayed, [2], "the logged reset is replayed");
    for (let i = 0; i < 2; i++) {
      await second.settled();
      await second.round();
    }
    second.save();
    assert.deepEqual(replayed, [2], "its notice came back: not sent again");
    assert.deepEqual(second.snapshot.pendingResets, []);
    const history = (uid: number) => store.load()!.snapshot.scoring!.miners[uid].inventory;
    // Reset at the first publish after the restart, observed there and at the next: 2 values.
    assert.equal(history(2).length, 2, "uid 2's returns start from its reset account");
    assert.ok(history(1).length > 2, `${history(1).length}`);
    second.close();
  } finally {
    store.close();
  }
});
