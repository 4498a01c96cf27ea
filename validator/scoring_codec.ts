/**
 * Compact storage form of the scoring windows. At steady state the windows hold 256 uids × 720
 * observations × 20 books of inventory values and 144 ten-minute volume buckets per uid, book
 * and role — about 150 MB as JSON, far too much to rewrite every few seconds. This codec splits a
 * scorer snapshot into:
 *
 * - inventory rows, one per scored publish (every uid's values for that publish), which are
 *   append-only: each save writes only the publishes since the previous one;
 * - the volume buckets as one binary block of float64s: per uid and book, the keys, then the total,
 *   maker, taker and self volumes of those buckets (a scorer gives every role the same buckets);
 * - a small JSON part (activity factors, Sharpe values, rewards, scores, window lengths).
 *
 * States saved before the roles had their buckets in the block hold each role's sum per book in
 * the JSON part and only the totals in the block; {@linkcode joinScoring} still reads them.
 *
 * ```ts
 * const parts = splitScoring(scorer, step, lastSavedStep); // a Scorer or its toJSON() form
 * const restored = joinScoring(parts.meta, parts.volumes, rowsFromDisk);
 * ```
 * @module
 */
import { z } from "../cli/zod_messages.ts";
import type { ScorerSnapshot } from "./scoring/mod.ts";

/** One publish's inventory values of every uid (NaN where a uid had no observation). */
export interface InventoryRow {
  /** Validator step of the publish. */
  step: number;
  /** Simulated ns of the publish. */
  timestamp: number;
  uids: number;
  /** Books the publish had (fewer than the state's for one published before books were added). */
  books: number;
  /** uid-major: `values[uid * books + book]`. */
  values: Float64Array;
}

type MinerSnapshot = ScorerSnapshot["miners"][number];

/** Bucket key → volume pairs: a `Map` (live scorer) or an entry list (its JSON form). */
type Buckets = Iterable<[number, number]>;

/** The volumes stored for each bucket, in their order in the block. */
const SERIES = ["total", "maker", "taker", "self"] as const;

/**
 * The scoring windows as either a live `Scorer` or its `toJSON()` form provides them; reading the
 * live scorer directly avoids copying every window before a save.
 */
export interface ScoringWindows {
  books: number;
  miners: readonly {
    inventory: readonly { timestamp: number; values: readonly number[] }[];
    volumes: readonly { total: Buckets; maker: Buckets; taker: Buckets; self: Buckets }[];
    activity: number[];
    sharpe: MinerSnapshot["sharpe"];
    reward: number;
    score: number;
  }[];
}

/** The JSON part of a split snapshot. */
export interface ScoringMeta {
  books: number;
  miners: {
    /** Observations in the inventory window (the last `length` rows). */
    length: number;
    activity: number[];
    sharpe: MinerSnapshot["sharpe"];
    reward: number;
    score: number;
    /**
     * Only in a state saved before the roles had their own buckets in the volume block: per book,
     * the summed maker, taker and self volume over the assessment period.
     */
    roles?: { maker: number[]; taker: number[]; self: number[] };
  }[];
}

/** A snapshot split for storage; see the module doc. */
export interface SplitScoring {
  meta: ScoringMeta;
  volumes: Uint8Array;
  /** Rows for the steps after `fromStep`, ascending. */
  rows: InventoryRow[];
  /** Rows older than this step are no longer needed. */
  oldestStep: number;
}

function countOf(buckets: Buckets): number {
  return buckets instanceof Map ? buckets.size : (buckets as readonly unknown[]).length;
}

/** The buckets by key (the live scorer's own Map, not a copy). */
function asMap(buckets: Buckets): ReadonlyMap<number, number> {
  return buckets instanceof Map ? buckets : new Map(buckets);
}

/**
 * Splits `snapshot`, taken right after the observation of validator step `step`, producing the
 * inventory rows of steps `fromStep + 1 … step` that are still inside some window.
 */
export function splitScoring(
  snapshot: ScoringWindows,
  step: number,
  fromStep: number,
): SplitScoring {
  const books = snapshot.books;
  const uids = snapshot.miners.length;
  const longest = Math.max(0, ...snapshot.miners.map((m) => m.inventory.length));
  const oldestStep = step - longest + 1;
  const rows: InventoryRow[] = [];
  for (let s = Math.max(fromStep + 1, oldestStep); s <= step; s++) {
    const entries = snapshot.miners.map((miner) =>
      miner.inventory[miner.inventory.length - 1 - (step - s)]
    );
    const timestamp = entries.find((entry) => entry !== undefined)?.timestamp;
    if (timestamp === undefined) continue;
    // Every entry of a publish holds the books it had.
    const held = Math.min(books, Math.max(...entries.map((entry) => entry?.values.length ?? 0)));
    const values = new Float64Array(uids * held).fill(Number.NaN);
    entries.forEach((entry, uid) => {
      if (entry === undefined) return;
      for (let b = 0; b < held; b++) values[uid * held + b] = entry.values[b] ?? 0;
    });
    rows.push({ step: s, timestamp, uids, books: held, values });
  }

  let size = 2;
  for (const miner of snapshot.miners) {
    for (let b = 0; b < books; b++) {
      size += 1 + (1 + SERIES.length) * countOf(miner.volumes[b]?.total ?? []);
    }
  }
  const numbers = new Float64Array(size);
  numbers[0] = uids;
  numbers[1] = books;
  let at = 2;
  const meta: ScoringMeta = {
    books,
    miners: snapshot.miners.map((miner) => {
      for (let b = 0; b < books; b++) {
        const book = miner.volumes[b];
        const total = book?.total ?? [];
        const n = countOf(total);
        numbers[at] = n;
        const series = SERIES.map((role) => asMap(book?.[role] ?? []));
        let i = 0;
        for (const [key] of total) {
          const first = at + 1 + i;
          numbers[first] = key;
          series.forEach((volumes, s) => (numbers[first + (1 + s) * n] = volumes.get(key) ?? 0));
          i++;
        }
        at += 1 + (1 + SERIES.length) * n;
      }
      return {
        length: miner.inventory.length,
        activity: [...miner.activity],
        sharpe: miner.sharpe,
        reward: miner.reward,
        score: miner.score,
      };
    }),
  };
  const volumes = new Uint8Array(numbers.buffer);
  return { meta, volumes, rows, oldestStep };
}

/** JSON has no NaN: `JSON.stringify` writes a NaN Sharpe or reward (reporting values) as null. */
const reported = z.number().nullable().transform((v) => v ?? Number.NaN);
const count = z.number().int().nonnegative();

/** The JSON part as it must read back; what it stores of the scoring itself must be exact. */
const metaSchema = z.object({
  books: count,
  miners: z.array(z.object({
    length: count,
    activity: z.array(z.number().min(0).max(2)),
    sharpe: z.object({
      books: z.array(reported),
      total: reported,
      average: reported,
      median: reported,
      normalizedAverage: reported,
      normalizedTotal: reported,
      normalizedMedian: reported,
    }),
    reward: reported,
    score: z.number(),
    roles: z.object({
      maker: z.array(reported),
      taker: z.array(reported),
      self: z.array(reported),
    }).optional(),
  })),
});

/** Checks the JSON part of a stored scoring state; throws naming the first field that is wrong. */
export function parseScoringMeta(value: unknown): ScoringMeta {
  const parsed = metaSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `scoring state is invalid at ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
  }
  const meta = parsed.data;
  meta.miners.forEach((miner, uid) => {
    for (const [what, list] of Object.entries({ activity: miner.activity, ...miner.roles })) {
      if (list.length !== meta.books) {
        throw new Error(
          `scoring state is invalid at miners.${uid}: ${what} has ${list.length} values for ${meta.books} books`,
        );
      }
    }
  });
  return meta;
}

/** The volume block's numbers, read in order; every problem is an error naming where it is. */
class VolumeReader {
  #at = 0;
  constructor(readonly numbers: Float64Array) {}

  next(what: string): number {
    if (this.#at >= this.numbers.length) throw new Error(`volume block is truncated at ${what}`);
    return this.numbers[this.#at++];
  }

  /**
   * One book's buckets: a count, then that many keys, then their volumes of each of `series` in
   * turn. Returns each series' buckets.
   */
  buckets(where: string, series: readonly string[]): [number, number][][] {
    const n = this.next(where);
    const at = this.#at;
    const left = (this.numbers.length - at) / (1 + series.length);
    if (!Number.isInteger(n) || n < 0 || n > left) {
      throw new Error(`volume block has a bad count ${n} at ${where} (room for ${left} buckets)`);
    }
    const keys = this.numbers.subarray(at, at + n);
    let increasing = true;
    const lists = series.map((name, s) =>
      Array.from(keys, (key, i): [number, number] => {
        const value = this.numbers[at + (1 + s) * n + i];
        if (!Number.isFinite(key) || !Number.isFinite(value) || value < 0) {
          throw new Error(`volume block has ${name} bucket ${key} → ${value} at ${where}`);
        }
        if (i > 0 && !(key > keys[i - 1])) increasing = false;
        return [key, value];
      })
    );
    // Ascending keys (the usual insertion order) cannot repeat; only others need the set.
    if (!increasing && new Set(keys).size !== n) {
      throw new Error(`volume block repeats a bucket at ${where}`);
    }
    this.#at = at + (1 + series.length) * n;
    return lists;
  }

  /** Fails unless every number has been read. */
  end(): void {
    const extra = this.numbers.length - this.#at;
    if (extra > 0) throw new Error(`volume block has ${extra} numbers after its last book`);
  }
}

/**
 * Rebuilds a scorer snapshot from its stored parts (rows ascending by step, newest last). Refuses,
 * with an error naming the problem, parts that do not fit together or would not restore the
 * scoring exactly: a malformed JSON part, a volume block of the wrong shape or with non-finite,
 * negative or repeated buckets, inventory rows of the wrong size, and a window whose rows are
 * missing or not consecutive. A state saved with each role's volume as one sum gets that sum
 * spread over the total buckets (see {@linkcode spreadOver}).
 */
export function joinScoring(
  metaValue: unknown,
  volumes: Uint8Array,
  rows: readonly InventoryRow[],
): ScorerSnapshot {
  const meta = parseScoringMeta(metaValue);
  if (volumes.byteLength % 8 !== 0) throw new Error("volume block is not a float64 array");
  // A copy: the bytes may not be 8-aligned within their buffer.
  const reader = new VolumeReader(new Float64Array(volumes.slice().buffer));
  const uids = reader.next("its header");
  const books = reader.next("its header");
  if (uids !== meta.miners.length || books !== meta.books) {
    throw new Error(
      `volume block is for ${uids} uids × ${books} books, state for ${meta.miners.length} × ${meta.books}`,
    );
  }
  const longest = Math.max(0, ...meta.miners.map((m) => m.length));
  checkRows(rows, longest);
  const snapshot: ScorerSnapshot = {
    books,
    miners: meta.miners.map((miner, uid) => {
      const volumesOf = Array.from({ length: books }, (_, b) => {
        const where = `uid ${uid}, book ${b}`;
        if (miner.roles === undefined) {
          const [total, maker, taker, self] = reader.buckets(where, SERIES);
          return { total, maker, taker, self };
        }
        const [total] = reader.buckets(where, ["total"]);
        const spread = (sums: number[]) => spreadOver(total, sums[b]);
        return {
          total,
          maker: spread(miner.roles.maker),
          taker: spread(miner.roles.taker),
          self: spread(miner.roles.self),
        };
      });
      // Every publish appends to every uid's window, so a uid's window is the last `length` rows.
      const window = miner.length === 0 ? [] : rows.slice(-miner.length);
      const inventory = window.map((row) => {
        if (uid >= row.uids) {
          throw new Error(`inventory row of step ${row.step} has no values for uid ${uid}`);
        }
        return {
          timestamp: row.timestamp,
          values: Array.from(
            { length: Math.min(books, row.books) },
            (_, b) => row.values[uid * row.books + b],
          ),
        };
      });
      return {
        inventory,
        volumes: volumesOf,
        activity: miner.activity,
        sharpe: miner.sharpe,
        reward: miner.reward,
        score: miner.score,
      };
    }),
  };
  reader.end();
  return snapshot;
}

/**
 * A role's volume saved only as its sum (an earlier layout), spread over the total buckets in
 * proportion to their volumes: each share then ages out with the bucket it is put in, as the
 * role's own buckets would have. Zero in every bucket for a sum that is not a positive volume.
 */
function spreadOver(total: readonly [number, number][], sum: number): [number, number][] {
  const all = total.reduce((whole, [, volume]) => whole + volume, 0);
  const share = all > 0 && sum > 0 && sum < Infinity ? sum / all : 0;
  return total.map(([key, volume]) => [key, volume * share]);
}

/** The last `longest` rows must be there, one per step, each holding `uids × books` values. */
function checkRows(rows: readonly InventoryRow[], longest: number): void {
  if (rows.length < longest) {
    throw new Error(`inventory window needs its last ${longest} rows, ${rows.length} are stored`);
  }
  const window = rows.slice(rows.length - longest);
  window.forEach((row, i) => {
    if (
      !Number.isInteger(row.uids) || row.uids < 0 || !Number.isInteger(row.books) ||
      row.books < 0 || row.values.length !== row.uids * row.books
    ) {
      throw new Error(
        `inventory row of step ${row.step} holds ${row.values.length} values for ${row.uids} uids × ${row.books} books`,
      );
    }
    if (!Number.isFinite(row.timestamp)) {
      throw new Error(`inventory row of step ${row.step} has timestamp ${row.timestamp}`);
    }
    const previous = window[i - 1];
    if (previous !== undefined && row.step !== previous.step + 1) {
      throw new Error(`inventory rows jump from step ${previous.step} to ${row.step}`);
    }
  });
}
