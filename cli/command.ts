/**
 * The shape every `taos` subcommand takes, and the error type commands throw for bad input.
 *
 * A command module exports one {@linkcode Command}; `main.ts` loads it lazily so that
 * `taos sim` never pays for loading the chain client.
 */

/** A `taos` subcommand. */
export interface Command {
  /** Name as typed after `taos`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help text printed by `taos <name> --help`. */
  help: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/**
 * An error caused by what the user gave us (a flag, a file, a field): printed as one clear
 * message without a stack trace, exit code 2.
 */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * A flag holding a whole number in `min..max`, or undefined when absent; anything else is a
 * UsageError naming the flag.
 */
export function integerFlag(
  flag: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const n = Number(text);
  // Beyond the largest safe integer, the range below would not say why.
  if (max === Number.MAX_SAFE_INTEGER && /^\d+$/.test(text) && !(n <= max)) {
    throw new UsageError(`--${flag}: expected at most ${max}, got '${value}'`);
  }
  if (!/^\d+$/.test(text) || n < min || n > max) {
    const range = max < Number.MAX_SAFE_INTEGER
      ? `an integer in ${min}..${max}`
      : min === 0
      ? "a non-negative integer"
      : min === 1
      ? "a positive integer"
      : `an integer of at least ${min}`;
    throw new UsageError(`--${flag}: expected ${range}, got '${value}'`);
  }
  return n;
}

/** True when `args` asks for help. */
export function wantsHelp(args: string[]): boolean {
  return args.includes("--help") || args.includes("-h") && args.length === 1;
}
