/**
 * `RandomTakerAgent`: every update sends one market order per book in a direction it redraws at
 * random every 100 simulated seconds. No balance checks. A baseline that pays the spread and
 * taker fees on every trade.
 *
 * Params: `min_quantity` (0.1), `max_quantity` (1.0), `seed`.
 * @module
 */
import { z } from "zod";
import { Agent, type AgentParams } from "../sdk/agent.ts";
import { type Instruction, STP_CANCEL_OLDEST, STP_DECREMENT_CANCEL } from "../sdk/instructions.ts";
import { AgentRandom } from "../sdk/random.ts";
import type { SimulationConfig, StateUpdate } from "../sdk/state.ts";
import { checkQuantityLot, quantityParams, quantityRange, quantityRangeOk } from "./params.ts";
import { nearestQuantity } from "./rounding.ts";

const paramsSchema = z.object(quantityParams).refine(quantityRangeOk, quantityRange);

/** How often the direction of each book is redrawn: 100 simulated seconds. */
const REDRAW_PERIOD = 100e9;

/** Random market orders. */
export class RandomTakerAgent extends Agent<z.infer<typeof paramsSchema>> {
  /** Parameter validation and defaults. */
  static paramsSchema = paramsSchema;
  readonly #rng: AgentRandom;
  readonly #direction = new Map<number, 0 | 1>();

  /** Creates the agent; see the module doc for params. */
  constructor(uid: number, params: AgentParams) {
    super(uid, paramsSchema.parse(params));
    this.#rng = new AgentRandom(this.params.seed ?? uid + 1);
  }

  /** Refuses a `min_quantity` below the market's lot. */
  override onStart(config: SimulationConfig | null): void {
    checkQuantityLot(this.params.min_quantity, config);
  }

  /** One market order per book. */
  onUpdate(state: StateUpdate): Instruction[] {
    const out: Instruction[] = [];
    for (const book of Object.values(state.books)) {
      if (!this.#direction.has(book.id) || state.timestamp % REDRAW_PERIOD === 0) {
        this.#direction.set(book.id, this.#rng.choice([0, 1] as const));
      }
      const quantity = nearestQuantity(
        this.#rng.uniform(this.params.min_quantity, this.params.max_quantity),
        this.config,
      );
      const stp = this.#rng.choice([STP_DECREMENT_CANCEL, STP_CANCEL_OLDEST] as const);
      out.push(this.marketOrder(book.id, this.#direction.get(book.id)!, quantity, { stp }));
    }
    return out;
  }
}
