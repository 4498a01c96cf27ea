import assert from "node:assert/strict";
import { ArrivalQueues } from "../../sim/arrival_queues.ts";

Deno.test("arrival queues answer in the order instructions were queued, each agent, book and instant apart", () => {
  const queues = new ArrivalQueues<string>();
  queues.push(1, 0, 5e9, "first");
  queues.push(1, 0, 5e9, "second");
  queues.push(1, 1, 5e9, "other book");
  queues.push(1, 0, 6e9, "later");
  queues.push(2, 0, 5e9, "other agent");
  // Two instructions of one agent arriving together on one book: the first queued is answered first.
  assert.equal(queues.take(1, 0, 5e9), "first");
  assert.equal(queues.take(1, 0, 5e9), "second");
  assert.equal(queues.take(1, 0, 5e9), undefined);
  assert.equal(queues.take(1, 1, 5e9), "other book");
  assert.equal(queues.take(1, 0, 6e9), "later");
  assert.equal(queues.take(2, 0, 5e9), "other agent");
  // A key emptied and filled again starts afresh.
  queues.push(1, 0, 5e9, "again");
  assert.equal(queues.take(1, 0, 5e9), "again");
});

Deno.test("dropping an agent's values keeps those of agents whose ids start with its digits", () => {
  const queues = new ArrivalQueues<number>();
  for (const agentId of [1, 10, 11, 21]) queues.push(agentId, 0, 5e9, agentId);
  queues.dropAgent(1);
  assert.equal(queues.take(1, 0, 5e9), undefined);
  // Agent 1's reset must not forget what agents 10 and 11 have in flight.
  assert.deepEqual([10, 11, 21].map((agentId) => queues.take(agentId, 0, 5e9)), [10, 11, 21]);
});

Deno.test("values of instructions arriving at an instant are kept until after it", () => {
  const queues = new ArrivalQueues<string>();
  queues.push(0, 0, 4e9, "before");
  queues.push(0, 0, 5e9, "at");
  queues.push(0, 0, 6e9, "after");
  queues.dropArrivedBefore(5e9);
  assert.equal(queues.take(0, 0, 4e9), undefined);
  // Arriving at the instant itself, it is not answered yet.
  assert.equal(queues.take(0, 0, 5e9), "at");
  assert.equal(queues.take(0, 0, 6e9), "after");
});
