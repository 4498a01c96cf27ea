/**
 * Off-grid prices and volumes as the reference's exchange reads them: it turns the float into a
 * decimal and truncates that to the tick or lot. A float that misses a grid point only by its
 * binary representation or a few operations' rounding (300.11999999999998 for 300.12) counts as
 * on it; anything further off is truncated toward zero.
 *
 * ```ts
 * gridUnits(300.12, 2);  // 30012
 * gridUnits(300.129, 2); // 30012
 * ```
 * @module
 */

/** Relative distance from a grid point within which a float counts as on it (~14 digits). */
const SNAP = 1e-14;

/** `value` in whole units of 10^-decimals, truncated toward zero. */
export function gridUnits(value: number, decimals: number): number {
  const scaled = Math.abs(value) * 10 ** decimals;
  const nearest = Math.round(scaled);
  const units = Math.abs(scaled - nearest) <= scaled * SNAP ? nearest : Math.floor(scaled);
  return Math.sign(value) * units;
}
