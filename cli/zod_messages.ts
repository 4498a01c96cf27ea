/**
 * zod, with plain words for the issues whose default messages leave the reader guessing: a map key
 * that fails its schema ("Invalid key in record"), a union that matches none of its forms ("Invalid
 * input") and a tag that picks none ("Invalid discriminator value"). Importing this module sets
 * them in zod's global configuration (`z.config`), which every schema in the process reads: all
 * imports of zod resolve to one module, so schemas built from a plain `import { z } from "zod"`, an
 * agent's own included, get these messages too. Every schema of taos takes `z` from here, so that
 * the messages are set before any of them parses. A schema's own message still comes first.
 *
 * ```ts
 * import { z } from "../cli/zod_messages.ts";
 * z.record(z.string().regex(/^\d+$/, "not a whole number"), z.number()).parse({ a: 1 });
 * // issue at path ["a"]: 'key "a": not a whole number'
 * ```
 * @module
 */
import { z } from "zod";
import { charCount, firstChars, moreChars } from "./code_points.ts";

type Issue = z.core.$ZodIssue;

/** The most characters of a string given that a message repeats. */
const MAX_SHOWN = 40;

/** A value as a reader would write it: JSON for strings and plain values, else its kind. */
function shown(value: unknown): string {
  if (value === undefined) return "missing";
  if (typeof value === "bigint") return `${value}`;
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (value !== null && typeof value === "object") {
    return Array.isArray(value) ? "an array" : "an object";
  }
  return JSON.stringify(value) ?? typeof value;
}

/**
 * A value given, as {@linkcode shown} writes it, but a string cut to its first 40 characters with
 * the count of the rest: it may be most of a file. The forms a schema takes are shown whole.
 */
function given(value: unknown): string {
  if (typeof value !== "string") return shown(value);
  const count = charCount(value);
  if (count <= MAX_SHOWN) return shown(value);
  return `${JSON.stringify(`${firstChars(value, MAX_SHOWN)}…`)} (${moreChars(count - MAX_SHOWN)})`;
}

/** `items` as a reader lists alternatives: "a, b or c". */
function either(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/** zod's type names as a reader says them. JSON has one kind of integer: a bigint is how a parser
 * reads one too large for a number (a synapse's nonce), so it is named as the others. */
const TYPE_NAMES: Record<string, string> = {
  number: "a number",
  int: "an integer",
  bigint: "an integer",
  string: "a string",
  boolean: "true or false",
  object: "an object",
  record: "an object",
  map: "an object",
  array: "an array",
  tuple: "an array",
  null: "null",
  undefined: "nothing",
};

/** Whether `schema` takes whole numbers only: `z.int()`, or `z.number()` with `.int()`. */
function takesIntegers(schema: z.core.$ZodType | undefined): boolean {
  const def = schema?._zod.def as z.core.$ZodNumberDef | undefined;
  if (def?.type !== "number") return false;
  const formats = [def, ...(def.checks ?? []).map((check) => check._zod.def)];
  return formats.some((d) => String((d as { format?: unknown }).format ?? "").includes("int"));
}

/** What one form (`schema`) of a union takes, from the first issue it raised, or null when it says
 * no more than that issue's message. */
function acceptedForm(
  issues: readonly Issue[],
  schema: z.core.$ZodType | undefined,
): string | null {
  const first = issues[0];
  if (first === undefined || first.path.length > 0) return null;
  if (first.code === "invalid_type") {
    // An integer form refuses a value of another type as not a number, though it takes fewer.
    if (first.expected === "number" && takesIntegers(schema)) return TYPE_NAMES.int;
    return TYPE_NAMES[first.expected] ?? first.expected;
  }
  if (first.code === "invalid_value") return either(first.values.map(shown));
  return null;
}

/** The message of a union issue raised without one of the schema's. */
function unionMessage(issue: z.core.$ZodRawIssue<z.core.$ZodIssueInvalidUnion>): string {
  const options = (issue as { options?: unknown[] }).options;
  const discriminator = (issue as { discriminator?: string }).discriminator;
  if (options !== undefined && options.length > 0) {
    const tag = discriminator !== undefined && issue.input !== null &&
        typeof issue.input === "object"
      ? (issue.input as Record<string, unknown>)[discriminator]
      : issue.input;
    return `is ${given(tag)}: must be one of ${options.map(shown).join(", ")}`;
  }
  if (issue.inclusive === false) return "matches more than one of its accepted forms";
  const union = issue.inst as z.core.$ZodUnion | undefined;
  const forms = issue.errors.map((issues, index) =>
    acceptedForm(issues, union?._zod.def.options[index])
  );
  if (forms.every((form) => form !== null)) {
    const named = new Set(forms);
    // Every integer is a number: a union that takes any number names no integer beside it.
    if (named.has(TYPE_NAMES.number)) named.delete(TYPE_NAMES.int);
    return `is ${given(issue.input)}: must be ${either([...named])}`;
  }
  const reasons = issue.errors.map((issues, index) => {
    const first = issues[0];
    const where = first && first.path.length > 0 ? `${first.path.join(".")}: ` : "";
    return forms[index] ?? `${where}${first?.message ?? "not accepted"}`;
  });
  return `matches none of its accepted forms (${reasons.join("; or ")})`;
}

/**
 * Words for a value that fails its type, bound or choice, showing the value, for messages read by
 * whoever typed it (`must be an integer, got 1.5`, `must be >= 0, got -3`); undefined for the
 * other issues, which keep their own words. Given to `safeParse` as its `error`, it yields to a
 * schema's own messages.
 */
export function valueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  const got = `, got ${given(issue.input)}`;
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined
        ? `missing (must be ${TYPE_NAMES[issue.expected] ?? issue.expected})`
        : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}${got}`;
    case "too_small":
      if (!NUMERIC_ORIGINS.has(issue.origin)) return undefined;
      return `must be ${issue.inclusive === false ? ">" : ">="} ${issue.minimum}${got}`;
    case "too_big":
      if (!NUMERIC_ORIGINS.has(issue.origin)) return undefined;
      return `must be ${issue.inclusive === false ? "<" : "<="} ${issue.maximum}${got}`;
    case "invalid_value":
      return `must be ${either(issue.values.map(shown))}${got}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}${got}`;
    default:
      return undefined;
  }
}

/**
 * `issues` as `field: problem`, joined by `; `, each field under `prefix` when one is given. An issue
 * of the whole value reads `top: problem`, or the bare problem when `top` is empty.
 */
export function issuesText(issues: readonly z.core.$ZodIssue[], top: string, prefix = ""): string {
  return issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((part) => part !== "").join(".") || top;
    return path === "" ? issue.message : `${path}: ${issue.message}`;
  }).join("; ");
}

/** The bounds of numbers, as against those of a string's or an array's length. */
const NUMERIC_ORIGINS = new Set(["number", "int", "bigint"]);

z.config({
  customError: (issue) => {
    switch (issue.code) {
      case "invalid_key": {
        const reasons = issue.issues.map((inner) => inner.message);
        return `key ${given(issue.input)}: ${reasons.join("; ")}`;
      }
      case "invalid_union":
        return unionMessage(issue);
      default:
        return undefined;
    }
  },
});

export { z };
