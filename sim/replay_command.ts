import type { Command } from "../cli/command.ts";

/** `taos replay`: placeholder until this command lands. */
export const command: Command = {
  name: "replay",
  summary: "run an instruction script through the exchange core",
  help: "Usage: taos replay [options]\n\nNot available yet in this build.",
  run() {
    console.error("taos replay: not available yet in this build");
    return Promise.resolve(1);
  },
};
