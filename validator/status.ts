/**
 * What the live status page shows, kept up to date by the validator loop: the simulation clock,
 * a bounded price history per book and the miner leaderboard. The page (`status_page.ts`) polls
 * {@linkcode StatusBoard.json}.
 *
 * ```ts
 * const board = new StatusBoard();
 * board.record(publish, [{ uid: 0, score: 0.4, reward: 0.5, pnl: 12, answered: true }]);
 * board.json(); // {"simulation":0,...,"books":[{"bookId":0,"points":[[t,mid],...]}],"leaderboard":[...]}
 * ```
 * @module
 */
import type { PublishState } from "../sim/engine.ts";

/** One row of the leaderboard. */
export interface LeaderboardRow {
  uid: number;
  score: number;
  reward: number;
  pnl: number;
  /**
   * Whether the miner answered the last query in time with a valid response; null when this
   * process has not queried it yet (a leaderboard restored at a restart).
   */
  answered: boolean | null;
}

/** The JSON the status page renders. */
export interface StatusView {
  simulation: number;
  seed: number;
  /** Simulated ns of the latest publish; null before the simulation's first. */
  timestamp: number | null;
  step: number;
  books: { bookId: number; points: [number, number][] }[];
  leaderboard: LeaderboardRow[];
}

/** Points kept per book (a simulated day at 5 s is 17 280 publishes; we keep the recent part). */
const MAX_POINTS = 720;

/** Live status for the page; see the module doc. */
export class StatusBoard {
  #view: StatusView = {
    simulation: 0,
    seed: 0,
    timestamp: null,
    step: 0,
    books: [],
    leaderboard: [],
  };

  /** The view as JSON, kept until the view changes: every open page asks for it each second. */
  #json: string | null = null;

  /** A new simulation started: price histories restart. */
  startSimulation(index: number, seed: number): void {
    this.#view = { ...this.#view, simulation: index, seed, books: [], timestamp: null };
    this.#json = null;
  }

  /** Records one publish and the leaderboard after it. */
  record(publish: PublishState, step: number, rows: LeaderboardRow[]): void {
    this.recordPrices(publish);
    this.rank(step, rows);
  }

  /** Sets the step and the leaderboard: after each publish, and from the state a restart read. */
  rank(step: number, rows: LeaderboardRow[]): void {
    const view = this.#view;
    view.step = step;
    // A score that is not a number ranks last (a NaN would leave the order to the sort).
    const rank = (score: number) => Number.isNaN(score) ? -Infinity : score;
    view.leaderboard = [...rows].sort((a, b) => rank(b.score) - rank(a.score) || a.uid - b.uid);
    this.#json = null;
  }

  /**
   * Adds one publish's mid (or the one side's best price) to each book's history: every publish
   * of a simulation, including those a restart replays, so that its chart holds the last 720.
   */
  recordPrices(publish: PublishState): void {
    const view = this.#view;
    view.timestamp = publish.timestamp;
    for (const book of publish.books) {
      let entry = view.books.find((b) => b.bookId === book.bookId);
      if (entry === undefined) {
        entry = { bookId: book.bookId, points: [] };
        view.books.push(entry);
      }
      const bid = book.bid[0]?.price;
      const ask = book.ask[0]?.price;
      // 15 significant digits drop the binary noise of the halving (299.34000000000003).
      const price = bid !== undefined && ask !== undefined
        ? Number(((bid + ask) / 2).toPrecision(15))
        : bid ?? ask;
      if (price === undefined) continue;
      entry.points.push([publish.timestamp, price]);
      if (entry.points.length > MAX_POINTS) {
        entry.points.splice(0, entry.points.length - MAX_POINTS);
      }
    }
    this.#json = null;
  }

  /** The current view as the page's JSON (numbers that are not finite as null). */
  json(): string {
    return this.#json ??= JSON.stringify(this.#view);
  }
}
