import assert from "node:assert/strict";
import { cancelOrders, limitOrder } from "../../agents/sdk/instructions.ts";
import type { AccountOrder } from "../../sim/engine.ts";
import { keepOwnCancellations } from "../../validator/own_cancellations.ts";

const resting = (...ids: number[]): AccountOrder[] =>
  ids.map((orderId) => ({
    orderId,
    timestamp: 0,
    volume: 1,
    leverage: 0,
    direction: 0,
    price: 100,
    clientOrderId: null,
  }));

Deno.test("keepOwnCancellations keeps a miner's own ids once each, forwards the first few others and drops a cancel left empty", () => {
  const place = limitOrder(3, 0, 0, 1, 100);
  const mixed = cancelOrders(3, 0, [1, 9, 1, 2]); // 9 is not held, the second 1 is a repeat
  const foreignOnly = cancelOrders(3, 1, [7, 8]);
  const own = cancelOrders(3, 1, [5]);
  const kept = keepOwnCancellations(
    [place, mixed, foreignOnly, own],
    [resting(1, 2), resting(5)],
    1,
  );
  // One foreign cancellation is forwarded (9); 1 repeated, 7 and 8 are past the forwarded one.
  assert.deepEqual(kept.instructions, [
    place,
    { ...mixed, cancellations: mixed.cancellations.filter((_, i) => i !== 2) },
    own,
  ]);
  assert.equal(kept.droppedCancellations, 3);
  // The book-1 cancel of 7 and 8 is left with nothing and goes whole: validators count it as a
  // dropped instruction (metrics and the "instructions dropped" line).
  assert.equal(kept.droppedInstructions, 1);
});

Deno.test("keepOwnCancellations passes an instruction that is kept whole as the same object", () => {
  const own = cancelOrders(0, 0, [4, 6]);
  const kept = keepOwnCancellations([own], [resting(4, 6)]);
  assert.equal(kept.instructions[0], own);
  assert.equal(kept.droppedInstructions, 0);
  assert.equal(kept.droppedCancellations, 0);
});

Deno.test("keepOwnCancellations keeps an own id once across a reply's cancels of the same book", () => {
  const first = cancelOrders(0, 0, [4]);
  const again = cancelOrders(0, 0, [4, 6]);
  const later = cancelOrders(0, 0, [4]);
  // Nothing forwarded: each repeat of 4 is a cancellation of an order not held any more.
  const kept = keepOwnCancellations([first, again, later], [resting(4, 6)], 0);
  assert.deepEqual(kept.instructions, [first, {
    ...again,
    cancellations: [again.cancellations[1]],
  }]);
  assert.equal(kept.droppedCancellations, 2);
  assert.equal(kept.droppedInstructions, 1);
});

Deno.test("keepOwnCancellations passes a cancel of no orders as it came, not counted as dropped", () => {
  const none = cancelOrders(0, 0, []);
  const kept = keepOwnCancellations([none], [resting(4)], 0);
  assert.equal(kept.instructions[0], none);
  assert.equal(kept.droppedInstructions, 0);
  assert.equal(kept.droppedCancellations, 0);
});
