/**
 * Hosts the miner's trading agent in a worker thread and gives each state update a deadline.
 * An agent that overruns is not waited for: the step reports `overran` (the miner answers with
 * no instructions) and the late result is dropped. An error the agent raises, even outside its
 * `onUpdate` (an unawaited rejected promise, a throwing timer), fails only the update in flight.
 * The agent keeps its state throughout, unless it ends its worker or gets stuck: then a fresh
 * instance replaces it.
 *
 * ```ts
 * const host = await AgentHost.start({ path: "~/.taos/agents", name: "RandomMakerAgent", params: "", uid: 3 });
 * const outcome = await host.step(decodedState, 4000); // or host.stepUpdate(wire, validator, 4000)
 * if (outcome.kind === "ok") reply(outcome.response);
 * host.close();
 * ```
 * @module
 */
import type { AgentParams } from "../agents/sdk/agent.ts";
import type { StateUpdateWire } from "../bittensor/market_synapse.ts";

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
  | { kind: "load"; path: string; name: string; params: string | AgentParams; uid: number }
  | { kind: "step"; id: number; input: StepInput };

/** Messages the worker sends back. */
export type WorkerMessage =
  /** `warning`: parameters the agent does not take. */
  | { kind: "loaded"; warning?: string }
  | { kind: "load-failed"; message: string }
  /** `dropped`: instructions a validator would refuse one by one (the rest of the reply stands). */
  | { kind: "step"; id: number; response: AgentReply; seconds: number; dropped?: string }
  /** `at`: where in the agent's own code the error was raised (file:line:column), if known. */
  | { kind: "step-failed"; id: number; message: string; seconds: number; at?: string }
  | { kind: "agent-error"; message: string }
  | { kind: "exiting"; message: string };

/** What an agent answered: the `FinanceAgentResponse` body. */
export interface AgentReply {
  agent_id: number;
  instructions: unknown[];
}

/** The result of one state update. */
export type StepOutcome =
  | { kind: "ok"; response: AgentReply; seconds: number; dropped?: string }
  | { kind: "overran"; seconds: number }
  | { kind: "failed"; message: string; seconds: number; at?: string };

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
  /** Told of an error the agent raised while no update was waiting for it. */
  onError?: (message: string) => void;
}

/** Starts a worker and loads the agent in it. */
async function spawnWorker(spec: AgentSpec): Promise<{ worker: Worker; warning?: string }> {
  const worker = new Worker(new URL("./agent_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const loaded = await new Promise<WorkerMessage>((resolve) => {
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      resolve({ kind: "load-failed", message: event.message });
    };
    worker.postMessage({ kind: "load", ...spec } satisfies HostMessage);
  });
  if (loaded.kind !== "loaded") {
    worker.terminate();
    throw new AgentStartError("message" in loaded ? loaded.message : "agent did not load");
  }
  return { worker, warning: loaded.warning };
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
  #closed = false;
  #nextId = 1;
  readonly #queue: PendingStep[] = [];
  #inFlight: PendingStep | null = null;
  /** Pending stuck-agent checks, cleared on close. */
  readonly #watchdogs = new Set<ReturnType<typeof setTimeout>>();

  /** Set when the agent ignores some of the given parameters (names them and what it takes). */
  readonly paramsWarning: string | null;

  private constructor(
    spec: AgentSpec,
    options: AgentHostOptions,
    worker: Worker,
    paramsWarning: string | null,
  ) {
    this.#spec = spec;
    this.#options = options;
    this.paramsWarning = paramsWarning;
    this.#attach(worker);
  }

  /** Loads the agent in a new worker; throws AgentStartError when it cannot be loaded. */
  static async start(spec: AgentSpec, options: AgentHostOptions = {}): Promise<AgentHost> {
    const { worker, warning } = await spawnWorker(spec);
    return new AgentHost(spec, options, worker, warning ?? null);
  }

  #attach(worker: Worker): void {
    this.#worker = worker;
    worker.onerror = (event) => {
      // The worker handles the agent's errors itself; one that still gets here has ended it.
      event.preventDefault();
      if (this.#worker === worker) {
        this.#replace(`agent ${this.#spec.name} crashed: ${event.message}`);
      }
    };
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
      if (this.#worker !== worker) return;
      const message = event.data;
      const current = this.#inFlight;
      if (message.kind === "exiting") {
        this.#replace(`agent ${this.#spec.name} ended its worker (${message.message})`);
      } else if (message.kind === "agent-error") {
        if (current === null || current.done) {
          this.#options.onError?.(message.message);
          return;
        }
        current.finish({
          kind: "step-failed",
          id: current.id,
          message: message.message,
          seconds: 0,
        });
        // The update stays in flight until the agent returns; if it never does, it is stuck.
        this.#watch(current);
      } else if (
        (message.kind === "step" || message.kind === "step-failed") && current?.id === message.id
      ) {
        this.#inFlight = null;
        if (!current.done) current.finish(message);
        this.#pump();
      }
    };
  }

  /** True while the agent is computing an update (possibly one already answered as overrun). */
  get busy(): boolean {
    return this.#inFlight !== null;
  }

  /** Runs the agent on `state` (a decoded state update), answering within `deadlineMs`. */
  step(state: unknown, deadlineMs: number): Promise<StepOutcome> {
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
  ): Promise<StepOutcome> {
    return this.#enqueue({ update, validator }, deadlineMs);
  }

  #enqueue(input: StepInput, deadlineMs: number): Promise<StepOutcome> {
    if (this.#broken !== null) {
      return Promise.resolve({ kind: "failed", message: this.#broken, seconds: 0 });
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
            });
          } else if (message.kind === "step-failed") {
            resolve({
              kind: "failed",
              message: message.message,
              seconds: message.seconds,
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
      this.#replace(`agent ${this.#spec.name} still computing ${after} ms after its deadline`);
    }, after);
    this.#watchdogs.add(watchdog);
  }

  /** Ends the current worker and loads a fresh agent; the update in flight fails with `reason`. */
  #replace(reason: string): void {
    this.#worker?.terminate();
    this.#worker = null;
    const current = this.#inFlight;
    this.#inFlight = null;
    if (current !== null && !current.done) {
      current.finish({ kind: "step-failed", id: current.id, message: reason, seconds: 0 });
    }
    this.#options.onRestart?.(`${reason}; replacing it with a fresh instance`);
    this.#reload(this.#options.reloadRetryMs ?? 5000);
  }

  /**
   * Loads a fresh agent. A failed load (say, the file was edited into a syntax error) is retried
   * after `retryMs`, doubling up to a minute, so fixing the file brings the miner back without a
   * restart; until then updates fail at once with the load error.
   */
  #reload(retryMs: number): void {
    spawnWorker(this.#spec).then(({ worker }) => {
      if (this.#closed) {
        worker.terminate();
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
      for (const waiting of this.#queue.splice(0)) {
        waiting.finish({ kind: "step-failed", id: waiting.id, message: this.#broken, seconds: 0 });
      }
      this.#reloadTimer = setTimeout(() => {
        this.#reloadTimer = null;
        this.#reload(Math.min(retryMs * 2, 60_000));
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
      });
      this.#pump();
    }
  }

  /** Stops the worker. */
  close(): void {
    for (const watchdog of this.#watchdogs) clearTimeout(watchdog);
    this.#watchdogs.clear();
    if (this.#reloadTimer !== null) clearTimeout(this.#reloadTimer);
    this.#reloadTimer = null;
    this.#worker?.terminate();
    this.#worker = null;
    this.#closed = true;
    this.#broken = "agent host closed";
  }
}
