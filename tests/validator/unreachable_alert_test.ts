import assert from "node:assert/strict";
import { smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady } from "../../bittensor/keypair.ts";
import { RecordingWeightSetter } from "../../bittensor/neurons.ts";
import { oneMinerDirectory } from "./quiet_parts.ts";
import { parseValidatorArgs } from "../../validator/options.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { Alerter } from "../../validator/pagerduty.ts";
import { StatusBoard } from "../../validator/status.ts";
import { Validator } from "../../validator/validator.ts";
import { DendriteMinerClient, type MinerClient } from "../../validator/miner_client.ts";
import { alice, bob, charlie, startFixtureMiner } from "../miner/support.ts";

await cryptoReady();

/**
 * The alerts of a validator (//Alice) querying uid 0 as `minerHotkey` at `port` through `client`
 * for the 12 publishes after which it pages; `local` false for a chain run.
 */
async function alertsAfterSilence(
  client: MinerClient,
  minerHotkey: string,
  port: number,
  local = true,
): Promise<string[]> {
  const lines: string[] = [];
  const store = ValidatorStore.open(":memory:");
  const validator = new Validator({
    options: { ...parseValidatorArgs(["--local"]), saveIntervalSeconds: 3600, local },
    config: { ...smallPreset(), duration: 300e9 },
    createMarket: (c, seed) => SimEngine.create({ config: c, seed, threads: 1 }),
    directory: oneMinerDirectory(minerHotkey, port),
    weights: new RecordingWeightSetter(),
    client,
    store,
    alerts: new Alerter({ routingKey: null, source: "w:h", log: (l) => void lines.push(l) }),
    metrics: null,
    board: new StatusBoard(),
    hotkey: alice.ss58Address,
    log: () => {},
  });
  try {
    await validator.start();
    for (let i = 0; i < 12; i++) await validator.round();
  } finally {
    validator.close();
    store.close();
  }
  return lines.filter((l) => l.startsWith("ALERT"));
}

Deno.test("a local validator holding another miner's hotkey is told so by the miner and pointed at the flags", async () => {
  // Bob's miner trusts Alice; the validator was given Charlie's hotkey for Bob's address.
  const miner = await startFixtureMiner("");
  try {
    const client = new DendriteMinerClient(new Dendrite(alice));
    const alerts = await alertsAfterSilence(client, charlie.ss58Address, miner.port);
    // The miner names the hotkey the request was addressed to, not a signature mismatch, and the
    // hint is about the flags: "is this hotkey still registered, with a validator permit?" would
    // be a chain question in a run without a chain.
    assert.deepEqual(alerts, [
      "ALERT miners-unreachable: all 1 miners refused the queries in 12 consecutive publishes " +
      `(Not Verified with error: Request is addressed to hotkey ${charlie.ss58Address}, but ` +
      `this axon's hotkey is ${bob.ss58Address}): is this validator's hotkey ` +
      `(${alice.ss58Address}) in each miner's --local.validators, and does each --miner give ` +
      "that miner's own hotkey?",
    ]);
  } finally {
    await miner.stop();
  }
});

Deno.test("a chain validator whose queries are all refused is asked about its registration", async () => {
  const refusing: MinerClient = {
    query: (requests) =>
      Promise.resolve(requests.map((r) => ({
        uid: r.uid,
        outcome: "rejected" as const,
        processTime: 0,
        message: "Forbidden. Key is blacklisted: Non-validator hotkey.",
        checked: null,
      }))),
  };
  const alerts = await alertsAfterSilence(refusing, bob.ss58Address, 9, false);
  assert.deepEqual(alerts, [
    "ALERT miners-unreachable: all 1 miners refused the queries in 12 consecutive publishes " +
    "(Forbidden. Key is blacklisted: Non-validator hotkey.): is this hotkey still registered, " +
    "with a validator permit?",
  ]);
});
