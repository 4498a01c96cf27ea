/**
 * The trading-agent kit in one import: the agent base class and lifecycle, the state update and
 * instruction types with the validator's checks, book readers, the loader, and offline
 * backtests.
 *
 * ```ts
 * import { Agent, backtest, type StateUpdate } from "./agents/mod.ts";
 *
 * class JoinTheBid extends Agent {
 *   onUpdate(state: StateUpdate) {
 *     const bid = this.bestBid(state.books[0]);
 *     return bid === null ? [] : [this.limitOrder(0, 0, 0.5, bid, { postOnly: true })];
 *   }
 * }
 * const report = await backtest({ agent: JoinTheBid, seed: 1, duration: 600e9 });
 * ```
 * @module
 */
export * from "./sdk/agent.ts";
export * from "./sdk/book.ts";
export * from "./sdk/instructions.ts";
export * from "./sdk/loader.ts";
export * from "./sdk/random.ts";
export * from "./sdk/state.ts";
export {
  backtest,
  type BacktestOptions,
  type BacktestReport,
  formatBacktestReport,
} from "./backtest.ts";
export { renderReport } from "./report.ts";
