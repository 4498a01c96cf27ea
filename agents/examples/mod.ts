/**
 * The example agents shipped with taos, by class name (what `--agent-name` selects when the
 * agents directory has no file of that name).
 * @module
 */
import type { AgentClass } from "../sdk/agent.ts";
import { RandomMakerAgent } from "./random_maker.ts";

/** Bundled agent classes by name. */
export const exampleAgents: Record<string, AgentClass> = {
  RandomMakerAgent,
};
