import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Scorer } from "../../validator/scoring/scorer.ts";
import { sharpeRatio } from "../../validator/scoring/formulas.ts";
import {
  type InventoryRow,
  joinScoring,
  type ScoringMeta,
  splitScoring,
} from "../../validator/scoring_codec.ts";
import { StateFileError, ValidatorStore } from "../../validator/store.ts";
import { generator, randomRun } from "./random_runs.ts";

/** What the state file holds: the JSON text of the meta, the volume block and the rows. */
interface Stored {
  step: number;
  meta: string;
  volumes: Uint8Array;
  rows: Map<number, InventoryRow>;
}

/** Saves as the store does: new rows appended (as bytes), older than the windows dropped. */
function save(scorer: Scorer, step: number, into: Stored | null): Stored {
  const split = splitScoring(scorer, step, into?.step ?? -Infinity);
  const rows = new Map(into?.rows ?? []);
  for (const row of split.rows) {
    rows.set(row.step, { ...row, values: new Float64Array(row.values.slice().buffer) });
  }
  for (const s of rows.keys()) if (s < split.oldestStep) rows.delete(s);
  return { step, meta: JSON.stringify(split.meta), volumes: split.volumes.slice(), rows };
}

/** Loads as the store does: the rows of the longest window, ascending. */
function load(stored: Stored) {
  const meta = JSON.parse(stored.meta) as ScoringMeta;
  const longest = Math.max(0, ...meta.miners.map((m) => m.length));
  const rows = [...stored.rows.values()]
    .filter((r) => r.step > stored.step - longest && r.step <= stored.step)
    .sort((a, b) => a.step - b.step);
  return { meta, volumes: stored.volumes, rows };
}

function restore(stored: Stored, scorer: Scorer): Scorer {
  const { meta, volumes, rows } = load(stored);
  return Scorer.fromJSON(joinScoring(meta, volumes, rows), {
    uids: scorer.miners.length,
    books: scorer.books,
    config: scorer.config,
  });
}

const CASES = 600;

/** Saves and restores a scorer at random points of random runs, checking it scores as the live one. */
function checkRestores(varyBooks: boolean) {
  for (let seed = 1; seed <= CASES; seed++) {
    const { config, events } = randomRun(seed, { varyBooks });
    const random = generator(seed ^ 0x5eed);
    const options = { uids: config.uids, books: config.books, config };
    const live = new Scorer(options);
    let stored: Stored | null = null;
    let restored: Scorer | null = null;
    let step = 0;
    for (const event of events) {
      const scorers = restored === null ? [live] : [live, restored];
      for (const scorer of scorers) {
        if (event.type === "reset") scorer.reset(event.uid);
        if (event.type === "rebase") scorer.rebase(event.previousEnd);
      }
      if (event.type !== "observe") continue;
      const rewards = scorers.map((scorer) => scorer.observe(event.observation));
      step++;
      if (restored !== null) {
        const where = `case ${seed}, step ${step}`;
        rewards[0].forEach((r, uid) => assert.ok(Object.is(r, rewards[1][uid]), where));
        assert.deepEqual(restored.scores(), live.scores(), where);
        restored.miners.forEach((m, uid) => {
          assert.deepEqual(m.activity, live.miners[uid].activity, where);
          assert.deepEqual(m.inventory, live.miners[uid].inventory, where);
          assert.deepEqual(m.sharpe, live.miners[uid].sharpe, where);
          const buckets = (book: typeof m.volumes[number]) =>
            [book.total, book.maker, book.taker, book.self].map((role) => [...role]);
          assert.deepEqual(m.volumes.map(buckets), live.miners[uid].volumes.map(buckets), where);
        });
      } else if (random() < 0.3) {
        stored = save(live, step, stored);
        if (random() < 0.3) restored = restore(stored, live);
      }
    }
  }
}

Deno.test(`a restored scorer scores exactly as the saved one, over ${CASES} random runs`, () => {
  checkRestores(false);
});

Deno.test(`the same over ${CASES} runs whose book count changes at new simulations`, () => {
  checkRestores(true);
});

/** A valid stored state of 2 uids on 2 books after 6 publishes, uid 0 trading. */
function validState() {
  const scorer = new Scorer({ uids: 2, books: 2 });
  for (let s = 1; s <= 6; s++) {
    scorer.observe({
      timestamp: s * 5e9,
      quotes: [{ bid: 99, ask: 101 + (s % 3) }, { bid: 10, ask: 11 }],
      holdings: new Map([[0, [{ base: s, quote: 1000 }, { base: 1, quote: 500 + s * s }]]]),
      fills: new Map([[0, [{
        bookId: 0,
        price: 100,
        quantity: s,
        makerAgentId: 0,
        takerAgentId: 9,
      }]]]),
    });
  }
  return load(save(scorer, 6, null));
}

Deno.test("a corrupted or truncated scoring state is refused with an error naming the problem", () => {
  const cases: [string, (s: ReturnType<typeof validState>) => unknown, RegExp][] = [
    ["meta is not an object", (s) => (s.meta = "x" as unknown as ScoringMeta), /at \(root\)/],
    [
      "score is text",
      (s) => ((s.meta.miners[1] as { score: unknown }).score = "0.5"),
      /miners\.1\.score/,
    ],
    [
      "score lost (NaN written as null)",
      (s) => ((s.meta.miners[0] as { score: unknown }).score = null),
      /miners\.0\.score/,
    ],
    ["activity out of range", (s) => (s.meta.miners[0].activity[1] = 3), /miners\.0\.activity\.1/],
    [
      "activity lost (null)",
      (s) => ((s.meta.miners[0].activity as unknown[])[0] = null),
      /miners\.0\.activity\.0/,
    ],
    [
      "activity too short",
      (s) => s.meta.miners[0].activity.pop(),
      /activity has 1 values for 2 books/,
    ],
    [
      "activity too long",
      (s) => s.meta.miners[1].activity.push(1),
      /miners\.1: activity has 3 values for 2 books/,
    ],
    ["window length fractional", (s) => (s.meta.miners[0].length = 2.5), /miners\.0\.length/],
    ["miners missing", (s) => delete (s.meta as { miners?: unknown }).miners, /at miners/],
    [
      "volume block cut mid-number",
      (s) => (s.volumes = s.volumes.subarray(0, s.volumes.length - 3)),
      /not a float64 array/,
    ],
    [
      "volume block truncated",
      (s) => (s.volumes = s.volumes.subarray(0, s.volumes.length - 8)),
      /volume block (is truncated|has a bad count)/,
    ],
    [
      "volume block empty",
      (s) => (s.volumes = new Uint8Array()),
      /volume block is truncated at its header/,
    ],
    [
      "volume block with trailing data",
      (s) => (s.volumes = new Uint8Array([...s.volumes, ...new Uint8Array(8)])),
      /1 numbers after its last book/,
    ],
    ["volume block for another shape", (s) => setNumber(s, 0, 3), /for 3 uids × 2 books/],
    ["bucket count not a count", (s) => setNumber(s, 2, 1.5), /bad count 1.5 at uid 0, book 0/],
    ["bucket count NaN", (s) => setNumber(s, 2, NaN), /bad count NaN at uid 0, book 0/],
    ["bucket volume NaN", (s) => setNumber(s, 4, NaN), /bucket .* → NaN at uid 0, book 0/],
    ["bucket volume negative", (s) => setNumber(s, 4, -1), /bucket .* → -1 at uid 0, book 0/],
    [
      "maker volume negative",
      (s) => setNumber(s, 5, -1),
      /maker bucket .* → -1 at uid 0, book 0/,
    ],
    [
      "bucket repeated",
      (s) => (setNumber(s, 2, 2), setNumber(s, 3, 600e9), setNumber(s, 4, 600e9)),
      /repeats a bucket at uid 0, book 0/,
    ],
    ["inventory rows missing", (s) => s.rows.splice(0, 2), /needs its last 6 rows, 4 are stored/],
    ["an inventory row missing", (s) => s.rows.splice(2, 1), /needs its last 6 rows, 5 are stored/],
    [
      "inventory rows not consecutive",
      (s) => (s.rows[2] = { ...s.rows[2], step: 9 }),
      /jump from step 2 to 9/,
    ],
    [
      "inventory row of the wrong size",
      (s) => (s.rows[5] = { ...s.rows[5], values: new Float64Array(3) }),
      /step 6 holds 3 values for 2 uids × 2 books/,
    ],
    [
      "inventory row for fewer uids",
      (s) => (s.rows[5] = { ...s.rows[5], uids: 1, values: new Float64Array(2) }),
      /step 6 has no values for uid 1/,
    ],
    [
      "inventory row without a time",
      (s) => (s.rows[0] = { ...s.rows[0], timestamp: NaN }),
      /step 1 has timestamp NaN/,
    ],
  ];
  const intact = validState();
  assert.doesNotThrow(() => joinScoring(intact.meta, intact.volumes, intact.rows));
  for (const [name, corrupt, message] of cases) {
    const state = validState();
    corrupt(state);
    assert.throws(() => joinScoring(state.meta, state.volumes, state.rows), message, name);
  }
});

/** Overwrites the `index`-th float64 of the volume block. */
function setNumber(state: { volumes: Uint8Array }, index: number, value: number) {
  const numbers = new Float64Array(state.volumes.slice().buffer);
  numbers[index] = value;
  state.volumes = new Uint8Array(numbers.buffer);
}

Deno.test("a NaN inventory value survives a save: the window is restored whole", () => {
  // Book 0's value is NaN at publish 2 (a NaN balance): the entry must come back, NaN and all.
  const scorer = new Scorer({ uids: 1, books: 2 });
  const observe = (target: Scorer, s: number) =>
    target.observe({
      timestamp: s * 5e9,
      quotes: [{ bid: 99, ask: 101 }, { bid: 10, ask: 11 }],
      holdings: new Map([[0, [{ base: s === 2 ? NaN : s, quote: 1000 }, { base: s, quote: 500 }]]]),
      fills: new Map(),
    });
  for (let s = 1; s <= 4; s++) observe(scorer, s);
  const restored = restore(save(scorer, 4, null), scorer);
  assert.deepEqual(restored.miners[0].inventory, scorer.miners[0].inventory);
  // The NaN makes book 0's Sharpe values and the reward NaN; JSON stores them as null, which must
  // read back as NaN (the metrics export them), not as 0.
  assert.ok(Number.isNaN(scorer.miners[0].sharpe.total) && Number.isNaN(scorer.miners[0].reward));
  assert.deepEqual(restored.miners[0].sharpe, scorer.miners[0].sharpe);
  assert.ok(Number.isNaN(restored.miners[0].reward));
  for (let s = 5; s <= 8; s++) assert.deepEqual(observe(restored, s), observe(scorer, s));
  assert.deepEqual(restored.scores(), scorer.scores());
});

Deno.test("random damage to a stored volume block is refused or restores finite volumes", () => {
  const random = generator(79);
  for (let i = 0; i < 2000; i++) {
    const state = validState();
    const bytes = state.volumes.slice();
    if (random() < 0.5) {
      state.volumes = bytes.subarray(0, Math.floor(random() * bytes.length));
    } else {
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      state.volumes = bytes;
    }
    try {
      const snapshot = joinScoring(state.meta, state.volumes, state.rows);
      for (const miner of snapshot.miners) {
        for (const book of miner.volumes) {
          for (const [key, value] of Object.values(book).flat()) {
            assert.ok(Number.isFinite(key) && Number.isFinite(value) && value >= 0);
          }
        }
      }
    } catch (error) {
      assert.ok(
        error instanceof Error && !(error instanceof TypeError) &&
          !(error instanceof RangeError),
        String(error),
      );
      assert.match(error.message, /^volume block /);
    }
  }
});

Deno.test("a state file whose scoring part is damaged is refused as damaged, naming the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-scoring-"));
  try {
    const damages: [string, RegExp][] = [
      ["DELETE FROM inventory WHERE step = 3", /needs its last 6 rows, 5 are stored/],
      ["UPDATE snapshot SET volumes = substr(volumes, 1, length(volumes) - 8)", /volume block/],
      [
        `UPDATE snapshot SET body = json_set(body, '$.scoring.miners[1].score', 'high')`,
        /scoring state is invalid at miners\.1\.score/,
      ],
      [
        `UPDATE snapshot SET body = json_set(body, '$.scoring.miners', 7)`,
        /scoring state is invalid at miners: /,
      ],
    ];
    damages.forEach(([sql, message], i) => {
      const path = join(dir, `state-${i}.db`);
      const store = ValidatorStore.open(path);
      const scorer = new Scorer({ uids: 2, books: 2 });
      let step = 0;
      for (let s = 1; s <= 6; s++) {
        scorer.observe({
          timestamp: 1e12 + s,
          quotes: [{ bid: 1, ask: 2 }, { bid: 1, ask: 2 }],
          holdings: new Map([[1, [{ base: s, quote: 1 }, { base: 1, quote: s }]]]),
          fills: new Map([[1, [{
            bookId: 0,
            price: 3,
            quantity: s,
            makerAgentId: 1,
            takerAgentId: 8,
          }]]]),
        });
        step = s;
      }
      store.save({
        simulation: { index: 0, seed: 1, publishes: step, timestamp: 1e12 + step },
        step,
        hotkeys: {},
        scores: {},
        scoring: scorer.toJSON(),
        pendingResets: [],
        lastWeightsAt: null,
      }, []);
      store.close();
      const db = new DatabaseSync(path);
      db.exec(sql);
      db.close();
      assert.throws(
        () => ValidatorStore.open(path).close(),
        (error: unknown) =>
          error instanceof StateFileError && error.kind === "damaged" &&
            message.test(error.message) || assert.fail(`${sql}: ${error}`),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Observes publish `s` of `books` books, where each uid's values differ by uid, publish and book. */
function observeBooks(target: Scorer, s: number, books: number) {
  return target.observe({
    timestamp: s * 5e9,
    quotes: Array.from({ length: books }, () => ({ bid: 99, ask: 101 })),
    holdings: new Map([0, 1].map((uid) => [
      uid,
      Array.from({ length: books }, (_, b) => ({ base: 10 * uid + s * s + b, quote: 1000 })),
    ])),
    fills: new Map(),
  });
}

Deno.test("rows saved before books were added restore without those books, every uid its own", () => {
  const narrow = new Scorer({ uids: 2, books: 1 });
  for (let s = 1; s <= 3; s++) observeBooks(narrow, s, 1);
  const before = save(narrow, 3, null);
  // Restarted with a second book: the rows already stored keep their one book.
  const wide = Scorer.fromJSON(narrow.toJSON(), { uids: 2, books: 2 });
  observeBooks(wide, 4, 2);
  const after = save(wide, 4, before);
  assert.deepEqual([...after.rows.values()].map((row) => row.books), [1, 1, 1, 2]);
  const restored = restore(after, wide);
  assert.deepEqual(restored.miners.map((m) => m.inventory), wide.miners.map((m) => m.inventory));
  assert.deepEqual(restored.miners[1].inventory.map((e) => e.values.length), [1, 1, 1, 2]);
});

Deno.test("a window written whole keeps each row's books, and scores as the live scorer", () => {
  const live = Scorer.fromJSON(new Scorer({ uids: 2, books: 1 }).toJSON(), { uids: 2, books: 2 });
  for (let s = 1; s <= 3; s++) observeBooks(live, s, 1);
  for (let s = 4; s <= 6; s++) observeBooks(live, s, 2);
  // The first save after a start writes the whole window.
  const stored = save(live, 6, null);
  assert.deepEqual([...stored.rows.values()].map((row) => row.books), [1, 1, 1, 2, 2, 2]);
  const restored = restore(stored, live);
  for (let s = 7; s <= 9; s++) {
    assert.deepEqual(observeBooks(restored, s, 2), observeBooks(live, s, 2));
  }
  assert.deepEqual(restored.miners.map((m) => m.sharpe), live.miners.map((m) => m.sharpe));
  assert.deepEqual(restored.scores(), live.scores());
});

Deno.test("rows stored with a 0 for a book their publish did not have restore it as a value", () => {
  // A state whose window was saved whole after a book was added, each row holding a 0 for that
  // book where its publish had none: the restored entries hold the book, valued 0, and score as
  // such a state always has.
  const narrow = new Scorer({ uids: 2, books: 1 });
  for (let s = 1; s <= 3; s++) observeBooks(narrow, s, 1);
  const wide = Scorer.fromJSON(narrow.toJSON(), { uids: 2, books: 2 });
  const stored = save(wide, 3, null);
  for (const [step, row] of stored.rows) {
    if (row.books === 2) continue;
    const values = new Float64Array(4);
    for (let uid = 0; uid < 2; uid++) values[uid * 2] = row.values[uid];
    stored.rows.set(step, { ...row, books: 2, values });
  }
  const restored = restore(stored, wide);
  const padded = narrow.miners.map((m) => m.inventory.map((e) => [e.values[0], 0]));
  assert.deepEqual(restored.miners.map((m) => m.inventory.map((e) => e.values)), padded);
  wide.miners.forEach((m, uid) => m.inventory.forEach((e, i) => (e.values = padded[uid][i])));
  observeBooks(restored, 4, 2);
  observeBooks(wide, 4, 2);
  assert.deepEqual(restored.miners.map((m) => m.sharpe), wide.miners.map((m) => m.sharpe));
  // The padded book's changes 0, 0 and v = 1000 + 100·17 − 100 000 (its first own value): not
  // the Sharpe 0 of one value, but √3·(v/3)/(√2·|v|/3) = −√(3/2), whatever the size of v < 0.
  const [value] = restored.miners[0].inventory.at(-1)!.values.slice(1);
  assert.equal(value, -97_300);
  assert.equal(restored.miners[0].sharpe.books[1], sharpeRatio([0, 0, value]));
  assert.ok(Math.abs(restored.miners[0].sharpe.books[1] + Math.sqrt(1.5)) < 1e-12);
});

/**
 * The JSON part of a layout 2 state of one unscored uid whose role volumes were one sum per book:
 * `roles` holds those sums, one per book.
 */
function layout2Meta(roles: Record<"maker" | "taker" | "self", (number | null)[]>) {
  const books = roles.maker.length;
  const sharpe = {
    books: Array(books).fill(0),
    total: 0,
    average: 0,
    median: 0,
    normalizedAverage: 0,
    normalizedTotal: 0,
    normalizedMedian: 0,
  };
  const miner = { length: 0, activity: Array(books).fill(0), sharpe, reward: 0, score: 0, roles };
  return { books, miners: [miner] };
}

Deno.test("a layout 2 role sum that is not a positive volume spreads as 0 in every bucket", () => {
  // One uid, one book, two buckets of total volume 1 and 3 (the count, the keys, the totals).
  const volumes = new Uint8Array(new Float64Array([1, 1, 2, 10, 20, 1, 3]).buffer);
  const meta = layout2Meta({ maker: [8], taker: [-4], self: [null] });
  const [book] = joinScoring(meta, volumes, []).miners[0].volumes;
  assert.deepEqual(book.maker, [[10, 2], [20, 6]]);
  assert.deepEqual(book.taker, [[10, 0], [20, 0]]);
  assert.deepEqual(book.self, [[10, 0], [20, 0]]);
});

Deno.test("a layout 2 state spreads each book's own role sums over that book's buckets", () => {
  // One uid, two books: book 0 has buckets 1 and 2 of total volume 1 and 3, book 1 one bucket of
  // 4. Powers of two keep every share exact.
  const volumes = new Uint8Array(new Float64Array([1, 2, 2, 1, 2, 1, 3, 1, 1, 4]).buffer);
  const meta = layout2Meta({ maker: [8, 2], taker: [0, 5], self: [4, 0] });
  const [book0, book1] = joinScoring(meta, volumes, []).miners[0].volumes;
  assert.deepEqual(book0.maker, [[1, 2], [2, 6]]);
  assert.deepEqual(book0.taker, [[1, 0], [2, 0]]);
  assert.deepEqual(book0.self, [[1, 1], [2, 3]]);
  assert.deepEqual(book1.maker, [[1, 2]]);
  assert.deepEqual(book1.taker, [[1, 5]]);
  assert.deepEqual(book1.self, [[1, 0]]);
});
