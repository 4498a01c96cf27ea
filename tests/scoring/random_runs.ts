/**
 * Seeded random scoring runs for the property tests: a config with small windows (so every
 * boundary is crossed often) and the events the validator feeds a scorer, with edge cases mixed
 * in (constant, huge, tiny and non-finite values, invalid fills, accounts that come and go, uid
 * resets and new simulations).
 * @module
 */
import type { Fill, ScoringObservation } from "../../validator/scoring/scorer.ts";

/** mulberry32: a small seeded generator, so every failure reproduces from its case number. */
export function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The parameters of one random run (small windows, so every boundary is crossed often). */
export interface RunConfig {
  uids: number;
  books: number;
  lookback: number;
  publishInterval: number;
  volumeSamplingInterval: number;
  volumeAssessmentPeriod: number;
  capitalTurnoverCap: number;
  minerWealth: number;
  alpha: number;
  /** Sharpe clamp bounds: symmetric as deployed, or not (the formula is kept literally). */
  normalizationMin: number;
  normalizationMax: number;
}

type Kind = "normal" | "constant" | "huge" | "tiny" | "nonFinite" | "invalidFills";

/** A random run: its config and the events the validator would feed the scorer. */
export interface Run {
  config: RunConfig;
  events: (
    | { type: "observe"; observation: ScoringObservation }
    | { type: "reset"; uid: number }
    | { type: "rebase"; previousEnd: number }
  )[];
}

/**
 * A random run. With `varyBooks`, a run starts, and each new simulation continues, with a random
 * number of the config's books (1 … `books`), as a configuration change at a new simulation would.
 */
export function randomRun(seed: number, { varyBooks = false } = {}): Run {
  const random = generator(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]) => items[int(0, items.length - 1)];
  const kinds: Kind[] = [
    "normal",
    "normal",
    "constant",
    "huge",
    "tiny",
    "nonFinite",
    "invalidFills",
  ];
  const kind = pick(kinds);
  const publishInterval = int(1, 3);
  const config: RunConfig = {
    uids: int(1, 3),
    books: int(1, 4),
    lookback: int(2, 7),
    publishInterval,
    volumeSamplingInterval: int(2, 6),
    volumeAssessmentPeriod: int(4, 25),
    capitalTurnoverCap: int(1, 3),
    minerWealth: 100,
    alpha: pick([0.1, 0.1, 0.5, 1]),
    ...pick([
      { normalizationMin: -10, normalizationMax: 10 },
      { normalizationMin: -10, normalizationMax: 10 },
      { normalizationMin: -2, normalizationMax: 2 },
      { normalizationMin: -5, normalizationMax: 10 },
      { normalizationMin: -10, normalizationMax: 3 },
    ]),
  };
  const scale = kind === "huge" ? 1e300 : kind === "tiny" ? 1e-300 : 100;
  const value = (): number => {
    if (kind === "constant") return 7;
    if (kind === "nonFinite" && random() < 0.08) return pick([NaN, Infinity, -Infinity]);
    return (random() - 0.5) * scale;
  };
  const fillValue = (): number => {
    if (kind === "invalidFills" && random() < 0.3) return pick([NaN, Infinity, -Infinity, -3, 0]);
    return Math.round(random() * 4000) / 100;
  };
  const events: Run["events"] = [];
  let timestamp = 0;
  let books = varyBooks ? int(1, config.books) : config.books;
  const steps = int(0, 30);
  for (let step = 0; step < steps; step++) {
    const r = random();
    if (r < 0.05 && timestamp > 0) {
      events.push({ type: "rebase", previousEnd: timestamp });
      timestamp = int(0, 2) * publishInterval;
      if (varyBooks) books = int(1, config.books);
    } else if (r < 0.1) {
      events.push({ type: "reset", uid: int(0, config.uids - 1) });
    }
    timestamp += publishInterval;
    const quotes = Array.from({ length: books }, () => {
      const mid = 10 + random() * 5;
      return {
        bid: random() < 0.15 ? null : mid - 0.01,
        ask: random() < 0.15 ? null : mid + 0.01,
      };
    });
    const holdings = new Map<number, { base: number; quote: number }[]>();
    const fills = new Map<number, Fill[]>();
    for (let uid = 0; uid < config.uids; uid++) {
      // Accounts come and go: a uid without an account is valued 0 on every book.
      if (random() < 0.85) {
        holdings.set(
          uid,
          Array.from({ length: books }, () => ({
            base: kind === "constant" ? 0 : value() / 10,
            quote: config.minerWealth + value(),
          })),
        );
      }
      const count = random() < 0.5 ? 0 : int(1, 3);
      const list: Fill[] = [];
      for (let i = 0; i < count; i++) {
        const other = config.uids + 5;
        const [maker, taker] = pick([[uid, other], [other, uid], [uid, uid]]);
        list.push({
          // Now and then a book outside the simulation, which is skipped.
          bookId: random() < 0.05 ? books : int(0, books - 1),
          price: random() < 0.5 ? fillValue() : 1,
          quantity: fillValue(),
          makerAgentId: maker,
          takerAgentId: taker,
        });
      }
      if (list.length > 0 || random() < 0.5) fills.set(uid, list);
    }
    events.push({ type: "observe", observation: { timestamp, quotes, holdings, fills } });
  }
  return { config, events };
}
