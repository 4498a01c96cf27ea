/**
 * Instructions a trading agent returns, with the validation the validator applies to a miner's
 * response, builders for each instruction, and the conversion into simulation-engine instructions.
 *
 * ```ts
 * import { limitOrder, validateInstructions } from "./instructions.ts";
 * const response = { agent_id: 3, instructions: [limitOrder(3, 0, 0, 1.5, 299.95)] };
 * const { accepted, rejected } = validateInstructions(response, { uid: 3, bookCount: 20 });
 * ```
 * @module
 */
import { z } from "../../cli/zod_messages.ts";
import { laxResponse } from "./lax_wire.ts";
import type { Instruction as EngineInstruction } from "../../sim/engine.ts";
import { describeIssues } from "./state.ts";
import { untrustedText } from "../../cli/log.ts";

/** Order side. */
export const BUY = 0;
/** Order side. */
export const SELL = 1;
/** Self-trade prevention: cancel the resting (oldest) order. The default. */
export const STP_CANCEL_OLDEST = 1;
/** Self-trade prevention: cancel the aggressing (newest) order. */
export const STP_CANCEL_NEWEST = 2;
/** Self-trade prevention: cancel both orders. */
export const STP_CANCEL_BOTH = 3;
/** Self-trade prevention: decrement both by the overlap, cancel what is left of the smaller. */
export const STP_DECREMENT_CANCEL = 4;
/** Time in force: good till cancelled. */
export const GTC = 0;
/** Time in force: good till time (needs `expiryPeriod`). */
export const GTT = 1;
/** Time in force: immediate or cancel. */
export const IOC = 2;
/** Time in force: fill or kill. */
export const FOK = 3;
/** Market-order quantity in base units. */
export const CURRENCY_BASE = 0;
/** Market-order quantity in quote units. */
export const CURRENCY_QUOTE = 1;

/** Most instructions one response may carry (the reference's schema limit). */
export const MAX_INSTRUCTIONS_PER_RESPONSE = 200_000;
/** Instructions kept per book per response. */
export const DEFAULT_MAX_INSTRUCTIONS_PER_BOOK = 20;
/** Most order ids one CANCEL_ORDERS may list (the reference sets none; far above any agent's
 * open orders, far below what would make one reply cost the validator seconds). */
export const MAX_CANCELLATIONS = 10_000;
/** Longest extra delay an instruction may request, ns (1 h): each queued order holds memory
 * until it arrives, and one due after the simulation ends never does. */
export const MAX_REQUESTED_DELAY_NS = 3_600_000_000_000;
/** Largest `clientOrderId` an order can carry: the exchange keeps it as a 32-bit unsigned
 * integer, with 0xFFFFFFFF meaning none. */
export const MAX_CLIENT_ORDER_ID = 0xFFFF_FFFE;

/** A short rendering of an offending value for an error message, safe to log: a miner chose it. */
function shown(value: unknown): string {
  if (Array.isArray(value) && value.length > 10) return `${value.length} entries`;
  if (typeof value === "bigint") return untrustedText(`${value}n`, 40);
  // JSON.stringify shows NaN and Infinity as null, and a function not at all. It throws on a
  // cycle or a getter that throws, which an agent class run in code can hand over: the message
  // naming the field must not fail in their place.
  let text: string;
  try {
    text = typeof value === "number" ? String(value) : JSON.stringify(value) ?? String(value);
  } catch {
    return "a value JSON cannot write (a cycle, or a getter that throws)";
  }
  return untrustedText(text, 40);
}

/**
 * One message for every way a field can be wrong, saying what it accepts: `required (<what>)`
 * when it is missing, `must be <what>, got <value>` otherwise. `abort` keeps it to one issue per
 * field where several checks fail.
 */
function accepts(what: string) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined
        ? `required (${what})`
        : `must be ${what}, got ${shown(issue.input)}`,
    abort: true,
  };
}

/** A safe integer (within ±2^53) described by `what`. */
const integer = (what: string) => z.number(accepts(what)).int(accepts(what));
/** Any integer, as the reference's models take an order id: one the exchange cannot hold is
 * refused by it, for that order alone. */
const anyInteger = (what: string) =>
  z.number(accepts(what)).refine(Number.isInteger, accepts(what));
/** A finite number above 0 (`Infinity` and `NaN` are no numbers to zod). */
const positive = (what = "a finite number > 0") => z.number(accepts(what)).positive(accepts(what));

const DIRECTION = "0 (buy) or 1 (sell)";
const direction = z.union([z.literal(0), z.literal(1)], accepts(DIRECTION));
const STP = "1 (cancel oldest), 2 (cancel newest), 3 (cancel both) or 4 (decrement and cancel)";
const stp = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)], accepts(STP))
  .default(1);
const CURRENCY = "0 (base) or 1 (quote)";
const currency = z.union([z.literal(0), z.literal(1)], accepts(CURRENCY)).default(0);
const TIME_IN_FORCE = "0 (GTC), 1 (GTT), 2 (IOC) or 3 (FOK)";
const timeInForce = z.union(
  [z.literal(0), z.literal(1), z.literal(2), z.literal(3)],
  accepts(TIME_IN_FORCE),
).default(0);
const CLIENT_ORDER_ID = "an integer, or null for none";
const DELAY = `an integer number of ns in 0..${MAX_REQUESTED_DELAY_NS} (at most 1 h)`;
const BOOK_ID = "a book id, an integer >= 0";
const EXPIRY_PERIOD = "an integer number of ns > 0, or null for none";
const common = {
  agentId: integer("the agent's uid, this.uid in an Agent"),
  delay: integer(DELAY).min(0, accepts(DELAY)).max(MAX_REQUESTED_DELAY_NS, accepts(DELAY))
    .default(0),
};
// Any whole number >= 0, past 2^53 too: validators drop an instruction for a book the simulation
// does not have, without voiding the rest of the reply.
const bookId = anyInteger(BOOK_ID).refine((id) => id >= 0, accepts(BOOK_ID));
// `nullable` passes a missing value on to the integer, which calls it required.
const clientOrderId = anyInteger(CLIENT_ORDER_ID).nullable();

/** A limit order. `clientOrderId` must be present (null allowed). */
export const limitOrderSchema = z.object({
  type: z.literal("PLACE_ORDER_LIMIT"),
  ...common,
  bookId,
  direction,
  quantity: positive(),
  price: positive(),
  clientOrderId,
  stp,
  postOnly: z.boolean(accepts("true or false")).default(false),
  timeInForce,
  expiryPeriod: integer(EXPIRY_PERIOD).positive(accepts(EXPIRY_PERIOD)).nullable().default(null),
  currency,
});

/** A market order; with `currency` 1 the quantity is an amount of quote. */
export const marketOrderSchema = z.object({
  type: z.literal("PLACE_ORDER_MARKET"),
  ...common,
  bookId,
  direction,
  quantity: positive(),
  clientOrderId,
  stp,
  currency,
});

const CANCELLATION = "{ orderId, volume }";
const CANCELLATIONS = `a list of ${CANCELLATION}, at most ${MAX_CANCELLATIONS}`;
const CANCELLED_VOLUME = "a finite number > 0, or null to cancel the whole order";

/** Cancellations on one book; `volume` null cancels the whole remaining order. */
export const cancelOrdersSchema = z.object({
  type: z.literal("CANCEL_ORDERS"),
  ...common,
  bookId,
  cancellations: z.array(
    z.object({
      // Any integer, as the reference's schema: an id no order has is refused by the exchange.
      orderId: anyInteger("an order id, an integer"),
      volume: positive(CANCELLED_VOLUME).nullable(),
    }, accepts(CANCELLATION)),
    accepts(CANCELLATIONS),
  ).max(MAX_CANCELLATIONS, accepts(CANCELLATIONS)),
});

/** Reset of agents' accounts: validator-only; a miner sending it voids its whole response. */
export const resetAgentSchema = z.object({
  type: z.literal("RESET_AGENT"),
  ...common,
  agentIds: z.array(integer("an agent uid, an integer"), accepts("a list of agent uids")),
});

/** The types an agent may send (`RESET_AGENT` is the validator's). */
const AGENT_TYPES = "PLACE_ORDER_LIMIT, PLACE_ORDER_MARKET or CANCEL_ORDERS";

/** What an instruction that is no object, or of no known type, is told. */
function instructionError(issue: { code?: string; input?: unknown }): string {
  if (issue.code !== "invalid_union") {
    return `must be an instruction object, got ${shown(issue.input)}`;
  }
  // A discriminator that matches no type: the issue carries the whole instruction.
  const type = (issue.input as { type?: unknown }).type;
  return type === undefined
    ? `required (${AGENT_TYPES})`
    : `must be ${AGENT_TYPES}, got ${shown(type)}`;
}

/** Any instruction. */
export const instructionSchema = z.discriminatedUnion("type", [
  limitOrderSchema,
  marketOrderSchema,
  cancelOrdersSchema,
  resetAgentSchema,
], { error: instructionError });
/** Any instruction, as an agent returns it. */
export type Instruction = z.infer<typeof instructionSchema>;
/** Any instruction before defaults are applied (what builders and agents may write). */
export type InstructionInput = z.input<typeof instructionSchema>;
/** A limit order instruction. */
export type LimitOrder = z.infer<typeof limitOrderSchema>;
/** A market order instruction. */
export type MarketOrder = z.infer<typeof marketOrderSchema>;
/** A cancellation instruction. */
export type CancelOrders = z.infer<typeof cancelOrdersSchema>;

/** The fields each instruction type has; validators strip any other, as the reference's models. */
const knownFields: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  [limitOrderSchema, marketOrderSchema, cancelOrdersSchema, resetAgentSchema].map((schema) => [
    schema.shape.type.value,
    new Set(Object.keys(schema.shape)),
  ]),
);

/**
 * The first field of a response's instructions that validators ignore, named with its instruction
 * (`instruction 0 (PLACE_ORDER_LIMIT) carries 'leverage', which validators ignore ...`), or null.
 * Validators drop such a field without a word (in the reference too), so an agent relying on one,
 * such as `leverage`, would trade otherwise than it meant without knowing it.
 */
export function ignoredField(raw: unknown): string | null {
  const items = typeof raw === "object" && raw !== null
    ? (raw as { instructions?: unknown }).instructions
    : undefined;
  if (!Array.isArray(items)) return null;
  for (const [index, item] of items.entries()) {
    if (typeof item !== "object" || item === null) continue;
    const type = (item as { type?: unknown }).type;
    const known = typeof type === "string" ? knownFields.get(type) : undefined;
    if (known === undefined) continue;
    const field = Object.keys(item).find((key) => !known.has(key));
    if (field === undefined) continue;
    const why = field === "leverage"
      ? ": the subnet's protocol has no leverage, so a miner's orders are cash orders"
      : "";
    return `instruction ${index} (${type}) carries '${field}', which validators ignore${why}`;
  }
  return null;
}

/** A miner's response to a state update (`FinanceAgentResponse`). */
export const agentResponseSchema = z.object({
  agent_id: z.number().int(),
  instructions: z.array(z.unknown()).max(
    MAX_INSTRUCTIONS_PER_RESPONSE,
    accepts(`a list of at most ${MAX_INSTRUCTIONS_PER_RESPONSE} instructions`),
  ).default([]),
});
/** A miner's response to a state update. */
export interface AgentResponse {
  agent_id: number;
  instructions: Instruction[];
}

/** What the validator knows when it checks one miner's response. */
export interface ValidationContext {
  /** The miner's uid; the response and every instruction must carry it. */
  uid: number;
  /** Books in the simulation; instructions for other book ids are dropped. */
  bookCount: number;
  /** The miner's traded quote volume per book over the assessment period (24 h). */
  volumes?: ArrayLike<number>;
  /** Volume at which new placements on a book are dropped (`capital_turnover_cap × wealth`). */
  volumeCap?: number;
  /** Instructions kept per book (default 20). */
  maxInstructionsPerBook?: number;
  /**
   * Stop at the first invalid instruction (it voids the response anyway) instead of naming every
   * one: the validator's setting, as describing 200 000 invalid instructions takes seconds.
   */
  firstInvalidOnly?: boolean;
}

/**
 * The rule that dropped an instruction: `invalid` (it fails the schema, which voids the whole
 * response), `unknownBook` (its book is outside the simulation), `volumeCap` (a placement on a book
 * where the miner's volume has reached the cap), `instructionsPerBook` (past the per-book limit).
 */
export type RejectionRule = "invalid" | "unknownBook" | "volumeCap" | "instructionsPerBook";

/** One instruction the validator did not forward, and why. */
export interface Rejection {
  /** Position in the response's `instructions`. */
  index: number;
  rule: RejectionRule;
  reason: string;
}

/** Outcome of {@linkcode validateInstructions}. */
export interface ValidationResult {
  /** Instructions to forward to the simulation, in the miner's order, defaults applied. */
  accepted: Instruction[];
  /** Instructions dropped one by one. */
  rejected: Rejection[];
  /** Set when the whole response was void (every instruction dropped), with the reason. */
  discarded: string | null;
  /**
   * Whether the response itself was refused (not a valid response, or another uid's), which the
   * reference counts as no response; false when it stands and only its instructions are void.
   */
  refused: boolean;
}

/**
 * Checks a miner's response as the validator does. A response that is not a valid
 * `{agent_id, instructions}` object, whose `agent_id` is not the miner's uid, or with any
 * instruction failing the schema is void. An instruction for another agent or a `RESET_AGENT`
 * voids all of the miner's instructions. Then, in order: instructions for a book outside
 * `[0, bookCount)` are dropped; placements on a book where the miner's volume has reached the
 * cap are dropped (cancellations pass); at most `maxInstructionsPerBook` instructions per book
 * are kept.
 */
export function validateInstructions(raw: unknown, context: ValidationContext): ValidationResult {
  // Values the reference's lax pydantic models accept (numeric text, 1.0 for 1, "yes") first;
  // a reply over the instruction limit is refused before any is copied.
  const listed = typeof raw === "object" && raw !== null
    ? (raw as { instructions?: unknown }).instructions
    : undefined;
  const tooMany = Array.isArray(listed) && listed.length > MAX_INSTRUCTIONS_PER_RESPONSE;
  const envelope = agentResponseSchema.safeParse(tooMany ? raw : laxResponse(raw));
  if (!envelope.success) {
    return refuse(`invalid response: ${describeIssues(envelope.error)}`, []);
  }
  if (envelope.data.agent_id !== context.uid) {
    return refuse(`response agent_id ${envelope.data.agent_id} is not uid ${context.uid}`, []);
  }
  const parsed: Instruction[] = [];
  const invalid: Rejection[] = [];
  const items = envelope.data.instructions;
  for (let index = 0; index < items.length; index++) {
    const result = instructionSchema.safeParse(items[index]);
    if (result.success) parsed.push(result.data);
    else {
      invalid.push({ index, rule: "invalid", reason: describeIssues(result.error) });
      if (context.firstInvalidOnly) break;
    }
  }
  if (invalid.length > 0) {
    return refuse(`instruction ${invalid[0].index} invalid: ${invalid[0].reason}`, invalid);
  }
  for (const [index, instruction] of parsed.entries()) {
    if (instruction.agentId !== context.uid) {
      return void_(
        `instruction ${index} is for agent ${instruction.agentId}, not ${context.uid}`,
        [],
      );
    }
    if (instruction.type === "RESET_AGENT") {
      return void_(`instruction ${index}: RESET_AGENT is reserved for validators`, []);
    }
  }
  const limit = context.maxInstructionsPerBook ?? DEFAULT_MAX_INSTRUCTIONS_PER_BOOK;
  const cap = context.volumeCap ?? Infinity;
  const perBook = new Map<number, number>();
  const accepted: Instruction[] = [];
  const rejected: Rejection[] = [];
  for (const [index, instruction] of parsed.entries()) {
    if (instruction.type === "RESET_AGENT") continue;
    const bookId = instruction.bookId;
    if (bookId >= context.bookCount) {
      rejected.push({
        index,
        rule: "unknownBook",
        reason: `bookId ${bookId} outside 0..${context.bookCount - 1}`,
      });
      continue;
    }
    const volume = context.volumes?.[bookId] ?? 0;
    if (instruction.type !== "CANCEL_ORDERS" && volume >= cap) {
      rejected.push({
        index,
        rule: "volumeCap",
        reason: `volume cap ${cap} reached on book ${bookId}`,
      });
      continue;
    }
    const count = (perBook.get(bookId) ?? 0) + 1;
    if (count > limit) {
      rejected.push({
        index,
        rule: "instructionsPerBook",
        reason: `more than ${limit} instructions on book ${bookId}`,
      });
      continue;
    }
    perBook.set(bookId, count);
    accepted.push(instruction);
  }
  return { accepted, rejected, discarded: null, refused: false };
}

/** The response stands, every instruction of it void. */
function void_(reason: string, rejected: Rejection[]): ValidationResult {
  return { accepted: [], rejected, discarded: reason, refused: false };
}

/** The response is refused whole: not one the schema takes (an instruction included), or not
 * the uid's. */
function refuse(reason: string, rejected: Rejection[]): ValidationResult {
  return { accepted: [], rejected, discarded: reason, refused: true };
}

/** Converts a validated miner instruction into the simulation engine's form. */
export function toEngineInstruction(instruction: Instruction): EngineInstruction {
  switch (instruction.type) {
    case "PLACE_ORDER_LIMIT":
      return {
        type: "PLACE_ORDER_LIMIT",
        bookId: instruction.bookId,
        direction: instruction.direction,
        volume: instruction.quantity,
        price: instruction.price,
        clientOrderId: instruction.clientOrderId,
        postOnly: instruction.postOnly,
        timeInForce: instruction.timeInForce,
        expiryPeriod: instruction.expiryPeriod,
        stpFlag: instruction.stp,
      };
    case "PLACE_ORDER_MARKET":
      return {
        type: "PLACE_ORDER_MARKET",
        bookId: instruction.bookId,
        direction: instruction.direction,
        volume: instruction.quantity,
        clientOrderId: instruction.clientOrderId,
        stpFlag: instruction.stp,
        currency: instruction.currency,
      };
    case "CANCEL_ORDERS":
      return {
        type: "CANCEL_ORDERS",
        bookId: instruction.bookId,
        cancellations: instruction.cancellations.map((c) => ({
          orderId: c.orderId,
          volume: c.volume,
        })),
      };
    case "RESET_AGENT":
      return { type: "RESET_AGENT" };
  }
}

/** Engine instructions that arrive together, `delayNs` after the publish instant. */
export interface InstructionBatch {
  delayNs: number;
  instructions: EngineInstruction[];
}

/**
 * Groups a miner's accepted instructions by arrival: each arrives `baseDelayNs` (from its
 * response time) plus its own requested `delay` after the publish instant. Order is kept.
 */
export function scheduleInstructions(
  accepted: Instruction[],
  baseDelayNs: number,
): InstructionBatch[] {
  const batches = new Map<number, EngineInstruction[]>();
  for (const instruction of accepted) {
    const delayNs = baseDelayNs + instruction.delay;
    const batch = batches.get(delayNs) ?? [];
    batch.push(toEngineInstruction(instruction));
    batches.set(delayNs, batch);
  }
  return [...batches].map(([delayNs, instructions]) => ({ delayNs, instructions }));
}

/** Options of {@linkcode limitOrder}. */
export interface LimitOrderOptions {
  delay?: number;
  clientOrderId?: number | null;
  stp?: 1 | 2 | 3 | 4;
  postOnly?: boolean;
  timeInForce?: 0 | 1 | 2 | 3;
  /** ns; required for GTT. */
  expiryPeriod?: number | null;
}

const CLIENT_ORDER_ID_RANGE = `an integer in 0..${MAX_CLIENT_ORDER_ID}, or null for none ` +
  "(the exchange reads 0xFFFFFFFF as none)";
/**
 * A `clientOrderId` in the range the exchange can keep. The validator's schema takes any integer,
 * as the reference's does, and the exchange rejects an order whose id is out of range; the
 * builders refuse it at once.
 */
const clientOrderIdInRange = integer(CLIENT_ORDER_ID_RANGE)
  .min(0, accepts(CLIENT_ORDER_ID_RANGE))
  .max(MAX_CLIENT_ORDER_ID, accepts(CLIENT_ORDER_ID_RANGE))
  .nullable();
const builtLimitOrderSchema = limitOrderSchema.extend({ clientOrderId: clientOrderIdInRange });
const builtMarketOrderSchema = marketOrderSchema.extend({ clientOrderId: clientOrderIdInRange });

const LIMIT_OPTIONS = ["delay", "clientOrderId", "stp", "postOnly", "timeInForce", "expiryPeriod"];
const MARKET_OPTIONS = ["delay", "clientOrderId", "stp", "currency"];

/** Why a builder's option is none, for the names a port from the reference may carry. */
const NOT_AN_OPTION: Record<string, string> = {
  leverage: "the subnet's protocol has no leverage, so a miner's orders are cash orders",
  currency: "a limit order's quantity is always in base",
};

/**
 * `options` as given, or `{}` for none; throws a RangeError naming an option the builder does
 * not take (`postonly`, `leverage`), which it would otherwise leave out without a word.
 */
function knownOptions<T extends object>(
  options: T | null | undefined,
  known: string[],
  builder: string,
): T {
  if (options === null || options === undefined) return {} as T;
  for (const [key, value] of Object.entries(options)) {
    // Unset, or what the builder does anyway (a limit order's quantity in base): nothing lost.
    if (known.includes(key) || value === undefined) continue;
    if (key === "currency" && value === CURRENCY_BASE) continue;
    const why = NOT_AN_OPTION[key];
    throw new RangeError(
      `${builder}: options: '${untrustedText(key, 40)}' is not an option` +
        (why !== undefined ? `: ${why}` : ` (it takes ${known.join(", ")})`),
    );
  }
  return options;
}

/**
 * An instruction a builder made, checked against the validator's schema: a value it would refuse
 * (NaN, a quantity of 0, a negative delay) throws here, in the agent, naming the field, instead of
 * voiding the whole response at the validator unseen.
 */
function checked<T>(schema: z.ZodType<T>, instruction: unknown, builder: string): T {
  const result = schema.safeParse(instruction);
  if (!result.success) throw new RangeError(`${builder}: ${describeIssues(result.error)}`);
  return result.data;
}

/**
 * Builds a limit order. Throws a RangeError for a value the validator would refuse and for values
 * and combinations the exchange would: a `clientOrderId` outside 0..4294967294, GTT without
 * `expiryPeriod`, IOC/FOK with `postOnly`, `expiryPeriod` without GTT.
 */
export function limitOrder(
  agentId: number,
  bookId: number,
  direction: 0 | 1,
  quantity: number,
  price: number,
  given: LimitOrderOptions = {},
): LimitOrder {
  const options = knownOptions(given, LIMIT_OPTIONS, "limitOrder");
  const timeInForce = options.timeInForce ?? GTC;
  const expiryPeriod = options.expiryPeriod ?? null;
  const postOnly = options.postOnly ?? false;
  if (timeInForce === GTT && expiryPeriod === null) {
    throw new RangeError("limitOrder: a GTT order needs an expiryPeriod");
  }
  if ((timeInForce === IOC || timeInForce === FOK) && postOnly) {
    throw new RangeError("limitOrder: an IOC or FOK order cannot be postOnly");
  }
  if (timeInForce !== GTT && expiryPeriod !== null) {
    throw new RangeError("limitOrder: expiryPeriod applies only to GTT orders");
  }
  return checked(builtLimitOrderSchema, {
    type: "PLACE_ORDER_LIMIT",
    agentId,
    delay: options.delay ?? 0,
    bookId,
    direction,
    quantity,
    price,
    clientOrderId: options.clientOrderId ?? null,
    stp: options.stp ?? STP_CANCEL_OLDEST,
    postOnly,
    timeInForce,
    expiryPeriod,
    currency: CURRENCY_BASE,
  }, "limitOrder");
}

/** Options of {@linkcode marketOrder}. */
export interface MarketOrderOptions {
  delay?: number;
  clientOrderId?: number | null;
  stp?: 1 | 2 | 3 | 4;
  /** 1 = `quantity` is an amount of quote. */
  currency?: 0 | 1;
}

/**
 * Builds a market order; throws a RangeError for a value the validator would refuse and for a
 * `clientOrderId` outside 0..4294967294, which the exchange would.
 */
export function marketOrder(
  agentId: number,
  bookId: number,
  direction: 0 | 1,
  quantity: number,
  given: MarketOrderOptions = {},
): MarketOrder {
  const options = knownOptions(given, MARKET_OPTIONS, "marketOrder");
  return checked(builtMarketOrderSchema, {
    type: "PLACE_ORDER_MARKET",
    agentId,
    delay: options.delay ?? 0,
    bookId,
    direction,
    quantity,
    clientOrderId: options.clientOrderId ?? null,
    stp: options.stp ?? STP_CANCEL_OLDEST,
    currency: options.currency ?? CURRENCY_BASE,
  }, "marketOrder");
}

/**
 * Builds a cancellation of orders on one book; `volume` null (default) cancels whole orders.
 * Throws a RangeError for a value the validator would refuse.
 */
export function cancelOrders(
  agentId: number,
  bookId: number,
  orders: (number | { orderId: number; volume: number | null })[],
  delay = 0,
): CancelOrders {
  if (!Array.isArray(orders)) {
    // A lone id (`cancelOrders(0, id)`) would otherwise fail as `orders.map is not a function`.
    const given = orders === undefined
      ? "missing"
      : typeof orders === "object" && orders !== null
      ? "an object"
      : shown(orders);
    const lone = typeof orders === "number" ||
      (typeof orders === "object" && orders !== null && "orderId" in orders);
    throw new RangeError(
      `cancelOrders: orders: must be a list of order ids or ${CANCELLATION}, got ${given}` +
        (lone ? " (wrap it in [ ])" : ""),
    );
  }
  return checked(cancelOrdersSchema, {
    type: "CANCEL_ORDERS",
    agentId,
    delay,
    bookId,
    cancellations: orders.map((o) => typeof o === "number" ? { orderId: o, volume: null } : o),
  }, "cancelOrders");
}
