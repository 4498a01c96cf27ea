/**
 * Reads a subnet from the chain through subtensor's runtime APIs: its neurons (the metagraph) and
 * the hyperparameters that govern weights and serving. Types are decoded from the node's own
 * metadata; only field names are relied on.
 *
 * ```ts
 * const { block, neurons } = await readMetagraph(client, 79);
 * const params = await readHyperparameters(client, 79);
 * ```
 * @module
 */
import { encodeAddress } from "@polkadot/util-crypto";
import type { AxonEndpoint, Neuron } from "../bittensor/neurons.ts";
import type { RuntimeFunction, SubtensorClient } from "./client.ts";
import { ChainError } from "./errors.ts";
import { decodeIp } from "./ip.ts";

/** Subtensor addresses use the generic Substrate SS58 prefix. */
export const SS58_PREFIX = 42;

/** 1 TAO (and 1 alpha) in RAO. */
const RAO_PER_TAO = 1e9;

/**
 * A neuron's standing in the subnet's consensus, in the units the SDK's metagraph gives them (and
 * the reference's exporter publishes): the u16 fractions divided by 65535, emission in alpha per
 * tempo (rao / 1e9), each rounded to float32 as the metagraph's tensors hold them.
 */
export interface NeuronStanding {
  active: boolean;
  validatorTrust: number;
  /** No longer computed by subtensor (always 0); 0 on runtimes that dropped the field. */
  trust: number;
  consensus: number;
  incentive: number;
  dividends: number;
  emission: number;
}

/** A subnet's neurons as of one block. */
export interface Metagraph {
  netuid: number;
  /** Best block when it was read. */
  block: number;
  /** Ordered by uid. */
  neurons: Neuron[];
  /** Each neuron's standing, by uid. */
  standing: Map<number, NeuronStanding>;
}

/** The subnet hyperparameters a validator and a miner must respect. */
export interface SubnetHyperparameters {
  tempo: number;
  minAllowedWeights: number;
  /**
   * `MaxWeightsLimit` in u16 units (65535 = no limit): the subnet's stored value, as the SDK's
   * `max_weight_limit` reads it for weight processing.
   */
  maxWeightsLimit: number;
  /** `WeightsVersionKey`: submitted version keys must be at least this. */
  weightsVersion: bigint;
  /** Blocks between two weight submissions of the same uid. */
  weightsRateLimit: number;
  /** Blocks between two `serve_axon` calls of the same hotkey. */
  servingRateLimit: number;
  commitRevealEnabled: boolean;
  /** `RevealPeriodEpochs`: a commit is revealed this many epochs after it was made. */
  commitRevealPeriod: number;
  maxValidators: number;
}

interface Num {
  toNumber(): number;
}
interface Big {
  toBigInt(): bigint;
}
interface Bytes {
  toU8a(): Uint8Array;
}
interface Bool {
  isTrue: boolean;
}
interface OptionOf<T> {
  isNone: boolean;
  unwrap(): T;
}
interface AxonInfoCodec {
  version: Num;
  ip: Big;
  port: Num;
  ipType: Num;
  protocol: Num;
}
interface NeuronLiteCodec {
  hotkey: Bytes;
  coldkey: Bytes;
  uid: Num;
  axonInfo: AxonInfoCodec;
  stake: [Bytes, Big][];
  lastUpdate: Num;
  validatorPermit: Bool;
  active: Bool;
  validatorTrust: Num;
  trust?: Num;
  consensus: Num;
  incentive: Num;
  dividends: Num;
  emission: Big;
}
interface SubnetStateCodec {
  totalStake: Big[];
}
interface HyperparamsCodec {
  tempo: Num;
  minAllowedWeights: Num;
  maxWeightsLimit: Num;
  weightsVersion: Big;
  weightsRateLimit: Num;
  servingRateLimit: Num;
  commitRevealWeightsEnabled: Bool;
  commitRevealPeriod: Num;
  maxValidators: Num;
}

type RuntimeCall = ((...args: unknown[]) => Promise<unknown>) & RuntimeFunction;

function runtimeCall(
  client: SubtensorClient,
  api: string,
  method: string,
): RuntimeCall | undefined {
  const section = (client.api.call as unknown as Record<string, Record<string, RuntimeCall>>)[api];
  return section?.[method];
}

function requireRuntimeCall(client: SubtensorClient, api: string, method: string): RuntimeCall {
  const call = runtimeCall(client, api, method);
  if (!call) throw new ChainError(`the node's runtime has no ${api}.${method}`);
  return call;
}

const U16_MAX = 65535;

/** A neuron's standing as the SDK's metagraph holds it (see {@linkcode NeuronStanding}). */
function standingOf(n: NeuronLiteCodec): NeuronStanding {
  const fraction = (value: Num | undefined) => Math.fround((value?.toNumber() ?? 0) / U16_MAX);
  return {
    active: n.active.isTrue,
    validatorTrust: fraction(n.validatorTrust),
    trust: fraction(n.trust),
    consensus: fraction(n.consensus),
    incentive: fraction(n.incentive),
    dividends: fraction(n.dividends),
    emission: Math.fround(Number(n.emission.toBigInt()) / RAO_PER_TAO),
  };
}

/** Decodes an on-chain AxonInfo; null when the neuron never served (IP 0). */
function axonEndpoint(info: AxonInfoCodec): AxonEndpoint | null {
  const ip = info.ip.toBigInt();
  if (ip === 0n) return null;
  return {
    ip: decodeIp(ip),
    port: info.port.toNumber(),
    ipType: info.ipType.toNumber() === 6 ? 6 : 4,
    protocol: info.protocol.toNumber(),
    version: info.version.toNumber(),
  };
}

/**
 * Reads every neuron of `netuid` (`NeuronInfoRuntimeApi.get_neurons_lite`) and its standing. Stake
 * is the total stake the SDK shows as `metagraph.S` (`get_subnet_state`), falling back to the
 * neuron's own alpha stake on runtimes without that API. Both calls read the state of the best
 * block as it was when the read began, so that neurons and stake agree while blocks advance.
 */
export async function readMetagraph(client: SubtensorClient, netuid: number): Promise<Metagraph> {
  const getNeurons = requireRuntimeCall(client, "neuronInfoRuntimeApi", "getNeuronsLite");
  const getState = runtimeCall(client, "subnetInfoRuntimeApi", "getSubnetState");
  const header = await client.api.rpc.chain.getHeader();
  const block = header.number.toNumber();
  const hash = header.hash.toHex();
  const [lite, state] = await Promise.all([
    client.callAt(getNeurons, hash, [netuid]) as Promise<NeuronLiteCodec[]>,
    getState
      ? (client.callAt(getState, hash, [netuid]) as Promise<OptionOf<SubnetStateCodec>>)
      : undefined,
  ]);
  const totalStake = state && !state.isNone ? state.unwrap().totalStake : undefined;
  const standing = new Map([...lite].map((n) => [n.uid.toNumber(), standingOf(n)]));
  const neurons = [...lite].map((n): Neuron => {
    const uid = n.uid.toNumber();
    const rao = totalStake?.[uid]?.toBigInt() ??
      n.stake.reduce((sum, [, amount]) => sum + amount.toBigInt(), 0n);
    return {
      uid,
      hotkey: encodeAddress(n.hotkey.toU8a(), SS58_PREFIX),
      coldkey: encodeAddress(n.coldkey.toU8a(), SS58_PREFIX),
      stake: Number(rao) / RAO_PER_TAO,
      validatorPermit: n.validatorPermit.isTrue,
      axon: axonEndpoint(n.axonInfo),
      lastUpdate: n.lastUpdate.toNumber(),
    };
  }).sort((a, b) => a.uid - b.uid);
  return { netuid, block, neurons, standing };
}

/** One entry of `get_subnet_hyperparams_v3`: a name and a value of one of several types. */
interface HyperparamEntryCodec {
  name: { toUtf8(): string };
  value: { value: { toBigInt?(): bigint; isTrue?: boolean; toNumber?(): number } };
}

/** The fields readHyperparameters uses, under the names `get_subnet_hyperparams_v3` gives them. */
const V3_NAMES: Record<keyof HyperparamsCodec, string> = {
  tempo: "tempo",
  minAllowedWeights: "min_allowed_weights",
  maxWeightsLimit: "max_weights_limit",
  weightsVersion: "weights_version",
  weightsRateLimit: "weights_rate_limit",
  servingRateLimit: "serving_rate_limit",
  commitRevealWeightsEnabled: "commit_reveal_weights_enabled",
  commitRevealPeriod: "commit_reveal_period",
  maxValidators: "max_validators",
};

/**
 * The hyperparameters from `get_subnet_hyperparams_v3` (a list of named values, the runtime API
 * that replaces v1 and v2), in the shape v2 decodes to; null when the subnet does not exist.
 */
async function hyperparamsV3(
  call: RuntimeCall,
  netuid: number,
): Promise<HyperparamsCodec | null> {
  const result = await call(netuid) as OptionOf<HyperparamEntryCodec[]>;
  if (result.isNone) return null;
  const byName = new Map<string, HyperparamEntryCodec["value"]["value"]>();
  for (const entry of result.unwrap()) {
    byName.set(entry.name.toUtf8(), entry.value.value);
  }
  const fields: Record<string, unknown> = {};
  for (const [field, name] of Object.entries(V3_NAMES)) {
    const value = byName.get(name);
    if (value === undefined) throw new ChainError(`get_subnet_hyperparams_v3 lacks ${name}`);
    const integer = () => {
      const n = value.toBigInt?.() ?? (value.toNumber ? BigInt(value.toNumber()) : undefined);
      if (n === undefined) {
        throw new ChainError(`get_subnet_hyperparams_v3: ${name} is not an integer`);
      }
      return n;
    };
    fields[field] = {
      toNumber: () => Number(integer()),
      toBigInt: integer,
      get isTrue() {
        if (typeof value.isTrue !== "boolean") {
          throw new ChainError(`get_subnet_hyperparams_v3: ${name} is not a boolean`);
        }
        return value.isTrue;
      },
    };
  }
  return fields as unknown as HyperparamsCodec;
}

/** Reads the subnet's hyperparameters; throws a ChainError when the subnet does not exist. */
export async function readHyperparameters(
  client: SubtensorClient,
  netuid: number,
): Promise<SubnetHyperparameters> {
  const v3 = runtimeCall(client, "subnetInfoRuntimeApi", "getSubnetHyperparamsV3");
  const legacy = () =>
    runtimeCall(client, "subnetInfoRuntimeApi", "getSubnetHyperparamsV2") ??
      requireRuntimeCall(client, "subnetInfoRuntimeApi", "getSubnetHyperparams");
  const query = client.api.query.subtensorModule as unknown as Record<
    string,
    ((netuid: number) => Promise<Num>) | undefined
  >;
  const [result, storedMaxWeights] = await Promise.all([
    v3 ? hyperparamsV3(v3, netuid) : (legacy()(netuid) as Promise<OptionOf<HyperparamsCodec>>)
      .then((r) => r.isNone ? null : r.unwrap()),
    query.maxWeightsLimit?.(netuid),
  ]);
  if (result === null) throw new ChainError(`subnet ${netuid} does not exist`);
  const p = result;
  return {
    tempo: p.tempo.toNumber(),
    minAllowedWeights: p.minAllowedWeights.toNumber(),
    // The SDK's max_weight_limit (which the reference validator's weight processing uses) reads
    // the stored value; the runtime API reports the constant the chain enforces, 65535.
    maxWeightsLimit: (storedMaxWeights ?? p.maxWeightsLimit).toNumber(),
    weightsVersion: p.weightsVersion.toBigInt(),
    weightsRateLimit: p.weightsRateLimit.toNumber(),
    servingRateLimit: p.servingRateLimit.toNumber(),
    commitRevealEnabled: p.commitRevealWeightsEnabled.isTrue,
    commitRevealPeriod: p.commitRevealPeriod.toNumber(),
    maxValidators: p.maxValidators.toNumber(),
  };
}
