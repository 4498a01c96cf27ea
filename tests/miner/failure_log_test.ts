/**
 * The miner's log of agent failures whose text differs every time: one line per kind of failure
 * and place (the method and the line that raised it), with the count of those left out.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady } from "../../bittensor/keypair.ts";
import {
  encodeStateUpdate,
  MarketSimulationStateUpdate,
  stateForMiner,
} from "../../bittensor/market_synapse.ts";
import type { MinerOptions, RunningMiner } from "../../miner/miner.ts";
import { testTempDir } from "../temp_dir.ts";
import { alice, bob, marketState, startFixtureMiner } from "./support.ts";

await cryptoReady();

/**
 * Fails its first 3 starts, then alternates: an odd update answers an order for another agent
 * (which a validator voids), an even one throws. Each message names the attempt.
 */
const CHANGING_AGENT = `export class Changing {
  starts = 0;
  updates = 0;
  onStart() {
    this.starts++;
    if (this.starts <= 3) throw new Error("start attempt " + this.starts);
  }
  onUpdate() {
    this.updates++;
    if (this.updates % 2 === 0) throw new Error("even update " + this.updates);
    return [{ type: "CANCEL_ORDERS", agentId: 100 + this.updates, bookId: 0,
      cancellations: [{ orderId: 1, volume: null }] }];
  }
}
`;

/** A miner serving the Changing agent, with the warnings it logs. */
async function changingMiner(options: Partial<MinerOptions> = {}) {
  const dir = testTempDir("taos-changing-");
  const file = join(dir, "Changing.ts");
  Deno.writeTextFileSync(file, CHANGING_AGENT);
  const warnings: string[] = [];
  const miner = await startFixtureMiner("", {
    agent: { path: dir, name: "Changing", params: "" },
    log: (at, message) => at === "warning" && warnings.push(message),
    ...options,
  });
  return { miner, warnings, file };
}

/** Sends `count` state updates to `miner`, each answered (with no instructions). */
async function sendUpdates(miner: RunningMiner, count: number): Promise<void> {
  const target = { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address };
  const wire = encodeStateUpdate(stateForMiner(marketState(), 1));
  const dendrite = new Dendrite(alice);
  for (let i = 0; i < count; i++) {
    const result = await dendrite.call(target, MarketSimulationStateUpdate, wire, 3);
    assert.equal(result.statusCode, 200, result.statusMessage);
  }
}

Deno.test("agent failures whose text changes each time are logged once per kind and place", async () => {
  const { miner, warnings, file } = await changingMiner();
  try {
    // 3 failed starts, then 5 invalid replies and 5 errors in turn.
    await sendUpdates(miner, 13);
    const timestamp = marketState().timestamp;
    // Until this version each of the 13 was a line: the key held the message.
    assert.equal(warnings.length, 3, warnings.join("\n"));
    assert.match(
      warnings[0],
      new RegExp(
        `^agent Changing failed in onStart at state ${timestamp}: start attempt 1 \\(at ` +
          `${file}:\\d+:\\d+\\)$`,
      ),
    );
    assert.equal(
      warnings[1],
      `agent Changing failed at state ${timestamp}: invalid agent response (a validator would ` +
        "void it): instruction 0 is for agent 101, not 1",
    );
    assert.match(
      warnings[2],
      new RegExp(
        `^agent Changing failed in onUpdate at state ${timestamp}: even update 2 \\(at ` +
          `${file}:\\d+:\\d+\\)$`,
      ),
    );
    // The metrics count every one, each line ending at its count (8, not 80).
    const text = await miner.metrics.registry.metrics();
    assert.match(text, /taos_miner_agent_errors_total\{reason="error"[^}]*\} 8$/m);
    assert.match(text, /taos_miner_agent_errors_total\{reason="invalid"[^}]*\} 5$/m);
  } finally {
    await miner.stop();
  }
});

Deno.test("the next line of a kind of agent failure says how many like it were left out", async () => {
  // A window the 13 updates fit in on a loaded machine too (they take about 0.3 s on a quiet one).
  const { miner, warnings } = await changingMiner({ repeatWindowMs: 3000 });
  try {
    await sendUpdates(miner, 13);
    assert.equal(warnings.length, 3, warnings.join("\n"));
    await new Promise((resolve) => setTimeout(resolve, 3100));
    // Update 11 (an invalid reply) and 12 (an error): 4 of each were left out before.
    await sendUpdates(miner, 2);
    assert.equal(warnings.length, 5, warnings.join("\n"));
    assert.match(
      warnings[3],
      /: instruction 0 is for agent 111, not 1 \(and 4 more like it in the \d+ s before, not logged\)$/,
    );
    assert.match(
      warnings[4],
      /: even update 12 \(at .*\) \(and 4 more like it in the \d+ s before, not logged\)$/,
    );
  } finally {
    await miner.stop();
  }
});

Deno.test("errors an agent raises between updates are logged once per kind, whatever they say", async () => {
  const dir = testTempDir("taos-ticking-");
  Deno.writeTextFileSync(
    join(dir, "Ticking.ts"),
    `export class Ticking {
       ticks = 0;
       constructor() {
         setInterval(() => { this.ticks++; throw new Error("tick " + this.ticks); }, 10);
       }
       onUpdate() { return []; }
     }\n`,
  );
  const warnings: string[] = [];
  const miner = await startFixtureMiner("", {
    agent: { path: dir, name: "Ticking", params: "" },
    log: (at, message) => at === "warning" && warnings.push(message),
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Until this version: a line per tick.
    assert.deepEqual(warnings, ["agent Ticking failed between updates: tick 1"]);
  } finally {
    await miner.stop();
  }
});

Deno.test("replacements of an agent are logged once a minute, though their figures differ", async () => {
  const dir = testTempDir("taos-exiting-");
  // Each instance answers one update and ends itself at the next, with the next exit code
  // (11, 12, ...: the count of instances is kept in a file, since each runs in a fresh worker).
  const counter = join(dir, "instances");
  Deno.writeTextFileSync(counter, "10");
  Deno.writeTextFileSync(
    join(dir, "Exiting.ts"),
    `export class Exiting {
       updates = 0;
       onUpdate() {
         if (++this.updates === 2) {
           const code = Number(Deno.readTextFileSync(${JSON.stringify(counter)})) + 1;
           Deno.writeTextFileSync(${JSON.stringify(counter)}, String(code));
           Deno.exit(code);
         }
         return [];
       }
     }\n`,
  );
  const warnings: string[] = [];
  const miner = await startFixtureMiner("", {
    agent: { path: dir, name: "Exiting", params: "" },
    log: (at, message) => at === "warning" && warnings.push(message),
  });
  try {
    await sendUpdates(miner, 6);
    // Until this version each replacement was a line: the key held the exit code.
    const replacements = warnings.filter((w) => /replacing it with a fresh instance$/.test(w));
    assert.equal(replacements.length, 1, warnings.join("\n"));
    assert.match(replacements[0], /^agent Exiting ended itself \(exit code 11\); replacing/);
    assert.ok(Number(Deno.readTextFileSync(counter)) >= 12, "a second instance exited too");
    // With the update each exit failed, as one kind of failure.
    assert.equal(warnings.length, 2, warnings.join("\n"));
  } finally {
    await miner.stop();
  }
});
