/**
 * The subnet's two synapses, `MarketSimulationStateUpdate` (state in, instructions out) and
 * `FinanceEventNotification`, with the reference's compression: each large field is replaced by
 * base64(zlib(JSON)) and `compressed` is set.
 *
 * Validator side: `encodeStateUpdate(stateForAgent(...))` per miner (each miner gets only its own
 * accounts and notices), send with the dendrite, then `decodeResponse(result.fields)`.
 * Miner side: `decodeStateUpdate(synapse.fields)`, run the agent, `encodeResponse(request, reply)`.
 *
 * ```ts
 * const wire = encodeStateUpdate({ timestamp: 5e9, config, books, accounts, notices });
 * const results = await dendrite.query(axons, MarketSimulationStateUpdate, wire, 5);
 * const reply = results[0].ok ? decodeResponse(results[0].fields!) : null; // {agent_id, instructions}
 * ```
 * @module
 */
import { inflateSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { z } from "../cli/zod_messages.ts";
import { MAX_RESPONSE_BYTES } from "./dendrite.ts";
import { checkJsonDepth, replyValues, type SynapseKind } from "./synapse.ts";
import { deflateZlib } from "./zlib_deflate.ts";

/** Decompressed payloads above this size are refused (a zlib bomb must not exhaust memory). */
const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;
/**
 * Most JSON values (arrays, objects and comma-separated elements) a state update's fields may hold
 * together: parsed, a 256 MiB text of small values would take gigabytes (an empty object costs
 * about 100 bytes once parsed). A reference validator sends every miner's account in each update:
 * 256 miners with 150 open orders on each of 20 books stay below this (about 6 million).
 */
const MAX_STATE_VALUES = 8_000_000;

const jsonObject = z.record(z.string(), z.unknown());

/** `MarketSimulationStateUpdate` fields as they travel (large fields possibly compressed). */
export interface StateUpdateWire {
  model: string;
  /** Simulation time of the state, ns. */
  timestamp: number;
  config: Record<string, unknown> | string | null;
  books: Record<string, unknown> | string;
  accounts: Record<string, unknown> | string;
  notices: Record<string, unknown> | string | null;
  response: Record<string, unknown> | string | null;
  compressed: boolean;
}

const stateUpdateWireSchema: z.ZodType<StateUpdateWire> = z.object({
  model: z.string().default("im"),
  timestamp: z.number().int().nonnegative(),
  config: z.union([jsonObject, z.string()]).nullish().transform((v) => v ?? null),
  books: z.union([jsonObject, z.string()]),
  accounts: z.union([jsonObject, z.string()]),
  notices: z.union([jsonObject, z.string()]).nullish().transform((v) => v ?? null),
  response: z.union([jsonObject, z.string()]).nullish().transform((v) => v ?? null),
  compressed: z.boolean().default(false),
});

/** The state-update synapse: `timestamp`, `books` and `accounts` have no default in the reference. */
export const MarketSimulationStateUpdate: SynapseKind<StateUpdateWire> = {
  name: "MarketSimulationStateUpdate",
  fields: stateUpdateWireSchema,
  requiredFields: ["timestamp", "books", "accounts"],
  hashFields: [],
};

/** `FinanceEventNotification` fields: one event; the miner sets `acknowledged`. */
export interface EventNotificationWire {
  event: Record<string, unknown>;
  acknowledged: boolean;
}

/** The one-off event synapse (accepted by miners, not sent by taos validators). */
export const FinanceEventNotification: SynapseKind<EventNotificationWire> = {
  name: "FinanceEventNotification",
  fields: z.object({ event: jsonObject, acknowledged: z.boolean().default(false) }),
  requiredFields: ["event"],
  hashFields: [],
};

/**
 * The same synapse under its base class's name: the reference miner's handler is typed with the
 * base class, so its axon serves `/EventNotification` while a validator sending the subclass
 * would ask for `/FinanceEventNotification`. A taos miner answers on both.
 */
export const EventNotification: SynapseKind<EventNotificationWire> = {
  ...FinanceEventNotification,
  name: "EventNotification",
};

/** A decoded state update as the agents SDK parses it (loosely typed here). */
export interface MarketState {
  model?: string;
  timestamp: number;
  config: Record<string, unknown> | null;
  books: Record<string, unknown>;
  accounts: Record<string, unknown>;
  notices: Record<string, unknown> | null;
}

/** base64(zlib(JSON)), default compression level, as the reference. */
export function compressJson(value: unknown): string {
  return compressJsonText(JSON.stringify(value));
}

/** {@linkcode compressJson} of a value already serialised to JSON text `json`. */
export function compressJsonText(json: string): string {
  // The window is sized by characters: for JSON they are the bytes, save the rare non-ASCII text,
  // which a window short of its whole length still compresses correctly.
  const { windowBits, memLevel } = windowFor(json.length);
  const packed = deflateZlib(json, windowBits, memLevel);
  return Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString("base64");
}

/**
 * zlib's default window and hash table take several hundred kB to set up, which dominates for the
 * small per-miner fields; a window just covering the input finds the same matches. Any inflater
 * reads the result, the window size being part of the zlib header.
 */
function windowFor(length: number): { windowBits: number; memLevel: number } {
  const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(length + 262))));
  return { windowBits, memLevel: Math.min(8, Math.max(1, windowBits - 7)) };
}

/**
 * Reverses {@linkcode compressJson}; throws on bad base64, zlib or JSON, or output beyond
 * `budget.bytes` (default {@linkcode MAX_DECOMPRESSED_BYTES}), which it then reduces by what it
 * used: the fields of one request share one budget.
 */
function decompressJson(
  text: string,
  budget: DecodeBudget = freshBudget(MAX_DECOMPRESSED_BYTES),
): unknown {
  const packed = Buffer.from(text, "base64");
  const raw = inflateSync(packed, { maxOutputLength: Math.max(1, budget.bytes) });
  budget.bytes -= raw.length;
  const json = raw.toString("utf8");
  checkJsonDepth(json, undefined, budget.values);
  return JSON.parse(json);
}

/** What the fields of one message may still decompress to: bytes, and JSON values. */
interface DecodeBudget {
  bytes: number;
  values?: { left: number; limit: number };
}

function freshBudget(bytes: number, values?: number): DecodeBudget {
  return values === undefined ? { bytes } : { bytes, values: { left: values, limit: values } };
}

/**
 * Keeps only `uid`'s entries of `accounts` and `notices` (the reference sends everyone's; we do
 * not). The maps keep their shape, so `state.accounts[uid]` still works for the recipient.
 */
export function stateForMiner(state: MarketState, uid: number): MarketState {
  const key = String(uid);
  const pick = (m: Record<string, unknown> | null) =>
    m === null ? null : Object.hasOwn(m, key) ? { [key]: m[key] } : {};
  return { ...state, accounts: pick(state.accounts) ?? {}, notices: pick(state.notices) };
}

/** The compressed synapse fields a validator sends for `state`. */
export function encodeStateUpdate(state: MarketState): StateUpdateWire {
  const hasBooks = Object.keys(state.books).length > 0;
  return {
    model: state.model ?? "im",
    timestamp: state.timestamp,
    config: hasBooks ? compressJson(state.config) : state.config,
    books: hasBooks ? compressJson(state.books) : state.books,
    accounts: hasBooks ? compressJson(state.accounts) : state.accounts,
    notices: hasBooks ? compressJson(state.notices ?? {}) : state.notices,
    response: null,
    compressed: true,
  };
}

function decodeField(
  value: unknown,
  field: string,
  budget: DecodeBudget = freshBudget(MAX_DECOMPRESSED_BYTES),
): unknown {
  if (typeof value !== "string") return value;
  try {
    return decompressJson(value, budget);
  } catch (error) {
    throw new Error(
      `${field}: cannot decompress (${error instanceof Error ? error.message : error})`,
    );
  }
}

/**
 * The state a miner received, decompressed (not yet validated against the SDK's schema); its
 * fields together may expand to `limit` bytes (a few kilobytes of zlib bomb per field must not
 * multiply) holding at most {@linkcode MAX_STATE_VALUES} JSON values.
 */
export function decodeStateUpdate(
  wire: StateUpdateWire,
  limit = MAX_DECOMPRESSED_BYTES,
): MarketState {
  const plain = !wire.compressed ||
    (typeof wire.books === "object" && Object.keys(wire.books).length === 0);
  const budget = freshBudget(limit, MAX_STATE_VALUES);
  const get = (value: unknown, field: string) => plain ? value : decodeField(value, field, budget);
  return {
    model: wire.model,
    timestamp: wire.timestamp,
    config: get(wire.config, "config") as Record<string, unknown> | null,
    books: get(wire.books, "books") as Record<string, unknown>,
    accounts: get(wire.accounts, "accounts") as Record<string, unknown>,
    notices: get(wire.notices, "notices") as Record<string, unknown> | null,
  };
}

/**
 * The miner's reply fields: inputs emptied, `response` compressed, as the reference miner returns
 * them, but for `config`: the reference echoes the decompressed config, which no validator reads,
 * and this sends null to keep the reply small.
 */
export function encodeResponse(request: StateUpdateWire, response: unknown): StateUpdateWire {
  return {
    model: request.model,
    timestamp: request.timestamp,
    config: null,
    books: {},
    accounts: {},
    notices: {},
    response: response === null ? null : compressJson(response),
    compressed: true,
  };
}

/**
 * The raw response object a miner returned (`{agent_id, instructions}`), or null when it sent
 * none. Throws when the response cannot be decompressed, inflates past `maxBytes` or holds more
 * JSON values than a reply of that size may; validate the result with the SDK.
 */
export function decodeResponse(wire: StateUpdateWire, maxBytes = MAX_RESPONSE_BYTES): unknown {
  if (wire.response === null) return null;
  const value = typeof wire.response === "string" && wire.compressed
    ? decodeField(wire.response, "response", { bytes: maxBytes, values: replyValues(maxBytes) })
    : wire.response;
  return value;
}
