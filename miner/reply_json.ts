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
