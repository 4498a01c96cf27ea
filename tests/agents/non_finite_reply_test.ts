/**
 * An instruction built by hand with NaN or an infinity, which JSON writes as null: a reply a
 * validator voids, told with what the agent wrote as well as what a validator would read.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { backtest } from "../../agents/backtest.ts";
import type { AgentClass } from "../../agents/sdk/agent.ts";
import { smallPreset } from "../../sim/config.ts";
import { testTempDir } from "../temp_dir.ts";

/** A limit buy with every field a validator requires, of `fields` over a valid order's. */
const order = (uid: number, fields: Record<string, unknown>) => ({
  type: "PLACE_ORDER_LIMIT",
  agentId: uid,
  delay: 0,
  bookId: 0,
  direction: 0,
  quantity: 0.5,
  price: 300,
  clientOrderId: null,
  stp: 1,
  postOnly: false,
  timeInForce: 0,
  expiryPeriod: null,
  currency: 0,
  ...fields,
});

/** The first lost response of a 10 s backtest of `agent`. */
async function firstFailure(agent: AgentClass | string, agentPath?: string) {
  const report = await backtest({
    agent,
    agentPath,
    config: smallPreset(),
    seed: 1,
    duration: 10e9,
    onWarning: () => {},
  });
  return report.agents[0].firstFailure ?? "";
}

const cases: [string, Record<string, unknown>, string][] = [
  [
    "a NaN price",
    { price: NaN },
    "price: must be a finite number > 0, got null (the agent wrote NaN for price, " +
    "which JSON sends as null)",
  ],
  [
    "infinite quantity and price",
    { quantity: Infinity, price: -Infinity },
    "quantity: must be a finite number > 0, got null; price: must be a finite number > 0, " +
    "got null (the agent wrote Infinity for quantity and -Infinity for price, which JSON sends " +
    "as null)",
  ],
];

for (const [what, fields, told] of cases) {
  Deno.test(`a named agent's instruction with ${what} is told with what it wrote`, async () => {
    const dir = testTempDir("taos-non-finite-");
    writeFileSync(
      join(dir, "NonFinite.ts"),
      `const order = ${order.toString()};
export class NonFinite {
  constructor(uid) { this.uid = uid; }
  onUpdate() {
    return [order(this.uid, { ${
        Object.entries(fields).map(([key, value]) => `${key}: ${value}`).join(", ")
      } })];
  }
}
`,
    );
    assert.equal(
      await firstFailure("NonFinite", dir),
      `the agent failed: invalid agent response (a validator would void it): ` +
        `instruction 0 invalid: ${told}`,
    );
  });

  Deno.test(`an agent class's instruction with ${what} is told with what it wrote`, async () => {
    class NonFinite {
      constructor(readonly uid: number) {}
      onUpdate() {
        return [order(this.uid, fields)];
      }
    }
    assert.equal(
      await firstFailure(NonFinite as unknown as AgentClass),
      `reply discarded: instruction 0 invalid: ${told}`,
    );
  });
}

Deno.test("a cancellation's NaN order id is named with its place in the instruction", async () => {
  class CancelsForever {
    constructor(readonly uid: number) {}
    onUpdate() {
      return [{
        type: "CANCEL_ORDERS",
        agentId: this.uid,
        delay: 0,
        bookId: 0,
        cancellations: [{ orderId: 1, volume: null }, { orderId: NaN, volume: 1 }],
      }];
    }
  }
  assert.match(
    await firstFailure(CancelsForever as unknown as AgentClass),
    /, got null \(the agent wrote NaN for cancellations\.1\.orderId, which JSON sends as null\)$/,
  );
});

Deno.test("an instruction left undefined is named as what the agent wrote", async () => {
  class SometimesNothing {
    constructor(readonly uid: number) {}
    onUpdate() {
      return [order(this.uid, {}), undefined];
    }
  }
  assert.equal(
    await firstFailure(SometimesNothing as unknown as AgentClass),
    "reply discarded: instruction 1 invalid: (root): must be an instruction object, got null " +
      "(the agent wrote undefined, which JSON sends as null)",
  );
});
