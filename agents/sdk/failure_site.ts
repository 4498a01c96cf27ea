/**
 * Where an agent's error came from: the agent method the kit called that raised it, and the first
 * place in the agent's own code on the error's stack. A miner's agent worker and a backtest's
 * copies in the caller's thread both name them.
 * @module
 */
import { existsSync } from "node:fs";
import { AGENT_METHODS, type AgentHook, type AgentMethod } from "../../miner/agent_methods.ts";
import type { TradingAgent } from "./agent.ts";

const agentMethods: ReadonlySet<string> = new Set(AGENT_METHODS);

/** The event hook `Agent.observe` is running, and the one that threw until observe is next called. */
let hookRunning: AgentHook | null = null;

/**
 * Runs the event hook `name` (`call`), as `Agent.observe` does, so that an error it raises is told
 * as the hook's rather than observe's.
 */
export function runHook(name: AgentHook, call: () => void): void {
  hookRunning = name;
  call();
  hookRunning = null;
}

/**
 * `agent` with each method the kit calls telling `onFailure` of its own failure: an update's error
 * may come from `onStart` or `onEnd` as well as `onUpdate`, and the last method to fail is the one
 * whose error ends the update. The methods still run on the agent itself (`this`).
 */
export function noteFailures(
  agent: TradingAgent,
  onFailure: (method: AgentMethod) => void,
): TradingAgent {
  return new Proxy(agent, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof property !== "string" || !agentMethods.has(property)) return value;
      if (typeof value !== "function") return value;
      const failed = (error: unknown): never => {
        // observe's error is the hook's that it was running, if any.
        onFailure(property === "observe" ? hookRunning ?? "observe" : property as AgentMethod);
        throw error;
      };
      return (...args: unknown[]) => {
        // A hook that threw earlier, its error caught by an observe of the agent's own, is done.
        if (property === "observe") hookRunning = null;
        let result: unknown;
        try {
          result = Reflect.apply(value, target, args);
        } catch (error) {
          failed(error);
        }
        const then = (result as { then?: unknown } | null | undefined)?.then;
        return typeof then === "function" ? Promise.resolve(result).catch(failed) : result;
      };
    },
  });
}

/**
 * The first stack frame of `error` outside `kit` (URL prefixes of the kit's own code, whose
 * errors, a builder's RangeError say, belong to their caller), as `path:line:column`, or null.
 */
export function agentFrame(error: unknown, kit: readonly string[]): string | null {
  if (!(error instanceof Error) || error.stack === undefined) return null;
  const kitPaths = kit.map(pathOf);
  // A frame's URL runs to the `:line:column` that ends its line or its parentheses: the path in it
  // may hold spaces.
  for (const match of error.stack.matchAll(/(file:\/\/[^()\n]+?):(\d+):(\d+)(?=\)|$)/gm)) {
    const path = pathOf(match[1]);
    if (kitPaths.some((prefix) => path.startsWith(prefix) || isCopyOf(path, prefix))) continue;
    return `${path}:${match[2]}:${match[3]}`;
  }
  return null;
}

/**
 * Whether `path` is a file of the kit directory `prefix` imported from another place: the same
 * two last directories (`agents/sdk/`) and a name the kit has: an agent may import the kit through
 * a link or from another checkout, whose paths are not the ones running it.
 */
function isCopyOf(path: string, prefix: string): boolean {
  if (!prefix.endsWith("/")) return false;
  const tail = prefix.split("/").slice(-3).join("/");
  const at = path.lastIndexOf(`/${tail}`);
  if (at < 0) return false;
  const name = path.slice(at + tail.length + 1);
  return name.length > 0 && !name.includes("/") && existsSync(prefix + name);
}

/**
 * The path of a `file://` URL as a stack spells it: Deno writes a frame's path percent-encoded,
 * decoded, or its file's name decoded and the rest not, so only well-formed escapes are decoded and
 * a bare `%` (`100%.ts`) stays as it is.
 */
export function pathOf(url: string): string {
  return new URL(url).pathname.replace(/(%[0-9A-Fa-f]{2})+/g, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      return escapes; // not UTF-8: a name's own text, not an escape
    }
  });
}
