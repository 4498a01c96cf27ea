import assert from "node:assert/strict";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady } from "../../bittensor/keypair.ts";
import {
  encodeStateUpdate,
  MarketSimulationStateUpdate,
  stateForMiner,
} from "../../bittensor/market_synapse.ts";
import { RepeatLimiter } from "../../miner/repeat_limiter.ts";
import { alice, bob, marketState, startFixtureMiner } from "./support.ts";

await cryptoReady();

Deno.test("an agent failing at every update is logged once, every update still answered and counted", async () => {
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
    }
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0],
      /^agent FixtureAgent failed in onUpdate at state \d+: no_model \(at /,
    );
    const text = await miner.metrics.registry.metrics();
    assert.match(text, /taos_miner_agent_errors_total\{reason="error"[^}]*\} 4/);
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
