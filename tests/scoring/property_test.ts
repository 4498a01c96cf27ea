/**
 * Seeded property tests: the production scorer against a deliberately plain re-computation of
 * the network spec's §4 (inventory value, Sharpe of value changes with changeovers dropped,
 * volume buckets and the activity factor, per-book weighting, median with the outlier penalty,
 * the float32 score EMA) and §4.9 (scores to normalised weights), over random runs with the edge
 * cases mixed in: constant values, one observation, empty history, huge and tiny values,
 * non-finite balances, invalid fills, accounts that come and go, uid resets and new simulations.
 */
import assert from "node:assert/strict";
import { roundHalfEven } from "../../validator/scoring/formulas.ts";
import { type Fill, Scorer, type ScoringObservation } from "../../validator/scoring/scorer.ts";
import { randomRun, type Run, type RunConfig } from "./random_runs.ts";
import { normalizedWeights } from "../../validator/validator.ts";

/** The spec's scoring, written out plainly: one record per uid, everything recomputed. */
class ModelScorer {
  readonly miners: {
    history: { timestamp: number; values: number[] }[];
    volume: Map<number, number>[];
    activity: number[];
    score: number;
  }[];

  constructor(readonly config: RunConfig) {
    this.miners = Array.from({ length: config.uids }, () => this.#empty());
  }

  #empty() {
    const books = this.config.books;
    return {
      history: [] as { timestamp: number; values: number[] }[],
      volume: Array.from({ length: books }, () => new Map<number, number>()),
      activity: new Array(books).fill(0),
      score: 0,
    };
  }

  reset(uid: number) {
    this.miners[uid] = this.#empty();
  }

  rebase(previousEnd: number) {
    for (const miner of this.miners) {
      miner.volume = miner.volume.map((m) => new Map([...m].map(([k, v]) => [k - previousEnd, v])));
    }
  }

  observe(obs: ScoringObservation): number[] {
    const rewards = this.miners.map((miner, uid) => this.#reward(miner, uid, obs));
    const f = Math.fround;
    const a = this.config.alpha;
    this.miners.forEach((miner, uid) => {
      const reward = Number.isNaN(rewards[uid]) ? 0 : rewards[uid];
      miner.score = f(f(f(a) * f(reward)) + f(f(1 - a) * f(miner.score)));
    });
    return rewards;
  }

  #reward(miner: ModelScorer["miners"][number], uid: number, obs: ScoringObservation): number {
    const c = this.config;
    const T = obs.timestamp;
    const S = Math.ceil(T / c.volumeSamplingInterval) * c.volumeSamplingInterval;
    for (let b = 0; b < c.books; b++) {
      let total = miner.volume[b];
      if (total.size > 0 && Math.min(...total.keys()) < T - c.volumeAssessmentPeriod) {
        total = new Map([...total].filter(([k]) => k > T - c.volumeAssessmentPeriod));
        miner.volume[b] = total;
      }
      if (!total.has(S)) total.set(S, 0);
    }
    for (const fill of obs.fills.get(uid) ?? []) {
      const v = fill.quantity * fill.price;
      // A fill of no real value (not a finite positive quote amount) books nothing.
      if (!(v > 0 && v < Infinity) || fill.bookId >= c.books) continue;
      const total = miner.volume[fill.bookId];
      total.set(S, roundHalfEven(total.get(S)! + v, 4));
    }
    const account = obs.holdings.get(uid);
    miner.history.push({
      timestamp: T,
      values: obs.quotes.map((q, b) => {
        if (account === undefined) return 0;
        const mid = q.bid !== null && q.ask !== null ? (q.ask + q.bid) / 2 : 0;
        return account[b].quote + mid * account[b].base - c.minerWealth;
      }),
    });
    miner.history = miner.history.slice(-c.lookback);
    if (miner.history.length <= 1) return miner.score;

    // A new simulation starts where the time does not move on.
    const starts = miner.history.map((e, i) =>
      i > 0 && e.timestamp <= miner.history[i - 1].timestamp
    );
    const cap = roundHalfEven(c.capitalTurnoverCap * c.minerWealth, 4);
    const weighted = Array.from({ length: c.books }, (_, b) => {
      // The book's values are those of the observations that hold it; a change between two of
      // them is dropped when a new simulation starts anywhere after the first, up to the second.
      const held = miner.history.flatMap((e, i) => (b < e.values.length ? [i] : []));
      const returns = held.slice(1).flatMap((i, k) => {
        const from = held[k];
        return starts.slice(from + 1, i + 1).some(Boolean)
          ? []
          : [miner.history[i].values[b] - miner.history[from].values[b]];
      });
      const n = returns.length;
      let sharpe = 0;
      if (n > 0) {
        const mean = returns.reduce((s, r) => s + r, 0) / n;
        const sigma = Math.sqrt(returns.reduce((s, r) => s + (r - mean) ** 2, 0) / n);
        sharpe = sigma !== 0 ? Math.sqrt(n) * (mean / sigma) : 0;
      }
      const [lo, hi] = [c.normalizationMin, c.normalizationMax];
      const normalized = (Math.max(Math.min(sharpe, hi), lo) + hi) / (hi - lo);
      const entries = [...miner.volume[b]];
      const recent = roundHalfEven(
        entries.filter(([k]) => k >= T - c.lookback * c.publishInterval).reduce(
          (s, [, v]) => s + v,
          0,
        ),
        4,
      );
      const latest = entries[entries.length - 1][1];
      miner.activity[b] = latest > 0
        ? Math.min(1 + recent / cap, 2)
        : miner.activity[b] * 2 ** (-1 / c.lookback);
      const af = miner.activity[b];
      return (af < 1 || normalized > 0.5 ? af : 2 - af) * normalized;
    });
    if (weighted.some(Number.isNaN)) return NaN;
    const sorted = [...weighted].sort((p, q) => p - q);
    const at = (p: number) => {
      const position = p / 100 * (sorted.length - 1);
      const lo = Math.floor(position);
      const t = position - lo;
      const hi = Math.ceil(position);
      // numpy's lerp: from the upper neighbour when t ≥ 0.5.
      return t >= 0.5
        ? sorted[hi] - (sorted[hi] - sorted[lo]) * (1 - t)
        : sorted[lo] + (sorted[hi] - sorted[lo]) * t;
    };
    const fence = at(25) - 1.5 * (at(75) - at(25));
    const outliers = sorted.filter((w) => w < fence);
    const penalty = outliers.length > 0 && outliers[0] < 0 ? outliers[0] : 0;
    const middle = sorted.length >> 1;
    const median = sorted.length % 2 === 1
      ? sorted[middle]
      : (sorted[middle - 1] + sorted[middle]) / 2;
    return median - Math.abs(penalty);
  }
}

/** Runs `run` through the production scorer and the model side by side, checking each step. */
function check(run: Run, seed: number) {
  const { config } = run;
  const scorer = new Scorer({ uids: config.uids, books: config.books, config });
  const model = new ModelScorer(config);
  const where = (what: string, step: number) => `case ${seed}, step ${step}: ${what}`;
  run.events.forEach((event, step) => {
    if (event.type === "reset") return (scorer.reset(event.uid), model.reset(event.uid));
    if (event.type === "rebase") {
      return (scorer.rebase(event.previousEnd), model.rebase(event.previousEnd));
    }
    const rewards = scorer.observe(event.observation);
    const expected = model.observe(event.observation);
    for (let uid = 0; uid < config.uids; uid++) {
      assert.ok(Object.is(rewards[uid], expected[uid]), where(`reward of uid ${uid}`, step));
      const record = scorer.miners[uid];
      assert.deepEqual(record.activity, model.miners[uid].activity, where("activity", step));
      assert.equal(record.score, model.miners[uid].score, where(`score of uid ${uid}`, step));
      assert.ok(Number.isFinite(record.score), where("score is finite", step));
      // With the deployed symmetric bounds N is in [0, 1] and rewards and scores in [0, 2].
      if (config.normalizationMin === -config.normalizationMax) {
        assert.ok(record.score >= 0 && record.score <= 2, where("score in [0, 2]", step));
        assert.ok(
          Number.isNaN(rewards[uid]) || (rewards[uid] >= 0 && rewards[uid] <= 2),
          where(`reward ${rewards[uid]} in [0, 2]`, step),
        );
      }
      assert.ok(record.activity.every((a) => a >= 0 && a <= 2), where("activity in [0, 2]", step));
      assert.ok(record.inventory.length <= config.lookback, where("window length", step));
    }
    const uids = Array.from({ length: config.uids }, (_, uid) => uid);
    const { weights } = normalizedWeights(uids, (uid) => scorer.scores()[uid]);
    // §4.9: shift so the smallest is 0 when any score is negative, then divide by the sum
    // (all zero: uniform, as the weight processing makes it).
    const lowest = Math.min(0, ...scorer.scores());
    const shifted = scorer.scores().map((s) => s - lowest);
    const sum = shifted.reduce((a, s) => a + s, 0);
    weights.forEach((w, uid) => {
      assert.ok(Number.isFinite(w) && w >= 0 && w <= 1, where(`weight ${w}`, step));
      const plain = sum > 0 ? shifted[uid] / sum : 1 / config.uids;
      assert.ok(Math.abs(w - plain) <= 1e-6, where(`weight ${w} vs ${plain}`, step));
    });
    const total = weights.reduce((a, w) => a + w, 0);
    assert.ok(Math.abs(total - 1) <= 1e-6, where(`weights sum to ${total}`, step));
  });
}

const CASES = 2000;

Deno.test(`scorer matches the spec's formulas over ${CASES} random runs`, () => {
  for (let seed = 1; seed <= CASES; seed++) check(randomRun(seed), seed);
});

Deno.test(`scorer matches the spec's formulas over ${CASES} runs whose book count changes`, () => {
  for (let seed = 1; seed <= CASES; seed++) check(randomRun(seed, { varyBooks: true }), seed);
});

Deno.test("edge runs: empty history, one sample, constant values, window boundaries", () => {
  const config: RunConfig = {
    uids: 2,
    books: 2,
    lookback: 3,
    publishInterval: 1,
    volumeSamplingInterval: 2,
    volumeAssessmentPeriod: 4,
    capitalTurnoverCap: 1,
    minerWealth: 100,
    alpha: 0.1,
    normalizationMin: -10,
    normalizationMax: 10,
  };
  const obs = (timestamp: number, v: number, fills: Fill[] = []): ScoringObservation => ({
    timestamp,
    quotes: [{ bid: 9.99, ask: 10.01 }, { bid: null, ask: 10 }],
    holdings: new Map([[0, [{ base: 1, quote: 100 + v }, { base: 5, quote: 100 + v }]]]),
    fills: new Map([[0, fills]]),
  });
  const trade: Fill = { bookId: 0, price: 10, quantity: 3, makerAgentId: 0, takerAgentId: 7 };
  // No event at all, then one sample, then a constant series longer than the window.
  check({ config, events: [] }, 0);
  check({ config, events: [{ type: "observe", observation: obs(1, 5, [trade]) }] }, 0);
  check({
    config,
    events: Array.from({ length: 9 }, (_, i) => ({
      type: "observe" as const,
      observation: obs(i + 1, 5, i % 4 === 0 ? [trade] : []),
    })),
  }, 0);
  const scorer = new Scorer({ uids: 2, books: 2, config });
  for (let i = 1; i <= 9; i++) scorer.observe(obs(i, 5));
  // Constant values: zero std, Sharpe 0, N 0.5 on every book.
  assert.deepEqual(scorer.miners[0].sharpe.books, [0, 0]);
  assert.equal(scorer.miners[0].inventory.length, 3);
});
