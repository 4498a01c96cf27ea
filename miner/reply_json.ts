/**
 * An agent's reply as a miner sends it: JSON text within what a validator reads. The miner's
 * agent worker and the backtest's in-thread runner both check a reply here, so that an agent
 * loses the same replies in either.
 * @module
 */
import { Buffer } from "node:buffer";
import { MAX_RESPONSE_BYTES } from "../bittensor/dendrite.ts";
import { checkJsonDepth, replyValues } from "../bittensor/synapse.ts";
import { describeThrown } from "../agents/sdk/thrown.ts";
import {
  MAX_CANCELLATIONS,
  MAX_INSTRUCTIONS_PER_RESPONSE,
  type Rejection,
} from "../agents/sdk/instructions.ts";
import { mib } from "./frames.ts";

/**
 * The reply written as JSON once (a getter or `toJSON` read once, a method left out). One that
 * cannot be written (a BigInt, a cycle) or holds more values than a validator reads is refused
 * with an error saying why; the values are counted before anything parses the text, since
 * parsing millions of them would take a worker past its memory limit first.
 */
export function replyJson(reply: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(reply);
  } catch (error) {
    throw new Error(`invalid agent response: ${describeThrown(error)}`);
  }
  try {
    checkJsonDepth(text, undefined, replyValues(MAX_RESPONSE_BYTES));
  } catch (error) {
    throw new Error(
      `invalid agent response: ${describeThrown(error)}, more than a validator reads`,
    );
  }
  return text;
}

/** Taken when this module loads, before any agent is imported, which might replace it. */
const utf8Bytes = Buffer.byteLength;

/** Refuses JSON text longer in UTF-8 bytes than a validator reads. */
export function checkReplySize(json: string): void {
  // Up to three bytes per character here: counted only when they may pass the limit.
  const bytes = json.length * 3 > MAX_RESPONSE_BYTES ? utf8Bytes(json) : json.length;
  if (bytes > MAX_RESPONSE_BYTES) {
    throw new Error(
      `invalid agent response: ${mib(bytes)} MiB as JSON, more than a validator reads ` +
        `(${mib(MAX_RESPONSE_BYTES)} MiB)`,
    );
  }
}

/** Most values {@linkcode writtenAsNull} looks at, and most places it names. */
const MAX_LOOKED_AT = 100_000;
const MAX_NAMED = 3;

/**
 * A note for the message of a reply voided by `first`, its first rejection: when that is an invalid
 * instruction, the places in it, as the agent returned it (`reply`, before JSON), that hold NaN or
 * an infinity, which JSON writes as null, or the instruction itself when it is undefined or a
 * function, written as null too: so that a validator's `got null` is not all the agent's author
 * reads (` (the agent wrote NaN for price, which JSON sends as null)`); empty when there are none.
 */
export function writtenAsNull(reply: unknown, first: Rejection | undefined): string {
  if (first?.rule !== "invalid") return "";
  const index = first.index;
  const found: string[] = [];
  let looked = 0;
  const visit = (value: unknown, path: string[], depth: number) => {
    if (found.length > MAX_NAMED || looked++ > MAX_LOOKED_AT) return;
    if (typeof value === "number" && !Number.isFinite(value)) {
      found.push(`${value} for ${path.join(".")}`);
    } else if (typeof value === "object" && value !== null && depth < 4) {
      for (const key of Object.keys(value)) {
        visit((value as Record<string, unknown>)[key], [...path, key], depth + 1);
      }
    }
  };
  try {
    // Read again for a message only: what was sent is the reading already checked.
    const items = (reply as { instructions?: unknown } | null)?.instructions;
    if (!Array.isArray(items)) return "";
    const item: unknown = items[index];
    // In an array JSON writes null for these too (`[bid && order]` gives false, not one of them).
    if (item === undefined || typeof item === "function" || typeof item === "symbol") {
      return ` (the agent wrote ${item === undefined ? "undefined" : `a ${typeof item}`}, ` +
        "which JSON sends as null)";
    }
    if (typeof item !== "object" || item === null) return "";
    for (const key of Object.keys(item)) {
      visit((item as Record<string, unknown>)[key], [key], 1);
    }
  } catch {
    // A getter that throws at this second reading: the message goes without the note.
  }
  if (found.length === 0) return "";
  const named = found.length > MAX_NAMED ? [...found.slice(0, MAX_NAMED), "more"] : found;
  const listed = named.length < 2
    ? named.join("")
    : `${named.slice(0, -1).join(", ")} and ${named.at(-1)}`;
  return ` (the agent wrote ${listed}, which JSON sends as null)`;
}

/** What a validator reads null as, in each instruction field where it takes null. */
const NULL_MEANS = {
  clientOrderId: "no client order id",
  expiryPeriod: "no expiry",
  volume: "a whole cancel",
} as const;

/** The fields of each order type where null is a value with a meaning of its own. */
const NULL_FIELDS: ReadonlyMap<unknown, readonly ("clientOrderId" | "expiryPeriod")[]> = new Map([
  ["PLACE_ORDER_LIMIT", ["clientOrderId", "expiryPeriod"] as const],
  ["PLACE_ORDER_MARKET", ["clientOrderId"] as const],
]);

/** NaN or an infinity, which JSON writes as null (a Number object's value too). */
function writesAsNull(value: unknown): boolean {
  if (typeof value === "number") return !Number.isFinite(value);
  return value instanceof Number && !Number.isFinite(value.valueOf());
}

/** An instruction's or a cancellation's fields as JSON writes them: its `toJSON` result, if any. */
function asWritten(value: unknown, key: string): unknown {
  const toJSON = typeof value === "object" && value !== null
    ? (value as { toJSON?: unknown }).toJSON
    : undefined;
  return typeof toJSON === "function" ? toJSON.call(value, key) : value;
}

/**
 * The refusal of a reply holding NaN or an infinity where a validator takes null as a choice:
 * a `clientOrderId` (none), a limit order's `expiryPeriod` (no expiry) or a cancellation's
 * `volume` (the whole order). JSON writes those as null, so a validator would carry out something
 * else than the agent asked for: `invalid agent response: instruction 0 invalid:
 * cancellations.0.volume: the agent wrote NaN, which JSON sends as null (a whole cancel)`. Null
 * when there is none. `reply` is as the agent returned it, before JSON (an instruction's or a
 * cancellation's `toJSON` is called again); only those fields are read, a few property reads per
 * instruction, and no more instructions and cancellations than a validator takes.
 */
export function nonFiniteForNull(reply: unknown): string | null {
  const refusal = (index: number, place: string, value: unknown, meaning: string) =>
    `invalid agent response: instruction ${index} invalid: ${place}: the agent wrote ` +
    `${Number(value)}, which JSON sends as null (${meaning})`;
  try {
    const items = (reply as { instructions?: unknown } | null)?.instructions;
    if (!Array.isArray(items)) return null;
    const count = Math.min(items.length, MAX_INSTRUCTIONS_PER_RESPONSE);
    for (let index = 0; index < count; index++) {
      const item = asWritten(items[index], String(index));
      if (typeof item !== "object" || item === null) continue;
      const type = (item as { type?: unknown }).type;
      if (type === "CANCEL_ORDERS") {
        const cancellations = (item as { cancellations?: unknown }).cancellations;
        if (!Array.isArray(cancellations)) continue;
        const listed = Math.min(cancellations.length, MAX_CANCELLATIONS);
        for (let i = 0; i < listed; i++) {
          const cancellation = asWritten(cancellations[i], String(i));
          if (typeof cancellation !== "object" || cancellation === null) continue;
          const volume = (cancellation as { volume?: unknown }).volume;
          if (writesAsNull(volume)) {
            return refusal(index, `cancellations.${i}.volume`, volume, NULL_MEANS.volume);
          }
        }
        continue;
      }
      for (const field of NULL_FIELDS.get(type) ?? []) {
        const value = (item as Record<string, unknown>)[field];
        if (writesAsNull(value)) return refusal(index, field, value, NULL_MEANS[field]);
      }
    }
  } catch {
    // A getter or toJSON that throws at this second reading: JSON's reading, already checked,
    // stands.
  }
  return null;
}
