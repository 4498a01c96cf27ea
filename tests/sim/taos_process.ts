/** Runs the `taos` program as a child process, as a user would, for the CLI tests. */
import { fileURLToPath } from "node:url";

/** Path of the program's entry point. */
export const main = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** Runs `taos <args>` to completion and returns its exit code and output. */
export function taos(...args: string[]) {
  return taosRun(args);
}

/**
 * Runs `deno run -A <denoFlags> main.ts <args>` to completion, with `env` added to the
 * environment, and returns its exit code and output.
 */
export async function taosRun(
  args: string[],
  options: { env?: Record<string, string>; denoFlags?: string[] } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...(options.denoFlags ?? []), main, ...args],
    env: options.env,
    stdin: "null",
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

/** Starts `deno run -A main.ts <args>` with the standard streams as given, for a test that talks to
 * the program while it runs. */
export function spawnTaos(
  args: string[],
  stdio: Pick<Deno.CommandOptions, "stdin" | "stdout" | "stderr">,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), { args: ["run", "-A", main, ...args], ...stdio })
    .spawn();
}
