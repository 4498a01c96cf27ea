/**
 * The epoch count that commit-reveal is judged by, read from the chain.
 *
 * Runtimes with the stateful epoch scheduler (storage `SubtensorModule.SubnetEpochIndex`) count
 * epochs as they fire: `tempo` blocks after `LastEpochBlock`, at `PendingEpochAt` when the owner
 * triggers one, every block once `BlocksSinceLastStep` passes `MAX_TEMPO`, one block later when
 * a block's epoch cap defers it. An extrinsic counts in the index plus one if its block is due to
 * fire (the "look-ahead"). Older runtimes derive the epoch from the block number,
 * `(block + netuid + 1) / (tempo + 1)`. The two drift apart by one epoch every `tempo` epochs
 * (a new epoch every `tempo` blocks against `tempo + 1`), so on a newer runtime a reveal timed by
 * the formula comes an epoch late within weeks and the chain drops the commit as expired.
 *
 * ```ts
 * const schedule = await readEpochSchedule(client, 79);
 * const epoch = nextBlockEpoch(schedule); // the epoch of an extrinsic sent now
 * ```
 * @module
 */
import type { SubtensorClient } from "./client.ts";
import { epochOf, firstBlockOfEpoch } from "./commit.ts";

/** The runtime's `MAX_TEMPO`: past this many blocks without a step, every block is an epoch. */
export const MAX_TEMPO = 50_400;

/** A subnet's epoch state after block `block`. */
export type EpochSchedule =
  | { kind: "formula"; block: number; blockHash?: string; netuid: number; tempo: number }
  | {
    kind: "counter";
    block: number;
    /** Hash of `block`, when read from a node. */
    blockHash?: string;
    tempo: number;
    /** `SubnetEpochIndex`: epochs fired so far. */
    index: number;
    lastEpochBlock: number;
    /** Block of an owner-triggered or deferred epoch; 0 when none is pending. */
    pendingEpochAt: number;
    blocksSinceLastStep: number;
  };

interface U64Codec {
  toNumber(): number;
}
type StorageAt = { at(hash: string, ...keys: unknown[]): Promise<U64Codec> };

/** Whether the runtime counts epochs with the stateful scheduler. */
function hasEpochCounter(client: SubtensorClient): boolean {
  const query = client.api.query.subtensorModule as Record<string, unknown> | undefined;
  return typeof query?.subnetEpochIndex === "function";
}

/** The subnet's epoch state at the node's best block, every value read at that one block. */
export async function readEpochSchedule(
  client: SubtensorClient,
  netuid: number,
): Promise<EpochSchedule> {
  const header = await client.api.rpc.chain.getHeader();
  const block = header.number.toNumber();
  const hash = header.hash.toHex();
  const query = client.api.query.subtensorModule as unknown as Record<string, StorageAt>;
  const read = async (item: string) => (await query[item].at(hash, netuid)).toNumber();
  if (!hasEpochCounter(client)) {
    return { kind: "formula", block, blockHash: hash, netuid, tempo: await read("tempo") };
  }
  const [tempo, index, lastEpochBlock, pendingEpochAt, blocksSinceLastStep] = await Promise.all(
    ["tempo", "subnetEpochIndex", "lastEpochBlock", "pendingEpochAt", "blocksSinceLastStep"].map(
      read,
    ),
  );
  return {
    kind: "counter",
    block,
    blockHash: hash,
    tempo,
    index,
    lastEpochBlock,
    pendingEpochAt,
    blocksSinceLastStep,
  };
}

/**
 * Whether, by the state after `s.block`, the subnet's epoch is due in block `block` (> s.block),
 * as the runtime's `should_run_epoch` decides (the step counter grows before it is checked).
 */
function epochDueIn(s: Extract<EpochSchedule, { kind: "counter" }>, block: number): boolean {
  if (s.tempo === 0) return false;
  if (s.pendingEpochAt > 0 && block >= s.pendingEpochAt) return true;
  if (s.blocksSinceLastStep + (block - s.block) > MAX_TEMPO) return true;
  return block - s.lastEpochBlock >= s.tempo;
}

/** The epoch in which an extrinsic included in the next block (`s.block + 1`) counts. */
export function nextBlockEpoch(s: EpochSchedule): number {
  if (s.kind === "formula") return epochOf(s.block + 1, s.netuid, s.tempo);
  return s.index + (epochDueIn(s, s.block + 1) ? 1 : 0);
}

/**
 * The block at which `epoch` (later than the current one) should begin: exact under the formula;
 * on the stateful scheduler the regular schedule, which an owner trigger or a deferral may move.
 */
export function epochStartBlock(s: EpochSchedule, epoch: number): number {
  if (s.kind === "formula") return firstBlockOfEpoch(epoch, s.netuid, s.tempo);
  return s.lastEpochBlock + (epoch - s.index) * s.tempo;
}

/**
 * The epoch the chain recorded for the hash commit `hash` of `hotkey` (ss58), from its
 * `WeightCommits` entry at block `at`; null when the entry holds no such commit. The recorded
 * tuple is `(hash, commit_epoch, commit_block, _)` on the stateful scheduler and
 * `(hash, commit_block, first_reveal_block, last_reveal_block)` before it.
 */
export async function recordedCommitEpoch(
  client: SubtensorClient,
  schedule: EpochSchedule,
  netuid: number,
  hotkey: string,
  hash: string,
  at: string,
): Promise<number | null> {
  const query = client.api.query.subtensorModule as unknown as Record<string, StorageAt>;
  const entry = await query.weightCommits.at(at, netuid, hotkey) as unknown as {
    isSome: boolean;
    unwrap(): [{ toHex(): string }, U64Codec][];
  };
  if (!entry.isSome) return null;
  const commit = entry.unwrap().find(([recorded]) => recorded.toHex() === hash);
  if (commit === undefined) return null;
  const field = commit[1].toNumber();
  return schedule.kind === "counter" ? field : epochOf(field, netuid, schedule.tempo);
}
