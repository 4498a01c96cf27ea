import type { Command } from "../cli/command.ts";

/** `taos sim`: placeholder until this command lands. */
export const command: Command = {
  name: "sim",
  summary: "run a market simulation",
  help: "Usage: taos sim [options]\n\nNot available yet in this build.",
  run() {
    console.error("taos sim: not available yet in this build");
    return Promise.resolve(1);
  },
};
