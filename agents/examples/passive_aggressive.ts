/**
 * An online passive-aggressive regressor (PA-I, epsilon-insensitive loss) with running feature
 * standardisation: each `learn(x, y)` moves the weights just enough to bring the prediction
 * within `epsilon` of `y`, by at most `C` per step.
 *
 * ```ts
 * const model = new PassiveAggressiveRegressor(3);
 * model.learn([1, 0, 2], 0.01);
 * model.predict([1, 0, 2]);
 * ```
 * @module
 */

/** Options of the regressor. */
export interface PassiveAggressiveOptions {
  /** Aggressiveness cap on one update (PA-I). */
  C?: number;
  /** Errors up to this size cause no update. */
  epsilon?: number;
}

/** Online linear regressor with a bias term. */
export class PassiveAggressiveRegressor {
  readonly #weights: Float64Array;
  readonly #mean: Float64Array;
  readonly #m2: Float64Array;
  #seen = 0;
  readonly #C: number;
  readonly #epsilon: number;

  /** Creates an untrained model over `features` inputs (it predicts 0 until trained). */
  constructor(readonly features: number, options: PassiveAggressiveOptions = {}) {
    this.#weights = new Float64Array(features + 1);
    this.#mean = new Float64Array(features);
    this.#m2 = new Float64Array(features);
    this.#C = options.C ?? 0.01;
    this.#epsilon = options.epsilon ?? 0;
  }

  /** Samples learned so far. */
  get samples(): number {
    return this.#seen;
  }

  #scaled(x: readonly number[]): number[] {
    const out = new Array<number>(this.features + 1);
    for (let i = 0; i < this.features; i++) {
      const variance = this.#seen > 1 ? this.#m2[i] / (this.#seen - 1) : 0;
      const sd = Math.sqrt(variance);
      out[i] = sd > 0 ? (x[i] - this.#mean[i]) / sd : 0;
    }
    out[this.features] = 1;
    return out;
  }

  /** Prediction for one feature vector. */
  predict(x: readonly number[]): number {
    const z = this.#scaled(x);
    let y = 0;
    for (let i = 0; i < z.length; i++) y += this.#weights[i] * z[i];
    return y;
  }

  /** One online update with the observed target `y`. Non-finite input is ignored. */
  learn(x: readonly number[], y: number): void {
    if (!Number.isFinite(y) || x.some((v) => !Number.isFinite(v))) return;
    this.#seen++;
    for (let i = 0; i < this.features; i++) {
      const delta = x[i] - this.#mean[i];
      this.#mean[i] += delta / this.#seen;
      this.#m2[i] += delta * (x[i] - this.#mean[i]);
    }
    const z = this.#scaled(x);
    let prediction = 0;
    let norm = 0;
    for (let i = 0; i < z.length; i++) {
      prediction += this.#weights[i] * z[i];
      norm += z[i] * z[i];
    }
    const error = y - prediction;
    const loss = Math.abs(error) - this.#epsilon;
    if (loss <= 0 || norm === 0) return;
    const tau = Math.min(this.#C, loss / norm);
    for (let i = 0; i < z.length; i++) this.#weights[i] += Math.sign(error) * tau * z[i];
  }
}
