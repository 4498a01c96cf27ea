/**
 * The internal subcommand a compiled taos runs its agent's process with
 * (`taos __agent-process <socket> <heap MiB>`): such a binary cannot `deno run` a module.
 * @module
 */
export const AGENT_PROCESS_COMMAND = "__agent-process";
