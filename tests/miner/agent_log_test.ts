import assert from "node:assert/strict";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady } from "../../bittensor/keypair.ts";
import {
  decodeResponse,
  encodeStateUpdate,
  MarketSimulationStateUpdate,
  stateForMiner,
} from "../../bittensor/market_synapse.ts";
import { RepeatLimiter } from "../../miner/repeat_limiter.ts";
import { alice, bob, marketState, startFixtureMiner } from "./support.ts";

await cryptoReady();

Deno.test("an agent failing at every update is logged once, every update answered with no instructions and counted", async () => {
  const warnings: string[] = [];
  const miner = await startFixtureMiner("fail=no_model", {
    log: (at, message) => at === "warning" && warnings.push(message),
  });
  try {
    const dendrite = new Dendrite(alice);
    const target = { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address };
    const wire = encodeStateUpdate(stateForMiner(marketState(), 1));
    for (let i = 0; i < 4; i++) {
      const result = await dendrite.call(target, MarketSimulationStateUpdate, wire, 3);
      assert.equal(result.statusCode, 200, result.statusMessage);
      assert.deepEqual(decodeResponse(result.fields!), { agent_id: 1, instructions: [] });
    }
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0],
      /^agent FixtureAgent failed in onUpdate at state \d+: no_model \(at /,
    );
    const text = await miner.metrics.registry.metrics();
    // One error per update sent, four in all; the line ends at the count (not 40 or 4.5).
    assert.match(text, /taos_miner_agent_errors_total\{reason="error"[^}]*\} 4$/m);
  } finally {
    await miner.stop();
  }
});

Deno.test("a repeated problem is logged once per window, with the count of the repeats", () => {
  let now = 0;
  const repeats = new RepeatLimiter(60_000, () => now);
  assert.equal(repeats.pass("a", "A"), "A");
  now = 1000;
  assert.equal(repeats.pass("a", "A"), null);
  assert.equal(repeats.pass("b", "B"), "B", "another problem is its own");
  now = 30_000;
  assert.equal(repeats.pass("a", "A"), null);
  now = 61_000;
  assert.equal(repeats.pass("a", "A"), "A (and 2 more like it in the 61 s before, not logged)");
  now = 200_000;
  assert.equal(repeats.pass("a", "A"), "A", "nothing left out since");
  // The window is half-open: a full 60 s after the last logged line the next one is logged.
  now = 260_000;
  assert.equal(repeats.pass("a", "A"), "A");
});

Deno.test("the seconds a repeat line quotes are rounded to the nearest", () => {
  let now = 0;
  const repeats = new RepeatLimiter(60_000, () => now);
  assert.equal(repeats.pass("a", "A"), "A");
  now = 10_000;
  assert.equal(repeats.pass("a", "A"), null);
  now = 61_600;
  assert.equal(repeats.pass("a", "A"), "A (and 1 more like it in the 62 s before, not logged)");
});

Deno.test("past 1000 problems the one logged longest ago is forgotten, and only it", () => {
  let now = 0;
  const repeats = new RepeatLimiter(60_000, () => now);
  // "p0" is logged, "p1" 30 s later, then "p0" again once its window has passed: "p1" is now the
  // one logged longest ago, and its window still runs.
  assert.equal(repeats.pass("p0", "P0"), "P0");
  now = 30_000;
  assert.equal(repeats.pass("p1", "P1"), "P1");
  now = 60_000;
  assert.equal(repeats.pass("p0", "P0"), "P0");
  for (let i = 2; i < 1000; i++) assert.equal(repeats.pass(`p${i}`, `P${i}`), `P${i}`);
  // 1000 problems are kept; a new one forgets "p1", logged longest ago.
  assert.equal(repeats.pass("p1000", "P1000"), "P1000");
  now = 60_001;
  assert.equal(repeats.pass("p0", "P0"), null, "p0 was logged last at 60 000 and is kept");
  assert.equal(repeats.pass("p2", "P2"), null, "p2 is kept");
  // Within its window, so logged again only because it was forgotten (and without a count).
  assert.equal(repeats.pass("p1", "P1"), "P1", "p1 was forgotten");
});
