/**
 * The validator's command-line options: the reference neuron's dotted long options, the short
 * flags of the subnet's `run_validator.sh`, and the taos additions (`--local`, `--miner`,
 * `--config`, save and weight intervals). Numbers go through zod schemas, names and durations
 * through their own checks; every bad value becomes a {@linkcode UsageError} naming the flag.
 *
 * ```ts
 * const options = parseValidatorArgs(["--local", "--miner", "0:5F...@127.0.0.1:8091", "-t", "2"]);
 * console.log(options.timeoutSeconds); // 2
 * ```
 * @module
 */
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { z } from "../cli/zod_messages.ts";
import { parseFlags, UsageError } from "../cli/command.ts";
import type { LogLevel } from "../cli/log.ts";
import { COMMIT_SCHEMES, type CommitScheme } from "../chain/weight_setter.ts";
import { walletNameProblem, walletRootOf, walletVariablesUsed } from "../bittensor/wallet.ts";
import { expandHome } from "../cli/home_path.ts";
import { MAX_RESPONSE_BYTES, MAX_ROUND_RESPONSE_BYTES } from "../bittensor/dendrite.ts";
import {
  ignoredFlagOptions,
  ignoredFlagsNote,
  unreadVariablesNote,
} from "../cli/reference_flags.ts";
import { NEURON_FLAGS } from "../cli/neuron_flags.ts";
import {
  endpointFlag,
  logLevelFlag,
  nonEmptyFlag,
  numberFlag,
  wholeNumber,
} from "../cli/flag_values.ts";
import { walletNameFlag } from "../cli/wallet_flags.ts";
import { durationProblem, parseDuration, presets } from "../sim/config.ts";
import { DEFAULT_QUERY_TIMEOUT_SECONDS } from "./scoring/formulas.ts";
import { DEFAULT_SEEDING, type LiveSeedsOptions } from "./live_prices.ts";

/** A miner axon given on the command line in `--local` mode. */
export interface LocalMiner {
  uid: number;
  hotkey: string;
  host: string;
  port: number;
}

/** Scoring parameters (`--scoring.*`, `--neuron.moving_average_alpha`). */
export interface ScoringOptions {
  maxInstructionsPerBook: number;
  sharpeLookback: number;
  normalizationMin: number;
  normalizationMax: number;
  volumeSamplingInterval: number;
  volumeAssessmentPeriod: number;
  capitalTurnoverCap: number;
  maxDelayNs: number;
  minDelayNs: number;
  alpha: number;
}

/** Every validated validator option. */
export interface ValidatorOptions {
  netuid: number;
  /** The metrics' `netuid` label: `local` for a `--local` run not given `--netuid`. */
  metricsNetuid: number | "local";
  chainEndpoint: string;
  walletPath: string;
  walletName: string;
  walletHotkey: string;
  /** The btwallet variables that chose the wallet's path or names (`BT_WALLET_NAME=x`). */
  walletVariables: string[];
  logLevel: LogLevel;
  loggingDir: string;
  neuronName: string;
  /** Miner query timeout, seconds. */
  timeoutSeconds: number;
  /** Largest miner reply read, raw and once its response is decompressed (bytes). */
  maxResponseBytes: number;
  /** Bytes of raw miner replies a round holds or reads at once; past it the largest fails. */
  maxRoundResponseBytes: number;
  reset: boolean;
  disableSetWeights: boolean;
  scoring: ScoringOptions;
  reportingDisabled: boolean;
  /** null = metrics exporter and status page off (`--prometheus.level OFF`). */
  prometheusPort: number | null;
  httpHost: string;
  /** Open connections to the HTTP server from one address at most. */
  httpMaxConnectionsPerIp: number;
  pagerdutyKey: string | null;
  pagerdutyUrl: string;
  /** Preset name, or a JSON/XML file of the simulation config. */
  simulationConfig: string;
  /** The flag that gave it, to name in its errors (`--config` unless only its alias did). */
  simulationConfigFlag: "--config" | "--simulation.xml_config";
  /** Recorded feed files or URLs (`--fundamental-feed`, `--external-feed`); null = synthetic. */
  fundamentalFeed: string | null;
  externalFeed: string | null;
  /** Live price seeding (`--simulation.seeding.*`); null = off. */
  seeding: Omit<LiveSeedsOptions, "log"> | null;
  /** Seed of the first simulation; later simulations use the next seeds. null = config's seed. */
  seed: number | null;
  /** Wall seconds between state saves. */
  saveIntervalSeconds: number;
  /** Wall seconds between weight submissions. */
  weightsIntervalSeconds: number;
  /** How weights are committed when the subnet has commit-reveal on. */
  commitScheme: CommitScheme;
  /** Stop after this many finished simulations (null = run until stopped). */
  simulations: number | null;
  /** Overrides of the simulation config. */
  duration: number | null;
  books: number | null;
  /** Simulation worker threads (0 = cores). */
  threads: number;
  /** Development hotkey from a Substrate URI instead of the wallet file. */
  hotkeyUri: string | null;
  local: boolean;
  miners: LocalMiner[];
  /** `--state` as given; null = the default path of {@linkcode stateFileOf}. */
  stateGiven: string | null;
  /** Notes for the operator about accepted but meaningless flags. */
  notes: string[];
}

/** The reference validator's flags without a counterpart here (see `reference_flags.ts`). */
const REFERENCE_ONLY_FLAGS = {
  mock: "boolean",
  strict: "boolean",
  no_version_checking: "boolean",
  axon_off: "boolean",
  // A value there (`--subtensor._mock False`), as the SDK parses it as a bool.
  "subtensor._mock": "string",
  "logging.record_log": "boolean",
  "logging.enable_third_party_loggers": "boolean",
  "neuron.device": "string",
  "neuron.events_retention_size": "string",
  "neuron.dont_save_events": "boolean",
  "neuron.num_concurrent_forwards": "string",
  "neuron.sample_size": "string",
  "neuron.vpermit_tao_limit": "string",
  "wandb.off": "boolean",
  "wandb.offline": "boolean",
  "wandb.notes": "string",
  "wandb.project_name": "string",
  "wandb.entity": "string",
  "repo.remote": "string",
  "axon.port": "string",
  "axon.ip": "string",
  "axon.external_port": "string",
  "axon.external_ip": "string",
  "axon.max_workers": "string",
} as const;

/** `parseArgs` option table; every long name the validator accepts. */
const optionTable = {
  ...ignoredFlagOptions(REFERENCE_ONLY_FLAGS),
  help: { type: "boolean" },
  ...NEURON_FLAGS,
  "log-level": { type: "string", short: "l" },
  // The miner's spelling, so that a flag carries over between the two.
  "logging.level": { type: "string" },
  "logging.error": { type: "boolean" },
  "logging.warning": { type: "boolean" },
  "logging.info": { type: "boolean" },
  "logging.debug": { type: "boolean" },
  "logging.trace": { type: "boolean" },
  "logging.logging_dir": { type: "string" },
  "neuron.name": { type: "string" },
  "neuron.timeout": { type: "string", short: "t" },
  "neuron.max_response_bytes": { type: "string" },
  "neuron.max_round_response_bytes": { type: "string" },
  "neuron.reset": { type: "boolean" },
  "neuron.disable_set_weights": { type: "boolean" },
  "neuron.moving_average_alpha": { type: "string" },
  "neuron.axon_off": { type: "boolean" },
  "neuron.save_interval": { type: "string" },
  "neuron.weights_interval": { type: "string" },
  "neuron.commit_scheme": { type: "string" },
  "scoring.max_instructions_per_book": { type: "string" },
  "scoring.sharpe.lookback": { type: "string" },
  "scoring.sharpe.normalization_min": { type: "string" },
  "scoring.sharpe.normalization_max": { type: "string" },
  "scoring.activity.trade_volume_sampling_interval": { type: "string" },
  "scoring.activity.trade_volume_assessment_period": { type: "string" },
  "scoring.activity.capital_turnover_cap": { type: "string" },
  "scoring.max_delay": { type: "string" },
  "scoring.min_delay": { type: "string" },
  "reporting.disabled": { type: "boolean" },
  "prometheus.port": { type: "string", short: "o" },
  "prometheus.level": { type: "string" },
  "http.host": { type: "string" },
  "http.max_connections_per_ip": { type: "string" },
  "alerting.pagerduty.integration_key": { type: "string", short: "d" },
  "pagerduty.key": { type: "string" },
  "pagerduty.url": { type: "string" },
  config: { type: "string" },
  "simulation.xml_config": { type: "string" },
  "fundamental-feed": { type: "string" },
  "external-feed": { type: "string" },
  "simulation.seeding.live": { type: "boolean" },
  "simulation.seeding.fundamental.symbol.coinbase": { type: "string" },
  "simulation.seeding.fundamental.symbol.binance": { type: "string" },
  "simulation.seeding.external.symbol.coinbase": { type: "string" },
  "simulation.seeding.external.symbol.binance": { type: "string" },
  "simulation.seeding.external.sampling_seconds": { type: "string" },
  "simulation.seeding.coinbase_url": { type: "string" },
  "simulation.seeding.binance_url": { type: "string" },
  seed: { type: "string" },
  duration: { type: "string" },
  books: { type: "string" },
  threads: { type: "string" },
  "hotkey-uri": { type: "string" },
  simulations: { type: "string" },
  local: { type: "boolean" },
  miner: { type: "string", multiple: true },
  state: { type: "string" },
  port: { type: "string" },
  s: { type: "string", short: "s" },
  x: { type: "string", short: "x" },
} as const;

/** The validator's SQLite state file and how errors about it name where the path came from. */
export interface StateFile {
  path: string;
  /** `--state`, or the flags the default path is built from. */
  origin: string;
  /**
   * The wallet names' default path, which a `--hotkey-uri` validator's default state once had: a
   * state saved there is pointed to when none is at `path` (null when `path` is not a default).
   */
  walletNamesDefault: string | null;
}

/**
 * The state file: `--state`, else `<logging_dir>/<wallet>/<hotkey>/netuid<n>/<neuron.name>/state.db`
 * with `local` in place of `netuid<n>` for a `--local` run (which must never resume the chain
 * validator's simulation). A `--hotkey-uri` has no wallet names, so its hotkey's address takes
 * their place: two development keys never share a default state.
 */
export function stateFileOf(options: ValidatorOptions, hotkeyAddress: string): StateFile {
  if (options.stateGiven !== null) {
    return { path: options.stateGiven, origin: "--state", walletNamesDefault: null };
  }
  const network = options.local ? "local" : `netuid${options.netuid}`;
  const under = (...owner: string[]) =>
    join(options.loggingDir, ...owner, network, options.neuronName, "state.db");
  const byNames = under(options.walletName, options.walletHotkey);
  if (options.hotkeyUri === null) {
    return {
      path: byNames,
      origin: "default state file (from --logging.logging_dir, --wallet.name, --wallet.hotkey)",
      walletNamesDefault: null,
    };
  }
  return {
    path: under(hotkeyAddress),
    origin: "default state file (from --logging.logging_dir, the --hotkey-uri address)",
    walletNamesDefault: byNames,
  };
}

/**
 * Where the weight setter keeps unrevealed hash commits (their salts), beside the state file: a
 * validator restarted between a commit and its reveal still reveals.
 */
export function pendingCommitsPath(statePath: string): string {
  return `${statePath}-commits.json`;
}

/** Help text: every flag with its default. */
export const VALIDATOR_HELP = `Usage: taos validator [options]

Runs the subnet 79 validator: the market simulation in-process, miners queried at every publish
instant, instructions validated and injected, miners scored and weights set.

Network and wallet (the short flags are run_validator.sh's):
  -e, --subtensor.chain_endpoint <url|name>  chain endpoint: a ws:// / wss:// URL or finney, test,
                                          archive, latent-lite, local
                                          (default wss://entrypoint-finney.opentensor.ai:443)
      --subtensor.network <name>          same (the SDK's name for it); -e wins when both are given
  -u, --netuid <n>                        subnet (default 79)
  -p, --wallet.path <dir>                 wallets directory (default ~/.bittensor/wallets/, or
                                          BT_WALLET_PATH)
  -w, --wallet.name <name>                coldkey name (default BT_WALLET_NAME, else taos)
  -h, --wallet.hotkey <name>              hotkey name (default BT_WALLET_HOTKEY, else validator)
      --hotkey-uri <uri>                  development hotkey from a Substrate URI (e.g. //Alice)
                                          instead of the wallet's hotkey file
      --local                             no chain: query the --miner axons, print weights as JSON
                                          lines on stdout
      --miner <uid>:<hotkey>@<host>:<port>  a miner axon for --local (repeatable)

Logging:
  -l, --log-level <level>                 error|warning|info|debug|trace (default info);
                                          --logging.level, the miner's spelling, works too
      --logging.<level>                   same, reference form (e.g. --logging.debug; the most
                                          verbose given wins, and wins over -l)
      --logging.logging_dir <dir>         state root (default ~/.bittensor/validators)
      --neuron.name <name>                state sub-directory (default validator)
      --state <file>                      SQLite state file (default <logging_dir>/<wallet>/
                                          <hotkey>/netuid<n>/<neuron.name>/state.db; with
                                          --local, local in place of netuid<n>; with
                                          --hotkey-uri, the hotkey's address in place of
                                          <wallet>/<hotkey>)

Queries and scoring:
  -t, --neuron.timeout <s>                miner query timeout in seconds (default 3.0)
      --neuron.max_response_bytes <n>     largest miner reply read, also once decompressed
                                          (default 67108864, 64 MiB; 65536 to 1073741824)
      --neuron.max_round_response_bytes <n>
                                          replies a round holds or reads at once; past it
                                          the largest fails (default 536870912, 512 MiB, or
                                          --neuron.max_response_bytes when larger; at least
                                          that, at most 1099511627776)
      --neuron.moving_average_alpha <a>   score EMA weight (default 0.1)
      --neuron.reset                      ignore the saved state
      --neuron.disable_set_weights        never submit weights
      --neuron.save_interval <s>          wall seconds between state saves (default 30)
      --neuron.weights_interval <s>       wall seconds between weight submissions (default 120)
      --neuron.commit_scheme <scheme>     with commit-reveal on: hash (commit, then reveal),
                                          timelock (drand, revealed by the chain) or auto
                                          (default: hash where the runtime still has it)
      --scoring.max_instructions_per_book <n>             (default 20)
      --scoring.sharpe.lookback <n>                       observations (default 720)
      --scoring.sharpe.normalization_min <x>              (default -10)
      --scoring.sharpe.normalization_max <x>              (default 10)
      --scoring.activity.trade_volume_sampling_interval <ns>  (default 600000000000)
      --scoring.activity.trade_volume_assessment_period <ns>  (default 86400000000000)
      --scoring.activity.capital_turnover_cap <x>         (default 10)
      --scoring.max_delay <ns>                            (default 500000000)
      --scoring.min_delay <ns>                            (default 10000000)

Simulation:
      --config <preset|file>              simulation config: a preset (reference, small; default
                                          reference) or a .json, .toml or .xml file (a JSON
                                          or TOML file may give "extends": "small" and only
                                          what differs; taos sim --print-config shows one)
      --simulation.xml_config <file>      same, reference name (not both with different values)
      --seed <n>                          seed of the first simulation (later ones use the next
                                          seeds)
      --duration <d>                      simulated length of each simulation, e.g. 10m, 1h, 1d
      --books <n>                         number of books
      --threads <n>                       simulation worker threads (default or 0: cores)
      --simulations <n>                   exit after n simulations (default: run until stopped)
      --fundamental-feed <file|url>       recorded seed prices (count,price[,time]; the time is
                                          not read), one per seed interval, driving every
                                          simulation's fundamental price
      --external-feed <file|url>          recorded futures samples (count,price[,time]), one per
                                          sample interval (default: seeded synthetic feeds)
      --simulation.seeding.live           seed from live trades (Coinbase, falling back to Binance)
      --simulation.seeding.fundamental.symbol.coinbase <s>  (default BTC-USD)
      --simulation.seeding.fundamental.symbol.binance <s>   (default btcusdt)
      --simulation.seeding.external.symbol.coinbase <s>     (default TAO-PERP-INTX)
      --simulation.seeding.external.symbol.binance <s>      (default taousdt)
      --simulation.seeding.external.sampling_seconds <s>    whole seconds, 1 to 86400 (default 60)
      --simulation.seeding.coinbase_url <ws-url>  (default wss://advanced-trade-ws.coinbase.com)
      --simulation.seeding.binance_url <ws-url>   (default wss://stream.binance.com:9443/ws)

Monitoring:
  -o, --prometheus.port <port>            metrics (/metrics) and status page (/) port (default
                                          9001; 0 = any)
      --prometheus.level <level>          OFF turns the HTTP server off; INFO (default), DEBUG,
                                          WARNING and ERROR serve the same metrics
      --http.host <addr>                  address the HTTP server binds (default 0.0.0.0)
      --http.max_connections_per_ip <n>   open connections from one address (default 16; raise
                                          it behind a reverse proxy, where every page shares one)
      --reporting.disabled                do not refresh metrics after each publish
  -d, --alerting.pagerduty.integration_key <key>  PagerDuty Events API v2 routing key (default
                                          TAOS_PAGERDUTY_KEY, which keeps it out of the process
                                          list)
      --pagerduty.key <key>               same (not both with different values)
      --pagerduty.url <url>               events endpoint (default
                                          https://events.pagerduty.com/v2/enqueue)
      --help                              this text (-h too, alone or last)

Accepted for run_validator.sh compatibility, no effect:
  -s <0|1>   keep the simulator running across updates: the simulator runs inside this process
  -x <0|1>   tmux monitoring session: use the status page instead
      --port <n>  simulator-facing port: there is no separate simulator process
      --neuron.axon_off  this validator serves no axon

Accepted from the reference validator's parser, no effect: --mock, --strict,
  --no_version_checking, --axon_off, --subtensor._mock <value>,
  --logging.{record_log,enable_third_party_loggers}, --neuron.device,
  --neuron.events_retention_size, --neuron.dont_save_events, --neuron.num_concurrent_forwards,
  --neuron.sample_size, --neuron.vpermit_tao_limit, --wandb.{off,offline,notes,project_name,entity},
  --repo.remote, --axon.{port,ip,external_port,external_ip,max_workers}
`;

/** The live seeding options, null without `--simulation.seeding.live`. */
function seedingOf(
  values: Record<string, unknown>,
  str: (flag: string) => string | undefined,
): Omit<LiveSeedsOptions, "log"> | null {
  const flag = "simulation.seeding";
  const given = Object.keys(values).filter((key) =>
    key.startsWith(`${flag}.`) && key !== `${flag}.live`
  );
  if (values[`${flag}.live`] !== true) {
    if (given.length > 0) throw new UsageError(`--${given[0]}: only valid with --${flag}.live`);
    return null;
  }
  for (const feed of ["fundamental-feed", "external-feed"]) {
    if (str(feed) !== undefined) throw new UsageError(`--${feed}: contradicts --${flag}.live`);
  }
  const url = (venue: "coinbase" | "binance") => {
    const key = `${flag}.${venue}_url`;
    const value = str(key) ?? DEFAULT_SEEDING.urls[venue];
    if (!/^wss?:\/\/\S+$/.test(value)) {
      throw new UsageError(`--${key}: '${value}' must be a ws:// or wss:// URL`);
    }
    return value;
  };
  // A symbol no venue lists would otherwise show only as an outage once the validator runs.
  const symbol = (stream: "fundamental" | "external", venue: "coinbase" | "binance") => {
    const key = `${flag}.${stream}.symbol.${venue}`;
    const value = nonEmptyFlag(key, str(key)) ?? DEFAULT_SEEDING[stream][venue];
    if (/\s/.test(value)) throw new UsageError(`--${key}: '${value}' must not contain white space`);
    return value;
  };
  const symbols = (stream: "fundamental" | "external") => ({
    coinbase: symbol(stream, "coinbase"),
    binance: symbol(stream, "binance"),
  });
  const sampling = `${flag}.external.sampling_seconds`;
  return {
    fundamental: symbols("fundamental"),
    external: symbols("external"),
    urls: { coinbase: url("coinbase"), binance: url("binance") },
    // Whole seconds, as the reference's option.
    samplingSeconds: numberFlag(
      sampling,
      wholeNumber.min(1, "must be >= 1").max(86400, "must be <= 86400"),
      str(sampling),
      60,
    ),
  };
}

/** The environment variable holding the PagerDuty routing key when no flag gives one. */
export const PAGERDUTY_KEY_ENV = "TAOS_PAGERDUTY_KEY";

const positiveNumber = z.number().finite().positive("must be positive");
const RESPONSE_RANGE = "must be between 65536 and 1073741824";
const nonNegativeInt = wholeNumber.nonnegative("must be >= 0");
const positiveInt = wholeNumber.positive("must be positive");
const portNumber = wholeNumber.min(0).max(65535, "must be <= 65535");
const ss58 = /^[1-9A-HJ-NP-Za-km-z]{46,48}$/;
/** Dot-separated labels of letters, digits, `-` and `_` (container names), at most 253 characters
 * with an optional root dot: what a connection can resolve. */
const hostName =
  /^(?=.{1,254}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Parses one `--miner <uid>:<hotkey>@<host>:<port>` value. */
function parseLocalMiner(text: string): LocalMiner {
  const match = /^(\d+):([^@]+)@(.+):(\d+)$/.exec(text);
  if (match === null) {
    throw new UsageError(`--miner: '${text}' must look like <uid>:<hotkey>@<host>:<port>`);
  }
  const [, uid, hotkey, given, port] = match;
  if (!ss58.test(hotkey)) throw new UsageError(`--miner: '${hotkey}' is not an SS58 hotkey`);
  const host = given.replace(/^\[(.*)\]$/, "$1");
  if (isIP(host) === 0 && !hostName.test(host)) {
    throw new UsageError(`--miner host: '${host}' is not an IP address or host name`);
  }
  return {
    uid: numberFlag("miner uid", z.number().int().min(0).max(65535), uid, 0),
    hotkey,
    host,
    port: numberFlag("miner port", portNumber.min(1, "must be >= 1"), port, 0),
  };
}

/**
 * A path flag's value with a leading `~` expanded, as for `--wallet.path`: the shell leaves the
 * `~` of `--state=~/x` alone, and a directory named `~` is never what was meant.
 */
function pathOf(given: string | undefined): string | undefined {
  return given === undefined ? undefined : expandHome(given);
}

/** What a `--config` value names: a preset by its name, a file by its absolute path, so that
 * `./run.xml` and `run.xml` are one file. */
function configIdentity(given: string): string {
  return Object.hasOwn(presets, given) ? given : resolve(expandHome(given));
}

/** `--state` as given; SQLite's name for a database in memory would save nothing. */
function statePathOf(given: string | undefined): string | undefined {
  if (given === ":memory:") {
    throw new UsageError(
      "--state: ':memory:' is a database in memory, which would save nothing (give a file path)",
    );
  }
  return given;
}

function durationOf(text: string): number {
  const ns = parseDuration(text);
  // Worded as `taos sim` words it (`'200000d' is longer than the clock's 104 days`).
  if (ns === undefined) throw new UsageError(`--duration: ${durationProblem(text)}`);
  if (ns <= 0) {
    throw new UsageError(`--duration: '${text}' must be a positive duration such as 90s, 10m, 1h`);
  }
  return ns;
}

function commitSchemeOf(raw: string | undefined): CommitScheme {
  if (raw === undefined) return "auto";
  if (!(COMMIT_SCHEMES as readonly string[]).includes(raw)) {
    throw new UsageError(
      `--neuron.commit_scheme: '${raw}' must be one of ${COMMIT_SCHEMES.join(", ")}`,
    );
  }
  return raw as CommitScheme;
}

/** Parses `taos validator` arguments; throws {@linkcode UsageError} for any bad flag. */
export function parseValidatorArgs(args: string[]): ValidatorOptions {
  const values: Record<string, string | boolean | string[] | undefined> = parseFlags({
    args,
    options: optionTable,
    allowPositionals: false,
    strict: true,
  }).values;
  const str = (name: string) => values[name] as string | undefined;
  // An empty path or address is never meant: `--state=` would run on a temporary database and save
  // nothing, an empty directory would put the state in the working directory.
  const nonEmpty = (name: string) => nonEmptyFlag(name, str(name));
  /** A numeric flag read under its own name, `fallback` when absent (see numberFlag). */
  const number = (flag: string, schema: z.ZodType<number>, fallback: number) =>
    numberFlag(flag, schema, str(flag), fallback);
  /**
   * A setting that has two flags: given both with different values, neither silently wins. A
   * secret is not echoed.
   */
  const eitherOf = (
    shown: string,
    name: string,
    alias: string,
    { read = str, secret = false, identity = (given: string) => given } = {},
  ) => {
    const value = read(name), other = read(alias);
    if (value !== undefined && other !== undefined && identity(value) !== identity(other)) {
      throw new UsageError(
        `${shown} and --${alias} set the same thing and were given different values` +
          (secret ? "" : ` ('${value}' and '${other}')`) + ": give one of them",
      );
    }
    return value ?? other;
  };
  const notes: string[] = [];
  // run_validator.sh passes 0 or 1; anything else is a mistake, even if the value is not used.
  for (const flag of ["s", "x"]) {
    const value = str(flag);
    if (value !== undefined && value !== "0" && value !== "1") {
      throw new UsageError(`-${flag}: '${value}' must be 0 or 1`);
    }
  }
  if (str("s") !== undefined) {
    notes.push("-s has no effect: the simulation runs inside the validator process");
  }
  if (str("x") !== undefined) {
    notes.push("-x has no effect: no tmux session is opened; the status page is on -o's port");
  }
  if (str("port") !== undefined) {
    notes.push("--port has no effect: there is no separate simulator process to listen for");
  }
  if (values["neuron.axon_off"] === true) {
    notes.push("--neuron.axon_off has no effect: this validator serves no axon");
  }
  const ignored = ignoredFlagsNote(REFERENCE_ONLY_FLAGS, values, "the reference validator's");
  if (ignored !== null) notes.push(ignored);
  const unread = unreadVariablesNote(values);
  if (unread !== null) notes.push(unread);

  // The names the miner and the SDK accept; `local` honours BT_SUBTENSOR_CHAIN_ENDPOINT.
  const chainEndpoint = endpointFlag([
    ["-e/--subtensor.chain_endpoint", str("subtensor.chain_endpoint")],
    ["--subtensor.network", str("subtensor.network")],
  ], "finney");

  const netuid = number("netuid", nonNegativeInt.max(65535), 79);
  const given = nonEmpty("wallet.path");
  const walletPath = walletRootOf(given).root;
  // Each is one directory level of the state path, so none may climb out of the logging dir.
  const component = (flag: string, fallback: string) => {
    const value = str(flag) ?? fallback;
    const problem = walletNameProblem(value);
    if (problem !== null) throw new UsageError(`--${flag}: ${problem}`);
    return value;
  };
  const walletName = walletNameFlag("name", str("wallet.name"), "taos");
  const walletHotkey = walletNameFlag("hotkey", str("wallet.hotkey"), "validator");
  const loggingDir = expandHome(nonEmpty("logging.logging_dir") ?? "~/.bittensor/validators");
  const neuronName = component("neuron.name", "validator");

  const stateGiven = statePathOf(pathOf(nonEmpty("state")));
  const promLevelGiven = str("prometheus.level") ?? "INFO";
  const promLevel = promLevelGiven.toUpperCase();
  if (!["INFO", "DEBUG", "WARNING", "ERROR", "OFF"].includes(promLevel)) {
    throw new UsageError(
      `--prometheus.level: '${promLevelGiven}' must be OFF, or INFO, DEBUG, WARNING or ERROR ` +
        "(all serve the same metrics)",
    );
  }
  // Checked even when OFF, where it is unused: a port out of range is a mistake either way.
  const port = number("prometheus.port", portNumber, 9001);
  const prometheusPort = promLevel === "OFF" ? null : port;

  const normalizationMin = number("scoring.sharpe.normalization_min", z.number().finite(), -10);
  const normalizationMax = number("scoring.sharpe.normalization_max", z.number().finite(), 10);
  if (normalizationMax <= normalizationMin) {
    throw new UsageError(
      "--scoring.sharpe.normalization_max: must be greater than --scoring.sharpe.normalization_min",
    );
  }
  const minDelayNs = number("scoring.min_delay", nonNegativeInt, 10_000_000);
  const maxDelayNs = number("scoring.max_delay", nonNegativeInt, 500_000_000);
  if (maxDelayNs < minDelayNs) {
    throw new UsageError("--scoring.max_delay: must be >= --scoring.min_delay");
  }
  const scoring: ScoringOptions = {
    maxInstructionsPerBook: number("scoring.max_instructions_per_book", positiveInt, 20),
    sharpeLookback: number("scoring.sharpe.lookback", positiveInt.min(2, "must be >= 2"), 720),
    normalizationMin,
    normalizationMax,
    volumeSamplingInterval: number(
      "scoring.activity.trade_volume_sampling_interval",
      positiveInt,
      600e9,
    ),
    volumeAssessmentPeriod: number(
      "scoring.activity.trade_volume_assessment_period",
      positiveInt,
      86_400e9,
    ),
    capitalTurnoverCap: number("scoring.activity.capital_turnover_cap", positiveNumber, 10),
    maxDelayNs,
    minDelayNs,
    alpha: number(
      "neuron.moving_average_alpha",
      z.number().gt(0, "must be > 0").max(1, "must be <= 1"),
      0.1,
    ),
  };

  // From the environment, the key stays out of the command line that `ps` shows every local user.
  const flagKey = eitherOf(
    "-d/--alerting.pagerduty.integration_key",
    "alerting.pagerduty.integration_key",
    "pagerduty.key",
    { secret: true },
  );
  const envKey = Deno.env.get(PAGERDUTY_KEY_ENV);
  let pagerdutyKey = flagKey ?? envKey ?? "";
  // The reference's run script sets PD_KEY='""'; passed on without a shell to unquote it, the key
  // is the two quote characters, which no routing key is.
  if (/^["']+$/.test(pagerdutyKey)) {
    notes.push(
      `the PagerDuty key is only quote characters (${pagerdutyKey}): taken as no key, so nothing ` +
        "is paged",
    );
    pagerdutyKey = "";
  }
  // An empty key means no paging, as the reference's run script passes it by default; but over a
  // key in the environment it is more likely a script's empty variable than a wish.
  if (flagKey === "" && envKey !== undefined && envKey !== "") {
    notes.push(
      `the PagerDuty key given on the command line is empty, so nothing is paged: ` +
        `${PAGERDUTY_KEY_ENV} is set but a key given as a flag takes its place`,
    );
  }
  const pagerdutyUrl = str("pagerduty.url") ?? "https://events.pagerduty.com/v2/enqueue";
  if (!/^https?:\/\/\S+$/.test(pagerdutyUrl)) {
    throw new UsageError(`--pagerduty.url: '${pagerdutyUrl}' must be an http(s) URL`);
  }

  const local = values.local === true;
  const miners = ((values.miner as string[] | undefined) ?? []).map(parseLocalMiner);
  if (miners.length > 0 && !local) throw new UsageError("--miner: only valid with --local");
  const uids = new Set<number>();
  const uidOfHotkey = new Map<string, number>();
  for (const miner of miners) {
    if (uids.has(miner.uid)) throw new UsageError(`--miner: uid ${miner.uid} given twice`);
    uids.add(miner.uid);
    const earlier = uidOfHotkey.get(miner.hotkey);
    if (earlier !== undefined) {
      throw new UsageError(
        `--miner: uids ${earlier} and ${miner.uid} both give hotkey ${miner.hotkey} ` +
          "(a hotkey has one uid on a subnet)",
      );
    }
    uidOfHotkey.set(miner.hotkey, miner.uid);
  }

  const simulationConfig = pathOf(
    eitherOf("--config", "config", "simulation.xml_config", {
      read: nonEmpty,
      identity: configIdentity,
    }),
  ) ?? "reference";
  const simulationConfigFlag =
    str("config") === undefined && str("simulation.xml_config") !== undefined
      ? "--simulation.xml_config"
      : "--config";
  // The reference's parser reads its --config as a YAML file of flags.
  if (str("config") !== undefined && /\.ya?ml$/i.test(simulationConfig)) {
    throw new UsageError(
      `--config: ${simulationConfig}: a Bittensor YAML file of flags is not read; ` +
        "--config names the simulation's configuration (a preset, or a .json, .toml or .xml " +
        "file): give the flags themselves",
    );
  }
  const maxResponseBytes = number(
    "neuron.max_response_bytes",
    z.number().int("must be a whole number").min(65536, RESPONSE_RANGE).max(
      1024 * 1024 * 1024,
      RESPONSE_RANGE,
    ),
    MAX_RESPONSE_BYTES,
  );
  return {
    netuid,
    metricsNetuid: local && str("netuid") === undefined ? "local" : netuid,
    chainEndpoint,
    walletPath,
    walletVariables: walletVariablesUsed({
      path: given,
      name: str("wallet.name"),
      hotkey: str("wallet.hotkey"),
    }),
    walletName,
    walletHotkey,
    logLevel: logLevelFlag(values, "log-level"),
    loggingDir,
    neuronName,
    timeoutSeconds: number(
      "neuron.timeout",
      positiveNumber.max(600),
      DEFAULT_QUERY_TIMEOUT_SECONDS,
    ),
    maxResponseBytes,
    maxRoundResponseBytes: number(
      "neuron.max_round_response_bytes",
      z.number().int("must be a whole number").min(
        maxResponseBytes,
        `must be at least --neuron.max_response_bytes (${maxResponseBytes})`,
      ).max(2 ** 40, "must be at most 1099511627776"),
      Math.max(MAX_ROUND_RESPONSE_BYTES, maxResponseBytes),
    ),
    reset: values["neuron.reset"] === true,
    disableSetWeights: values["neuron.disable_set_weights"] === true,
    scoring,
    reportingDisabled: values["reporting.disabled"] === true,
    prometheusPort,
    httpHost: nonEmpty("http.host") ?? "0.0.0.0",
    httpMaxConnectionsPerIp: number(
      "http.max_connections_per_ip",
      z.number().int("must be a whole number").min(1).max(1_000_000),
      16,
    ),
    pagerdutyKey: pagerdutyKey === "" ? null : pagerdutyKey,
    pagerdutyUrl,
    simulationConfig,
    simulationConfigFlag,
    fundamentalFeed: pathOf(nonEmpty("fundamental-feed")) ?? null,
    externalFeed: pathOf(nonEmpty("external-feed")) ?? null,
    seeding: seedingOf(values, str),
    seed: str("seed") === undefined
      ? null
      : number("seed", nonNegativeInt.max(Number.MAX_SAFE_INTEGER), 0),
    saveIntervalSeconds: number("neuron.save_interval", z.number().nonnegative(), 30),
    weightsIntervalSeconds: number("neuron.weights_interval", z.number().nonnegative(), 120),
    commitScheme: commitSchemeOf(str("neuron.commit_scheme")),
    simulations: str("simulations") === undefined ? null : number("simulations", positiveInt, 1),
    duration: str("duration") === undefined ? null : durationOf(str("duration")!),
    books: str("books") === undefined ? null : number("books", positiveInt.max(4096), 1),
    threads: number("threads", nonNegativeInt.max(1024), 0),
    hotkeyUri: nonEmpty("hotkey-uri") ?? null,
    local,
    miners,
    stateGiven: stateGiven ?? null,
    notes,
  };
}
