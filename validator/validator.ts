/**
 * The validator loop. The simulation runs in-process and stays paused while miners think: at
 * every publish instant the validator builds each serving miner's own state update, queries all
 * of them at once, turns each response time into an execution delay, validates the instructions
 * and injects them; then it scores every uid, smooths the scores, saves its state at the
 * configured interval and sets weights at the weights interval. A finished simulation is followed
 * by a fresh one (next seed) with all scoring windows kept; re-registered uids are reset.
 *
 * ```ts
 * const validator = new Validator(deps);
 * await validator.start();            // loads the state file, replays the simulation to its point
 * await validator.run(abort.signal);  // until aborted or `simulations` are done
 * await validator.close();
 * ```
 * @module
 */
import { statfsSync, statSync } from "node:fs";
import { freemem, totalmem } from "node:os";
import { dirname } from "node:path";
import { parseSimConfig, type SimConfig } from "../sim/config.ts";
import type {
  AccountOrder,
  Instruction,
  PublishState,
  RemoteAccount,
  SimEngine,
} from "../sim/engine.ts";
import { eventLoopBreather } from "../sim/interrupt.ts";
import { type SimulationConfig, simulationConfigFor } from "../agents/sdk/state.ts";
import { minerStates } from "./miner_states.ts";
import { keepOwnCancellations } from "./own_cancellations.ts";
import { toEngineInstruction, validateInstructions } from "../agents/sdk/instructions.ts";
import type {
  Neuron,
  NeuronDirectory,
  WeightSetter,
  WeightSubmission,
} from "../bittensor/neurons.ts";
import type { CheckedResponse, MinerClient, MinerReply, MinerRequest } from "./miner_client.ts";
import {
  executionDelay,
  type MinerRecord,
  observationFromPublish,
  Scorer,
  type ScorerOptions,
} from "./scoring/mod.ts";
import type { Injection, SimulationPoint, ValidatorSnapshot, ValidatorStore } from "./store.ts";
import type { Alerter } from "./pagerduty.ts";
import {
  CpuUsage,
  type MinerScoreDetail,
  type QueryStats,
  timestampString,
  type ValidatorMetrics,
} from "./metrics.ts";
import type { Metagraph } from "../chain/subnet.ts";
import type { LeaderboardRow, StatusBoard } from "./status.ts";
import type { ValidatorOptions } from "./options.ts";
import type { PhaseTimes } from "./phases.ts";

/** Weights version key: the spec version integer of sn-79 0.1.9. */
export const WEIGHTS_VERSION_KEY = 19;

/** Publishes between two reports of the per-miner query statistics (as the reference). */
const QUERY_STATS_PERIOD = 100;

/** Consecutive publishes without a single answering miner before the validator pages. */
const UNREACHABLE_ROUNDS = 12;
/** Weight submissions refused in a row before the `weights` alert. */
const WEIGHTS_ALERT_AFTER = 3;
/**
 * Metrics reports that work in a row before the `metrics` alert is resolved: a report failing
 * every other publish keeps one alert open instead of raising and resolving it each time.
 */
const METRICS_REPORTS_TO_RESOLVE = 3;
/** Publish rounds failing in a row (each in a new simulation) after which the validator stops. */
const ROUND_FAILURES_BEFORE_STOP = 3;

/** Publishes between two progress lines (one simulated minute at the default interval). */
const PROGRESS_PERIOD = 12;

/** How the log names several failed queries of one kind. */
const PLURAL = { timeout: "timeouts", failure: "failures", rejected: "refusals" } as const;

/**
 * Valid answers in a row after which a miner's query troubles are told again above debug level
 * (five simulated minutes at 5 s): a miner that was down, came back and went down again is news.
 */
const ANSWERS_TO_REARM = 60;

/** The part of the simulation engine the loop uses (`SimEngine` satisfies it). */
export interface Market {
  advance(): PublishState | null;
  inject(agentId: number, instructions: Instruction[], delayNs: number): void;
  setLiveFundamental(price: number): void;
  extendFeed(series: 0 | 1, prices: readonly number[]): void;
  close(): void;
}

/** What {@linkcode watchedMarket} reports: each publish with the time its advance took, and
 * each injection. */
export interface MarketWatch {
  advanced?: (state: PublishState | null, engine: SimEngine, elapsedMs: number) => void;
  injected?: (agentId: number, instructions: Instruction[]) => void;
}

/** `engine` as the loop's market, reporting to `watch` (tests and the bench observe it so). */
export function watchedMarket(engine: SimEngine, watch: MarketWatch): Market {
  return {
    setLiveFundamental: (price) => engine.setLiveFundamental(price),
    extendFeed: (series, prices) => engine.extendFeed(series, prices),
    advance: () => {
      const started = performance.now();
      const state = engine.advance();
      watch.advanced?.(state, engine, performance.now() - started);
      return state;
    },
    inject: (agentId, instructions, delayNs) => {
      watch.injected?.(agentId, instructions);
      engine.inject(agentId, instructions, delayNs);
    },
    close: () => engine.close(),
  };
}

/** Live prices the simulation is seeded from (`LiveSeeds`). */
export interface SeedSource {
  /** The latest fundamental (BTC) price, null before the first trade. */
  latestFundamental(): number | null;
  /** External (futures) samples since the last call, oldest first. */
  takeExternalSamples(): number[];
}

/** Everything the loop needs; built by the command (or a test) from the options. */
export interface ValidatorDeps {
  options:
    & Pick<
      ValidatorOptions,
      | "timeoutSeconds"
      | "scoring"
      | "disableSetWeights"
      | "reportingDisabled"
      | "saveIntervalSeconds"
      | "weightsIntervalSeconds"
      | "simulations"
      | "seed"
    >
    & Partial<Pick<ValidatorOptions, "local">>;
  /** Configuration of new simulations. */
  config: SimConfig;
  /**
   * Reads the configuration again before each new simulation (the reference re-reads its XML at
   * every simulation end, so a published change is picked up); a failure keeps the previous one.
   */
  reloadConfig?: () => Promise<SimConfig>;
  /** Creates the simulation for a seed. */
  createMarket: (config: SimConfig, seed: number) => Market;
  directory: NeuronDirectory;
  /** The chain's last metagraph read (chain runs only), for the chain gauges. */
  metagraph?: () => Metagraph | undefined;
  weights: WeightSetter;
  client: MinerClient;
  store: ValidatorStore;
  alerts: Alerter;
  metrics: ValidatorMetrics | null;
  board: StatusBoard;
  /** Our own hotkey (its uid is never queried). */
  hotkey: string;
  /**
   * The wallet names' default path of a `--hotkey-uri` validator on its own default path (see
   * `StateFile`): named when the store holds no state and a file is there, never opened, since it
   * may be another validator's.
   */
  walletNamesStatePath?: string | null;
  log: (level: "error" | "warning" | "info" | "debug", message: string) => void;
  /** Collects the round's time per phase when given (the bench's `--phases`). */
  phases?: PhaseTimes;
  /**
   * Live prices (`--simulation.seeding.live`): before each step the market takes the latest
   * fundamental price (seeding its updates from then on) and every new external sample; the
   * external signal waits for the first.
   */
  seeds?: SeedSource;
}

/** The market at a publish in brief: messages processed and each book's best prices. */
function marketFingerprint(publish: PublishState): string {
  const books = publish.books.map((b) => `${b.bid[0]?.price ?? "-"}/${b.ask[0]?.price ?? "-"}`);
  return `${publish.eventsProcessed}:${books.join(",")}:${accountsDigest(publish.accounts)}`;
}

/**
 * FNV-1a of every miner account's balances: a lost or changed miner instruction from long ago
 * may leave the last step's message count and the best prices as they were, not the accounts.
 */
function accountsDigest(accounts: readonly RemoteAccount[]): string {
  let hash = 0x811c9dc5;
  for (const account of accounts) {
    for (const { base, quote } of account.holdings) {
      const text = `${account.agentId}:${base.free}/${base.total}:${quote.free}/${quote.total};`;
      for (let i = 0; i < text.length; i++) {
        hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
      }
    }
  }
  return hash.toString(16).padStart(8, "0");
}

/**
 * Whether a replay rebuilt the market saved as `saved`: a fingerprint saved before the accounts
 * were part of it is compared without them.
 */
export function sameMarket(saved: string, rebuilt: string | undefined): boolean {
  const parts = saved.split(":").length;
  return rebuilt !== undefined && rebuilt.split(":").slice(0, parts).join(":") === saved;
}

/** The simulation that follows `point`: the next index and seed, nothing published yet. */
function nextSimulation(point: SimulationPoint, config: SimConfig): SimulationPoint {
  return { index: point.index + 1, seed: point.seed + 1, publishes: 0, timestamp: 0, config };
}

function freshSnapshot(seed: number, config: SimConfig): ValidatorSnapshot {
  return {
    simulation: { index: 0, seed, publishes: 0, timestamp: 0, config },
    step: 0,
    hotkeys: {},
    scores: {},
    scoring: null,
    pendingResets: [],
    lastWeightsAt: null,
  };
}

/** The validator: see the module doc. */
/** A stop was requested while `start` replayed the saved simulation; nothing was saved. */
export class StartInterrupted extends Error {
  override name = "StartInterrupted";
}

export class Validator {
  readonly #deps: ValidatorDeps;
  /** Configuration of the running simulation. */
  #config!: SimConfig;
  #simulationConfig!: SimulationConfig;
  #scorerOptions!: ScorerOptions;
  #scorer: Scorer | null = null;
  #snapshot: ValidatorSnapshot;
  #market: Market | null = null;
  /** Injections since the last save (written with the next snapshot). */
  #unsaved: Injection[] = [];
  /** The live fundamental price last given to the current market. */
  #liveFundamental: number | null = null;
  #lastSaveAt = 0;
  #saveFailed = false;
  /** Weight submissions the chain refused in a row (an alert after WEIGHTS_ALERT_AFTER). */
  #weightFailures = 0;
  #lastSyncAt = 0;
  #neurons: Neuron[] = [];
  #ownUid: number | null = null;
  #stats = new Map<number, QueryStats>();
  /**
   * Per uid, the cancellations sent that have not arrived yet (`book/orderId` → arrival, ns): an
   * order waiting for one is no longer the miner's to cancel, or a reply asking for a far arrival
   * could cancel the same resting orders again at every publish, each once more in the queue.
   */
  #cancelsInFlight = new Map<number, Map<string, number>>();
  #initialBalances = new Map<number, { base: number; quote: number }[]>();
  /**
   * uids re-registered or reset since the last report: their fills in `miner_trades` were the
   * previous owner's (the publish that reports a reset may hold the old account's last fills).
   */
  #minersToForget = new Set<number>();
  #stepRates: number[] = [];
  /** The simulated and wall time of the latest rounds, for the progress line's pace. */
  #recentRounds: { simulated: number; wall: number }[] = [];
  /** When the last round this process ran ended, and its publish's simulated time. */
  #lastRoundEnd: { wall: number; timestamp: number } | null = null;
  /** The scored uids without an account last warned about (see `#warnUnaccounted`). */
  #unaccountedWarned = "";
  /** Metrics reports that worked since the last that failed (see METRICS_REPORTS_TO_RESOLVE). */
  #metricsReportsWorked = METRICS_REPORTS_TO_RESOLVE;
  /** The simulation the metrics are still to be switched to (see `#openMarket`). */
  #metricsSimulation: { simulation: SimulationConfig; seed: number } | null = null;
  #lastPublishWall: number | null = null;
  #lastPublishTimestamp: number | null = null;
  #answered = new Set<number>();
  #resetsSent = new Set<number>();
  /** Per uid, the kinds of trouble already logged above debug level (see `#logOnce`). */
  #reported = new Map<number, Set<string>>();
  /** Per uid, valid answers since its last timeout, failure or refusal. */
  #answerStreak = new Map<number, number>();
  #simulationsFinished = 0;
  #silentRounds = 0;
  #weightsInFlight: Promise<void> | null = null;
  /** Wall ms of the last reveal check between weight settings. */
  #lastRevealCheck = 0;
  #neuronFetch: Promise<void> | null = null;
  #fetchedNeurons: Neuron[] | null = null;
  /** Set once `start` succeeded: nothing is saved before, so a bad state file is never replaced. */
  #started = false;
  #cpu = new CpuUsage();

  constructor(deps: ValidatorDeps) {
    this.#deps = deps;
    this.#useConfig(deps.config);
    this.#snapshot = freshSnapshot(deps.options.seed ?? deps.config.seed, deps.config);
  }

  /** Switches to `config` for the running simulation; scoring windows are kept (resized if needed). */
  #useConfig(config: SimConfig) {
    this.#config = config;
    this.#simulationConfig = simulationConfigFor(config);
    const scoring = this.#deps.options.scoring;
    this.#scorerOptions = {
      uids: config.remoteAgentCount,
      books: config.books,
      config: {
        lookback: scoring.sharpeLookback,
        normalizationMin: scoring.normalizationMin,
        normalizationMax: scoring.normalizationMax,
        volumeSamplingInterval: scoring.volumeSamplingInterval,
        volumeAssessmentPeriod: scoring.volumeAssessmentPeriod,
        capitalTurnoverCap: scoring.capitalTurnoverCap,
        minerWealth: this.#simulationConfig.miner_wealth,
        publishInterval: config.step,
        volumeDecimals: config.exchange.volumeDecimals,
        alpha: scoring.alpha,
      },
    };
    this.#scorer = this.#scorer === null
      ? new Scorer(this.#scorerOptions)
      : Scorer.fromJSON(this.#scorer.toJSON(), this.#scorerOptions);
    this.#warnUnaccounted();
  }

  /**
   * Warns once per change when the configuration leaves scored uids without a miner account:
   * their records are kept, so a mistaken `--config` costs no scores.
   */
  #warnUnaccounted() {
    const uids = this.#scoring.dormantScored;
    const described = uids.length === 0
      ? ""
      : uids.length === uids[uids.length - 1] - uids[0] + 1 && uids.length > 2
      ? `uids ${uids[0]}-${uids[uids.length - 1]}`
      : `uid${uids.length > 1 ? "s" : ""} ${uids.slice(0, 10).join(", ")}${
        uids.length > 10 ? ` and ${uids.length - 10} more` : ""
      }`;
    if (described === this.#unaccountedWarned) return;
    this.#unaccountedWarned = described;
    if (described === "") return;
    this.#deps.log(
      "warning",
      `the configuration has ${this.#config.remoteAgentCount} miner accounts ` +
        `(remoteAgentCount): the saved scores of ${described} are kept in the state but not ` +
        "updated, and those uids get no weight, until a configuration with accounts for them",
    );
  }

  get #scoring(): Scorer {
    return this.#scorer!;
  }

  /** Current smoothed scores by uid. */
  get scores(): Map<number, number> {
    return new Map(this.#scoring.scores().map((score, uid) => [uid, score]));
  }

  /** Miners whose last response was valid (answered in time, well-formed, for their uid). */
  get lastAnswered(): number {
    return this.#answered.size;
  }

  /** A copy of the state that would be saved now. */
  get snapshot(): ValidatorSnapshot {
    return structuredClone({ ...this.#snapshot, scoring: null });
  }

  /**
   * Loads the saved state (if any), recreates the simulation and replays it to the saved publish
   * with the logged instructions, so the run continues exactly where the state file left it.
   */
  async start(signal?: AbortSignal): Promise<void> {
    const { store, log } = this.#deps;
    // Never overwrite a state file we could not read: the scores in it may still be recoverable.
    const unreadable = (error: unknown): never => {
      const message = `cannot read the state file ${store.path}: ${(error as Error).message}`;
      this.#alert("state-load", message);
      throw new Error(`${message} (move it away, or start with --neuron.reset to discard it)`);
    };
    let saved = null;
    try {
      saved = store.load();
      const scoring = saved?.snapshot.scoring ?? null;
      if (scoring !== null && !Array.isArray(scoring?.miners)) {
        throw new Error("scoring.miners is not a list");
      }
      if (saved !== null) this.#snapshot = saved.snapshot;
    } catch (error) {
      unreadable(error);
    }
    let point = this.#snapshot.simulation;
    /** Where an abandoned simulation ended, for the volume windows to continue from. */
    let abandonedAt: number | null = null;
    // A simulation under way is replayed with the config it ran with: the flags' changes wait.
    // One not begun yet (saved as the previous one ended) runs with the config given now.
    if (saved !== null && point.publishes > 0 && point.config !== undefined) {
      try {
        const given = parseSimConfig(this.#config);
        this.#useConfig(parseSimConfig(point.config));
        if (!sameConfig(given, this.#config)) {
          log(
            "info",
            `simulation ${point.index} resumes with its saved configuration; the configuration ` +
              "given now (--config, --duration, --books, ...) applies from the next simulation",
          );
        }
      } catch (error) {
        // Its market cannot be rebuilt: as after a failed replay, the scores stand and the next
        // simulation starts, under a new index so that this one's log is never replayed into it.
        this.#alert(
          "simulation",
          `the saved configuration of simulation ${point.index} is unusable, starting the next ` +
            `one: ${(error as Error).message}`,
        );
        abandonedAt = point.timestamp;
        point = this.#snapshot.simulation = nextSimulation(point, this.#config);
      }
    }
    // The scores are read once the configuration is chosen: one with fewer accounts than the
    // saved one would set the windows of the uids without an account aside.
    try {
      const scoring = saved?.snapshot.scoring ?? null;
      if (scoring !== null) {
        this.#scorer = Scorer.fromJSON(scoring, this.#scorerOptions);
        const kept = Math.max(0, ...scoring.miners.map((m) => m.inventory?.length ?? 0));
        const lookback = this.#deps.options.scoring.sharpeLookback;
        if (kept > lookback) {
          log(
            "info",
            `--scoring.sharpe.lookback ${lookback} keeps the last ${lookback} of the ${kept} saved ` +
              "inventory observations per miner; the older ones are dropped at the next save",
          );
        }
      }
    } catch (error) {
      unreadable(error);
    }
    if (abandonedAt !== null) this.#scoring.rebase(abandonedAt);
    this.#warnUnaccounted();
    // The alert of a run that stopped on an unreadable state is over now.
    this.#deps.alerts.resolve("state-load");
    const neurons = await this.#fetchNeurons();
    if (neurons !== null) this.#applyNeurons(neurons, true);
    this.#lastSyncAt = performance.now();
    const seedFlag = this.#deps.options.seed;
    if (saved !== null && seedFlag !== null && seedFlag !== point.seed) {
      log(
        "info",
        `--seed ${seedFlag} applies to a new state only: the saved simulations' seeds go on ` +
          `(simulation ${point.index} has seed ${point.seed}); --neuron.reset starts over with it`,
      );
    }
    point.config = this.#config;
    const resuming = saved !== null && point.publishes > 0;
    /** Whether a simulation starts from its beginning now, rather than going on where it was. */
    let starting = !resuming;
    this.#openMarket(this.#config, point.seed, !resuming);
    this.#deps.board.startSimulation(point.index, point.seed);
    if (resuming && saved !== null) {
      log(
        "info",
        `resuming simulation ${point.index} (seed ${point.seed}) at publish ${point.publishes}, ` +
          `step ${this.#snapshot.step}: rebuilding its market from ${saved.injections.length} ` +
          `logged injections`,
      );
      try {
        const savedFingerprint = point.fingerprint;
        const rebuilt = await this.#replay(saved.injections, point.publishes, signal);
        if (savedFingerprint !== undefined && !sameMarket(savedFingerprint, rebuilt)) {
          // Scores stand; the market goes on from what was rebuilt. A different feed, config or
          // release is the usual cause.
          this.#alert(
            "simulation",
            `the replayed market differs from the one saved at publish ${point.publishes} ` +
              `(was the feed, the configuration or the release changed?): ` +
              `saved ${savedFingerprint.slice(0, 80)}, rebuilt ${rebuilt?.slice(0, 80)}`,
          );
        }
      } catch (error) {
        if (error instanceof StartInterrupted) throw error;
        // The market cannot be rebuilt: keep the scores and start the next simulation.
        this.#alert(
          "simulation",
          `replay of simulation ${point.index} failed, starting the next one: ${
            (error as Error).message
          }`,
        );
        this.#market?.close();
        // As at any simulation's end: the volume windows continue from the lost one's last
        // publish, so its trades age out of them rather than counting far into the next.
        this.#scoring.rebase(point.timestamp);
        this.#snapshot.simulation = nextSimulation(point, this.#config);
        this.#openMarket(this.#config, point.seed + 1, true);
        this.#deps.board.startSimulation(point.index + 1, point.seed + 1);
        starting = true;
      }
    } else if (saved !== null) {
      log("info", `resuming with saved scores at step ${this.#snapshot.step}`);
    } else {
      const other = this.#deps.walletNamesStatePath ?? null;
      if (other !== null && isFile(other)) {
        log(
          "warning",
          `no saved state in ${store.path}: starting with empty scores; a state file is at ` +
            `${other}, the default before --hotkey-uri validators had their own (give --state ` +
            `${other} to resume it)`,
        );
      } else {
        log("info", `no saved state in ${store.path}: starting with empty scores`);
      }
    }
    if (starting) {
      const { index, seed } = this.#snapshot.simulation;
      log("info", `simulation ${index} started (seed ${seed})`);
    }
    // The page shows the saved step and scores until the first round, not step 0 and no miner.
    if (saved !== null) this.#deps.board.rank(this.#snapshot.step, this.#leaderboard(false));
    this.#lastSaveAt = performance.now();
    this.#started = true;
  }

  /** Replays the saved publishes; a stop request is honoured between two of them. */
  /** Replays to `publishes`; returns the rebuilt market's fingerprint there. */
  async #replay(
    injections: Injection[],
    publishes: number,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    let rebuilt: string | undefined;
    const market = this.#market!;
    const breathe = eventLoopBreather();
    let next = 0;
    /** Injects what was logged up to `publish`, made at the simulated `timestamp`. */
    const applyUpTo = (publish: number, timestamp: number) => {
      while (next < injections.length && injections[next].publish <= publish) {
        const injection = injections[next++];
        const live = injection.live;
        if (live === undefined) {
          const { agentId, instructions, delayNs } = injection;
          market.inject(agentId, instructions, delayNs);
          // The cancellations still on their way at the saved publish stay so after the restart,
          // as a reset drops them.
          const reset = instructions.some((i) => i.type === "RESET_AGENT");
          if (reset) this.#cancelsInFlight.delete(agentId);
          else this.#noteCancels(agentId, instructions, timestamp, delayNs);
        } else if ("fundamental" in live) {
          market.setLiveFundamental(live.fundamental);
          this.#liveFundamental = live.fundamental;
        } else {
          market.extendFeed(1, live.external);
        }
      }
    };
    applyUpTo(0, 0); // live prices given before the first publish
    for (let publish = 1; publish <= publishes; publish++) {
      await breathe();
      if (signal?.aborted) {
        throw new StartInterrupted(
          `stopped during the replay, at publish ${publish} of ${publishes}`,
        );
      }
      const state = market.advance();
      if (state === null) throw new Error(`replay ended early at publish ${publish}`);
      if (publish === 1) this.#recordInitialBalances(state);
      if (publish === publishes) rebuilt = marketFingerprint(state);
      this.#deps.board.recordPrices(state);
      this.#forgetArrivedCancels(state.timestamp);
      applyUpTo(publish, state.timestamp);
    }
    return rebuilt;
  }

  /** Runs publish rounds until `signal` aborts or the configured number of simulations ended. */
  async run(signal?: AbortSignal): Promise<void> {
    let failuresInARow = 0;
    let done = false;
    while (!signal?.aborted) {
      try {
        done = await this.round();
        failuresInARow = 0;
      } catch (error) {
        // As the reference restarts its simulator: this simulation is abandoned and the next one
        // starts, scores kept. Failing again and again is not the simulation's fault: stop.
        const point = this.#snapshot.simulation;
        const giveUp = ++failuresInARow >= ROUND_FAILURES_BEFORE_STOP;
        this.#alert(
          "simulation",
          `publish round failed: ${(error as Error).message}; ` +
            (giveUp
              ? `${failuresInARow} rounds in a row, stopping`
              : `simulation ${point.index} abandoned, the next one starts`),
        );
        if (giveUp) throw error;
        done = await this.#endSimulation(false);
      }
      if (done) break;
      // Let signals and HTTP requests in even when no miner is queried.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // Saved first: a supervisor may not wait for the chain before it kills the process.
    this.save();
    if (this.#weightsInFlight !== null) {
      this.#deps.log("info", "waiting for the weight submission in progress to reach the chain");
    }
    await this.settled();
    if (done) {
      // The run's last scores become weights whatever the interval: a short run would otherwise
      // end on weights set before its miners were scored.
      this.#maybeSetWeights(true);
      await this.settled();
    }
  }

  /**
   * Advances the simulation to the next publish and handles it. Resolves true when the
   * configured number of simulations has finished.
   */
  async round(): Promise<boolean> {
    const deps = this.#deps;
    const phases = deps.phases;
    const started = performance.now();
    this.#syncNeurons();
    let lap = phases?.add("other", started) ?? 0;
    this.#seedMarket();
    const publish = this.#market!.advance();
    if (phases !== undefined) lap = phases.add("advance", lap);
    if (publish === null) return await this.#endSimulation(true);
    const point = this.#snapshot.simulation;
    point.publishes++;
    point.timestamp = publish.timestamp;
    point.fingerprint = marketFingerprint(publish);
    if (point.publishes === 1) this.#recordInitialBalances(publish);
    this.#recordStepRate(publish.timestamp);
    this.#forgetArrivedCancels(publish.timestamp);
    this.#handleResetNotices(publish);
    this.#injectResets();

    if (phases !== undefined) lap = phases.add("other", lap);
    const requests = this.#requests(publish);
    if (phases !== undefined) lap = phases.add("state", lap);
    const queried = deps.client.query(
      requests,
      deps.options.timeoutSeconds,
      (uid, response) => this.#checkResponse(uid, response, publish),
    );
    const replies = await queried;
    if (phases !== undefined) lap = phases.add("query", lap);
    // The turnover cap applies to the volume before this state's fills, as in the reference.
    this.#handleReplies(replies);
    if (phases !== undefined) lap = phases.add("replies", lap);
    this.#checkReachability(replies);
    if (phases !== undefined) lap = phases.add("other", lap);
    this.#scoring.observe(observationFromPublish(publish));
    // Counted with its observation: a save must never see a step whose window entry is missing.
    this.#snapshot.step++;
    if (phases !== undefined) lap = phases.add("scoring", lap);

    const elapsed = (performance.now() - started) / 1000;
    deps.metrics?.roundSeconds.observe(elapsed);
    this.#recordRound(publish.timestamp);
    this.#report(publish);
    if (point.publishes % PROGRESS_PERIOD === 0) this.#progress(publish, requests.length, elapsed);
    deps.log(
      "debug",
      `publish ${point.publishes} t=${publish.timestamp} miners=${requests.length} answered=${this.#answered.size} ${
        elapsed.toFixed(3)
      }s`,
    );
    if (performance.now() - this.#lastSaveAt >= deps.options.saveIntervalSeconds * 1000) {
      this.save();
    }
    this.#maybeSetWeights();
    phases?.add("metrics", lap);
    if (publish.final) return await this.#endSimulation(true);
    return false;
  }

  /** One progress line: simulated clock, share done, pace, ETA, answers and the leader. */
  #progress(publish: PublishState, queried: number, roundSeconds: number) {
    const point = this.#snapshot.simulation;
    const { start, duration } = this.#config;
    const done = Math.min(1, (publish.timestamp - start) / duration);
    // Simulated over wall time, so that one slow round weighs as long as it took (an average of
    // per-round rates would let eleven quick rounds hide a timeout).
    const recent = this.#recentRounds;
    const wall = recent.reduce((sum, step) => sum + step.wall, 0);
    const rate = wall > 0 ? recent.reduce((sum, step) => sum + step.simulated, 0) / wall : 0;
    // No pace yet (the first publish this process timed, after a restart's replay): "?", not 0.0.
    const pace = recent.length === 0 ? "?" : (rate / 1e9).toFixed(1);
    const eta = rate > 0
      ? timestampString(((1 - done) * duration / rate) * 1e9).split(".")[0]
      : "?";
    const scores = this.#scoring.scores();
    // The leader among the miners (not this validator's own uid); the lowest uid on a tie.
    let best: number | null = null;
    for (const { uid } of this.#neurons) {
      if (uid === this.#ownUid) continue;
      const score = scores[uid] ?? 0, leading = best === null ? -Infinity : scores[best] ?? 0;
      if (best === null || score > leading || (score === leading && uid < best)) best = uid;
    }
    const leader = best === null
      ? "no miners"
      : `best uid ${best} score ${(scores[best] ?? 0).toFixed(6)}`;
    this.#deps.log(
      "info",
      `simulation ${point.index} t=${timestampString(publish.timestamp).split(".")[0]} ` +
        `(${(100 * done).toFixed(1)}%, ${pace}x real time, ETA ${eta}) ` +
        `step ${this.#snapshot.step}: ${this.#answered.size}/${queried} miners answered, ` +
        `round ${roundSeconds.toFixed(3)} s, ${leader}`,
    );
  }

  #requests(publish: PublishState): MinerRequest[] {
    const deps = this.#deps;
    const first = this.#snapshot.simulation.publishes === 1;
    const serving = this.#neurons.filter((neuron) =>
      neuron.uid !== this.#ownUid && neuron.hotkey !== deps.hotkey &&
      neuron.uid < this.#config.remoteAgentCount && neuron.axon !== null &&
      neuron.axon.ip !== "0.0.0.0" && neuron.axon.port !== 0
    );
    const states = minerStates(
      publish,
      serving.map((n) => n.uid),
      this.#simulationConfig,
      { first, start: this.#config.start },
    );
    return serving.map((neuron) => ({
      uid: neuron.uid,
      target: { ip: neuron.axon!.ip, port: neuron.axon!.port, hotkey: neuron.hotkey },
      state: states.get(neuron.uid)!,
    }));
  }

  /** A miner's response checked as the simulation will take it. */
  #checkResponse(uid: number, response: unknown, publish: PublishState): CheckedResponse {
    const result = validateInstructions(response, {
      uid,
      bookCount: this.#config.books,
      volumes: this.#scoring.volumeTraded(uid),
      volumeCap: this.#scoring.volumeCap,
      maxInstructionsPerBook: this.#deps.options.scoring.maxInstructionsPerBook,
      firstInvalidOnly: true,
    });
    const own = keepOwnCancellations(result.accepted, this.#cancellable(uid, publish));
    return {
      accepted: own.instructions,
      dropped: result.rejected.length + own.droppedInstructions,
      firstDrop: result.rejected.length === 0
        ? null
        : `instruction ${result.rejected[0].index}: ${result.rejected[0].reason}`,
      foreignCancellations: own.droppedCancellations,
      discarded: result.discarded,
      refused: result.refused,
    };
  }

  /** `uid`'s resting orders per book at `publish`, those with a cancellation on its way left out. */
  #cancellable(uid: number, publish: PublishState): AccountOrder[][] | undefined {
    const resting = publish.accounts[uid]?.orders;
    const inFlight = this.#cancelsInFlight.get(uid);
    if (resting === undefined || inFlight === undefined) return resting;
    return resting.map((orders, bookId) =>
      orders.filter((order) => !inFlight.has(`${bookId}/${order.orderId}`))
    );
  }

  /** Notes the cancellations of `instructions`, arriving `delayNs` after the publish at
   * `timestamp`. */
  #noteCancels(uid: number, instructions: Instruction[], timestamp: number, delayNs: number) {
    for (const instruction of instructions) {
      if (instruction.type !== "CANCEL_ORDERS") continue;
      let inFlight = this.#cancelsInFlight.get(uid);
      if (inFlight === undefined) this.#cancelsInFlight.set(uid, inFlight = new Map());
      for (const { orderId } of instruction.cancellations) {
        inFlight.set(`${instruction.bookId}/${orderId}`, timestamp + delayNs);
      }
    }
  }

  /** Drops the cancellations that arrived before the publish at `timestamp`. */
  #forgetArrivedCancels(timestamp: number) {
    for (const [uid, inFlight] of this.#cancelsInFlight) {
      for (const [key, arrival] of inFlight) if (arrival < timestamp) inFlight.delete(key);
      if (inFlight.size === 0) this.#cancelsInFlight.delete(uid);
    }
  }

  /**
   * Logs trouble of one kind with a miner at `level` the first time, at debug level afterwards: a
   * miner failing every round is named without a line per round. `kind` names the later ones
   * ("timeouts", "discards", ...); a uid that changes hands starts afresh.
   */
  #logOnce(uid: number, kind: string, level: "info" | "warning", message: string) {
    let kinds = this.#reported.get(uid);
    if (kinds === undefined) this.#reported.set(uid, kinds = new Set());
    const first = !kinds.has(kind);
    kinds.add(kind);
    this.#deps.log(
      first ? level : "debug",
      first ? `${message} (later ${kind} of this uid are logged at debug level)` : message,
    );
  }

  /** Counts a valid answer; after {@linkcode ANSWERS_TO_REARM} in a row, the uid's query troubles
   * logged once are told again when they recur. */
  #rearm(uid: number) {
    const streak = (this.#answerStreak.get(uid) ?? 0) + 1;
    this.#answerStreak.set(uid, streak);
    const kinds = this.#reported.get(uid);
    if (streak < ANSWERS_TO_REARM || kinds === undefined) return;
    const past = Object.values(PLURAL).filter((kind) => kinds.delete(kind));
    if (past.length > 0) {
      this.#deps.log(
        "info",
        `uid ${uid}: answering again (${streak} rounds in a row since its ${past.join(", ")}; ` +
          "the next ones are logged)",
      );
    }
  }

  #handleReplies(replies: MinerReply[]) {
    const deps = this.#deps;
    const { scoring: scoringOptions, timeoutSeconds } = deps.options;
    const point = this.#snapshot.simulation;
    this.#answered.clear();
    for (const reply of replies) {
      const stats = this.#statsOf(reply.uid);
      stats.requests++;
      deps.metrics?.queries.inc({ outcome: reply.outcome });
      // As the reference's statistics: a response refused whole (invalid, another uid's) is no
      // response, a failure; one whose instructions alone are void is an answer.
      const refused = reply.outcome === "ok" && reply.checked!.refused;
      if (reply.outcome === "timeout") stats.timeouts++;
      else if (reply.outcome === "rejected") stats.rejections++;
      else if (reply.outcome === "failure" || refused) stats.failures++;
      else {
        stats.successes++;
        stats.callTime += reply.processTime;
      }
      if (reply.outcome !== "ok") {
        this.#answerStreak.set(reply.uid, 0);
        // A timeout is common (a miner down), a failure or refusal is not.
        this.#logOnce(
          reply.uid,
          PLURAL[reply.outcome],
          reply.outcome === "timeout" ? "info" : "warning",
          `uid ${reply.uid}: ${reply.outcome} (${reply.message})`,
        );
        continue;
      }
      deps.metrics?.responseTime.observe(reply.processTime);
      const result = reply.checked!;
      if (result.discarded !== null) {
        // Not an answer (the round's answered count leaves it out): it breaks a run of answers.
        this.#answerStreak.set(reply.uid, 0);
        deps.metrics?.instructions.inc({ result: "voided" });
        // A miner voided every time (say, a uid mismatch) would otherwise look merely silent.
        this.#logOnce(
          reply.uid,
          "discards",
          "warning",
          `uid ${reply.uid}: response discarded: ${result.discarded}`,
        );
        continue;
      }
      this.#rearm(reply.uid);
      this.#answered.add(reply.uid);
      if (result.foreignCancellations > 0) {
        this.#logOnce(
          reply.uid,
          "ones",
          "warning",
          `uid ${reply.uid}: ${result.foreignCancellations} cancellations of orders it does not ` +
            "hold (or repeated) left out",
        );
      }
      if (result.dropped > 0) {
        deps.metrics?.instructions.inc({ result: "dropped" }, result.dropped);
      }
      if (result.firstDrop !== null) {
        // Otherwise an operator sees only a metric, not why a miner's orders never arrive.
        this.#logOnce(
          reply.uid,
          "drops",
          "info",
          `uid ${reply.uid}: ${result.dropped} of its instructions dropped, the first being ` +
            result.firstDrop,
        );
      }
      deps.metrics?.instructions.inc({ result: "accepted" }, result.accepted.length);
      const bounds = { maxDelay: scoringOptions.maxDelayNs, minDelay: scoringOptions.minDelayNs };
      // One injection per distinct final delay, in the miner's order within each.
      const byDelay = new Map<number, Instruction[]>();
      for (const instruction of result.accepted) {
        const delay = executionDelay(reply.processTime, timeoutSeconds, instruction.delay, bounds);
        const list = byDelay.get(delay) ?? [];
        list.push(toEngineInstruction(instruction));
        byDelay.set(delay, list);
      }
      for (const [delayNs, instructions] of byDelay) {
        const injected = this.#inject({
          simulation: point.index,
          publish: point.publishes,
          agentId: reply.uid,
          delayNs,
          instructions,
        });
        if (injected) this.#noteCancels(reply.uid, instructions, point.timestamp, delayNs);
      }
    }
  }

  /**
   * Alerts when no miner at all has answered for a simulated minute of publishes (the validator's
   * own network is the likely culprit); resolves once any miner answers again.
   */
  #checkReachability(replies: MinerReply[]) {
    if (replies.length === 0) return;
    if (replies.some((r) => r.outcome === "ok")) {
      this.#silentRounds = 0;
      this.#deps.alerts.resolve("miners-unreachable");
      return;
    }
    this.#silentRounds++;
    if (this.#silentRounds === UNREACHABLE_ROUNDS) {
      // Miners that answer only to refuse are reachable: they no longer trust this hotkey.
      const refused = replies.every((r) => r.outcome === "rejected");
      // Without a chain, trust is what the miners were told (`--local.validators`) and whom the
      // queries are signed for (the hotkeys in `--miner`).
      const likelyCause = this.#deps.options.local
        ? `is this validator's hotkey (${this.#deps.hotkey}) in each miner's --local.validators, ` +
          "and does each --miner give that miner's own hotkey?"
        : "is this hotkey still registered, with a validator permit?";
      this.#alert(
        "miners-unreachable",
        refused
          ? `all ${replies.length} miners refused the queries in ${UNREACHABLE_ROUNDS} consecutive ` +
            `publishes (${replies[0].message}): ${likelyCause}`
          : `none of ${replies.length} miners answered in ${UNREACHABLE_ROUNDS} consecutive publishes`,
      );
    }
  }

  /**
   * Creates the simulation for `seed`; no live price has reached it yet. A `fresh` one (not about
   * to replay a log) seeded live follows the external feed from the start, which is logged too, so
   * a replay rebuilds it so whether or not live seeding is on then.
   */
  #openMarket(config: SimConfig, seed: number, fresh: boolean) {
    this.#market = this.#deps.createMarket(config, seed);
    this.#cancelsInFlight.clear();
    this.#metricsSimulation = { simulation: simulationConfigFor(config), seed };
    try {
      this.#switchMetrics();
    } catch (error) {
      // The metrics show the market; they never stop it. The next report tries again.
      this.#metricsReportsWorked = 0;
      this.#alert(
        "metrics",
        `metrics not switched to the new simulation (seed ${seed}): ${(error as Error).message}`,
      );
    }
    this.#liveFundamental = null;
    if (fresh && this.#deps.seeds !== undefined) {
      this.#market.extendFeed(1, []);
      this.#logLive({ external: [] });
    }
  }

  /** Gives the market the live prices that came since its last step, logged like injections so
   * that a replay gives them at the same instants. */
  #seedMarket() {
    const seeds = this.#deps.seeds;
    if (seeds === undefined) return;
    const latest = seeds.latestFundamental();
    if (latest !== null && latest !== this.#liveFundamental) {
      this.#market!.setLiveFundamental(latest);
      this.#liveFundamental = latest;
      this.#logLive({ fundamental: latest });
    }
    const samples = seeds.takeExternalSamples();
    if (samples.length > 0) {
      this.#market!.extendFeed(1, samples);
      this.#logLive({ external: samples });
    }
  }

  #logLive(live: NonNullable<Injection["live"]>) {
    this.#unsaved.push({
      simulation: this.#snapshot.simulation.index,
      publish: this.#snapshot.simulation.publishes,
      agentId: -1,
      delayNs: 0,
      instructions: [],
      live,
    });
  }

  /** Injects and logs `injection`; false when the engine refused it. */
  #inject(injection: Injection): boolean {
    const started = performance.now();
    try {
      this.#market!.inject(injection.agentId, injection.instructions, injection.delayNs);
    } catch (error) {
      // One miner's instructions the engine cannot take are lost alone; the market goes on.
      this.#deps.log(
        "warning",
        `uid ${injection.agentId}: ${injection.instructions.length} instructions not injected: ` +
          (error as Error).message,
      );
      return false;
    } finally {
      this.#deps.phases?.add("inject", started);
    }
    this.#unsaved.push(injection);
    return true;
  }

  #statsOf(uid: number): QueryStats {
    let stats = this.#stats.get(uid);
    if (stats === undefined) {
      stats = { requests: 0, timeouts: 0, failures: 0, rejections: 0, callTime: 0, successes: 0 };
      this.#stats.set(uid, stats);
    }
    return stats;
  }

  #recordInitialBalances(publish: PublishState) {
    this.#initialBalances.clear();
    for (const account of publish.accounts) {
      this.#initialBalances.set(
        account.agentId,
        account.holdings.map((h) => ({ base: h.base.total, quote: h.quote.total })),
      );
    }
  }

  /**
   * Times the round that just ended at `timestamp`, from the end of the one before: the market's
   * advance to this publish and the miners' answers, so that the progress line printed after a
   * slow round counts it.
   */
  #recordRound(timestamp: number) {
    const now = performance.now();
    const last = this.#lastRoundEnd;
    if (last !== null) {
      // A simulation started since: its first publish counts from its start.
      const from = timestamp > last.timestamp ? last.timestamp : this.#config.start;
      const simulated = timestamp - from, wall = (now - last.wall) / 1000;
      if (simulated > 0 && wall > 0) {
        this.#recentRounds.push({ simulated, wall });
        if (this.#recentRounds.length > PROGRESS_PERIOD) this.#recentRounds.shift();
      }
    }
    this.#lastRoundEnd = { wall: now, timestamp };
  }

  #recordStepRate(timestamp: number) {
    const now = performance.now();
    if (this.#lastPublishWall !== null && this.#lastPublishTimestamp !== null) {
      const wall = (now - this.#lastPublishWall) / 1000;
      const simulated = timestamp - this.#lastPublishTimestamp;
      if (wall > 0 && simulated > 0) {
        this.#stepRates.push(simulated / wall);
        if (this.#stepRates.length > 10_000) this.#stepRates.shift();
      }
    }
    this.#lastPublishWall = now;
    this.#lastPublishTimestamp = timestamp;
  }

  #handleResetNotices(publish: PublishState) {
    const pending = new Set(this.#snapshot.pendingResets);
    if (pending.size === 0) return;
    // One notice per book: a reset worked only if every book's did, and fails once, not per book.
    const failures = new Map<number, string>();
    const answered = new Set<number>();
    for (const notice of publish.notices) {
      if (notice.type !== "RESPONSE_DISTRIBUTED_RESET_AGENT" || !pending.has(notice.agentId)) {
        continue;
      }
      answered.add(notice.agentId);
      if (notice.message !== undefined && notice.message !== "" && !failures.has(notice.agentId)) {
        failures.set(notice.agentId, notice.message);
      }
    }
    for (const agentId of answered) {
      this.#resetsSent.delete(agentId);
      const failure = failures.get(agentId);
      if (failure !== undefined) {
        this.#alert("agent-reset", `reset of uid ${agentId} failed: ${failure}`);
        continue;
      }
      pending.delete(agentId);
      // What was observed between the re-registration and this state is the previous owner's
      // account: its last value would open the new owner's return series.
      this.#scoring.reset(agentId);
      this.#minersToForget.add(agentId);
      this.#deps.log("info", `uid ${agentId} reset to the initial balances`);
    }
    this.#snapshot.pendingResets = [...pending];
    if (pending.size === 0) this.#deps.alerts.resolve("agent-reset");
  }

  /** Sends each pending reset once (again only after a failure notice or a restart). */
  #injectResets() {
    const point = this.#snapshot.simulation;
    for (const uid of this.#snapshot.pendingResets) {
      if (this.#resetsSent.has(uid)) continue;
      if (uid >= this.#config.remoteAgentCount) continue;
      this.#resetsSent.add(uid);
      // A reset drops the uid's instructions still on their way.
      this.#cancelsInFlight.delete(uid);
      this.#inject({
        simulation: point.index,
        publish: point.publishes,
        agentId: uid,
        delayNs: 0,
        instructions: [{ type: "RESET_AGENT" }],
      });
    }
  }

  /** Reads the neuron list (chain or static); null when the read failed. */
  async #fetchNeurons(): Promise<Neuron[] | null> {
    try {
      await this.#deps.directory.refresh();
      return await this.#deps.directory.neurons();
    } catch (error) {
      this.#deps.log("warning", `neuron refresh failed: ${(error as Error).message}`);
      return null;
    }
  }

  /**
   * Starts a background read of the neuron list when one is due (a metagraph read can take
   * seconds; the simulation does not wait for it) and applies the last completed read.
   */
  #syncNeurons() {
    if (this.#fetchedNeurons !== null) {
      this.#applyNeurons(this.#fetchedNeurons, false);
      this.#fetchedNeurons = null;
    }
    const interval = Math.min(120, this.#deps.options.weightsIntervalSeconds) * 1000;
    if (this.#neuronFetch !== null || performance.now() - this.#lastSyncAt < interval) return;
    this.#lastSyncAt = performance.now();
    this.#neuronFetch = this.#fetchNeurons().then((neurons) => {
      this.#fetchedNeurons = neurons;
      this.#neuronFetch = null;
    });
  }

  /**
   * Takes a fresh neuron list; a uid whose hotkey changed is deregistered and reset. A uid seen for
   * the first time starts with no scoring history, as in the reference, which scores only
   * registered uids: what the scorer recorded for its idle account while the slot was empty is
   * dropped (the account itself was never touched, so it is not reset).
   */
  #applyNeurons(neurons: Neuron[], initial: boolean) {
    const deps = this.#deps;
    this.#neurons = neurons;
    this.#ownUid = this.#neurons.find((n) => n.hotkey === deps.hotkey)?.uid ?? null;
    const hotkeys = this.#snapshot.hotkeys;
    for (const neuron of this.#neurons) {
      const known = hotkeys[neuron.uid];
      if (known === undefined) this.#scoring.reset(neuron.uid);
      if (known !== undefined && known !== neuron.hotkey) {
        deps.log("info", `uid ${neuron.uid} re-registered (${neuron.hotkey}): resetting`);
        this.#scoring.reset(neuron.uid);
        this.#minersToForget.add(neuron.uid);
        if (!this.#snapshot.pendingResets.includes(neuron.uid)) {
          this.#snapshot.pendingResets.push(neuron.uid);
        }
        this.#resetsSent.delete(neuron.uid);
        this.#reported.delete(neuron.uid);
        this.#answerStreak.delete(neuron.uid);
      }
      hotkeys[neuron.uid] = neuron.hotkey;
    }
    if (initial) {
      deps.log("info", `${this.#neurons.length} neurons, own uid ${this.#ownUid ?? "none"}`);
    }
  }

  /** Submits weights in the background when due, or now when `final` (a chain submission must not
   * pause the market). */
  #maybeSetWeights(final = false) {
    const deps = this.#deps;
    if (this.#weightsInFlight !== null) return;
    if (deps.options.disableSetWeights || this.#snapshot.step === 0) return;
    const last = this.#snapshot.lastWeightsAt;
    if (
      !final && last !== null && Date.now() - last < deps.options.weightsIntervalSeconds * 1000
    ) {
      // A reveal window is one epoch; a longer weights interval must not let commits expire.
      if (deps.weights.revealDue !== undefined && Date.now() - this.#lastRevealCheck >= 60_000) {
        this.#lastRevealCheck = Date.now();
        this.#weightsInFlight = this.#revealDue().finally(() => {
          this.#weightsInFlight = null;
        });
      }
      return;
    }
    const scores = this.#scoring.scores();
    const { uids, weights } = normalizedWeights(
      this.#neurons.map((n) => n.uid),
      (uid) => scores[uid] ?? 0,
    );
    if (uids.length === 0) return;
    this.#snapshot.lastWeightsAt = Date.now();
    this.#weightsInFlight = this.#submitWeights(uids, weights).finally(() => {
      this.#weightsInFlight = null;
    });
  }

  async #submitWeights(uids: number[], weights: number[]) {
    const deps = this.#deps;
    try {
      const result = await deps.weights.setWeights(uids, weights, WEIGHTS_VERSION_KEY);
      this.#weightOutcome(result, "set");
      for (const reveal of result.reveals ?? []) this.#weightOutcome(reveal, "reveal");
    } catch (error) {
      deps.metrics?.weightSubmissions.inc({ result: "failed" });
      this.#alert("weights", `weight submission failed: ${(error as Error).message}`);
    }
  }

  /** Reveals due commits between two weight settings (commit-reveal with a long interval). */
  async #revealDue() {
    try {
      for (const reveal of await this.#deps.weights.revealDue!()) {
        this.#weightOutcome(reveal, "reveal");
      }
    } catch (error) {
      this.#alert("weights", `weight reveal failed: ${(error as Error).message}`);
    }
  }

  /** Weights reached the chain: the refusals in a row start again and the alert resolves. */
  #weightsHealthy() {
    this.#weightFailures = 0;
    this.#deps.alerts.resolve("weights");
  }

  /**
   * Logs, counts and alerts on one weight submission or reveal. Weights count as set when they
   * take effect on chain: a direct set, a reveal or a timelocked commit (which the chain reveals
   * itself), not a hash commit before its reveal. Deferrals (the
   * rate limit, a reveal to retry) are routine and neither reset nor add to the refusals in a row.
   */
  #weightOutcome(result: WeightSubmission, kind: "set" | "reveal") {
    const deps = this.#deps;
    const outcome = result.accepted
      ? (kind === "reveal" ? "revealed" : result.committed ? "committed" : "accepted")
      : result.deferred
      ? "deferred"
      : result.failed
      ? "failed"
      : "refused";
    deps.metrics?.weightSubmissions.inc({ result: outcome });
    const detail = result.reference ?? result.message;
    if (outcome === "committed") {
      deps.log("info", `weights committed (${detail})`);
      // The chain applies a timelocked commit by itself: nothing is left for this validator to do.
      if (result.committed === "timelock") this.#weightsHealthy();
    } else if (result.accepted) {
      deps.log("info", `weights ${outcome === "revealed" ? "revealed" : "set"} (${detail})`);
      this.#weightsHealthy();
    } else if (result.deferred) {
      deps.log("debug", `weights deferred: ${result.message}`);
    } else {
      deps.log(
        "warning",
        `weights not ${kind === "reveal" ? "revealed" : "set"}: ${result.message}`,
      );
      // One refusal can be routine (a busy node); several in a row cost the validator its trust
      // and need a person.
      if (++this.#weightFailures >= WEIGHTS_ALERT_AFTER) {
        this.#alert(
          "weights",
          `weights not set ${this.#weightFailures} times in a row: ${result.message}`,
        );
      }
    }
  }

  /** Resolves once background work (a weight submission, a neuron read) has finished. */
  async settled(): Promise<void> {
    await Promise.all([this.#weightsInFlight, this.#neuronFetch]);
  }

  /**
   * Closes the simulation and starts the next one. Only one that `completed` its duration
   * resolves the `simulation` alert: an abandoned one raised it, and a whole simulation is what
   * shows the failure gone (resolving at the next start would replace the trigger before it was
   * sent).
   */
  async #endSimulation(completed: boolean): Promise<boolean> {
    const deps = this.#deps;
    const point = this.#snapshot.simulation;
    deps.log(
      "info",
      `simulation ${point.index} (seed ${point.seed}) ended at t=${point.timestamp}`,
    );
    if (completed) deps.alerts.resolve("simulation");
    try {
      this.#market?.close();
    } catch (error) {
      deps.log("warning", `closing the simulation failed: ${(error as Error).message}`);
    }
    this.#market = null;
    this.#scoring.rebase(point.timestamp);
    this.#simulationsFinished++;
    this.#snapshot.simulation = nextSimulation(point, this.#config);
    this.#resetsSent.clear();
    this.#lastPublishTimestamp = null;
    this.#unsaved = [];
    this.save();
    const limit = deps.options.simulations;
    if (limit !== null && this.#simulationsFinished >= limit) return true;
    const next = this.#snapshot.simulation;
    let config = deps.config;
    if (deps.reloadConfig !== undefined) {
      try {
        config = await deps.reloadConfig();
        deps.alerts.resolve("config");
      } catch (error) {
        this.#alert(
          "config",
          `new simulation config unusable, keeping the previous one: ${(error as Error).message}`,
        );
        config = this.#config;
      }
    }
    this.#useConfig(config);
    next.config = config;
    this.#openMarket(config, next.seed, true);
    deps.board.startSimulation(next.index, next.seed);
    deps.log("info", `simulation ${next.index} started (seed ${next.seed})`);
    return false;
  }

  /** False after a save failed, until one succeeds. */
  get saved(): boolean {
    return this.#saveFailed === false;
  }

  /**
   * Writes the state file now (one transaction). Alerts instead of throwing; a failed save is
   * retried at the next save interval, not at every round (the unsaved injections are kept).
   */
  save(): void {
    if (!this.#started) return;
    const deps = this.#deps;
    this.#lastSaveAt = performance.now();
    try {
      const scores = Object.fromEntries(this.#scoring.scores().map((s, uid) => [uid, s]));
      this.#snapshot.scores = scores;
      const recovered = deps.store.save(
        { ...this.#snapshot, scoring: this.#scoring.windows },
        this.#unsaved,
      );
      this.#unsaved = [];
      this.#saveFailed = false;
      if (recovered !== null) this.#alert("state-save", recovered);
      // Saved beside a file that took the state's place, the state needs a person to move it
      // back before a restart: the alert stays.
      else if (!deps.store.relocated) deps.alerts.resolve("state-save");
    } catch (error) {
      this.#saveFailed = true;
      // Says which file and what happens meanwhile: a person must free space or fix permissions.
      const interval = deps.options.saveIntervalSeconds;
      this.#alert(
        "state-save",
        `cannot write the state file ${deps.store.path}: ${(error as Error).message}; the ` +
          `unsaved rounds are kept in memory and the save is retried ${
            interval > 0 ? `every ${interval} s` : "after every round"
          } (check the free space and permissions of its directory)`,
      );
    }
  }

  /** Shows the simulation opened last in the metrics, unless they already do. */
  #switchMetrics() {
    const pending = this.#metricsSimulation;
    if (pending === null || this.#deps.metrics === null) return;
    this.#deps.metrics.newSimulation(pending.simulation, pending.seed);
    this.#metricsSimulation = null;
  }

  #report(publish: PublishState) {
    const deps = this.#deps;
    deps.board.record(publish, this.#snapshot.step, this.#leaderboard(true));
    // The query counts cover one period each, whether its report works or not: one that failed
    // must not leave them to the next, which would show two periods' worth.
    const statsDue = this.#snapshot.simulation.publishes % QUERY_STATS_PERIOD === 0;
    try {
      if (deps.metrics === null || deps.options.reportingDisabled) return;
      this.#switchMetrics();
      const details = this.#details(publish);
      const rates = this.#stepRates;
      deps.metrics.report({
        publish,
        stepRate: rates.length === 0 ? 0 : rates.reduce((a, b) => a + b, 0) / rates.length,
        ownUid: this.#ownUid,
        own: this.#neurons.find((n) => n.uid === this.#ownUid) ?? null,
        chain: deps.metagraph?.() ?? null,
        scores: this.scores,
        details,
        initialBalances: this.#initialBalances,
        listed: new Set(this.#neurons.map((n) => n.uid)),
        queryStats: statsDue ? this.#stats : undefined,
        usage: this.#usage(),
      });
      for (const uid of this.#minersToForget) deps.metrics.forgetMiner(uid);
      this.#minersToForget.clear();
      if (++this.#metricsReportsWorked >= METRICS_REPORTS_TO_RESOLVE) {
        deps.alerts.resolve("metrics");
      }
    } catch (error) {
      this.#metricsReportsWorked = 0;
      this.#alert("metrics", `metrics report failed: ${(error as Error).message}`);
    } finally {
      if (statsDue) this.#stats = new Map();
    }
  }

  /**
   * The status page's leaderboard: each registered miner with an inventory observation. Whether
   * it answered is told after a round (`queried`), not from a state a restart read.
   */
  #leaderboard(queried: boolean): LeaderboardRow[] {
    const scores = this.scores;
    return this.#observedMiners().map(([uid, record]) => ({
      uid,
      score: scores.get(uid) ?? 0,
      reward: record.reward,
      pnl: inventoryTotal(record, -1) - inventoryTotal(record, 0),
      answered: queried ? this.#answered.has(uid) : null,
    }));
  }

  /** The scored records of the registered miners that have an inventory observation. */
  #observedMiners(): [number, MinerRecord][] {
    const registered = new Set(this.#neurons.map((n) => n.uid));
    const observed: [number, MinerRecord][] = [];
    this.#scoring.miners.forEach((record, uid) => {
      if (registered.has(uid) && record.inventory.length > 0) observed.push([uid, record]);
    });
    return observed;
  }

  #details(publish: PublishState): MinerScoreDetail[] {
    const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    return this.#observedMiners().map(([uid, record]) => {
      const last = record.inventory[record.inventory.length - 1].values;
      const [first, previous, latest] = [0, -2, -1].map((at) => inventoryTotal(record, at));
      const pnl = latest - first;
      return {
        uid,
        reward: record.reward,
        score: record.score,
        observations: record.inventory.length,
        pnl,
        inventoryValueChange: latest - previous,
        // As the reference computes it (the same as the change above, up to rounding).
        pnlChange: pnl - (previous - first),
        books: publish.books.map((_, b) => ({
          sharpe: record.sharpe.books[b] ?? 0,
          activityFactor: record.activity[b] ?? 0,
          inventoryValue: last[b] ?? 0,
          // From the first observation holding the book, as the reference's start value.
          pnl: (last[b] ?? 0) - (record.inventory.find((o) => b < o.values.length)?.values[b] ?? 0),
          volume: {
            total: sum(record.volumes[b].total),
            maker: sum(record.volumes[b].maker),
            taker: sum(record.volumes[b].taker),
            self: sum(record.volumes[b].self),
          },
        })),
      };
    });
  }

  #usage(): { cpu: number; ram: number; disk: number } {
    return {
      cpu: this.#cpu.percent(),
      // Rounded to 0.1 as psutil's figure is, and as the CPU and disk gauges are.
      ram: Math.round(1000 * (1 - freemem() / totalmem())) / 10,
      disk: diskUsage(this.#deps.store.path),
    };
  }

  /** Raises an alert; it is sent in the background, so the round never waits for PagerDuty. */
  #alert(kind: Parameters<Alerter["trigger"]>[0], message: string) {
    this.#deps.alerts.trigger(kind, message);
  }

  /** Saves and frees the simulation. */
  close(): void {
    this.save();
    this.#market?.close();
    this.#market = null;
  }
}

/**
 * The total value of a miner's inventory observation `at` (negative: from the end), or of its
 * latest when it has fewer.
 */
function inventoryTotal(record: MinerRecord, at: number): number {
  const observation = record.inventory.at(at) ?? record.inventory[record.inventory.length - 1];
  return observation.values.reduce((a, b) => a + b, 0);
}

/**
 * Scores → weights as the reference: shift so the minimum is 0 when any score is negative, then
 * L1-normalise in float32; all-zero scores give uniform weights over `uids` (as the SDK's weight processing).
 */
export function normalizedWeights(
  uids: number[],
  scoreOf: (uid: number) => number,
): { uids: number[]; weights: number[] } {
  // In float32 throughout, as the reference's torch tensors: in float64 one u16 weight in about
  // a hundred vectors came out one higher.
  const f32 = Math.fround;
  const values = uids.map((uid) => {
    const score = f32(scoreOf(uid));
    return Number.isFinite(score) ? score : 0;
  });
  const min = Math.min(...values, 0);
  const shifted = values.map((v) => f32(v - min));
  const sum = shifted.reduce((a, b) => f32(a + b), 0);
  const weights = sum > 0 ? shifted.map((v) => f32(v / sum)) : shifted.map(() => 1 / uids.length);
  return { uids: [...uids], weights };
}

/**
 * Percent used of the file system holding `path` (the state file), 0 when unknown: used over what
 * users can have (used and available, the blocks reserved for root left out), to one decimal, as
 * the reference's `psutil.disk_usage` and `df` count it.
 */
function diskUsage(path: string): number {
  if (path === ":memory:") return 0;
  try {
    const fs = statfsSync(dirname(path));
    const used = fs.blocks - fs.bfree;
    return used + fs.bavail > 0 ? Math.round((1000 * used) / (used + fs.bavail)) / 10 : 0;
  } catch {
    return 0;
  }
}

/** Whether `path` is a file; only looked at, never opened. */
function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Whether two configs run the same market but for the seed, which a saved state chooses. */
function sameConfig(a: SimConfig, b: SimConfig): boolean {
  return JSON.stringify({ ...a, seed: 0 }) === JSON.stringify({ ...b, seed: 0 });
}
