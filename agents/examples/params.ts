/**
 * Parameter schemas shared by the example agents (validated when an agent is loaded).
 * @module
 */
import { z } from "zod";

/** A positive, finite number parameter. */
export const positiveNumber = z.number({ error: "expected a number" }).positive().finite();

/** `min_quantity`/`max_quantity` with the reference defaults, and an optional RNG `seed`. */
export const quantityParams = {
  min_quantity: positiveNumber.default(0.1),
  max_quantity: positiveNumber.default(1.0),
  /** Seed of the agent's random choices (default: derived from the uid). */
  seed: z.number().int().nonnegative().optional(),
};

/** Checks that `min_quantity ≤ max_quantity`. */
export function quantityRangeOk(p: { min_quantity: number; max_quantity: number }): boolean {
  return p.min_quantity <= p.max_quantity;
}
