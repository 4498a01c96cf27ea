/**
 * The Bittensor SDK's subnet, node and wallet flags, with its short forms, as the validator and
 * the miner both take them, so that one command line's flags carry over to the other.
 *
 * ```ts
 * const { values } = parseArgs({ args, options: { ...NEURON_FLAGS, seed: { type: "string" } } });
 * ```
 * @module
 */

/** `parseArgs` options: `-u`, `-e`, `-p`, `-w`, `-h` as in the SDK. */
export const NEURON_FLAGS = {
  netuid: { type: "string", short: "u" },
  "subtensor.chain_endpoint": { type: "string", short: "e" },
  "subtensor.network": { type: "string" },
  "wallet.path": { type: "string", short: "p" },
  "wallet.name": { type: "string", short: "w" },
  "wallet.hotkey": { type: "string", short: "h" },
} as const;
