/**
 * Opt-in wall-clock accounting of the publish round by phase (the validator bench's `--phases`).
 * Phases are summed over rounds; work done inside concurrent calls (signing, decoding) is summed
 * per call, which is honest on the validator's single JS thread, where it runs one call at a time.
 *
 * ```ts
 * const phases = new PhaseTimes();
 * const t = performance.now();
 * build();
 * phases.add("state", t);
 * phases.totals; // Map { "state" => 1.2 }
 * ```
 * @module
 */

/** Summed milliseconds per named phase. */
export class PhaseTimes {
  readonly totals = new Map<string, number>();

  /** Adds the time since `since` (a `performance.now()` reading) to `phase`; returns now. */
  add(phase: string, since: number): number {
    const now = performance.now();
    this.totals.set(phase, (this.totals.get(phase) ?? 0) + now - since);
    return now;
  }

  /** Runs `work` and adds its duration to `phase`. */
  time<T>(phase: string, work: () => T): T {
    const started = performance.now();
    try {
      return work();
    } finally {
      this.add(phase, started);
    }
  }

  /** Forgets every total (after warm-up rounds). */
  clear(): void {
    this.totals.clear();
  }
}
