/**
 * Stylized facts of a simulated market, measured on 1-minute mid-price log returns (or the
 * shortest whole number of steps past a minute, see {@linkcode returnInterval}): heavy tails
 * (excess kurtosis), no linear predictability (lag-1 return autocorrelation), volatility
 * clustering (autocorrelation of absolute returns), plus mean spread and traded volume.
 *
 * ```ts
 * const facts = new FactsCollector(2, 60e9);
 * facts.observe(0, 60e9, 300.1, 300.2, 0.01);
 * const summary = facts.summary();
 * ```
 * @module
 */

const MINUTE = 60e9;

/**
 * The interval of the facts' returns for a run stepping every `step` ns: a minute when steps end on
 * every minute, else the shortest whole number of steps that reaches a minute (63 s for 7 s steps,
 * 90 s for 90 s steps). Mids are read at step ends, so a minute the steps skip has none.
 */
export function returnInterval(step: number): number {
  return MINUTE % step === 0 ? MINUTE : Math.ceil(MINUTE / step) * step;
}

/** The fewest values a sample excess kurtosis is computed from. */
const MIN_KURTOSIS_VALUES = 4;

/** Sample excess kurtosis (0 for a normal distribution); NaN with too few values. */
function excessKurtosis(xs: number[]): number {
  const n = xs.length;
  if (n < MIN_KURTOSIS_VALUES) return NaN;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  let m2 = 0;
  let m4 = 0;
  for (const x of xs) {
    const d = (x - mean) ** 2;
    m2 += d;
    m4 += d * d;
  }
  m2 /= n;
  m4 /= n;
  return m2 > 0 ? m4 / (m2 * m2) - 3 : NaN;
}

/**
 * Sample autocorrelation at `lag`; NaN when undefined (too short or constant). A NaN in `xs` marks
 * a gap: it is left out, and so is every pair it belongs to.
 */
export function autocorrelation(xs: number[], lag: number): number {
  const present = xs.filter((x) => !Number.isNaN(x));
  const n = present.length;
  if (lag < 1 || n <= lag + 1) return NaN;
  const mean = present.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    if (Number.isNaN(xs[i])) continue;
    const d = xs[i] - mean;
    den += d * d;
    if (i >= lag && !Number.isNaN(xs[i - lag])) num += d * (xs[i - lag] - mean);
  }
  return den > 0 ? num / den : NaN;
}

/** The double nearest `units` x 10^-`decimals`: a decimal literal is read with one rounding. */
function scaledDown(units: bigint, decimals: number): number {
  return Number(`${units}e-${decimals}`);
}

/** The measured facts (NaN becomes null in JSON). */
export interface StylizedFacts {
  /** Number of returns used (all books). */
  returns: number;
  /** Seconds each return spans (60 unless the step does not divide a minute). */
  returnIntervalSeconds: number;
  excessKurtosis: number;
  returnAutocorrLag1: number;
  absReturnAutocorr: { lag1: number; lag5: number; lag10: number };
  /** Mean bid-ask spread in ticks over every step with both sides present. */
  meanSpreadTicks: number;
  /** Traded volume in base units, all books. */
  volume: number;
  /** Traded notional in quote units, all books. */
  notional: number;
  trades: number;
  /** Mean over books and sampled interval marks of |ln(mid / fundamental)|. */
  meanAbsDeviationFromFundamental: number;
  /** Lowest mid price seen (all books), at one decimal more than the prices. */
  minMid: number;
}

/**
 * Accumulates per-book observations at each step and computes {@linkcode StylizedFacts}.
 * Autocorrelations are computed per book and averaged (books are independent realizations);
 * kurtosis uses the pooled returns, each book's returns standardized first (a book with fewer
 * than four returns adds none).
 */
export class FactsCollector {
  readonly #interval: number;
  /** Per book, the sampled mids with the index of their interval mark. */
  readonly #mids: { mark: number; mid: number }[][];
  readonly #deviation: number[] = [];
  #spreadSum = 0;
  #spreadCount = 0;
  /** Traded lots, and ticks x lots, summed as whole numbers: exact, where a running sum of
   * decimal volumes drifts in its last digits (and a double's, past 2^53 units: one trade of 12
   * base at 300 is 3.6e14 ticks x lots at 3 price and 8 volume decimals, so a few dozen pass it). */
  #lots = 0n;
  #tickLots = 0n;
  #trades = 0;
  /** The lowest bid + ask seen, in ticks: a whole number, where their mean as doubles carries
   * float noise (299.21500000000003 for 299.21 and 299.22). */
  #minTicksSum = Infinity;
  readonly #decimals: { price: number; volume: number };
  /** 10 ^ the price decimals: a price times it is a whole number of ticks. */
  readonly #priceScale: number;

  /** `interval`: sampling interval of the returns in ns (1 minute by default); `decimals`: the
   * price and volume decimals of the prices {@linkcode FactsCollector.observe} and the ticks and
   * lots {@linkcode FactsCollector.trade} are given. */
  constructor(books: number, interval = MINUTE, decimals = { price: 0, volume: 0 }) {
    this.#interval = interval;
    this.#mids = Array.from({ length: books }, () => []);
    this.#decimals = decimals;
    this.#priceScale = 10 ** decimals.price;
  }

  /** Records a book's top of book at the end of a step (NaN bid/ask when a side is empty). */
  observe(
    book: number,
    timestamp: number,
    bid: number,
    ask: number,
    tick: number,
    fundamental = NaN,
  ) {
    if (!(bid > 0 && ask > 0)) return;
    const mid = (bid + ask) / 2;
    this.#spreadSum += (ask - bid) / tick;
    this.#spreadCount++;
    const ticksSum = Math.round(bid * this.#priceScale) + Math.round(ask * this.#priceScale);
    if (ticksSum < this.#minTicksSum) this.#minTicksSum = ticksSum;
    if (timestamp % this.#interval === 0) {
      this.#mids[book].push({ mark: timestamp / this.#interval, mid });
      if (fundamental > 0) this.#deviation.push(Math.abs(Math.log(mid / fundamental)));
    }
  }

  /** Adds one trade of `lots` at `ticks`. */
  trade(ticks: bigint, lots: bigint): void {
    this.#lots += lots;
    this.#tickLots += ticks * lots;
    this.#trades++;
  }

  /** The facts measured so far. */
  summary(): StylizedFacts {
    // A mark with a one-sided book has no mid: each interval return touching it is a gap (NaN),
    // so that lags stay in time and no return spans several intervals.
    const perBook = this.#mids.map((mids) => {
      const r: number[] = [];
      for (let i = 1; i < mids.length; i++) {
        const [before, after] = [mids[i - 1], mids[i]];
        const span = after.mark - before.mark;
        if (span === 1) r.push(Math.log(after.mid / before.mid));
        else for (let k = 0; k < span; k++) r.push(NaN);
      }
      return r;
    });
    const pooled: number[] = [];
    for (const series of perBook) {
      const r = series.filter((x) => !Number.isNaN(x));
      const n = r.length;
      // Fewer than the kurtosis itself needs: standardized, two returns are ±1 whatever they
      // were, and would pool into -2.
      if (n < MIN_KURTOSIS_VALUES) continue;
      const mean = r.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
      if (sd > 0) { for (const x of r) pooled.push((x - mean) / sd); }
    }
    const average = (f: (r: number[]) => number) => {
      const values = perBook.map(f).filter((v) => Number.isFinite(v));
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
    };
    const abs = (lag: number) => average((r) => autocorrelation(r.map(Math.abs), lag));
    return {
      returnIntervalSeconds: this.#interval / 1e9,
      returns: perBook.reduce((a, r) => a + r.filter((x) => !Number.isNaN(x)).length, 0),
      excessKurtosis: excessKurtosis(pooled),
      returnAutocorrLag1: average((r) => autocorrelation(r, 1)),
      absReturnAutocorr: { lag1: abs(1), lag5: abs(5), lag10: abs(10) },
      meanSpreadTicks: this.#spreadCount ? this.#spreadSum / this.#spreadCount : NaN,
      // One rounding of the exact sum: 5001.393, not the 5001.393000000001 of a running sum.
      volume: scaledDown(this.#lots, this.#decimals.volume),
      notional: scaledDown(this.#tickLots, this.#decimals.price + this.#decimals.volume),
      trades: this.#trades,
      meanAbsDeviationFromFundamental: this.#deviation.length
        ? this.#deviation.reduce((a, b) => a + b, 0) / this.#deviation.length
        : NaN,
      // Half a sum of ticks has one decimal more than a price; one division of the whole
      // number by a power of ten gives the double nearest that decimal.
      minMid: Number.isFinite(this.#minTicksSum)
        ? this.#minTicksSum * 5 / 10 ** (this.#decimals.price + 1)
        : NaN,
    };
  }
}
