/**
 * A metagraph is read from one block: its neurons and their stake come from the block it names,
 * however the chain moves on while the calls are made.
 */
import assert from "node:assert/strict";
import { readMetagraph, SubtensorClient } from "../../chain/mod.ts";
import { alice, bob, NETUID, startNode } from "./subnet_fixture.ts";

const testOptions = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "a metagraph read while blocks advance has its neurons and stake from the block it names",
  testOptions,
  async () => {
    const { node, subnet } = startNode();
    // Each answer shows the block it was read at: every neuron's last update is that block, and
    // its total stake is that many TAO.
    node.setRuntimeApi(
      "NeuronInfoRuntimeApi",
      "get_neurons_lite",
      ([netuid], block) =>
        netuid === NETUID ? subnet.neurons.map((n) => ({ ...n, lastUpdate: block })) : [],
    );
    node.setRuntimeApi(
      "SubnetInfoRuntimeApi",
      "get_subnet_state",
      ([netuid], block) =>
        netuid === NETUID
          ? {
            netuid: NETUID,
            hotkeys: subnet.neurons.map((n) => n.hotkey),
            totalStake: subnet.neurons.map(() => block * 1e9),
          }
          : null,
    );
    const client = await SubtensorClient.connect({ network: node.url, connectTimeoutMs: 10_000 });
    try {
      // A new block before every call the node answers from here on.
      node.onRequest = () => void (node.best += 1);
      for (let read = 0; read < 3; read++) {
        const metagraph = await readMetagraph(client, NETUID);
        assert.equal(metagraph.neurons.length, 3);
        for (const neuron of metagraph.neurons) {
          assert.equal(neuron.lastUpdate, metagraph.block, `uid ${neuron.uid}'s neuron block`);
          assert.equal(neuron.stake, metagraph.block, `uid ${neuron.uid}'s stake block`);
        }
      }
      assert.ok(node.best > 1003, `the chain moved on: ${node.best}`);
      // A block the node does not know is an error, as on a real node (which prunes old state).
      node.onRequest = () => {};
      const unknown = `0x${"ab".repeat(32)}`;
      await assert.rejects(
        () => client.callAt(client.api.call.neuronInfoRuntimeApi.getNeuronsLite, unknown, [NETUID]),
        /4003: Client error: UnknownBlock: 0xabab/,
      );
      await assert.rejects(
        () => client.callAt(client.api.call.neuronInfoRuntimeApi.getNeuronsLite, unknown, []),
        /^RangeError: NeuronInfoRuntimeApi_get_neurons_lite: takes 1 arguments, not 0$/,
      );
    } finally {
      await client.close();
      await node.close();
    }
  },
);

Deno.test(
  "callAt encodes each argument by its own type, and refuses what it cannot call or decode",
  testOptions,
  async () => {
    const { node } = startNode();
    let received: unknown[] = [];
    node.setRuntimeApi("SubnetInfoRuntimeApi", "get_coldkey_auto_stake_hotkey", (args) => {
      received = args;
      return bob.address;
    });
    const client = await SubtensorClient.connect({ network: node.url, connectTimeoutMs: 10_000 });
    try {
      const hash = node.blockHash(node.best);
      // An account, then a u16.
      const fn = client.api.call.subnetInfoRuntimeApi.getColdkeyAutoStakeHotkey;
      const answer = await client.callAt(fn, hash, [alice.address, NETUID]);
      assert.deepEqual(received, [alice.address, NETUID]);
      assert.equal((answer as { toJSON(): unknown }).toJSON(), bob.address);
      await assert.rejects(
        () => client.callAt(() => Promise.resolve(), hash, []),
        /^RangeError: fn: not a runtime API function of api\.call \(it has no metadata\)$/,
      );
      node.rawAnswers.set("state_call", "<html>502 Bad Gateway</html>");
      await assert.rejects(
        () => client.callAt(fn, hash, [alice.address, NETUID]),
        /^ChainError: SubnetInfoRuntimeApi_get_coldkey_auto_stake_hotkey at 0x[0-9a-f]{64}: the node's answer is not hex bytes$/,
      );
    } finally {
      await client.close();
      await node.close();
    }
  },
);
