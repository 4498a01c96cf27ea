/** The agents' seeded random source: its ranges, and choice reaching every value. */
import assert from "node:assert/strict";
import { AgentRandom } from "../../agents/sdk/random.ts";

// Seeds whose first draw is the generator's largest and smallest 32-bit output (0xffffffff and
// 0), found by inverting its output mix: the ends of next()'s range, met on the first call.
const LARGEST_FIRST = 181493619;
const SMALLEST_FIRST = 4294967294;

Deno.test("next() stays in [0, 1): its largest output is 1 - 2^-32, its smallest 0", () => {
  assert.equal(new AgentRandom(LARGEST_FIRST).next(), 1 - 2 ** -32);
  assert.equal(new AgentRandom(SMALLEST_FIRST).next(), 0);
});

Deno.test("uniform(low, high) starts at low and stays below high, whichever the draw", () => {
  assert.equal(new AgentRandom(SMALLEST_FIRST).uniform(0.1, 1.0), 0.1);
  const top = new AgentRandom(LARGEST_FIRST).uniform(2, 3);
  assert.ok(top < 3 && top > 3 - 1e-9, `${top}`);
  const rng = new AgentRandom(42);
  for (let i = 0; i < 1000; i++) {
    const value = rng.uniform(-5, 5);
    assert.ok(value >= -5 && value < 5, `${value}`);
  }
});

Deno.test("choice() reaches every value, the last one included, and never past it", () => {
  assert.equal(new AgentRandom(LARGEST_FIRST).choice(["a", "b", "c"]), "c");
  assert.equal(new AgentRandom(SMALLEST_FIRST).choice(["a", "b", "c"]), "a");
  const rng = new AgentRandom(7);
  const counts = [0, 0, 0];
  for (let i = 0; i < 300; i++) counts[rng.choice([0, 1, 2])]++;
  // Seed 7 gives 89, 108 and 103 of 300: each value near a third.
  assert.deepEqual(counts, [89, 108, 103]);
});

Deno.test("equal seeds give equal sequences; a fractional seed is its floor", () => {
  const draws = (seed: number) => {
    const rng = new AgentRandom(seed);
    return Array.from({ length: 5 }, () => rng.next());
  };
  assert.deepEqual(draws(3), draws(3));
  assert.deepEqual(draws(3.7), draws(3));
  assert.notDeepEqual(draws(3), draws(4));
});
