/**
 * The messages between an {@linkcode AgentHost} and its agent's worker, whichever way they travel:
 * posted to a worker thread in the host's process, or framed over the connection of the agent's
 * own process (`agent_process.ts`), which relays them to its worker.
 * @module
 */
import { z } from "../cli/zod_messages.ts";
import { cutChars } from "../cli/code_points.ts";
import type { AgentParams } from "../agents/sdk/agent.ts";
import type { StateUpdateWire } from "../bittensor/market_synapse.ts";
import { AGENT_HOOKS, AGENT_METHODS } from "./agent_methods.ts";

/** What one step hands the agent's worker. */
export type StepInput =
  /** A decoded state update, checked in the worker. */
  | { state: unknown }
  /**
   * A state update taos built itself (`stateForAgent`), already as the check gives it, as JSON:
   * handed to the agent as read, unchecked. The check of a large one costs more than the agent's
   * own step, and JSON crosses to the worker in less time than the objects would.
   */
  | { built: string }
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
    /** The agent's memory limit, MiB (see `AgentHostOptions.maxMemoryMb`). */
    maxMemoryMb: number;
    /** The limit as its messages give it: `64 MiB`, and the setting that raises it. */
    maxMemoryText: string;
  }
  | { kind: "step"; id: number; input: StepInput };

const agentMethod = z.enum([...AGENT_METHODS, ...AGENT_HOOKS]);

/**
 * The most characters (code points) of any text an event carries to the host, the note of what was
 * cut included. The worker's own messages are shorter (what the agent threw is cut to 1000, and a
 * message adds a few words to it): this bounds the host's memory and its log lines, whatever the
 * agent's process sends.
 */
export const MAX_EVENT_TEXT = 2000;

/** Room kept for the note of what was cut: `… (` and ` more characters)` around a count. */
const CUT_NOTE = 40;

/** Text, cut to {@linkcode MAX_EVENT_TEXT} characters; cutting it again changes nothing. */
const text = z.string().transform((value) => cutChars(value, MAX_EVENT_TEXT, CUT_NOTE));

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
    warning: text.optional(),
    /** The parameters it was constructed with, as JSON values (absent when they are not). */
    params: z.record(z.string(), z.unknown()).optional(),
    /** Null for a bundled example. */
    file: text.nullable(),
  }),
  z.object({ kind: z.literal("load-failed"), message: text }),
  z.object({
    kind: z.literal("step"),
    id: z.number(),
    /** The reply, for a decoded update; absent for one that came over the wire (`wire`). */
    response: agentReply.optional(),
    seconds,
    /** Instructions a validator would refuse one by one (the rest of the reply stands). */
    dropped: text.optional(),
    /** The first field of the reply's instructions that validators ignore (`ignoredField`). */
    ignored: text.optional(),
    /** Those of them left out of `response`: on a book the validator does not have. */
    unsent: z.array(z.object({
      index: z.number(),
      rule: z.literal("unknownBook"),
      reason: text,
    })).optional(),
    /**
     * For an update that came over the wire, the reply as the reply field carries it (JSON, zlib,
     * base64), in place of `response`: a large reply would otherwise cross twice.
     */
    wire: z.string().optional(),
    /** With `wire`: how many instructions the reply holds. */
    instructions: z.number().optional(),
  }).refine(
    (step) =>
      (step.response === undefined) !== (step.wire === undefined) &&
      (step.wire === undefined) === (step.instructions === undefined),
    "a step carries either its response or its wire form with the count of its instructions",
  ),
  z.object({
    kind: z.literal("step-failed"),
    id: z.number(),
    message: text,
    seconds,
    problem: failureKind,
    /** The agent method whose error failed the update. */
    method: agentMethod.optional(),
    /** Where in the agent's own code the error was raised (file:line:column), if known. */
    at: text.optional(),
  }),
  z.object({ kind: z.literal("agent-error"), message: text }),
  /** The worker cannot go on (`message` says why, after the agent's name): replace it. */
  z.object({ kind: z.literal("exiting"), message: text }),
]);
/** Messages the worker sends back. */
export type WorkerMessage = z.infer<typeof workerMessage>;

/** A message from the worker, or null for anything the protocol does not know. */
export function protocolMessage(data: unknown): WorkerMessage | null {
  const parsed = workerMessage.safeParse(data);
  return parsed.success ? parsed.data : null;
}

/**
 * What the host hears of its agent's worker: the worker's messages, and what becomes of the worker
 * itself, told the same way whether it runs in the host's process or in one of its own.
 */
const agentEvent = z.union([
  workerMessage,
  /** Something the agent posted itself, quoted briefly; not part of the protocol. */
  z.object({ kind: z.literal("stray"), text }),
  /** The worker ended (the agent called `Deno.exit`, `process.exit` or `close()`). */
  z.object({ kind: z.literal("ended"), code: z.number() }),
  /** The worker died of an error nothing caught, or of a full heap. */
  z.object({ kind: z.literal("crashed"), message: text, outOfMemory: z.boolean() }),
  /**
   * The agent's process ended without its worker's word: killed (`signal`), or its relay failed
   * (`code`).
   */
  z.object({
    kind: z.literal("process-ended"),
    code: z.number(),
    signal: z.string().nullable(),
  }),
]);
export type AgentEvent = z.infer<typeof agentEvent>;

/** An event as the agent's process sent it, checked; null when it is not one. */
export function parseAgentEvent(data: unknown): AgentEvent | null {
  const parsed = agentEvent.safeParse(data);
  return parsed.success ? parsed.data : null;
}
