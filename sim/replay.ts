/**
 * Replay scripts: an exchange configuration plus batches of agent responses, run through the
 * exchange core one instruction at a time. This is the conformance interface of the core: the
 * same script always produces the same event lines and final state.
 *
 * ```ts
 * import { parseReplayScript } from "./replay.ts";
 * const script = parseReplayScript(JSON.parse(await Deno.readTextFile("script.json")));
 * ```
 * @module
 */
import { z } from "../cli/zod_messages.ts";
import { cutChars } from "../cli/code_points.ts";
import {
  type CancelCause,
  Exchange,
  type ExchangeConfig,
  type ExchangeEvent,
  formatUnits,
  hasDigitsBelow,
  InstructionBatch,
  toUnits,
} from "../native/exchange.ts";
import { integer, onceValid } from "./config.ts";

/** What a quantity that is neither a decimal number nor a decimal string is told. */
function quantityError(issue: { input?: unknown }): string {
  return issue.input === undefined
    ? "required"
    : `must be a finite decimal number or string like "12.5", got ${shown(issue.input)}`;
}

/**
 * A decimal quantity as the reference's JSON carries it (a number) or as an exact decimal
 * string (`"100.25"`, `"1e-4"`). Kept as text so that scaling to the configured decimals is exact.
 */
const decimalText = z.union([
  z.number().refine(Number.isFinite, "must be a finite number").transform((n) => String(n)),
  // Aborting, so that the checks chained after a quantity do not also judge text that is none.
  z.string().regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, { abort: true }),
], { error: quantityError });

/**
 * An instruction quantity (volume, price, leverage). Besides decimals it admits the garbage a
 * miner can send (`"NaN"`, `"Infinity"`), which the exchange rejects per instruction instead of
 * failing the whole script.
 */
const instructionQuantity = z.union([
  decimalText,
  z.enum(["NaN", "Infinity", "-Infinity"]),
  // A JSON number past double range (1e400) reads as Infinity. It was a decimal, so it becomes
  // one too large for any quantity: rejected where "Infinity" is, but a cancel of it cancels all,
  // as a cancel of the string "1e400" does.
  z.custom<number>((v) => v === Infinity || v === -Infinity).transform((v) =>
    v > 0 ? "1e400" : "-1e400"
  ),
], { error: quantityError });

const nonNegativeDecimal = decimalText.refine((text) => !text.startsWith("-"), "must be >= 0")
  .refine((text) => Number.isFinite(Number(text)), { message: "is too large", abort: true });

/** `-1 < rate < 1`, as the reference requires of every fee rate. */
const feeRate = decimalText.refine((text) => Math.abs(Number(text)) < 1, "must be in (-1, 1)");

const decimals = integer(2, 12, { min: "must be at least 2", max: "must be at most 12" });

const tierSchema = z.object({
  volumeRequired: nonNegativeDecimal,
  makerFee: feeRate,
  takerFee: feeRate,
}).strict();

const feePolicySchema = z.object({
  historySlots: integer(1, 1024).default(24),
  /** Nanoseconds. */
  slotPeriod: z.number().int().positive().default(3_600_000_000_000),
  tiers: z.array(tierSchema).min(1).max(16, "at most 16 tiers").default([
    { volumeRequired: "0", makerFee: "0", takerFee: "0" },
  ]),
}).strict();

/** Most accounts (books x agents) a script may have: its final line lists each. */
const MAX_ACCOUNTS = 1_000_000;
/** The largest leverage the core's configuration takes (max_leverage_e9). */
const MAX_LEVERAGE_E9 = 1000n * 10n ** 9n;

/** `text` in units of 10^-decimals, truncated, or null past int64 units. */
function unitsOrNull(text: string, decimals: number): bigint | null {
  try {
    return toUnits(text, decimals);
  } catch {
    return null;
  }
}

/** Whether the core takes `text` as the largest leverage: in 10^-9, truncated, at most 1000. */
function takesLeverage(text: string): boolean {
  const units = unitsOrNull(text, 9);
  return units !== null && units <= MAX_LEVERAGE_E9;
}

/** The core's limit on what a book's accounts hold of one asset (TX_MAX_HELD). */
const MAX_HELD = 1n << 62n;

/** A cancel's cause as the replay prints it. */
const REPLAY_CAUSE: Record<CancelCause, string> = {
  request: "request",
  stp: "stp",
  reset: "reset",
  expiry: "expiry",
  marginCall: "margin_call",
  unfunded: "unfunded",
};

const exchangeFields = z.object({
  priceDecimals: decimals.default(2),
  volumeDecimals: decimals.default(2),
  baseDecimals: decimals.default(2),
  quoteDecimals: decimals.default(2),
  maxLeverage: nonNegativeDecimal.refine(
    takesLeverage,
    `must be at most ${MAX_LEVERAGE_E9 / 10n ** 9n} (the core's largest leverage)`,
  ).default("0"),
  maxLoan: nonNegativeDecimal.default("0"),
  maintenanceMargin: nonNegativeDecimal.default("0"),
  books: integer(1, 4096).default(1),
  agents: integer(1, 65_536).default(1),
  balances: z.object({ base: nonNegativeDecimal, quote: nonNegativeDecimal }).strict()
    .default({ base: "0", quote: "0" }),
  feePolicy: feePolicySchema.default({
    historySlots: 24,
    slotPeriod: 3_600_000_000_000,
    tiers: [{ volumeRequired: "0", makerFee: "0", takerFee: "0" }],
  }),
}).strict();

const exchangeObjectSchema = exchangeFields.superRefine(
  checkExchange,
  onceValid(
    "maintenanceMargin",
    "maxLeverage",
    "books",
    "agents",
    "balances",
    "baseDecimals",
    "quoteDecimals",
    "feePolicy.tiers",
  ),
);

function checkExchange(
  e: z.output<typeof exchangeFields>,
  ctx: z.RefinementCtx<z.output<typeof exchangeFields>>,
): void {
  // As the core checks it: both truncated to 10^-9 units, compared exactly
  // (margin * 2 * (1 + leverage) <= 1); doubles cannot tell a bound missed by 1e-18.
  const one = 10n ** 9n;
  const leverage = toUnits(e.maxLeverage, 9); // within 1000, checked above
  const margin = unitsOrNull(e.maintenanceMargin, 9);
  if (margin === null || margin * 2n * (one + leverage) > one * one) {
    ctx.addIssue({
      code: "custom",
      message: "must be <= 1/(2(1+maxLeverage))",
      path: ["maintenanceMargin"],
    });
  }
  if (e.books * e.agents > MAX_ACCOUNTS) {
    ctx.addIssue({
      code: "custom",
      message: `books x agents must be at most ${MAX_ACCOUNTS} (the final line lists every ` +
        `account), got ${e.books} x ${e.agents}`,
      path: ["agents"],
    });
  }
  // Thresholds are compared as the core sees them: in quote units at the configured decimals.
  const thresholds = new Map<bigint, number>();
  e.feePolicy.tiers.forEach((tier, i) => {
    let units: bigint;
    try {
      units = toUnits(tier.volumeRequired, e.quoteDecimals);
    } catch {
      return; // reported when the config is scaled
    }
    const same = thresholds.get(units);
    if (same !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `equals tier ${same}'s (${units} units at quoteDecimals ${e.quoteDecimals}); ` +
          "tiers must have distinct thresholds",
        path: ["feePolicy", "tiers", i, "volumeRequired"],
      });
    } else {
      thresholds.set(units, i);
    }
  });
  // The core keeps a book's total holdings of each asset within 2^62 units (TX_MAX_HELD).
  for (const asset of ["base", "quote"] as const) {
    const decimals = asset === "base" ? e.baseDecimals : e.quoteDecimals;
    let units: bigint;
    try {
      units = toUnits(e.balances[asset], decimals);
    } catch {
      continue; // reported when the config is scaled
    }
    if (units * BigInt(e.agents) > MAX_HELD) {
      ctx.addIssue({
        code: "custom",
        message: `${e.agents} accounts of ${e.balances[asset]} exceed the 2^62 units of ` +
          `${asset} a book's accounts may hold at ${decimals} decimals`,
        path: ["balances", asset],
      });
    }
  }
}

/** Takes the reference's own attribute `remoteAgentCount` for `agents`. */
function agentsAttribute(
  raw: Record<string, unknown>,
  ctx: z.RefinementCtx,
): Record<string, unknown> {
  const { remoteAgentCount, ...rest } = raw;
  if (remoteAgentCount === undefined) return raw;
  if (rest.agents !== undefined && rest.agents !== remoteAgentCount) {
    ctx.addIssue({
      code: "custom",
      message: `${JSON.stringify(remoteAgentCount)} contradicts agents ${
        JSON.stringify(rest.agents)
      }`,
      path: ["remoteAgentCount"],
    });
  }
  return { ...rest, agents: remoteAgentCount };
}

/**
 * The reference's spellings: `remoteAgentCount` for `agents`, and `historySlots`/`slotPeriod`
 * given on the exchange itself moved into `feePolicy`. A value that contradicts the other
 * spelling's is an issue on the exchange's key.
 */
function referenceAttributes(raw: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const named = agentsAttribute(raw as Record<string, unknown>, ctx);
  const { historySlots, slotPeriod, ...rest } = named;
  if (historySlots === undefined && slotPeriod === undefined) return named;
  const given = rest.feePolicy;
  if (
    given !== undefined && (typeof given !== "object" || given === null || Array.isArray(given))
  ) {
    return rest; // the schema reports feePolicy itself
  }
  const policy = { ...given as Record<string, unknown> | undefined };
  for (const [key, value] of [["historySlots", historySlots], ["slotPeriod", slotPeriod]]) {
    if (value === undefined) continue;
    if (policy[key as string] !== undefined && policy[key as string] !== value) {
      ctx.addIssue({
        code: "custom",
        message: `${JSON.stringify(value)} contradicts feePolicy.${key} ` +
          `${JSON.stringify(policy[key as string])}`,
        path: [key as string],
      });
    }
    policy[key as string] = value;
  }
  return { ...rest, feePolicy: policy };
}

/**
 * Exchange parameters under the reference's XML attribute names, with the reference's defaults
 * (decimals 2, no leverage, no loans). `books` and `agents` stand for the `<Books instanceCount>`
 * and `remoteAgentCount` attributes; `balances` is the fixed `<Balances><Base/><Quote/>` template.
 * `historySlots` and `slotPeriod` (`<FeePolicy>` attributes) may also be given on the exchange.
 */
const exchangeParamsSchema = z.preprocess(referenceAttributes, exchangeObjectSchema);

/** Accepts the reference's integer enum value or its name. */
function enumField<const Names extends readonly string[]>(names: Names) {
  const accepted = `expected 0..${names.length - 1} or one of ${names.join(", ")}`;
  return z.union([
    // One message for every wrong value, whichever branch it reached.
    z.number().refine((n) => Number.isInteger(n) && n >= 0 && n < names.length, accepted),
    z.enum(names as unknown as [string, ...string[]]),
  ], { error: accepted }).transform((value) =>
    typeof value === "number" ? value : names.indexOf(value)
  );
}

const direction = z.number().refine((d) => d === 0 || d === 1, "must be 0 (buy) or 1 (sell)");
const timeInForce = enumField(["GTC", "GTT", "IOC", "FOK"] as const);
const stpFlag = enumField(["NONE", "CO", "CN", "CB", "DC"] as const);
const currency = enumField(["BASE", "QUOTE"] as const);
/** Any integer: an out-of-range id is the exchange's to reject, per instruction. */
const id = z.number().int();
const clientOrderId = integer(0, 0xFFFF_FFFE).nullable().default(null);
/** Nanoseconds after the batch's timestamp at which a response is processed. */
const delay = integer(0).default(0);

const limitPayload = z.object({
  direction,
  volume: instructionQuantity,
  price: instructionQuantity,
  bookId: id,
  clientOrderId,
  postOnly: z.boolean().default(false),
  timeInForce: timeInForce.default(0),
  /** Nanoseconds after placement at which a GTT order is cancelled. */
  expiryPeriod: integer(0).nullable().default(null),
  stpFlag: stpFlag.default(1),
  currency: currency.default(0),
  leverage: instructionQuantity.default("0"),
}).strict();

const marketPayload = z.object({
  direction,
  volume: instructionQuantity,
  bookId: id,
  clientOrderId,
  stpFlag: stpFlag.default(1),
  currency: currency.default(0),
  leverage: instructionQuantity.default("0"),
}).strict();

/** One cancellation; each is its own instruction to the exchange, rejected on its own. */
const cancellationSchema = z.object({
  orderId: id,
  /** Own volume to remove; null removes the whole order. */
  volume: instructionQuantity.nullable().default(null),
}).strict();

/** Entries are checked one by one when packed, so that garbage in one spares the others. */
const cancelPayload = z.object({ bookId: id, cancellations: z.array(z.unknown()) }).strict();
const resetPayload = z.object({ agentIds: z.array(z.unknown()) }).strict();

const common = { agentId: id, delay };

const responseSchemas = {
  PLACE_ORDER_LIMIT: z.object({
    ...common,
    type: z.literal("PLACE_ORDER_LIMIT"),
    payload: limitPayload,
  }).strict(),
  PLACE_ORDER_MARKET: z.object({
    ...common,
    type: z.literal("PLACE_ORDER_MARKET"),
    payload: marketPayload,
  }).strict(),
  CANCEL_ORDERS: z.object({ ...common, type: z.literal("CANCEL_ORDERS"), payload: cancelPayload })
    .strict(),
  RESET_AGENT: z.object({ ...common, type: z.literal("RESET_AGENT"), payload: resetPayload })
    .strict(),
};
const responseTypes = Object.keys(responseSchemas) as (keyof typeof responseSchemas)[];

/** What a response of no known type is checked against, to name its first problem. */
const unknownResponseSchema = z.object({
  ...common,
  type: z.string().refine(() => false, `must be one of ${responseTypes.join(", ")}`),
  payload: z.unknown(),
});

/** One agent response in the reference's format (`taos.im.protocol.instructions`). */
export type AgentResponse = z.output<typeof responseSchemas[keyof typeof responseSchemas]>;

/** An agent response the replay refuses before the exchange sees it: the first problem found,
 * and what could still be read of it to name it in the reject line. */
export interface GarbageResponse {
  type: "GARBAGE";
  /** The response's `type` when it is a string. */
  given: string | null;
  agentId: number | null;
  bookId: number | null;
  clientOrderId: number | null;
  delay: number;
  /** The offending field, relative to the response (`payload.direction`). */
  field: string;
  problem: string;
}

/** What the replay runs of one response: a well-formed response, or garbage to reject. */
export type ScriptResponse = AgentResponse | GarbageResponse;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** "required" for a missing field; zod's own message for anything else. */
function requiredOrDefault(issue: { input?: unknown }): string | undefined {
  return issue.input === undefined ? "required" : undefined;
}

/** The value at `path` inside `value`, if any. */
function valueAt(value: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (at, key) =>
      isRecord(at) || Array.isArray(at) ? (at as Record<PropertyKey, unknown>)[key] : undefined,
    value,
  );
}

/** A short rendering of an offending value for a reject line. */
function shown(value: unknown): string {
  // JSON.stringify would show a number beyond double range (1e400 parses as Infinity) as null.
  const text = typeof value === "number" ? String(value) : JSON.stringify(value) ?? String(value);
  return cutChars(text, 40);
}

/** Names the field of a zod issue (an unknown key is named itself) and says what is wrong. */
function describeIssue(
  issue: z.core.$ZodIssue,
  input: unknown,
): { field: string; problem: string } {
  if (issue.code === "unrecognized_keys") {
    return {
      field: [...issue.path, issue.keys[0]].map(String).join("."),
      problem: "unknown field",
    };
  }
  const field = issue.path.length === 0 ? "(response)" : issue.path.map(String).join(".");
  const value = valueAt(input, issue.path);
  // zod's own type messages already say what they received.
  const told = value === undefined || /\b(got|received)\b/.test(issue.message);
  return { field, problem: told ? issue.message : `${issue.message}, got ${shown(value)}` };
}

/** The first problem `schema` finds in `input`, or its parsed value. */
function check<T>(
  schema: z.ZodType<T>,
  input: unknown,
): { ok: true; data: T } | { ok: false; field: string; problem: string } {
  const result = schema.safeParse(input, { error: requiredOrDefault });
  return result.success
    ? { ok: true, data: result.data }
    : { ok: false, ...describeIssue(result.error.issues[0], input) };
}

/** A whole number the reject line can show, else null. */
function readableId(value: unknown): number | null {
  return Number.isSafeInteger(value) ? value as number : null;
}

/** Checks one agent response; garbage is kept, with its first problem, to be rejected in turn. */
function parseResponse(raw: unknown): ScriptResponse {
  const type = isRecord(raw) ? raw.type : undefined;
  const known = responseTypes.find((name) => name === type);
  const result = check<unknown>(
    known === undefined ? unknownResponseSchema : responseSchemas[known],
    raw,
  );
  if (result.ok) return result.data as AgentResponse;
  const response = isRecord(raw) ? raw : {};
  const payload = isRecord(response.payload) ? response.payload : {};
  const named = check(clientOrderId, payload.clientOrderId);
  return {
    type: "GARBAGE",
    given: typeof type === "string" ? type : null,
    agentId: readableId(response.agentId),
    bookId: readableId(payload.bookId),
    clientOrderId: named.ok ? named.data : null,
    // Checked with the batch: a bad delay fails the script.
    delay: (response.delay as number | undefined) ?? 0,
    field: result.field,
    problem: result.problem,
  };
}

/**
 * A batch. Its own fields and each response's `delay` (the time the validator gives the
 * response) are the script's: a problem there fails the whole script. Everything else in a
 * response is the agent's: garbage there is rejected per instruction (see `parseResponse`).
 */
const batchSchema = z.object({
  /** Simulation time (ns) at which the batch arrives; each response is processed at +delay. */
  timestamp: integer(0),
  responses: z.array(z.unknown()).default([]),
}).strict().superRefine((batch, ctx) => {
  batch.responses.forEach((response, i) => {
    if (!isRecord(response)) return;
    const given = delay.safeParse(response.delay);
    if (!given.success) {
      ctx.addIssue({
        code: "custom",
        path: ["responses", i, "delay"],
        message: given.error.issues[0].message,
      });
    } else if (batch.timestamp + given.data > Number.MAX_SAFE_INTEGER) {
      // Beyond 2^53 ns the sum is no longer exact: responses would run out of order.
      ctx.addIssue({
        code: "custom",
        path: ["responses", i, "delay"],
        message: "timestamp + delay must stay within 2^53 - 1 ns",
      });
    }
  });
}).transform((batch) => ({
  timestamp: batch.timestamp,
  responses: batch.responses.map(parseResponse),
}));

/** A whole replay script. */
const replayScriptSchema = z.object({
  exchange: exchangeParamsSchema,
  batches: z.array(batchSchema).superRefine((batches, ctx) => {
    const at = batches.findIndex((b, i) => i > 0 && b.timestamp < batches[i - 1].timestamp);
    if (at > 0) {
      ctx.addIssue({
        code: "custom",
        message: `${batches[at].timestamp} is before batch ${at - 1}'s ` +
          `${batches[at - 1].timestamp}: batch timestamps must not decrease`,
        path: [at, "timestamp"],
      });
    }
  }),
}).strict();

/** Exchange parameters after defaults. */
export type ExchangeParams = z.output<typeof exchangeParamsSchema>;
/** A replay script after defaults. */
export type ReplayScript = z.output<typeof replayScriptSchema>;

/** Error for a script that does not match the schema; the message names each bad field. */
export class ReplayScriptError extends Error {
  override name = "ReplayScriptError";
}

/** Validates a parsed JSON value as a replay script, naming every offending field on failure. */
export function parseReplayScript(value: unknown): ReplayScript {
  const result = replayScriptSchema.safeParse(value, { error: requiredOrDefault });
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 10).map((issue) => {
    const path = issue.path.length === 0 ? "(script)" : issue.path.map(String).join(".");
    return `${path}: ${issue.message}`;
  });
  throw new ReplayScriptError(`invalid replay script:\n  ${problems.join("\n  ")}`);
}

/** Where one packed instruction came from, to name it in reject lines. */
interface Source {
  /** The response's type; for garbage, the type it gave if a string. */
  type: string | null;
  agentId: number | null;
  bookId: number | null;
  orderId: number | null;
  clientOrderId: number | null;
  /** Garbage: the offending field and what is wrong with it. */
  field?: string;
  problem?: string;
}

/** Bytes of one packed instruction (`tx_instruction`). */
const RECORD_SIZE = 64;
/** Where a record holds its flags (one byte) and its agent id (int32, little-endian). */
const FLAGS_OFFSET = 6;
const AGENT_OFFSET = 8;

function agentBytes(agentId: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, agentId, true);
  return bytes;
}

/**
 * The instructions processed at one time, with where each came from. Garbage takes its turn in
 * the batch as a record of kind 0 that keeps only its flags and agent id, an instruction of no
 * known kind, which the core rejects as INVALID_INSTRUCTION in order among the others' events
 * (or drops with its agent's response after a reset), changing nothing.
 */
class Step {
  readonly batch = new InstructionBatch();
  sources: Source[] = [];
  #garbage: number[] = [];

  clear(): void {
    this.batch.clear();
    this.sources = [];
    this.#garbage = [];
  }

  /** Appends an instruction the replay refuses. */
  refuse(source: Source & { field: string; problem: string }): void {
    this.#garbage.push(this.batch.length);
    // Any record will do before it is cleared; this one the core refuses too (no such book).
    this.batch.cancel({ agentId: -1, bookId: -1, orderId: -1 });
    this.sources.push(source);
  }

  /** Marks the instructions from `from` on, one response sent by `agentId`, to be dropped
   * together if the exchange takes a reset of that agent earlier in this call. Garbage among them
   * is given the agent, to be dropped with them. */
  dropAfterReset(from: number, agentId: number): void {
    for (const i of this.#garbage) {
      if (i >= from) this.batch.bytes.set(agentBytes(agentId), i * RECORD_SIZE + AGENT_OFFSET);
    }
    this.batch.dropAfterReset(from, agentId);
  }

  submit(exchange: Exchange, at: number): void {
    if (this.#garbage.length === 0) return exchange.submit(BigInt(at), this.batch);
    const records = this.batch.bytes.slice();
    for (const i of this.#garbage) {
      // Only the flags and the agent stay: a kind 0 record is no instruction.
      const start = i * RECORD_SIZE;
      records.fill(0, start, start + FLAGS_OFFSET);
      records[start + FLAGS_OFFSET + 1] = 0;
      records.fill(0, start + AGENT_OFFSET + 4, start + RECORD_SIZE);
    }
    exchange.submitRecords(BigInt(at), records);
  }
}

/** Instruction quantities that cannot be represented become -1: the core rejects them. With
 * `saturate`, a positive decimal too large for int64 becomes the largest value instead (a cancel
 * of more than the order holds cancels all of it). */
function quantity(text: string, decimals: number, saturate = false): bigint {
  try {
    return toUnits(text, decimals);
  } catch {
    return saturate && /^\s*\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text)
      ? 0x7FFF_FFFF_FFFF_FFFFn
      : -1n;
  }
}

/**
 * A leverage in the core's units of 10^-9. Truncated as it is, a value beyond the range by less
 * than a unit (4.0000000001 with maxLeverage 4, or -0.0000000001) would fall inside it; the range
 * is judged on the value itself, as the reference judges it, so such a value is moved just past it.
 */
function leverageUnits(text: string, maxLeverage: string): bigint {
  const units = quantity(text, 9);
  if (!hasDigitsBelow(text, 9)) return units;
  if (text.trim().startsWith("-")) return -1n;
  const max = toUnits(maxLeverage, 9);
  // A maxLeverage with digits past 10^-9 is itself truncated: within that unit, no verdict.
  return units === max && !hasDigitsBelow(maxLeverage, 9) ? max + 1n : units;
}

function configUnits(text: string, decimals: number, field: string): bigint {
  try {
    return toUnits(text, decimals);
  } catch {
    throw new ReplayScriptError(`invalid replay script:\n  exchange.${field}: out of range`);
  }
}

/** Scales the script's exchange parameters into the core's configuration. */
function exchangeConfig(params: ExchangeParams): ExchangeConfig {
  // Scaled before sorting: thresholds past 2^53 may differ only beyond a double's precision,
  // and a tier out of range is named by its place in the script.
  const tiers = params.feePolicy.tiers.map((tier, i) => ({
    volumeRequired: configUnits(
      tier.volumeRequired,
      params.quoteDecimals,
      `feePolicy.tiers.${i}.volumeRequired`,
    ),
    makerE9: configUnits(tier.makerFee, 9, `feePolicy.tiers.${i}.makerFee`),
    takerE9: configUnits(tier.takerFee, 9, `feePolicy.tiers.${i}.takerFee`),
  })).sort((a, b) =>
    a.volumeRequired < b.volumeRequired ? -1 : a.volumeRequired > b.volumeRequired ? 1 : 0
  );
  return {
    books: params.books,
    agents: params.agents,
    priceDecimals: params.priceDecimals,
    volumeDecimals: params.volumeDecimals,
    baseDecimals: params.baseDecimals,
    quoteDecimals: params.quoteDecimals,
    initialBase: configUnits(params.balances.base, params.baseDecimals, "balances.base"),
    initialQuote: configUnits(params.balances.quote, params.quoteDecimals, "balances.quote"),
    maxLeverageE9: configUnits(params.maxLeverage, 9, "maxLeverage"),
    maxLoan: configUnits(params.maxLoan, params.quoteDecimals, "maxLoan"),
    maintenanceMarginE9: configUnits(params.maintenanceMargin, 9, "maintenanceMargin"),
    feeHistorySlots: params.feePolicy.historySlots,
    feeSlotPeriodNs: BigInt(params.feePolicy.slotPeriod),
    feeTiers: tiers,
  };
}

const stpNames = ["NONE", "CO", "CN", "CB", "DC"] as const;
const tifNames = ["GTC", "GTT", "IOC", "FOK"] as const;

/** Appends one response's instructions to the step, recording where each came from. */
function pack(response: ScriptResponse, params: ExchangeParams, step: Step): void {
  if (response.type === "GARBAGE") {
    step.refuse({
      type: response.given,
      agentId: response.agentId,
      bookId: response.bookId,
      orderId: null,
      clientOrderId: response.clientOrderId,
      field: response.field,
      problem: response.problem,
    });
    return;
  }
  const { batch, sources } = step;
  const source = { type: response.type, agentId: response.agentId, orderId: null };
  switch (response.type) {
    case "PLACE_ORDER_LIMIT":
    case "PLACE_ORDER_MARKET": {
      const p = response.payload;
      const order = {
        agentId: response.agentId,
        bookId: p.bookId,
        direction: p.direction === 0 ? "buy" as const : "sell" as const,
        currency: p.currency === 0 ? "base" as const : "quote" as const,
        volume: quantity(p.volume, p.currency === 0 ? params.baseDecimals : params.quoteDecimals),
        stp: stpNames[p.stpFlag],
        leverageE9: leverageUnits(p.leverage, params.maxLeverage),
        clientOrderId: p.clientOrderId,
      };
      if (response.type === "PLACE_ORDER_LIMIT") {
        const l = response.payload;
        batch.limit({
          ...order,
          price: quantity(l.price, params.priceDecimals),
          timeInForce: tifNames[l.timeInForce],
          postOnly: l.postOnly,
          expiryNs: l.timeInForce === 1 && l.expiryPeriod !== null
            ? BigInt(l.expiryPeriod)
            : undefined,
        });
      } else {
        batch.market(order);
      }
      sources.push({ ...source, bookId: p.bookId, clientOrderId: p.clientOrderId });
      return;
    }
    case "CANCEL_ORDERS": {
      const bookId = response.payload.bookId;
      response.payload.cancellations.forEach((entry, i) => {
        const c = check(cancellationSchema, entry);
        if (!c.ok) {
          step.refuse({
            ...source,
            bookId,
            orderId: readableId(valueAt(entry, ["orderId"])),
            clientOrderId: null,
            field: `payload.cancellations.${i}${c.field === "(response)" ? "" : `.${c.field}`}`,
            problem: c.problem,
          });
          return;
        }
        batch.cancel({
          agentId: response.agentId,
          bookId,
          orderId: c.data.orderId,
          volume: c.data.volume === null
            ? null
            : quantity(c.data.volume, params.baseDecimals, true),
        });
        sources.push({ ...source, bookId, orderId: c.data.orderId, clientOrderId: null });
      });
      return;
    }
    case "RESET_AGENT":
      response.payload.agentIds.forEach((entry, i) => {
        const agentId = check(id, entry);
        if (!agentId.ok) {
          step.refuse({
            ...source,
            agentId: null,
            bookId: null,
            clientOrderId: null,
            field: `payload.agentIds.${i}`,
            problem: agentId.problem,
          });
          return;
        }
        batch.reset(agentId.data);
        sources.push({ ...source, agentId: agentId.data, bookId: null, clientOrderId: null });
      });
      return;
  }
}

/** The agents a response resets, once packed. */
function resetAgents(response: ScriptResponse): number[] {
  if (response.type !== "RESET_AGENT") return [];
  return response.payload.agentIds.filter((entry): entry is number => check(id, entry).ok);
}

/** Formats an exchange event as one JSON object of the replay output. */
function eventLine(
  event: ExchangeEvent,
  params: ExchangeParams,
  sources: Source[],
): Record<string, unknown> {
  const price = (ticks: bigint) => formatUnits(ticks, params.priceDecimals);
  const base = (units: bigint) => formatUnits(units, params.baseDecimals);
  const quote = (units: bigint) => formatUnits(units, params.quoteDecimals);
  const side = event.direction === "buy" ? "BUY" : "SELL";
  const common = { bookId: event.bookId, timestamp: Number(event.timestamp) };
  switch (event.type) {
    case "trade":
      return {
        event: "trade",
        ...common,
        tradeId: event.tradeId,
        direction: side,
        price: price(event.price),
        volume: base(event.volume),
        aggressingAgentId: event.agentId,
        restingAgentId: event.restingAgentId,
        aggressingOrderId: event.orderId,
        restingOrderId: event.restingOrderId,
        aggressingClientOrderId: event.clientOrderId,
        restingClientOrderId: event.restingClientOrderId,
        makerFee: quote(event.makerFee),
        takerFee: quote(event.takerFee),
      };
    case "accepted":
    case "placed":
      return {
        event: event.type === "placed" ? "place" : "accepted",
        ...common,
        orderId: event.orderId,
        agentId: event.agentId,
        clientOrderId: event.clientOrderId,
        orderType: event.market ? "market" : "limit",
        direction: side,
        price: event.market ? null : price(event.price),
        volume: base(event.type === "placed" ? event.remaining : event.volume),
      };
    case "cancelled":
      return {
        event: "cancel",
        ...common,
        orderId: event.orderId,
        agentId: event.agentId,
        volume: base(event.volume),
        remaining: base(event.remaining),
        cause: event.cause === null ? null : REPLAY_CAUSE[event.cause],
      };
    case "expired":
    case "stpReduced":
    case "remainderDropped":
      return {
        event: { expired: "expire", stpReduced: "stp", remainderDropped: "remainder" }[event.type],
        ...common,
        orderId: event.orderId,
        agentId: event.agentId,
        volume: base(event.volume),
      };
    case "reset":
      return { event: "reset", bookId: null, timestamp: common.timestamp, agentId: event.agentId };
    case "rejected": {
      const source = event.instruction === null ? undefined : sources[event.instruction];
      return {
        event: "reject",
        ...common,
        bookId: source ? source.bookId : event.bookId,
        agentId: source ? source.agentId : event.agentId,
        // Without a source instruction it came from the clock: a GTT expiry whose order was
        // gone, or a margin call's liquidation order.
        type: source ? source.type : event.expiry ? "EXPIRY" : "PLACE_ORDER_MARKET",
        ...(source || event.expiry ? {} : { cause: "margin_call" }),
        orderId: source ? source.orderId : event.orderId,
        clientOrderId: source ? source.clientOrderId : event.clientOrderId,
        reason: event.reason,
        ...(source?.field === undefined ? {} : { field: source.field, problem: source.problem }),
      };
    }
    case "marginCall":
    case "loanSettled": {
      // Long loans (from leveraged buys) are in quote, short loans in base.
      const amount = event.direction === "buy" ? quote(event.amount) : base(event.amount);
      return {
        event: event.type === "marginCall" ? "margin_call" : "loan_settled",
        ...common,
        orderId: event.orderId,
        agentId: event.agentId,
        direction: side,
        ...(event.type === "marginCall" ? { price: price(event.price) } : {}),
        amount,
        ...(event.type === "loanSettled" ? { writeOff: event.writeOff } : {}),
      };
    }
  }
}

/** The resulting books and accounts, every number a decimal string at its configured decimals. */
function finalState(exchange: Exchange, params: ExchangeParams): Record<string, unknown> {
  const price = (ticks: bigint) => formatUnits(ticks, params.priceDecimals);
  const base = (units: bigint) => formatUnits(units, params.baseDecimals);
  const quote = (units: bigint) => formatUnits(units, params.quoteDecimals);
  const levels = (bookId: number, side: "bids" | "asks") =>
    exchange.levels(bookId, side).map((l) => [price(l.price), base(l.volume)]);
  const books = Array.from({ length: params.books }, (_, bookId) => ({
    bookId,
    bids: levels(bookId, "bids"),
    asks: levels(bookId, "asks"),
  }));
  const accounts = [];
  for (let agentId = 0; agentId < params.agents; agentId++) {
    for (let bookId = 0; bookId < params.books; bookId++) {
      const b = exchange.balances(agentId, bookId);
      const f = exchange.feeState(agentId, bookId);
      accounts.push({
        agentId,
        bookId,
        base: {
          free: base(b.baseFree),
          reserved: base(b.baseReserved),
          loan: base(b.baseLoan),
          collateral: base(b.baseCollateral),
        },
        quote: {
          free: quote(b.quoteFree),
          reserved: quote(b.quoteReserved),
          loan: quote(b.quoteLoan),
          collateral: quote(b.quoteCollateral),
        },
        // What the exchange publishes per account and book: the volume of the history slots
        // (the tier's basis at the next roll) and the current tier's rates, in 10^-9.
        fees: {
          volume: quote(f.volume),
          tier: f.tier,
          makerFeeRate: formatUnits(f.makerE9, 9),
          takerFeeRate: formatUnits(f.takerE9, 9),
        },
      });
    }
  }
  return { books, accounts };
}

/**
 * Runs a script through a fresh exchange, calling `emit` with one JSON line per event and a last
 * `{"final": ...}` line. Responses are processed at `timestamp + delay` (ties in script order);
 * every batch timestamp also advances the clock (expiries, fee rolls). The core's invariants are
 * verified once, before the final line.
 */
export function runReplay(script: ReplayScript, emit: (line: string) => void): void {
  const params = script.exchange;
  const steps = new Map<number, { response: ScriptResponse; sentAt: number }[]>();
  for (const batch of script.batches) {
    if (!steps.has(batch.timestamp)) steps.set(batch.timestamp, []);
    for (const response of batch.responses) {
      const at = batch.timestamp + response.delay;
      if (!steps.has(at)) steps.set(at, []);
      steps.get(at)!.push({ response, sentAt: batch.timestamp });
    }
  }
  /** When each agent was last reset: its responses sent by then and still on their way (arriving
   * later) are dropped, as the exchange drops a reset agent's queued instructions. */
  const resetAt = new Map<number, number>();
  const exchange = Exchange.open(exchangeConfig(params));
  try {
    const step = new Step();
    /** Agents the packed instructions reset, with when they were reset before. */
    const resetBefore = new Map<number, number | undefined>();
    const submit = (at: number) => {
      step.submit(exchange, at);
      const reset = new Set<number>();
      for (const event of exchange.drainEvents()) {
        if (event.type === "reset") reset.add(event.agentId);
        // A response the reset before it dropped: it never reached the exchange.
        if (event.type === "rejected" && event.reason === "AGENT_RESET") continue;
        emit(JSON.stringify(eventLine(event, params, step.sources)));
      }
      // A reset the exchange refused (HOLDINGS_LIMIT) drops nothing.
      for (const [agentId, before] of resetBefore) {
        if (reset.has(agentId)) continue;
        if (before === undefined) resetAt.delete(agentId);
        else resetAt.set(agentId, before);
      }
      step.clear();
      resetBefore.clear();
    };
    for (const at of [...steps.keys()].sort((a, b) => a - b)) {
      const responses = steps.get(at)!;
      responses.forEach(({ response, sentAt }) => {
        const agentId = response.agentId;
        // A reset packed in this call decides only what comes after it: the drops already due
        // stand whatever it does.
        const resetInCall = agentId !== null && resetBefore.has(agentId);
        const before = resetInCall ? resetBefore.get(agentId) : resetAt.get(agentId ?? -1);
        if (agentId !== null && sentAt <= (before ?? -1)) return;
        const from = step.batch.length;
        pack(response, params, step);
        // Dropped in the call, whole, if the exchange takes the reset before it: whether it does,
        // only its events tell, and a split of the call would move the expiries due (expiryPeriod
        // 0) and the margin check, which each call ends and begins with, before what follows.
        if (resetInCall) step.dropAfterReset(from, agentId);
        for (const target of resetAgents(response)) {
          // No such account: nothing is reset, and its responses are rejected in their turn.
          if (target < 0 || target >= params.agents) continue;
          if (!resetBefore.has(target)) resetBefore.set(target, resetAt.get(target));
          resetAt.set(target, at);
        }
      });
      submit(at);
    }
    // Once, at the end: checking after every step walks the whole state each time, which made
    // scripts of many small batches quadratic.
    exchange.check();
    emit(JSON.stringify({ final: finalState(exchange, params) }));
  } finally {
    exchange.close();
  }
}
