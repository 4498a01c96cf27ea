/**
 * Miner replies are read as the reference's pydantic models read them (lax mode). The expected
 * values are what pydantic 2.13 made of the same inputs with sn-79 0.1.9's instruction models.
 */
import assert from "node:assert/strict";
import { validateInstructions } from "../../agents/sdk/instructions.ts";
import { laxInstruction, laxResponse } from "../../agents/sdk/lax_wire.ts";

const limit = {
  agentId: 1,
  type: "PLACE_ORDER_LIMIT",
  bookId: 0,
  direction: 0,
  quantity: 1.5,
  price: 300,
  clientOrderId: null,
};

/** [field, input, what pydantic made of it (undefined: refused)] */
const pydantic: [string, unknown, unknown][] = [
  ["quantity", "1.5", 1.5],
  ["quantity", "1e3", 1000],
  ["quantity", " 2 ", 2],
  ["quantity", "+1.5", 1.5],
  ["quantity", ".5", 0.5],
  ["quantity", "5.", 5],
  ["quantity", "1_000", 1000],
  ["quantity", true, 1],
  ["quantity", "abc", undefined],
  ["quantity", "0x10", undefined],
  ["quantity", "", undefined],
  ["quantity", "-1", undefined],
  ["bookId", "1", 1],
  ["bookId", 1.0, 1],
  ["bookId", "1.0", 1],
  ["bookId", " 2 ", 2],
  ["bookId", "+1", 1],
  ["bookId", "01", 1],
  ["bookId", "1_0", 10],
  ["bookId", true, 1],
  ["bookId", 1.5, undefined],
  ["bookId", "1e3", undefined],
  ["bookId", "-1", undefined],
  ["agentId", "1", 1],
  ["direction", true, 1],
  ["direction", false, 0],
  ["direction", "0", undefined],
  ["direction", "BUY", undefined],
  ["postOnly", 1, true],
  ["postOnly", 0, false],
  ["postOnly", "Yes", true],
  ["postOnly", "off", false],
  ["postOnly", "t", true],
  ["postOnly", "0", false],
  ["postOnly", "TRUE", true],
  ["postOnly", " true ", undefined],
  ["postOnly", 2, undefined],
  ["timeInForce", true, 1],
  ["timeInForce", "1", undefined],
  ["stp", 2.0, 2],
  ["stp", "2", undefined],
  ["expiryPeriod", "5", 5],
  ["expiryPeriod", 5.5, undefined],
  ["clientOrderId", "7", 7],
  // A nanosecond clock as an id: past 2^53, taken (the exchange rejects that order alone).
  ["clientOrderId", 1.7e18, 1.7e18],
  ["clientOrderId", 7.5, undefined],
  ["delay", "3", 3],
  ["delay", -1, undefined],
  ["postOnly", "1", true],
  ["postOnly", "Yes", true],
  ["postOnly", "off", false],
  ["postOnly", "0", false],
  ["postOnly", 1, true],
  ["postOnly", "2", undefined],
];

Deno.test("instruction fields are read as the reference's lax pydantic models read them", () => {
  for (const [field, input, expected] of pydantic) {
    // An expiry period needs GTT (time in force 1).
    const instruction = {
      ...limit,
      ...(field === "expiryPeriod" ? { timeInForce: 1 } : {}),
      [field]: input,
    };
    const result = validateInstructions({ agent_id: 1, instructions: [instruction] }, {
      uid: 1,
      bookCount: 20,
    });
    const label = `${field} = ${JSON.stringify(input)}`;
    if (expected === undefined) {
      assert.notEqual(result.discarded, null, `${label} is refused`);
    } else {
      assert.equal(result.discarded, null, `${label}: ${result.discarded}`);
      assert.equal((result.accepted[0] as Record<string, unknown>)[field], expected, label);
    }
  }
});

Deno.test("cancellations, reset ids and the reply's agent_id are coerced the same way", () => {
  const cancel = {
    agentId: "1",
    type: "CANCEL_ORDERS",
    bookId: "0",
    cancellations: [
      { orderId: "5", volume: "1.5" },
      { orderId: 5.0, volume: null },
      { orderId: -5, volume: true },
      { orderId: 2 ** 60, volume: null },
    ],
  };
  const result = validateInstructions({ agent_id: "1", instructions: [cancel] }, {
    uid: 1,
    bookCount: 1,
  });
  assert.equal(result.discarded, null, result.discarded ?? "");
  assert.deepEqual(result.accepted[0], {
    type: "CANCEL_ORDERS",
    agentId: 1,
    delay: 0,
    bookId: 0,
    cancellations: [
      { orderId: 5, volume: 1.5 },
      { orderId: 5, volume: null },
      { orderId: -5, volume: 1 },
      { orderId: 2 ** 60, volume: null },
    ],
  });
  const bad = validateInstructions({
    agent_id: 1,
    instructions: [{ ...cancel, cancellations: [{ orderId: "x", volume: null }] }],
  }, { uid: 1, bookCount: 1 });
  assert.notEqual(bad.discarded, null);
  assert.deepEqual(laxInstruction({ type: "RESET_AGENT", agentIds: ["3", 4.0] }), {
    type: "RESET_AGENT",
    agentIds: [3, 4],
  });
});

Deno.test("a reply whose later instructions need coercing keeps every instruction, in order", () => {
  const typed = { ...limit, clientOrderId: 1 };
  const reply = laxResponse({
    agent_id: "1",
    instructions: [typed, { ...limit, clientOrderId: 2 }, { ...limit, quantity: "2.5" }, typed],
  }) as { agent_id: unknown; instructions: unknown[] };
  assert.equal(reply.agent_id, 1);
  assert.deepEqual(reply.instructions, [
    typed,
    { ...limit, clientOrderId: 2 },
    { ...limit, quantity: 2.5 },
    typed,
  ]);
  // Nothing to coerce: the same array, not a copy.
  const instructions = [typed, typed];
  assert.equal(
    (laxResponse({ agent_id: 1, instructions }) as { instructions: unknown }).instructions,
    instructions,
  );
});

Deno.test('a quantity, price or cancelled volume of "inf", which pydantic takes, is refused', () => {
  const cancel = {
    agentId: 1,
    type: "CANCEL_ORDERS",
    bookId: 0,
    cancellations: [{ orderId: 5, volume: 1 }],
  };
  for (const input of ["inf", "Infinity", " +INF "]) {
    const cases = [
      ["quantity", { ...limit, quantity: input }],
      ["price", { ...limit, price: input }],
      ["cancellations.0.volume", { ...cancel, cancellations: [{ orderId: 5, volume: input }] }],
    ] as const;
    for (const [field, instruction] of cases) {
      const result = validateInstructions({ agent_id: 1, instructions: [instruction] }, {
        uid: 1,
        bookCount: 20,
      });
      const label = `${field} = ${JSON.stringify(input)}`;
      assert.deepEqual(result.accepted, [], label);
      assert.match(result.discarded ?? "", /^instruction 0 invalid: /, label);
      assert.ok(result.discarded!.includes(field.split(".")[0]), `${label}: ${result.discarded}`);
    }
  }
});
