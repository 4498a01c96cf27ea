import assert from "node:assert/strict";
import { smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { simulationConfigFor, stateForAgent } from "../../agents/sdk/state.ts";
import { minerStates } from "../../validator/miner_states.ts";

/** Runs `test` on an engine of the small preset (seed 3, one thread) with the simulation config
 * its agents are given; closes the engine after. */
function onSmallEngine(
  test: (engine: SimEngine, simulationConfig: ReturnType<typeof simulationConfigFor>) => void,
): void {
  const config = smallPreset();
  const engine = SimEngine.create({ config, seed: 3, threads: 1 });
  try {
    test(engine, simulationConfigFor(config));
  } finally {
    engine.close();
  }
}

Deno.test("miner states: shared books, same result as the per-agent conversion", () =>
  onSmallEngine((engine, simulationConfig) => {
    let checked = 0;
    for (let i = 0; i < 6; i++) {
      const publish = engine.advance();
      assert.ok(publish !== null);
      const uids = [0, 1, 2, 3];
      const states = minerStates(publish, uids, simulationConfig, { first: i === 0 });
      for (const uid of uids) {
        const expected = stateForAgent(publish, uid, simulationConfig, { first: i === 0 });
        assert.deepEqual(states.get(uid), expected, `uid ${uid} at publish ${i + 1}`);
        checked += expected.notices![uid].length;
      }
      assert.equal(states.get(0)!.books, states.get(3)!.books, "one books object for all");
      for (const book of [0, 1]) {
        engine.inject(
          0,
          [{ type: "PLACE_ORDER_MARKET", bookId: book, direction: 0, volume: 1 }],
          1e7,
        );
        engine.inject(1, [{
          type: "PLACE_ORDER_LIMIT",
          bookId: book,
          direction: 1,
          volume: 0.5,
          price: 1000,
          clientOrderId: 9,
        }], 1e7);
      }
    }
    assert.ok(checked > 10, `notices compared: ${checked}`);
  }));

Deno.test("miner states: a trade whose id is also an order id in its book is matched to the trade", () =>
  onSmallEngine((engine, simulationConfig) => {
    let compared = 0;
    for (let i = 0; i < 8 && compared === 0; i++) {
      const publish = engine.advance();
      assert.ok(publish !== null);
      // Changed before either conversion: the books of a publish are converted once and kept.
      for (const notice of publish.notices) {
        if (notice.agentId !== 0 || notice.trade === undefined) continue;
        const book = publish.books.find((b) => b.bookId === notice.bookId)!;
        const placement = book.record.find((e) => e.event === "place");
        if (placement === undefined) continue;
        // Trade and order ids are counted apart, so another agent's order may carry this trade's
        // id; its placement record must not stand in for the trade's.
        book.record.push({ ...placement, agentId: 7, orderId: notice.trade.tradeId });
        compared++;
      }
      if (compared > 0) {
        const expected = stateForAgent(publish, 0, simulationConfig);
        assert.deepEqual(minerStates(publish, [0], simulationConfig).get(0), expected);
      }
      engine.inject(0, [{ type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 1 }], 1e7);
    }
    assert.ok(compared > 0, "uid 0 traded");
  }));

Deno.test("miner states: each miner gets its own account and notices only, agent 0's included", () =>
  onSmallEngine((engine, simulationConfig) => {
    let agentZeroNotices = 0;
    for (let i = 0; i < 6; i++) {
      const publish = engine.advance();
      assert.ok(publish !== null);
      const uids = [0, 1, 2, 3];
      const states = minerStates(publish, uids, simulationConfig, { first: i === 0 });
      agentZeroNotices += states.get(0)!.notices![0].filter((e) => e.agentId === 0).length;
      for (const uid of uids) {
        const state = states.get(uid)!;
        assert.deepEqual(Object.keys(state.accounts), [String(uid)], `uid ${uid} accounts`);
        assert.deepEqual(Object.keys(state.notices!), [String(uid)], `uid ${uid} notices`);
        for (const event of state.notices![uid]) {
          // Start and stop notices name no agent; every other one is the miner's own.
          assert.ok(event.agentId === uid || event.agentId === null, `uid ${uid}: ${event.type}`);
        }
      }
      engine.inject(0, [{ type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 1 }], 1e7);
    }
    assert.ok(agentZeroNotices > 0, "agent 0 had notices to keep to itself");
  }));

Deno.test("miner states: a notice for an agent without an account reaches that uid alone", () =>
  onSmallEngine((engine, simulationConfig) => {
    engine.advance();
    engine.inject(0, [{
      type: "PLACE_ORDER_LIMIT",
      bookId: 0,
      direction: 0,
      volume: 1,
      price: 100,
      clientOrderId: 5,
    }], 1e7);
    const publish = engine.advance();
    assert.ok(publish !== null);
    const own = publish.notices.find((n) => n.agentId === 0);
    assert.ok(own !== undefined, "uid 0's placement is answered");
    // The exchange answers only agents with an account; a notice for one without (uid 9 of 4
    // accounts) is what another simulator could send.
    publish.notices.push({ ...own, agentId: 9 });
    assert.ok(publish.accounts.every((a) => a.agentId !== 9));
    const states = minerStates(publish, [0, 9], simulationConfig);
    const stranger = states.get(9)!;
    assert.deepEqual(stranger.accounts, {});
    assert.deepEqual(
      stranger.notices![9].map((e) => [e.type, e.agentId]),
      [[own.type, 9]],
    );
    assert.ok(states.get(0)!.notices![0].every((e) => e.agentId === 0), "not uid 0's");
  }));
