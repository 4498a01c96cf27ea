/**
 * Subnet 79 scoring, shared by the validator and offline backtests: formulas
 * (`formulas.ts`), the per-miner running score book (`scorer.ts`) and weight conversion
 * (`weights.ts`).
 *
 * ```ts
 * import { executionDelay, Scorer, weightsForEmit } from "./mod.ts";
 * executionDelay(0.5, 5); // 50_000_000 ns
 * ```
 * @module
 */
export * from "./formulas.ts";
export * from "./scorer.ts";
export * from "./weights.ts";
