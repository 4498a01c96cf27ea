/**
 * The shape every `taos` subcommand takes, and the error type commands throw for bad input.
 *
 * A command module exports one {@linkcode Command}; `main.ts` loads it lazily so that
 * `taos sim` never pays for loading the chain client.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { likelyOption } from "./option_guess.ts";

/** A `taos` subcommand. */
export interface Command {
  /** Name as typed after `taos`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help text printed by `taos <name> --help`. */
  help: string;
  /**
   * True when `-h` asks for help wherever it stands. Left out for a command whose `-h` is a flag of
   * its own (the reference's `--wallet.hotkey`), where `-h` asks for help alone or last, with no
   * value after it.
   */
  shortHelp?: boolean;
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

/** A write to standard output that failed, told as such, with its code kept for the exit status. */
export function stdoutWriteError(error: unknown): Error {
  return Object.assign(
    new Error(`cannot write to standard output: ${(error as Error).message}`, { cause: error }),
    { code: (error as { code?: string }).code },
  );
}

/**
 * Writes `text` and a newline to standard output; see {@linkcode stdoutWriteError}. A reader that
 * went away (`| head`) is left alone: a pipe's reader may stop when it likes.
 */
export function printOut(text: string): void {
  try {
    console.log(text);
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw stdoutWriteError(error);
  }
}

/** True when `args` asks for help (see {@linkcode Command.shortHelp}). */
export function wantsHelp(args: string[], shortHelp = false): boolean {
  return args.includes("--help") || args.includes("-h") && (shortHelp || args.at(-1) === "-h");
}

type ParsedFlags<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/**
 * `node:util` `parseArgs` with errors a user can act on, each a {@linkcode UsageError}. A value
 * starting with one dash (`--seed -1`, `--duration -5m`) is taken as the value, for the flag's own
 * check to judge, where `parseArgs` would call it ambiguous and suggest `--seed=-1`; an option
 * followed by another option, by a word starting with `--` (a misspelt flag, as argparse judges
 * it) or by nothing, is told it needs a value. `-t=2` is `-t 2`, as in argparse. With `once`, a
 * value option given twice (`--seed 1 --seed 2`) is refused, where `parseArgs` would keep the last
 * in silence; the reference's commands keep the last, as argparse does, so theirs leave `once` off.
 */
export function parseFlags<T extends ParseArgsConfig>(
  config: T,
  { once = false }: { once?: boolean } = {},
): ParsedFlags<T> {
  const options = config.options ?? {};
  const shortNames = new Map(
    Object.entries(options).flatMap(([name, o]) => o.short === undefined ? [] : [[o.short, name]]),
  );
  // The option a token names (`--name`, `-x`, `-x=value`), or undefined when it names none.
  const optionOf = (token: string): string | undefined => {
    if (token.startsWith("--")) {
      const name = token.slice(2).split("=")[0];
      return Object.hasOwn(options, name) ? name : undefined;
    }
    return /^-[^-](=|$)/.test(token) ? shortNames.get(token[1]) : undefined;
  };
  const args = [...(config.args ?? [])];
  for (let i = 0; i < args.length && args[i] !== "--"; i++) {
    // `-t=2` is `-t 2`, as argparse reads it (`parseArgs` would take "=2").
    const short = /^-([^-])=(.*)$/s.exec(args[i]);
    const shortName = short === null ? undefined : shortNames.get(short[1]);
    if (shortName !== undefined && options[shortName].type === "string") {
      args[i] = `--${shortName}=${short![2]}`;
    }
    const name = args[i].includes("=") ? undefined : optionOf(args[i]);
    if (name === undefined || options[name].type !== "string") continue;
    const next = args[i + 1];
    if (next === undefined || next === "--" || optionOf(next) !== undefined) {
      throw new UsageError(`--${name}: needs a value`);
    }
    // A misspelt flag (`--state --neuron-reset`) would otherwise become a file name.
    if (next.startsWith("--")) {
      throw new UsageError(
        `--${name}: needs a value, and ${next} is no option of this command ` +
          `(for a value beginning with --, write --${name}=${next})`,
      );
    }
    if (next.startsWith("-")) args.splice(i, 2, `--${name}=${next}`);
  }
  if (once) {
    const given = new Set<string>();
    for (let i = 0; i < args.length && args[i] !== "--"; i++) {
      const name = optionOf(args[i]);
      if (name === undefined || options[name].type !== "string" || options[name].multiple) continue;
      if (given.has(name)) throw new UsageError(`--${name}: given twice`);
      given.add(name);
      if (!args[i].includes("=")) i++; // its value
    }
  }
  try {
    return parseArgs<T>({ ...config, args });
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    // Its advice (put the value after `--`) is about positionals; a mistyped flag is likelier.
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const unknown = /^Unknown option '--([^'=]+)/.exec(message)?.[1];
      const meant = unknown === undefined ? undefined : likelyOption(unknown, Object.keys(options));
      const guess = meant === undefined ? "" : `did you mean --${meant}? `;
      throw new UsageError(`${message.split(". ")[0]} (${guess}--help lists the options)`);
    }
    throw new UsageError(message);
  }
}
