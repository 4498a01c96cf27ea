import assert from "node:assert/strict";
import { validateInstructions } from "../../agents/sdk/instructions.ts";
import { emaScore, sharpeRatio, valueChanges } from "../../validator/scoring/formulas.ts";
import {
  type Fill,
  observationFromPublish,
  Scorer,
  type ScoringObservation,
} from "../../validator/scoring/scorer.ts";
import { smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";

const W = 100_000;
const quote = { bid: 299.99, ask: 300.01 };

function close(actual: number, expected: number, tolerance = 1e-9) {
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${actual} ≠ ${expected}`,
  );
}

/** A state where miner 0 holds only quote, so its per-book inventory value is exactly `values`. */
function observation(timestamp: number, values: number[], fills: Fill[] = []): ScoringObservation {
  return {
    timestamp,
    quotes: values.map(() => quote),
    holdings: new Map([[0, values.map((v) => ({ base: 0, quote: W + v }))]]),
    fills: new Map([[0, fills]]),
  };
}

function fill(bookId: number, quantity: number, price: number, maker = 0, taker = -5): Fill {
  return { bookId, price, quantity, makerAgentId: maker, takerAgentId: taker };
}

Deno.test("S5: with one observation the reward is the current score", () => {
  const scorer = new Scorer({ uids: 1, books: 1 });
  scorer.miners[0].score = 0.4;
  assert.deepEqual(scorer.observe(observation(5e9, [5])), [0.4]);
  close(scorer.scores()[0], 0.4, 1e-7); // the EMA of 0.4 with itself, in float32
});

Deno.test("R3: four books with mixed activity reward 0.5759459551754067", () => {
  const scorer = new Scorer({ uids: 1, books: 4 });
  const series = [[0, 1, 3, 4], [10, 8, 9, 5], [0, 1, 2, 3], [0, 5, 10, 7]];
  for (let i = 0; i < 3; i++) scorer.observe(observation((i + 1) * 5e9, series.map((s) => s[i])));
  scorer.miners[0].activity[2] = 0.5;
  scorer.miners[0].activity[3] = 1.5;
  const [reward] = scorer.observe(
    observation(20e9, series.map((s) => s[3]), [fill(0, 1000, 250), fill(1, 1000, 250)]),
  );
  const record = scorer.miners[0];
  assert.deepEqual(record.activity.slice(0, 2), [1.25, 1.25]);
  close(record.activity[2], 0.4995188794168917);
  close(record.activity[3], 1.4985566382506752);
  close(reward, 0.5759459551754067);
});

Deno.test("A1: a fill is booked in the bucket ending at the next 10-minute mark", () => {
  const scorer = new Scorer({ uids: 1, books: 1 });
  scorer.observe(observation(1_234_000_000_000, [0], [fill(0, 1.5, 300.25)]));
  const book = scorer.miners[0].volumes[0];
  assert.deepEqual([...book.total], [[1_800_000_000_000, 450.375]]);
  assert.deepEqual([...book.maker], [[1_800_000_000_000, 450.375]]);
  assert.deepEqual([...book.taker], [[1_800_000_000_000, 0]]);
});

Deno.test("roles: self-trades and taker fills go to their own buckets", () => {
  const scorer = new Scorer({ uids: 1, books: 1 });
  scorer.observe(observation(5e9, [0], [fill(0, 1, 100, 0, 0), fill(0, 2, 100, -3, 0)]));
  const book = scorer.miners[0].volumes[0];
  assert.equal(book.self.get(600e9), 100);
  assert.equal(book.taker.get(600e9), 200);
  assert.equal(book.total.get(600e9), 300);
});

Deno.test("A7: the activity window is the last hour of buckets", () => {
  const scorer = new Scorer({ uids: 1, books: 1 });
  scorer.miners[0].inventory.push({ timestamp: 7195e9, values: [0] });
  scorer.miners[0].volumes[0].total = new Map([[3600e9, 100_000], [4200e9, 200_000], [
    7200e9,
    50_000,
  ]]);
  scorer.observe(observation(7200e9, [0]));
  close(scorer.miners[0].activity[0], 1.35);
});

Deno.test("A8: buckets older than 24 h are pruned once the oldest falls out of the period", () => {
  const scorer = new Scorer({ uids: 1, books: 1 });
  const total = new Map([[3600e9, 1], [4200e9, 2]]);
  scorer.miners[0].volumes[0].total = total;
  // At T = 90 000e9 the oldest key equals T − 24 h: the reference's strict test keeps it.
  scorer.observe(observation(90_000e9, [0]));
  assert.ok(scorer.miners[0].volumes[0].total.has(3600e9));
  // One publish later it is older than the period and only later buckets remain.
  scorer.observe(observation(90_005e9, [0]));
  assert.deepEqual([...scorer.miners[0].volumes[0].total.keys()], [4200e9, 90_000e9, 90_600e9]);
});

Deno.test("A9: at the 24 h volume cap placements are dropped, cancels pass", () => {
  const scorer = new Scorer({ uids: 1, books: 2 });
  scorer.miners[0].volumes[0].total = new Map([[600e9, 600_000], [1200e9, 400_000]]);
  assert.deepEqual(scorer.volumeTraded(0), [1_000_000, 0]);
  const result = validateInstructions({
    agent_id: 0,
    instructions: [
      {
        type: "PLACE_ORDER_LIMIT",
        agentId: 0,
        bookId: 0,
        direction: 0,
        quantity: 1,
        price: 300,
        clientOrderId: null,
      },
      {
        type: "CANCEL_ORDERS",
        agentId: 0,
        bookId: 0,
        cancellations: [{ orderId: 4, volume: null }],
      },
      {
        type: "PLACE_ORDER_MARKET",
        agentId: 0,
        bookId: 1,
        direction: 1,
        quantity: 1,
        clientOrderId: 7,
      },
    ],
  }, { uid: 0, bookCount: 2, volumes: scorer.volumeTraded(0), volumeCap: scorer.volumeCap });
  assert.deepEqual(result.accepted.map((i) => i.type), ["CANCEL_ORDERS", "PLACE_ORDER_MARKET"]);
  assert.equal(result.rejected[0].index, 0);
  assert.match(result.rejected[0].reason, /volume cap/);
});

Deno.test("the Sharpe window keeps the last 720 observations", () => {
  const scorer = new Scorer({ uids: 1, books: 1 });
  for (let i = 0; i < 730; i++) scorer.observe(observation((i + 1) * 5e9, [i % 2 === 0 ? i : -i]));
  assert.equal(scorer.miners[0].inventory.length, 720);
  assert.equal(scorer.miners[0].inventory[0].timestamp, 11 * 5e9);
});

Deno.test("a miner without an account is valued 0 on every book; reset clears a uid", () => {
  const scorer = new Scorer({ uids: 2, books: 2 });
  scorer.observe(observation(5e9, [3, 4]));
  scorer.observe(observation(10e9, [5, 9], [fill(0, 1, 100), fill(1, 1, 100)]));
  assert.deepEqual(scorer.miners[1].inventory.map((e) => e.values), [[0, 0], [0, 0]]);
  // One change per book has std 0 (N = 0.5), and 100 traded against the 1 000 000 cap gives
  // af = 1.0001, so each book scores (2 − af)·N and the first reward-bearing step is the EMA of it.
  assert.equal(scorer.miners[0].score, emaScore(0, (2 - (1 + 100 / 1_000_000)) * 0.5, 0.1));
  assert.equal(scorer.miners[1].score, 0);
  scorer.reset(0);
  assert.equal(scorer.miners[0].score, 0);
  assert.equal(scorer.miners[0].inventory.length, 0);
});

Deno.test("the reported Sharpe aggregates are the mean and median over books, and normalised", () => {
  // Per-book Sharpe 3√2, 3√2 and −3√2; the per-state sums 0, 2, 3 change as book 1 does.
  const scorer = new Scorer({ uids: 1, books: 3 });
  const series = [[0, 1, 3], [0, 2, 3], [0, -1, -3]];
  for (let i = 0; i < 3; i++) scorer.observe(observation((i + 1) * 5e9, series.map((s) => s[i])));
  const books = series.map((s) => sharpeRatio(valueChanges([5e9, 10e9, 15e9], s)));
  const sharpe = scorer.miners[0].sharpe;
  assert.deepEqual(sharpe.books, books);
  const average = (books[0] + books[1] + books[2]) / 3;
  assert.equal(sharpe.average, average);
  assert.equal(sharpe.median, books[0]);
  assert.equal(sharpe.total, books[1]);
  assert.equal(sharpe.normalizedAverage, (average + 10) / 20);
  assert.equal(sharpe.normalizedMedian, (books[0] + 10) / 20);
  assert.equal(sharpe.normalizedTotal, (books[1] + 10) / 20);
});

Deno.test("a miner whose reward cannot be computed keeps its score as its reward; others are scored", () => {
  const scorer = new Scorer({ uids: 2, books: 1 });
  scorer.miners.forEach((m) => (m.score = 0.4));
  const state = (timestamp: number, broken: boolean): ScoringObservation => ({
    timestamp,
    quotes: [quote],
    holdings: new Map([
      [0, [{ base: 0, quote: W + timestamp / 5e9 }]],
      // A holdings entry that is not an object: reading its balances throws.
      [1, broken ? [null as unknown as { base: number; quote: number }] : [{ base: 0, quote: W }]],
    ]),
    fills: new Map(),
  });
  scorer.observe(state(5e9, false));
  const first = emaScore(0.4, 0.4, 0.1); // one observation each: reward = score
  assert.deepEqual(scorer.scores(), [first, first]);
  // uid 0 is scored (one change, N = 0.5, never traded: af 0, reward 0); uid 1 keeps its score.
  assert.deepEqual(scorer.observe(state(10e9, true)), [0, first]);
  assert.deepEqual(scorer.scores(), [emaScore(first, 0, 0.1), emaScore(first, first, 0.1)]);
  assert.equal(scorer.miners[1].reward, first);
});

Deno.test("snapshot round trip and re-basing of volume buckets", () => {
  const scorer = new Scorer({ uids: 1, books: 1 });
  scorer.observe(observation(86_000e9, [0], [fill(0, 1, 100)]));
  scorer.observe(observation(86_005e9, [2], [fill(0, 1, 100)]));
  const copy = Scorer.fromJSON(JSON.parse(JSON.stringify(scorer.toJSON())), { uids: 1, books: 1 });
  assert.deepEqual(copy.toJSON(), scorer.toJSON());
  copy.rebase(86_400e9);
  assert.deepEqual([...copy.miners[0].volumes[0].total.keys()], [0]);
});

Deno.test("a scorer restored for fewer books keeps only those books' values in its window", () => {
  const twoBooks = new Scorer({ uids: 1, books: 2 });
  for (const [i, v] of [0, 1, 3].entries()) {
    twoBooks.observe(observation((i + 1) * 5e9, [v, 10 * v]));
  }
  const oneBook = Scorer.fromJSON(twoBooks.toJSON(), { uids: 1, books: 1 });
  assert.deepEqual(oneBook.miners[0].inventory.map((e) => e.values), [[0], [1], [3]]);
  oneBook.observe(observation(20e9, [4]));
  // Book 0's changes 1, 2, 1 and the total the same: book 1's values are gone with it.
  assert.deepEqual(oneBook.miners[0].sharpe.books, [sharpeRatio([1, 2, 1])]);
  assert.equal(oneBook.miners[0].sharpe.total, sharpeRatio([1, 2, 1]));
});

Deno.test("a book added at a new simulation is scored from the observations that hold it", () => {
  const oneBook = new Scorer({ uids: 1, books: 1 });
  for (const [i, v] of [0, 1, 3].entries()) oneBook.observe(observation((i + 1) * 5e9, [v]));
  close(oneBook.miners[0].sharpe.books[0], 4.242640687119286); // S2
  // The validator's scorer for a configuration with a second book, built from the saved one.
  const twoBooks = Scorer.fromJSON(oneBook.toJSON(), { uids: 1, books: 2 });
  assert.deepEqual(twoBooks.miners[0].inventory.map((e) => e.values), [[0], [1], [3]]);
  // The next simulation starts over at 5 s with the second book; the change across is skipped.
  twoBooks.observe(observation(5e9, [4, 7]));
  close(twoBooks.miners[0].sharpe.books[0], 4.242640687119286);
  assert.equal(twoBooks.miners[0].sharpe.books[1], 0, "one value: Sharpe 0");
  twoBooks.observe(observation(10e9, [6, 9]));
  twoBooks.observe(observation(15e9, [7, 12]));
  const sharpe = twoBooks.miners[0].sharpe;
  // Book 0's changes 1, 2, 2, 1 (3 → 4 skipped); book 1's 2, 3, none before it was added.
  assert.equal(sharpe.books[0], sharpeRatio([1, 2, 2, 1]));
  assert.equal(sharpe.books[1], sharpeRatio([2, 3]));
  close(sharpe.books[1], Math.sqrt(2) * 2.5 / 0.5);
  // The total is the change of the per-state sum over the books each state holds: 1, 2, 2+2, 1+3.
  assert.equal(sharpe.total, sharpeRatio([1, 2, 4, 4]));
});

Deno.test("a book no longer published keeps the Sharpe of the observations that hold it", () => {
  const scorer = new Scorer({ uids: 1, books: 2, config: { lookback: 5 } });
  for (const [i, values] of [[0, 0], [1, 1], [2, 3], [3], [4]].entries()) {
    scorer.observe(observation((i + 1) * 5e9, values));
  }
  // Book 1's values 0, 1, 3: changes 1, 2 (S2), not 1, 2, −3, 0.
  assert.equal(scorer.miners[0].sharpe.books[1], sharpeRatio([1, 2]));
  assert.equal(scorer.miners[0].sharpe.books[0], 0, "changes 1, 1, 1, 1: std 0");
  // The sums 0, 2, 5, 3, 4: the book left out counts 0 in the total, not its last value.
  assert.equal(scorer.miners[0].sharpe.total, sharpeRatio([2, 3, -2, 1]));
  // Once the window holds one observation of it, its Sharpe is 0.
  scorer.observe(observation(30e9, [5]));
  scorer.observe(observation(35e9, [6]));
  assert.deepEqual(scorer.miners[0].inventory.map((e) => e.values.length), [2, 1, 1, 1, 1]);
  assert.equal(scorer.miners[0].sharpe.books[1], 0);
});

Deno.test("a book in one observation only has Sharpe 0; a gap in a book joins its values", () => {
  const scorer = new Scorer({ uids: 1, books: 2 });
  scorer.observe(observation(5e9, [1]));
  scorer.observe(observation(10e9, [2]));
  scorer.observe(observation(15e9, [3, 10]));
  assert.equal(scorer.miners[0].sharpe.books[1], 0, "not the Sharpe of changes 0, 10");
  scorer.observe(observation(20e9, [4]));
  assert.equal(scorer.miners[0].sharpe.books[1], 0, "not the Sharpe of changes 0, 10, −10");
  // Held again: its change is taken from its last value, 10 → 13, within one simulation.
  scorer.observe(observation(25e9, [5, 13]));
  scorer.observe(observation(30e9, [6, 14]));
  assert.equal(scorer.miners[0].sharpe.books[1], sharpeRatio([3, 1]));
  // The sums 1, 2, 13, 4, 18, 20: a book's appearance within a simulation moves the total by its
  // whole value, as it leaves and comes back.
  assert.equal(scorer.miners[0].sharpe.total, sharpeRatio([1, 11, -9, 14, 2]));
  // A new simulation between two values of a book drops the change between them, also when the
  // value after it is at a later time than the one before.
  scorer.observe(observation(35e9, [7]));
  for (let t = 5; t <= 35; t += 5) scorer.observe(observation(t * 1e9, [1]));
  scorer.observe(observation(40e9, [2, 20]));
  assert.equal(scorer.miners[0].sharpe.books[1], sharpeRatio([3, 1]), "14 → 20 skipped");
});

Deno.test("re-basing shifts every bucket, also after a simulation shorter than half a bucket", () => {
  const scorer = new Scorer({ uids: 1, books: 1 });
  // A 5 s simulation: its fill is booked in the bucket keyed 600 s, past twice its length.
  scorer.observe(observation(5e9, [0], [fill(0, 1, 100)]));
  scorer.rebase(5e9);
  assert.deepEqual([...scorer.miners[0].volumes[0].total], [[595e9, 100]]);
});

Deno.test("uids a snapshot has beyond the scorer's are kept aside, re-based and reset, not dropped", () => {
  const scorer = new Scorer({ uids: 3, books: 1 });
  // Miners 1 and 2 hold only quote, 2 gaining and trading.
  const state = (timestamp: number, gain: number): ScoringObservation => ({
    timestamp,
    quotes: [quote],
    holdings: new Map([1, 2].map((uid) => [uid, [{ base: 0, quote: W + (uid - 1) * gain }]])),
    fills: new Map([[2, [fill(0, 1, 100, 2)]]]),
  });
  scorer.observe(state(86_000e9, 0));
  scorer.observe(state(86_005e9, 2));
  const saved = JSON.parse(JSON.stringify(scorer.toJSON()));
  // One change (N = 0.5) and 100 traded in each state, both in one bucket (af = 1.0002): reward
  // (2 − af)·N, one EMA step from 0.
  assert.equal(saved.miners[2].score, emaScore(0, (2 - (1 + 200 / 1_000_000)) * 0.5, 0.1));

  // A scorer for fewer uids keeps the others' records aside, saved, rather than dropping them.
  const fewer = Scorer.fromJSON(saved, { uids: 1, books: 1 });
  assert.equal(fewer.miners.length, 1);
  assert.equal(fewer.scores().length, 1, "no score for a uid without an account");
  assert.deepEqual(fewer.dormantScored, [2], "uid 1 did not trade: its score is 0");
  const withoutWindows = saved.miners.map((m: object) => ({ ...m, inventory: [] }));
  assert.deepEqual(fewer.toJSON().miners.slice(1), withoutWindows.slice(1));

  fewer.rebase(86_400e9);
  const again = Scorer.fromJSON(fewer.toJSON(), { uids: 3, books: 1 });
  assert.equal(again.miners[2].score, scorer.miners[2].score);
  assert.deepEqual([...again.miners[2].volumes[0].total.keys()], [0], "re-based while aside");

  fewer.reset(2);
  assert.deepEqual(fewer.dormantScored, []);
  assert.equal(Scorer.fromJSON(fewer.toJSON(), { uids: 3, books: 1 }).miners[2].score, 0);
});

Deno.test("the incremental Sharpe equals the formula over the window, across a new simulation", () => {
  const scorer = new Scorer({ uids: 1, books: 3 });
  let seed = 7;
  const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 10 - 5;
  const values = [0, 0, 0];
  for (let i = 0; i < 760; i++) {
    const timestamp = (i < 740 ? i + 1 : i - 739) * 5e9;
    values.forEach((v, b) => (values[b] = v + rand() + b * 0.3));
    scorer.observe(observation(timestamp, [...values]));
  }
  const record = scorer.miners[0];
  assert.equal(record.inventory.length, 720);
  const times = record.inventory.map((e) => e.timestamp);
  for (let b = 0; b < 3; b++) {
    const expected = sharpeRatio(valueChanges(times, record.inventory.map((e) => e.values[b])));
    close(record.sharpe.books[b], expected);
  }
  const totals = record.inventory.map((e) => e.values.reduce((a, v) => a + v, 0));
  close(record.sharpe.total, sharpeRatio(valueChanges(times, totals)));
  const copy = Scorer.fromJSON(JSON.parse(JSON.stringify(scorer.toJSON())), { uids: 1, books: 3 });
  scorer.observe(observation(105e9, [1, 2, 3]));
  copy.observe(observation(105e9, [1, 2, 3]));
  assert.deepEqual(copy.miners[0].sharpe, scorer.miners[0].sharpe);
});

Deno.test("a fill of no real value (NaN, infinite, zero, negative) books no volume", () => {
  const scorer = new Scorer({ uids: 1, books: 1 });
  scorer.observe(observation(5e9, [0], [fill(0, 10, 100)]));
  const bad = [fill(0, NaN, 100), fill(0, 1, Infinity), fill(0, -5, 100), fill(0, 0, 100)];
  const [reward] = scorer.observe(observation(10e9, [1], bad));
  assert.deepEqual([...scorer.miners[0].volumes[0].total], [[600e9, 1000]]);
  assert.deepEqual(scorer.volumeTraded(0), [1000]);
  assert.equal(scorer.miners[0].activity[0], 1.001);
  // One change (0 → 1) has zero spread: Sharpe 0, normalised 0.5, and with an activity factor of
  // 1.001 a neutral Sharpe is damped by 2 − 1.001, so the reward is exactly (2 − 1.001) × 0.5.
  assert.equal(reward, (2 - 1.001) * 0.5);
});

Deno.test("from a real publish each uid is credited its own fills only, uid 0 included", () => {
  // The reference's notice routing treated agent 0's events as broadcasts, crediting every
  // miner's volume with uid 0's trades (network spec §9 #2).
  const config = { ...smallPreset(), books: 1, duration: 10 * 60e9, remoteAgentCount: 2 };
  const engine = SimEngine.create({ config, seed: 3, threads: 1 });
  try {
    let publish = engine.advance();
    assert.ok(publish !== null);
    const scorer = new Scorer({ uids: 2, books: 1, config: { minerWealth: 0 } });
    scorer.observe(observationFromPublish(publish));
    const ask = publish.books[0].ask[0].price;
    const bid = publish.books[0].bid[0].price;
    // uid 0 takes from the background, then rests a sell inside the spread that uid 1 takes.
    engine.inject(0, [{ type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 2 }], 0);
    publish = engine.advance();
    assert.ok(publish !== null);
    const first = observationFromPublish(publish);
    assert.ok((first.fills.get(0) ?? []).length > 0);
    // Background agents have negative ids.
    assert.ok(first.fills.get(0)!.every((f) => f.takerAgentId === 0 && f.makerAgentId < 0));
    assert.equal(first.fills.get(1), undefined);
    scorer.observe(first);
    const bought = first.fills.get(0)!.reduce((sum, f) => sum + f.quantity * f.price, 0);
    close(scorer.volumeTraded(0)[0], bought);
    assert.deepEqual(scorer.volumeTraded(1), [0]);
    // Inventory value: total quote + mid × total base (wealth 0 here), mid from the same publish.
    const holdings = publish.accounts[0].holdings[0];
    const mid = (publish.books[0].bid[0].price + publish.books[0].ask[0].price) / 2;
    close(
      scorer.miners[0].inventory[1].values[0],
      holdings.quote.total + mid * holdings.base.total,
    );

    const price = Math.round((bid + ask) / 2 * 100) / 100;
    engine.inject(0, [{ type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 1, volume: 1, price }], 0);
    publish = engine.advance();
    assert.ok(publish !== null);
    scorer.observe(observationFromPublish(publish));
    engine.inject(1, [{ type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 1 }], 0);
    publish = engine.advance();
    assert.ok(publish !== null);
    const second = observationFromPublish(publish);
    const crossed = (second.fills.get(1) ?? []).filter((f) => f.makerAgentId === 0);
    assert.equal(crossed.length, 1, JSON.stringify(second.fills.get(1)));
    assert.equal(crossed[0].takerAgentId, 1);
    scorer.observe(second);
    const bucket = [...scorer.miners[0].volumes[0].maker].at(-1)!;
    close(bucket[1], crossed[0].quantity * crossed[0].price);
    assert.ok([...scorer.miners[1].volumes[0].taker].at(-1)![1] > 0);
    assert.ok([...scorer.miners[1].volumes[0].maker.values()].every((v) => v === 0));
  } finally {
    engine.close();
  }
});

Deno.test("the total Sharpe is taken over the changes of the per-state sum over books", () => {
  // Summed per state, the totals -3.21, -3.07, -2.93 change by the same amount to the last bit
  // (std 0, Sharpe 0); the sums of the per-book changes differ by one bit (Sharpe about 9·10^14).
  const scorer = new Scorer({ uids: 1, books: 2, config: { minerWealth: 0 } });
  const books = [[-3.31, 0.39, -4.8], [0.1, -3.46, 1.87]];
  [0, 1, 2].forEach((i) => {
    scorer.observe({
      timestamp: (i + 1) * 5e9,
      quotes: [quote, quote],
      holdings: new Map([[0, books.map((b) => ({ base: 0, quote: b[i] }))]]),
      fills: new Map(),
    });
  });
  const record = scorer.miners[0];
  const totals = record.inventory.map((e) => e.values.reduce((a, v) => a + v, 0));
  assert.equal(sharpeRatio(valueChanges([5e9, 10e9, 15e9], totals)), 0);
  assert.equal(record.sharpe.total, 0);
  assert.equal(record.sharpe.normalizedTotal, 0.5);
});

Deno.test("a new simulation whose first publish has the last one's time still drops the change across", () => {
  // A simulation abandoned after its first publish, and the next one publishing first at that
  // same simulated time: the change from the old account to the new one is no return. Were only
  // a time going back taken to mark a new simulation, it would be counted.
  const scorer = new Scorer({ uids: 1, books: 2 });
  for (const [timestamp, value] of [[600e9, 0], [1200e9, 0], [600e9, 0], [600e9, 4000]]) {
    scorer.observe(observation(timestamp, [value, value]));
  }
  assert.deepEqual(valueChanges([600e9, 1200e9, 600e9, 600e9], [0, 0, 0, 4000]), [0]);
  assert.deepEqual(scorer.miners[0].sharpe.books, [0, 0]);
  assert.equal(scorer.miners[0].sharpe.total, 0);

  // The same for a book that not every observation in the window holds.
  const added = new Scorer({ uids: 1, books: 2 });
  const publishes: [number, number[]][] = [
    [5e9, [0]],
    [10e9, [0, 0]],
    [15e9, [0, 1000]],
    [20e9, [0, 3000]],
    [20e9, [0, 1e4]],
  ];
  for (const [timestamp, values] of publishes) added.observe(observation(timestamp, values));
  assert.equal(added.miners[0].sharpe.books[1], sharpeRatio([1000, 2000]), "3000 → 10000 skipped");
});

Deno.test("a new simulation's publishes at times the window still holds are appended, not put in their place", () => {
  // A 20 s simulation, then a new one whose first two publishes have its first two times. Kept in
  // order, the only change left out is the one across the start of the new simulation: 10, 10,
  // 10 and -10. Keyed by time, the new values would replace the old ones where they stand
  // (100, 90, 20, 30) and the changes would mix the two simulations.
  const scorer = new Scorer({ uids: 1, books: 1 });
  for (
    const [timestamp, value] of [[5e9, 0], [10e9, 10], [15e9, 20], [20e9, 30], [5e9, 100], [
      10e9,
      90,
    ]]
  ) {
    scorer.observe(observation(timestamp, [value]));
  }
  const record = scorer.miners[0];
  assert.deepEqual(record.inventory.map((e) => e.timestamp), [5e9, 10e9, 15e9, 20e9, 5e9, 10e9]);
  assert.deepEqual(record.inventory.map((e) => e.values[0]), [0, 10, 20, 30, 100, 90]);
  close(record.sharpe.books[0], sharpeRatio([10, 10, 10, -10]));
  close(record.sharpe.books[0], (2 * 5) / Math.sqrt(75));
});
