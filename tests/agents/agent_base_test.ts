import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadAgent } from "../../agents/sdk/loader.ts";
import { Agent, runAgentStep } from "../../agents/sdk/agent.ts";
import { simulationConfigFor, stateForAgent, type StateUpdate } from "../../agents/sdk/state.ts";
import { smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { testTempDir } from "../temp_dir.ts";

Deno.test("an agent is constructed with a params object, its true/false values booleans", async () => {
  const dir = testTempDir("taos-agent-params-");
  writeFileSync(
    join(dir, "ParamsAgent.ts"),
    `export class ParamsAgent {
       constructor(uid, params) { this.params = params; }
       onUpdate() { return []; }
     }\n`,
  );
  const paramsOf = async (params?: string) =>
    ((await loadAgent({ path: dir, name: "ParamsAgent", params, uid: 0 })) as unknown as {
      params: unknown;
    }).params;
  assert.deepEqual(await paramsOf(), {}, "no parameters given");
  assert.deepEqual(await paramsOf(""), {});
  assert.deepEqual(await paramsOf("PO=False GTT=true IOC=1 label=x"), {
    PO: false,
    GTT: true,
    IOC: 1,
    label: "x",
  });
});

Deno.test("the base class keeps no past states and has no report step", async () => {
  const config = smallPreset();
  const engine = SimEngine.create({ config, seed: 3, threads: 1 });
  try {
    const simulation = simulationConfigFor(config);
    const seen: StateUpdate[] = [];
    class Watcher extends Agent {
      onUpdate(state: StateUpdate) {
        seen.push(state);
        return [];
      }
    }
    const agent = new Watcher(0, {});
    for (let i = 0; i < 3; i++) {
      const publish = engine.advance();
      assert.ok(publish !== null);
      await runAgentStep(agent, 0, stateForAgent(publish, 0, simulation, { first: i === 0 }));
    }
    assert.equal(seen.length, 3);
    assert.ok(!("history" in agent), "no history field");
    assert.ok(!("report" in agent), "no report step");
    // Nothing the agent holds is an earlier update: only what it keeps itself.
    for (const value of Object.values(agent)) {
      assert.ok(!seen.slice(0, -1).includes(value as StateUpdate), "a past state is held");
      if (Array.isArray(value)) {
        assert.ok(value.every((v) => !seen.includes(v as StateUpdate)), "past states are held");
      }
    }
  } finally {
    engine.close();
  }
});
