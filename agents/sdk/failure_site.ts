/**
 * Where an agent's error came from: the agent method the kit called that raised it, and the first
 * place in the agent's own code on the error's stack. A miner's agent worker and a backtest's
 * copies in the caller's thread both name them.
 * @module
 */
import { AGENT_METHODS, type AgentMethod } from "../../miner/agent_methods.ts";
import type { TradingAgent } from "./agent.ts";

const agentMethods: ReadonlySet<string> = new Set(AGENT_METHODS);

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
        onFailure(property as AgentMethod);
        throw error;
      };
      return (...args: unknown[]) => {
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
  for (const match of error.stack.matchAll(/(file:\/\/[^\s()]+):(\d+):(\d+)/g)) {
    if (kit.some((prefix) => match[1].startsWith(prefix))) continue;
    return `${decodeURIComponent(new URL(match[1]).pathname)}:${match[2]}:${match[3]}`;
  }
  return null;
}
