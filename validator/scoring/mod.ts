/**
 * Subnet 79 scoring, shared by the validator and offline backtests: formulas (`formulas.ts`) and
 * the per-miner running score book (`scorer.ts`). Scores become weights in the validator
 * (`normalizedWeights`) and the chain's weight processing (`chain/weights.ts`).
 *
 * ```ts
 * import { executionDelay, Scorer } from "./mod.ts";
 * executionDelay(0.5, 5); // 50_000_000 ns
 * ```
 * @module
 */
export * from "./formulas.ts";
export * from "./scorer.ts";
