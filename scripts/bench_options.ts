/**
 * The command line of one benchmark in `bench/`: its options, `--help` (one usage line) and
 * `--options` (its option names and kinds as one JSON line, which `scripts/bench.ts` reads to
 * give each benchmark only the options it takes). A bad option ends the process with exit code 2
 * and one line naming it, never a stack trace. `--check` first (as `scripts/bench.ts` passes it,
 * so that a bad value is refused before any benchmark runs) ends with exit code 0 at
 * `optionsChecked()` once the benchmark has checked its values.
 *
 * ```ts
 * const values = benchArgs("exchange", "--ops N (default 500000)", {
 *   ops: { type: "string", default: "500000" },
 * });
 * ```
 * @module
 */
import { parseArgs } from "node:util";

/** One option of a benchmark, as `parseArgs` takes it. */
export interface BenchOption {
  type: "string" | "boolean";
  default?: string;
}

/** Set by a leading `--check`: the benchmark checks its options and runs nothing. */
let checkOnly = false;

/** Option names and kinds, as `--options` prints them. */
export type BenchOptionKinds = Record<string, BenchOption["type"]>;

/**
 * Parses a benchmark's arguments. `--help` prints `<name> <usage>`, `--options` the kinds of the
 * options (without `internal` ones, which only the benchmark itself passes to its children); both
 * then exit.
 */
export function benchArgs<const T extends Record<string, BenchOption>>(
  name: string,
  usage: string,
  options: T,
  internal: string[] = [],
  args: string[] = Deno.args,
) {
  if (args[0] === "--check") {
    checkOnly = true;
    args = args.slice(1);
  }
  if (args.length === 1 && args[0] === "--options") {
    const kinds: BenchOptionKinds = {};
    for (const [option, { type }] of Object.entries(options)) {
      if (!internal.includes(option)) kinds[option] = type;
    }
    console.log(JSON.stringify(kinds));
    Deno.exit(0);
  }
  try {
    const { values } = parseArgs({
      args,
      options: { ...options, help: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    });
    if ((values as { help?: boolean }).help) {
      console.log(`${name} ${usage}`);
      Deno.exit(0);
    }
    return values;
  } catch (error) {
    console.error(`bench ${name}: ${optionError(error as Error, Object.keys(options), internal)}`);
    Deno.exit(2);
  }
}

/** Called by a benchmark once its option values are checked: under `--check` it ends there. */
export function optionsChecked(): void {
  if (checkOnly) Deno.exit(0);
}

/** `parseArgs`'s message, shortened for an unknown option to its name and the known ones. */
function optionError(error: Error, known: string[], internal: string[]): string {
  const unknown = /^Unknown option '([^']+)'/.exec(error.message);
  if (unknown === null) return error.message;
  const listed = known.filter((option) => !internal.includes(option)).map((o) => `--${o}`);
  return `unknown option ${unknown[1]} (its options: ${listed.join(", ")})`;
}
