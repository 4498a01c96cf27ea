/**
 * Runs the miner's trading agent in a worker thread, so an agent that computes for too long
 * cannot block the axon: the host answers on time without it. Messages in: `load`, then `step`
 * per state update. Messages out: `loaded`, `step` results, `error`.
 * @module
 */
/// <reference lib="deno.worker" />
import { runAgentStep, type TradingAgent } from "../agents/sdk/agent.ts";
import { loadAgent } from "../agents/sdk/loader.ts";
import { parseStateUpdate } from "../agents/sdk/state.ts";
import type { HostMessage, WorkerMessage } from "./agent_host.ts";

let agent: TradingAgent | null = null;
let uid = 0;

function send(message: WorkerMessage): void {
  self.postMessage(message);
}

self.onmessage = async (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  if (message.kind === "load") {
    try {
      uid = message.uid;
      agent = await loadAgent({
        path: message.path,
        name: message.name,
        params: message.params,
        uid,
      });
      send({ kind: "loaded" });
    } catch (error) {
      send({
        kind: "load-failed",
        message: error instanceof Error ? error.message : String(error),
      });
    }
    return;
  }
  const started = performance.now();
  try {
    if (agent === null) throw new Error("no agent loaded");
    const state = parseStateUpdate(message.state);
    const response = await runAgentStep(agent, uid, state);
    send({ kind: "step", id: message.id, response, seconds: (performance.now() - started) / 1000 });
  } catch (error) {
    send({
      kind: "step-failed",
      id: message.id,
      message: error instanceof Error ? error.message : String(error),
      seconds: (performance.now() - started) / 1000,
    });
  }
};
