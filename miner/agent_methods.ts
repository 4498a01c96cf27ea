/**
 * The agent methods the kit calls in an update, in the order it calls them. Its own module so that
 * the agent worker can watch them without loading the host's module.
 * @module
 */

export const AGENT_METHODS = ["record", "onStart", "observe", "onUpdate", "onEnd"] as const;
export type AgentMethod = typeof AGENT_METHODS[number];
