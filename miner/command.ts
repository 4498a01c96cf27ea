import type { Command } from "../cli/command.ts";

/** `taos miner`: placeholder until this command lands. */
export const command: Command = {
  name: "miner",
  summary: "run a subnet 79 miner",
  help: "Usage: taos miner [options]\n\nNot available yet in this build.",
  run() {
    console.error("taos miner: not available yet in this build");
    return Promise.resolve(1);
  },
};
