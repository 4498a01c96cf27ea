/**
 * The validator's durable state in one SQLite file (`node:sqlite`): a snapshot of everything that
 * must survive a restart (scores, scoring windows, miner bookkeeping, the simulation's replay
 * point) and the log of instructions injected into the current simulation, so that a restart can
 * rebuild the simulation deterministically from its seed.
 *
 * Each {@linkcode ValidatorStore.save} is one transaction: after `kill -9` at any instant the file
 * holds either the previous or the new snapshot, never a mix, and the injection log always matches
 * the snapshot's publish count. Saves are incremental where the data is append-only (inventory
 * observations, injected instructions), so a save stays small at full network size
 * (see `scoring_codec.ts`).
 *
 * ```ts
 * const store = ValidatorStore.open("state.db");
 * const saved = store.load(); // null on first start
 * store.save(snapshot, injectionsSinceLastSave);
 * store.close();
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import {
  accessSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { crc32, deflateSync, inflateSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { z } from "../cli/zod_messages.ts";
import type { Instruction } from "../sim/engine.ts";
import { anyInteger } from "../agents/sdk/state.ts";
import type { ScorerSnapshot } from "./scoring/mod.ts";
import {
  joinScoring,
  parseScoringMeta,
  type ScoringWindows,
  splitScoring,
} from "./scoring_codec.ts";

/** Where the current simulation stands: enough to recreate it and replay to the same instant. */
export interface SimulationPoint {
  /** 0 for the first simulation this validator ran, then 1, 2, ... */
  index: number;
  seed: number;
  /** Publishes completed (and answered) in this simulation. */
  publishes: number;
  /** Simulated ns of the last answered publish (0 before the first). */
  timestamp: number;
  /** The simulation's configuration (a `SimConfig`), so a restart replays the same market. */
  config?: unknown;
  /**
   * The market at the last answered publish in brief (messages processed, best prices per book),
   * so a restart can tell whether its replay rebuilt the same market.
   */
  fingerprint?: string;
}

/** Everything the validator persists besides the injection log. */
export interface ValidatorSnapshot {
  /**
   * Whose state this is (`<hotkey ss58>@netuid<n>` or `<hotkey ss58>@local`): a validator never
   * resumes another's scores and market. Absent in files from releases before it was recorded.
   */
  owner?: string;
  simulation: SimulationPoint;
  /** Publishes answered since the validator first started (all simulations). */
  step: number;
  /** Hotkey per uid as last seen, to detect re-registrations. */
  hotkeys: Record<string, string>;
  /** Smoothed score per uid. */
  scores: Record<string, number>;
  /**
   * The scorer's windows (inventory history, volumes, activity factors, EMA scores): the live
   * scorer when saving, its JSON form when loaded.
   */
  scoring: ScoringWindows | null;
  /** UIDs whose accounts must be reset in the simulation. */
  pendingResets: number[];
  /** Wall ms of the last weight submission, null before the first. */
  lastWeightsAt: number | null;
}

/** One miner's instructions injected at one publish, or live prices given to the market (`live`,
 * with agent id -1 and no instructions): the fundamental seed price from then on, or external
 * samples. */
export interface Injection {
  simulation: number;
  /** The publish (1-based count within the simulation) after which they were injected; 0 for
   * live prices given before the first publish. */
  publish: number;
  agentId: number;
  delayNs: number;
  instructions: Instruction[];
  live?: { fundamental: number } | { external: number[] };
}

const int = z.number().int();
const finite = z.number().finite();
const direction = z.union([z.literal(0), z.literal(1)], { error: "must be 0 (buy) or 1 (sell)" });
const stpFlag = z.union([0, 1, 2, 3, 4].map((v) => z.literal(v)) as [z.ZodLiteral<0>], {
  error: "must be 0, 1, 2, 3 or 4",
});
/** A uid as a key of the snapshot's maps: a u16 in decimal, as the chain numbers neurons. */
const uidKey = z.string().refine(
  (key) => /^(0|[1-9]\d{0,4})$/.test(key) && Number(key) <= 65535,
  "not a uid (a whole number 0 to 65535)",
);

/** An instruction as the engine took it (see {@linkcode Instruction}); other fields are kept. */
const storedInstructionSchema: z.ZodType<Instruction> = z.discriminatedUnion("type", [
  z.looseObject({
    type: z.literal("PLACE_ORDER_LIMIT"),
    bookId: int,
    direction,
    volume: finite,
    price: finite,
    clientOrderId: anyInteger.nullable().optional(),
    postOnly: z.boolean().optional(),
    leverage: finite.optional(),
    timeInForce: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)], {
      error: "must be 0, 1, 2 or 3",
    }).optional(),
    expiryPeriod: finite.nullable().optional(),
    stpFlag: stpFlag.optional(),
  }),
  z.looseObject({
    type: z.literal("PLACE_ORDER_MARKET"),
    bookId: int,
    direction,
    volume: finite,
    clientOrderId: anyInteger.nullable().optional(),
    stpFlag: stpFlag.optional(),
    currency: z.union([z.literal(0), z.literal(1)], { error: "must be 0 (base) or 1 (quote)" })
      .optional(),
    leverage: finite.optional(),
  }),
  z.looseObject({
    type: z.literal("CANCEL_ORDERS"),
    bookId: int,
    cancellations: z.array(
      z.looseObject({ orderId: anyInteger, volume: finite.nullable().optional() }),
    ),
  }),
  z.looseObject({ type: z.literal("RESET_AGENT") }),
]) as z.ZodType<Instruction>;

/** An injection as stored: `[agentId, delayNs, instructions]`, plus the live prices if any. */
const entriesSchema = z.array(z.tuple([
  int,
  int.nonnegative(),
  z.array(storedInstructionSchema),
  z.union([
    z.object({ fundamental: finite }).strict(),
    z.object({ external: z.array(finite) }).strict(),
  ], {
    error: 'must be {"fundamental": <number>} or {"external": [<number>, ...]}',
  }).optional(),
]));
type Entry = z.infer<typeof entriesSchema>[number];

const snapshotSchema = z.object({
  owner: z.string().optional(),
  simulation: z.object({
    index: z.number().int().nonnegative(),
    seed: z.number().int().nonnegative(),
    publishes: z.number().int().nonnegative(),
    timestamp: z.number().nonnegative(),
    config: z.unknown().optional(),
    fingerprint: z.string().optional(),
  }),
  step: z.number().int().nonnegative(),
  hotkeys: z.record(uidKey, z.string()),
  scores: z.record(uidKey, z.number()),
  scoring: z.unknown().nullable(),
  pendingResets: z.array(z.number().int().nonnegative()),
  lastWeightsAt: z.number().nullable(),
});

/** What {@linkcode ValidatorStore.load} returns. */
export interface SavedState {
  snapshot: ValidatorSnapshot & { scoring: ScorerSnapshot | null };
  /** Injections of the snapshot's simulation, in publish order. */
  injections: Injection[];
  /** Wall ms at which the snapshot was written. */
  savedAt: number;
}

/** The state file is locked by another process. */
export class StateInUseError extends Error {
  override name = "StateInUseError";
}

/**
 * The nearest of `dir` and its ancestors that exists and is not a directory: what stops
 * `mkdir -p dir` (`dir` itself when none is found, as when the check races a change).
 */
function fileInTheWay(dir: string): string {
  for (let at = dir;; at = dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) return at;
    } catch {
      // Missing (or unreadable): the obstacle is further up.
    }
    if (dirname(at) === at) return dir;
  }
}

/**
 * The file at the state path cannot serve as this validator's state, and is left as it is:
 * `damaged` (a taos state that fails SQLite's integrity check: `--neuron.reset` may replace it),
 * `foreign` (not a taos validator state: never replaced), `readonly` (cannot be written),
 * `unavailable` (the disk or system failed reading it: a full disk, an I/O error) or `owned` (a
 * sound state of another validator, `savedOwner`: see {@linkcode ValidatorStore.claim}).
 */
export class StateFileError extends Error {
  override name = "StateFileError";
  constructor(
    readonly kind: "damaged" | "foreign" | "readonly" | "unavailable" | "owned",
    message: string,
    readonly savedOwner: string | null = null,
  ) {
    super(message);
  }
}

/** SQLite `application_id` of a taos validator state: "TAOS" in ASCII. */
const APPLICATION_ID = 0x54414f53;
/** The tables of a state file (files written before the application id carry only these). */
const TABLES = ["injections", "inventory", "snapshot"];
/**
 * Layout of the tables (SQLite `user_version`), raised whenever a release changes them so that a
 * file is never read with the wrong layout. Files written before it was recorded say 0 and have
 * layout 1 when all of `TABLES` are there. Layout 2 adds a `crc` column to each table (see
 * {@linkcode rowCrc}); a layout 1 file is read as it is and gains the columns at its first save.
 * Layout 3 keeps the maker, taker and self volumes per bucket in the snapshot's volume block (see
 * `scoring_codec.ts`); a file of an earlier layout is read as it is and becomes layout 3 at its
 * first save.
 */
const LAYOUT = 3;

/**
 * CRC-32 of a row's key and contents. SQLite checks its pages' structure, not the values in them:
 * a flipped bit in a stored float or number would otherwise resume with other scores unnoticed.
 */
function rowCrc(key: string, ...parts: (string | Uint8Array)[]): number {
  return parts.reduce<number>((crc, part) => crc32(part, crc), crc32(key));
}

/**
 * Why `path` (or the directory that will hold its `-wal` file) cannot be written, or null. The
 * file itself is not opened: closing any descriptor of it would drop this process's SQLite locks.
 */
function unwritable(path: string): string | null {
  // Never the same name twice: a probe left by a validator killed right here (in a container,
  // with the same pid at every start) would otherwise make every later start fail with EEXIST.
  const probe = `${path}-probe-${crypto.randomUUID()}`;
  try {
    closeSync(openSync(probe, "wx"));
    rmSync(probe);
    try {
      accessSync(path, constants.W_OK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * SQLite's primary result codes (`errcode & 0xff`) that say the disk or the system failed, not the
 * file's contents: PERM, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
 */
const SYSTEM_FAILURES = new Set([3, 7, 8, 10, 13, 14, 15]);

/**
 * An error reading a state file, as a {@linkcode StateFileError} (or the lock another holds): by
 * SQLite's result code where there is one, else (a record that does not decode) damage.
 */
function unreadable(error: Error, path: string): Error {
  const code = (error as { errcode?: number }).errcode;
  const primary = typeof code === "number" ? code & 0xff : null;
  // BUSY, LOCKED
  if (primary === 5 || primary === 6 || /database is locked/i.test(error.message)) {
    return inUse(path);
  }
  // NOTADB
  if (primary === 26) return new StateFileError("foreign", `${path} is not a SQLite database`);
  if (primary !== null && SYSTEM_FAILURES.has(primary)) {
    // A full disk, say, where a `-wal` left by a crash needs its index file: nothing is damaged.
    return new StateFileError(
      "unavailable",
      `${path} cannot be read: ${error.message} (check the free space, permissions and health ` +
        "of its disk; the file is left as it is)",
    );
  }
  return new StateFileError("damaged", `${path} is damaged: ${error.message}`);
}

/** How long the state's lock is asked for, {@linkcode LOCK_RETRY_MS} apart, before it counts as
 * held: wall time, as a count of tries stretches on a loaded machine past another opener's hold. */
const LOCK_WAIT_MS = 200;
const LOCK_RETRY_MS = 10;

function inUse(path: string): StateInUseError {
  return new StateInUseError(`${path} is in use by another process (another validator?)`);
}

/**
 * Takes the OS lock (`flock`) of `<path>-lock`, kept until the store closes and dropped by the
 * OS if the process dies, so a dead validator's lock never blocks the next. SQLite's own lock is
 * taken only once the file is set up: two validators starting together would otherwise both
 * open it, or one take the other's set-up journal for a state cut off.
 */
function lockState(path: string): Deno.FsFile {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(`${path}-lock`, { read: true, write: true, create: true });
  } catch (error) {
    throw new StateFileError("readonly", `${path} cannot be written: ${(error as Error).message}`);
  }
  // A child process this process is starting holds a copy of every descriptor until it runs its
  // program, so a lock this process has just released may still be held for a moment: asked
  // again for a while before the state counts as another's.
  const deadline = performance.now() + LOCK_WAIT_MS;
  while (!file.tryLockSync(true)) {
    if (performance.now() >= deadline) {
      file.close();
      throw inUse(path);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, LOCK_RETRY_MS);
  }
  return file;
}

/**
 * Clears the rollback journal of a validator killed while it set up a new state file (only that
 * setup writes one: the state itself is kept in WAL mode). The file and its journal are rolled back
 * in a copy first, and only when the copy then holds nothing (no tables and at most its first
 * page, or a taos state's empty tables), so that the journal was such a setup's, does the copy
 * replace the file and the journal go. Anything else (another program's database, a state beside
 * its `-wal`) is left exactly as it was for the checks that follow.
 */
function clearSetupJournal(path: string): void {
  if (fileSize(path + "-journal") <= 0 || fileSize(path + "-wal") > 0) return;
  const copy = `${path}-setup-${crypto.randomUUID()}`;
  try {
    if (fileSize(path) >= 0) copyFileSync(path, copy);
    else writeFileSync(copy, new Uint8Array(0));
    copyFileSync(path + "-journal", copy + "-journal");
    let db: DatabaseSync | undefined;
    let empty: boolean;
    try {
      db = new DatabaseSync(copy);
      const count = (sql: string) => Number(Object.values(db!.prepare(sql).get()!)[0]);
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all() as { name: string }[]).map((row) => row.name);
      // Killed before its tables were made, or after (switching to WAL) with nothing in them.
      empty = tables.length === 0
        ? count("PRAGMA page_count") <= 1
        : count("PRAGMA application_id") === APPLICATION_ID &&
          tables.every((t) => TABLES.includes(t) && count(`SELECT count(*) FROM ${t}`) === 0);
    } catch {
      return; // not a database the journal rolls back: for the checks to name
    } finally {
      db?.close();
    }
    if (!empty) return;
    renameSync(copy, path);
    // Stale now; rolled back again, it would only write the same first page.
    rmSync(path + "-journal", { force: true });
  } catch (error) {
    throw new StateFileError(
      "unavailable",
      `${path} cannot be read: ${(error as Error).message} (check the free space, permissions ` +
        "and health of its disk; the file is left as it is)",
    );
  } finally {
    rmSync(copy, { force: true });
    rmSync(copy + "-journal", { force: true });
  }
}

/** The size of the file at `path`, or -1 when there is none. */
function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** Sizes and modification times of a state file and its `-wal`, to notice a change. */
function signature(path: string): string {
  return ["", "-wal"].map((suffix) => {
    try {
      const stat = statSync(path + suffix);
      return `${stat.size}:${stat.mtimeMs}`;
    } catch {
      return "-";
    }
  }).join(" ");
}

/**
 * Refuses, without writing to it, a file that is not a taos validator state or that fails SQLite's
 * integrity check (a damaged index would silently replay fewer instructions). `new` for a file
 * without tables, which holds no state yet.
 */
function checkStateFile(db: DatabaseSync, path: string): "new" | "state" {
  let applicationId: number;
  let layout: number;
  let tables: string[];
  try {
    applicationId = Number(
      (db.prepare("PRAGMA application_id").get() as { application_id: number }).application_id,
    );
    layout = layoutOf(db);
    tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all() as { name: string }[]).map((row) => row.name);
  } catch (error) {
    throw unreadable(error as Error, path);
  }
  // No tables: never saved (a file made by an earlier release that died setting it up is marked
  // but has none).
  if (
    (applicationId === 0 || applicationId === APPLICATION_ID) && tables.length === 0 &&
    pageCount(db, path) <= 1
  ) {
    return "new";
  }
  const ours = applicationId === APPLICATION_ID ||
    (applicationId === 0 && tables.includes("snapshot") && tables.every((t) => TABLES.includes(t)));
  if (ours && layout > LAYOUT) {
    // Not replaceable: the newer release that wrote it can still read it.
    throw new StateFileError(
      "foreign",
      `${path} was written by a newer taos release (state layout ${layout}; this release reads ` +
        `layout ${LAYOUT}): run that release, or give another --state`,
    );
  }
  // A state missing a table would resume with part of its history silently gone.
  const missing = TABLES.filter((t) => !tables.includes(t));
  if (ours && missing.length > 0) {
    throw new StateFileError(
      "damaged",
      `${path} has no ${missing.join(", ")} table: it is damaged, or was written by an early ` +
        "taos release whose state this one cannot carry over",
    );
  }
  if (!ours) {
    throw new StateFileError(
      "foreign",
      `${path} is not a taos validator state (it holds ${
        tables.length === 0 ? "no tables" : `tables ${tables.join(", ")}`
      }${applicationId === 0 ? "" : `, application id ${applicationId}`}): give another --state`,
    );
  }
  let problems: string[];
  try {
    problems = (db.prepare("PRAGMA integrity_check(3)").all() as {
      integrity_check: string;
    }[]).map((row) => row.integrity_check);
  } catch (error) {
    // A page too damaged for the check to go on (SQLITE_CORRUPT) is damage all the same.
    throw unreadable(error as Error, path);
  }
  if (problems[0] !== "ok") {
    throw new StateFileError(
      "damaged",
      `${path} is damaged (SQLite integrity check: ${problems.join("; ")})`,
    );
  }
  return "state";
}

function pageCount(db: DatabaseSync, path: string): number {
  try {
    return Number((db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count);
  } catch (error) {
    throw unreadable(error as Error, path);
  }
}

/** The key part of an inventory row's {@linkcode rowCrc}. */
function inventoryKey(row: { step: number; timestamp: number; uids: number; books: number }) {
  return `inventory ${row.step} ${row.timestamp} ${row.uids} ${row.books}`;
}

/** The key part of an injection batch's {@linkcode rowCrc}. */
function injectionKey(simulation: number, publish: number): string {
  return `injections ${simulation} ${publish}`;
}

/**
 * Gives the rows a layout 1 file holds their checksums (in the transaction that adds the column),
 * so that none of them goes unchecked for as long as it is kept.
 */
function checksumEarlierRows(db: DatabaseSync): void {
  // Row by row (a publish may have several injection rows: a round's replies and the next
  // round's live prices are logged under one publish by two saves), read one at a time.
  const injection = db.prepare("UPDATE injections SET crc = ? WHERE rowid = ?");
  for (
    const row of db.prepare("SELECT rowid AS id, simulation, publish, body FROM injections")
      .iterate()
  ) {
    const { id, simulation, publish, body } = row as {
      id: number;
      simulation: number;
      publish: number;
      body: Uint8Array;
    };
    injection.run(rowCrc(injectionKey(simulation, publish), body), id);
  }
  const observation = db.prepare("UPDATE inventory SET crc = ? WHERE rowid = ?");
  for (
    const row of db.prepare("SELECT rowid AS id, step, timestamp, uids, books, vals FROM inventory")
      .iterate()
  ) {
    const r = row as {
      id: number;
      step: number;
      timestamp: number;
      uids: number;
      books: number;
      vals: Uint8Array;
    };
    observation.run(rowCrc(inventoryKey(r), r.vals), r.id);
  }
}

/** The file's layout (SQLite `user_version`; 0 where none was recorded). */
function layoutOf(db: DatabaseSync): number {
  return Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
}

/** Whether every table has its `crc` column (layout 2 on). */
function hasCrc(db: DatabaseSync): boolean {
  return TABLES.every((table) =>
    (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[])
      .some((column) => column.name === "crc")
  );
}

/** The file's identity, to notice it being deleted or replaced while open; null for none. */
function fileId(path: string): string | null {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return null;
  }
}

/** The SQLite state file: see the module doc. */
export class ValidatorStore {
  #db: DatabaseSync;
  /** Identity of the file opened (see `fileId`). */
  #fileId: string | null;
  /** Identity of its `-wal` file at the last save that found the file in place. */
  #walId: string | null = null;
  /** Step whose inventory rows are the newest on disk (null: unknown, write the whole window). */
  #savedStep: number | null = null;
  /** The state read while the file was checked, for the first {@linkcode load}. */
  #checked: SavedState | null = null;
  /** Written with every snapshot: see {@linkcode claim}. */
  #owner: string | undefined;
  /** The tables have their `crc` columns (false for a layout 1 file until its first save). */
  #crc: boolean;
  /** The file's layout (below {@linkcode LAYOUT} for an earlier one until its first save). */
  #layout: number;
  /** See `lockState` (null for ":memory:" and the read-only check). */
  #lock: Deno.FsFile | null = null;

  #path: string;
  /** Where the file was opened; {@linkcode path} moves when another file takes its place. */
  readonly #openedPath: string;

  /** The file (":memory:" for none). */
  get path(): string {
    return this.#path;
  }

  /** True once another file took the opened file's place and the state went beside it. */
  get relocated(): boolean {
    return this.#path !== this.#openedPath;
  }

  private constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    this.#openedPath = path;
    this.#fileId = path === ":memory:" ? null : fileId(path);
    this.#walId = path === ":memory:" ? null : fileId(`${path}-wal`);
    this.#crc = hasCrc(db);
    this.#layout = layoutOf(db);
  }

  /**
   * Opens (creating if needed) the state file and its directory, and locks it for this process
   * until {@linkcode close}: two validators writing one file would interleave two markets' logs.
   * Throws {@linkcode StateInUseError} when another process holds it, and
   * {@linkcode StateFileError} for a file that is not a taos state, fails SQLite's integrity check
   * or cannot be written: such a file is left exactly as it was.
   */
  static open(path: string): ValidatorStore {
    if (path === ":memory:") return ValidatorStore.#openLocked(path);
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new StateFileError(
        "readonly",
        `${path} cannot be created: ${
          code === "EEXIST" || code === "ENOTDIR"
            ? `${fileInTheWay(dirname(path))} is not a directory`
            : (error as Error).message
        }`,
      );
    }
    // Refused before its lock file is made: a directory given as the state (`--state /var/x`)
    // would otherwise leave `/var/x-lock` behind.
    let notAFile = false;
    try {
      notAFile = !statSync(path).isFile();
    } catch {
      // Missing, a loop, unreadable: judged under the lock.
    }
    if (notAFile) throw new StateFileError("foreign", `${path} is not a file`);
    const lock = lockState(path);
    try {
      const store = ValidatorStore.#openLocked(path);
      store.#lock = lock;
      return store;
    } catch (error) {
      lock.close();
      throw error;
    }
  }

  /** {@linkcode open} once the directory is there and this process holds the file's lock. */
  static #openLocked(path: string): ValidatorStore {
    let checked: { saved: SavedState | null; signature: string } | null = null;
    if (path !== ":memory:") {
      // Where the read-only check below could not read it at all: such a file holds nothing
      // saved, so it must not be refused (with --neuron.reset or without).
      clearSetupJournal(path);
      let size = -1;
      let stat;
      try {
        stat = statSync(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ELOOP") {
          throw new StateFileError("foreign", `${path} is a symbolic link that loops`);
        }
        if (code !== "ENOENT") {
          throw new StateFileError(
            "unavailable",
            `${path} cannot be read: ${(error as Error).message}`,
          );
        }
      }
      if (stat !== undefined) {
        if (!stat.isFile()) throw new StateFileError("foreign", `${path} is not a file`);
        size = stat.size;
      }
      // Shorter than a database page: SQLite would take it for a new file and write over it.
      if (size > 0 && size < 512) {
        throw new StateFileError("foreign", `${path} is not a SQLite database (${size} bytes)`);
      }
      // A write-ahead log beside a missing or empty file is a state cut off, not a new one: the
      // log may hold all that was committed, and SQLite would discard it on opening the file. An
      // empty one holds nothing (a refused file's check leaves one where there was none).
      if (size <= 0 && fileSize(path + "-wal") > 0) {
        throw new StateFileError(
          "damaged",
          `${path} is ${size < 0 ? "missing" : "empty"} but its -wal file is there: ` +
            "the state was cut off",
        );
      }
      const why = unwritable(path);
      if (why !== null) throw new StateFileError("readonly", `${path} cannot be written: ${why}`);
      if (size > 0) checked = ValidatorStore.#check(path);
    }
    const db = new DatabaseSync(path);
    try {
      // Exclusive locking before the first WAL access: the lock is taken by the empty exclusive
      // transaction below and kept for the connection's life (the OS drops it if we die).
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      try {
        db.exec("BEGIN EXCLUSIVE; COMMIT");
      } catch (error) {
        throw unreadable(error as Error, path);
      }
      db.exec("PRAGMA synchronous = FULL");
      // Marked only where not yet: a state refused after opening (another validator's) is left
      // byte for byte as it was.
      const mark = (pragma: string, value: number) => {
        const row = db.prepare(`PRAGMA ${pragma}`).get() as Record<string, number>;
        if (Number(row[pragma]) !== value) db.exec(`PRAGMA ${pragma} = ${value}`);
      };
      // A new file's marks and tables in one transaction, before the switch to WAL: a validator
      // killed within it leaves a file that is empty once rolled back, never one marked as a
      // state but missing its tables (which would read as damaged).
      db.exec("BEGIN IMMEDIATE");
      mark("application_id", APPLICATION_ID);
      db.exec(`CREATE TABLE IF NOT EXISTS snapshot (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        body TEXT NOT NULL,
        volumes BLOB,
        saved_at INTEGER NOT NULL,
        crc INTEGER
      )`);
      db.exec(`CREATE TABLE IF NOT EXISTS inventory (
        step INTEGER PRIMARY KEY,
        timestamp REAL NOT NULL,
        uids INTEGER NOT NULL,
        books INTEGER NOT NULL,
        vals BLOB NOT NULL,
        crc INTEGER
      )`);
      db.exec(`CREATE TABLE IF NOT EXISTS injections (
        simulation INTEGER NOT NULL,
        publish INTEGER NOT NULL,
        body BLOB NOT NULL,
        crc INTEGER
      )`);
      db.exec(
        "CREATE INDEX IF NOT EXISTS injections_by_publish ON injections (simulation, publish)",
      );
      // A new file, or one from before layouts were recorded (layout 1); a file of an earlier
      // layout stays one until its first save.
      if (layoutOf(db) === 0) mark("user_version", hasCrc(db) ? LAYOUT : 1);
      db.exec("COMMIT");
      db.exec("PRAGMA journal_mode = WAL");
    } catch (error) {
      db.close();
      throw error;
    }
    const store = new ValidatorStore(db, path);
    // Unchanged since it was checked (no other process got in between): no need to read it again.
    if (checked !== null && checked.signature === signature(path)) store.#checked = checked.saved;
    return store;
  }

  /**
   * Checks an existing file and reads its state through a read-only connection, which writes
   * nothing to it (a read-write one folds the `-wal` into the file as it closes): a file refused
   * here is left exactly as it was. Throws as {@linkcode open} does.
   */
  static #check(path: string): { saved: SavedState | null; signature: string } {
    const before = signature(path);
    const shm = `${path}-shm`, hadShm = fileSize(shm) >= 0;
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { readOnly: true });
    } catch (error) {
      throw unreadable(error as Error, path);
    }
    try {
      if (checkStateFile(db, path) === "new") return { saved: null, signature: before };
      try {
        return { saved: new ValidatorStore(db, path).load(), signature: before };
      } catch (error) {
        throw unreadable(error as Error, path);
      }
    } finally {
      db.close();
      // A read-only connection leaves the write-ahead log's index file it made; the store's own
      // connection, in exclusive mode, never uses one, so it would outlive every clean stop.
      if (!hadShm) rmSync(shm, { force: true });
    }
  }

  /**
   * Makes the state `owner`'s (`<hotkey ss58>@netuid<n>` or `<hotkey ss58>@local`), written with
   * every save from now on. Throws a {@linkcode StateFileError} (`owned`) when another owner's
   * snapshot is saved in it: a validator must never resume another's scores and market. A state
   * saved before owners were recorded becomes `owner`'s.
   */
  claim(owner: string): void {
    const row = this.#db.prepare(
      "SELECT json_extract(body, '$.owner') AS owner FROM snapshot WHERE id = 1",
    ).get() as { owner: string | null } | undefined;
    const saved = row?.owner ?? null;
    if (saved !== null && saved !== owner) {
      throw new StateFileError(
        "owned",
        `${this.#path} is the state of validator ${saved}, not of this one (${owner})`,
        saved,
      );
    }
    this.#owner = owner;
  }

  /** The last saved state, or null when none was ever saved. Throws if the file is unreadable. */
  load(): SavedState | null {
    if (this.#checked !== null) {
      const saved = this.#checked;
      this.#checked = null;
      this.#savedStep = saved.snapshot.step;
      return saved;
    }
    // Layout 1 rows have no checksum to compare.
    const crc = this.#crc ? "crc" : "NULL AS crc";
    /** Rows whose checksum differs, checked once all is decoded (a decoding error says more). */
    const failed: string[] = [];
    const verify = (what: string, stored: unknown, key: string, ...parts: Uint8Array[]) => {
      if (stored !== null && Number(stored) !== rowCrc(key, ...parts)) failed.push(what);
    };
    const row = this.#db.prepare(
      `SELECT body, volumes, saved_at, ${crc} FROM snapshot WHERE id = 1`,
    ).get() as
      | { body: string; volumes: Uint8Array | null; saved_at: number; crc: number | null }
      | undefined;
    if (row === undefined) return null;
    verify(
      "snapshot",
      row.crc,
      String(row.saved_at),
      Buffer.from(row.body, "utf8"),
      row.volumes ?? new Uint8Array(),
    );
    const body = parseStored(snapshotSchema, storedJson(() => row.body, "snapshot"), "snapshot");
    let scoring: ScorerSnapshot | null = null;
    if (body.scoring !== null && body.scoring !== undefined) {
      // Checked before its window lengths are used: a damaged part is named by its field.
      const meta = parseScoringMeta(body.scoring);
      const longest = Math.max(0, ...meta.miners.map((m) => m.length));
      const rows = (this.#db.prepare(
        `SELECT step, timestamp, uids, books, vals, ${crc} FROM inventory
         WHERE step > ? AND step <= ? ORDER BY step`,
      ).all(body.step - longest, body.step) as {
        step: number;
        timestamp: number;
        uids: number;
        books: number;
        vals: Uint8Array;
        crc: number | null;
      }[]).map((r) => {
        const row = {
          step: Number(r.step),
          timestamp: Number(r.timestamp),
          uids: Number(r.uids),
          books: Number(r.books),
          values: new Float64Array(new Uint8Array(r.vals).buffer),
        };
        verify(`inventory row of step ${row.step}`, r.crc, inventoryKey(row), r.vals);
        return row;
      });
      scoring = joinScoring(meta, row.volumes ?? new Uint8Array(), rows);
    }
    const snapshot: SavedState["snapshot"] = {
      ...(body as Omit<ValidatorSnapshot, "scoring">),
      scoring,
    };
    const batches = this.#db.prepare(
      `SELECT publish, body, ${crc} FROM injections WHERE simulation = ? AND publish <= ?
       ORDER BY publish, rowid`,
    ).all(snapshot.simulation.index, snapshot.simulation.publishes) as {
      publish: number;
      body: Uint8Array;
      crc: number | null;
    }[];
    const injections: Injection[] = [];
    for (const batch of batches) {
      verify(
        `injections of publish ${batch.publish}`,
        batch.crc,
        injectionKey(snapshot.simulation.index, Number(batch.publish)),
        batch.body,
      );
      const what = `injections of publish ${batch.publish}`;
      const entries = parseStored(
        entriesSchema,
        storedJson(() => inflateSync(batch.body).toString("utf8"), what),
        what,
      );
      for (const [agentId, delayNs, instructions, live] of entries) {
        injections.push({
          simulation: snapshot.simulation.index,
          publish: Number(batch.publish),
          agentId,
          delayNs,
          instructions,
          ...(live !== undefined && { live }),
        });
      }
    }
    if (failed.length > 0) {
      throw new Error(
        `state file ${failed.slice(0, 3).join(", ")}${
          failed.length > 3 ? ` and ${failed.length - 3} more rows` : ""
        } ${failed.length === 1 ? "fails its" : "fail their"} checksum`,
      );
    }
    this.#savedStep = snapshot.step;
    return { snapshot, savedAt: Number(row.saved_at), injections };
  }

  /**
   * Atomically writes the snapshot, the inventory observations since the previous save and the
   * injections made since the previous save. Injections of older simulations are dropped (a new
   * simulation never replays them). Returns null, or what was done to recover a state file that
   * was deleted or replaced while open (see `#rewrite`).
   */
  save(snapshot: ValidatorSnapshot, injections: readonly Injection[]): string | null {
    // A file deleted or replaced since the last save is written again before this save: when that
    // fails, nothing of this save is written either, so that its caller keeps its injections
    // without their being in the log already (given again, they would be logged twice).
    const recovered = this.#moved() ? this.#rewrite() : null;
    const db = this.#db;
    const point = snapshot.simulation;
    const split = snapshot.scoring === null
      ? null
      : splitScoring(snapshot.scoring, snapshot.step, this.#savedStep ?? -Infinity);
    db.exec("BEGIN IMMEDIATE");
    try {
      if (!this.#crc) {
        for (const table of TABLES) db.exec(`ALTER TABLE ${table} ADD COLUMN crc INTEGER`);
        checksumEarlierRows(db);
      }
      if (this.#layout !== LAYOUT) db.exec(`PRAGMA user_version = ${LAYOUT}`);
      db.prepare("DELETE FROM injections WHERE simulation <> ? OR publish > ?").run(
        point.index,
        point.publishes,
      );
      const batches = new Map<number, Entry[]>();
      for (const injection of injections) {
        if (injection.simulation !== point.index || injection.publish > point.publishes) continue;
        const batch = batches.get(injection.publish) ?? [];
        const { agentId, delayNs, instructions, live } = injection;
        batch.push(
          live === undefined
            ? [agentId, delayNs, instructions]
            : [agentId, delayNs, instructions, live],
        );
        batches.set(injection.publish, batch);
      }
      const insert = db.prepare(
        "INSERT INTO injections (simulation, publish, body, crc) VALUES (?, ?, ?, ?)",
      );
      for (const [publish, batch] of batches) {
        const body = deflateSync(Buffer.from(JSON.stringify(batch), "utf8"));
        insert.run(point.index, publish, body, rowCrc(injectionKey(point.index, publish), body));
      }
      if (split !== null) {
        const row = db.prepare(
          `INSERT OR REPLACE INTO inventory (step, timestamp, uids, books, vals, crc)
           VALUES (?, ?, ?, ?, ?, ?)`,
        );
        for (const r of split.rows) {
          const vals = new Uint8Array(r.values.buffer, r.values.byteOffset, r.values.byteLength);
          row.run(r.step, r.timestamp, r.uids, r.books, vals, rowCrc(inventoryKey(r), vals));
        }
        db.prepare("DELETE FROM inventory WHERE step < ? OR step > ?").run(
          split.oldestStep,
          snapshot.step,
        );
      }
      const body = JSON.stringify({
        ...snapshot,
        ...(this.#owner !== undefined && { owner: this.#owner }),
        scoring: split?.meta ?? null,
      });
      const volumes = split?.volumes ?? null;
      const savedAt = Date.now();
      db.prepare(
        `INSERT INTO snapshot (id, body, volumes, saved_at, crc) VALUES (1, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, volumes = excluded.volumes,
         saved_at = excluded.saved_at, crc = excluded.crc`,
      ).run(
        body,
        volumes,
        savedAt,
        rowCrc(String(savedAt), Buffer.from(body, "utf8"), volumes ?? new Uint8Array()),
      );
      db.exec("COMMIT");
    } catch (error) {
      // SQLite may have rolled back already (a full disk does): keep the original error.
      if (db.isTransaction) db.exec("ROLLBACK");
      throw error;
    }
    // Each save is copied into the file itself at once, so that a write-ahead log lost or damaged
    // after a crash costs at most the save in progress, not every save since SQLite's last
    // automatic checkpoint (a thousand pages: many saves). A checkpoint that fails leaves the
    // save in the log, where SQLite finds it.
    try {
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch {
      // The save stands; the next one checkpoints again.
    }
    this.#crc = true;
    this.#layout = LAYOUT;
    this.#savedStep = snapshot.step;
    if (this.#moved()) {
      // Deleted or replaced during this save, which stands in the file still open: written again
      // now, or else by the next save.
      try {
        return this.#rewrite();
      } catch (error) {
        return `the state file was deleted or replaced while the validator ran and could not be ` +
          `written again: ${(error as Error).message}; the next save tries again`;
      }
    }
    if (this.#fileId !== null) this.#walId = fileId(`${this.#path}-wal`);
    return recovered;
  }

  /** Whether the file opened is no longer at its path (deleted, or another file in its place). */
  #moved(): boolean {
    return this.#fileId !== null && fileId(this.#path) !== this.#fileId;
  }

  /**
   * The file was deleted or replaced while open, so saves went to a file no one can reach: writes
   * everything this connection holds to the path (or beside it, when another file took its
   * place) and carries on there. Returns what happened, for the operator.
   */
  #rewrite(): string {
    const replaced = fileId(this.#path) !== null;
    const target = replaced ? `${this.#path}.recovered-${Date.now()}` : this.#path;
    // Copied under another name first: a copy cut short (a full disk) left at the path would be
    // taken for a new state at the next start, and for another file at the next save.
    const copy = `${target}-copy-${crypto.randomUUID()}`;
    try {
      this.#db.prepare("VACUUM INTO ?").run(copy);
    } catch (error) {
      for (const suffix of ["", "-journal"]) rmSync(copy + suffix, { force: true });
      throw error;
    }
    this.#db.close();
    // SQLite keeps a moved database's write-ahead log at close (it checkpoints only a file still
    // in place): left at the path, the log would be read into the file there, the copy included.
    if (this.#walId !== null && fileId(`${this.#path}-wal`) === this.#walId) {
      for (const suffix of ["-wal", "-shm"]) rmSync(this.#path + suffix, { force: true });
    }
    renameSync(copy, target);
    // Released first: the same path's lock is taken again by this process's reopening.
    this.#lock?.close();
    const reopened = ValidatorStore.open(target);
    this.#db = reopened.#db;
    this.#lock = reopened.#lock;
    this.#fileId = reopened.#fileId;
    this.#walId = reopened.#walId;
    this.#path = target;
    return `the state file ${
      replaced ? "was replaced by another file" : "was deleted"
    } while the validator ran; its contents were written again to ${target}`;
  }

  /** Moves a damaged state file and its journal files aside (`--neuron.reset`), so that a new
   * state can start at `path` while the old one stays for recovery by hand. Returns its new path. */
  static setAside(path: string): string {
    const aside = `${path}.damaged-${Date.now()}`;
    for (const suffix of ["", "-wal", "-shm", "-journal"]) {
      if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
    }
    return aside;
  }

  /** Deletes everything (`--neuron.reset`), in one transaction: a kill half-way must not leave
   * the log of a discarded run to be replayed into the next. */
  clear(): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      this.#db.exec("DELETE FROM snapshot; DELETE FROM injections; DELETE FROM inventory;");
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
    this.#savedStep = null;
    this.#checked = null;
  }

  /** Closes the file. */
  close(): void {
    this.#db.close();
    this.#lock?.close();
    this.#lock = null;
  }
}

/** The JSON value of the stored text `read` gives, or an Error naming `what` as undecodable. */
function storedJson(read: () => string, what: string): unknown {
  try {
    return JSON.parse(read());
  } catch (error) {
    throw new Error(`state file ${what} cannot be decoded: ${(error as Error).message}`);
  }
}

/** `value` as `schema` has it, or an Error naming `what` and the first bad field. */
function parseStored<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  throw new Error(
    `state file ${what} is invalid at ${first?.path.join(".") || "(root)"}: ${first?.message}`,
  );
}
