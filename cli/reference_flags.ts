/**
 * Flags of the reference's Python parsers (its own and the Bittensor SDK's) that have no
 * counterpart in a taos command: accepted, so that an existing command line still starts, and
 * named in one note. Booleans are `store_true` switches there.
 *
 * ```ts
 * const IGNORED = { "wandb.off": "boolean", "neuron.device": "string" } as const;
 * const { values } = parseArgs({ args, options: { ...ignoredFlagOptions(IGNORED), ... } });
 * const note = ignoredFlagsNote(IGNORED, values, "the reference validator's");
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
