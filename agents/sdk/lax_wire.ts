/**
 * A miner's reply as the reference validator reads it: its pydantic models run in lax mode, so a
 * hand-written reply may carry `"quantity": "1.5"`, `"bookId": "1"`, `"postOnly": "yes"` or
 * `"direction": true`. {@linkcode laxResponse} rewrites such values into the types the strict
 * schemas expect, following pydantic 2's rules field by field; a value pydantic would refuse is
 * left as it is, for the schema to refuse. (Pydantic also reads "inf" as a quantity; instructions
 * here stay finite.)
 * @module
 */

type Rule = "float" | "int" | "bool" | "choice";

/** The instruction fields and how pydantic reads each. */
const FIELDS: Record<string, Rule> = {
  agentId: "int",
  delay: "int",
  bookId: "int",
  clientOrderId: "int",
  expiryPeriod: "int",
  quantity: "float",
  price: "float",
  postOnly: "bool",
  direction: "choice",
  timeInForce: "choice",
  stp: "choice",
  currency: "choice",
};

const FLOAT_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT_TEXT = /^[+-]?\d+(\.0*)?$/;
const TRUE_TEXT = new Set(["true", "yes", "on", "t", "y", "1"]);
const FALSE_TEXT = new Set(["false", "no", "off", "f", "n", "0"]);

/** Number text as pydantic reads it: surrounding spaces and `_` between digits are allowed. */
function numberText(text: string): string {
  return text.trim().replace(/(?<=\d)_(?=\d)/g, "");
}

function coerce(value: unknown, rule: Rule): unknown {
  if (typeof value === "boolean" && rule !== "bool") return value ? 1 : 0;
  switch (rule) {
    case "float":
      if (typeof value === "string" && FLOAT_TEXT.test(numberText(value))) {
        return Number(numberText(value));
      }
      return value;
    case "int":
      if (typeof value === "string" && INT_TEXT.test(numberText(value))) {
        return Number(numberText(value));
      }
      return value;
    case "bool":
      if (value === 0 || value === 1) return value === 1;
      if (typeof value === "string") {
        const text = value.toLowerCase();
        if (TRUE_TEXT.has(text)) return true;
        if (FALSE_TEXT.has(text)) return false;
      }
      return value;
    case "choice": // an enum of integers: numbers and booleans only, never text
      return value;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const FIELD_RULES = Object.entries(FIELDS);

/** `items` with each element mapped, or `items` itself when no element changes. */
function mapChanged(items: unknown[], map: (item: unknown) => unknown): unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < items.length; i++) {
    const value = map(items[i]);
    if (out === null && !Object.is(value, items[i])) out = items.slice(0, i);
    out?.push(value);
  }
  return out ?? items;
}

function laxCancellation(c: unknown): unknown {
  if (!isRecord(c)) return c;
  const orderId = coerce(c.orderId, "int");
  const volume = c.volume === null || c.volume === undefined ? c.volume : coerce(c.volume, "float");
  return Object.is(orderId, c.orderId) && Object.is(volume, c.volume)
    ? c
    : { ...c, orderId, volume };
}

/**
 * One instruction with its known fields coerced; anything else is left as it is. A copy only when
 * a value changes: replies are mostly typed already, and copying each of 200 000 instructions
 * cost the validator about a second per reply.
 */
export function laxInstruction(raw: unknown): unknown {
  if (!isRecord(raw)) return raw;
  let out: Record<string, unknown> | null = null;
  for (const [field, rule] of FIELD_RULES) {
    const value = raw[field];
    // Numbers, null and absent fields are what most replies hold: nothing to coerce.
    if (typeof value === "number" || value === null || value === undefined) {
      if (rule !== "bool" || (value !== 0 && value !== 1)) continue;
    }
    const coerced = coerce(value, rule);
    if (!Object.is(coerced, value)) (out ??= { ...raw })[field] = coerced;
  }
  if (Array.isArray(raw.cancellations)) {
    const cancellations = mapChanged(raw.cancellations, laxCancellation);
    if (cancellations !== raw.cancellations) (out ??= { ...raw }).cancellations = cancellations;
  }
  if (Array.isArray(raw.agentIds)) {
    const agentIds = mapChanged(raw.agentIds, (id) => coerce(id, "int"));
    if (agentIds !== raw.agentIds) (out ??= { ...raw }).agentIds = agentIds;
  }
  return out ?? raw;
}

/** The `{agent_id, instructions}` reply with its `agent_id` and each instruction coerced. */
export function laxResponse(raw: unknown): unknown {
  if (!isRecord(raw)) return raw;
  return {
    ...raw,
    ...("agent_id" in raw ? { agent_id: coerce(raw.agent_id, "int") } : {}),
    ...(Array.isArray(raw.instructions)
      ? { instructions: mapChanged(raw.instructions, laxInstruction) }
      : {}),
  };
}
