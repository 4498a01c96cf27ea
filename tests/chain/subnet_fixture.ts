/**
 * Subnet 79 on the loopback node, as the chain tests use it: Alice is the validator (uid 0,
 * permit, axon 1.2.3.4:8091, validator trust and dividends), Bob a miner without an axon, Charlie
 * an inactive miner on IPv6; the miners have some incentive, consensus and emission.
 * @module
 */
import { Keyring } from "@polkadot/api";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { FakeSubtensor, type FakeSubtensorOptions } from "./fake_subtensor.ts";

await cryptoWaitReady();
export const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
export const alice = keyring.addFromUri("//Alice");
export const bob = keyring.addFromUri("//Bob");
export const charlie = keyring.addFromUri("//Charlie");
export const dave = keyring.addFromUri("//Dave");
export const NETUID = 79;
export const TEMPO = 360;

/** An AxonInfo value. */
export function axon(ip: bigint, port: number, ipType: number, block = 0) {
  return {
    block,
    version: 10002000,
    ip,
    port,
    ipType,
    protocol: 4,
    placeholder1: 0,
    placeholder2: 0,
  };
}

/** A NeuronInfoLite value. */
export function neuron(
  uid: number,
  hotkey: string,
  coldkey: string,
  extra: Record<string, unknown>,
) {
  return {
    hotkey,
    coldkey,
    uid,
    netuid: NETUID,
    active: true,
    axonInfo: axon(0n, 0, 0),
    prometheusInfo: { block: 0, version: 0, ip: 0, port: 0, ipType: 0 },
    stake: [[coldkey, 5_000_000_000]],
    rank: 0,
    emission: 0,
    incentive: 0,
    consensus: 0,
    trust: 0,
    validatorTrust: 0,
    dividends: 0,
    lastUpdate: 0,
    validatorPermit: false,
    pruningScore: 0,
    ...extra,
  };
}

/** The subnet's mutable state the node answers from. */
export interface Subnet {
  hyperparams: Record<string, unknown>;
  neurons: ReturnType<typeof neuron>[];
}

/** v2's hyperparameters as `get_subnet_hyperparams_v3` entries: a name and a typed value. */
function hyperparamsV3(p: Record<string, unknown>) {
  const entries: [string, string, unknown][] = [
    ["tempo", "U16", p.tempo],
    ["min_allowed_weights", "U16", p.minAllowedWeights],
    ["max_weights_limit", "U16", p.maxWeightsLimit],
    ["weights_version", "U64", p.weightsVersion],
    ["weights_rate_limit", "U64", p.weightsRateLimit],
    ["serving_rate_limit", "U64", p.servingRateLimit],
    ["max_validators", "U16", p.maxValidators],
    ["commit_reveal_period", "U64", p.commitRevealPeriod],
    ["commit_reveal_weights_enabled", "Bool", p.commitRevealWeightsEnabled],
    ["kappa", "U16", 32767], // a name readers do not use
  ];
  return entries.map(([name, type, value]) => ({ name, value: { [type]: value } }));
}

/** A fake node holding subnet 79 with Alice (validator), Bob and Charlie (miners). */
export function startNode(
  options: FakeSubtensorOptions = {},
): { node: FakeSubtensor; subnet: Subnet } {
  const node = FakeSubtensor.start(options);
  const subnet: Subnet = {
    hyperparams: {
      tempo: TEMPO,
      minAllowedWeights: 1,
      maxWeightsLimit: 65535,
      weightsVersion: 10,
      weightsRateLimit: 100,
      servingRateLimit: 50,
      commitRevealWeightsEnabled: false,
      commitRevealPeriod: 1,
      maxValidators: 64,
    },
    neurons: [
      neuron(0, alice.address, bob.address, {
        validatorPermit: true,
        lastUpdate: 500,
        axonInfo: axon(16909060n, 8091, 4, 10),
        validatorTrust: 58982,
        dividends: 65535,
        emission: 41_000_000_000,
      }),
      neuron(1, bob.address, bob.address, {
        incentive: 39321,
        consensus: 32768,
        trust: 13107,
        emission: 1_500_000_000,
      }),
      neuron(2, charlie.address, bob.address, {
        axonInfo: axon(42540766411282592856903984951653826561n, 9000, 6),
        active: false,
        incentive: 26214,
        consensus: 1,
        emission: 999,
      }),
    ],
  };
  node.setRuntimeApi(
    "NeuronInfoRuntimeApi",
    "get_neurons_lite",
    ([netuid]) => netuid === NETUID ? subnet.neurons : [],
  );
  node.setRuntimeApi(
    "SubnetInfoRuntimeApi",
    "get_subnet_hyperparams_v2",
    ([netuid]) => netuid === NETUID ? subnet.hyperparams : null,
  );
  // The same values as later runtimes list them (served with `hyperparamsV3`).
  node.setRuntimeApi(
    "SubnetInfoRuntimeApi",
    "get_subnet_hyperparams_v3",
    ([netuid]) => netuid === NETUID ? hyperparamsV3(subnet.hyperparams) : null,
  );
  node.setRuntimeApi("SubnetInfoRuntimeApi", "get_subnet_state", ([netuid]) =>
    netuid === NETUID
      ? {
        netuid: NETUID,
        hotkeys: subnet.neurons.map((n) => n.hotkey),
        totalStake: [1_500_000_000_000, 2_000_000_000, 250_000_000],
      }
      : null);
  node.setStorage("SubtensorModule", "Tempo", [NETUID], TEMPO);
  for (const n of subnet.neurons) {
    node.setStorage("SubtensorModule", "Uids", [NETUID, n.hotkey], n.uid);
    if (n.axonInfo.ip !== 0n) {
      node.setStorage("SubtensorModule", "Axons", [NETUID, n.hotkey], n.axonInfo);
    }
  }
  return { node, subnet };
}
