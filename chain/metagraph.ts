/**
 * The subnet's neurons read from the chain, behind the `NeuronDirectory` interface the validator
 * and the miner use. The view is re-read when it is older than the sync interval (the
 * reference syncs every 10 blocks, 120 s) or when `refresh()` is called.
 *
 * ```ts
 * const client = await SubtensorClient.connect({ network: "finney" });
 * const directory = new ChainNeuronDirectory(client, 79);
 * const validators = (await directory.neurons()).filter((n) => n.validatorPermit);
 * ```
 * @module
 */
import type { Neuron, NeuronDirectory } from "../bittensor/neurons.ts";
import type { SubtensorClient } from "./client.ts";
import { type Metagraph, readMetagraph } from "./subnet.ts";

/** The reference's metagraph sync interval: 10 blocks of 12 s. */
export const SYNC_INTERVAL_MS = 120_000;

/** Options of {@link ChainNeuronDirectory}. */
export interface ChainNeuronDirectoryOptions {
  /** Age after which `neurons()` reads the chain again (default {@link SYNC_INTERVAL_MS}). */
  syncIntervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /**
   * Answer a stale view at once and re-read in the background (once a first read succeeded):
   * for callers on a request path, such as a miner's blacklist, which must not wait on the chain.
   */
  refreshInBackground?: boolean;
}

/** A NeuronDirectory backed by a subnet's metagraph on chain. */
export class ChainNeuronDirectory implements NeuronDirectory {
  readonly #client: SubtensorClient;
  readonly #netuid: number;
  readonly #syncIntervalMs: number;
  readonly #now: () => number;
  readonly #background: boolean;
  #metagraph: Metagraph | undefined;
  #readAt = -Infinity;
  #pending: Promise<void> | undefined;

  constructor(client: SubtensorClient, netuid: number, options: ChainNeuronDirectoryOptions = {}) {
    this.#client = client;
    this.#netuid = netuid;
    this.#syncIntervalMs = options.syncIntervalMs ?? SYNC_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
    this.#background = options.refreshInBackground ?? false;
  }

  /**
   * The neurons, re-read first when the last read is older than the sync interval. When that
   * re-read fails the previous view is returned (the reference also keeps its old metagraph when
   * a sync fails) and the next call tries again; only a first read that fails throws.
   */
  async neurons(): Promise<Neuron[]> {
    const stale = this.#now() - this.#readAt >= this.#syncIntervalMs;
    if (this.#metagraph && stale && this.#background) {
      // A failed re-read keeps the view; the next call tries again.
      this.refresh().catch(() => {});
      return this.#metagraph.neurons;
    }
    if (!this.#metagraph || stale) {
      try {
        await this.refresh();
      } catch (error) {
        if (!this.#metagraph) throw error;
      }
    }
    return this.#metagraph!.neurons;
  }

  /** The block of the last read, if any. */
  get block(): number | undefined {
    return this.#metagraph?.block;
  }

  /** The last read (block, neurons and their standing), if any. */
  get metagraph(): Metagraph | undefined {
    return this.#metagraph;
  }

  /** Reads the metagraph now; concurrent callers share one read. */
  refresh(): Promise<void> {
    this.#pending ??= readMetagraph(this.#client, this.#netuid).then((metagraph) => {
      this.#metagraph = metagraph;
      this.#readAt = this.#now();
    }).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }
}
