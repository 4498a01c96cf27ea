/**
 * Parameter schemas shared by the example agents (validated when an agent is loaded).
 * @module
 */
import { z } from "zod";
import type { SimulationConfig } from "../sdk/state.ts";

/**
 * A positive, finite number parameter. Without messages of its own: the loader's name what it takes
 * and the value given (`must be > 0, got -1`).
 */
export const positiveNumber = z.number().positive();

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

/** The refusal of a `min_quantity` above `max_quantity`, showing both: a `refine`'s options. */
export const quantityRange = {
  error: (issue: { input?: unknown }) => {
    const p = issue.input as { min_quantity: number; max_quantity: number };
    return `must not exceed max_quantity (${p.max_quantity}), got ${p.min_quantity}`;
  },
  path: ["min_quantity"],
};

/**
 * Refuses, at the start of a simulation, a `min_quantity` below one lot of its market: an order
 * drawn that small rounds to nothing (or is refused by the exchange), update after update, where
 * this names the parameter once per start.
 */
export function checkQuantityLot(minQuantity: number, config: SimulationConfig | null): void {
  const decimals = config?.volumeDecimals ?? 4;
  const lot = 10 ** -decimals;
  if (minQuantity < lot) {
    throw new RangeError(
      `agent parameter 'min_quantity': ${minQuantity} is less than one lot of this market ` +
        `(${lot.toFixed(decimals)} at volumeDecimals ${decimals})`,
    );
  }
}
