/**
 * Words for whatever an agent throws or rejects with. Agents may throw anything: a string,
 * `undefined`, a Symbol, an object without a prototype, one whose `toString` throws, an Error whose
 * message is megabytes long. Describing it must neither throw (the update would never be answered)
 * nor flood the log.
 * @module
 */
import { cutChars } from "../../cli/code_points.ts";

/** Longest description kept, in characters (code points); the rest is counted. */
export const MAX_DESCRIPTION = 1000;

/** `value` as text for a log line: an Error's message, a string itself, anything else its form. */
export function describeThrown(value: unknown): string {
  let text: string;
  try {
    if (value instanceof Error) text = String(value.message);
    else if (typeof value === "string") text = value;
    else text = `${plainForm(value)} (thrown, not an Error)`;
  } catch {
    // A value without a usable toString: its kind says at least what was thrown.
    text = `${safeTag(value)} (thrown, not an Error; it cannot be printed)`;
  }
  return cutChars(text, MAX_DESCRIPTION);
}

/** A plain object without a `toString` of its own as JSON (`{"a":1}`, where String gives
 * `[object Object]`), anything else as String gives it. */
function plainForm(value: unknown): string {
  if (typeof value === "object" && value !== null) {
    const prototype = Object.getPrototypeOf(value);
    const plain = prototype === Object.prototype || prototype === null;
    const toString = (value as { toString?: unknown }).toString;
    if (plain && (toString === undefined || toString === Object.prototype.toString)) {
      try {
        const json = JSON.stringify(value);
        if (json !== undefined) return json;
      } catch {
        // A cycle or a BigInt: String's form below.
      }
    }
  }
  return String(value);
}

function safeTag(value: unknown): string {
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return typeof value;
  }
}
