import type { Command } from "../cli/command.ts";

/** `taos validator`: placeholder until this command lands. */
export const command: Command = {
  name: "validator",
  summary: "run a subnet 79 validator",
  help: "Usage: taos validator [options]\n\nNot available yet in this build.",
  run() {
    console.error("taos validator: not available yet in this build");
    return Promise.resolve(1);
  },
};
