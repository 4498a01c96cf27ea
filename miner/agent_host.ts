/**
 * Hosts the miner's trading agent in a worker thread and gives each state update a deadline.
 * An agent that overruns is not waited for: the step reports `overran` (the miner answers with
 * no instructions) and the late result is dropped. An error the agent raises, even outside its
 * `onUpdate` (an unawaited rejected promise, a throwing timer), fails only the update in flight.
 * The agent keeps its state throughout, unless it ends its worker, holds more memory than its
 * limit, fills its heap or gets stuck: then a fresh instance replaces it. A load that never
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
import { getHeapStatistics } from "node:v8";
import { Worker } from "node:worker_threads";
import { z } from "zod";
import type { AgentParams } from "../agents/sdk/agent.ts";
import type { Rejection } from "../agents/sdk/instructions.ts";
import type { StateUpdateWire } from "../bittensor/market_synapse.ts";
import { describeThrown } from "../agents/sdk/thrown.ts";
import { firstChars } from "../cli/code_points.ts";
import { AGENT_METHODS, type AgentMethod } from "./agent_methods.ts";

/** Time a miner keeps back from a request's timeout for (de)compression and the network: its
 * agent has the rest. Backtests give their agents the same. */
export const REPLY_MARGIN_S = 0.5;

/** What one step hands the agent's worker. */
export type StepInput =
  /** A decoded state update. */
  | { state: unknown }
  /**
   * A state update as it came over the wire, decoded in the worker: inflating and parsing a large
   * one takes seconds, which would hold up every other request on the caller's thread.
   * `validator` is the sender's hotkey, passed on to the agent.
   */
  | { update: StateUpdateWire; validator: string | null };

/** Messages the host sends to the worker. */
export type HostMessage =
  | {
    kind: "load";
    path: string;
    name: string;
    params: string | AgentParams;
    uid: number;
    /** The agent's memory limit, MiB (see {@linkcode AgentHostOptions.maxMemoryMb}). */
    maxMemoryMb: number;
  }
  | { kind: "step"; id: number; input: StepInput };

const agentMethod = z.enum(AGENT_METHODS);

/**
 * What kind of failure a failed update was, in words that stay the same however its message
 * varies: an error the agent raised (in one of its methods, or one nothing caught: a rejected
 * promise nobody awaits, a throwing timer), an update or a response that is invalid, or no agent
 * to run it (being replaced, or not loaded).
 */
const failureKind = z.enum([
  "error",
  "uncaught error",
  "invalid state update",
  "invalid agent response",
  "agent replaced",
  "agent not loaded",
]);
export type FailureKind = z.infer<typeof failureKind>;

/** What an agent answered: the `FinanceAgentResponse` body. */
const agentReply = z.object({ agent_id: z.number(), instructions: z.array(z.unknown()) });
export type AgentReply = z.infer<typeof agentReply>;

const seconds = z.number();
/**
 * What the worker may send. An agent can post to the host itself (`postMessage`, `parentPort`):
 * anything else is its noise, reported and ignored rather than taken for a reply.
 */
const workerMessage = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("loaded"),
    /** Parameters the agent does not take. */
    warning: z.string().optional(),
    /** The parameters it was constructed with, as JSON values (absent when they are not). */
    params: z.record(z.string(), z.unknown()).optional(),
    /** Null for a bundled example. */
    file: z.string().nullable(),
  }),
  z.object({ kind: z.literal("load-failed"), message: z.string() }),
  z.object({
    kind: z.literal("step"),
    id: z.number(),
    response: agentReply,
    seconds,
    /** Instructions a validator would refuse one by one (the rest of the reply stands). */
    dropped: z.string().optional(),
    /** The first field of the reply's instructions that validators ignore (`ignoredField`). */
    ignored: z.string().optional(),
    /** Those of them left out of `response`: on a book the validator does not have. */
    unsent: z.array(z.object({
      index: z.number(),
      rule: z.literal("unknownBook"),
      reason: z.string(),
    })).optional(),
    /**
     * For an update that came over the wire, `response` as the reply field carries it (JSON,
     * zlib, base64).
     */
    wire: z.string().optional(),
  }),
  z.object({
    kind: z.literal("step-failed"),
    id: z.number(),
    message: z.string(),
    seconds,
    problem: failureKind,
    /** The agent method whose error failed the update. */
    method: agentMethod.optional(),
    /** Where in the agent's own code the error was raised (file:line:column), if known. */
    at: z.string().optional(),
  }),
  z.object({ kind: z.literal("agent-error"), message: z.string() }),
  /** The worker cannot go on (`message` says why, after the agent's name): replace it. */
  z.object({ kind: z.literal("exiting"), message: z.string() }),
]);
/** Messages the worker sends back. */
export type WorkerMessage = z.infer<typeof workerMessage>;

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
    wire?: string;
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
   * Also watch the process's memory (for a process hosting this one agent, as a miner does): past
   * what it was when the agent started plus twice its limit plus
   * {@linkcode PROCESS_MEMORY_SLACK_MB}, the agent is replaced. This catches memory its worker
   * cannot count (WebAssembly memory, SharedArrayBuffers) and allocations within one update.
   */
  watchProcessMemory?: boolean;
  /**
   * An update still computing this long after its deadline means the agent is stuck: the worker
   * is replaced by a fresh agent (default 30 000 ms).
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

/** What a miner's own work (requests, replies) may add to its memory besides its agent's, MiB. */
export const PROCESS_MEMORY_SLACK_MB = 512;

/** How often the process's memory is read when watched, ms. */
const PROCESS_MEMORY_CHECK_MS = 250;

/** `bytes` in whole MiB. */
function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

/** V8's heap limit for this thread, MiB: workers get the same unless told otherwise. */
export function defaultHeapMb(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 2 ** 20);
}

/** A message from the worker, or null for anything the protocol does not know. */
function protocolMessage(data: unknown): WorkerMessage | null {
  const parsed = workerMessage.safeParse(data);
  return parsed.success ? parsed.data : null;
}

/** What the agent posted, briefly, for the message that reports it. */
function preview(data: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(data) ?? String(data);
  } catch {
    text = describeThrown(data);
  }
  const kept = firstChars(text, 80);
  return kept.length < text.length ? `${kept}…` : text;
}

/** The longest wait before a reload is tried again. */
const MAX_RELOAD_RETRY_MS = 60_000;

/** A worker with its agent loaded, and what the load told. */
interface LoadedWorker {
  worker: Worker;
  /** Parameters the agent does not take. */
  warning?: string;
  /** The parameters it was constructed with, as JSON values. */
  params?: AgentParams;
  /** Null for a bundled example. */
  file: string | null;
}

/** Starts a worker and loads the agent in it. */
async function spawnWorker(
  spec: AgentSpec,
  options: AgentHostOptions,
  heapMb: number,
): Promise<LoadedWorker> {
  const worker = new Worker(new URL("./agent_worker.ts", import.meta.url), {
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
  });
  const limitMs = options.loadTimeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopLoading = () => {};
  const loaded = await new Promise<WorkerMessage>((resolve) => {
    const fail = (message: string) => resolve({ kind: "load-failed", message });
    worker.on("message", (data: unknown) => {
      const message = protocolMessage(data);
      if (message?.kind === "loaded" || message?.kind === "load-failed") resolve(message);
    });
    worker.on("error", (error: Error) => fail(crashReason(spec, error, heapMb)));
    worker.on("exit", (code: number) => fail(`${spec.name} ended its worker (exit code ${code})`));
    stopLoading = () => fail(`loading ${spec.name} was interrupted`);
    if (options.signal?.aborted) stopLoading();
    options.signal?.addEventListener("abort", stopLoading);
    timer = setTimeout(() => {
      fail(
        `${spec.name} did not finish loading within ${limitMs / 1000} s (a constructor or ` +
          "module code that never returns?)",
      );
    }, limitMs);
    worker.postMessage({ kind: "load", ...spec, maxMemoryMb: heapMb } satisfies HostMessage);
  });
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", stopLoading);
  worker.removeAllListeners();
  if (loaded.kind !== "loaded") {
    // An "error" event nobody listens to would be thrown in this thread.
    worker.on("error", () => {});
    void worker.terminate();
    throw new AgentStartError("message" in loaded ? loaded.message : "agent did not load");
  }
  return {
    worker,
    warning: loaded.warning,
    params: loaded.params as AgentParams | undefined,
    file: loaded.file,
  };
}

/** Why a worker ended with `error`: a full heap, or what the agent left uncaught. */
function crashReason(spec: AgentSpec, error: Error, heapMb: number): string {
  return (error as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY"
    ? `${spec.name} ran out of memory (its heap is limited to ${heapMb} MiB)`
    : `${spec.name} crashed: ${describeThrown(error)}`;
}

/**
 * A trading agent running in its own worker. Updates are computed one at a time in arrival
 * order (several validators may query at once); each has its own deadline counted from arrival.
 */
export class AgentHost {
  readonly #spec: AgentSpec;
  readonly #options: AgentHostOptions;
  /** null while a replacement agent is loading. */
  #worker: Worker | null = null;
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
  /** The process's memory past which the agent is replaced, bytes; null when not watched. */
  readonly #ceiling: number | null;
  /** False while the process was past the ceiling before the current agent started: not its. */
  #ceilingArmed = true;
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
    loaded: LoadedWorker,
    limitMb: number,
    baseline: number | null,
  ) {
    this.#spec = spec;
    this.#options = options;
    this.paramsWarning = loaded.warning ?? null;
    this.params = loaded.params ?? null;
    this.agentFile = loaded.file;
    this.#limitMb = limitMb;
    this.#firstRetryMs = options.reloadRetryMs ?? 5000;
    this.#unansweredRetryMs = this.#firstRetryMs;
    this.#ceiling = baseline === null
      ? null
      : baseline + (2 * this.#limitMb + PROCESS_MEMORY_SLACK_MB) * 2 ** 20;
    this.#attach(loaded.worker);
    if (this.#ceiling !== null) {
      this.#memoryTimer = setInterval(() => this.#checkProcessMemory(), PROCESS_MEMORY_CHECK_MS);
      Deno.unrefTimer(this.#memoryTimer);
    }
  }

  /** Loads the agent in a new worker; throws AgentStartError when it cannot be loaded. */
  static async start(spec: AgentSpec, options: AgentHostOptions = {}): Promise<AgentHost> {
    const baseline = options.watchProcessMemory === true ? Deno.memoryUsage().rss : null;
    const limitMb = options.maxMemoryMb ?? defaultHeapMb();
    const loaded = await spawnWorker(spec, options, limitMb);
    return new AgentHost(spec, options, loaded, limitMb, baseline);
  }

  /**
   * Replaces the agent once the process holds more memory than the agent's limit allows, unless
   * it already did before this agent started (then the memory is not the agent's).
   */
  #checkProcessMemory(): void {
    if (this.#worker === null || !this.#ceilingArmed || this.#ceiling === null) return;
    const rss = Deno.memoryUsage().rss;
    if (rss <= this.#ceiling) return;
    this.#replace(
      `agent ${this.#spec.name} took the miner's memory to ${mib(rss)} MiB, past the ` +
        `${mib(this.#ceiling)} MiB its memory limit (${this.#limitMb} MiB) allows`,
    );
  }

  #attach(worker: Worker): void {
    this.#worker = worker;
    this.#answered = false;
    this.#ceilingArmed = this.#ceiling === null || Deno.memoryUsage().rss <= this.#ceiling;
    worker.on("error", (error: Error) => {
      // The worker handles the agent's errors itself; one that still gets here has ended it.
      if (this.#worker === worker) {
        this.#replace(`agent ${crashReason(this.#spec, error, this.#limitMb)}`, true);
      }
    });
    worker.on("exit", (code: number) => {
      if (this.#worker === worker) {
        this.#replace(`agent ${this.#spec.name} ended its worker (exit code ${code})`, true);
      }
    });
    worker.on("message", (data: unknown) => {
      if (this.#worker !== worker) return;
      const message = protocolMessage(data);
      const current = this.#inFlight;
      if (message === null) {
        this.#options.onError?.(
          `a message it posted to the miner is not part of the protocol and was ignored: ${
            preview(data)
          }`,
          "stray message",
        );
      } else if (message.kind === "exiting") {
        this.#replace(`agent ${this.#spec.name} ${message.message}`);
      } else if (message.kind === "agent-error") {
        if (current === null || current.done) {
          this.#options.onError?.(message.message, "uncaught error");
          return;
        }
        current.finish({
          kind: "step-failed",
          id: current.id,
          message: message.message,
          seconds: 0,
          problem: "uncaught error",
        });
        // The update stays in flight until the agent returns; if it never does, it is stuck.
        this.#watch(current);
      } else if (
        (message.kind === "step" || message.kind === "step-failed") && current?.id === message.id
      ) {
        this.#inFlight = null;
        this.#answered = true;
        this.#unansweredRetryMs = this.#firstRetryMs;
        if (!current.done) current.finish(message);
        this.#pump();
      }
    });
  }

  /** True while the agent is computing an update (possibly one already answered as overrun). */
  get busy(): boolean {
    return this.#inFlight !== null;
  }

  /** Runs the agent on `state` (a decoded state update), answering within `deadlineMs`. */
  step(state: unknown, deadlineMs: number): Promise<HostStepOutcome> {
    return this.#enqueue({ state }, deadlineMs);
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
  ): Promise<HostStepOutcome> {
    return this.#enqueue({ update, validator }, deadlineMs);
  }

  #enqueue(input: StepInput, deadlineMs: number): Promise<HostStepOutcome> {
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
            resolve({
              kind: "ok",
              response: message.response,
              seconds: message.seconds,
              ...(message.dropped !== undefined && { dropped: message.dropped }),
              ...(message.ignored !== undefined && { ignored: message.ignored }),
              ...(message.unsent !== undefined && { unsent: message.unsent }),
              ...(message.wire !== undefined && { wire: message.wire }),
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
      if (this.#inFlight !== entry || this.#worker === null) return;
      // A worker stalled at its heap limit says nothing either: it is stuck too.
      this.#replace(
        `agent ${this.#spec.name} still computing ${after} ms after its deadline (an endless ` +
          "loop, a promise that never settles, or a full heap; Deno cannot stop a thread in an " +
          "endless loop: it keeps a CPU core busy until the miner restarts)",
      );
    }, after);
    this.#watchdogs.add(watchdog);
  }

  /**
   * Ends the current worker and loads a fresh agent; the update in flight fails with `reason`.
   * `endedItself`: the worker ended or crashed on its own rather than being stopped here.
   */
  #replace(reason: string, endedItself = false): void {
    // Forgotten first: terminating emits the worker's exit at once, which must not count as the
    // agent ending it.
    const ended = this.#worker;
    this.#worker = null;
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
      void (ended?.terminate() ?? Promise.resolve()).then(reload, reload);
      return;
    }
    // It ended by itself before finishing an update: a fresh one would likely end the same way
    // at once. (Stuck and memory replacements take their own time to be found.)
    const waitMs = this.#unansweredRetryMs;
    this.#unansweredRetryMs = Math.min(waitMs * 2, MAX_RELOAD_RETRY_MS);
    this.#broken = `${reason} before finishing an update`;
    this.#options.onRestart?.(`${this.#broken}; loading a fresh instance in ${waitMs / 1000} s`);
    this.#failWaiting(this.#broken);
    void ended?.terminate();
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
    spawnWorker(this.#spec, options, this.#limitMb).then(({ worker }) => {
      if (this.#closed) {
        void worker.terminate();
        return;
      }
      if (this.#broken !== null) {
        this.#broken = null;
        this.#options.onRestart?.(`agent ${this.#spec.name} loaded again`);
      }
      this.#attach(worker);
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
    if (this.#inFlight !== null || this.#worker === null) return;
    const next = this.#queue.shift();
    if (next === undefined) return;
    this.#inFlight = next;
    try {
      this.#worker.postMessage(
        { kind: "step", id: next.id, input: next.input } satisfies HostMessage,
      );
    } catch (error) {
      // A state the structured clone refuses (nested too deep, say) never reached the agent.
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

  /** Stops the worker. */
  close(): void {
    if (this.#memoryTimer !== null) clearInterval(this.#memoryTimer);
    this.#memoryTimer = null;
    for (const watchdog of this.#watchdogs) clearTimeout(watchdog);
    this.#watchdogs.clear();
    if (this.#reloadTimer !== null) clearTimeout(this.#reloadTimer);
    this.#reloadTimer = null;
    const ended = this.#worker;
    this.#worker = null;
    this.#closed = true;
    void ended?.terminate();
    this.#broken = "agent host closed";
  }
}
