/**
 * Checks shared by the commands' flag parsers, so that every command words the same problem the
 * same way: `--state: must not be empty`, `--neuron.timeout: '601' must be <= 600`.
 *
 * ```ts
 * const dir = nonEmptyFlag("logging.logging_dir", values["logging.logging_dir"]);
 * const timeout = numberFlag("neuron.timeout", z.number().positive().max(600), raw, 12);
 * ```
 * @module
 */
import { z } from "./zod_messages.ts";
import { UsageError } from "./command.ts";
import { LOG_LEVELS, type LogLevel } from "./log.ts";
import { EndpointVariableError, resolveEndpoint } from "../chain/endpoints.ts";

/**
 * A path, address or name flag's value, or undefined when absent. An empty value is never meant
 * (an empty path is the working directory, an empty address binds whatever the runtime picks),
 * so it is a UsageError naming the flag.
 */
export function nonEmptyFlag(flag: string, value: string | undefined): string | undefined {
  if (value === "") throw new UsageError(`--${flag}: must not be empty`);
  return value;
}

/**
 * The chain endpoint named by the first of `flags` that is given (they are listed by precedence,
 * each as the label its errors use and its value), or by `fallback`. A bad name is a UsageError
 * under the flag that gave it; a bad endpoint variable for `local` is told as it is, since the
 * flag's value was fine.
 */
export function endpointFlag(
  flags: [label: string, value: string | undefined][],
  fallback: string,
): string {
  const given = flags.find(([, value]) => value !== undefined);
  if (given === undefined) return resolveEndpoint(fallback);
  const [label, value] = given;
  if (value === "") throw new UsageError(`${label}: must not be empty`);
  try {
    return resolveEndpoint(value!);
  } catch (error) {
    if (error instanceof EndpointVariableError) throw new UsageError(error.message);
    if (!(error instanceof RangeError)) throw error;
    throw new UsageError(`${label}: ${error.message}`);
  }
}

/** A number written in decimal (JavaScript's `Number` would also take `0x4f`, `Infinity` or ``). */
const DECIMAL = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * A numeric flag checked against `schema`, or `fallback` when absent; anything else is a
 * UsageError naming the flag and the value (`--threads: '5000' must be <= 1024`).
 */
export function numberFlag<F extends number | undefined>(
  flag: string,
  schema: z.ZodType<number>,
  raw: string | undefined,
  fallback: F,
): number | F {
  return numberSetting(`--${flag}`, schema, raw, fallback);
}

/**
 * As {@linkcode numberFlag}, for a setting named as given: an environment variable standing in
 * for a flag is named as itself (`BT_AXON_PORT: '70000' must be <= 65535`), not as the flag.
 */
export function numberSetting<F extends number | undefined>(
  name: string,
  schema: z.ZodType<number>,
  raw: string | undefined,
  fallback: F,
): number | F {
  if (raw === undefined) return fallback;
  if (!DECIMAL.test(raw)) {
    throw new UsageError(`${name}: '${raw}' must be a number`);
  }
  const parsed = schema.safeParse(Number(raw), { error: boundMessage });
  if (!parsed.success) {
    const n = Number(raw);
    // A whole number past 2^53 fails zod's integer check, which would call it not an integer:
    // its bound, if the schema has one, says more.
    const huge = Number.isInteger(n) && !Number.isSafeInteger(n);
    const issues = parsed.error.issues;
    const message = huge
      ? issues.find((i) =>
        (i.code === "too_big" || i.code === "too_small") &&
        (i as { origin?: string }).origin !== "int"
      )?.message ?? `must be at most ${Number.MAX_SAFE_INTEGER}`
      : issues[0]?.message ?? "is invalid";
    throw new UsageError(`${name}: '${raw}' ${message}`);
  }
  return parsed.data;
}

/** A whole number, worded as the other checks are (`'1.5' must be an integer`). */
export const wholeNumber = z.number().int("must be an integer");

/**
 * A flag holding a whole number in `min..max`, or undefined when absent; anything else is a
 * UsageError worded as {@linkcode numberFlag}'s (`--books: '5000' must be <= 4096`).
 */
export function integerFlag(
  flag: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = value === undefined ? undefined : String(value);
  return numberFlag(flag, wholeNumber.min(min).max(max), raw, undefined);
}

/** A bound without a message of its own reads as the others do (`must be <= 600`). */
function boundMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === "too_small") {
    return `must be ${issue.inclusive === false ? ">" : ">="} ${issue.minimum}`;
  }
  if (issue.code === "too_big") {
    return `must be ${issue.inclusive === false ? "<" : "<="} ${issue.maximum}`;
  }
  if (issue.code === "invalid_type") return "must be a finite number";
  return undefined;
}

/**
 * The log level asked for: the reference's switches (`--logging.debug`; of several the most
 * verbose) win over a level named by `--log-level` or `--logging.level` (the validator's and the
 * miner's spellings; `-l` stands for `short`), since launch scripts name a level (`-l info`) and a
 * switch added to one is what its user means. `warn` is taken for `warning`; a named level is
 * checked even when a switch wins; with none of these flags the level is `info`. Both commands
 * call this, so that one command line means the same level to each.
 */
export function logLevelFlag(
  values: Record<string, unknown>,
  short: "log-level" | "logging.level",
): LogLevel {
  const flag = values["log-level"] !== undefined ? "log-level" : "logging.level";
  const raw = values["log-level"] ?? values["logging.level"];
  let named: LogLevel = "info";
  if (typeof raw === "string") {
    const level = raw.toLowerCase().replace(/^warn$/, "warning");
    if (!(LOG_LEVELS as readonly string[]).includes(level)) {
      const name = flag === short ? `-l/--${flag}` : `--${flag}`;
      throw new UsageError(`${name}: '${raw}' must be one of ${LOG_LEVELS.join(", ")}`);
    }
    named = level as LogLevel;
  }
  return [...LOG_LEVELS].reverse().find((level) => values[`logging.${level}`] === true) ?? named;
}
