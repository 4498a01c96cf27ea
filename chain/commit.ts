/**
 * Weight commits: the hash-based one (commit-reveal v2: the commit hash, the salt and the epoch
 * arithmetic that decides when a commit may be revealed) and the timelocked one (commit-reveal
 * v4: the payload the chain decrypts and the drand round it is locked to).
 *
 * ```ts
 * const hash = commitHash({ hotkey: alicePublicKey, storageIndex: 1, uids: [0, 1, 2],
 *   values: [65535, 32768, 1], salt: [1, 2, 3, 4, 5, 6, 7, 8], versionKey: 0n });
 * ```
 * @module
 */
import { compactToU8a, u8aConcat, u8aToHex } from "@polkadot/util";
import { blake2AsU8a } from "@polkadot/util-crypto";
import { quicknetRoundAt, timelockEncrypt } from "./timelock.ts";

/** What a commit binds: revealing must repeat exactly these values. */
export interface WeightCommitment {
  /** The validator hotkey's 32-byte public key. */
  hotkey: Uint8Array;
  /** `mecid · 4096 + netuid`; the netuid itself for the main mechanism. */
  storageIndex: number;
  uids: number[];
  /** u16 weights exactly as they will be revealed. */
  values: number[];
  salt: number[];
  versionKey: bigint;
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * `value` as a little-endian u16. Out of range it is a RangeError naming `field`: encoded anyway,
 * it would wrap to another number and the hash would bind weights nobody chose.
 */
function u16Le(field: string, value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError(`${field} must be a u16 (0 to 65535), not ${value}`);
  }
  return new Uint8Array([value & 0xff, value >> 8]);
}

function u16Vec(field: string, values: number[]): Uint8Array {
  return u8aConcat(
    compactToU8a(values.length),
    ...values.map((value, i) => u16Le(`${field}[${i}]`, value)),
  );
}

/** `value` as a little-endian u64; a RangeError naming `field` when out of range. */
function u64Le(field: string, value: bigint): Uint8Array {
  if (value < 0n || value > U64_MAX) {
    throw new RangeError(`${field} must be a u64 (0 to ${U64_MAX}), not ${value}`);
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

/** The SCALE encoding of `(hotkey, storage_index, uids, values, salt, version_key)`. */
export function commitPreimage(c: WeightCommitment): Uint8Array {
  if (c.hotkey.length !== 32) throw new RangeError("hotkey must be a 32-byte public key");
  return u8aConcat(
    c.hotkey,
    u16Le("storageIndex", c.storageIndex),
    u16Vec("uids", c.uids),
    u16Vec("values", c.values),
    u16Vec("salt", c.salt),
    u64Le("versionKey", c.versionKey),
  );
}

/** `blake2b-256` of the preimage, as `0x`-hex: the `commit_hash` of `commit_weights`. */
export function commitHash(c: WeightCommitment): string {
  return u8aToHex(blake2AsU8a(commitPreimage(c), 256));
}

/** Eight random u16 values, the salt length the SDK uses. */
export function randomSalt(): number[] {
  return Array.from(crypto.getRandomValues(new Uint16Array(8)));
}

/** The chain's epoch index of a block: `(block + netuid + 1) / (tempo + 1)`, integer division. */
export function epochOf(block: number, netuid: number, tempo: number): number {
  return Math.floor((block + netuid + 1) / (tempo + 1));
}

/** First block of epoch `epoch`. */
export function firstBlockOfEpoch(epoch: number, netuid: number, tempo: number): number {
  return epoch * (tempo + 1) - (netuid + 1);
}

/** Blocks after the reveal epoch's first block by which the round's pulse should be on chain. */
const REVEAL_SAFETY_BLOCKS = 3;

/**
 * The drand round a timelocked commit is locked to: the latest round published by the time the
 * chain reaches `REVEAL_SAFETY_BLOCKS` blocks into the reveal epoch, at `blockSeconds` a block
 * (the SDK's choice). A later round could miss the reveal epoch; the chain keeps retrying only
 * within it.
 */
export function timelockRevealRound(
  o: { nowSeconds: number; currentBlock: number; firstRevealBlock: number; blockSeconds: number },
): bigint {
  const blocks = Math.max(0, o.firstRevealBlock + REVEAL_SAFETY_BLOCKS - o.currentBlock);
  return quicknetRoundAt(o.nowSeconds + blocks * o.blockSeconds);
}

/** What a timelocked commit carries; the chain applies it only when `hotkey` is the committer's. */
export interface TimelockedWeights {
  /** The validator hotkey's 32-byte public key. */
  hotkey: Uint8Array;
  uids: number[];
  /** u16 weights. */
  values: number[];
  versionKey: bigint;
}

/**
 * The SCALE payload of a timelocked commit, `(hotkey: Vec<u8>, uids: Vec<u16>, values: Vec<u16>,
 * version_key: u64)`.
 */
export function timelockedWeightsPayload(c: TimelockedWeights): Uint8Array {
  if (c.hotkey.length !== 32) throw new RangeError("hotkey must be a 32-byte public key");
  return u8aConcat(
    compactToU8a(c.hotkey.length),
    c.hotkey,
    u16Vec("uids", c.uids),
    u16Vec("values", c.values),
    u64Le("versionKey", c.versionKey),
  );
}

/** The `commit` argument of `commit_timelocked_weights`: the payload locked to `round`. */
export function timelockedCommit(c: TimelockedWeights, round: bigint): Uint8Array {
  return timelockEncrypt(timelockedWeightsPayload(c), round);
}
