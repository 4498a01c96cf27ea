/**
 * Progress of a long simulation on stderr: a redrawn bar with simulated time, messages/s and ETA
 * on a terminal, nothing when piped. Asked for anyway (`--progress`, for logs), it writes a plain
 * line every 10 % where there is no terminal to redraw on.
 * @module
 */
import { UsageError } from "../cli/command.ts";

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

/**
 * When progress shows: `auto` on a terminal only, `always` also when piped (plain lines),
 * `never` not at all.
 */
export type ProgressMode = "auto" | "always" | "never";

/** The mode the `--quiet` and `--progress` flags choose; both together are a usage error. */
export function progressMode(flags: { quiet?: unknown; progress?: unknown }): ProgressMode {
  const quiet = flags.quiet === true, progress = flags.progress === true;
  if (quiet && progress) {
    throw new UsageError("--progress: contradicts --quiet; give one of them");
  }
  return quiet ? "never" : progress ? "always" : "auto";
}

/** Progress reporter for a run of `total` simulated ns. */
export class Progress {
  readonly #total: number;
  readonly #tty: boolean;
  readonly #silent: boolean;
  readonly #write: (text: string) => void;
  readonly #columns: () => number;
  readonly #started = performance.now();
  /** When the bar was last drawn; the first update always draws (performance.now() counts from
   * the process start, so a run starting within 100 ms of it skipped its first frame). */
  #lastDraw = -Infinity;
  #lastDecile = -1;
  /** Set once the reader went away: nothing more is written, not even a note. */
  #gone = false;
  /** A terminal that knows no escape codes (`TERM=dumb`, as Emacs's shell sets): a redraw covers
   * the last line drawn with spaces instead of erasing it. */
  readonly #dumb: boolean;
  /** The length of the bar on the terminal's current line; 0 once a newline ended it. */
  #drawn = 0;

  /** `tty`, `write` and `columns` (the terminal's width) default to stderr's, `terminal` to
   * `TERM` (tests pass their own). */
  constructor(
    total: number,
    options: {
      tty?: boolean;
      mode?: ProgressMode;
      write?: (text: string) => void;
      columns?: () => number;
      terminal?: string;
    } = {},
  ) {
    this.#total = total;
    this.#tty = options.tty ?? Deno.stderr.isTerminal();
    const write = options.write ?? ((text) => Deno.stderr.writeSync(encoder.encode(text)));
    // A reader that went away (`2>&1 | head -1`, a log shipper that died) ends the progress, not
    // the run: the run's files and summary are what it is for.
    this.#write = (text) => {
      try {
        write(text);
      } catch (error) {
        if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
        this.#gone = true;
      }
    };
    this.#columns = options.columns ?? terminalColumns;
    this.#dumb = (options.terminal ?? Deno.env.get("TERM")) === "dumb";
    const mode = options.mode ?? "auto";
    this.#silent = mode === "never" || (mode === "auto" && !this.#tty);
  }

  /** Prints a line of its own (a warning) even when quiet; on a terminal the bar is redrawn
   * below it at the next update. */
  note(text: string): void {
    if (this.#gone) return;
    const line = this.#dumb ? text.padEnd(this.#drawn) : `\x1b[K${text}`;
    this.#write(this.#tty ? `\r${line}\n` : `${text}\n`);
    this.#drawn = 0;
    this.#lastDraw = -Infinity;
  }

  /** Reports `done` simulated ns and `events` processed so far. */
  update(done: number, events: number): void {
    if (this.#silent || this.#gone) return;
    const now = performance.now();
    const fraction = Math.min(1, done / this.#total);
    const seconds = (now - this.#started) / 1000;
    const rate = seconds > 0 ? events / seconds : 0;
    const eta = fraction > 0 ? seconds * (1 - fraction) / fraction : NaN;
    const etaText = Number.isFinite(eta) ? clock(Math.round(eta) * 1e9) : "?";
    const stats = `${clock(done)}/${clock(this.#total)} simulated, ${compact(rate)} messages/s`;
    if (this.#tty) {
      if (now - this.#lastDraw < 100 && fraction < 1) return;
      this.#lastDraw = now;
      const rest = `] ${(fraction * 100).toFixed(0).padStart(3)}% ${stats}, ETA ${etaText}`;
      // One line shorter than the terminal: a line that wraps is redrawn on its last row only,
      // leaving the rows above behind at every redraw. The bar gives way first, then the text.
      const room = this.#columns() - 1;
      const width = Math.max(0, Math.min(30, room - 1 - rest.length));
      const filled = Math.round(fraction * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      const line = `[${bar}${rest}`.slice(0, Math.max(0, room));
      const end = fraction >= 1 ? "\n" : this.#dumb ? "" : "\x1b[K";
      this.#write(`\r${this.#dumb ? line.padEnd(this.#drawn) : line}${end}`);
      this.#drawn = fraction >= 1 ? 0 : line.length;
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile === this.#lastDecile) return;
    this.#lastDecile = decile;
    // The decile itself, so the lines read 0 %, 10 %, ... 100 % whatever the step size.
    this.#write(`${decile * 10}% ${stats}\n`);
  }
}

/** The width of the terminal on stderr, 80 when it cannot be read. */
function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}
