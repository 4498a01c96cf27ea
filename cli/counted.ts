/**
 * A count with its noun in the singular or plural, for messages and summaries.
 * @module
 */

/** `1 publish`, `12 publishes`; the plural is the noun with `s` unless given. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
