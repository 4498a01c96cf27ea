import assert from "node:assert/strict";
import { z } from "zod";
import { Axon } from "../../bittensor/axon.ts";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import { GateTimeout, PriorityGate } from "../../bittensor/priority_gate.ts";
import type { SynapseKind } from "../../bittensor/synapse.ts";
import { signedSynapse } from "./signed_request.ts";

await cryptoReady();

Deno.test("waiting requests are admitted highest priority first, ties in arrival order", async () => {
  const gate = new PriorityGate(1);
  const never = new AbortController().signal;
  const first = await gate.enter(0, never);
  const order: string[] = [];
  const waiters = [
    gate.enter(1, never).then((release) => (order.push("low"), release)),
    gate.enter(5, never).then((release) => (order.push("high"), release)),
    gate.enter(5, never).then((release) => (order.push("high-later"), release)),
  ];
  assert.equal(gate.waiting, 3);
  first();
  for (let i = 0; i < 3; i++) {
    // Release each admitted holder in turn.
    await new Promise((r) => setTimeout(r, 0));
    const admitted = await Promise.race(waiters.map((w, k) => w.then(() => k)));
    (await waiters[admitted])();
    waiters.splice(admitted, 1);
  }
  assert.deepEqual(order, ["high", "high-later", "low"]);
});

Deno.test("a request whose deadline passes while waiting gives up", async () => {
  const gate = new PriorityGate(1);
  const release = await gate.enter(0, new AbortController().signal);
  const deadline = new AbortController();
  const waiting = gate.enter(100, deadline.signal);
  deadline.abort();
  await assert.rejects(waiting, GateTimeout);
  assert.equal(gate.waiting, 0);
  release();
  // The slot is free again.
  (await gate.enter(0, new AbortController().signal))();
});

Deno.test("a slot's release frees it once, however often it is called", async () => {
  const gate = new PriorityGate(1);
  const never = new AbortController().signal;
  const release = await gate.enter(0, never);
  release();
  release();
  // One slot, so the second caller must wait; a release counted twice would have let it in.
  const first = await gate.enter(0, never);
  const second = gate.enter(0, never);
  assert.equal(gate.waiting, 1);
  first();
  (await second)();
  assert.equal(gate.waiting, 0);
});

Deno.test("the axon answers 408 when a request waits past its timeout for a forward slot", async () => {
  const Slow: SynapseKind<{ n: number }> = {
    name: "Slow",
    fields: z.object({ n: z.number() }),
    requiredFields: ["n"],
    hashFields: [],
  };
  const bob = Keypair.fromUri("//Bob");
  let unblock = () => {};
  const blocked = new Promise<void>((resolve) => unblock = resolve);
  const axon = new Axon({ keypair: bob, port: 0, host: "127.0.0.1", maxConcurrentForwards: 1 });
  axon.attach(Slow, {
    forward: async (synapse) => {
      if (synapse.fields.n === 1) await blocked;
      return synapse.fields;
    },
  });
  const port = await axon.start();
  try {
    const target = { ip: "127.0.0.1", port, hotkey: bob.ss58Address };
    const holder = new Dendrite(Keypair.fromUri("//Alice")).call(target, Slow, { n: 1 }, 30);
    // Give the first request time to take the only slot.
    await new Promise((r) => setTimeout(r, 300));
    // Sent by hand so the client waits longer than the synapse's own 1 s timeout.
    const charlie = Keypair.fromUri("//Charlie");
    const request = signedSynapse(Slow, { n: 2 }, {
      signer: charlie,
      axonHotkey: bob.ss58Address,
      timeout: 1,
    });
    const response = await fetch(`http://127.0.0.1:${port}/Slow`, { method: "POST", ...request });
    assert.equal(response.status, 408);
    assert.deepEqual(await response.json(), { message: "Response timeout after: 1.0s" });
    unblock();
    assert.equal((await holder).statusCode, 200);
  } finally {
    unblock();
    await axon.stop();
  }
});
