/**
 * A small seeded random source for agents, so that a backtest with a fixed seed is repeatable.
 *
 * ```ts
 * const rng = new AgentRandom(42);
 * const quantity = rng.uniform(0.1, 1.0);
 * ```
 * @module
 */

/** Seeded uniform random numbers (SplitMix32 state update, 32-bit output). */
export class AgentRandom {
  #state: number;

  /** Creates a generator; equal seeds give equal sequences. */
  constructor(seed: number) {
    this.#state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  }

  /** Uniform in [low, high]. */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** One of the given values, each equally likely. */
  choice<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)];
  }
}
