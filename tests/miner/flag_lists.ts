/** Edits of the `taos miner` flag lists the tests start from. */

/** `flags` without each flag named in `names` and the value that follows it. */
export function withoutFlags(flags: string[], ...names: string[]): string[] {
  return flags.filter((flag, i) => !names.includes(flag) && !names.includes(flags[i - 1]));
}
