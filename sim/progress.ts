/**
 * Progress of a long simulation on stderr: a redrawn bar with simulated time, events/s and ETA
 * on a terminal; a plain line every 10 % when piped (so logs stay readable).
 * @module
 */
const encoder = new TextEncoder();

/** Formats simulated ns as `hh:mm:ss`. */
export function clock(ns: number): string {
  const total = Math.floor(ns / 1e9);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return [h, m, s].map((v) => String(v).padStart(2, "0")).join(":");
}

/** Formats a count with a k/M/G suffix. */
export function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

/** Progress reporter for a run of `total` simulated ns. */
export class Progress {
  readonly #total: number;
  readonly #tty: boolean;
  readonly #quiet: boolean;
  readonly #started = performance.now();
  #lastDraw = 0;
  #lastDecile = -1;

  constructor(total: number, options: { tty?: boolean; quiet?: boolean } = {}) {
    this.#total = total;
    this.#tty = options.tty ?? Deno.stderr.isTerminal();
    this.#quiet = options.quiet ?? false;
  }

  /** Reports `done` simulated ns and `events` processed so far. */
  update(done: number, events: number): void {
    if (this.#quiet) return;
    const now = performance.now();
    const fraction = Math.min(1, done / this.#total);
    const seconds = (now - this.#started) / 1000;
    const rate = seconds > 0 ? events / seconds : 0;
    const eta = fraction > 0 ? seconds * (1 - fraction) / fraction : NaN;
    const etaText = Number.isFinite(eta) ? clock(Math.round(eta) * 1e9) : "?";
    const stats = `${clock(done)}/${clock(this.#total)} simulated, ${compact(rate)} events/s`;
    if (this.#tty) {
      if (now - this.#lastDraw < 100 && fraction < 1) return;
      this.#lastDraw = now;
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      const line = `\r[${bar}] ${
        (fraction * 100).toFixed(0).padStart(3)
      }% ${stats}, ETA ${etaText}`;
      Deno.stderr.writeSync(encoder.encode(line + (fraction >= 1 ? "\n" : "\x1b[K")));
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile === this.#lastDecile) return;
    this.#lastDecile = decile;
    Deno.stderr.writeSync(encoder.encode(`${(fraction * 100).toFixed(0)}% ${stats}\n`));
  }
}
