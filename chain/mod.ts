/**
 * The chain side of taos: a subtensor connection, the subnet's metagraph as a `NeuronDirectory`,
 * on-chain weights as a `WeightSetter`, and `serveAxon` for miners.
 *
 * ```ts
 * import { ChainNeuronDirectory, ChainWeightSetter, serveAxon, SubtensorClient } from "./chain/mod.ts";
 *
 * const client = await SubtensorClient.connect({ network: "finney", log: console.log });
 * const directory = new ChainNeuronDirectory(client, 79);
 * await serveAxon(client, hotkey, { netuid: 79, ip: "203.0.113.7", port: 8091 });
 * const setter = new ChainWeightSetter(client, { netuid: 79, hotkey });
 * await setter.setWeights([0, 1], [0.4, 0.6], 19);
 * await client.close();
 * ```
 * @module
 */
export {
  type ChainCall,
  type ConnectOptions,
  DEFAULT_ERA_PERIOD,
  type HotkeyPair,
  type RuntimeInfo,
  type SubmitOptions,
  type SubmitOutcome,
  SubtensorClient,
} from "./client.ts";
export { NAMED_NETWORKS, resolveEndpoint } from "./endpoints.ts";
export { type LibraryLogSink, routeLibraryLog } from "./library_log.ts";
export { ChainError, CUSTOM_TRANSACTION_ERRORS, describeSubmitError } from "./errors.ts";
export {
  ChainNeuronDirectory,
  type ChainNeuronDirectoryOptions,
  SYNC_INTERVAL_MS,
} from "./metagraph.ts";
export {
  AXON_PROTOCOL,
  SDK_VERSION_INT,
  serveAxon,
  type ServeAxonOptions,
  type ServeAxonResult,
} from "./serve.ts";
export {
  type Metagraph,
  readHyperparameters,
  readMetagraph,
  type SubnetHyperparameters,
} from "./subnet.ts";
export {
  ChainWeightSetter,
  type ChainWeightSetterOptions,
  COMMIT_SCHEMES,
  type CommitScheme,
  type PendingCommit,
} from "./weight_setter.ts";
export { decodeIp, encodeIp } from "./ip.ts";
export {
  commitHash,
  epochOf,
  firstBlockOfEpoch,
  timelockedWeightsPayload,
  timelockRevealRound,
} from "./commit.ts";
export { QUICKNET, quicknetRoundAt, timelockDecrypt, timelockEncrypt } from "./timelock.ts";
export { type EpochSchedule, nextBlockEpoch, readEpochSchedule } from "./epochs.ts";
export {
  convertWeightsAndUidsForEmit,
  normalizeMaxWeight,
  processWeights,
  type WeightLimits,
} from "./weights.ts";
