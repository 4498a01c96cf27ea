/**
 * Starts the agent's worker thread (`agent_worker.ts`) and tells what it does as
 * {@linkcode AgentEvent}s: its protocol messages, what the agent posted itself, its end and its
 * crash. The host uses it directly for an agent in its own process; the agent's own process
 * (`agent_process.ts`) uses it and relays the events.
 *
 * The protocol travels on a channel of its own, whose port the worker takes before it imports the
 * agent: the agent can post to the worker's global port (`postMessage`, `parentPort`) and listen
 * there, but it neither hears the host's messages nor can its posts pass for the worker's.
 * @module
 */
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { describeThrown } from "../agents/sdk/thrown.ts";
import { firstChars } from "../cli/code_points.ts";
import { type AgentEvent, type HostMessage, protocolMessage } from "./agent_protocol.ts";

/** The agent's worker, as its host drives it. */
export interface AgentThread {
  /** Hands `message` to the worker; throws when it cannot be cloned. */
  post(message: HostMessage): void;
  /** Ends the worker (a thread in an endless loop runs on regardless). */
  terminate(): Promise<void>;
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

/**
 * Starts the worker with its JavaScript heap limited to `heapMb`; `emit` is told every event, the
 * last one being `ended` or `crashed`.
 */
export function startAgentThread(heapMb: number, emit: (event: AgentEvent) => void): AgentThread {
  const { port1: protocol, port2: workerPort } = new MessageChannel();
  const worker = new Worker(new URL("./agent_worker.ts", import.meta.url), {
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
    workerData: { protocol: workerPort },
    transferList: [workerPort],
  });
  let over = false;
  const receive = (data: unknown) => {
    if (over) return;
    emit(protocolMessage(data) ?? { kind: "stray", text: preview(data) });
  };
  protocol.on("message", receive);
  // The worker's end may be told before what it posted last: that is read first.
  const finish = () => {
    for (let left = receiveMessageOnPort(protocol); left !== undefined;) {
      receive(left.message);
      left = receiveMessageOnPort(protocol);
    }
    protocol.close();
    over = true;
  };
  // Only the agent posts here.
  worker.on("message", (data: unknown) => {
    if (!over) emit({ kind: "stray", text: preview(data) });
  });
  // The worker handles the agent's errors itself; one that still gets here has ended it.
  worker.on("error", (error: Error) => {
    if (over) return;
    finish();
    emit({
      kind: "crashed",
      message: describeThrown(error),
      outOfMemory: (error as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY",
    });
  });
  worker.on("exit", (code: number) => {
    if (over) return;
    finish();
    emit({ kind: "ended", code });
  });
  return {
    post: (message) => protocol.postMessage(message),
    terminate: async () => {
      // Ended here, not by the agent: nothing more to tell.
      over = true;
      protocol.close();
      await worker.terminate();
    },
  };
}
