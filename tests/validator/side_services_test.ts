/**
 * The publish round when a side service fails: the metrics report, the state file and PagerDuty.
 * The round goes on, each failure is told once, the validator recovers with the service, and the
 * bookkeeping (query counts, saved state) stays right. Real SimEngine, real miners' axons on
 * loopback, real files.
 */
import assert from "node:assert/strict";
import { smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { Axon } from "../../bittensor/axon.ts";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import { encodeResponse, MarketSimulationStateUpdate } from "../../bittensor/market_synapse.ts";
import { type Neuron, StaticNeuronDirectory } from "../../bittensor/neurons.ts";
import { parseValidatorArgs } from "../../validator/options.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { type ReportInput, ValidatorMetrics } from "../../validator/metrics.ts";
import { DendriteMinerClient } from "../../validator/miner_client.ts";
import { Validator, type ValidatorDeps } from "../../validator/validator.ts";
import { loggingAlerter, quietParts } from "./quiet_parts.ts";
import { minerGaugeValue } from "./metrics_reports.ts";

await cryptoReady();

const VALIDATOR = Keypair.fromUri("//Validator");

/** Two miners' axons on loopback, each answering every state update with a market buy of 1. */
async function answeringMiners(): Promise<{ neurons: Neuron[]; stop: () => Promise<void> }> {
  const axons: Axon[] = [];
  const neurons: Neuron[] = [];
  for (const uid of [0, 1]) {
    const keypair = Keypair.fromUri(`//Miner${uid}`);
    const axon = new Axon({ keypair, port: 0, host: "127.0.0.1", requireSignature: true });
    axon.attach(MarketSimulationStateUpdate, {
      forward: (synapse) =>
        encodeResponse(synapse.fields, {
          agent_id: uid,
          instructions: [{
            type: "PLACE_ORDER_MARKET",
            agentId: uid,
            bookId: 0,
            direction: 0,
            quantity: 1,
            clientOrderId: null,
          }],
        }),
    });
    const port = await axon.start();
    axons.push(axon);
    neurons.push({
      uid,
      hotkey: keypair.ss58Address,
      coldkey: "",
      stake: 0,
      validatorPermit: false,
      axon: { ip: "127.0.0.1", port, ipType: 4, protocol: 4, version: 0 },
      lastUpdate: 0,
    });
  }
  return { neurons, stop: async () => void await Promise.all(axons.map((a) => a.stop())) };
}

/**
 * A local validator of the small market (an hour: 720 publishes) querying `neurons` over the real
 * dendrite, the state saved after every round; `parts` replaces the quiet parts.
 */
function validatorOf(neurons: Neuron[], store: ValidatorStore, parts: Partial<ValidatorDeps>) {
  return new Validator({
    options: {
      ...parseValidatorArgs(["--local", "--neuron.weights_interval", "0", "-t", "5"]),
      saveIntervalSeconds: 0,
    },
    config: { ...smallPreset(), duration: 3600e9 },
    createMarket: (c, seed) => SimEngine.create({ config: c, seed, threads: 1 }),
    directory: new StaticNeuronDirectory(neurons),
    client: new DendriteMinerClient(new Dendrite(VALIDATOR)),
    store,
    ...quietParts(),
    hotkey: VALIDATOR.ss58Address,
    ...parts,
  });
}

/** Metrics whose report fails at the calls numbered in `failing` (1 = the first publish's). */
class FailingReports extends ValidatorMetrics {
  calls = 0;
  constructor(readonly failing: Set<number>) {
    super({ wallet: VALIDATOR.ss58Address, netuid: "local", info: {} });
  }
  override report(input: ReportInput): void {
    if (this.failing.has(++this.calls)) throw new Error(`report ${this.calls} refused`);
    super.report(input);
  }
}

Deno.test({
  name:
    "a metrics report failing at a query-count publish still starts the next 100 publishes' counts afresh",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const miners = await answeringMiners();
  const store = ValidatorStore.open(":memory:");
  const lines: string[] = [];
  // The counts are handed over at publishes 100, 200, ...: the one at 100 fails.
  const metrics = new FailingReports(new Set([100]));
  const validator = validatorOf(miners.neurons, store, {
    metrics,
    alerts: loggingAlerter(lines),
  });
  try {
    await validator.start();
    for (let i = 0; i < 200; i++) await validator.round();
    assert.deepEqual(lines, [
      "ALERT metrics: metrics report failed: report 100 refused",
      "RESOLVED metrics",
    ]);
    const text = await metrics.registry.metrics();
    for (const uid of [0, 1]) {
      assert.equal(minerGaugeValue(text, uid, "requests"), "100", `uid ${uid}'s requests`);
      assert.equal(minerGaugeValue(text, uid, "success"), "100", `uid ${uid}'s successes`);
    }
  } finally {
    validator.close();
    store.close();
    await miners.stop();
  }
});
