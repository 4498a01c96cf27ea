/**
 * Hosts the miner's trading agent in a process of its own (or, for backtests, a worker thread in
 * this one) and gives each state update a deadline.
 * An agent that overruns is not waited for: the step reports `overran` (the miner answers with
 * no instructions) and the late result is dropped. An error the agent raises, even outside its
 * `onUpdate` (an unawaited rejected promise, a throwing timer), fails only the update in flight.
 * The agent keeps its state throughout, unless it ends itself, holds more memory than its
 * limit, fills its heap or gets stuck: then a fresh instance replaces it, the old one's process
 * killed. A load that never
 * finishes (a constructor or a module that never returns) fails after a time limit instead of
 * holding up the caller.
 *
 * ```ts
 * const host = await AgentHost.start({ path: "~/.taos/agents", name: "RandomMakerAgent", params: "", uid: 3 });
 * const outcome = await host.step(decodedState, 4000); // or host.stepUpdate(wire, validator, 4000)
 * if (outcome.kind === "ok") reply(outcome.response);
 * host.close();
 * ```
 * @module
 */
import { dirname, resolve as absolute } from "node:path";
import { getHeapStatistics } from "node:v8";
import type { AgentParams } from "../agents/sdk/agent.ts";
import type { Rejection } from "../agents/sdk/instructions.ts";
import type { StateUpdate } from "../agents/sdk/state.ts";
import type { StateUpdateWire } from "../bittensor/market_synapse.ts";
import type { AgentMethod } from "./agent_methods.ts";
import { type AgentChannel, type AgentIsolation, openChannel } from "./agent_channel.ts";
import type {
  AgentEvent,
  AgentReply,
  FailureKind,
  HostMessage,
  StepInput,
  WorkerMessage,
} from "./agent_protocol.ts";

export type { AgentIsolation } from "./agent_channel.ts";
// What a host's callers read in its results.
export type { AgentReply, FailureKind };

/** Time a miner keeps back from a request's timeout for (de)compression and the network: its
 * agent has the rest. Backtests give their agents the same. */
export const REPLY_MARGIN_S = 0.5;

/** The result of one state update. */
export type StepOutcome =
  | {
    kind: "ok";
    response: AgentReply;
    seconds: number;
    dropped?: string;
    ignored?: string;
    /** Instructions left out of `response` (on books the validator does not have). */
    unsent?: Rejection[];
    /** The reply as the agent returned it, before JSON, when it ran in the caller's thread. */
    written?: unknown;
  }
  | { kind: "overran"; seconds: number }
  | FailedStep;

/** An update answered without the agent's reply; an {@linkcode AgentHost} sets `problem`. */
interface FailedStep {
  kind: "failed";
  message: string;
  seconds: number;
  problem?: FailureKind;
  method?: AgentMethod;
  at?: string;
}

/** The result of one state update run by an {@linkcode AgentHost}: a failure says its kind. */
export type HostStepOutcome =
  | Exclude<StepOutcome, FailedStep>
  | FailedStep & { problem: FailureKind };

/**
 * The result of a state update as it came over the wire ({@linkcode AgentHost.stepUpdate}): the
 * agent's reply comes as the reply field carries it, and the count of its instructions.
 */
export type HostUpdateOutcome =
  | {
    kind: "ok";
    wire: string;
    instructions: number;
    seconds: number;
    dropped?: string;
    ignored?: string;
    unsent?: Rejection[];
  }
  | Exclude<HostStepOutcome, { kind: "ok" }>;

/** Which agent to run. */
export interface AgentSpec {
  /** Agents directory or file. */
  path: string;
  /** Agent class name. */
  name: string;
  /** `k=v k2=v2` parameters, or parsed ones. */
  params: string | AgentParams;
  /** The miner's uid (its account id in the simulation). */
  uid: number;
}

/** An agent that failed to load; the message says why. */
export class AgentStartError extends Error {
  override name = "AgentStartError";
}

interface PendingStep {
  id: number;
  input: StepInput;
  /** Set once the step is answered (result or deadline); a late result is then dropped. */
  done: boolean;
  finish: (message: WorkerMessage) => void;
}

/** Options of {@linkcode AgentHost.start}. */
export interface AgentHostOptions {
  /**
   * A load (importing the agent file, constructing the class) taking longer than this fails
   * (default 60 000 ms): a constructor or a module top level that never returns.
   */
  loadTimeoutMs?: number;
  /**
   * The agent's memory limit, MiB (default: what V8 gives a thread's heap on this machine). Its
   * JavaScript heap is limited to it, and so is what it holds outside the heap (ArrayBuffers,
   * typed arrays): an agent found over either after an update or between updates, or keeping its
   * heap within a tenth of the limit, is replaced. One that fills its heap within one update is
   * held there until replaced as stuck; without a limit of the worker's own, a full heap would end
   * the whole process.
   */
  maxMemoryMb?: number;
  /**
   * The setting that raises the limit, named in the messages that give it (`--agent.max_memory`);
   * by default none is named.
   */
  maxMemoryName?: string;
  /**
   * Also watch the memory of the process running the agent (its own; for a thread, this one,
   * which then must host this one agent only): past what it was once the agent was loaded plus
   * twice its limit plus {@linkcode PROCESS_MEMORY_SLACK_MB}, the agent is replaced. This catches
   * memory its worker cannot count (WebAssembly memory, SharedArrayBuffers) and allocations within
   * one update.
   */
  watchProcessMemory?: boolean;
  /**
   * Where the agent runs (default `"process"`): a Deno process of its own, killed when the agent
   * is replaced or the host closed, or a worker thread in this process, cheaper to start and
   * about 30 MB smaller, which a stuck agent in an endless loop keeps busy until this process
   * exits.
   */
  isolation?: AgentIsolation;
  /**
   * Start the agent's process with fewer permissions: it may read its agent file's directory,
   * taos's sources and Deno's cache, and nothing else (no write, net, env, run, ffi or sys
   * access), so what the agent tries beyond that fails as its error. Needs `isolation: "process"`
   * and a taos run by `deno run`, not a compiled one.
   */
  sandbox?: boolean;
  /**
   * An update still computing this long after its deadline means the agent is stuck: it is
   * replaced by a fresh agent (default 30 000 ms).
   */
  restartAfterMs?: number;
  /**
   * Told when a stuck or ended agent is replaced, when its replacement fails to load (the load is
   * retried) and when a retried load succeeds.
   */
  onRestart?: (message: string) => void;
  /**
   * Wait before retrying a replacement that failed to load, doubled after each failure up to
   * 60 000 ms (default 5000 ms). Updates arriving meanwhile fail at once with the load error.
   */
  reloadRetryMs?: number;
  /**
   * Told of an error the agent raised while no update was waiting for it, and of messages it
   * posted to the host itself (ignored); `kind` tells which, whatever the message says.
   */
  onError?: (message: string, kind: "uncaught error" | "stray message") => void;
  /** Ends a first load under way (Ctrl-C while the agent loads): `start` fails at once. */
  signal?: AbortSignal;
}

/**
 * What the work around the agent (decoding updates, encoding replies; for a thread, the miner's
 * requests) may add to its process's memory besides the agent's own, MiB.
 */
export const PROCESS_MEMORY_SLACK_MB = 512;

/** How often the process's memory is read when watched, ms. */
const PROCESS_MEMORY_CHECK_MS = 250;

/** `bytes` in whole MiB. */
function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

/** The memory limit as messages give it: `64 MiB`, and the setting that raises it if named. */
function limitText(limitMb: number, options: AgentHostOptions): string {
  const name = options.maxMemoryName;
  return name === undefined ? `${limitMb} MiB` : `${limitMb} MiB; ${name} raises it`;
}

/** V8's heap limit for this thread, MiB: workers get the same unless told otherwise. */
export function defaultHeapMb(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 2 ** 20);
}

/** The longest wait before a reload is tried again. */
const MAX_RELOAD_RETRY_MS = 60_000;

/** An agent's worker with the agent loaded, and what the load told. */
interface LoadedAgent {
  channel: AgentChannel;
  /** Parameters the agent does not take. */
  warning?: string;
  /** The parameters it was constructed with, as JSON values. */
  params?: AgentParams;
  /** Null for a bundled example. */
  file: string | null;
}

/** The directory of the agent's file: `path` itself, or the directory of the file it names. */
async function agentDirectory(path: string): Promise<string> {
  const full = absolute(path);
  try {
    return (await Deno.stat(full)).isFile ? dirname(full) : full;
  } catch {
    return full;
  }
}

/** Starts the agent's worker (in its own process unless told otherwise) and loads the agent. */
async function spawnAgent(
  spec: AgentSpec,
  options: AgentHostOptions,
  heapMb: number,
): Promise<LoadedAgent> {
  // Nothing started yet: no process to start only to kill it.
  if (options.signal?.aborted) throw new AgentStartError(`loading ${spec.name} was interrupted`);
  let channel: AgentChannel;
  try {
    const sandbox = options.sandbox === true ? { read: [await agentDirectory(spec.path)] } : null;
    channel = await openChannel(options.isolation ?? "process", heapMb, sandbox);
  } catch (error) {
    throw new AgentStartError(`cannot start ${spec.name}: ${(error as Error).message}`);
  }
  const limitMs = options.loadTimeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopLoading = () => {};
  const loaded = await new Promise<WorkerMessage>((resolve) => {
    const fail = (message: string) => resolve({ kind: "load-failed", message });
    channel.onEvent = (event) => {
      if (event.kind === "loaded" || event.kind === "load-failed") resolve(event);
      const ended = endOf(spec, event, limitText(heapMb, options));
      if (ended !== null) fail(ended);
    };
    stopLoading = () => fail(`loading ${spec.name} was interrupted`);
    // The sandbox's check waits on the file system: a signal may have come meanwhile.
    if (options.signal?.aborted) stopLoading();
    options.signal?.addEventListener("abort", stopLoading);
    timer = setTimeout(() => {
      fail(
        `${spec.name} did not finish loading within ${limitMs / 1000} s (a constructor or ` +
          "module code that never returns?)",
      );
    }, limitMs);
    // Resolved here: a sandboxed process may not read its working directory.
    channel.send(
      {
        kind: "load",
        ...spec,
        path: absolute(spec.path),
        maxMemoryMb: heapMb,
        maxMemoryText: limitText(heapMb, options),
      } satisfies HostMessage,
    );
  });
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", stopLoading);
  channel.onEvent = () => {};
  if (loaded.kind !== "loaded") {
    // Gone, its socket directory with it, before the caller (an interrupted miner) may exit.
    await channel.stop();
    throw new AgentStartError("message" in loaded ? loaded.message : "agent did not load");
  }
  return {
    channel,
    warning: loaded.warning,
    params: loaded.params as AgentParams | undefined,
    file: loaded.file,
  };
}

/**
 * Why the agent's worker is gone, after its name, when `event` tells it is: the agent ended it,
 * it crashed (a full heap, or what the agent left uncaught), or its process ended. Null otherwise.
 */
function endOf(spec: AgentSpec, event: AgentEvent, limit: string): string | null {
  switch (event.kind) {
    case "ended":
      return `${spec.name} ended itself (exit code ${event.code})`;
    case "crashed":
      return event.outOfMemory
        ? `${spec.name} ran out of memory (its heap is limited to ${limit})`
        : `${spec.name} crashed: ${event.message}`;
    case "process-ended":
      return `${spec.name}'s process ended (${
        event.signal === null ? `exit code ${event.code}` : `signal ${event.signal}`
      })`;
    default:
      return null;
  }
}

/**
 * A trading agent running in its own worker, by default in a process of its own. Updates are
 * computed one at a time in arrival order (several validators may query at once); each has its own
 * deadline counted from arrival.
 */
export class AgentHost {
  readonly #spec: AgentSpec;
  readonly #options: AgentHostOptions;
  readonly #isolation: AgentIsolation;
  /** null while a replacement agent is loading. */
  #channel: AgentChannel | null = null;
  /** Set while a replacement cannot be loaded; steps fail with it until a retry succeeds. */
  #broken: string | null = null;
  /** The pending retry of a failed replacement, cleared on close. */
  #reloadTimer: ReturnType<typeof setTimeout> | null = null;
  /** Whether the current agent has finished an update since it was loaded. */
  #answered = false;
  /**
   * Wait before loading a fresh agent after one that ended by itself before finishing an update
   * (module code that exits, say): doubled each time, up to a minute, and reset by a finished
   * update, so that such an agent is not reloaded in a tight loop.
   */
  #unansweredRetryMs: number;
  /** The first wait before a reload (`reloadRetryMs`). */
  readonly #firstRetryMs: number;
  #closed = false;
  #nextId = 1;
  readonly #queue: PendingStep[] = [];
  #inFlight: PendingStep | null = null;
  /** Pending stuck-agent checks, cleared on close. */
  readonly #watchdogs = new Set<ReturnType<typeof setTimeout>>();
  /**
   * The memory of the agent's process past which the agent is replaced, bytes, set as each agent
   * starts; null when not watched (or not readable).
   */
  #ceiling: number | null = null;
  #memoryTimer: ReturnType<typeof setInterval> | null = null;
  /** The agent's memory limit, MiB: `maxMemoryMb`, or V8's default heap limit. */
  readonly #limitMb: number;

  /** Set when the agent ignores some of the given parameters (names them and what it takes). */
  readonly paramsWarning: string | null;
  /** The parameters the first agent was constructed with; null when they are not JSON values. */
  readonly params: AgentParams | null;
  /** The file the agent was loaded from; null for a bundled example. */
  readonly agentFile: string | null;

  private constructor(
    spec: AgentSpec,
    options: AgentHostOptions,
    loaded: LoadedAgent,
    limitMb: number,
  ) {
    this.#spec = spec;
    this.#options = options;
    this.#isolation = options.isolation ?? "process";
    this.paramsWarning = loaded.warning ?? null;
    this.params = loaded.params ?? null;
    this.agentFile = loaded.file;
    this.#limitMb = limitMb;
    this.#firstRetryMs = options.reloadRetryMs ?? 5000;
    this.#unansweredRetryMs = this.#firstRetryMs;
    this.#attach(loaded.channel);
    if (options.watchProcessMemory === true) {
      this.#memoryTimer = setInterval(() => this.#checkProcessMemory(), PROCESS_MEMORY_CHECK_MS);
      Deno.unrefTimer(this.#memoryTimer);
    }
  }

  /** Loads the agent in a new worker; throws AgentStartError when it cannot be loaded. */
  static async start(given: AgentSpec, options: AgentHostOptions = {}): Promise<AgentHost> {
    // Resolved now: a replacement loads the same agent after the working directory is removed.
    const spec = { ...given, path: absolute(given.path) };
    const limitMb = options.maxMemoryMb ?? defaultHeapMb();
    const loaded = await spawnAgent(spec, options, limitMb);
    return new AgentHost(spec, options, loaded, limitMb);
  }

  /** The id of the process running the agent; null for a thread, or while one is loading. */
  get agentPid(): number | null {
    return this.#channel?.pid ?? null;
  }

  /** Replaces the agent once its process holds more memory than the agent's limit allows. */
  #checkProcessMemory(): void {
    if (this.#channel === null || this.#ceiling === null) return;
    const held = this.#channel.memory();
    if (held === null || held <= this.#ceiling) return;
    const whose = this.#isolation === "process" ? "its process's" : "the miner's";
    this.#replace(
      `agent ${this.#spec.name} took ${whose} memory to ${mib(held)} MiB, past the ` +
        `${mib(this.#ceiling)} MiB its memory limit (${limitText(this.#limitMb, this.#options)}) ` +
        "allows",
    );
  }

  #attach(channel: AgentChannel): void {
    this.#channel = channel;
    this.#answered = false;
    // Counted from what the process held once this agent was loaded: the rest is not its.
    const baseline = this.#options.watchProcessMemory === true ? channel.memory() : null;
    this.#ceiling = baseline === null
      ? null
      : baseline + (2 * this.#limitMb + PROCESS_MEMORY_SLACK_MB) * 2 ** 20;
    channel.onEvent = (event) => {
      if (this.#channel !== channel) return;
      const ended = endOf(this.#spec, event, limitText(this.#limitMb, this.#options));
      if (ended !== null) {
        this.#replace(`agent ${ended}`, true);
        return;
      }
      const current = this.#inFlight;
      if (event.kind === "stray") {
        this.#options.onError?.(
          `a message it posted to the miner is not part of the protocol and was ignored: ${event.text}`,
          "stray message",
        );
      } else if (event.kind === "exiting") {
        this.#replace(`agent ${this.#spec.name} ${event.message}`);
      } else if (event.kind === "agent-error") {
        if (current === null || current.done) {
          this.#options.onError?.(event.message, "uncaught error");
          return;
        }
        current.finish({
          kind: "step-failed",
          id: current.id,
          message: event.message,
          seconds: 0,
          problem: "uncaught error",
        });
        // The update stays in flight until the agent returns; if it never does, it is stuck.
        this.#watch(current);
      } else if (
        (event.kind === "step" || event.kind === "step-failed") && current?.id === event.id
      ) {
        this.#inFlight = null;
        this.#answered = true;
        this.#unansweredRetryMs = this.#firstRetryMs;
        if (!current.done) current.finish(event);
        this.#pump();
      }
    };
  }

  /** True while the agent is computing an update (possibly one already answered as overrun). */
  get busy(): boolean {
    return this.#inFlight !== null;
  }

  /** Runs the agent on `state` (a decoded state update), answering within `deadlineMs`. */
  step(state: unknown, deadlineMs: number): Promise<HostStepOutcome> {
    return this.#enqueue({ state }, deadlineMs) as Promise<HostStepOutcome>;
  }

  /**
   * Runs the agent on `state`, an update taos built (`stateForAgent`), answering within
   * `deadlineMs`. It crosses to the worker as JSON, as a miner's update comes, and the worker
   * hands it to the agent as read, without the check `step` makes.
   */
  stepBuilt(state: StateUpdate, deadlineMs: number): Promise<HostStepOutcome> {
    return this.#enqueue({ built: JSON.stringify(state) }, deadlineMs) as Promise<HostStepOutcome>;
  }

  /**
   * Runs the agent on a state update as it came over the wire from `validator`, answering within
   * `deadlineMs`, decoding included. An update that cannot be decoded fails with a message
   * starting `invalid state update:`.
   */
  stepUpdate(
    update: StateUpdateWire,
    validator: string | null,
    deadlineMs: number,
  ): Promise<HostUpdateOutcome> {
    return this.#enqueue({ update, validator }, deadlineMs) as Promise<HostUpdateOutcome>;
  }

  /** Queues an update; its reply comes as `response` for a decoded one, else as `wire`. */
  #enqueue(
    input: StepInput,
    deadlineMs: number,
  ): Promise<HostStepOutcome | HostUpdateOutcome> {
    if (this.#broken !== null) {
      return Promise.resolve({
        kind: "failed",
        message: this.#broken,
        seconds: 0,
        problem: "agent not loaded",
      });
    }
    const arrived = performance.now();
    return new Promise((resolve) => {
      const entry: PendingStep = {
        id: this.#nextId++,
        input,
        done: false,
        finish: (message) => {
          entry.done = true;
          clearTimeout(timer);
          if (message.kind === "step") {
            const { response, wire, instructions } = message;
            resolve({
              kind: "ok",
              ...(wire === undefined
                ? { response: response! }
                : { wire, instructions: instructions! }),
              seconds: message.seconds,
              ...(message.dropped !== undefined && { dropped: message.dropped }),
              ...(message.ignored !== undefined && { ignored: message.ignored }),
              ...(message.unsent !== undefined && { unsent: message.unsent }),
            });
          } else if (message.kind === "step-failed") {
            resolve({
              kind: "failed",
              message: message.message,
              seconds: message.seconds,
              problem: message.problem,
              ...(message.method !== undefined && { method: message.method }),
              ...(message.at !== undefined && { at: message.at }),
            });
          }
        },
      };
      const timer = setTimeout(() => {
        // A queued step is dropped; a running one finishes in the background, unused.
        entry.done = true;
        const index = this.#queue.indexOf(entry);
        if (index >= 0) this.#queue.splice(index, 1);
        if (this.#inFlight === entry) this.#watch(entry);
        resolve({ kind: "overran", seconds: (performance.now() - arrived) / 1000 });
      }, Math.max(0, deadlineMs));
      this.#queue.push(entry);
      this.#pump();
    });
  }

  /** Replaces the agent if `entry` is still computing long after its deadline. */
  #watch(entry: PendingStep): void {
    const after = this.#options.restartAfterMs ?? 30_000;
    const watchdog = setTimeout(() => {
      this.#watchdogs.delete(watchdog);
      if (this.#inFlight !== entry || this.#channel === null) return;
      // A worker stalled at its heap limit says nothing either: it is stuck too.
      const thread = this.#isolation === "thread"
        ? "; Deno cannot stop a thread in an endless loop: it keeps a CPU core busy until the " +
          "process exits"
        : "";
      this.#replace(
        `agent ${this.#spec.name} still computing ${after} ms after its deadline (an endless ` +
          `loop, a promise that never settles, or a full heap${thread})`,
      );
    }, after);
    this.#watchdogs.add(watchdog);
  }

  /**
   * Ends the current agent (kills its process) and loads a fresh one; the update in flight fails
   * with `reason`. `endedItself`: the agent ended or crashed on its own rather than being stopped
   * here.
   */
  #replace(reason: string, endedItself = false): void {
    // Forgotten first: what the old agent still tells is no longer news.
    const ended = this.#channel;
    this.#channel = null;
    const current = this.#inFlight;
    this.#inFlight = null;
    if (current !== null && !current.done) {
      current.finish({
        kind: "step-failed",
        id: current.id,
        message: reason,
        seconds: 0,
        problem: "agent replaced",
      });
    }
    const retryMs = this.#firstRetryMs;
    if (this.#answered || !endedItself) {
      this.#options.onRestart?.(`${reason}; replacing it with a fresh instance`);
      // The fresh agent starts once the old one's memory is returned.
      const reload = () => this.#reload(retryMs);
      void (ended?.stop() ?? Promise.resolve()).then(reload, reload);
      return;
    }
    // It ended by itself before finishing an update: a fresh one would likely end the same way
    // at once. (Stuck and memory replacements take their own time to be found.)
    const waitMs = this.#unansweredRetryMs;
    this.#unansweredRetryMs = Math.min(waitMs * 2, MAX_RELOAD_RETRY_MS);
    this.#broken = `${reason} before finishing an update`;
    this.#options.onRestart?.(`${this.#broken}; loading a fresh instance in ${waitMs / 1000} s`);
    this.#failWaiting(this.#broken);
    void ended?.stop();
    this.#reloadTimer = setTimeout(() => {
      this.#reloadTimer = null;
      this.#reload(retryMs);
    }, waitMs);
  }

  /** Fails every queued update with `message`, the reason the agent cannot take it. */
  #failWaiting(message: string): void {
    for (const waiting of this.#queue.splice(0)) {
      waiting.finish({
        kind: "step-failed",
        id: waiting.id,
        message,
        seconds: 0,
        problem: "agent not loaded",
      });
    }
  }

  /**
   * Loads a fresh agent. A failed load (say, the file was edited into a syntax error) is retried
   * after `retryMs`, doubling up to a minute, so fixing the file brings the miner back without a
   * restart; until then updates fail at once with the load error.
   */
  #reload(retryMs: number): void {
    if (this.#closed) return;
    // The signal stops the first load only: a replacement is the host's own business.
    const options = { ...this.#options, signal: undefined };
    spawnAgent(this.#spec, options, this.#limitMb).then(({ channel }) => {
      if (this.#closed) {
        void channel.stop();
        return;
      }
      if (this.#broken !== null) {
        this.#broken = null;
        this.#options.onRestart?.(`agent ${this.#spec.name} loaded again`);
      }
      this.#attach(channel);
      this.#pump();
    }, (error: Error) => {
      if (this.#closed) return;
      this.#broken = `agent could not be restarted: ${error.message}`;
      this.#options.onRestart?.(`${this.#broken}; retrying in ${retryMs / 1000} s`);
      this.#failWaiting(this.#broken);
      this.#reloadTimer = setTimeout(() => {
        this.#reloadTimer = null;
        this.#reload(Math.min(retryMs * 2, MAX_RELOAD_RETRY_MS));
      }, retryMs);
    });
  }

  #pump(): void {
    if (this.#inFlight !== null || this.#channel === null) return;
    const next = this.#queue.shift();
    if (next === undefined) return;
    this.#inFlight = next;
    try {
      this.#channel.send({ kind: "step", id: next.id, input: next.input });
    } catch (error) {
      // A state that cannot be cloned or framed (nested too deep, say) never reached the agent.
      this.#inFlight = null;
      next.finish({
        kind: "step-failed",
        id: next.id,
        message: `invalid state update: it cannot be handed to the agent: ${
          (error as Error).message
        }`,
        seconds: 0,
        problem: "invalid state update",
      });
      this.#pump();
    }
  }

  /** Stops the agent (kills its process). */
  close(): void {
    if (this.#memoryTimer !== null) clearInterval(this.#memoryTimer);
    this.#memoryTimer = null;
    for (const watchdog of this.#watchdogs) clearTimeout(watchdog);
    this.#watchdogs.clear();
    if (this.#reloadTimer !== null) clearTimeout(this.#reloadTimer);
    this.#reloadTimer = null;
    const ended = this.#channel;
    this.#channel = null;
    this.#closed = true;
    void ended?.stop();
    this.#broken = "agent host closed";
  }
}
