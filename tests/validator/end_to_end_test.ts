import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import { Wallet } from "../../bittensor/wallet.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { minerFlags, oneSmallSimulation, startValidator, startWalletMiner } from "./processes.ts";

const SDK = new URL("../../agents/sdk/agent.ts", import.meta.url).href;

/** Agents for the misbehaving miners, written as files `taos miner -g` loads. */
const AGENTS: Record<string, string> = {
  GarbageAgent: `import { Agent } from "${SDK}";
export class GarbageAgent extends Agent {
  onUpdate() {
    return [{ type: "PLACE_ORDER_LIMIT", bookId: "zero", price: -1 }, "not an instruction"];
  }
}
`,
  SleepyAgent: `import { Agent } from "${SDK}";
export class SleepyAgent extends Agent {
  async onUpdate() {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    return [];
  }
}
`,
};

Deno.test({
  name:
    "validator + 3 taos miner processes: garbage, sleeper, good; only the good one earns weight",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-e2e-"));
  const wallets = join(dir, "wallets");
  const agents = join(dir, "agents");
  Deno.mkdirSync(agents);
  for (const [name, source] of Object.entries(AGENTS)) {
    writeFileSync(join(agents, `${name}.ts`), source);
  }
  await cryptoReady();
  const validatorKey = Keypair.fromUri("//Validator");
  await new Wallet({ root: wallets, name: "owner", hotkey: "validator" }).writeHotkey(validatorKey);
  const names = ["GarbageAgent", "SleepyAgent", "RandomTakerAgent"];
  const miners = await Promise.all(names.map((name, uid) =>
    startWalletMiner(uid, {
      wallets,
      wallet: `miner${uid}`,
      key: Keypair.fromUri(`//Miner${uid}`),
      validator: validatorKey.ss58Address,
      agent: name,
      agentsDir: agents,
    })
  ));
  try {
    const validator = startValidator([
      "--local",
      "-p",
      wallets,
      "-w",
      "owner",
      "-h",
      "validator",
      ...minerFlags(miners),
      ...oneSmallSimulation("1m"),
      "--neuron.weights_interval",
      "0",
      "-o",
      "0",
      "--http.host",
      "127.0.0.1",
      "--state",
      join(dir, "state.db"),
    ]);
    const status = await validator.done;
    assert.equal(status.code, 0, validator.stderr.join("\n"));
    assert.deepEqual(
      validator.stdout.filter((line) => !line.startsWith('{"weights"')),
      [],
      "stdout holds only the weight lines",
    );
    assert.ok(validator.stderr.some((line) => line.includes("status page and metrics on")));
    const submissions = validator.stdout
      .filter((line) => line.startsWith('{"weights"'))
      .map((line) => JSON.parse(line).weights as { uids: number[]; weights: number[] });
    assert.ok(submissions.length > 0, "weights were set");
    const last = submissions[submissions.length - 1];
    const weightOf = (uid: number) => last.weights[last.uids.indexOf(uid)];
    assert.deepEqual(last.uids, [0, 1, 2]);
    assert.ok(weightOf(2) > 0.99, `good miner weight ${weightOf(2)}`);
    assert.ok(weightOf(0) < 0.01, `garbage miner weight ${weightOf(0)}`);
    assert.ok(weightOf(1) < 0.01, `sleeping miner weight ${weightOf(1)}`);

    const store = ValidatorStore.open(join(dir, "state.db"));
    const saved = store.load();
    store.close();
    assert.ok(saved !== null);
    assert.equal(saved.snapshot.step, 12, "one simulated minute at 5 s per publish");
    assert.equal(saved.snapshot.simulation.index, 1, "the next simulation is prepared");
    assert.ok(saved.snapshot.scores[2] > 0);
    assert.equal(saved.snapshot.scores[0], 0);
    assert.equal(saved.snapshot.scores[1], 0);
  } finally {
    await Promise.all(miners.map((m) => m.child.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
});
