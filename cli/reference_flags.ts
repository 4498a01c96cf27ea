/**
 * Flags of the reference's Python parsers (its own and the Bittensor SDK's) that have no
 * counterpart in a taos command: accepted, so that an existing command line still starts, and
 * named in one note. Booleans are `store_true` switches there.
 *
 * ```ts
 * const IGNORED = { "wandb.off": "boolean", "neuron.device": "string" } as const;
 * const { values } = parseArgs({ args, options: { ...ignoredFlagOptions(IGNORED), ... } });
 * const note = ignoredFlagsNote(IGNORED, values, "the reference validator's");
 * const unread = unreadVariablesNote(values); // BT_LOGGING_DEBUG=1 -> "BT_LOGGING_DEBUG: ..."
 * ```
 * @module
 */

/** Flag name (without `--`) -> the `parseArgs` type it takes. */
export type IgnoredFlags = Readonly<Record<string, "boolean" | "string">>;

/** `parseArgs` options for the flags. */
export function ignoredFlagOptions<T extends IgnoredFlags>(
  flags: T,
): { [K in keyof T]: { type: T[K] } } {
  return Object.fromEntries(
    Object.entries(flags).map(([name, type]) => [name, { type }]),
  ) as { [K in keyof T]: { type: T[K] } };
}

/** One line naming the given flags that have no effect, or null when none was given. */
export function ignoredFlagsNote(
  flags: IgnoredFlags,
  values: Readonly<Record<string, unknown>>,
  whose: string,
): string | null {
  const given = Object.keys(flags).filter((name) => values[name] !== undefined);
  if (given.length === 0) return null;
  return `${given.map((name) => `--${name}`).join(", ")}: ${whose}, no effect here`;
}

/**
 * The SDK's logging variables, which stand in for flags of the reference's parsers, with the flag
 * each stands for (null: one without a counterpart). Neither command reads them: a log level or a
 * state root that moved with the environment would be a surprise to whoever starts taos.
 */
const SDK_LOGGING_VARIABLES: Readonly<Record<string, string | null>> = {
  BT_LOGGING_DEBUG: "logging.debug",
  BT_LOGGING_TRACE: "logging.trace",
  BT_LOGGING_INFO: "logging.info",
  BT_LOGGING_RECORD_LOG: null,
  BT_LOGGING_LOGGING_DIR: "logging.logging_dir",
  BT_LOGGING_ENABLE_THIRD_PARTY_LOGGERS: null,
};

/**
 * One line naming the SDK's logging variables that are set (not empty) and that the reference
 * would have read, with the flags to give instead (none of those in `unused`, the flags the
 * command has no use for), or null when there are none. A variable whose flag was given is left
 * out: the reference took the flag too.
 */
export function unreadVariablesNote(
  values: Readonly<Record<string, unknown>>,
  {
    unused = [],
    read = (name) => Deno.env.get(name),
  }: { unused?: readonly string[]; read?: (name: string) => string | undefined } = {},
): string | null {
  const set = Object.entries(SDK_LOGGING_VARIABLES).filter(([name, flag]) =>
    (read(name) ?? "") !== "" && (flag === null || values[flag] === undefined)
  );
  if (set.length === 0) return null;
  const flags = set.flatMap(([, flag]) =>
    flag === null || unused.includes(flag) ? [] : [`--${flag}`]
  );
  return `${set.map(([name]) => name).join(", ")}: the SDK's environment variables, not read here` +
    (flags.length === 0 ? "" : ` (give ${flags.join(", ")} instead)`);
}
