/** Runs the `taos` program as a child process, as a user would, for the simulation's CLI tests. */
import { fileURLToPath } from "node:url";

/** Path of the program's entry point. */
export const main = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** Runs `taos <args>` to completion and returns its exit code and output. */
export async function taos(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
