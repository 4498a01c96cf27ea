/**
 * An agent class whose constructor returns a promise of the agent (set-up that awaits) runs in a
 * backtest in the caller's thread as it does loaded by name, and one whose constructor gives no
 * agent is refused as the loader refuses it.
 */
import assert from "node:assert/strict";
import { backtest } from "../../agents/backtest.ts";
import type { AgentClass } from "../../agents/sdk/agent.ts";
import { AgentLoadError } from "../../agents/sdk/loader.ts";
import { smallPreset } from "../../sim/config.ts";

/** Ready once its set-up has awaited; counts its updates. */
class WarmedUp {
  static updates = 0;
  ready = false;
  constructor() {
    const warm = async () => {
      await Promise.resolve();
      this.ready = true;
      return this;
    };
    // Set-up that awaits, as a miner's loader allows.
    return warm() as unknown as WarmedUp;
  }
  onUpdate() {
    if (!this.ready) throw new Error("not warmed up");
    WarmedUp.updates++;
    return [];
  }
}

const options = { config: smallPreset(), seed: 1, duration: 30e9, delay: "none" as const };

Deno.test("a constructor's promise of the agent is awaited in a backtest in the caller's thread", async () => {
  const report = await backtest({ ...options, agent: WarmedUp as unknown as AgentClass });
  const [copy] = report.agents;
  assert.equal(copy.firstFailure, null);
  assert.equal(copy.instructions.failedResponses, 0);
  assert.equal(WarmedUp.updates, report.publishes);
});

Deno.test("a constructor that gives no agent is refused before a backtest in the caller's thread runs", async () => {
  class Nothing {
    constructor() {
      return Promise.resolve(null) as unknown as Nothing;
    }
    onUpdate() {
      return [];
    }
  }
  await assert.rejects(
    backtest({ ...options, agent: Nothing as unknown as AgentClass }),
    (e: Error) =>
      e instanceof AgentLoadError &&
      e.message === "Nothing's constructor gave null without an onUpdate method, not the agent",
  );
});
