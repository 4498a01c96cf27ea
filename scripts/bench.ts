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
import { parseArgs } from "node:util";
import type { BenchOptionKinds } from "./bench_options.ts";
import { fileURLToPath } from "node:url";
import { NativeBuildError, nativeLibraryPath } from "../native/build.ts";

const benchDir = new URL("../bench/", import.meta.url);

/** The file path of benchmark `name`'s script. */
function benchScript(name: string): string {
  return fileURLToPath(new URL(`${name}.ts`, benchDir));
}

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
      `Runs the named benchmarks (all when none is named); each option goes to the benchmarks ` +
      `that take it.\n\n` +
      `Benchmarks and their options:`,
  );
  // Each benchmark states its own options, so that this list cannot drift from what it parses.
  for (const name of names) {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", benchScript(name), "--help"],
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
const chosen = requested.length > 0 ? requested : names;
const flagsOf = await routeFlags(chosen, flags);

/** The options each benchmark takes, as it prints them for `--options`. */
async function optionKinds(name: string): Promise<BenchOptionKinds> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", benchScript(name), "--options"],
  }).output();
  if (code !== 0) {
    console.error(`bench ${name} did not list its options: ${new TextDecoder().decode(stderr)}`);
    Deno.exit(1);
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

/**
 * Gives each benchmark the options it takes, so that `--rounds 2` reaches the validator's and not
 * the exchange's; an option none of `chosen` takes, or a stray value, ends the run before any
 * benchmark starts (exit 2), as does a value a benchmark refuses (checked below).
 */
async function routeFlags(chosen: string[], flags: string[]): Promise<Map<string, string[]>> {
  const kinds = new Map<string, BenchOptionKinds>();
  for (const name of chosen) kinds.set(name, await optionKinds(name));
  const union: Record<string, { type: "string" | "boolean" }> = {};
  for (const of of kinds.values()) {
    for (const [option, type] of Object.entries(of)) union[option] = { type };
  }
  let tokens;
  try {
    ({ tokens } = parseArgs({ args: flags, options: union, strict: true, tokens: true }));
  } catch (error) {
    const taken = [...kinds].map(([name, of]) =>
      `${name}: ${Object.keys(of).map((o) => `--${o}`).join(", ") || "none"}`
    );
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, "");
    console.error(`bench: ${message} (options: ${taken.join("; ")})`);
    Deno.exit(2);
  }
  const routed = new Map(chosen.map((name) => [name, [] as string[]]));
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    // Joined by `=`, so that a value beginning with a dash (`--duration=-1h`) stays a value.
    const args = token.value === undefined
      ? [`--${token.name}`]
      : [`--${token.name}=${token.value}`];
    for (const [name, of] of kinds) if (token.name in of) routed.get(name)!.push(...args);
  }
  return routed;
}

// Each benchmark checks its option values first, so that a bad one (`--rounds 0`) is refused before
// any benchmark runs, not after the others have run for minutes.
for (const name of chosen) {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      benchScript(name),
      "--check",
      ...flagsOf.get(name)!,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) Deno.exit(2);
}

// Every benchmark needs the native library: built here, a build that cannot be done (no C
// compiler, a read-only checkout) is told in one line before any benchmark starts, not as each
// benchmark's stack trace.
try {
  nativeLibraryPath();
} catch (error) {
  if (!(error instanceof NativeBuildError)) throw error;
  console.error(`bench: ${error.message}`);
  Deno.exit(1);
}

let failed = 0;
for (const name of chosen) {
  console.log(`== bench ${name}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", benchScript(name), ...flagsOf.get(name)!],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) {
    failed++;
    console.error(`bench ${name} failed (exit ${status.code})`);
  }
}
Deno.exit(failed === 0 ? 0 : 1);
