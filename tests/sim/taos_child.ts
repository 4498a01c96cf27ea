/** Starts the `taos` program as a child process the test talks to while it runs. */
import { main } from "./taos_process.ts";

/** Starts `deno run -A main.ts <args>` with the standard streams as given. */
export function spawnTaos(
  args: string[],
  stdio: Pick<Deno.CommandOptions, "stdin" | "stdout" | "stderr">,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), { args: ["run", "-A", main, ...args], ...stdio })
    .spawn();
}
