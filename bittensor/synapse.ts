/**
 * The Bittensor synapse on the wire: the JSON body, the `bt_header_*` headers, the SHA3-256 body
 * hash and the request signature message, byte-compatible with the Python SDK.
 *
 * A synapse type is described by a {@linkcode SynapseKind}: its class name (the HTTP path), a zod
 * schema of its own fields, which of them are required (they travel as `bt_header_input_obj_*`)
 * and which are hashed into the body hash.
 *
 * ```ts
 * const Ping: SynapseKind<{ text: string }> = {
 *   name: "Ping", fields: z.object({ text: z.string() }), requiredFields: ["text"], hashFields: [],
 * };
 * const synapse = newSynapse(Ping, { text: "hi" }, 12);
 * const hash = bodyHash(Ping, synapse.fields); // sha3_256("") when no field is hashed
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { quotedChars } from "../cli/code_points.ts";
import { issuesText, valueMessage, z } from "../cli/zod_messages.ts";
import { pythonFloat } from "./python_float.ts";

/** SDK version we announce; the integer form is `major·10^6 + minor·10^3 + patch`. */
const SDK_VERSION = "10.2.0";

/** `"10.2.0"` → `10002000`. */
export function versionAsInt(version: string): number {
  const parts = version.split(".").map((p) => Number.parseInt(p, 10));
  if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 999)) {
    throw new Error(`version '${version}' is not major.minor.patch`);
  }
  return parts[0] * 1_000_000 + parts[1] * 1_000 + parts[2];
}

/** Integer form of {@linkcode SDK_VERSION}. */
export const SDK_VERSION_INT: number = versionAsInt(SDK_VERSION);

/** One side (caller or callee) of a synapse exchange, as carried in the body and headers. */
export interface TerminalInfo {
  status_code: number | null;
  status_message: string | null;
  /** Seconds. */
  process_time: number | null;
  ip: string | null;
  port: number | null;
  version: number | null;
  /** Nanosecond Unix time; beyond 2^53, hence a bigint. */
  nonce: bigint | null;
  uuid: string | null;
  /** SS58 address. */
  hotkey: string | null;
  /** `0x` + hex of a 64-byte sr25519 signature. */
  signature: string | null;
}

/** The order Python dumps terminal-info keys in. */
const TERMINAL_KEYS = [
  "status_code",
  "status_message",
  "process_time",
  "ip",
  "port",
  "version",
  "nonce",
  "uuid",
  "hotkey",
  "signature",
] as const;

/** A terminal info with every field unset. */
export function emptyTerminal(): TerminalInfo {
  return {
    status_code: null,
    status_message: null,
    process_time: null,
    ip: null,
    port: null,
    version: null,
    nonce: null,
    uuid: null,
    hotkey: null,
    signature: null,
  };
}

/** Describes one synapse class: its name, its own fields and their wire roles. */
export interface SynapseKind<F> {
  /** Class name; also the HTTP path segment (`/<name>`). */
  name: string;
  /** Validates the synapse's own (non-base) fields as they appear in a JSON body. */
  fields: z.ZodType<F>;
  /** Fields without a default; each travels as a `bt_header_input_obj_<field>` header. */
  requiredFields: readonly string[];
  /** The class's `required_hash_fields`, in order. */
  hashFields: readonly string[];
}

/** A synapse instance: the base fields every synapse has plus its kind's own `fields`. */
export interface Synapse<F> {
  name: string;
  /** Seconds. */
  timeout: number;
  total_size: number;
  header_size: number;
  dendrite: TerminalInfo;
  axon: TerminalInfo;
  computed_body_hash: string;
  fields: F;
}

/** A fresh synapse of `kind` carrying `fields`. */
export function newSynapse<F>(kind: SynapseKind<F>, fields: F, timeoutSeconds = 12): Synapse<F> {
  return {
    name: kind.name,
    timeout: timeoutSeconds,
    total_size: 0,
    header_size: 0,
    dendrite: emptyTerminal(),
    axon: emptyTerminal(),
    computed_body_hash: "",
    fields,
  };
}

// ---------------------------------------------------------------------------------------------
// Python text forms (the hash input and header values are Python `str()` of values)

/**
 * Characters Python's `repr` escapes, those `str.isprintable()` rejects: the Unicode categories
 * Other (controls, format characters, surrogates, private use, unassigned) and Separator, but the
 * ASCII space.
 */
const PYTHON_UNPRINTABLE = /[\p{C}\p{Z}]/u;

/** Python's escape of an unprintable character: `\xhh`, `\uhhhh` or `\Uhhhhhhhh`. */
function pythonEscape(code: number): string {
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, "0")}`;
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, "0")}`;
  return `\\U${code.toString(16).padStart(8, "0")}`;
}

/** Python `repr(str)`: single quotes unless the text has `'` and no `"`. */
function pythonStringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch !== " " && PYTHON_UNPRINTABLE.test(ch)) out += pythonEscape(ch.codePointAt(0)!);
    else out += ch;
  }
  return out + quote;
}

/** Python `repr` of a JSON-like value (inside containers). */
function pythonRepr(value: unknown): string {
  if (typeof value === "string") return pythonStringRepr(value);
  return pythonStr(value);
}

/**
 * Python `str()` of a JSON-like value as `model_dump()` yields it: integers in decimal, other
 * numbers by float `repr`, booleans `True`/`False`, null `None`, lists and dicts with `repr`
 * elements. (A float field holding a whole number would print as `1.0` in Python: no hashed field
 * is a float.)
 */
export function pythonStr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    return Number.isInteger(value) && Math.abs(value) < 1e21
      ? BigInt(value).toString()
      : pythonFloat(value);
  }
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${pythonStringRepr(k)}: ${pythonRepr(v)}`).join(", ")}}`;
  }
  throw new Error(`cannot render a ${typeof value} as Python text`);
}

/** Lowercase hex SHA3-256 (FIPS 202, not Keccak) of UTF-8 text. */
export function sha3Hex(text: string): string {
  return createHash("sha3-256").update(text, "utf8").digest("hex");
}

/** `sha3_256("")`: the body hash of every kind that hashes no field (computed once). */
const EMPTY_BODY_HASH = sha3Hex("");

/**
 * The body hash: SHA3-256 over the concatenated SHA3-256 hex digests of each hashed field's
 * Python text; `sha3_256("")` when the kind hashes no field.
 */
export function bodyHash<F>(kind: SynapseKind<F>, fields: F): string {
  if (kind.hashFields.length === 0) return EMPTY_BODY_HASH;
  const record = fields as Record<string, unknown>;
  return sha3Hex(kind.hashFields.map((f) => sha3Hex(pythonStr(record[f]))).join(""));
}

/** The text a dendrite signs: `nonce.dendriteHotkey.axonHotkey.uuid.bodyHash`. */
export function requestSignatureMessage(
  nonce: bigint,
  dendriteHotkey: string,
  axonHotkey: string,
  uuid: string,
  hash: string,
): string {
  return `${nonce}.${dendriteHotkey}.${axonHotkey}.${uuid}.${hash}`;
}

/** The text an axon signs on its side: `axonNonce.dendriteHotkey.axonHotkey.axonUuid`. */
export function responseSignatureMessage(
  nonce: bigint,
  dendriteHotkey: string | null,
  axonHotkey: string | null,
  uuid: string,
): string {
  return `${nonce}.${dendriteHotkey}.${axonHotkey}.${uuid}`;
}

// ---------------------------------------------------------------------------------------------
// JSON with nanosecond nonces

/** JSON text with bigints written as plain integers (nonces exceed 2^53). */
export function toWireJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => typeof v === "bigint" ? (JSON as unknown as RawJson).rawJSON(v.toString()) : v,
  );
}

interface RawJson {
  rawJSON(text: string): unknown;
}

/** Deepest nesting of arrays and objects accepted in wire JSON (a state needs fewer than 10). */
const MAX_JSON_DEPTH = 64;

/**
 * Bytes of a reply's size limit per JSON value it may hold: the densest valid reply, a list of
 * cancellations of single-digit ids and volumes (`{"orderId":1,"volume":1},`, 3 values in 25
 * bytes), holds one per 8.3 bytes, while 60 MB of `{},` (40 M values) took the validator to
 * 4.6 GB and 18 s of parsing. The miner refuses an agent reply past it, so an agent is told.
 */
export const BYTES_PER_REPLY_VALUE = 8;

/** The JSON values budget of a reply whose size limit is `maxBytes`. */
export function replyValues(maxBytes: number): { left: number; limit: number } {
  const limit = Math.max(1, Math.floor(maxBytes / BYTES_PER_REPLY_VALUE));
  return { left: limit, limit };
}

/** Wire JSON past a limit of {@linkcode checkJsonDepth}: well formed, perhaps, but refused. */
export class JsonLimitError extends RangeError {
  override name = "JsonLimitError";
}

/**
 * Throws a JsonLimitError when `text` nests arrays or objects deeper than `limit`. `JSON.parse`
 * takes any depth, and a 350 KB text of 134 M open brackets ran the process out of memory. One
 * pass over the text, skipping strings. With `values`, it also counts the arrays, objects and the
 * elements and members after a comma against `values.left`, and throws once that runs out:
 * parsed, each costs far more memory than its bytes (a 256 MiB text of `{},` is 85 M objects).
 */
export function checkJsonDepth(
  text: string,
  limit = MAX_JSON_DEPTH,
  values?: { left: number; limit: number },
): void {
  let depth = 0;
  let counted = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Inside a string: brackets do not count; a backslash escapes the next character.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) throw new JsonLimitError(`JSON nested deeper than ${limit} levels`);
      counted++;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2c) {
      counted++;
    }
  }
  if (values === undefined) return;
  values.left -= counted;
  if (values.left < 0) {
    throw new JsonLimitError(
      `more than ${values.limit} JSON values (arrays, objects and elements)`,
    );
  }
}

/**
 * Parses a reply body. No nonce is verified on a reply, so the terminals' nonces are taken as the
 * nearest double: the exact-nonce reviver costs more than linear time, and a 60 MB reply took
 * minutes with it. Throws on malformed text, and a JsonLimitError on text too deep or holding more
 * JSON values than a reply of at most `maxBytes` may ({@linkcode BYTES_PER_REPLY_VALUE}).
 */
export function parseReplyJson(text: string, maxBytes: number): unknown {
  checkJsonDepth(text, undefined, replyValues(maxBytes));
  const body = JSON.parse(text);
  for (const terminal of ["dendrite", "axon"]) {
    const info = typeof body === "object" && body !== null ? body[terminal] : undefined;
    if (typeof info?.nonce === "number" && Number.isInteger(info.nonce)) {
      info.nonce = BigInt(info.nonce);
    }
  }
  return body;
}

/** Parses JSON, keeping every `nonce` integer exact as a bigint. Throws on malformed text. */
export function parseWireJson(text: string): unknown {
  checkJsonDepth(text);
  return JSON.parse(
    text,
    function (key: string, value: unknown, context?: { source?: string }) {
      if (key === "nonce" && typeof value === "number" && context?.source !== undefined) {
        return /^-?\d+$/.test(context.source) ? BigInt(context.source) : value;
      }
      return value;
    } as (key: string, value: unknown) => unknown,
  );
}

// ---------------------------------------------------------------------------------------------
// Body

/** The flat JSON object Python's `model_dump()` produces for `synapse`. */
export function synapseToBody<F>(synapse: Synapse<F>): Record<string, unknown> {
  return {
    name: synapse.name,
    timeout: synapse.timeout,
    total_size: synapse.total_size,
    header_size: synapse.header_size,
    dendrite: terminalToJson(synapse.dendrite),
    axon: terminalToJson(synapse.axon),
    computed_body_hash: synapse.computed_body_hash,
    ...(synapse.fields as Record<string, unknown>),
  };
}

/** String fields at least this long are encoded once per {@linkcode SynapseBodyEncoder}. */
const SHARED_FIELD_CHARS = 1024;

/**
 * Writes synapse bodies as UTF-8 JSON, exactly the text of `toWireJson(synapseToBody(synapse))`,
 * but escapes and encodes each long string field only once and shares its bytes between bodies: a
 * validator sends the same compressed books to every miner of a round.
 *
 * ```ts
 * const encoder = new SynapseBodyEncoder();
 * const { bytes, chars } = encoder.encode(synapse); // chars: length of the JSON text
 * ```
 */
export class SynapseBodyEncoder {
  readonly #shared = new Map<string, { bytes: Uint8Array; chars: number }>();
  readonly #utf8 = new TextEncoder();

  /** The body of `synapse` as bytes, and the length of its JSON text. */
  encode<F>(synapse: Synapse<F>): { bytes: Uint8Array<ArrayBuffer>; chars: number } {
    const fields = synapse.fields as Record<string, unknown>;
    const keys = Object.keys(fields);
    if (keys.some((k) => BASE_KEYS.has(k))) {
      const text = toWireJson(synapseToBody(synapse));
      return { bytes: this.#utf8.encode(text), chars: text.length };
    }
    const parts: Uint8Array[] = [];
    let chars = 0;
    let text = toWireJson(synapseToBody({ ...synapse, fields: {} })).slice(0, -1);
    for (const key of keys) {
      const value = fields[key];
      if (value === undefined || typeof value === "function" || typeof value === "symbol") continue;
      text += `,${JSON.stringify(key)}:`;
      if (typeof value === "string" && value.length >= SHARED_FIELD_CHARS) {
        const shared = this.#sharedField(value);
        parts.push(this.#utf8.encode(text), shared.bytes);
        chars += text.length + shared.chars;
        text = "";
      } else {
        text += toWireJson(value);
      }
    }
    text += "}";
    parts.push(this.#utf8.encode(text));
    chars += text.length;
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let offset = 0;
    for (const part of parts) {
      bytes.set(part, offset);
      offset += part.byteLength;
    }
    return { bytes, chars };
  }

  #sharedField(value: string): { bytes: Uint8Array; chars: number } {
    let shared = this.#shared.get(value);
    if (shared === undefined) {
      const text = JSON.stringify(value);
      shared = { bytes: this.#utf8.encode(text), chars: text.length };
      this.#shared.set(value, shared);
    }
    return shared;
  }
}

function terminalToJson(t: TerminalInfo): Record<string, unknown> {
  return Object.fromEntries(TERMINAL_KEYS.map((k) => [k, t[k]]));
}

const BASE_KEYS = new Set([
  "name",
  "timeout",
  "total_size",
  "header_size",
  "dendrite",
  "axon",
  "computed_body_hash",
]);

const optionalInt = z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)])
  .nullish().transform((v) => v ?? null);
const terminalSchema = z.object({
  status_code: optionalInt,
  status_message: z.string().nullish().transform((v) => v ?? null),
  process_time: z.union([z.number(), z.string().transform(Number)]).nullish().transform((v) =>
    v === undefined || v === null || Number.isNaN(v) ? null : v
  ),
  ip: z.string().nullish().transform((v) => v ?? null),
  port: optionalInt,
  version: optionalInt,
  // parseWireJson reads a JSON nonce as a bigint (a u64 passes 2^53); a body parsed otherwise
  // holds a number.
  nonce: z.union([z.bigint(), z.number().int(), z.string().regex(/^\d+$/, "must be digits only")])
    .nullish().transform((
      v,
    ) => v === undefined || v === null ? null : BigInt(v)),
  uuid: z.string().nullish().transform((v) => v ?? null),
  hotkey: z.string().nullish().transform((v) => v ?? null),
  signature: z.string().nullish().transform((v) => v ?? null),
}).nullish().transform((t) => t ?? emptyTerminal());

const baseSchema = z.object({
  timeout: z.number().nonnegative().nullish().transform((v) => v ?? 12),
  total_size: z.number().int().nullish().transform((v) => v ?? 0),
  header_size: z.number().int().nullish().transform((v) => v ?? 0),
  dendrite: terminalSchema,
  axon: terminalSchema,
  computed_body_hash: z.string().nullish().transform((v) => v ?? ""),
});

/**
 * Builds a synapse of `kind` from a parsed JSON body. Throws an Error naming the offending field
 * when the body does not fit.
 */
export function synapseFromBody<F>(kind: SynapseKind<F>, body: unknown): Synapse<F> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new Error("synapse body: must be a JSON object");
  }
  const record = body as Record<string, unknown>;
  const base = baseSchema.safeParse(record, { error: valueMessage });
  if (!base.success) throw new Error(`synapse body: ${issuesText(base.error.issues, "(body)")}`);
  const own = Object.fromEntries(Object.entries(record).filter(([k]) => !BASE_KEYS.has(k)));
  const fields = kind.fields.safeParse(own, { error: valueMessage });
  if (!fields.success) {
    throw new Error(`${kind.name} body: ${issuesText(fields.error.issues, "(body)")}`);
  }
  return { name: kind.name, ...base.data, fields: fields.data };
}

// ---------------------------------------------------------------------------------------------
// Headers

/** base64(JSON of an empty value of the same JSON type), as Python's `to_headers` emits. */
function emptyInputObject(value: unknown): string {
  let empty: string;
  if (typeof value === "string") empty = '""';
  else if (typeof value === "boolean") empty = "false";
  else if (typeof value === "number" || typeof value === "bigint") {
    empty = typeof value === "number" && !Number.isInteger(value) ? "0.0" : "0";
  } else if (Array.isArray(value)) empty = "[]";
  else empty = "{}";
  return Buffer.from(empty, "utf8").toString("base64");
}

function terminalHeaderValue(key: keyof TerminalInfo, value: unknown): string {
  if (key === "process_time" && typeof value === "number") return pythonFloat(value);
  return String(value);
}

/** The headers Python's `Synapse.to_headers()` produces (names lowercase, values strings). */
export function synapseToHeaders<F>(
  kind: SynapseKind<F>,
  synapse: Synapse<F>,
  hash: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    name: synapse.name,
    timeout: pythonFloat(synapse.timeout),
  };
  for (const key of TERMINAL_KEYS) {
    const value = synapse.axon[key];
    if (value !== null) headers[`bt_header_axon_${key}`] = terminalHeaderValue(key, value);
  }
  for (const key of TERMINAL_KEYS) {
    const value = synapse.dendrite[key];
    if (value !== null) headers[`bt_header_dendrite_${key}`] = terminalHeaderValue(key, value);
  }
  const fields = synapse.fields as Record<string, unknown>;
  for (const field of kind.requiredFields) {
    const value = fields[field];
    if (value !== null && value !== undefined) {
      headers[`bt_header_input_obj_${field}`] = emptyInputObject(value);
    }
  }
  headers.header_size = String(synapse.header_size);
  headers.total_size = String(synapse.total_size);
  headers.computed_body_hash = hash;
  return headers;
}

/** What a receiver reads from a synapse's headers alone (the rest is in the body). */
export interface HeaderView {
  timeout: number | null;
  axon: TerminalInfo;
  dendrite: TerminalInfo;
}

const INT_TERMINAL_KEYS = new Set(["status_code", "port", "version"]);

/** A decimal number as Python's `float()` reads one (single underscores between digits allowed);
 * JavaScript's `Number()` would also take hexadecimal, binary and octal, which Python refuses. */
const PYTHON_DECIMAL =
  /^\s*[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?\s*$/;

/** The number a decimal header value holds, or NaN when it is not one (see PYTHON_DECIMAL). */
function pythonDecimal(value: string): number {
  return PYTHON_DECIMAL.test(value) ? Number(value.replaceAll("_", "")) : NaN;
}

/**
 * Parses synapse headers the way the Python SDK does. Throws an Error naming the header when a
 * value cannot be coerced to its type.
 */
export function parseSynapseHeaders(
  headers: { forEach(fn: (value: string, name: string) => void): void },
): HeaderView {
  const view: HeaderView = { timeout: null, axon: emptyTerminal(), dendrite: emptyTerminal() };
  // `forEach`, not `for…of`: Deno's Headers iterator sorts the whole list again at every step.
  headers.forEach((value, rawName) => {
    const name = rawName.toLowerCase();
    if (name === "timeout") {
      const t = pythonDecimal(value);
      if (!Number.isFinite(t)) throw new Error(`header timeout: ${quoted(value)} is not a number`);
      if (t <= 0) {
        throw new Error(`header timeout: ${quoted(value)} must be a positive number of seconds`);
      }
      view.timeout = t;
    } else if (name.startsWith("bt_header_axon_")) {
      setTerminal(view.axon, name.slice("bt_header_axon_".length), value, name);
    } else if (name.startsWith("bt_header_dendrite_")) {
      setTerminal(view.dendrite, name.slice("bt_header_dendrite_".length), value, name);
    }
  });
  return view;
}

/**
 * Digits a header integer may have. Parsing is done before the caller is known, and a BigInt of
 * tens of thousands of digits costs milliseconds to read and write back: a nonce is a u64 (at
 * most 20 digits), a status code, port or version a few digits.
 */
const MAX_NONCE_DIGITS = 20;
const MAX_SMALL_INT_DIGITS = 10;
const U64_MAX = 2n ** 64n - 1n;

/** A header value for an error message: cut short, as it may be up to the head limit long. The
 * message is a refusal's, sent in a header too: an ASCII ellipsis. */
function quoted(value: string): string {
  return quotedChars(value, 40, "...");
}

function setTerminal(t: TerminalInfo, key: string, value: string, header: string): void {
  if (!(TERMINAL_KEYS as readonly string[]).includes(key)) return;
  const k = key as keyof TerminalInfo;
  const trimmed = value.trim();
  if (INT_TERMINAL_KEYS.has(k)) {
    if (!/^-?\d+$/.test(trimmed)) {
      throw new Error(`header ${header}: ${quoted(value)} is not an integer`);
    }
    const digits = trimmed.replace(/^-/, "").length;
    if (digits > MAX_SMALL_INT_DIGITS) {
      throw new Error(
        `header ${header}: ${digits} digits, at most ${MAX_SMALL_INT_DIGITS} are accepted`,
      );
    }
    (t as unknown as Record<string, unknown>)[k] = Number(trimmed);
  } else if (k === "nonce") {
    if (!/^\d+$/.test(trimmed)) {
      throw new Error(`header ${header}: ${quoted(value)} is not an integer`);
    }
    if (trimmed.length > MAX_NONCE_DIGITS) {
      throw new Error(
        `header ${header}: ${trimmed.length} digits, but a nonce is a 64-bit unsigned integer ` +
          `(at most ${MAX_NONCE_DIGITS} digits)`,
      );
    }
    const nonce = BigInt(trimmed);
    if (nonce > U64_MAX) {
      throw new Error(`header ${header}: ${trimmed} is above the largest 64-bit nonce, ${U64_MAX}`);
    }
    t.nonce = nonce;
  } else if (k === "process_time") {
    const n = pythonDecimal(value);
    if (Number.isNaN(n)) throw new Error(`header ${header}: ${quoted(value)} is not a number`);
    t.process_time = n;
  } else {
    (t as unknown as Record<string, unknown>)[k] = value;
  }
}

/** Current Unix time in nanoseconds (millisecond clock plus a sub-millisecond monotonic part). */
export function timeNs(): bigint {
  const wallMs = Date.now();
  const subMs = Math.floor((performance.now() % 1) * 1e6);
  return BigInt(wallMs) * 1_000_000n + BigInt(subMs);
}
