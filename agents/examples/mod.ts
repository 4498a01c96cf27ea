/**
 * The example agents shipped with taos, by class name (what `--agent-name` selects when the
 * agents directory has no file of that name).
 * @module
 */
import type { AgentClass } from "../sdk/agent.ts";
import { MarketMakerAgent } from "./market_maker.ts";
import { OrderOptionAgent } from "./order_option.ts";
import { RandomMakerAgent } from "./random_maker.ts";
import { RandomTakerAgent } from "./random_taker.ts";
import { SelfTradingAgent } from "./self_trading.ts";
import { SimpleRegressorAgent } from "./simple_regressor.ts";

/** Bundled agent classes by name. */
export const exampleAgents: Record<string, AgentClass> = {
  MarketMakerAgent,
  OrderOptionAgent,
  RandomMakerAgent,
  RandomTakerAgent,
  SelfTradingAgent,
  SimpleRegressorAgent,
};
