/**
 * `taos validator`: wires the options to the validator loop: the simulation config and engine,
 * the hotkey and dendrite, the neuron directory and weight setter (chain, or `--local` static
 * axons with locally recorded weights), the state file, alerts, metrics and the status page.
 * @module
 */
import process from "node:process";
import { type Command, printOut, UsageError } from "../cli/command.ts";
import { formatDuration, type SimConfig } from "../sim/config.ts";
import { loadForCommand } from "../sim/load.ts";
import { SimEngine } from "../sim/engine.ts";
import { readFeeds } from "../sim/feed.ts";
import { LiveSeeds } from "./live_prices.ts";
import { Dendrite } from "../bittensor/dendrite.ts";
import { hostAndPort } from "../bittensor/http_client.ts";
import {
  type Neuron,
  type NeuronDirectory,
  RecordingWeightSetter,
  StaticNeuronDirectory,
  type WeightSetter,
  type WeightSubmission,
} from "../bittensor/neurons.ts";
import { parseValidatorArgs, pendingCommitsPath, stateFileOf, VALIDATOR_HELP } from "./options.ts";
import type { ValidatorOptions } from "./options.ts";
import { loadHotkey } from "./hotkey.ts";
import { type LogLevel, makeLogger } from "../cli/log.ts";
import { DendriteMinerClient } from "./miner_client.ts";
import { StateFileError, StateInUseError, ValidatorStore } from "./store.ts";
import { Alerter } from "./pagerduty.ts";
import { neuronInfoLabels, ValidatorMetrics } from "./metrics.ts";
import { simulationConfigFor } from "../agents/sdk/state.ts";
import { StatusBoard } from "./status.ts";
import { type MonitoringServer, startMonitoringServer } from "./server.ts";
import { StartInterrupted, Validator, type ValidatorDeps } from "./validator.ts";

/**
 * Prints each local weight submission as one JSON line, so scripts can follow them. A line that
 * cannot be written (a full disk behind stdout) is a warning, once: the weights were set.
 */
class PrintingWeightSetter implements WeightSetter {
  readonly #recorder = new RecordingWeightSetter();
  #warned = false;

  constructor(readonly log: (at: LogLevel, message: string) => void) {}

  async setWeights(uids: number[], weights: number[], versionKey: number) {
    const result: WeightSubmission = await this.#recorder.setWeights(uids, weights, versionKey);
    try {
      printOut(JSON.stringify({ weights: { uids, weights, versionKey } }));
    } catch (error) {
      if (!this.#warned) this.log("warning", `${(error as Error).message} (said once)`);
      this.#warned = true;
    }
    return result;
  }
}

/**
 * `log` that never throws: a line the log cannot take (stderr on a full disk) is dropped, for the
 * market, the scores and the state must not stop for their log; the first line written after
 * says how many were lost and why.
 */
function unfailingLog(
  log: (at: LogLevel, message: string) => void,
): (at: LogLevel, message: string) => void {
  let lost = 0;
  let why = "";
  return (at, message) => {
    if (lost > 0) {
      try {
        log("warning", `${lost} log lines could not be written (${why})`);
        lost = 0;
      } catch {
        // Still failing: said with the next line that goes through.
      }
    }
    try {
      log(at, message);
    } catch (error) {
      lost++;
      why = (error as Error).message;
    }
  };
}

/** How long a weight extrinsic may take to reach a block (five blocks of 12 s). */
const WEIGHTS_INCLUSION_TIMEOUT_MS = 60_000;

async function simulationConfig(options: ValidatorOptions): Promise<SimConfig> {
  // The flags take the file's place before it is checked, as in `taos sim`.
  const given = {
    duration: options.duration ?? undefined,
    books: options.books ?? undefined,
    seed: options.seed ?? undefined,
  };
  const flag = options.simulationConfigFlag;
  const { config } = await loadForCommand(options.simulationConfig, given, flag);
  // Miners are first queried after the grace period: a shorter simulation would never reach them.
  if (config.duration < config.gracePeriod + config.step) {
    // Named after where the duration came from: the flag, or the config's own.
    const source = options.duration !== null
      ? "--duration"
      : `${flag} ${options.simulationConfig}: duration`;
    throw new UsageError(
      `${source}: ${formatDuration(config.duration)} ends before the first publish after the ` +
        `config's ${formatDuration(config.gracePeriod)} grace period: no miner would ever be ` +
        `queried (give at least ${formatDuration(config.gracePeriod + config.step)})`,
    );
  }
  return config;
}

function localNeurons(options: ValidatorOptions): Neuron[] {
  return options.miners.map((miner) => ({
    uid: miner.uid,
    hotkey: miner.hotkey,
    coldkey: miner.hotkey,
    stake: 0,
    validatorPermit: false,
    axon: {
      ip: miner.host,
      port: miner.port,
      ipType: miner.host.includes(":") ? 6 : 4,
      protocol: 4,
      version: 0,
    },
    lastUpdate: 0,
  }));
}

async function run(args: string[]): Promise<number> {
  const options = parseValidatorArgs(args);
  const log = unfailingLog(makeLogger(options.logLevel));
  for (const note of options.notes) log("warning", note);
  const config = await simulationConfig(options);
  const feed = await readFeeds(
    {
      fundamental: options.fundamentalFeed ?? undefined,
      external: options.externalFeed ?? undefined,
    },
    config,
    (message) => log("warning", message),
  );
  for (const miner of options.miners) {
    if (miner.uid >= config.remoteAgentCount) {
      const accounts = config.remoteAgentCount === 0
        ? "no miner accounts (remoteAgentCount 0)"
        : `accounts for uids 0..${config.remoteAgentCount - 1} only`;
      log(
        "warning",
        `--miner uid ${miner.uid}: the simulation has ${accounts}; it will not be queried`,
      );
    }
  }
  if (options.local && options.miners.length === 0) {
    log("warning", "--local without --miner: the simulation runs with no miners to query");
  }
  const hotkey = await loadHotkey({
    walletPath: options.walletPath,
    walletName: options.walletName,
    walletHotkey: options.walletHotkey,
    uri: options.hotkeyUri,
    walletVariables: options.walletVariables,
  });
  for (const miner of options.miners) {
    if (miner.hotkey === hotkey.keypair.ss58Address) {
      log(
        "warning",
        `--miner uid ${miner.uid}: ${miner.hotkey} is this validator's own hotkey; ` +
          "a validator never queries itself",
      );
    }
  }
  const state = stateFileOf(options, hotkey.keypair.ss58Address);

  // A hotkey given by URI has no wallet names: its address keeps two such validators' alerts apart.
  const source = options.hotkeyUri !== null
    ? hotkey.keypair.ss58Address
    : `${options.walletName}:${options.walletHotkey}`;
  const alerts = new Alerter({
    routingKey: options.pagerdutyKey,
    source,
    url: options.pagerdutyUrl,
    log: (line, level) => log(level, line),
  });
  let directory: NeuronDirectory;
  let metagraph: ValidatorDeps["metagraph"];
  let weights: WeightSetter;
  let closeChain = () => Promise.resolve();
  /** Our own neuron on the chain (not known with --local). */
  let own: Neuron | undefined;
  if (options.local) {
    directory = new StaticNeuronDirectory(localNeurons(options));
    weights = new PrintingWeightSetter(log);
  } else {
    const chain = await import("../chain/mod.ts");
    let client;
    let neurons: Neuron[];
    try {
      client = await chain.SubtensorClient.connect({
        network: options.chainEndpoint,
        log: (m, level) => log(level, m),
        // What the library reports is also logged in our words; its own lines are detail.
        libraryLog: (line) => log("debug", `@polkadot/api: ${line}`),
      });
      const chainDirectory = new chain.ChainNeuronDirectory(client, options.netuid);
      directory = chainDirectory;
      metagraph = () => chainDirectory.metagraph;
      neurons = await directory.neurons();
    } catch (error) {
      await client?.close();
      log("error", `chain ${options.chainEndpoint}: ${(error as Error).message}`);
      return 1;
    }
    closeChain = () => client.close();
    own = neurons.find((n) => n.hotkey === hotkey.keypair.ss58Address);
    if (own === undefined) {
      await client.close();
      log(
        "error",
        `hotkey ${hotkey.keypair.ss58Address} is not registered on subnet ${options.netuid}`,
      );
      return 1;
    }
    weights = new chain.ChainWeightSetter(client, {
      netuid: options.netuid,
      hotkey: hotkey.pair,
      // Waiting for the block (in the background) shows dispatch errors, which count towards
      // the weights alert, and the epoch the chain recorded for a commit.
      timeoutMs: WEIGHTS_INCLUSION_TIMEOUT_MS,
      pendingCommitsPath: pendingCommitsPath(state.path),
      commitScheme: options.commitScheme,
      log: (m) => log("info", m),
      // A submission the rate limit holds back is routine (the validator logs it at debug too).
      debug: (m) => log("debug", m),
      // Commits whose reveal may be lost page someone.
      warn: (m) => alerts.trigger("weights", m),
    });
  }

  // The port is bound before the state file is opened: a start that fails on it (a port in use)
  // creates no state file.
  const board = new StatusBoard();
  let metrics: ValidatorMetrics | null = null;
  let server: MonitoringServer | null = null;
  if (options.prometheusPort !== null) {
    // A hotkey given by URI has no wallet names.
    const byUri = options.hotkeyUri !== null;
    metrics = new ValidatorMetrics({
      wallet: hotkey.keypair.ss58Address,
      netuid: options.metricsNetuid,
      alerts,
      info: neuronInfoLabels(
        {
          uid: own?.uid ?? null,
          network: options.local ? "local" : options.chainEndpoint,
          coldkey: own?.coldkey ?? null,
          coldkeyName: byUri ? "" : options.walletName,
          hotkey: hotkey.keypair.ss58Address,
          name: byUri ? "" : options.walletHotkey,
        },
        simulationConfigFor(config),
        config.seed,
      ),
    });
    try {
      server = await startMonitoringServer({
        port: options.prometheusPort,
        hostname: options.httpHost,
        maxConnectionsPerIp: options.httpMaxConnectionsPerIp,
        metrics,
        board,
        onError: (message) => log("warning", message),
      });
    } catch (error) {
      await closeChain();
      await alerts.close();
      // A port in use is the port's fault; an address that cannot be bound or resolved, the host's.
      const flag = error instanceof Deno.errors.AddrInUse
        ? "-o/--prometheus.port"
        : "--http.host / -o/--prometheus.port";
      throw new UsageError(
        `${flag}: cannot listen on ${options.httpHost} port ${options.prometheusPort}: ${
          (error as Error).message
        }`,
      );
    }
    // A log line: stdout is for the weight JSON lines of --local.
    log("info", `status page and metrics on http://${hostAndPort(options.httpHost, server.port)}/`);
  }

  let store: ValidatorStore;
  try {
    const network = options.local ? "local" : `netuid${options.netuid}`;
    store = openStore(
      state.path,
      `${hotkey.keypair.ss58Address}@${network}`,
      options.reset,
      log,
    );
  } catch (error) {
    await server?.close();
    await closeChain();
    // Only a damaged taos state may be replaced: another validator's file, another program's,
    // or one that cannot be written never is.
    const replaceable = error instanceof StateFileError && error.kind === "damaged" &&
      !options.reset;
    // Its own errors name the file already.
    const namesFile = error instanceof StateFileError || error instanceof StateInUseError;
    const flag = namesFile ? state.origin : `${state.origin} ${state.path}`;
    const owner = error instanceof StateFileError && error.kind === "owned"
      ? error.savedOwner
      : null;
    const message = `${flag}: ${(error as Error).message}${
      replaceable ? " (restore a backup, or --neuron.reset starts over)" : ""
    }${
      owner === null ? "" : " (give this validator a state file of its own with --state <file>; " +
        `--neuron.reset would discard the state of validator ${owner})`
    }`;
    // A state in use, or another validator's, is a mistake in the command (a second validator
    // on one file, a wrong --state, a new hotkey under old names), refused at start with exit 2
    // and told on stderr: it pages no one. A file that cannot be read or is damaged can befall a
    // validator no one touched.
    if (!(error instanceof StateInUseError) && owner === null) {
      alerts.trigger("state-load", message);
    }
    // Closing sends the page again while PagerDuty does not take it, for 10 s at most.
    await alerts.close();
    throw new UsageError(message);
  }

  const seeds = options.seeding === null ? undefined : new LiveSeeds({
    ...options.seeding,
    log: (level, message) => log(level, message),
    // As the reference pages when no venue delivers; the simulation keeps its own price meanwhile.
    onOutage: (stream, message) => {
      const kind = stream === "fundamental" ? "seeding-fundamental" : "seeding-external";
      if (message === null) alerts.resolve(kind);
      else alerts.trigger(kind, `${stream} price seeding: ${message}`);
    },
  });
  seeds?.start();
  const validator = new Validator({
    options,
    config,
    reloadConfig: () => simulationConfig(options),
    createMarket: (c, seed) =>
      SimEngine.create({ config: c, seed, threads: options.threads, feed }),
    seeds,
    directory,
    metagraph,
    weights,
    client: new DendriteMinerClient(
      new Dendrite(hotkey.keypair, {
        maxResponseBytes: options.maxResponseBytes,
        maxRoundResponseBytes: options.maxRoundResponseBytes,
      }),
    ),
    store,
    alerts,
    metrics,
    board,
    hotkey: hotkey.keypair.ss58Address,
    walletNamesStatePath: state.walletNamesDefault,
    log,
  });
  const abort = new AbortController();
  // A closed terminal (SIGHUP) stops it as cleanly as pm2 does, state saved.
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const stops = signals.map((signal) => () => {
    // A repeated signal is answered too, so that it is not taken for one that went unheard.
    log(
      "info",
      abort.signal.aborted
        ? `${signal}: already stopping after the current round, which saves the state ` +
          "(a SIGKILL stops at once; a restart resumes from the last save)"
        : `${signal}: stopping after the current round (the miners' timeout at most)`,
    );
    abort.abort();
  });
  signals.forEach((signal, i) => Deno.addSignalListener(signal, stops[i]));
  // Listening until the last line: a signal arriving while the files and servers close would
  // otherwise end the process before it says how it stopped.
  try {
    return await runUntilStopped();
  } finally {
    signals.forEach((signal, i) => Deno.removeSignalListener(signal, stops[i]));
  }

  async function runUntilStopped(): Promise<number> {
    log(
      "info",
      `validator ${hotkey.keypair.ss58Address} on ${
        options.local ? "local miners" : `netuid ${options.netuid}`
      }, state ${state.path}`,
    );
    try {
      try {
        await validator.start(abort.signal);
      } catch (error) {
        if (error instanceof StartInterrupted) {
          log("info", `${error.message}; the state file is unchanged`);
          return 0;
        }
        log("error", (error as Error).message);
        return 1;
      }
      await validator.run(abort.signal);
    } finally {
      validator.close();
      seeds?.close();
      store.close();
      await server?.close();
      await closeChain();
      await alerts.close();
    }
    if (!validator.saved) {
      log("error", "stopped; the last state save failed (see the alert above)");
      process.exitCode = 1;
      return 1;
    }
    // A state file replaced while the validator ran was left alone, and the state written beside.
    const where = store.relocated
      ? ` to ${store.path} (the file at --state was replaced while it ran)`
      : "";
    log("info", `${abort.signal.aborted ? "stopped" : "finished"}; state saved${where}`);
    process.exitCode = 0;
    return 0;
  }
}

/**
 * Opens the state file as `owner`'s (see `ValidatorStore.claim`); with `reset` it starts empty,
 * and a damaged taos state is replaced (never another process's file, another program's or one
 * that cannot be written).
 */
function openStore(
  path: string,
  owner: string,
  reset: boolean,
  log: (level: "warning" | "info", message: string) => void,
): ValidatorStore {
  let store: ValidatorStore;
  let replaced = false;
  try {
    store = ValidatorStore.open(path);
  } catch (error) {
    if (!reset || !(error instanceof StateFileError) || error.kind !== "damaged") throw error;
    const aside = ValidatorStore.setAside(path);
    log("warning", `--neuron.reset: the damaged state file was moved to ${aside}`);
    store = ValidatorStore.open(path);
    replaced = true;
  }
  try {
    if (reset && !replaced) {
      store.clear();
      log("info", `--neuron.reset: the scores and simulation in ${path} were discarded`);
    }
    store.claim(owner);
  } catch (error) {
    store.close();
    throw error;
  }
  return store;
}

/** `taos validator`. */
export const command: Command = {
  name: "validator",
  summary: "run a subnet 79 validator",
  help: VALIDATOR_HELP,
  run,
};
