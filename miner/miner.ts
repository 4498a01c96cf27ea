/**
 * A running miner: the axon answering the subnet's synapses with the hosted trading agent,
 * the caller policy, and the metrics exporter. Chain concerns (registration, serving the axon
 * on chain, metagraph sync) stay outside, behind the `NeuronDirectory` given here.
 *
 * ```ts
 * const miner = await startMiner({ hotkey, uid: 3, directory, agent: { path, name, params: "" } });
 * console.log(`axon on ${miner.port}`);
 * await miner.stop();
 * ```
 * @module
 */
import { Axon } from "../bittensor/axon.ts";
import type { Keypair } from "../bittensor/keypair.ts";
import {
  encodeResponse,
  EventNotification,
  FinanceEventNotification,
  MarketSimulationStateUpdate,
  type StateUpdateWire,
} from "../bittensor/market_synapse.ts";
import type { NeuronDirectory } from "../bittensor/neurons.ts";
import { AgentHost, type AgentReply, REPLY_MARGIN_S } from "./agent_host.ts";
import { CallerPolicy, type CallerPolicyOptions } from "./blacklist.ts";
import { MinerMetrics } from "./metrics.ts";
import { RepeatLimiter } from "./repeat_limiter.ts";
import { type LogLevel, makeLogger, untrustedText } from "../cli/log.ts";

/** Everything a miner needs. */
export interface MinerOptions {
  /** The miner's hotkey (signs axon replies; requests must be addressed to it). */
  hotkey: Keypair;
  /** The miner's uid on the subnet. */
  uid: number;
  /** Where callers are looked up. */
  directory: NeuronDirectory;
  /** The trading agent to load. */
  agent: { path: string; name: string; params: string };
  /** Axon port (default 8091; 0 = any free port). */
  port?: number;
  /** The axon's connection limits, in all and per address (defaults 1024 and 16). */
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  /** Axon bind address (default 0.0.0.0). */
  host?: string;
  /** Longest time the agent may take per update, seconds (default 4; capped by the request's timeout). */
  agentTimeout?: number;
  /**
   * The same agent problem (an error, an overrun, a restart) is logged at most once per this many
   * ms, with a count of the repeats (default 60 000).
   */
  repeatWindowMs?: number;
  /** Replace an agent still computing this long (ms) after a deadline (default 30 000). */
  agentRestartAfter?: number;
  /**
   * The agent's memory limit, MiB: its JavaScript heap, and separately what it holds outside the
   * heap (default: V8's heap limit for this machine).
   */
  agentMaxMemoryMb?: number;
  /**
   * Start the agent's process with read access to its own directory and taos only (see
   * `AgentHostOptions.sandbox`).
   */
  agentSandbox?: boolean;
  /** Caller rules. */
  policy?: CallerPolicyOptions;
  /**
   * Metrics exporter port; null disables it. Unset: 9002, or any free port when another process
   * (a second miner on the host) holds it.
   */
  metricsPort?: number | null;
  /** Metrics exporter bind address (default 0.0.0.0, as the reference's exporter binds). */
  metricsHost?: string;
  /** Subnet id, for metric labels; `local` for a miner without a chain. */
  netuid: number | "local";
  /** Ends the agent's first load (a SIGINT or SIGTERM while the miner starts): start fails. */
  signal?: AbortSignal;
  log?: (at: LogLevel, message: string) => void;
}

/** A started miner. */
export interface RunningMiner {
  /** The axon's bound port. */
  port: number;
  /** The metrics exporter's bound port, or null when disabled. */
  metricsPort: number | null;
  /** The file the agent was loaded from; null for a bundled example. */
  agentFile: string | null;
  metrics: MinerMetrics;
  /** Stops the axon, the exporter and the agent. */
  stop(): Promise<void>;
}

/** The axon or the exporter could not listen; `option` names the setting at fault. */
export class ListenError extends Error {
  override name = "ListenError";
  constructor(
    readonly option: "port" | "host" | "metricsPort" | "metricsHost",
    message: string,
  ) {
    super(message);
  }
}

/** Whether a failure to listen is the port's (taken, or privileged) rather than the address's. */
function portAtFault(error: unknown): boolean {
  return error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.PermissionDenied;
}

/** The reference's metrics port for miners. */
const DEFAULT_METRICS_PORT = 9002;

/** Loads the agent, starts the axon (and the exporter) and resolves once both listen. */
export async function startMiner(options: MinerOptions): Promise<RunningMiner> {
  const log = options.log ?? makeLogger("info");
  // An agent failing the same way at every update would otherwise log a line per update.
  const repeats = new RepeatLimiter(options.repeatWindowMs);
  const refusals = new RepeatLimiter(options.repeatWindowMs);
  const warnOnce = (key: string, message: string) => {
    const line = repeats.pass(key, message);
    if (line !== null) log("warning", line);
  };
  const host = await AgentHost.start({ ...options.agent, uid: options.uid }, {
    restartAfterMs: options.agentRestartAfter,
    maxMemoryMb: options.agentMaxMemoryMb,
    maxMemoryName: "--agent.max_memory",
    sandbox: options.agentSandbox,
    signal: options.signal,
    watchProcessMemory: true,
    // By the message's words: its figures (memory taken, an exit code) differ every time.
    onRestart: (message) => warnOnce(`restart: ${message.replace(/\d+/g, "#")}`, message),
    // By kind: what the agent throws or posts may differ every time (a counter, a book id).
    onError: (message, kind) =>
      warnOnce(
        `between: ${kind}`,
        `agent ${options.agent.name} failed between updates: ${message}`,
      ),
  });
  if (host.paramsWarning !== null) log("warning", host.paramsWarning);
  const metrics = new MinerMetrics({ hotkey: options.hotkey.ss58Address, netuid: options.netuid });
  const policy = new CallerPolicy(options.directory, options.policy);
  const agentBudget = options.agentTimeout ?? 4;
  const empty = (): AgentReply => ({ agent_id: options.uid, instructions: [] });
  let warnedOfDrops = false;
  let warnedOfIgnored = false;

  const axon = new Axon({
    keypair: options.hotkey,
    port: options.port ?? 8091,
    host: options.host,
    maxConnections: options.maxConnections,
    maxConnectionsPerIp: options.maxConnectionsPerIp,
    // Every route follows the caller policy, the built-in ping too: a stranger is refused
    // before its body is read.
    callers: {
      blacklist: (synapse) => policy.blacklist(synapse.dendrite.hotkey),
      priority: (synapse) => policy.priority(synapse.dendrite.hotkey),
    },
    // A validator's malformed requests fail alike, each with its own id and quoting its own body:
    // once a minute per kind of failure (the id left out, the first 60 characters of the rest).
    onError: (message) => {
      const kind = message.replace(/ \(#[0-9a-f-]+\)/, "").slice(0, 60);
      const line = repeats.pass(`axon: ${kind}`, untrustedText(message, 1000));
      if (line !== null) log("warning", line);
    },
    onRequest(record) {
      metrics.request(record.synapse, record.statusCode, record.seconds);
      // The caller chose its hotkey header and, through it, parts of the message.
      const line = `axon ${record.synapse} from ${untrustedText(record.callerHotkey ?? "?", 64)}@${
        record.callerIp ?? "?"
      }: ${record.statusCode} ${untrustedText(record.statusMessage, 300)} (${
        record.seconds.toFixed(3)
      } s)`;
      if (record.statusCode === 200) return log("debug", line);
      // Anyone can be refused, as often as they like: once a minute per address and status.
      const shown = refusals.pass(`${record.statusCode} ${record.callerIp}`, line);
      if (shown !== null) log("info", shown);
    },
  });

  axon.attach(MarketSimulationStateUpdate, {
    async forward(synapse, _signal, deadline): Promise<StateUpdateWire> {
      const request = synapse.fields;
      // What is left of the caller's timeout, less the margin for the reply.
      const left = (deadline - performance.now()) / 1000 - REPLY_MARGIN_S;
      const budget = Math.min(agentBudget, Math.max(0, left));
      if (budget === 0) {
        // Not the agent's doing: the validator's timeout (less the reply margin and the wait at
        // the axon) left nothing.
        metrics.agentFailure("no_time");
        warnOnce(
          `no time: ${synapse.dendrite.hotkey}`,
          `a request from ${untrustedText(synapse.dendrite.hotkey ?? "?", 64)} left the agent no ` +
            `time (its timeout, ${synapse.timeout} s, less ${REPLY_MARGIN_S} s to reply and the ` +
            "time it waited at the axon); answering with no instructions",
        );
        return encodeResponse(request, empty());
      }
      // Decoded in the agent's worker, within the budget: a large update takes seconds to inflate
      // and parse, which here would hold up every other request until done.
      const outcome = await host.stepUpdate(request, synapse.dendrite.hotkey, budget * 1000);
      switch (outcome.kind) {
        case "ok":
          metrics.agentStep(outcome.seconds, outcome.instructions);
          if (outcome.dropped !== undefined && !warnedOfDrops) {
            warnedOfDrops = true;
            log(
              "warning",
              `validators will drop ${outcome.dropped} (said once)`,
            );
          }
          if (outcome.ignored !== undefined && !warnedOfIgnored) {
            warnedOfIgnored = true;
            log("warning", `agent reply: ${outcome.ignored} (said once)`);
          }
          // Compressed in the agent's worker: a large reply would hold up this thread.
          return { ...encodeResponse(request, null), response: outcome.wire };
        case "overran":
          metrics.agentFailure("overran");
          warnOnce(
            "overran",
            `agent ${options.agent.name} overran its ${
              Number(budget.toPrecision(3))
            } s budget at state ` +
              `${request.timestamp}; answering with no instructions`,
          );
          break;
        case "failed":
          metrics.agentFailure(outcome.problem.startsWith("invalid ") ? "invalid" : "error");
          // One problem per kind of failure and place, whatever the message says: an agent's
          // error may count updates or name a book, an invalid update quotes what was sent.
          warnOnce(
            `failed: ${outcome.problem} ${outcome.method ?? ""} ${outcome.at ?? ""}`,
            `agent ${options.agent.name} failed` +
              (outcome.method !== undefined ? ` in ${outcome.method}` : "") +
              ` at state ${request.timestamp}: ${outcome.message}` +
              (outcome.at !== undefined ? ` (at ${outcome.at})` : ""),
          );
          break;
      }
      return encodeResponse(request, empty());
    },
  });

  for (const kind of [FinanceEventNotification, EventNotification]) {
    axon.attach(kind, { forward: (synapse) => ({ ...synapse.fields, acknowledged: true }) });
  }

  let port: number;
  try {
    port = await axon.start();
  } catch (error) {
    host.close();
    throw new ListenError(portAtFault(error) ? "port" : "host", (error as Error).message);
  }
  let metricsPort: number | null = null;
  if (options.metricsPort !== null) {
    const metricsHost = options.metricsHost ?? "0.0.0.0";
    try {
      try {
        metricsPort = await metrics.serve(options.metricsPort ?? DEFAULT_METRICS_PORT, metricsHost);
      } catch (error) {
        if (options.metricsPort !== undefined || !(error instanceof Deno.errors.AddrInUse)) {
          throw error;
        }
        metricsPort = await metrics.serve(0, metricsHost);
        log(
          "warning",
          `metrics port ${DEFAULT_METRICS_PORT} is in use (another miner?); serving metrics on ` +
            `${metricsPort}`,
        );
      }
    } catch (error) {
      await axon.stop();
      host.close();
      throw new ListenError(
        portAtFault(error) ? "metricsPort" : "metricsHost",
        (error as Error).message,
      );
    }
  }
  return {
    port,
    metricsPort,
    agentFile: host.agentFile,
    metrics,
    async stop() {
      await axon.stop();
      await metrics.close();
      host.close();
    },
  };
}
