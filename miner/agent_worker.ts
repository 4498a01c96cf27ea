/**
 * Runs the miner's trading agent in a worker thread, so an agent that computes for too long
 * cannot block the axon: the host answers on time without it. Messages in: `load`, then `step`
 * per state update (decoded here when it comes as sent over the wire, so that inflating and
 * parsing a large one does not block the axon either). Messages out: `loaded`, `step` results, and
 * `agent-error` for an error the agent raised outside any call (a rejected promise nobody awaited,
 * a throwing timer). An agent that ends the worker (`Deno.exit`, `process.exit`, `close()`) is seen
 * by the host as the worker's exit; one that fills its heap is held there until the host replaces
 * it. The agent's memory is checked after each update and between updates: one holding more than
 * its limit is reported (`exiting`) for the host to replace.
 * @module
 */
import process from "node:process";
import { type MessagePort, workerData } from "node:worker_threads";
import { type AgentParams, runAgentStep, type TradingAgent } from "../agents/sdk/agent.ts";
import { ignoredField, validateInstructions } from "../agents/sdk/instructions.ts";
import { laxInstruction } from "../agents/sdk/lax_wire.ts";
import { agentFile, loadAgent } from "../agents/sdk/loader.ts";
import { parseStateUpdate, type StateUpdate } from "../agents/sdk/state.ts";
import { compressJsonText, decodeStateUpdate } from "../bittensor/market_synapse.ts";
import { describeThrown as describe } from "../agents/sdk/thrown.ts";
import { watchBuiltins } from "./builtins_guard.ts";
import { watchMemory } from "./memory_guard.ts";
import { checkReplySize, nonFiniteForNull, replyJson, writtenAsNull } from "./reply_json.ts";
import type { AgentMethod } from "./agent_methods.ts";
import { agentFrame, noteFailures } from "../agents/sdk/failure_site.ts";
import type { FailureKind, HostMessage, StepInput, WorkerMessage } from "./agent_protocol.ts";

let agent: TradingAgent | null = null;
/** The agent method whose call failed last in the current update, if any. */
let failedMethod: AgentMethod | null = null;
let uid = 0;
/** Names a built-in the agent changed since here, before it was loaded. */
const builtinChanged = watchBuiltins();
const memory = watchMemory();
/** The agent's request to end its worker (`exit code 3`, `close()`), if it made one. */
let exitAsked: string | null = null;
noteExitRequests();
/** How often the agent's memory is checked while it does not hold the thread, ms. */
const MEMORY_CHECK_MS = 100;
/** Why the miner's own code here can no longer be trusted, for the host. */
const relied = (what: string) =>
  `changed ${what}, which the miner's own code in the agent's worker relies on`;

// The protocol's own port (`agent_thread.ts`), taken and removed from `workerData` before the
// agent is imported: the agent can reach only the global port, whose messages the host ignores.
// What it does to the globals later cannot change where the replies go.
const port = (workerData as { protocol: MessagePort }).protocol;
delete (workerData as { protocol?: MessagePort }).protocol;
const post = port.postMessage.bind(port);
function send(message: WorkerMessage): void {
  post(message);
}

/**
 * The kit's own code: an error raised there (a builder's RangeError, an update that does not
 * decode) is placed at its caller.
 */
const KIT = ["../agents/sdk/", "../bittensor/", "./"].map((dir) =>
  new URL(dir, import.meta.url).href
);

// Agents written for a web worker (or Deno's main thread) may name the global scope `self`.
Object.assign(globalThis, { self: globalThis });

// Left unhandled, these would end the worker and with it the agent's state; the host fails the
// update in flight instead.
process.on("uncaughtException", (error) => {
  send({ kind: "agent-error", message: describe(error) });
});
process.on("unhandledRejection", (reason) => {
  send({ kind: "agent-error", message: `unhandled rejection: ${describe(reason)}` });
});

/** The state a step hands the agent, decoded here when it came as sent over the wire. */
function stateOf(input: Exclude<StepInput, { built: string }>): unknown {
  if ("state" in input) return input.state;
  try {
    // The agent learns which validator's simulation the update comes from.
    return { ...decodeStateUpdate(input.update), validator: input.validator ?? undefined };
  } catch (error) {
    throw new Error(`invalid state update: ${describe(error)}`);
  }
}

/** The kind of a failed update, from the method that failed or else from its message. */
function failureOf(message: string): FailureKind {
  if (failedMethod !== null) return "error";
  if (message.startsWith("invalid state update")) return "invalid state update";
  if (message.startsWith("invalid agent response")) return "invalid agent response";
  return "error";
}

/** The parameters as plain JSON values, for the host's report; undefined when they are not. */
function plainParams(params: AgentParams): AgentParams | undefined {
  try {
    return JSON.parse(JSON.stringify(params));
  } catch {
    return undefined;
  }
}

/**
 * Notes the calls that end the worker, which take effect only after the current task: the load
 * then fails at once (waiting a timer turn for the end instead would also wait for whatever the
 * constructor left to zero-delay timers, a warm-up say, and count it against the load).
 */
function noteExitRequests(): void {
  const denoExit = Deno.exit;
  Deno.exit = (code?: number) => {
    exitAsked ??= `exit code ${code ?? 0}`;
    return denoExit(code);
  };
  const processExit = process.exit;
  process.exit = (code?: number | string | null) => {
    exitAsked ??= `exit code ${code ?? 0}`;
    return processExit(code);
  };
  const scope = globalThis as { close?: () => void };
  const close = scope.close;
  if (typeof close === "function") {
    scope.close = () => {
      exitAsked ??= "close()";
      close.call(globalThis);
    };
  }
}

port.on("message", async (message: HostMessage) => {
  if (message.kind === "load") {
    memory.limitMb = message.maxMemoryMb;
    memory.limitText = message.maxMemoryText;
    try {
      uid = message.uid;
      let warning: string | undefined;
      let params: AgentParams | undefined;
      agent = noteFailures(
        await loadAgent({
          path: message.path,
          name: message.name,
          params: message.params,
          uid,
          onWarning: (text) => warning = text,
          onParams: (checked) => params = plainParams(checked),
        }),
        (method) => failedMethod = method,
      );
      const changed = builtinChanged();
      if (changed !== null) throw new Error(`${message.name} ${relied(changed)}`);
      // Replacing an agent that loads this way would only load it again.
      const over = memory.check();
      if (over !== null) throw new Error(`${message.name} ${over} once loaded`);
      // An exit the module or the constructor asked for ends the worker only once this task is
      // over: reported as loaded, the agent would be replaced at every update.
      if (exitAsked !== null) throw new Error(`${message.name} ended itself (${exitAsked})`);
      send({ kind: "loaded", warning, params, file: agentFile(message.path, message.name) });
      // Between updates too: an agent may allocate from its timers or its unawaited promises.
      setInterval(checkMemory, MEMORY_CHECK_MS);
    } catch (error) {
      send({ kind: "load-failed", message: describe(error) });
    }
    return;
  }
  const { input } = message;
  // Read before the clock starts, as an update posted as objects is: the time is the agent's own.
  const built: StateUpdate | null = "built" in input ? JSON.parse(input.built) : null;
  const started = performance.now();
  let reply: WorkerMessage;
  failedMethod = null;
  try {
    if (agent === null) throw new Error("no agent loaded");
    const state = "built" in input ? built as StateUpdate : parseStateUpdate(stateOf(input));
    // Read before the agent runs: it is handed this state and may change it.
    const bookCount = state.config?.book_count ?? Number.MAX_SAFE_INTEGER;
    const answer = await runAgentStep(agent, uid, state);
    // The miner sends the response as JSON; a BigInt or a cycle would fail there instead.
    const text = replyJson(answer);
    // Everything below checks and sends this one reading: a getter or toJSON read again could
    // answer differently from what was checked. Being JSON, it can also be posted to the host
    // (an instruction object carrying a method could not be cloned).
    const response: typeof answer = JSON.parse(text);
    // A response the validator would void (one bad instruction voids all) is reported here,
    // where the agent's author can see it; the validator tells nobody.
    const { discarded, rejected } = validateInstructions(response, { uid, bookCount });
    if (discarded !== null) {
      const note = writtenAsNull(answer, rejected[0]);
      throw new Error(`invalid agent response (a validator would void it): ${discarded}${note}`);
    }
    // One a validator would take, but reading a NaN the agent wrote as the null JSON sends
    // (a whole cancel, no client order id), is not sent either.
    const meant = nonFiniteForNull(answer);
    if (meant !== null) throw new Error(meant);
    // A reference validator's check raises on a book id it does not have, which fails its step
    // for every miner: such instructions, which ours would merely drop, are not sent.
    const knownBook = (item: unknown) =>
      (laxInstruction(item) as { bookId: number }).bookId < bookCount;
    const instructions = response.instructions.filter(knownBook);
    const unfiltered = instructions.length === response.instructions.length;
    const sent = unfiltered ? response : { ...response, instructions };
    const json = unfiltered ? text : JSON.stringify(sent);
    checkReplySize(json);
    // Compressed here, like the update was decoded here: a large reply (an instruction carrying
    // megabytes of data nobody reads) would otherwise hold up the axon's thread for seconds. The
    // miner then needs only the count of its instructions.
    reply = "update" in message.input
      ? {
        kind: "step",
        id: message.id,
        wire: compressJsonText(json),
        instructions: sent.instructions.length,
        seconds: 0,
      }
      : { kind: "step", id: message.id, response: sent, seconds: 0 };
    // Of what the agent wrote: a method it carries, which JSON leaves out, is worth a word too.
    const ignored = ignoredField(answer);
    if (ignored !== null) reply.ignored = ignored;
    if (rejected.length > 0) {
      const first = rejected[0];
      const unsent = knownBook(response.instructions[first.index]) ? "" : " (not sent)";
      reply.dropped = `${rejected.length} of the agent's ${response.instructions.length} ` +
        `instructions, the first being instruction ${first.index}: ${first.reason}${unsent}`;
      const left = rejected.filter((r) => !knownBook(response.instructions[r.index]));
      if (left.length > 0) {
        reply.unsent = left.map(({ index, reason }) => ({ index, rule: "unknownBook", reason }));
      }
    }
  } catch (error) {
    const text = describe(error);
    reply = {
      kind: "step-failed",
      id: message.id,
      message: text,
      seconds: 0,
      problem: failureOf(text),
    };
    if (failedMethod !== null) reply.method = failedMethod;
    const at = agentFrame(error, KIT);
    if (at !== null) reply.at = at;
  }
  reply.seconds = (performance.now() - started) / 1000;
  // Every later update would fail inside the kit: the host replaces this worker instead, and this
  // update fails with the reason.
  const changed = builtinChanged();
  if (changed !== null) {
    send({ kind: "exiting", message: relied(changed) });
    return;
  }
  // Likewise for an agent now holding more memory than its limit.
  const over = memory.check();
  if (over !== null) {
    send({ kind: "exiting", message: over });
    return;
  }
  // A promise the agent rejected without awaiting is reported once pending jobs have run: wait for
  // a timer, so that report reaches the host before this update's result and fails it. (A message
  // to ourselves, a task sooner, was not enough at an agent's first update: its rejection then
  // failed the next update instead.)
  await new Promise((resolve) => setTimeout(resolve, 0));
  try {
    send(reply);
  } catch (error) {
    send({
      kind: "step-failed",
      id: message.id,
      message: `invalid agent response: ${describe(error)}`,
      seconds: reply.seconds,
      problem: "invalid agent response",
    });
  }
});

/**
 * Asks the host to replace the agent once it holds more memory than its limit, found while it
 * does not hold the thread: between updates, or at an update's `await`s (which then fails).
 */
function checkMemory(): void {
  const over = memory.check();
  if (over !== null) send({ kind: "exiting", message: over });
}
