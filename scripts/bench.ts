/**
 * `deno task bench [name...]`: runs the benchmarks in `bench/` (all of them, in name order, when
 * no name is given), each in its own process so that one cannot warm up or slow down another.
 *
 * ```sh
 * deno task bench exchange
 * ```
 * @module
 */
import { existsSync, readdirSync } from "node:fs";

const benchDir = new URL("../bench/", import.meta.url);

function available(): string[] {
  if (!existsSync(benchDir)) return [];
  return readdirSync(benchDir)
    .filter((file) => file.endsWith(".ts"))
    .map((file) => file.slice(0, -3))
    .sort();
}

const names = available();
// Names come first; everything from the first option on goes to each benchmark as it is, so an
// option's value (`--rounds 2`) is not taken for a name.
const firstOption = Deno.args.findIndex((arg) => arg.startsWith("-"));
const requested = firstOption < 0 ? Deno.args : Deno.args.slice(0, firstOption);
const flags = firstOption < 0 ? [] : Deno.args.slice(firstOption);
if (flags.includes("--help") || flags.includes("-h")) {
  console.log(
    `Usage: deno task bench [name...] [--option value...]\n\n` +
      `Runs the named benchmarks (all when none is named); options go to each one.\n\n` +
      `Benchmarks and their options:`,
  );
  // Each benchmark states its own options, so that this list cannot drift from what it parses.
  for (const name of names) {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(`${name}.ts`, benchDir).pathname, "--help"],
      stderr: "inherit",
    }).output();
    const usage = new TextDecoder().decode(stdout).trim();
    console.log(`  ${code === 0 && usage !== "" ? usage : name}`);
  }
  Deno.exit(0);
}
const unknown = requested.filter((name) => !names.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(", ")}; available: ${names.join(", ")}`);
  Deno.exit(2);
}

let failed = 0;
for (const name of requested.length > 0 ? requested : names) {
  console.log(`== bench ${name}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`${name}.ts`, benchDir).pathname, ...flags],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) {
    failed++;
    console.error(`bench ${name} failed (exit ${status.code})`);
  }
}
Deno.exit(failed === 0 ? 0 : 1);
