/**
 * An instruction built by hand with NaN or an infinity, which JSON writes as null: a reply a
 * validator voids, told with what the agent wrote as well as what a validator would read.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { backtest } from "../../agents/backtest.ts";
import { nonFiniteForNull } from "../../miner/reply_json.ts";
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

// Where null is a value a validator takes, with a meaning of its own, a NaN or an infinity JSON
// writes as null would change what the agent asked for: such a reply is refused, not sent.

/**
 * Places a buy of 2 far below the market, then at each later update cancels 0/0 of it while it
 * is open: `seen` gets the open quantity at each update.
 */
class HalfCancel {
  static seen: number[] = [];
  constructor(readonly uid: number) {}
  onUpdate(state: { accounts: Record<number, Record<number, { orders: Order[] }>> }) {
    const orders = state.accounts[this.uid]?.[0]?.orders ?? [];
    HalfCancel.seen.push(orders.reduce((sum, o) => sum + o.quantity, 0));
    if (HalfCancel.seen.length === 1) return [order(this.uid, { quantity: 2, price: 100 })];
    const parts = 0;
    return orders.map((o) => ({
      type: "CANCEL_ORDERS",
      agentId: this.uid,
      delay: 0,
      bookId: 0,
      cancellations: [{ orderId: o.id, volume: o.quantity / parts * 0 }],
    }));
  }
}
type Order = { id: number; quantity: number };

const WHOLE_CANCEL = "the agent failed: invalid agent response: instruction 0 invalid: " +
  "cancellations.0.volume: the agent wrote NaN, which JSON sends as null (a whole cancel)";

Deno.test("a cancellation's NaN volume is refused, not sent as a whole cancel (agent class)", async () => {
  // Until this version the null a validator read cancelled the whole order: gone at update 2.
  HalfCancel.seen = [];
  const report = await backtest({
    agent: HalfCancel as unknown as AgentClass,
    config: smallPreset(),
    seed: 1,
    duration: 30e9,
    onWarning: () => {},
  });
  assert.equal(report.agents[0].firstFailure, WHOLE_CANCEL);
  assert.ok(HalfCancel.seen.length >= 5, `${HalfCancel.seen}`);
  assert.deepEqual(HalfCancel.seen.slice(1), HalfCancel.seen.slice(1).map(() => 2));
  assert.equal(report.agents[0].instructions.failedResponses, HalfCancel.seen.length - 1);
});

Deno.test("a cancellation's NaN volume is refused, not sent as a whole cancel (named agent)", async () => {
  const dir = testTempDir("taos-non-finite-");
  writeFileSync(
    join(dir, "HalfCancel.ts"),
    `const order = ${order.toString()};
export ${HalfCancel.toString()}
`,
  );
  const report = await backtest({
    agent: "HalfCancel",
    agentPath: dir,
    config: smallPreset(),
    seed: 1,
    duration: 30e9,
    onWarning: () => {},
  });
  assert.equal(report.agents[0].firstFailure, WHOLE_CANCEL);
  // Every update after the first found the order still open, and cancelled 0/0 of it again.
  assert.ok(report.publishes >= 5);
  assert.equal(report.agents[0].instructions.failedResponses, report.publishes - 1);
});

const meanings: [string, Record<string, unknown>, string][] = [
  [
    "a limit order's NaN clientOrderId",
    { clientOrderId: NaN },
    "clientOrderId: the agent wrote NaN, which JSON sends as null (no client order id)",
  ],
  [
    "a GTT order's infinite expiryPeriod",
    { timeInForce: 1, expiryPeriod: Infinity },
    "expiryPeriod: the agent wrote Infinity, which JSON sends as null (no expiry)",
  ],
  [
    "a market order's -Infinity clientOrderId",
    {
      type: "PLACE_ORDER_MARKET",
      price: undefined,
      postOnly: undefined,
      timeInForce: undefined,
      expiryPeriod: undefined,
      clientOrderId: -Infinity,
    },
    "clientOrderId: the agent wrote -Infinity, which JSON sends as null (no client order id)",
  ],
];

for (const [what, fields, told] of meanings) {
  const expected = `the agent failed: invalid agent response: instruction 1 invalid: ${told}`;
  const source = (name: string) =>
    `const order = ${order.toString()};
export class ${name} {
  constructor(uid) { this.uid = uid; }
  onUpdate() {
    return [order(this.uid, {}), order(this.uid, { ${
      Object.entries(fields).map(([key, value]) =>
        `${key}: ${typeof value === "string" ? JSON.stringify(value) : value}`
      ).join(", ")
    } })];
  }
}
`;

  Deno.test(`${what} is refused, not sent as null (named agent)`, async () => {
    const dir = testTempDir("taos-non-finite-");
    writeFileSync(join(dir, "Meaning.ts"), source("Meaning"));
    assert.equal(await firstFailure("Meaning", dir), expected);
  });

  Deno.test(`${what} is refused, not sent as null (agent class)`, async () => {
    class Meaning {
      constructor(readonly uid: number) {}
      onUpdate() {
        return [order(this.uid, {}), order(this.uid, fields)];
      }
    }
    assert.equal(await firstFailure(Meaning as unknown as AgentClass), expected);
  });
}

Deno.test("null written where it has a meaning is sent as written", async () => {
  class Nulls {
    constructor(readonly uid: number) {}
    onUpdate() {
      return [
        order(this.uid, { clientOrderId: null, expiryPeriod: null }),
        {
          type: "CANCEL_ORDERS",
          agentId: this.uid,
          bookId: 0,
          cancellations: [{ orderId: 1, volume: null }],
        },
      ];
    }
  }
  const report = await backtest({
    agent: Nulls as unknown as AgentClass,
    config: smallPreset(),
    seed: 1,
    duration: 10e9,
    onWarning: () => {},
  });
  assert.equal(report.agents[0].firstFailure, null);
  assert.equal(report.agents[0].instructions.failedResponses, 0);
});

Deno.test("the null-of-meaning check reads what JSON writes: toJSON results and Number objects", () => {
  const cancel = (volume: unknown) => ({
    type: "CANCEL_ORDERS",
    agentId: 0,
    bookId: 0,
    cancellations: [{ orderId: 1, volume: null }, { toJSON: () => ({ orderId: 2, volume }) }],
  });
  assert.equal(
    nonFiniteForNull({ agent_id: 0, instructions: [cancel(1), cancel(-Infinity)] }),
    "invalid agent response: instruction 1 invalid: cancellations.1.volume: the agent wrote " +
      "-Infinity, which JSON sends as null (a whole cancel)",
  );
  const built = { toJSON: (key: string) => order(0, { clientOrderId: key === "0" ? NaN : 1 }) };
  assert.equal(
    nonFiniteForNull({ instructions: [built] }),
    "invalid agent response: instruction 0 invalid: clientOrderId: the agent wrote NaN, which " +
      "JSON sends as null (no client order id)",
  );
  assert.match(
    nonFiniteForNull({ instructions: [order(0, { expiryPeriod: new Number(NaN) })] }) ?? "",
    /expiryPeriod: the agent wrote NaN, which JSON sends as null \(no expiry\)$/,
  );
});

Deno.test("the null-of-meaning check reads only fields where null is a choice", () => {
  // Fields with no null of their own (a NaN price voids the reply at a validator, told apart),
  // fields validators ignore, and unknown types are not this check's.
  const reads: string[] = [];
  const watched = (item: Record<string, unknown>) =>
    new Proxy(item, {
      get(target, key) {
        if (typeof key === "string") reads.push(key);
        return Reflect.get(target, key);
      },
    });
  const reply = {
    instructions: [
      watched(order(0, { price: NaN, quantity: Infinity })),
      watched(order(0, { type: "PLACE_ORDER_MARKET", expiryPeriod: NaN })),
      watched({ type: "CANCEL_ORDERS", clientOrderId: NaN, cancellations: [] }),
      watched({ type: "RESET_AGENT", clientOrderId: NaN }),
      watched({ type: "OTHER", volume: NaN }),
    ],
  };
  assert.equal(nonFiniteForNull(reply), null);
  assert.deepEqual(reads, [
    ...["toJSON", "type", "clientOrderId", "expiryPeriod"],
    ...["toJSON", "type", "clientOrderId"],
    ...["toJSON", "type", "cancellations"],
    ...["toJSON", "type"],
    ...["toJSON", "type"],
  ]);
  // A getter that throws at this reading leaves JSON's reading standing.
  const throwing = {
    instructions: [{
      type: "PLACE_ORDER_LIMIT",
      get clientOrderId() {
        throw new Error("no");
      },
    }],
  };
  assert.equal(nonFiniteForNull(throwing), null);
  assert.equal(nonFiniteForNull(null), null);
  assert.equal(nonFiniteForNull({ instructions: "none" }), null);
});
