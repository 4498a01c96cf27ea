/**
 * The agent methods the kit calls in an update, in the order it calls them. Its own module so that
 * the agent worker can watch them without loading the host's module.
 * @module
 */

export const AGENT_METHODS = ["record", "onStart", "observe", "onUpdate", "onEnd"] as const;
/** The event hooks `Agent.observe` runs: an error one raises is told as that hook's. */
export const AGENT_HOOKS = [
  "onOrderAccepted",
  "onOrderRejected",
  "onOrderCancelled",
  "onOrderCancellationFailed",
  "onTrade",
] as const;
export type AgentHook = typeof AGENT_HOOKS[number];
export type AgentMethod = typeof AGENT_METHODS[number] | AgentHook;
