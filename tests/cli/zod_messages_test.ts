import assert from "node:assert/strict";
import { valueMessage, z } from "../../cli/zod_messages.ts";
import { z as plainZod } from "zod";

/** The `path: message` of each issue `schema` raises for `value`. */
function problems(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  assert.ok(!result.success, "the value is refused");
  return result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

Deno.test("zod messages: a bad map key is named, with its schema's reason", () => {
  const uid = z.string().regex(/^\d+$/, "not a whole number");
  assert.deepEqual(problems(z.record(uid, z.number()), { "1": 2, abc: 3 }), [
    'abc: key "abc": not a whole number',
  ]);
});

Deno.test("zod messages: a union of values names the value given and the values it takes", () => {
  const side = z.union([z.literal(0), z.literal(1)]);
  assert.deepEqual(problems(z.object({ side }), { side: 2 }), ["side: is 2: must be 0 or 1"]);
  const idOrName = z.union([z.number(), z.string(), z.null()]);
  assert.deepEqual(problems(idOrName, [1]), [": is an array: must be a number, a string or null"]);
});

Deno.test("zod messages: a tag that picks no form names the tag given and the tags it takes", () => {
  const shape = z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("dot") }),
    z.object({ kind: z.literal("box"), side: z.number() }),
  ]);
  assert.deepEqual(problems(shape, { kind: "line" }), [
    'kind: is "line": must be one of "dot", "box"',
  ]);
  assert.deepEqual(problems(shape, {}), ['kind: is missing: must be one of "dot", "box"']);
});

Deno.test("zod messages: a union of objects says why each form refused the value", () => {
  const price = z.union([
    z.object({ fixed: z.number() }).strict(),
    z.object({ range: z.array(z.number()) }).strict(),
  ]);
  assert.deepEqual(problems(price, { fixed: "1" }), [
    ": matches none of its accepted forms (fixed: Invalid input: expected number, received " +
    "string; or range: Invalid input: expected array, received undefined)",
  ]);
});

Deno.test("zod messages: a schema's own message comes first", () => {
  const side = z.union([z.literal(0), z.literal(1)], { error: "must be 0 (buy) or 1 (sell)" });
  assert.deepEqual(problems(side, 5), [": must be 0 (buy) or 1 (sell)"]);
});

Deno.test("zod messages: a map key that fails two checks is given both reasons", () => {
  const uid = z.string().min(2, "too short").regex(/^\d+$/, "not a whole number");
  assert.deepEqual(problems(z.record(uid, z.number()), { a: 1 }), [
    'a: key "a": too short; not a whole number',
  ]);
});

Deno.test("zod messages: a union names an object, an infinite number and true or false as such", () => {
  const flag = z.union([z.number(), z.boolean()]);
  assert.deepEqual(problems(flag, {}), [": is an object: must be a number or true or false"]);
  // JSON reads 1e999 as Infinity, which JSON would write back as null: the reader sees Infinity.
  const side = z.union([z.literal(0), z.literal(1)]);
  assert.deepEqual(problems(side, JSON.parse("1e999")), [": is Infinity: must be 0 or 1"]);
});

Deno.test("zod messages: forms that take the same type name it once", () => {
  const count = z.union([z.number().int(), z.number()]);
  assert.deepEqual(problems(count, "x"), [': is "x": must be a number']);
});

Deno.test("zod messages: an exclusive union matched by two forms says so", () => {
  const count = z.xor([z.number(), z.number().int()]);
  assert.deepEqual(problems(count, 1), [": matches more than one of its accepted forms"]);
});

Deno.test("zod messages: an integer form is named an integer, once, unless any number is taken", () => {
  // As a synapse's nonce: JSON's integers arrive as bigints past 2^53 and as numbers below.
  const nonce = z.union([z.bigint(), z.number().int(), z.string().regex(/^\d+$/)]);
  assert.deepEqual(problems(nonce, true), [": is true: must be an integer or a string"]);
  assert.deepEqual(problems(nonce, 1.5), [": is 1.5: must be an integer or a string"]);
  const port = z.union([z.number().int(), z.string()]);
  assert.deepEqual(problems(port, null), [": is null: must be an integer or a string"]);
  const amount = z.union([z.bigint(), z.number()]);
  assert.deepEqual(problems(amount, "1"), [': is "1": must be a number']);
});

Deno.test("zod messages: once imported, they word the issues of a schema built from zod itself", () => {
  // As an agent's own parameters schema, written with `import { z } from "zod"`.
  const side = plainZod.object({
    side: plainZod.union([plainZod.literal(0), plainZod.literal(1)]),
  });
  assert.deepEqual(problems(side, { side: 2 }), ["side: is 2: must be 0 or 1"]);
});

Deno.test("valueMessage words a missing field, each numeric bound, a multiple and a choice with the value given", () => {
  const told = (schema: z.ZodType, value: unknown) => {
    const result = schema.safeParse(value, { error: valueMessage });
    assert.ok(!result.success, "the value is refused");
    return result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  };
  assert.deepEqual(told(z.object({ a: z.number() }), {}), ["a: missing (must be a number)"]);
  // null is a value given, not a missing one.
  assert.deepEqual(told(z.object({ a: z.number() }), { a: null }), [
    "a: must be a number, got null",
  ]);
  assert.deepEqual(told(z.number().max(5), 6), [": must be <= 5, got 6"]);
  assert.deepEqual(told(z.number().lt(5), 5), [": must be < 5, got 5"]);
  assert.deepEqual(told(z.number().gt(0), 0), [": must be > 0, got 0"]);
  assert.deepEqual(told(z.number().int().min(1), 0), [": must be >= 1, got 0"]);
  assert.deepEqual(told(z.number().multipleOf(0.5), 0.3), [": must be a multiple of 0.5, got 0.3"]);
  assert.deepEqual(told(z.enum(["a", "b"]), "c"), [': must be "a" or "b", got "c"']);
  // The bounds of a length keep zod's words, which say what is counted.
  assert.deepEqual(told(z.string().min(3), "ab"), [
    ": Too small: expected string to have >=3 characters",
  ]);
  assert.deepEqual(told(z.array(z.number()).max(1), [1, 2]), [
    ": Too big: expected array to have <=1 items",
  ]);
  // A schema's own message wins.
  assert.deepEqual(told(z.number().min(0, "no negatives"), -1), [": no negatives"]);
});

Deno.test("zod messages: a long string value is quoted to its first 40 characters, the choices kept", () => {
  const kind = z.discriminatedUnion("type", [
    z.object({ type: z.literal("fixed") }),
    z.object({ type: z.literal("pareto") }),
  ]);
  const long = "x".repeat(38) + "😀😀" + "y".repeat(600);
  assert.deepEqual(problems(kind, { type: long }), [
    `type: is "${"x".repeat(38)}😀😀…" (600 more characters): must be one of "fixed", "pareto"`,
  ]);
  // One character past the limit is named as one.
  assert.deepEqual(problems(z.union([z.literal(0), z.literal(1)]), "c".repeat(41)), [
    `: is "${"c".repeat(40)}…" (1 more character): must be 0 or 1`,
  ]);
});

Deno.test("zod messages: the forms a schema takes are named whole, however long", () => {
  const tags = [
    "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT",
    "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET",
  ];
  const event = z.discriminatedUnion(
    "type",
    tags.map((tag) => z.object({ type: z.literal(tag) })) as [
      z.ZodObject<{ type: z.ZodLiteral<string> }>,
    ],
  );
  assert.deepEqual(problems(event, { type: "PAUSE" }), [
    `type: is "PAUSE": must be one of "${tags[0]}", "${tags[1]}"`,
  ]);
  const choice = z.union(tags.map((tag) => z.literal(tag)) as [z.ZodLiteral<string>]);
  assert.deepEqual(problems(choice, "PAUSE"), [
    `: is "PAUSE": must be "${tags[0]}" or "${tags[1]}"`,
  ]);
});

Deno.test("zod messages: a string of exactly 40 characters is shown whole; a long one is cut wherever it is told", () => {
  // 40 is the most shown whole: no ellipsis and no "0 more characters" note.
  const forty = "c".repeat(40);
  assert.deepEqual(problems(z.union([z.literal(0), z.literal(1)]), forty), [
    `: is "${forty}": must be 0 or 1`,
  ]);
  const long = "k".repeat(45);
  const cut = `"${"k".repeat(40)}…" (5 more characters)`;
  // A map key is a value given as well.
  const uid = z.string().regex(/^\d+$/, "not a whole number");
  assert.deepEqual(problems(z.record(uid, z.number()), { [long]: 1 }), [
    `${long}: key ${cut}: not a whole number`,
  ]);
  // So is the value a type, bound or choice refuses.
  const told = (schema: z.ZodType, value: unknown) => {
    const result = schema.safeParse(value, { error: valueMessage });
    assert.ok(!result.success, "the value is refused");
    return result.error.issues.map((issue) => issue.message);
  };
  assert.deepEqual(told(z.number(), long), [`must be a number, got ${cut}`]);
  assert.deepEqual(told(z.enum(["a", "b"]), long), [`must be "a" or "b", got ${cut}`]);
});
