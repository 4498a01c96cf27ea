/**
 * Research outputs of `taos sim` as CSV files in one directory (schema in the README): per book the
 * L3 events, the trades and the L2 book at every step, plus the remote accounts' balances.
 * Numbers are printed from the engine's integer units, so files are byte-identical for a seed.
 *
 * ```ts
 * const out = new SimOutputs("out/run", engine, 5);
 * out.writeStep(engine.step()!.timestamp);
 * out.close();
 * ```
 * @module
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { basename, join } from "node:path";
import { UsageError } from "../cli/command.ts";
import { BALANCE_VALUES, type RecordedStep, type SimEngine } from "./engine.ts";
import {
  EVENT_FLAG_DROPPED,
  EVENT_FLAG_MARKET,
  EVENT_FLAG_QUOTE,
  EventKind,
  NONE,
  type RawEvent,
  rejectReason,
} from "./native_sim.ts";

const encoder = new TextEncoder();

/** A write the system refused (a full disk, a file-size limit), naming the file; `code` is the
 * system's, for the caller's report. */
class WriteFailure extends Error {
  readonly code?: string;

  constructor(readonly path: string, error: Error) {
    super(`cannot write ${path}: ${error.message}`, { cause: error });
    this.code = (error as { code?: string }).code;
  }

  /** What the system said. */
  get reason(): string {
    return (this.cause as Error).message;
  }
}

/** A CSV file written through a large buffer: lines are encoded straight into it. */
class CsvFile {
  static readonly #SIZE = 1 << 20;
  readonly #fd: number;
  readonly #path: string;
  readonly #buffer = new Uint8Array(CsvFile.#SIZE);
  readonly #failures: WriteFailure[];
  #used = 0;
  #failed = false;

  /** Opens `path` and writes `header`; a write that fails is also added to `failures`. */
  constructor(path: string, header: string, failures: WriteFailure[]) {
    this.#path = path;
    this.#failures = failures;
    try {
      this.#fd = openSync(path, "w");
    } catch (error) {
      throw pathError("open", path, error);
    }
    this.line(header);
  }

  line(text: string): void {
    // A UTF-16 unit takes at most 3 bytes in UTF-8; the newline 1.
    if (this.#used + 3 * text.length + 1 > CsvFile.#SIZE) this.flush();
    if (3 * text.length + 1 > CsvFile.#SIZE) {
      this.#write(encoder.encode(text + "\n"));
      return;
    }
    this.#used += encoder.encodeInto(text, this.#buffer.subarray(this.#used)).written;
    this.#buffer[this.#used++] = 0x0A;
  }

  flush(): void {
    this.#write(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }

  #write(bytes: Uint8Array): void {
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(this.#fd, bytes, written);
    } catch (error) {
      // A full disk or a file-size limit: name the file, keep the code for the caller's report.
      this.#failed = true;
      const failure = new WriteFailure(this.#path, error as Error);
      this.#failures.push(failure);
      throw failure;
    }
  }

  close(): void {
    try {
      if (!this.#failed) this.flush();
    } finally {
      closeSync(this.#fd);
    }
  }

  /** Closes and removes the file, for a run that never started. */
  discard(): void {
    closeSync(this.#fd);
    rmSync(this.#path, { force: true });
  }
}

/** The files a simulation run writes to its output directory (and a JSON file being written). */
const RUN_FILE =
  /^(?:(?:events|trades|l2)-(?:0|[1-9]\d*)\.csv|balances\.csv|(?:summary|config)\.json(?:\.partial)?)$/;

/** Error codes by which the system refuses a write: a full disk, a quota, a file-size limit, a
 * read-only file system, a failing device. Not the path's fault, so not a usage error. */
const REFUSED_WRITE = new Set(["ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EIO"]);

/** What went wrong, without Node's code and syscall: `EROFS: read-only file system, rm '/x'` is
 * `read-only file system`; Deno's own messages (`File too large (os error 27)`) stay whole. */
function reason(error: unknown): string {
  const message = (error as Error).message;
  return /^E[A-Z]+: ([^,]+),/.exec(message)?.[1] ?? message;
}

/**
 * An error about `path`: one the system refused keeps its code (a run that cannot write ends with
 * exit 1, whatever the command); any other is a usage error (the path cannot hold a run).
 */
function pathError(what: string, path: string, error: unknown): Error {
  const code = (error as { code?: string }).code;
  const message = `cannot ${what} ${path}: ${reason(error)}`;
  if (code !== undefined && REFUSED_WRITE.has(code)) {
    return Object.assign(new Error(message, { cause: error }), { code });
  }
  return Object.assign(new UsageError(message), { code });
}

/** Files a run of `books` books keeps open from start to end: 3 per book and balances.csv. */
function runFilesOpen(books: number): number {
  return 3 * books + 1;
}

/** The refusal of a run whose files would pass the process's limit of open files. */
function tooManyFiles(error: unknown, books: number): UsageError {
  return new UsageError(
    `${(error as Error).message}; a run keeps ${runFilesOpen(books)} files open ` +
      "(3 per book and balances.csv): raise the limit (ulimit -n) or run fewer books",
  );
}

const isOutOfDescriptors = (error: unknown) => {
  const code = (error as { code?: string }).code;
  return code === "EMFILE" || code === "ENFILE";
};

/**
 * Makes `dir` (and its parents) ready to take a run's files; with `replaceRun`, files an earlier
 * run left there (names matching `runFiles`, by default a simulation's) are removed, so a run with
 * fewer books leaves no stale book files beside its own. A path that cannot hold the files is a
 * UsageError; a write the system refuses (a read-only file system) an Error with its code. Both
 * name the path. Everything that can refuse the run is checked before the first file is removed,
 * so a refused run leaves an earlier run's files as they were: that every old file can be removed
 * (none is a directory) and, given `books`, that the process may hold the run's files open at once.
 */
export function prepareOutputDir(
  dir: string,
  options: {
    replaceRun?: boolean;
    runFiles?: RegExp;
    books?: number;
    inputs?: Record<string, string>;
  } = {},
): void {
  if (dir.trim() === "") throw new UsageError("must name a directory");
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UsageError(`${dir} exists and is not a directory`);
  }
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw pathError("write to", dir, error);
  }
  if (!options.replaceRun) return;
  try {
    replaceRunFiles(dir, options.runFiles ?? RUN_FILE, options.books, options.inputs ?? {});
  } catch (error) {
    // A run refused here leaves no empty directory of its own making behind.
    if (created !== undefined) rmSync(created, { recursive: true });
    throw error;
  }
}

/**
 * Removes an earlier run's files (names matching `runFiles`) from `dir` once every check passed:
 * none is a directory or one of this run's `inputs`, and `books` can have their files open at once.
 */
function replaceRunFiles(
  dir: string,
  runFiles: RegExp,
  books: number | undefined,
  given: Record<string, string>,
) {
  const stale = readdirSync(dir).filter((name) => runFiles.test(name)).map((name) =>
    join(dir, name)
  );
  // An input read from the directory (`--config out/config.json`) would be replaced by the run.
  // Only a file can be replaced: a feed from a pipe (`/dev/stdin`, `<(...)`) has no real path.
  const inputs = Object.entries(given).filter(([, path]) =>
    existsSync(path) && statSync(path).isFile()
  )
    .map(([flag, path]) => [flag, realpathSync(path)]);
  for (const path of stale) {
    if (lstatSync(path).isDirectory()) {
      throw new UsageError(`cannot replace ${path}: it is a directory`);
    }
    // (A dangling link has no real path: it cannot be an input.)
    const real = existsSync(path) ? realpathSync(path) : null;
    const input = inputs.find(([, other]) => other === real);
    if (input !== undefined) {
      throw new UsageError(
        `${path} is the ${input[0]} file, which this run would replace; ` +
          "copy it elsewhere or choose another directory",
      );
    }
  }
  if (books !== undefined) holdDescriptors(dir, runFilesOpen(books), books);
  // The summary first: it marks a finished run, and a run cut off (or refused) part-way through
  // the removals must not leave it over an incomplete set of that run's files.
  const marker = (path: string) => basename(path) === "summary.json" ? 0 : 1;
  stale.sort((a, b) => marker(a) - marker(b));
  for (const path of stale) {
    try {
      rmSync(path, { force: true });
    } catch (error) {
      throw pathError("replace", path, error);
    }
  }
}

/** Opens `dir` `count` times and closes it again: a run out of descriptors is refused before it
 * changes anything. */
function holdDescriptors(dir: string, count: number, books: number): void {
  const held: number[] = [];
  try {
    while (held.length < count) held.push(openSync(dir, "r"));
  } catch (error) {
    const refused = pathError("open", dir, error);
    throw isOutOfDescriptors(error) ? tooManyFiles(refused, books) : refused;
  } finally {
    for (const fd of held) closeSync(fd);
  }
}

/**
 * Writes `text` to `path` whole or not at all: through `<path>.partial` and a rename, so a write
 * the system refuses never leaves a cut-off file under the final name.
 */
export function writeFileWhole(path: string, text: string): void {
  const partial = `${path}.partial`;
  try {
    writeFileSync(partial, text);
    renameSync(partial, path);
  } catch (error) {
    try {
      rmSync(partial, { force: true });
    } catch {
      // A directory that refuses the removal refused the file too; the error below says why.
    }
    throw pathError("write", path, error);
  }
}

/** {@linkcode writeFileWhole} of `value` as indented JSON. */
export function writeJsonFile(path: string, value: unknown): void {
  writeFileWhole(path, JSON.stringify(value, null, 2) + "\n");
}

/** Prints an integer amount of 10^-decimals units as an exact decimal. */
function fixed(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = decimals > 0 ? "." + digits.slice(digits.length - decimals) : "";
  return (negative ? "-" : "") + whole + fraction;
}

/**
 * A process value of `l2-<book>.csv` with 6 decimals, also from 1e21 on (where toFixed turns to
 * exponent notation; a double that large is a whole number). Infinity or NaN is refused rather than
 * written as if it were a price.
 */
function processCell(value: number, book: number, column: string, timestamp: string): string {
  if (!Number.isFinite(value)) {
    throw new UsageError(
      `cannot write l2-${book}.csv: the ${column} price of book ${book} at ${timestamp} ns is ` +
        `${value}; the process (processes.${column}) has left the range of a number`,
    );
  }
  return Math.abs(value) < 1e21 ? value.toFixed(6) : `${BigInt(value)}.000000`;
}

/** Where a step's L2 books and process values are read: the engine (its state now) or a step
 * recorded in a window. */
export type StepState = Pick<RecordedStep, "rawLevels" | "processValues">;

/** Every output file of one run. */
export class SimOutputs {
  readonly #engine: SimEngine;
  readonly #depth: number;
  readonly #events: CsvFile[] = [];
  readonly #trades: CsvFile[] = [];
  readonly #l2: CsvFile[] = [];
  readonly #balances: CsvFile;
  /** Per book, the remote balances last written (as 32-bit words: compared without BigInts). */
  readonly #lastBalances: (Int32Array | null)[] = [];
  /** Writes that failed, first first. */
  readonly #failures: WriteFailure[] = [];
  readonly #dp: { price: number; volume: number; base: number; quote: number };

  /** Opens every file in `dir` (made ready by {@linkcode prepareOutputDir}); `depth` = L2 levels
   * per side. */
  constructor(dir: string, engine: SimEngine, depth: number) {
    this.#engine = engine;
    this.#depth = depth;
    const x = engine.config.exchange;
    this.#dp = {
      price: x.priceDecimals,
      volume: x.volumeDecimals,
      base: x.baseDecimals,
      quote: x.quoteDecimals,
    };
    const levels: string[] = [];
    for (const side of ["bid", "ask"]) {
      for (let i = 1; i <= depth; i++) levels.push(`${side}_price_${i}`, `${side}_volume_${i}`);
    }
    const open = (name: string, header: string) =>
      new CsvFile(join(dir, name), header, this.#failures);
    try {
      for (let book = 0; book < engine.config.books; book++) {
        this.#events.push(open(
          `events-${book}.csv`,
          "timestamp,event,order_id,agent_id,direction,price,volume,client_order_id,reason,leverage",
        ));
        this.#trades.push(open(
          `trades-${book}.csv`,
          "timestamp,trade_id,direction,price,volume,aggressing_order_id,resting_order_id," +
            "aggressing_agent_id,resting_agent_id,maker_fee,taker_fee",
        ));
        this.#l2.push(
          open(`l2-${book}.csv`, ["timestamp", "fundamental", "external", ...levels].join(",")),
        );
      }
      this.#balances = open(
        "balances.csv",
        "timestamp,agent_id,book_id,base_free,base_reserved,quote_free,quote_reserved," +
          "base_loan,quote_loan,base_collateral,quote_collateral",
      );
    } catch (error) {
      // Every file stays open for the whole run: past the process's limit, the ones opened so far
      // are closed and removed again (a process out of descriptors cannot even report its error).
      for (const file of [...this.#events, ...this.#trades, ...this.#l2]) file.discard();
      if (isOutOfDescriptors(error)) throw tooManyFiles(error, engine.config.books);
      throw error;
    }
  }

  /** Writes a book's events of the last step (already read from the engine). */
  writeEvents(book: number, events: RawEvent[]): void {
    const { price: pd, volume: vd, quote: qd } = this.#dp;
    const l3 = this.#events[book];
    const trades = this.#trades[book];
    const client = (id: number) => (id === NONE ? "" : String(id));
    for (const e of events) {
      const t = e.timestamp.toString();
      const dir = e.direction === 0 ? "buy" : "sell";
      switch (e.kind) {
        case EventKind.PLACE: {
          const market = (e.flags & EVENT_FLAG_MARKET) !== 0;
          const price = market ? "" : fixed(e.price, pd);
          const kind = market ? "place_market" : "place_limit";
          // A margin order's own volume; the book holds it times 1 + leverage (lot-truncated). A
          // market order sized in quote: the quote amount requested.
          const leverage = e.leverageE9 === 0n ? "0" : fixed(e.leverageE9, 9);
          const volume = fixed(e.volume, e.flags & EVENT_FLAG_QUOTE ? qd : vd);
          l3.line(
            `${t},${kind},${e.orderId},${e.agentId},${dir},${price},${volume},` +
              `${client(e.clientOrderId)},,${leverage}`,
          );
          break;
        }
        case EventKind.CANCEL: {
          const kind = e.flags & EVENT_FLAG_DROPPED ? "drop" : "cancel";
          const price = e.flags & EVENT_FLAG_MARKET ? "" : fixed(e.price, pd);
          // A margin order's row is in its own volume, as its placement: its leverage says so.
          const leverage = e.leverageE9 === 0n ? "" : fixed(e.leverageE9, 9);
          l3.line(
            `${t},${kind},${e.orderId},${e.agentId},${dir},${price},` +
              `${fixed(e.volume, vd)},${client(e.clientOrderId)},,${leverage}`,
          );
          break;
        }
        case EventKind.REJECT: {
          const price = e.flags & EVENT_FLAG_MARKET ? "" : fixed(e.price, pd);
          const volume = fixed(e.volume, e.flags & EVENT_FLAG_QUOTE ? qd : vd);
          l3.line(
            `${t},reject,,${e.agentId},${dir},${price},${volume},` +
              `${client(e.clientOrderId)},${rejectReason[e.code] ?? e.code},`,
          );
          break;
        }
        case EventKind.CANCEL_FAIL:
          l3.line(`${t},cancel_failed,${e.orderId},${e.agentId},,,,,,`);
          break;
        case EventKind.TRADE:
          trades.line(
            `${t},${e.tradeId},${dir},${fixed(e.price, pd)},${fixed(e.volume, vd)},${e.orderId},` +
              `${e.restingOrderId},${e.agentId},${e.restingAgentId},${fixed(e.feeMaker, qd)},` +
              `${fixed(e.feeTaker, qd)}`,
          );
          break;
      }
    }
  }

  /**
   * Writes the L2 book of every book (from `state`) and the changed remote balances at the end of
   * a step. Remote balances are read from the engine: in a window they cannot change, since a
   * window runs only while remote accounts are idle.
   */
  writeStep(timestamp: number, state: StepState = this.#engine): void {
    const engine = this.#engine;
    const t = String(timestamp);
    const { price: pd, volume: vd } = this.#dp;
    for (let book = 0; book < engine.config.books; book++) {
      const cells = [t];
      const p = state.processValues(book);
      cells.push(processCell(p.fundamental, book, "fundamental", t));
      cells.push(processCell(p.external, book, "external", t));
      for (const side of [0, 1] as const) {
        const levels = state.rawLevels(book, side, this.#depth);
        for (let i = 0; i < this.#depth; i++) {
          const level = levels[i];
          // From the integer units, as the events and trades files: a level's lots can pass 2^53.
          cells.push(level ? fixed(level.ticks, pd) : "", level ? fixed(level.lots, vd) : "");
        }
      }
      this.#l2[book].line(cells.join(","));
    }
    const { base, quote } = this.#dp;
    const perBook = Array.from(
      { length: engine.config.books },
      (_, book) => engine.rawRemoteBalances(book),
    );
    const words = 2 * BALANCE_VALUES;
    const changed = perBook.map((balances, book) => {
      const now = new Int32Array(balances.buffer, balances.byteOffset, 2 * balances.length);
      const last = this.#lastBalances[book] ?? null;
      this.#lastBalances[book] = now;
      return (agent: number) => {
        if (last === null) return true;
        for (let i = agent * words; i < (agent + 1) * words; i++) {
          if (now[i] !== last[i]) return true;
        }
        return false;
      };
    });
    for (let agent = 0; agent < engine.config.remoteAgentCount; agent++) {
      for (let book = 0; book < engine.config.books; book++) {
        // All ten values are compared: the two totals change only with the amounts they sum.
        if (!changed[book](agent)) continue;
        const b = perBook[book].subarray(BALANCE_VALUES * agent, BALANCE_VALUES * (agent + 1));
        const row = `${fixed(b[0], base)},${fixed(b[1], base)},${fixed(b[3], quote)},` +
          `${fixed(b[4], quote)},${fixed(b[6], base)},${fixed(b[7], quote)},` +
          `${fixed(b[8], base)},${fixed(b[9], quote)}`;
        this.#balances.line(`${t},${agent},${book},${row}`);
      }
    }
  }

  /**
   * Flushes and closes every file. Once all are closed, the first write that failed (during the
   * run or now) is thrown, naming the other files it cut short: after a full disk they all end
   * early, not only the one that failed first.
   */
  close(): void {
    let closing: unknown = null;
    for (const file of [...this.#events, ...this.#trades, ...this.#l2, this.#balances]) {
      try {
        file.close();
      } catch (error) {
        if (!(error instanceof WriteFailure)) closing ??= error;
      }
    }
    const [first, ...others] = this.#failures.splice(0);
    if (first === undefined) {
      if (closing !== null) throw closing;
      return;
    }
    if (others.length > 0) {
      // The system's reason stays at the end, where the report of a refused write reads it.
      const names = others.map((failure) => basename(failure.path)).join(", ");
      first.message = `cannot write ${first.path} (also cut short: ${names}): ${first.reason}`;
    }
    throw first;
  }
}
