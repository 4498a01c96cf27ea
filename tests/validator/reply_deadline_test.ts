/**
 * Replies that are slow to check cannot stretch a round without bound: the dendrite reads them
 * smallest first for at most the timeout after the last one arrived, and fails the rest unread.
 */
import assert from "node:assert/strict";
import { Axon } from "../../bittensor/axon.ts";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import { encodeResponse, MarketSimulationStateUpdate } from "../../bittensor/market_synapse.ts";

Deno.test("replies are digested smallest first, for at most the timeout after the last arrived", async () => {
  await cryptoReady();
  const axons: Axon[] = [];
  const targets = [];
  // Nine miners answer with 2 000 instructions, one with a single one.
  for (let uid = 0; uid < 10; uid++) {
    const keypair = Keypair.fromUri(`//DeadlineMiner${uid}`);
    const count = uid === 7 ? 1 : 2000;
    const instructions = Array.from({ length: count }, (_, i) => ({
      type: "CANCEL_ORDERS",
      agentId: uid,
      bookId: 0,
      cancellations: [{ orderId: i, volume: null }],
    }));
    const axon = new Axon({ keypair, port: 0, host: "127.0.0.1" });
    axon.attach(MarketSimulationStateUpdate, {
      forward: (synapse) => encodeResponse(synapse.fields, { agent_id: uid, instructions }),
    });
    axons.push(axon);
    targets.push({ ip: "127.0.0.1", port: await axon.start(), hotkey: keypair.ss58Address });
  }
  const dendrite = new Dendrite(Keypair.fromUri("//DeadlineValidator"));
  try {
    const digested: number[] = [];
    const timeout = 1;
    const started = performance.now();
    const outcomes = await dendrite.queryEach(
      targets,
      MarketSimulationStateUpdate,
      {
        model: "im",
        timestamp: 0,
        config: null,
        books: {},
        accounts: {},
        notices: {},
        response: null,
        compressed: true,
      },
      timeout,
      (result, index) => {
        if (!result.ok) return result.statusMessage;
        digested.push(index);
        // A check that takes 0.4 s, as a reply inflating to tens of megabytes does.
        const until = performance.now() + 400;
        while (performance.now() < until) { /* busy */ }
        return "digested";
      },
    );
    const elapsed = (performance.now() - started) / 1000;
    assert.equal(digested[0], 7, "the smallest reply is digested first");
    // Three or four replies fit in the second after the last arrived; the rest fail unread.
    assert.ok(digested.length >= 2 && digested.length <= 5, `${digested}`);
    const unread = outcomes.filter((o) => o !== "digested");
    assert.equal(unread.length, 10 - digested.length);
    for (const message of unread) {
      assert.match(message, /^Failed to parse response: not read, the round's 1 s for reading/);
    }
    assert.ok(elapsed < 2 * timeout + 2, `${elapsed} s`);
  } finally {
    for (const axon of axons) await axon.stop();
  }
});
