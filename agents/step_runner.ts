/**
 * Runs a backtested agent copy's state updates one at a time, each with a deadline, the way a
 * miner answers a validator. A named agent runs in a worker ({@linkcode AgentHost}), so even a
 * busy loop cannot stall the backtest; an agent class handed over directly runs in this thread,
 * where a late or never-settling update is abandoned at its deadline (a synchronous busy loop
 * cannot be interrupted there).
 * @module
 */
import type { AgentHost, StepOutcome } from "../miner/agent_host.ts";
import type { AgentMethod } from "../miner/agent_methods.ts";
import type { AgentReply } from "../miner/agent_protocol.ts";
import { checkReplySize, replyJson } from "../miner/reply_json.ts";
import { describeThrown } from "./sdk/thrown.ts";
import { runAgentStep, type TradingAgent } from "./sdk/agent.ts";
import { ignoredField } from "./sdk/instructions.ts";
import { agentFrame, noteFailures } from "./sdk/failure_site.ts";
import type { StateUpdate } from "./sdk/state.ts";

/** The kit's own code in this thread: an error raised there is placed at its caller. */
const KIT = ["./sdk/", "./step_runner.ts"].map((path) => new URL(path, import.meta.url).href);

/** Runs state updates of one agent copy. */
export interface StepRunner {
  /** Answers within `deadlineMs` of the call: the agent's reply, a failure or an overrun. */
  step(update: StateUpdate, deadlineMs: number): Promise<StepOutcome>;
  close(): void;
}

/** An agent in this thread; an update starts once the previous one has settled. */
export class InThreadRunner implements StepRunner {
  #previous: Promise<unknown> = Promise.resolve();
  readonly #agent: TradingAgent;
  /** The agent method whose call failed last in the current update, if any. */
  #failedMethod: AgentMethod | null = null;

  constructor(agent: TradingAgent, readonly uid: number) {
    this.#agent = noteFailures(agent, (method) => this.#failedMethod = method);
  }

  step(update: StateUpdate, deadlineMs: number): Promise<StepOutcome> {
    const arrived = performance.now();
    const since = (t: number) => (performance.now() - t) / 1000;
    const run = this.#previous.then(async () => {
      const started = performance.now();
      this.#failedMethod = null;
      const response = await runAgentStep(this.#agent, this.uid, update);
      return { response, seconds: since(started) };
    });
    this.#previous = run.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const overran = new Promise<StepOutcome>((resolve) => {
      timer = setTimeout(
        () => resolve({ kind: "overran", seconds: since(arrived) }),
        Math.max(0, deadlineMs),
      );
    });
    const settled = run.then(
      ({ response, seconds }): StepOutcome => {
        const sent = asSent(response);
        if (typeof sent === "string") return { kind: "failed", message: sent, seconds };
        const ignored = ignoredField(response);
        return {
          kind: "ok",
          response: sent,
          seconds,
          written: response,
          ...(ignored !== null && { ignored }),
        };
      },
      (error): StepOutcome => {
        const at = agentFrame(error, KIT);
        return {
          kind: "failed",
          message: describeThrown(error),
          seconds: since(arrived),
          ...(this.#failedMethod !== null && { method: this.#failedMethod }),
          ...(at !== null && { at }),
        };
      },
    );
    return Promise.race([settled, overran]).finally(() => clearTimeout(timer));
  }

  close(): void {}
}

/**
 * A named agent in its worker. The backtest built the update itself, so the worker hands it over
 * without the check a miner makes of a validator's: that check costs more than most agents' step.
 */
export class HostRunner implements StepRunner {
  constructor(readonly host: AgentHost) {}

  step(update: StateUpdate, deadlineMs: number): Promise<StepOutcome> {
    return this.host.stepBuilt(update, deadlineMs);
  }

  close(): void {
    this.host.close();
  }
}

/**
 * The reply as a miner's agent worker sends it: written as JSON once and read back, so that what
 * is checked is what a validator would get (a getter or `toJSON` is read once, a method left
 * out). A reply that cannot be written (a BigInt, a cycle) or holds more than a validator reads
 * gives the worker's reason instead.
 */
function asSent(response: unknown): AgentReply | string {
  try {
    const text = replyJson(response);
    checkReplySize(text);
    return JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
}
