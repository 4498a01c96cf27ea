/**
 * Rounding of the reference examples' random draws: to the nearest tick, lot or quote unit, as the
 * reference rounds them (Python's `round`). The SDK's `roundPrice`/`roundQuantity` truncate, as
 * the exchange does, which would keep a draw between the best bid and ask from ever reaching the
 * ask.
 * @module
 */
import { roundTo, type SimulationConfig } from "../sdk/state.ts";

/** `price` rounded to the nearest tick of `config`'s market. */
export function nearestPrice(price: number, config: SimulationConfig | null): number {
  return roundTo(price, config?.priceDecimals ?? 2);
}

/** `quantity` rounded to the nearest lot of `config`'s market. */
export function nearestQuantity(quantity: number, config: SimulationConfig | null): number {
  return roundTo(quantity, config?.volumeDecimals ?? 4);
}

/** An amount of quote rounded to the nearest unit of `config`'s market. */
export function nearestQuote(amount: number, config: SimulationConfig | null): number {
  return roundTo(amount, config?.quoteDecimals ?? 2);
}
