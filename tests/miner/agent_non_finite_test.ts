/**
 * A real miner serving an agent whose reply holds NaN or an infinity where a validator takes
 * null as a choice (a whole cancel, no client order id): the reply is not sent, so the validator
 * gets no instructions instead of others than the agent meant, and the miner says why.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cryptoReady } from "../../bittensor/keypair.ts";
import { decodeResponse } from "../../bittensor/market_synapse.ts";
import { testTempDir } from "../temp_dir.ts";
import { sendMarketState, startFixtureMiner } from "./support.ts";

await cryptoReady();

/** `startFixtureMiner` serving `<name>` of `source` instead, its warnings kept. */
async function serve(name: string, source: string, body: (port: number) => Promise<void>) {
  const dir = testTempDir("taos-non-finite-");
  writeFileSync(join(dir, `${name}.ts`), source);
  const warnings: string[] = [];
  const miner = await startFixtureMiner("", {
    agent: { path: dir, name, params: "" },
    log: (at, message) => void (at === "warning" && warnings.push(message)),
  });
  try {
    await body(miner.port);
  } finally {
    await miner.stop();
  }
  return warnings;
}

Deno.test("a miner does not send a cancellation whose volume the agent computed as NaN", async () => {
  // Until this version the validator got `"volume": null`, which cancels the whole order.
  const warnings = await serve(
    "HalfCancel",
    `export class HalfCancel {
  constructor(uid) { this.uid = uid; }
  onUpdate() {
    const parts = 0;
    return [{ type: "CANCEL_ORDERS", agentId: this.uid, bookId: 0,
      cancellations: [{ orderId: 7, volume: 1 }, { orderId: 5, volume: 0 / parts }] }];
  }
}
`,
    async (port) => {
      const result = await sendMarketState(port, 5);
      assert.equal(result.statusCode, 200, result.statusMessage);
      assert.deepEqual(decodeResponse(result.fields!), { agent_id: 1, instructions: [] });
    },
  );
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0],
    /^agent HalfCancel failed at state \d+: invalid agent response: instruction 0 invalid: cancellations\.1\.volume: the agent wrote NaN, which JSON sends as null \(a whole cancel\)$/,
  );
});

Deno.test("a miner sends null written as such, and refuses an order's infinite clientOrderId", async () => {
  const warnings = await serve(
    "ClientIds",
    `export class ClientIds {
  constructor(uid) { this.uid = uid; this.updates = 0; }
  onUpdate() {
    const order = { type: "PLACE_ORDER_LIMIT", agentId: this.uid, bookId: 0, direction: 0,
      quantity: 1, price: 299.5, clientOrderId: null, expiryPeriod: null };
    const whole = { type: "CANCEL_ORDERS", agentId: this.uid, bookId: 0,
      cancellations: [{ orderId: 5, volume: null }] };
    this.updates++;
    return this.updates === 1 ? [order, whole] : [order, { ...order, clientOrderId: 1 / 0 }];
  }
}
`,
    async (port) => {
      const first = await sendMarketState(port, 5);
      const sent = decodeResponse(first.fields!) as { instructions: Record<string, unknown>[] };
      assert.deepEqual(
        sent.instructions.map((i) => [i.clientOrderId, i.expiryPeriod, i.cancellations]),
        [[null, null, undefined], [undefined, undefined, [{ orderId: 5, volume: null }]]],
      );
      const second = await sendMarketState(port, 5);
      assert.deepEqual(decodeResponse(second.fields!), { agent_id: 1, instructions: [] });
    },
  );
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0],
    /: invalid agent response: instruction 1 invalid: clientOrderId: the agent wrote Infinity, which JSON sends as null \(no client order id\)$/,
  );
});
