/**
 * Keeps a misbehaving agent from flooding the miner's log: every validator's update may fail the
 * same way, several times a second. The first occurrence of a problem is logged; the same problem
 * again within a window is only counted, and the count comes with its next line after the window.
 * A problem is what the caller's key names (a kind of failure and its place, say), so that lines
 * whose text differs each time (a counter, a book id) are still one problem.
 *
 * ```ts
 * const repeats = new RepeatLimiter(60_000);
 * const line = repeats.pass("error in onUpdate", "agent X failed in onUpdate at state 5: update 7");
 * if (line !== null) log("warning", line);
 * ```
 * @module
 */

interface Seen {
  /** When the key was last logged. */
  loggedAt: number;
  /** Occurrences since then that were not logged. */
  repeats: number;
}

/** Problems kept at most; the oldest are forgotten first (an agent whose messages vary). */
const MAX_KEYS = 1000;

/** Decides which of a stream of repeated log lines to write. */
export class RepeatLimiter {
  readonly #seen = new Map<string, Seen>();

  constructor(
    /** A problem is logged at most once per this many ms. */
    readonly windowMs = 60_000,
    readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The line to log for an occurrence of the problem `key`: `message` itself, with the number of
   * unlogged occurrences when there were some (their messages may have differed: "more like it");
   * null while the window since it was last logged runs.
   */
  pass(key: string, message: string): string | null {
    const now = this.now();
    const seen = this.#seen.get(key);
    if (seen !== undefined && now - seen.loggedAt < this.windowMs) {
      seen.repeats++;
      return null;
    }
    this.#seen.delete(key);
    if (this.#seen.size >= MAX_KEYS) this.#seen.delete(this.#seen.keys().next().value!);
    this.#seen.set(key, { loggedAt: now, repeats: 0 });
    if (seen === undefined || seen.repeats === 0) return message;
    const seconds = Math.round((now - seen.loggedAt) / 1000);
    return `${message} (and ${seen.repeats} more like it in the ${seconds} s before, not logged)`;
  }
}
