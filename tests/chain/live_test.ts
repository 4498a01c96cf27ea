/**
 * Opt-in test against a real subtensor node; skipped unless TAOS_SUBTENSOR_ENDPOINT is set.
 *
 * - TAOS_SUBTENSOR_ENDPOINT: network name or ws:// URL (e.g. ws://127.0.0.1:9944)
 * - TAOS_SUBTENSOR_NETUID: subnet to read (default 1)
 * - TAOS_SUBTENSOR_HOTKEY_URI: secret URI of a hotkey registered on that subnet (e.g. //Alice on
 *   a localnet); enables the serve_axon and set_weights steps
 * - TAOS_SUBTENSOR_AXON_IP / TAOS_SUBTENSOR_AXON_PORT: endpoint to announce (default 1.2.3.4:8091)
 */
import assert from "node:assert/strict";
import { Keyring } from "@polkadot/api";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import {
  ChainNeuronDirectory,
  ChainWeightSetter,
  readHyperparameters,
  serveAxon,
  SubtensorClient,
} from "../../chain/mod.ts";

const endpoint = Deno.env.get("TAOS_SUBTENSOR_ENDPOINT");
const netuid = Number(Deno.env.get("TAOS_SUBTENSOR_NETUID") ?? "1");
const hotkeyUri = Deno.env.get("TAOS_SUBTENSOR_HOTKEY_URI");

Deno.test({
  name: "live: read the metagraph, serve an axon and set weights",
  ignore: !endpoint,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const client = await SubtensorClient.connect({ network: endpoint!, log: console.log });
    try {
      assert.ok(client.runtime.specVersion > 0);
      const params = await readHyperparameters(client, netuid);
      const directory = new ChainNeuronDirectory(client, netuid);
      const neurons = await directory.neurons();
      console.log(
        `subnet ${netuid}: ${neurons.length} neurons at block ${directory.block}, tempo ${params.tempo}, ` +
          `commit-reveal ${params.commitRevealEnabled ? "on" : "off"}`,
      );
      assert.ok(neurons.length > 0, "the subnet has neurons");
      assert.deepEqual(neurons.map((n) => n.uid), [...neurons.keys()]);
      if (!hotkeyUri) return;

      await cryptoWaitReady();
      const hotkey = new Keyring({ type: "sr25519", ss58Format: 42 }).addFromUri(hotkeyUri);
      const served = await serveAxon(client, hotkey, {
        netuid,
        ip: Deno.env.get("TAOS_SUBTENSOR_AXON_IP") ?? "1.2.3.4",
        port: Number(Deno.env.get("TAOS_SUBTENSOR_AXON_PORT") ?? "8091"),
      });
      console.log(`serve_axon: ${served.message}`);
      assert.ok(served.ok || /rate limit/.test(served.message), served.message);

      const setter = new ChainWeightSetter(client, { netuid, hotkey, log: console.log });
      const uids = neurons.map((n) => n.uid);
      const result = await setter.setWeights(uids, uids.map(() => 1 / uids.length), 1_000_000);
      assert.ok(
        result.accepted || /rate limited|timelocked/.test(result.message),
        result.message,
      );
    } finally {
      await client.close();
    }
  },
});
