/**
 * `taos miner`: serve a trading agent to the subnet's validators. Flags mirror the reference
 * miner (`--netuid`, `--wallet.*`, `--axon.*`, `--agent.*`, `--logging.*`) and the short flags of
 * its `run_miner.sh`. `--local` runs without a chain, trusting a given list of validator hotkeys.
 *
 * ```sh
 * taos miner --local --local.validators 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY -w taos -h miner
 * ```
 * @module
 */
import { isIP } from "node:net";
import { z } from "../cli/zod_messages.ts";
import { Keyring } from "@polkadot/keyring";
import { type Command, parseFlags, printOut, UsageError } from "../cli/command.ts";
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
  numberSetting,
  wholeNumber,
} from "../cli/flag_values.ts";
import { walletNameFlag } from "../cli/wallet_flags.ts";
import { MAX_TIMEOUT_S } from "../bittensor/axon.ts";
import { hostAndPort } from "../bittensor/http_client.ts";
import { cryptoReady, Keypair } from "../bittensor/keypair.ts";
import { type Neuron, type NeuronDirectory, StaticNeuronDirectory } from "../bittensor/neurons.ts";
import { missing, Wallet, walletRootOf, walletVariablesUsed } from "../bittensor/wallet.ts";
import { expandHome } from "../cli/home_path.ts";
import { AgentStartError, defaultHeapMb } from "./agent_host.ts";
import { chainRefusal, encodeIp } from "../chain/ip.ts";
import { ListenError, type RunningMiner, startMiner } from "./miner.ts";
import { type LogLevel, makeLogger } from "../cli/log.ts";
import { type InterruptSignal, listenForInterrupt } from "../sim/interrupt.ts";

/** Defaults of the subnet's `run_miner.sh` (netuid corrected to 79). */
const MINER_DEFAULTS = {
  netuid: "79",
  endpoint: "wss://entrypoint-finney.opentensor.ai:443",
  walletPath: "~/.bittensor/wallets/",
  walletName: "taos",
  hotkey: "miner",
  axonPort: "8091",
  agentPath: "~/.taos/agents",
  agentName: "SimpleRegressorAgent",
  agentParams: "min_quantity=0.1 max_quantity=1.0 expiry_period=200 signal_threshold=0.0025",
  metricsPort: "9002",
  // The reference's exporter (prometheus_client's start_http_server) binds every interface.
  metricsHost: "0.0.0.0",
} as const;

/** `text` broken at spaces into lines of at most `width` characters, the later ones indented by
 * `indent` spaces (help text keeps to 100 columns). */
function wrapWords(text: string, width: number, indent: number): string {
  const lines = [""];
  for (const word of text.split(" ")) {
    const last = lines.length - 1;
    if (lines[last] === "") lines[last] = word;
    else if (lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join(`\n${" ".repeat(indent)}`);
}

const help = `Usage: taos miner [options]

Serves a trading agent on an axon; validators send it state updates, it answers with orders.

Chain and wallet:
  -u, --netuid <n>                      subnet id (default ${MINER_DEFAULTS.netuid})
  -e, --subtensor.chain_endpoint <url>  chain endpoint: a ws:// / wss:// URL or finney, test,
                                        archive, latent-lite, local (default finney)
      --subtensor.network <name>        same (the SDK's name for it); -e wins when both are given
  -p, --wallet.path <dir>               wallet root (default ${MINER_DEFAULTS.walletPath}, or
                                        BT_WALLET_PATH)
  -w, --wallet.name <name>              wallet name (default BT_WALLET_NAME, else ${MINER_DEFAULTS.walletName})
  -h, --wallet.hotkey <name>            hotkey name (default BT_WALLET_HOTKEY, else ${MINER_DEFAULTS.hotkey})
      (a password for an encrypted hotkey comes from TAOS_WALLET_PASSWORD, btwallet's
      BT_PW_<path> variable or the terminal)

Axon:
  -a, --axon.port <port>                port to listen on (default ${MINER_DEFAULTS.axonPort}; 0 = any free port)
                                        each --axon.* flag not given is read from the SDK's
                                        BT_AXON_PORT, BT_AXON_IP, BT_AXON_EXTERNAL_IP,
                                        BT_AXON_EXTERNAL_PORT when set
      --axon.ip <ip>                    address to bind (default 0.0.0.0; an IPv6 one may be
                                        bracketed, [::] as in the SDK)
      --axon.external_ip <ip>           address announced on chain (required with a chain; one
                                        the chain accepts: not a loopback, unspecified or
                                        broadcast address such as 127.0.0.1, ::1, 0.0.0.0 or
                                        255.255.255.255)
      --axon.external_port <port>       port announced on chain (default: --axon.port)
      --axon.max_connections <n>        open connections at most (default 1024, and at most
                                        half the process's file-descriptor limit; when full, the
                                        one waiting longest for a request makes room)
      --axon.max_connections_per_ip <n> open connections from one address at most (default 16;
                                        raise it behind a proxy that all validators come through)

Agent:
  -g, --agent.path <dir>                agents directory or file (default ${MINER_DEFAULTS.agentPath})
  -n, --agent.name <Class>              agent class (default ${MINER_DEFAULTS.agentName})
  -m, --agent.params "<k=v ...>"        agent parameters (default for the default agent:
                                        "${wrapWords(MINER_DEFAULTS.agentParams, 58, 41)}";
                                        for another -n none, so it takes its own defaults)
      --agent.timeout <seconds>         longest time per state update (default 4, at most 60;
                                        never past the request's timeout less 0.5 s); an
                                        overrunning agent's update is answered with no
                                        instructions and a warning
      --agent.max_memory <MiB>          the agent's memory: its JavaScript heap, and apart from
                                        it its ArrayBuffers and typed arrays (default: V8's heap
                                        limit on this machine, ${defaultHeapMb()} MiB here); an agent
                                        over it is replaced by a fresh instance, the miner goes on
      --agent.sandbox                   run the agent's process with read access to its own
                                        directory, taos and Deno's cache only: no writes,
                                        network, environment, subprocesses or FFI (not in a
                                        compiled taos)

Callers:
      --blacklist.force_validator_permit <true|false>  only validators may query (default true)
      --blacklist.allow_non_registered  accept unregistered hotkeys (default off)
      --blacklist.min_stake <tao>       minimum caller stake (default 0)

Local mode (no chain):
      --local                           run without a chain
      --local.validators <ss58,...>     hotkeys trusted as validators (permit, stake assumed)
      --local.uid <n>                   this miner's uid (default 0)

Monitoring and logs:
      --prometheus.port <port>          metrics exporter port (default ${MINER_DEFAULTS.metricsPort}, or
                                        any free port when that one is taken)
      --prometheus.host <addr>          address the metrics exporter binds (default ${MINER_DEFAULTS.metricsHost};
                                        127.0.0.1 keeps it on this machine)
      --prometheus.level <level>        OFF disables the exporter, INFO (default) or DEBUG keep it
  -l, --logging.level <level>           error, warning, info, debug or trace (default info);
                                        --log-level, the validator's spelling, works too
      --logging.debug, --logging.trace, --logging.info, --logging.warning, --logging.error
                                        the same, as switches (the most verbose given wins,
                                        and wins over -l)
      --help                            this text

Accepted from the reference miner's parser, no effect (named in one warning): --mock, --strict,
  --no_version_checking, --subtensor._mock <value>,
  --logging.{record_log,enable_third_party_loggers,logging_dir}, --axon.max_workers,
  --neuron.{device,events_retention_size,dont_save_events,name},
  --wandb.{off,offline,notes,project_name,entity}, --alerting.pagerduty.integration_key`;

/** The Bittensor SDK's environment variables for the axon flags, used when a flag is not given. */
const AXON_ENVIRONMENT = {
  "axon.port": "BT_AXON_PORT",
  "axon.ip": "BT_AXON_IP",
  "axon.external_ip": "BT_AXON_EXTERNAL_IP",
  "axon.external_port": "BT_AXON_EXTERNAL_PORT",
} as const;

type AxonFlag = keyof typeof AXON_ENVIRONMENT;

function parse(args: string[]) {
  const parsed = parseMinerArgs(args);
  const values = parsed.values;
  // How to name each axon setting in a message: its flag, or the variable it came from.
  const axonNames: Record<AxonFlag, string> = {
    "axon.port": "-a/--axon.port",
    "axon.ip": "--axon.ip",
    "axon.external_ip": "--axon.external_ip",
    "axon.external_port": "--axon.external_port",
  };
  /** The variable each axon setting came from, when no flag gave it. */
  const fromEnvironment: Partial<Record<AxonFlag, string>> = {};
  for (const [flag, variable] of Object.entries(AXON_ENVIRONMENT) as [AxonFlag, string][]) {
    const value = Deno.env.get(variable);
    if (values[flag] !== undefined || !value) continue;
    if (flag.endsWith("port") && !/^\d+$/.test(value)) {
      throw new UsageError(`${variable}: '${value}' is not a port number`);
    }
    values[flag] = value;
    axonNames[flag] = variable;
    fromEnvironment[flag] = variable;
  }
  return {
    ...parsed,
    axonNames,
    fromEnvironment,
    values: {
      ...values,
      "axon.port": values["axon.port"] ?? MINER_DEFAULTS.axonPort,
      "axon.ip": withoutBrackets(values["axon.ip"] ?? "0.0.0.0"),
    },
  };
}

/**
 * An IPv6 address written in brackets (`[::]`, the SDK's default `BT_AXON_IP`) as the address
 * itself, which is what a socket binds; anything else as given.
 */
function withoutBrackets(address: string): string {
  const inner = /^\[(.*)\]$/.exec(address)?.[1];
  return inner !== undefined && isIP(inner) === 6 ? inner : address;
}

/** Flags naming a file, directory, address or agent, where an empty value is never meant. */
const PATH_AND_ADDRESS_FLAGS = [
  "wallet.path",
  "axon.ip",
  "axon.external_ip",
  "prometheus.host",
  "agent.path",
  "agent.name",
] as const;

/** The reference miner's flags without a counterpart here (see `reference_flags.ts`). */
const REFERENCE_ONLY_FLAGS = {
  mock: "boolean",
  strict: "boolean",
  no_version_checking: "boolean",
  // A value there (`--subtensor._mock False`), as the SDK parses it as a bool.
  "subtensor._mock": "string",
  "logging.record_log": "boolean",
  "logging.enable_third_party_loggers": "boolean",
  "axon.max_workers": "string",
  "neuron.device": "string",
  "neuron.events_retention_size": "string",
  "neuron.dont_save_events": "boolean",
  "wandb.off": "boolean",
  "wandb.offline": "boolean",
  "wandb.notes": "string",
  "wandb.project_name": "string",
  "wandb.entity": "string",
  "alerting.pagerduty.integration_key": "string",
  "logging.logging_dir": "string",
  "neuron.name": "string",
} as const;

/**
 * Rewrites the argument forms the reference's parser takes and `parseArgs` does not: a bare
 * `--blacklist.force_validator_permit` (a switch there) and an `--agent.params` with no words
 * (what `run_miner.sh -m ""` produces).
 */
function referenceForms(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const next = args[i + 1];
    out.push(arg);
    if (
      arg === "--blacklist.force_validator_permit" && (next === undefined || next.startsWith("-"))
    ) {
      out.push("true");
    } else if (
      (arg === "--agent.params" || arg === "-m") && (next === undefined || next.startsWith("-"))
    ) {
      out.push("");
    }
  }
  return out;
}

function parseMinerArgs(args: string[]) {
  if (args.some((arg) => arg === "--config" || arg.startsWith("--config="))) {
    throw new UsageError(
      "--config: Bittensor YAML configuration files are not read; give the flags themselves",
    );
  }
  return parseFlags({
    args: referenceForms(args),
    allowPositionals: true,
    options: {
      ...ignoredFlagOptions(REFERENCE_ONLY_FLAGS),
      // No parser default for --netuid: a --local miner not given one labels its metrics netuid
      // "local".
      ...NEURON_FLAGS,
      "axon.port": { type: "string", short: "a" },
      "axon.ip": { type: "string" },
      "axon.external_ip": { type: "string" },
      "axon.external_port": { type: "string" },
      "axon.max_connections": { type: "string", default: "1024" },
      "axon.max_connections_per_ip": { type: "string", default: "16" },
      "agent.path": { type: "string", short: "g", default: MINER_DEFAULTS.agentPath },
      "agent.name": { type: "string", short: "n", default: MINER_DEFAULTS.agentName },
      "agent.params": { type: "string", short: "m", multiple: true },
      "agent.timeout": { type: "string", default: "4" },
      "agent.max_memory": { type: "string" },
      "agent.sandbox": { type: "boolean", default: false },
      "blacklist.force_validator_permit": { type: "string", default: "true" },
      "blacklist.allow_non_registered": { type: "boolean", default: false },
      "blacklist.min_stake": { type: "string", default: "0" },
      local: { type: "boolean", default: false },
      "local.validators": { type: "string" },
      "local.uid": { type: "string" },
      "prometheus.port": { type: "string" },
      "prometheus.host": { type: "string", default: MINER_DEFAULTS.metricsHost },
      "prometheus.level": { type: "string", default: "INFO" },
      "logging.level": { type: "string", short: "l" },
      // The validator's spelling, so that a flag carries over between the two.
      "log-level": { type: "string" },
      "logging.debug": { type: "boolean" },
      "logging.trace": { type: "boolean" },
      "logging.info": { type: "boolean" },
      "logging.warning": { type: "boolean" },
      "logging.error": { type: "boolean" },
    },
  });
}

const portNumber = wholeNumber.min(0).max(65535);

/**
 * Validated settings of one run; an axon port that came from its environment variable is named
 * by the variable in an error.
 */
function settingsFrom(
  values: ReturnType<typeof parse>["values"],
  fromEnvironment: ReturnType<typeof parse>["fromEnvironment"],
) {
  const choices = z.object({
    forcePermit: z.enum(["true", "false", "True", "False"], {
      error: "--blacklist.force_validator_permit: expected true or false",
    }).transform((v) => v.toLowerCase() === "true"),
    metricsLevel: z.enum(["OFF", "INFO", "DEBUG"], {
      error: "--prometheus.level: expected OFF, INFO or DEBUG",
    }),
  }).safeParse({
    forcePermit: values["blacklist.force_validator_permit"],
    metricsLevel: values["prometheus.level"].toUpperCase(),
  });
  if (!choices.success) throw new UsageError(choices.error.issues.map((i) => i.message).join("; "));
  const number = (flag: keyof typeof values, schema: z.ZodType<number>) =>
    numberFlag(flag, schema, values[flag] as string | undefined, undefined);
  const port = (flag: "axon.port" | "axon.external_port", schema: z.ZodType<number>) =>
    numberSetting(fromEnvironment[flag] ?? `--${flag}`, schema, values[flag], undefined);
  return {
    ...choices.data,
    logLevel: logLevelFlag(values, "logging.level"),
    netuid: number("netuid", wholeNumber.min(0).max(65535)) ?? Number(MINER_DEFAULTS.netuid),
    axonPort: port("axon.port", portNumber)!,
    externalPort: port("axon.external_port", portNumber.min(1)),
    maxConnections: number("axon.max_connections", wholeNumber.min(1).max(1_000_000))!,
    maxConnectionsPerIp: number("axon.max_connections_per_ip", wholeNumber.min(1).max(1_000_000))!,
    // The axon cuts a request's timeout to MAX_TIMEOUT_S: a longer limit could never apply.
    agentTimeout: number(
      "agent.timeout",
      z.number().gt(0).max(MAX_TIMEOUT_S, {
        error: `must be <= ${MAX_TIMEOUT_S} (the axon cuts every request's timeout to ` +
          `${MAX_TIMEOUT_S} s)`,
      }),
    )!,
    // Below a few MiB V8 cannot even start the worker.
    agentMaxMemoryMb: number("agent.max_memory", wholeNumber.min(16).max(1_048_576)),
    minStake: number("blacklist.min_stake", z.number().min(0))!,
    localUid: number("local.uid", wholeNumber.min(0).max(65535)) ?? 0,
    metricsPort: number("prometheus.port", portNumber),
  };
}

/** The chain endpoint URL, checked before anything starts: `-e` wins over the SDK's name for it. */
function endpointOf(values: ReturnType<typeof parse>["values"]): string {
  return endpointFlag([
    ["-e/--subtensor.chain_endpoint", values["subtensor.chain_endpoint"]],
    ["--subtensor.network", values["subtensor.network"]],
  ], MINER_DEFAULTS.endpoint);
}

/** The static directory of `--local`: this miner plus the trusted validators. */
function localDirectory(self: Keypair, uid: number, validators: string[]): NeuronDirectory {
  const neurons: Neuron[] = [{
    uid,
    hotkey: self.ss58Address,
    coldkey: self.ss58Address,
    stake: 0,
    validatorPermit: false,
    axon: null,
    lastUpdate: 0,
  }];
  let next = 0;
  for (const hotkey of validators) {
    while (next === uid) next++;
    neurons.push({
      uid: next++,
      hotkey,
      coldkey: hotkey,
      stake: 1000,
      validatorPermit: true,
      axon: null,
      lastUpdate: 0,
    });
  }
  return new StaticNeuronDirectory(neurons);
}

/**
 * `--local.validators`, none when absent. Given, it must list a hotkey in every item: an empty
 * value or item is a script's empty variable more likely than a wish to trust no one.
 */
function parseValidators(text: string | undefined): string[] {
  if (text === undefined) return [];
  if (text.trim() === "") throw new UsageError("--local.validators: must not be empty");
  const list = text.split(",").map((s) => s.trim());
  const empty = list.indexOf("");
  if (empty !== -1) {
    throw new UsageError(`--local.validators: '${text}': item ${empty + 1} is empty`);
  }
  for (const hotkey of list) {
    try {
      Keypair.fromAddress(hotkey);
    } catch {
      throw new UsageError(`--local.validators: '${hotkey}' is not an SS58 address`);
    }
  }
  return list;
}

/**
 * The announced address must be an IP address; with a chain, also one the chain accepts, or
 * serving the axon would be retried forever. 0.0.0.0 is accepted by the chain but means "not
 * serving" to validators.
 */
function checkExternalIp(ip: string, name: string, chain: boolean): void {
  let encoded;
  try {
    encoded = encodeIp(ip);
  } catch {
    throw new UsageError(`${name}: '${ip}' is not an IPv4 or IPv6 address`);
  }
  if (!chain) return;
  const refused = encoded.value === 0n
    ? "it tells validators the axon is not served"
    : chainRefusal(encoded);
  if (refused !== undefined) {
    throw new UsageError(
      `${name}: cannot announce ${ip}: ${refused}; give the address validators reach this ` +
        "machine at",
    );
  }
}

/**
 * Listens for SIGINT and SIGTERM: `received` resolves with the first, which also aborts
 * `signal`. A second one ends the process at once (exit 130 or 143), in case the stop itself
 * hangs: the miner keeps no state a cut could lose. `exitCode()` is what a shell reports for a
 * process the first signal ended.
 */
function listenForStop(
  log: (level: LogLevel, message: string) => void,
): { received: Promise<InterruptSignal>; signal: AbortSignal; exitCode(): number } {
  const interrupt = listenForInterrupt((second, first) =>
    log("warning", `${second} while stopping on ${first}: exiting at once`)
  );
  // The abort's reason is the signal's name.
  const received = new Promise<InterruptSignal>((resolve) =>
    interrupt.signal.addEventListener("abort", () => resolve(interrupt.signal.reason), {
      once: true,
    })
  );
  return { received, signal: interrupt.signal, exitCode: interrupt.exitCode };
}

/** `taos miner`. */
export const command: Command = {
  name: "miner",
  summary: "run a subnet 79 miner serving a trading agent",
  help,
  async run(args: string[]): Promise<number> {
    const { values, positionals, axonNames, fromEnvironment } = parse(args);
    // run_miner.sh passes the agent parameters unquoted: extra k=v words belong to --agent.params.
    const strays = positionals.filter((p) => !p.includes("="));
    if (strays.length > 0) throw new UsageError(`unexpected argument '${strays[0]}'`);
    // Parameters are split at white space, so one word holding some would be read as several.
    const spaced = positionals.find((p) => /\s/.test(p));
    if (spaced !== undefined) {
      throw new UsageError(`agent parameter '${spaced}': a value cannot contain white space`);
    }
    // The default parameters are the default agent's: another agent takes its own defaults.
    // Each -m adds its parameters (a name given in two of them is refused as given twice).
    const givenParams = values["agent.params"]?.join(" ") ??
      (values["agent.name"] === MINER_DEFAULTS.agentName && positionals.length === 0
        ? MINER_DEFAULTS.agentParams
        : "");
    const agentParams = [givenParams, ...positionals].join(" ").trim();
    // An empty path or address would fall back on the working directory or any interface.
    for (const flag of PATH_AND_ADDRESS_FLAGS) nonEmptyFlag(flag, values[flag]);
    const settings = settingsFrom(values, fromEnvironment);
    // Checked in --local mode too, as the validator does: a mistyped -e is told, not ignored.
    const endpoint = endpointOf(values);
    const log = makeLogger(settings.logLevel);
    const ignored = ignoredFlagsNote(REFERENCE_ONLY_FLAGS, values, "the reference miner's");
    if (ignored !== null) log("warning", ignored);
    // The miner keeps no files: the reference's logging directory held its event log.
    const unread = unreadVariablesNote(values, { unused: ["logging.logging_dir"] });
    if (unread !== null) log("warning", unread);
    // A compiled binary runs with the permissions it was compiled with, its agent's process too.
    if (values["agent.sandbox"] && Deno.build.standalone) {
      throw new UsageError(
        "--agent.sandbox: a compiled taos cannot narrow its agent's permissions; run taos with " +
          "deno run to sandbox the agent",
      );
    }
    const externalIp = values["axon.external_ip"];
    if (externalIp !== undefined) {
      checkExternalIp(externalIp, axonNames["axon.external_ip"], !values.local);
    }
    // Without --local they would be ignored in silence, and the miner go to the chain.
    for (const flag of ["local.uid", "local.validators"] as const) {
      if (!values.local && values[flag] !== undefined) {
        throw new UsageError(`--${flag}: only valid with --local`);
      }
    }
    const validators = parseValidators(values["local.validators"]);
    if (values.local && validators.length === 0) {
      log("warning", "--local without --local.validators: every caller will be refused");
    }

    const walletName = walletNameFlag("name", values["wallet.name"], MINER_DEFAULTS.walletName);
    const hotkeyName = walletNameFlag("hotkey", values["wallet.hotkey"], MINER_DEFAULTS.hotkey);
    await cryptoReady();
    const wallet = new Wallet({
      root: walletRootOf(values["wallet.path"]).root,
      name: walletName,
      hotkey: hotkeyName,
    });
    let hotkey: Keypair;
    try {
      hotkey = await wallet.hotkey();
    } catch (error) {
      const variables = walletVariablesUsed({
        path: values["wallet.path"],
        name: values["wallet.name"],
        hotkey: values["wallet.hotkey"],
      });
      const notes = variables.length === 0 ? [] : [`chosen by ${variables.join(", ")}`];
      // Only a hotkey that is not there points at the flags: one found but locked (no password,
      // a wrong one) or damaged is not helped by naming another.
      if (missing(wallet.hotkeyPath) === true) {
        notes.push(
          "set -p/--wallet.path, -w/--wallet.name and -h/--wallet.hotkey; " +
            "`taos wallet create` makes one",
        );
      }
      const noted = notes.length === 0 ? "" : ` (${notes.join("; ")})`;
      throw new UsageError(`wallet: ${(error as Error).message}${noted}`);
    }

    if (!values.local && externalIp === undefined) {
      throw new UsageError(
        "--axon.external_ip is required to announce the axon on chain (or use --local)",
      );
    }
    // From here on a signal is handled, not left to end the process: the agent's process and
    // its socket directory are started next, and must go with the miner.
    const stop = listenForStop(log);
    let chain: ChainSession | null = null;
    const interrupted = async (signal: InterruptSignal) => {
      log("info", `stopping on ${signal} while starting`);
      await chain?.close();
      return stop.exitCode();
    };
    /** What `work` resolves to, or the signal when one comes first. */
    const unlessStopped = <T>(work: Promise<T>) =>
      Promise.race([work.then((value) => ({ value })), stop.received]);

    let directory: NeuronDirectory;
    let uid: number;
    if (values.local) {
      uid = settings.localUid;
      directory = localDirectory(hotkey, uid, validators);
    } else {
      const opening = ChainSession.open(endpoint, settings.netuid, hotkey, log);
      const opened = await unlessStopped(opening);
      if (typeof opened === "string") {
        // Closed when it opens after all, lest its connection keep the process alive.
        opening.then((late) => late.close(), () => {});
        return await interrupted(opened);
      }
      chain = opened.value;
      directory = chain.directory;
      const found = await unlessStopped(chain.uidOf(hotkey.ss58Address));
      if (typeof found === "string") return await interrupted(found);
      uid = found.value;
    }

    let miner: RunningMiner;
    try {
      miner = await startMiner({
        hotkey,
        uid,
        directory,
        netuid: values.local && values.netuid === undefined ? "local" : settings.netuid,
        agent: {
          path: expandHome(values["agent.path"]),
          name: values["agent.name"],
          params: agentParams,
        },
        port: settings.axonPort,
        host: values["axon.ip"],
        maxConnections: settings.maxConnections,
        maxConnectionsPerIp: settings.maxConnectionsPerIp,
        agentTimeout: settings.agentTimeout,
        agentMaxMemoryMb: settings.agentMaxMemoryMb,
        agentSandbox: values["agent.sandbox"],
        policy: {
          allowNonRegistered: values["blacklist.allow_non_registered"],
          forceValidatorPermit: settings.forcePermit,
          minStake: settings.minStake,
        },
        metricsPort: settings.metricsLevel === "OFF" ? null : settings.metricsPort,
        metricsHost: values["prometheus.host"],
        signal: stop.signal,
        log,
      });
    } catch (error) {
      // The agent's load was cut short, its process and socket directory already gone.
      if (stop.signal.aborted) return await interrupted(await stop.received);
      await chain?.close();
      if (error instanceof AgentStartError) throw new UsageError(`agent: ${error.message}`);
      if (error instanceof ListenError) {
        const names = {
          port: axonNames["axon.port"],
          host: axonNames["axon.ip"],
          metricsPort: "--prometheus.port",
          metricsHost: "--prometheus.host",
        };
        const at = error.option.startsWith("metrics")
          ? `${values["prometheus.host"]} port ${
            settings.metricsPort ?? MINER_DEFAULTS.metricsPort
          }`
          : `${values["axon.ip"]} port ${settings.axonPort}`;
        throw new UsageError(`${names[error.option]}: cannot listen on ${at}: ${error.message}`);
      }
      throw error;
    }
    // A signal while the axon and the exporter started: the miner never said it was ready.
    if (stop.signal.aborted) {
      await miner.stop();
      return await interrupted(await stop.received);
    }
    // Each with the address it is bound to: an exporter open to every interface is seen at once.
    const ready = `taos miner: uid ${uid}, hotkey ${hotkey.ss58Address}, agent ` +
      `${values["agent.name"]} (${miner.agentFile ?? "bundled"}), axon port ${miner.port} on ` +
      values["axon.ip"] +
      (miner.metricsPort === null
        ? ""
        : `, metrics port ${miner.metricsPort} on ${values["prometheus.host"]}`);
    try {
      printOut(ready);
    } catch (error) {
      // The miner serves all the same: the line is for whoever started it.
      log("warning", `${(error as Error).message}; the line was: ${ready}`);
    }
    let code = 0;
    if (chain !== null) {
      const reason = await Promise.race([
        chain.serveAndWatch(
          externalIp!,
          settings.externalPort ?? miner.port,
          uid,
          hotkey.ss58Address,
        ),
        stop.received.then((s) => `received ${s}`),
      ]);
      if (!reason.startsWith("received")) {
        log("error", reason);
        code = 1;
      }
    } else {
      log("info", `stopping on ${await stop.received}`);
    }
    await miner.stop();
    await chain?.close();
    return code;
  },
};

/** The chain side of a miner run: registration check, serving the axon, periodic resync. */
class ChainSession {
  private constructor(
    readonly directory: NeuronDirectory,
    readonly close: () => Promise<void>,
    readonly serveOnce: (ip: string, port: number) => Promise<{ ok: boolean; message: string }>,
    readonly log: (at: LogLevel, message: string) => void,
  ) {}

  static async open(
    network: string,
    netuid: number,
    hotkey: Keypair,
    log: (at: LogLevel, message: string) => void,
  ): Promise<ChainSession> {
    const { ChainNeuronDirectory, serveAxon, SubtensorClient } = await import("../chain/mod.ts");
    const client = await SubtensorClient.connect({
      network,
      log: (m, level) => log(level, m),
      // What the library reports is also logged in our words; its own lines are detail.
      libraryLog: (line) => log("debug", `@polkadot/api: ${line}`),
    });
    const pair = new Keyring({ type: "sr25519", ss58Format: 42 }).addFromPair(
      hotkey.toPolkadotPair(),
    );
    return new ChainSession(
      // The blacklist reads it on every request: never wait on the chain there.
      new ChainNeuronDirectory(client, netuid, { refreshInBackground: true }),
      () => client.close(),
      (ip, port) => serveAxon(client, pair, { netuid, ip, port }),
      log,
    );
  }

  /** The uid of `hotkey`; a UsageError when it is not registered. */
  async uidOf(hotkey: string): Promise<number> {
    const me = (await this.directory.neurons()).find((n) => n.hotkey === hotkey);
    if (me === undefined) {
      await this.close();
      throw new UsageError(`hotkey ${hotkey} is not registered on this subnet; register it first`);
    }
    return me.uid;
  }

  /** Serves the axon (retrying), then resyncs every 120 s; resolves with a reason to stop. */
  async serveAndWatch(ip: string, port: number, uid: number, hotkey: string): Promise<string> {
    for (let attempt = 1;; attempt++) {
      const result = await this.serveOnce(ip, port);
      if (result.ok) {
        this.log("info", `axon ${hostAndPort(ip, port)} served on chain: ${result.message}`);
        break;
      }
      // Retrying cannot register the hotkey: stop as the watch below does when the uid is lost.
      if (/is not registered on subnet/.test(result.message)) return `${result.message}; stopping`;
      this.log("warning", `serving the axon failed (attempt ${attempt}): ${result.message}`);
      await new Promise((r) => setTimeout(r, 12_000));
    }
    for (;;) {
      await new Promise((r) => setTimeout(r, 120_000));
      try {
        await this.directory.refresh();
        const me = (await this.directory.neurons()).find((n) =>
          n.uid === uid && n.hotkey === hotkey
        );
        if (me === undefined) return `hotkey ${hotkey} no longer holds uid ${uid}; stopping`;
      } catch (error) {
        this.log("warning", `metagraph sync failed: ${(error as Error).message}`);
      }
    }
  }
}
