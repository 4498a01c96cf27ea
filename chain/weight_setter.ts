/**
 * Sets a validator's weights on chain, behind the `WeightSetter` interface: reads the subnet's
 * limits, respects the weights rate limit and version key, applies the SDK's weight processing
 * and u16 conversion, then sends `set_weights` (commit-reveal off) or, with commit-reveal on,
 * either a hash commit followed by its reveal in the reveal epoch, or a timelocked commit
 * (commit-reveal v4: the weights encrypted to a drand round that the chain decrypts and applies by
 * itself in the reveal epoch). Epochs are the chain's own count (see `epochs.ts`): a hash commit's
 * epoch is read back from `WeightCommits` once it is in a block.
 *
 * Pending commits live in memory, and in a file when `pendingCommitsPath` is given, so that a
 * validator restarted between commit and reveal still reveals.
 *
 * ```ts
 * const setter = new ChainWeightSetter(client, { netuid: 79, hotkey });
 * const result = await setter.setWeights([0, 1, 2], [0.2, 0.3, 0.5], 19);
 * ```
 * @module
 */
import { u8aToHex } from "@polkadot/util";
import { encodeAddress } from "@polkadot/util-crypto";
import { z } from "../cli/zod_messages.ts";
import type { WeightSetter, WeightSubmission } from "../bittensor/neurons.ts";
import type { HotkeyPair, SubtensorClient } from "./client.ts";
import { commitHash, randomSalt, timelockedCommit, timelockRevealRound } from "./commit.ts";
import { loadPendingCommits, savePendingCommits } from "./commit_store.ts";
import {
  type EpochSchedule,
  epochStartBlock,
  nextBlockEpoch,
  readEpochSchedule,
  recordedCommitEpoch,
} from "./epochs.ts";
import {
  readHyperparameters,
  readMetagraph,
  SS58_PREFIX,
  type SubnetHyperparameters,
} from "./subnet.ts";
import { convertWeightsAndUidsForEmit, processWeights, U16_MAX } from "./weights.ts";

/** Options of {@link ChainWeightSetter}. */
export interface ChainWeightSetterOptions {
  netuid: number;
  /** The validator's hotkey; it signs every weight extrinsic. */
  hotkey: HotkeyPair;
  /** Wait for inclusion so chain errors are reported (default true). */
  waitForInclusion?: boolean;
  timeoutMs?: number;
  /** Quantile (u16 units) of the lowest weights to drop, as the SDK's `exclude_quantile`. */
  excludeQuantile?: number;
  /** Receives one line per submission (never key material). */
  log?: (message: string) => void;
  /**
   * Receives the lines of submissions the weights rate limit holds back, which are routine; `log`
   * otherwise.
   */
  debug?: (message: string) => void;
  /**
   * Told when pending commits cannot be read back or saved (their reveals may be lost); `log`
   * otherwise.
   */
  warn?: (message: string) => void;
  /**
   * File that keeps unrevealed commits across restarts (see `commit_store.ts`); without it they
   * live in memory only.
   */
  pendingCommitsPath?: string;
  /**
   * How to commit when commit-reveal is on: `hash` (commit, then reveal in the reveal epoch),
   * `timelock` (commit-reveal v4, what the Python SDK sends), or `auto` (default): hash when the
   * runtime still has the hash calls, timelock otherwise.
   */
  commitScheme?: CommitScheme;
}

/** The commit-reveal schemes {@link ChainWeightSetter} can use. */
export const COMMIT_SCHEMES = ["auto", "hash", "timelock"] as const;
export type CommitScheme = typeof COMMIT_SCHEMES[number];

/** Block time assumed when the runtime does not declare `Timestamp.MinimumPeriod`. */
const DEFAULT_BLOCK_SECONDS = 12;

/** A hash commit waiting for its reveal epoch. */
export interface PendingCommit {
  uids: number[];
  values: number[];
  salt: number[];
  versionKey: bigint;
  hash: string;
  /** Epoch of the commit, as the chain recorded it (estimated until `confirmed`). */
  commitEpoch: number;
  /** The only epoch in which the chain accepts the reveal. */
  revealEpoch: number;
  /**
   * Whether the epochs were read back from the chain's `WeightCommits`. An estimate (the commit's
   * inclusion was not seen before the timeout) can be an epoch off, and the chain accepts a reveal
   * in one epoch only, so it is checked against the chain before the reveal is due.
   */
  confirmed: boolean;
  /**
   * Whether a reveal was sent without its inclusion seen: it may have landed, and the chain refuses
   * a repeat as if the commit never existed. Saved, so that a restart still checks.
   */
  revealSent: boolean;
  /**
   * The node's best block when that reveal was sent: a node not past it (a lagging one behind a
   * load balancer) cannot have seen it land, so the commit missing there proves nothing.
   */
  revealSentAtBlock: number;
}

const SubmissionSchema = z.object({
  uids: z.array(z.number().int().min(0).max(U16_MAX)),
  weights: z.array(z.number().finite().min(0)),
  versionKey: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
}).refine((s) => s.uids.length === s.weights.length, {
  message: "uids and weights differ in length",
  path: ["weights"],
}).refine((s) => new Set(s.uids).size === s.uids.length, {
  message: "duplicate uids",
  path: ["uids"],
});

/** Chain errors that only mean "too soon": the weights rate limit, in the pool or in the block. */
const TOO_SOON = /RateLimitExceeded|SettingWeightsTooFast|CommittingWeightsTooFast/;

/**
 * Epochs an unconfirmed commit is waited for past its estimated reveal epoch (an estimate can be
 * an epoch early).
 */
const ESTIMATE_SLACK_EPOCHS = 1;

/** Reveal errors after which a commit can never be revealed. */
const HOPELESS_REVEAL =
  /NoWeightsCommitFound|ExpiredWeightCommit|InvalidRevealCommitHashNotMatch|CommitNotFound|CommitRevealDisabled/;

/** Reveal errors meaning the chain holds no such commit: what a repeat of a landed reveal gets. */
const COMMIT_GONE = /NoWeightsCommitFound|CommitNotFound/;

/** A WeightSetter that writes to a subnet on chain. */
export class ChainWeightSetter implements WeightSetter {
  readonly #client: SubtensorClient;
  readonly #options: ChainWeightSetterOptions;
  readonly #address: string;
  #pending: PendingCommit[] = [];

  constructor(client: SubtensorClient, options: ChainWeightSetterOptions) {
    this.#client = client;
    this.#options = options;
    this.#address = encodeAddress(options.hotkey.publicKey, SS58_PREFIX);
    if (options.pendingCommitsPath) {
      this.#pending = loadPendingCommits(
        options.pendingCommitsPath,
        (message) => (options.warn ?? options.log)?.(message),
      );
    }
  }

  /** Hash commits not yet revealed (oldest first). */
  get pendingCommits(): readonly PendingCommit[] {
    return this.#pending;
  }

  /** Never throws: bad input, chain refusals and an unreachable node come back as not accepted. */
  async setWeights(
    uids: number[],
    weights: number[],
    versionKey: number,
  ): Promise<WeightSubmission> {
    const parsed = SubmissionSchema.safeParse({ uids, weights, versionKey });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.#refuse(`invalid weights: ${issue.path.join(".")}: ${issue.message}`);
    }
    try {
      return await this.#submitWeights(uids, weights, versionKey);
    } catch (error) {
      return this.#unreachable(error);
    }
  }

  async #submitWeights(
    uids: number[],
    weights: number[],
    versionKey: number,
  ): Promise<WeightSubmission> {
    const { netuid } = this.#options;
    const [params, metagraph] = await Promise.all([
      readHyperparameters(this.#client, netuid),
      readMetagraph(this.#client, netuid),
    ]);
    const own = metagraph.neurons.find((n) => n.hotkey === this.#address);
    if (!own) return this.#refuse(`hotkey ${this.#address} is not registered on subnet ${netuid}`);
    const key = BigInt(versionKey);
    if (params.weightsVersion !== 0n && key < params.weightsVersion) {
      return this.#refuse(
        `version key ${key} is below the subnet's WeightsVersionKey ${params.weightsVersion}`,
      );
    }
    const reveals = params.commitRevealEnabled ? await this.#reveal(params.commitRevealPeriod) : [];
    const result = await this.#submitNew(uids, weights, key, params, metagraph.neurons.length, {
      block: metagraph.block,
      lastUpdate: own.lastUpdate,
    });
    return reveals.length > 0 ? { ...result, reveals } : result;
  }

  /** The rate-limit check, the SDK's weight processing and the commit or direct set. */
  async #submitNew(
    uids: number[],
    weights: number[],
    key: bigint,
    params: SubnetHyperparameters,
    neuronCount: number,
    own: { block: number; lastUpdate: number },
  ): Promise<WeightSubmission> {
    // The chain judges the rate limit in the block that includes the extrinsic: the next one.
    const since = own.block + 1 - own.lastUpdate;
    if (own.lastUpdate !== 0 && since < params.weightsRateLimit) {
      return this.#rateLimited(
        `rate limited: weights last set at block ${own.lastUpdate}, ${
          params.weightsRateLimit - since
        } more blocks to wait (WeightsSetRateLimit ${params.weightsRateLimit})`,
      );
    }
    const processed = processWeights(uids, weights, {
      neuronCount,
      minAllowedWeights: params.minAllowedWeights,
      maxWeightLimit: params.maxWeightsLimit / U16_MAX,
      excludeQuantile: this.#options.excludeQuantile,
    });
    const emitted = convertWeightsAndUidsForEmit(processed.uids, processed.weights);
    if (emitted.uids.length === 0) return this.#refuse("no non-zero weights to set");
    return params.commitRevealEnabled
      ? await this.#commit(emitted.uids, emitted.values, key, params)
      : await this.#setDirect(emitted.uids, emitted.values, key);
  }

  /**
   * Reveals every pending commit whose reveal epoch has come (setWeights does this too). Call it
   * from a periodic loop when weights are set less often than once per epoch.
   */
  async revealDue(): Promise<WeightSubmission[]> {
    if (this.#pending.length === 0) return [];
    try {
      const params = await readHyperparameters(this.#client, this.#options.netuid);
      return await this.#reveal(params.commitRevealPeriod);
    } catch (error) {
      return [this.#unreachable(error)];
    }
  }

  async #setDirect(uids: number[], values: number[], key: bigint): Promise<WeightSubmission> {
    const call = this.#client.api.tx.subtensorModule.setWeights(
      this.#options.netuid,
      uids,
      values,
      key,
    );
    const outcome = await this.#client.submit(call, this.#options.hotkey, this.#submitOptions());
    if (!outcome.ok) return this.#refuse(`set_weights: ${outcome.message}`, outcome.message);
    return this.#accept(`set_weights for ${uids.length} uids`, outcome.extrinsicHash);
  }

  async #commit(
    uids: number[],
    values: number[],
    key: bigint,
    params: SubnetHyperparameters,
  ): Promise<WeightSubmission> {
    const tx = this.#client.api.tx.subtensorModule;
    const scheme = this.#options.commitScheme ?? "auto";
    const hasHash = typeof tx.commitWeights === "function" &&
      typeof tx.revealWeights === "function";
    const hasTimelock = typeof tx.commitTimelockedWeights === "function";
    if (scheme === "timelock" || (scheme === "auto" && !hasHash)) {
      if (!hasTimelock) {
        return this.#refuse("this runtime has no commit_timelocked_weights call");
      }
      return await this.#commitTimelocked(uids, values, key, params);
    }
    if (!hasHash) {
      return this.#refuse(
        "this runtime no longer accepts hash commits; use the timelock commit scheme",
      );
    }
    const { netuid } = this.#options;
    const salt = randomSalt();
    const hash = commitHash({
      hotkey: this.#options.hotkey.publicKey,
      storageIndex: netuid,
      uids,
      values,
      salt,
      versionKey: key,
    });
    const schedule = await readEpochSchedule(this.#client, netuid);
    const estimate = nextBlockEpoch(schedule);
    // Saved before it is sent, as unconfirmed: a process killed while the commit waits for its
    // block would otherwise lose the salt of a commit that then lands. One that never lands is
    // dropped an epoch after its estimated reveal epoch, as any unconfirmed commit.
    const pending: PendingCommit = {
      uids,
      values,
      salt,
      versionKey: key,
      hash,
      commitEpoch: estimate,
      revealEpoch: estimate + params.commitRevealPeriod,
      confirmed: false,
      revealSent: false,
      revealSentAtBlock: 0,
    };
    this.#pending.push(pending);
    this.#savePending();
    const outcome = await this.#client.submit(
      tx.commitWeights(netuid, hash),
      this.#options.hotkey,
      this.#submitOptions(),
    );
    if (!outcome.ok && !outcome.unconfirmed) {
      this.#pending = this.#pending.filter((commit) => commit !== pending);
      this.#savePending();
      return this.#refuse(`commit_weights: ${outcome.message}`, outcome.message);
    }
    const { epoch: commitEpoch, confirmed } = await this.#commitEpoch(
      schedule,
      hash,
      outcome.ok ? outcome.blockHash : undefined,
    );
    const revealEpoch = commitEpoch + params.commitRevealPeriod;
    // An unconfirmed commit may still land: what its reveal needs is kept; the reveal waits until
    // the chain shows the commit.
    pending.commitEpoch = commitEpoch;
    pending.revealEpoch = revealEpoch;
    pending.confirmed = confirmed;
    this.#savePending();
    if (!outcome.ok) {
      return this.#refuse(`commit_weights: ${outcome.message}; kept for a reveal in case it lands`);
    }
    return {
      ...this.#accept(
        `commit_weights ${hash} in epoch ${commitEpoch}; reveal in epoch ${revealEpoch} (from ` +
          `block ${epochStartBlock(schedule, revealEpoch)})`,
        outcome.extrinsicHash,
      ),
      committed: "hash",
    };
  }

  /**
   * Commit-reveal v4: the weights, with the hotkey, encrypted to the drand round due a few blocks
   * into the reveal epoch. The chain decrypts and applies them itself once that round's pulse is
   * stored, so nothing is kept for a reveal.
   */
  async #commitTimelocked(
    uids: number[],
    values: number[],
    key: bigint,
    params: SubnetHyperparameters,
  ): Promise<WeightSubmission> {
    const { netuid, hotkey } = this.#options;
    const api = this.#client.api;
    const schedule = await readEpochSchedule(this.#client, netuid);
    const revealEpoch = nextBlockEpoch(schedule) + params.commitRevealPeriod;
    const firstRevealBlock = epochStartBlock(schedule, revealEpoch);
    const round = timelockRevealRound({
      nowSeconds: Date.now() / 1000,
      currentBlock: schedule.block,
      firstRevealBlock,
      blockSeconds: this.#blockSeconds(),
    });
    const query = api.query.subtensorModule as unknown as Record<
      string,
      () => Promise<{ toNumber(): number }>
    >;
    const version = await query.commitRevealWeightsVersion();
    const commit = timelockedCommit(
      { hotkey: hotkey.publicKey, uids, values, versionKey: key },
      round,
    );
    const outcome = await this.#client.submit(
      api.tx.subtensorModule.commitTimelockedWeights(
        netuid,
        u8aToHex(commit), // as hex: polkadot reads a Uint8Array as already length-prefixed
        round,
        version.toNumber(),
      ),
      hotkey,
      this.#submitOptions(),
    );
    if (!outcome.ok) {
      return this.#refuse(`commit_timelocked_weights: ${outcome.message}`, outcome.message);
    }
    return {
      ...this.#accept(
        `commit_timelocked_weights for ${uids.length} uids, locked to drand round ${round}; the ` +
          `chain applies it in epoch ${revealEpoch} (from block ${firstRevealBlock})`,
        outcome.extrinsicHash,
      ),
      committed: "timelock",
    };
  }

  /** Seconds per block: twice the runtime's `Timestamp.MinimumPeriod` (Aura's slot). */
  #blockSeconds(): number {
    const consts = this.#client.api.consts as unknown as Record<
      string,
      Record<string, { toNumber(): number } | undefined> | undefined
    >;
    const minimumPeriodMs = consts.timestamp?.minimumPeriod?.toNumber();
    return minimumPeriodMs ? (2 * minimumPeriodMs) / 1000 : DEFAULT_BLOCK_SECONDS;
  }

  /**
   * The epoch the chain recorded for a commit included in block `blockHash`; without the block,
   * or should the entry not be readable, the epoch of the block after `schedule`'s.
   */
  async #commitEpoch(
    schedule: EpochSchedule,
    hash: string,
    blockHash?: string,
  ): Promise<{ epoch: number; confirmed: boolean }> {
    const estimate = nextBlockEpoch(schedule);
    if (blockHash === undefined) return { epoch: estimate, confirmed: false };
    const recorded = await this.#recordedEpoch(schedule, hash, blockHash);
    if (recorded !== null) return { epoch: recorded, confirmed: true };
    this.#options.log?.(
      `commit ${hash} not read back from WeightCommits; assuming epoch ${estimate}`,
    );
    return { epoch: estimate, confirmed: false };
  }

  /** This hotkey's commit `hash` in `WeightCommits` at block `at`: its epoch, null if absent. */
  #readCommitEpoch(schedule: EpochSchedule, hash: string, at: string): Promise<number | null> {
    return recordedCommitEpoch(
      this.#client,
      schedule,
      this.#options.netuid,
      this.#address,
      hash,
      at,
    );
  }

  /** The epoch the chain recorded for commit `hash` by block `at`; null if not (yet) there. */
  async #recordedEpoch(schedule: EpochSchedule, hash: string, at: string): Promise<number | null> {
    try {
      return await this.#readCommitEpoch(schedule, hash, at);
    } catch (error) {
      this.#options.log?.(`cannot read commit ${hash} back: ${(error as Error).message}`);
      return null;
    }
  }

  /**
   * Replaces an unconfirmed commit's estimated epochs with those the chain recorded, once the
   * commit shows in `WeightCommits` by the schedule's block. True when it does.
   */
  async #confirm(commit: PendingCommit, schedule: EpochSchedule): Promise<boolean> {
    if (schedule.blockHash === undefined) return false;
    const recorded = await this.#recordedEpoch(schedule, commit.hash, schedule.blockHash);
    if (recorded === null) return false;
    const period = commit.revealEpoch - commit.commitEpoch;
    if (recorded !== commit.commitEpoch) {
      this.#options.log?.(
        `commit ${commit.hash} landed in epoch ${recorded}, not the estimated ` +
          `${commit.commitEpoch}: reveal in epoch ${recorded + period}`,
      );
    }
    commit.commitEpoch = recorded;
    commit.revealEpoch = recorded + period;
    commit.confirmed = true;
    return true;
  }

  /**
   * Sends the reveal of every commit whose reveal epoch is the epoch of the next block; drops
   * those whose epoch has passed. The chain judges both by the subnet's reveal period when the
   * reveal comes (`revealPeriod`), not by the one when the commit was made.
   */
  async #reveal(revealPeriod: number): Promise<WeightSubmission[]> {
    if (this.#pending.length === 0) return [];
    const { netuid } = this.#options;
    const schedule = await readEpochSchedule(this.#client, netuid);
    const epoch = nextBlockEpoch(schedule);
    const results: WeightSubmission[] = [];
    const keep: PendingCommit[] = [];
    let changed = false;
    for (const commit of this.#pending) {
      if (commit.revealEpoch !== commit.commitEpoch + revealPeriod) {
        commit.revealEpoch = commit.commitEpoch + revealPeriod;
        changed = true;
        this.#options.log?.(
          `commit ${commit.hash}: the subnet's reveal period is now ${revealPeriod} epochs: ` +
            `reveal in epoch ${commit.revealEpoch}`,
        );
      }
      if (!commit.confirmed && epoch >= commit.revealEpoch - 1) {
        changed = await this.#confirm(commit, schedule) || changed;
      }
      if (!commit.confirmed && epoch <= commit.revealEpoch + ESTIMATE_SLACK_EPOCHS) {
        // Not in the chain's records yet (still in the pool, or never to land): a reveal now
        // would be refused, and the estimate may be an epoch early.
        keep.push(commit);
        continue;
      }
      if (epoch < commit.revealEpoch) {
        keep.push(commit);
        continue;
      }
      if (epoch > commit.revealEpoch) {
        // A reveal sent unseen late in its epoch may have landed: the chain tells, not the clock.
        const block = { number: schedule.block, hash: schedule.blockHash };
        const reveal = commit.revealSent
          ? await this.#revealOnChain(commit, schedule, block)
          : undefined;
        if (reveal === "landed") {
          results.push(this.#foundRevealed(commit));
          continue;
        }
        if (reveal === "unknown") {
          // An epoch of failed lookups: kept longer, it would be looked up at every call for good.
          if (epoch > commit.revealEpoch + ESTIMATE_SLACK_EPOCHS) {
            results.push(
              this.#refuse(
                `commit ${commit.hash} dropped: whether its reveal sent at block ` +
                  `${commit.revealSentAtBlock} landed could not be told by epoch ${epoch}`,
              ),
            );
            continue;
          }
          // Only a lookup that answers may call it expired; it is tried again at the next call.
          results.push(
            this.#retryLater(
              `reveal_weights ${commit.hash}: cannot tell whether the reveal sent at block ` +
                `${commit.revealSentAtBlock} landed; will look again`,
            ),
          );
          keep.push(commit);
          continue;
        }
        results.push(
          this.#refuse(
            `commit ${commit.hash} expired unrevealed: its reveal epoch ${commit.revealEpoch} ` +
              `has passed (now ${epoch})`,
          ),
        );
        continue;
      }
      const { result, retry } = await this.#revealCommit(commit, schedule);
      results.push(result);
      if (retry) keep.push(commit);
    }
    this.#pending = keep;
    if (results.length > 0 || changed) this.#savePending();
    return results;
  }

  /**
   * Sends the reveal of `commit`, due in the epoch of the schedule's next block; `retry` when it
   * is to be tried again at the next call. A reveal sent before without its inclusion seen may
   * have landed since, and the chain refuses a repeat as if the commit never existed: the chain's
   * `WeightCommits` tells which.
   */
  async #revealCommit(
    commit: PendingCommit,
    schedule: EpochSchedule,
  ): Promise<{ result: WeightSubmission; retry: boolean }> {
    const sentBefore = commit.revealSent;
    if (sentBefore && schedule.block <= commit.revealSentAtBlock) {
      return {
        result: this.#retryLater(
          `reveal_weights ${commit.hash}: the node is at block ${schedule.block}, not past ` +
            `block ${commit.revealSentAtBlock} where the earlier reveal was sent; will retry`,
        ),
        retry: true,
      };
    }
    if (
      sentBefore &&
      await this.#goneFromChain(commit, schedule, {
        number: schedule.block,
        hash: schedule.blockHash,
      })
    ) {
      return { result: this.#foundRevealed(commit), retry: false };
    }
    const call = this.#client.api.tx.subtensorModule.revealWeights(
      this.#options.netuid,
      commit.uids,
      commit.values,
      commit.salt,
      commit.versionKey,
    );
    const outcome = await this.#client.submit(call, this.#options.hotkey, this.#submitOptions());
    if (outcome.ok) {
      return {
        result: this.#accept(`reveal_weights ${commit.hash}`, outcome.extrinsicHash),
        retry: false,
      };
    }
    if (
      sentBefore && COMMIT_GONE.test(outcome.message) &&
      await this.#goneFromChain(commit, schedule)
    ) {
      return { result: this.#foundRevealed(commit), retry: false };
    }
    if (HOPELESS_REVEAL.test(outcome.message)) {
      return {
        result: this.#refuse(`reveal_weights ${commit.hash}: ${outcome.message}`),
        retry: false,
      };
    }
    // Tried again at the next call (too early by the chain's count, a busy node, not yet seen).
    if (outcome.unconfirmed) {
      commit.revealSent = true;
      commit.revealSentAtBlock = schedule.block;
    }
    return {
      result: this.#retryLater(`reveal_weights ${commit.hash}: ${outcome.message}; will retry`),
      retry: true,
    };
  }

  /**
   * Whether `commit` is missing from the chain's `WeightCommits` at block `at` (the best block
   * when not given), past the block its earlier reveal was sent at. False when it cannot be read,
   * or the block is not past that one: the caller then goes on as without the check.
   */
  async #goneFromChain(
    commit: PendingCommit,
    schedule: EpochSchedule,
    at?: { number: number; hash?: string },
  ): Promise<boolean> {
    return await this.#revealOnChain(commit, schedule, at) === "landed";
  }

  /**
   * What the chain at block `at` (the best block when not given) says of the earlier reveal of
   * `commit`: `landed` when the commit is gone from `WeightCommits`, `held` when the chain still
   * holds it, `unknown` when it cannot be read or the block is not past the one the reveal was sent
   * at.
   */
  async #revealOnChain(
    commit: PendingCommit,
    schedule: EpochSchedule,
    at?: { number: number; hash?: string },
  ): Promise<"landed" | "held" | "unknown"> {
    try {
      let block = at;
      if (block?.hash === undefined) {
        const header = await this.#client.api.rpc.chain.getHeader();
        block = { number: header.number.toNumber(), hash: header.hash.toHex() };
      }
      if (block.number <= commit.revealSentAtBlock) return "unknown";
      const held = await this.#readCommitEpoch(schedule, commit.hash, block.hash!) !== null;
      return held ? "held" : "landed";
    } catch (error) {
      this.#options.log?.(`cannot look commit ${commit.hash} up: ${(error as Error).message}`);
      return "unknown";
    }
  }

  /** An earlier reveal of `commit` landed unseen: the chain no longer holds the commit. */
  #foundRevealed(commit: PendingCommit): WeightSubmission {
    return this.#accept(
      `reveal_weights ${commit.hash}: found revealed on chain (an earlier reveal, sent without ` +
        `its inclusion seen, landed)`,
      undefined,
    );
  }

  #savePending(): void {
    const path = this.#options.pendingCommitsPath;
    if (!path) return;
    try {
      savePendingCommits(path, this.#pending);
    } catch (error) {
      (this.#options.warn ?? this.#options.log)?.(
        `cannot save pending commits to ${path}: ${(error as Error).message}`,
      );
    }
  }

  #submitOptions() {
    return { waitForInclusion: this.#options.waitForInclusion, timeoutMs: this.#options.timeoutMs };
  }

  #accept(message: string, reference: string | undefined): WeightSubmission {
    this.#options.log?.(message);
    return { accepted: true, message, reference };
  }

  /** A refusal; `chainMessage`, when given, makes a rate-limit error a deferral. */
  #refuse(message: string, chainMessage?: string): WeightSubmission {
    if (chainMessage !== undefined && TOO_SOON.test(chainMessage)) {
      return this.#rateLimited(message);
    }
    this.#options.log?.(message);
    return { accepted: false, message };
  }

  /** The chain could not be read or written: an error, not its refusal. */
  #unreachable(error: unknown): WeightSubmission {
    return { ...this.#refuse(`cannot read the chain: ${(error as Error).message}`), failed: true };
  }

  /** Held back by the weights rate limit: routine, so told at the detail level. */
  #rateLimited(message: string): WeightSubmission {
    (this.#options.debug ?? this.#options.log)?.(message);
    return { accepted: false, message, deferred: true };
  }

  /** Not done yet and tried again at the next call. */
  #retryLater(message: string): WeightSubmission {
    this.#options.log?.(message);
    return { accepted: false, message, deferred: true };
  }
}
