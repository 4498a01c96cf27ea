import assert from "node:assert/strict";
import { needsStrace } from "../strace.ts";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { DatabaseSync } from "node:sqlite";
import { crc32, deflateSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { Scorer } from "../../validator/scoring/mod.ts";
import {
  type Injection,
  StateFileError,
  StateInUseError,
  type ValidatorSnapshot,
  ValidatorStore,
} from "../../validator/store.ts";
import { fileURLToPath } from "node:url";

/** Runs `test` with a fresh directory for state files, removed once it has finished. */
function inStateDir<T>(test: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "taos-store-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  let result: T;
  try {
    result = test(dir);
  } catch (error) {
    remove();
    throw error;
  }
  if (result instanceof Promise) return result.finally(remove) as T;
  remove();
  return result;
}

/** A scorer after `steps` observations of 3 uids on 2 books, uid 1 trading on book 0. */
function scorerAfter(steps: number, scorer = new Scorer({ uids: 3, books: 2 }), from = 1): Scorer {
  for (let s = from; s < from + steps; s++) {
    const holdings = new Map([0, 1, 2].map((uid) => [uid, [
      { base: 10 + uid + s * 0.1 * uid, quote: 1000 - s * uid },
      { base: 5, quote: 500 + ((s * 7) % 3) },
    ]]));
    scorer.observe({
      timestamp: s * 5e9,
      quotes: [{ bid: 99 + (s % 2), ask: 101 }, { bid: 50, ask: 51 }],
      holdings,
      fills: new Map([[1, [{
        bookId: 0,
        price: 100,
        quantity: 0.5,
        makerAgentId: 1,
        takerAgentId: -3,
      }]]]),
    });
  }
  return scorer;
}

function snapshot(
  step: number,
  scorer: Scorer | null,
  publishes = step,
  index = 0,
): ValidatorSnapshot {
  return {
    simulation: {
      index,
      seed: 7 + index,
      publishes,
      timestamp: publishes * 5e9,
      config: { books: 2 },
    },
    step,
    hotkeys: { "0": "5A", "1": "5B" },
    scores: { "0": 0.25, "1": 0 },
    scoring: scorer?.toJSON() ?? null,
    pendingResets: [1],
    lastWeightsAt: null,
  };
}

function injection(publish: number, simulation = 0, agentId = 0): Injection {
  return {
    simulation,
    publish,
    agentId,
    delayNs: 10_000_000,
    instructions: [{ type: "PLACE_ORDER_MARKET", bookId: 1, direction: 0, volume: 1.5 }],
  };
}

/** Saves one state to `path` through a store opened and closed for it. */
function saveOnce(path: string, state: ValidatorSnapshot, injections: Injection[]): void {
  const store = ValidatorStore.open(path);
  store.save(state, injections);
  store.close();
}

/**
 * Asserts that opening `path` is refused as a state file of `kind`, with a message that matches
 * `message` (or is it, given as text).
 */
function assertRefused(path: string, kind: StateFileError["kind"], message?: RegExp | string) {
  assert.throws(
    () => ValidatorStore.open(path),
    (e) =>
      e instanceof StateFileError && e.kind === kind &&
      (message === undefined ||
        (typeof message === "string" ? e.message === message : message.test(e.message))),
  );
}

/** Runs `sql` on the database at `path` (made if missing) through a connection of its own. */
function alter(path: string, sql: string): void {
  const db = new DatabaseSync(path);
  db.exec(sql);
  db.close();
}

/** The page size of the database at `path` and the number (from 1) of the root page of its
 * table or index `name`, to damage that page in the file. */
function rootPageOf(path: string, name: string): { pageSize: number; root: number } {
  const db = new DatabaseSync(path);
  const size = db.prepare("PRAGMA page_size").get() as { page_size: number };
  const row = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = ?").get(name) as {
    rootpage: number;
  };
  db.close();
  return { pageSize: Number(size.page_size), root: Number(row.rootpage) };
}

/** The layout the state at `path` records (SQLite's user_version). */
function layoutOf(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
  db.close();
  return row.user_version;
}

/** Replaces the stored body of publish 2's injections at `path` with `body`. */
function replaceSecondInjections(path: string, body: Uint8Array): void {
  const db = new DatabaseSync(path);
  db.prepare("UPDATE injections SET body = ? WHERE publish = 2").run(body);
  db.close();
}

/** Volume buckets short enough that a few publishes (5 s apart) see some of them age out. */
const SHORT_WINDOW = { volumeSamplingInterval: 10e9, volumeAssessmentPeriod: 30e9 };

/** Observes publishes `from` … `to` with uid 0 trading on book 0 as maker, taker and self in turn. */
function tradeRoles(scorer: Scorer, from: number, to: number): Scorer {
  for (let s = from; s <= to; s++) {
    const [maker, taker] = [[0, 9], [9, 0], [0, 0]][s % 3];
    scorer.observe({
      timestamp: s * 5e9,
      quotes: [{ bid: 99, ask: 101 }],
      holdings: new Map([[0, [{ base: 10, quote: 1000 - s }]]]),
      fills: new Map([[0, [{
        bookId: 0,
        price: 100,
        quantity: s,
        makerAgentId: maker,
        takerAgentId: taker,
      }]]]),
    });
  }
  return scorer;
}

/** Every volume bucket of every role, uid and book. */
const volumesOf = (scorer: Scorer) =>
  scorer.miners.map((m) =>
    m.volumes.map((book) => ({
      total: [...book.total],
      maker: [...book.maker],
      taker: [...book.taker],
      self: [...book.self],
    }))
  );

Deno.test("store: snapshot, scoring windows and injections round-trip through the file", () =>
  inStateDir((dir) => {
    const path = join(dir, "sub", "state.db");
    const store = ValidatorStore.open(path);
    assert.equal(store.load(), null);
    const scorer = scorerAfter(4);
    store.save(snapshot(4, scorer), [injection(1), injection(2), injection(2, 0, 1)]);
    scorerAfter(3, scorer, 5);
    store.save(snapshot(7, scorer), [injection(5)]);
    store.close();

    const db = new DatabaseSync(path);
    const rows = db.prepare("SELECT count(*) AS n FROM inventory").get() as { n: number };
    db.close();
    assert.equal(Number(rows.n), 7, "one inventory row per scored publish, none repeated");

    const reopened = ValidatorStore.open(path);
    const saved = reopened.load();
    reopened.close();
    assert.ok(saved !== null);
    const expected = snapshot(7, scorer);
    const restored = Scorer.fromJSON(saved.snapshot.scoring!, { uids: 3, books: 2 });
    assert.deepEqual(restored.scores(), scorer.scores());
    assert.deepEqual(restored.volumeTraded(1), scorer.volumeTraded(1));
    assert.deepEqual(restored.miners[1].inventory, scorer.miners[1].inventory);
    assert.deepEqual(restored.miners[1].activity, scorer.miners[1].activity);
    assert.deepEqual(volumesOf(restored), volumesOf(scorer));
    assert.deepEqual({ ...saved.snapshot, scoring: null }, { ...expected, scoring: null });
    assert.deepEqual(saved.injections.map((i) => [i.publish, i.agentId]), [[1, 0], [2, 0], [2, 1], [
      5,
      0,
    ]]);
    assert.deepEqual(saved.injections[0], injection(1));

    // The next observations after a restore line up with the saved rows.
    const resumed = ValidatorStore.open(path);
    resumed.load();
    scorerAfter(2, restored, 8);
    scorerAfter(2, scorer, 8);
    resumed.save(snapshot(9, restored), []);
    const again = resumed.load()!;
    resumed.close();
    assert.deepEqual(
      Scorer.fromJSON(again.snapshot.scoring!, { uids: 3, books: 2 }).miners[2].inventory,
      scorer.miners[2].inventory,
    );
    // A row written before the upgrade is now checked like the others.
    alter(path, "UPDATE inventory SET vals = zeroblob(length(vals)) WHERE step = 1");
    assert.throws(() => ValidatorStore.open(path), StateFileError);
  }));

Deno.test("store: windows shorter than the history, reset uids and pruning", () => {
  const store = ValidatorStore.open(":memory:");
  const scorer = new Scorer({ uids: 3, books: 2, config: { lookback: 4 } });
  scorerAfter(6, scorer);
  scorer.reset(2);
  scorerAfter(2, scorer, 7);
  store.save(snapshot(8, scorer), []);
  const saved = store.load()!;
  const restored = Scorer.fromJSON(saved.snapshot.scoring!, {
    uids: 3,
    books: 2,
    config: { lookback: 4 },
  });
  assert.equal(restored.miners[0].inventory.length, 4);
  assert.deepEqual(restored.miners[0].inventory, scorer.miners[0].inventory);
  assert.equal(restored.miners[2].inventory.length, 2, "the reset uid's window restarted");
  assert.deepEqual(restored.miners[2].inventory, scorer.miners[2].inventory);
  store.close();
});

Deno.test("store: a window across a new simulation with a book added restores in publish order", () => {
  const store = ValidatorStore.open(":memory:");
  const scorer = new Scorer({ uids: 2, books: 2 });
  // Publishes 1 … 3 of one book at 5 … 15 s, then a new simulation of two books from 5 s again:
  // the rows' times go back while their steps go on, and their book counts differ.
  const publishes = [[5e9, 1], [10e9, 1], [15e9, 1], [5e9, 2], [10e9, 2]] as const;
  publishes.forEach(([timestamp, books], i) => {
    scorer.observe({
      timestamp,
      quotes: Array.from({ length: books }, () => ({ bid: 99, ask: 101 })),
      holdings: new Map([0, 1].map((uid) => [
        uid,
        Array.from({ length: books }, (_, b) => ({ base: uid + i * i + b, quote: 1000 })),
      ])),
      fills: new Map(),
    });
    // Saved at every publish: each save appends its own row.
    store.save(snapshot(i + 1, scorer), []);
  });
  const restored = Scorer.fromJSON(store.load()!.snapshot.scoring!, { uids: 2, books: 2 });
  assert.deepEqual(restored.miners.map((m) => m.inventory), scorer.miners.map((m) => m.inventory));
  assert.deepEqual(restored.miners[1].inventory.map((e) => e.values.length), [1, 1, 1, 2, 2]);
  store.close();
});

Deno.test("store: the file keeps only the inventory rows of the longest window", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    const options = { uids: 3, books: 2, config: { lookback: 4 } };
    const scorer = new Scorer(options);
    const store = ValidatorStore.open(path);
    for (let step = 1; step <= 10; step++) {
      scorerAfter(1, scorer, step);
      store.save(snapshot(step, scorer), []);
    }
    store.close();
    const db = new DatabaseSync(path, { readOnly: true });
    const steps = (db.prepare("SELECT step FROM inventory ORDER BY step").all() as {
      step: number;
    }[]).map((row) => Number(row.step));
    db.close();
    // Every window holds the last 4 observations (lookback 4), so steps 7 … 10 and no older.
    assert.deepEqual(steps, [7, 8, 9, 10]);
  }));

Deno.test("store: injections beyond the snapshot or of an older simulation are not replayed", () => {
  const store = ValidatorStore.open(":memory:");
  store.save(snapshot(2, null), [injection(1), injection(2), injection(3)]);
  assert.deepEqual(store.load()!.injections.map((i) => i.publish), [1, 2]);
  // Publish 3's injection was given before publish 3 was answered: it is not kept for later.
  store.save(snapshot(3, null), []);
  assert.deepEqual(store.load()!.injections.map((i) => i.publish), [1, 2]);
  store.save(snapshot(3, null, 1, 1), [injection(1, 1)]);
  const saved = store.load()!;
  assert.equal(saved.snapshot.simulation.index, 1);
  assert.deepEqual(saved.injections.map((i) => [i.simulation, i.publish]), [[1, 1]]);
  store.clear();
  assert.equal(store.load(), null);
  // The inventory rows went with the rest: the next save writes its whole window again.
  const scorer = scorerAfter(3);
  store.save(snapshot(3, scorer), []);
  const restored = Scorer.fromJSON(store.load()!.snapshot.scoring!, { uids: 3, books: 2 });
  assert.deepEqual(restored.miners[1].inventory, scorer.miners[1].inventory);
  store.close();
});

Deno.test("store: live prices given to the market are logged and replayed with the instructions", () => {
  const store = ValidatorStore.open(":memory:");
  const prices: Injection[] = [
    { ...injection(0), agentId: -1, instructions: [], live: { fundamental: 301.5 } },
    injection(1),
    { ...injection(1), agentId: -1, instructions: [], live: { external: [300, 302.25] } },
  ];
  store.save(snapshot(1, null), prices);
  assert.deepEqual(store.load()!.injections, prices);
  store.close();
});

Deno.test("store: a second save at the same publish (a stop saves, then its close) keeps that publish's injections", () => {
  const store = ValidatorStore.open(":memory:");
  store.save(snapshot(2, null), [injection(1), injection(2)]);
  store.save(snapshot(2, null), []);
  assert.deepEqual(store.load()!.injections.map((i) => i.publish), [1, 2]);
  store.close();
});

Deno.test("store: a corrupt snapshot is reported with the bad field, a non-database file refused", () => {
  const store = ValidatorStore.open(":memory:");
  const bad = {
    ...snapshot(1, null),
    simulation: { index: -1, seed: 1, publishes: 0, timestamp: 0 },
  };
  store.save(bad as ValidatorSnapshot, []);
  assert.throws(() => store.load(), /simulation\.index/);
  store.close();
  const dir = mkdtempSync(join(tmpdir(), "taos-store-"));
  try {
    const path = join(dir, "state.db");
    writeFileSync(
      path,
      "this is not a database, just text that is long enough to matter".repeat(20),
    );
    assert.throws(() => ValidatorStore.open(path), /is not a SQLite database/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name: "store: a lock released a moment after the open is waited for, not taken as another's",
  // util-linux `flock` holds the lock from another process, as a child being spawned would.
  ignore: !existsSync("/usr/bin/flock"),
}, () =>
  inStateDir(async (dir) => {
    const path = join(dir, "state.db");
    const holder = new Deno.Command("flock", {
      args: [`${path}-lock`, "sleep", "0.02"],
    }).spawn();
    // Until the holder has the lock.
    while (true) {
      const probe = Deno.openSync(`${path}-lock`, { read: true, write: true, create: true });
      const free = probe.tryLockSync(true);
      probe.close();
      if (!free) break;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // The open waits for the lock, not failing at once with "in use by another process".
    const store = ValidatorStore.open(path);
    store.close();
    await holder.status;
  }));

Deno.test("store: a state file is locked while open, in this process and for any other", () =>
  inStateDir(async (dir) => {
    const path = join(dir, "state.db");
    const store = ValidatorStore.open(path);
    assert.throws(() => ValidatorStore.open(path), StateInUseError);
    const other = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { ValidatorStore } from ${
          JSON.stringify(new URL("../../validator/store.ts", import.meta.url).href)
        };
       try { ValidatorStore.open(${JSON.stringify(path)}); console.log("opened"); }
       catch (e) { console.log(e.name + ": " + e.message); }`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.match(
      new TextDecoder().decode(other.stdout),
      /StateInUseError: .* is in use by another process/,
    );
    // The lock is exclusive: no other process gets even a shared one on it while the store is open.
    const shared = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const file = Deno.openSync(${JSON.stringify(`${path}-lock`)}, { read: true, write: true });
       console.log(file.tryLockSync(false) ? "locked" : "refused");`,
      ],
      stdout: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(shared.stdout).trim(), "refused");
    store.close();
    ValidatorStore.open(path).close();
  }));

/** A file's bytes, to show that a refused file was left exactly as it was. */
const bytes = (path: string) => Deno.readFileSync(path);

/** Asserts that opening `path` is refused as `assertRefused` has it, and leaves the file as it was. */
function assertRefusedUntouched(
  path: string,
  kind: StateFileError["kind"],
  message: RegExp | string,
) {
  const before = bytes(path);
  assertRefused(path, kind, message);
  assert.deepEqual(bytes(path), before, "left as it was");
}

Deno.test("store: another program's database, a short file and a damaged state are refused untouched", () =>
  inStateDir((dir) => {
    const foreign = join(dir, "app.db");
    alter(foreign, "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ada')");
    assertRefusedUntouched(
      foreign,
      "foreign",
      /is not a taos validator state \(it holds tables users\)/,
    );

    const short = join(dir, "short.db");
    writeFileSync(short, "SQLite format 3\0 truncated");
    assert.throws(() => ValidatorStore.open(short), /not a SQLite database \(26 bytes\)/);
    assert.equal(Deno.readTextFileSync(short), "SQLite format 3\0 truncated");
    // One byte short of SQLite's smallest page.
    const header = "SQLite format 3\0".padEnd(511, "x");
    writeFileSync(short, header);
    assert.throws(() => ValidatorStore.open(short), /not a SQLite database \(511 bytes\)/);
    assert.equal(Deno.readTextFileSync(short), header);

    // Emptied, not new: its tables were dropped, their pages kept.
    const emptied = join(dir, "emptied.db");
    alter(emptied, "CREATE TABLE users (name TEXT); DROP TABLE users");
    assertRefusedUntouched(
      emptied,
      "foreign",
      /is not a taos validator state \(it holds no tables\)/,
    );

    // A state whose index lost entries would replay fewer instructions without a word.
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(40, null), Array.from({ length: 40 }, (_, i) => injection(i + 1)));
    const { pageSize, root } = rootPageOf(path, "injections_by_publish");
    const file = bytes(path);
    for (let i = 1; i <= 24; i++) file[root * pageSize - i] ^= 0x5a;
    Deno.writeFileSync(path, file);
    assertRefusedUntouched(path, "damaged", /is damaged \(SQLite integrity check: /);
  }));

Deno.test("store: a state missing one of its tables is damaged, not resumed without its history", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(3, scorerAfter(3)), [injection(1)]);
    alter(path, "DROP TABLE inventory");
    assertRefused(
      path,
      "damaged",
      /has no inventory table: it is damaged, or was written by an early taos release/,
    );
  }));

Deno.test("store: a state written before the application id is still opened, and marked", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(3, null), [injection(1)]);
    alter(path, "PRAGMA application_id = 0");
    const reopened = ValidatorStore.open(path);
    assert.equal(reopened.load()?.snapshot.step, 3);
    reopened.close();
    const check = new DatabaseSync(path);
    const id = check.prepare("PRAGMA application_id").get() as { application_id: number };
    check.close();
    assert.equal(id.application_id, 0x54414f53);
  }));

Deno.test("store: a state file deleted or replaced while open is written again, nothing lost", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    const store = ValidatorStore.open(path);
    assert.equal(store.save(snapshot(1, null), [injection(1)]), null);
    rmSync(path);
    rmSync(`${path}-wal`, { force: true });
    assert.match(
      store.save(snapshot(2, null), [injection(2)]) ?? "",
      /was deleted .* to .*state\.db$/,
    );
    assert.equal(store.save(snapshot(3, null), [injection(3)]), null);
    store.close();
    const reopened = ValidatorStore.open(path);
    const saved = reopened.load()!;
    assert.equal(saved.snapshot.step, 3);
    assert.deepEqual(saved.injections.map((i) => i.publish), [1, 2, 3]);

    // Replaced by someone else's file: that file is left alone, the state goes beside it.
    rmSync(path);
    rmSync(`${path}-wal`, { force: true });
    writeFileSync(path, "not ours");
    const notice = reopened.save(snapshot(4, null), [injection(4)]) ?? "";
    assert.match(notice, /was replaced by another file .* to .*state\.db\.recovered-\d+$/);
    assert.equal(Deno.readTextFileSync(path), "not ours");
    assert.equal(reopened.path, /to (\S+)$/.exec(notice)![1]);
    reopened.close();
    const recovered = ValidatorStore.open(/to (\S+)$/.exec(notice)![1]);
    assert.equal(recovered.load()?.snapshot.step, 4);
    recovered.close();
  }));

Deno.test("store: a save that cannot write a deleted state file again keeps nothing of itself", () =>
  inStateDir((dir) => {
    const parent = join(dir, "validator");
    const path = join(parent, "state.db");
    const store = ValidatorStore.open(path);
    try {
      assert.equal(store.save(snapshot(1, null), [injection(1)]), null);
      rmSync(parent, { recursive: true });
      // Nowhere to write the state again: the save fails, so its caller keeps its injections.
      assert.throws(() => store.save(snapshot(2, null), [injection(2)]), /unable to open/);
      mkdirSync(parent);
      assert.match(
        store.save(snapshot(3, null), [injection(2), injection(3)]) ?? "",
        /was deleted .* to .*state\.db$/,
      );
    } finally {
      store.close();
    }
    const reopened = ValidatorStore.open(path);
    const saved = reopened.load()!;
    reopened.close();
    assert.equal(saved.snapshot.step, 3);
    // The failed save's instructions once: twice, a restart would replay them twice.
    assert.deepEqual(saved.injections.map((i) => i.publish), [1, 2, 3]);
  }));

Deno.test("store: a database moved over the state while open is not given the state's log", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    const store = ValidatorStore.open(path);
    assert.equal(store.save(snapshot(1, null), [injection(1)]), null);
    const other = join(dir, "other.db");
    const db = new DatabaseSync(other);
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES ('precious')");
    db.close();
    renameSync(other, path);
    assert.match(store.save(snapshot(2, null), [injection(2)]) ?? "", /was replaced by another/);
    store.close();
    // The validator's write-ahead log, left at the path, would be read into the other database.
    assert.equal(existsSync(`${path}-wal`), false);
    const check = new DatabaseSync(path);
    assert.deepEqual(check.prepare("SELECT x FROM t").all().map((row) => row.x), ["precious"]);
    check.close();
  }));

Deno.test("store: each save is in the file itself, so a lost write-ahead log loses no save", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    const store = ValidatorStore.open(path);
    try {
      store.save(snapshot(1, null), [injection(1)]);
      store.save(snapshot(2, null), [injection(2)]);
      // What a crash followed by the loss of the -wal file leaves: the file alone.
      const copy = join(dir, "copy.db");
      writeFileSync(copy, Deno.readFileSync(path));
      const reopened = ValidatorStore.open(copy);
      const saved = reopened.load();
      reopened.close();
      assert.equal(saved?.snapshot.step, 2);
      assert.deepEqual(saved?.injections.map((i) => i.publish), [1, 2]);
    } finally {
      store.close();
    }
  }));

Deno.test("store: a damaged injection record is refused naming its publish and field", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(2, null), [injection(1), injection(2)]);
    const damaged = [[0, 10_000_000, [{ type: "PLACE_ORDER_MARKET", bookId: 1, direction: 0 }]]];
    replaceSecondInjections(path, deflateSync(JSON.stringify(damaged)));
    assertRefused(
      path,
      "damaged",
      /state file injections of publish 2 is invalid at 0\.2\.0\.volume/,
    );
  }));

Deno.test("store: a snapshot map keyed by something other than a uid is refused naming the key", () =>
  inStateDir((dir) => {
    for (
      const [field, key] of [["scores", "abc"], ["hotkeys", "-1"], ["scores", "65536"], [
        "hotkeys",
        "07",
      ]] as const
    ) {
      const path = join(dir, `${field}-${key}.db`);
      const value = field === "scores" ? 0.5 : "5A";
      saveOnce(path, { ...snapshot(1, null), [field]: { "0": value, [key]: value } }, []);
      assertRefused(
        path,
        "damaged",
        `${path} is damaged: state file snapshot is invalid at ${field}.${key}: ` +
          `key "${key}": not a uid (a whole number 0 to 65535)`,
      );
    }
  }));

Deno.test("store: an injected instruction with a bad choice is refused saying what it may be", () =>
  inStateDir((dir) => {
    const market = { type: "PLACE_ORDER_MARKET", bookId: 1, direction: 0, volume: 1 };
    const cases: [string, unknown[], string][] = [
      ["type", [[0, 0, [{ ...market, type: "PLACE_ORDER" }]]], 'is "PLACE_ORDER": must be one of '],
      ["direction", [[0, 0, [{ ...market, direction: 2 }]]], "must be 0 (buy) or 1 (sell)"],
      ["stpFlag", [[0, 0, [{ ...market, stpFlag: 7 }]]], "must be 0, 1, 2, 3 or 4"],
      ["currency", [[0, 0, [{ ...market, currency: 2 }]]], "must be 0 (base) or 1 (quote)"],
      ["live", [[-1, 0, [], { price: 1 }]], 'must be {"fundamental": <number>} or {"external"'],
    ];
    for (const [name, entries, problem] of cases) {
      const path = join(dir, `${name}.db`);
      saveOnce(path, snapshot(2, null), [injection(1), injection(2)]);
      replaceSecondInjections(path, deflateSync(JSON.stringify(entries)));
      const field = { type: "0.2.0.type", live: "0.3" }[name] ?? `0.2.0.${name}`;
      assert.throws(
        () => ValidatorStore.open(path),
        (e) =>
          e instanceof StateFileError && e.kind === "damaged" && e.message.includes(
            `state file injections of publish 2 is invalid at ${field}: ${problem}`,
          ),
      );
    }
  }));

Deno.test("store: an injection record changed under its checksum is refused, not replayed", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(2, null), [injection(1), injection(2)]);
    // Still a valid instruction, so only the checksum can tell: another volume than was given.
    const changed = [[0, 10_000_000, [{
      type: "PLACE_ORDER_MARKET",
      bookId: 1,
      direction: 0,
      volume: 2.5,
    }]]];
    replaceSecondInjections(path, deflateSync(JSON.stringify(changed)));
    assertRefused(
      path,
      "damaged",
      `${path} is damaged: state file injections of publish 2 fails its checksum`,
    );
  }));

Deno.test("store: an injection record that cannot be inflated is refused naming its publish", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(2, null), [injection(1), injection(2)]);
    replaceSecondInjections(path, new Uint8Array([0]));
    assertRefused(
      path,
      "damaged",
      `${path} is damaged: state file injections of publish 2 cannot be decoded: ` +
        "unexpected end of file",
    );
  }));

/** A state at step 3 left as a crash leaves it: its committed data in the `-wal` beside it. */
function crashedState(dir: string): { path: string; files: Map<string, Uint8Array> } {
  const path = join(dir, "state.db");
  saveOnce(path, snapshot(3, scorerAfter(3)), [injection(1), injection(2)]);
  // A save copies itself into the file at once; a kill -9 between its commit and that copy
  // leaves the commit in the -wal alone. A write of another connection stands in for it here.
  const db = new DatabaseSync(path);
  db.exec("DELETE FROM injections WHERE publish = 2");
  // Copied while open: the -wal is folded in only by a clean close.
  const files = new Map(
    ["", "-wal"].map((suffix) => [suffix, Deno.readFileSync(path + suffix)] as const),
  );
  db.close();
  for (const [suffix, bytes] of files) Deno.writeFileSync(path + suffix, bytes);
  return { path, files };
}

Deno.test("store: a clean close leaves the state and its lock file alone, after a restart and after a crash", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    const besideIt = () => [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
    saveOnce(path, snapshot(3, scorerAfter(3)), [injection(1)]);
    assert.deepEqual(besideIt(), ["state.db", "state.db-lock"]);
    // A restart reads the saved state through a read-only connection first.
    saveOnce(path, snapshot(4, scorerAfter(4)), [injection(2)]);
    assert.deepEqual(besideIt(), ["state.db", "state.db-lock"]);
    rmSync(path);
    rmSync(`${path}-lock`);
    crashedState(dir);
    const store = ValidatorStore.open(path);
    assert.equal(store.load()?.injections.length, 1, "the commit left in the -wal is read");
    store.close();
    assert.deepEqual(besideIt(), ["state.db", "state.db-lock"]);
  }));

Deno.test("store: an empty or missing state file beside its -wal is refused as cut off, the -wal kept", () =>
  inStateDir((dir) => {
    const { path, files } = crashedState(dir);
    const wal = files.get("-wal")!;
    assert.ok(wal.length > 0);
    for (const main of ["empty", "missing"]) {
      if (main === "empty") Deno.writeFileSync(path, new Uint8Array());
      else rmSync(path);
      assert.throws(
        () => ValidatorStore.open(path),
        (e) =>
          e instanceof StateFileError && e.kind === "damaged" &&
          e.message.includes(`is ${main} but its -wal file is there`),
      );
      assert.deepEqual(Deno.readFileSync(`${path}-wal`), wal, `${main}: the -wal is untouched`);
    }
  }));

Deno.test("store: a damaged state moved away leaves no cut-off state behind: the next start begins afresh", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(40, null), Array.from({ length: 40 }, (_, i) => injection(i + 1)));
    Deno.truncateSync(path, 3 * 4096);
    assertRefused(path, "damaged");
    // What the message asks: move the file away (its check may have left an empty -wal beside
    // it, which holds nothing).
    Deno.renameSync(path, `${path}.bad`);
    const fresh = ValidatorStore.open(path);
    try {
      assert.equal(fresh.load(), null);
    } finally {
      fresh.close();
    }
  }));

Deno.test("store: a damaged state is refused without its -wal being folded into it", () =>
  inStateDir((dir) => {
    const { path, files } = crashedState(dir);
    // The snapshot record is damaged (a negative step) in the committed data.
    const raw = new DatabaseSync(path);
    raw.exec(`UPDATE snapshot SET body = json_set(body, '$.step', -1)`);
    const damaged = new Map(
      ["", "-wal"].map((suffix) => [suffix, Deno.readFileSync(path + suffix)] as const),
    );
    raw.close();
    for (const [suffix, bytes] of damaged) Deno.writeFileSync(path + suffix, bytes);
    assert.notDeepEqual(damaged.get("-wal"), files.get("-wal"));
    assertRefused(path, "damaged", /step/);
    for (const [suffix, bytes] of damaged) {
      assert.deepEqual(Deno.readFileSync(path + suffix), bytes, `state.db${suffix} untouched`);
    }
  }));

Deno.test("store: a state from a newer layout is refused and kept; an unversioned one is marked", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(3, null), [injection(1)]);
    assert.equal(layoutOf(path), 3);
    alter(path, "PRAGMA user_version = 0");
    const unversioned = ValidatorStore.open(path);
    assert.equal(unversioned.load()?.snapshot.step, 3);
    unversioned.close();
    assert.equal(layoutOf(path), 3);
    alter(path, "PRAGMA user_version = 4");
    assertRefused(
      path,
      "foreign",
      /written by a newer taos release \(state layout 4; this release reads layout 3\)/,
    );
    assert.equal(layoutOf(path), 4);
  }));

Deno.test("store: clearing a state is one transaction: a failure half-way keeps all of it", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(3, scorerAfter(3)), [injection(1), injection(2)]);
    const raw = new DatabaseSync(path);
    raw.exec(
      "CREATE TRIGGER keep BEFORE DELETE ON inventory BEGIN SELECT RAISE(ABORT, 'kept'); END",
    );
    raw.close();
    const clearing = ValidatorStore.open(path);
    assert.throws(() => clearing.clear(), /kept/);
    clearing.close();
    alter(path, "DROP TRIGGER keep");
    const after = ValidatorStore.open(path);
    const saved = after.load();
    after.close();
    assert.equal(saved?.snapshot.step, 3);
    assert.equal(saved?.injections.length, 2);
  }));

Deno.test("store: a state is its owner's: another validator is refused, an unmarked state adopted", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    const unmarked = ValidatorStore.open(path);
    unmarked.save(snapshot(3, null), [injection(1)]);
    unmarked.close();
    const first = ValidatorStore.open(path);
    first.claim("5Alice@netuid79"); // saved before owners were recorded: adopted
    first.save(snapshot(4, null), []);
    first.close();
    const other = ValidatorStore.open(path);
    for (const owner of ["5Bob@netuid79", "5Alice@local", "5Alice@netuid116"]) {
      assert.throws(
        () => other.claim(owner),
        (e) =>
          e instanceof StateFileError && e.kind === "owned" &&
          e.message.endsWith(
            `is the state of validator 5Alice@netuid79, not of this one (${owner})`,
          ),
      );
    }
    other.claim("5Alice@netuid79");
    assert.equal(other.load()?.snapshot.step, 4);
    other.close();
  }));

Deno.test("store: a write probe left by a validator killed while opening (same pid) does not block", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(2, null), [injection(1)]);
    // In a container the validator gets the same pid at every start.
    writeFileSync(`${path}-probe-${Deno.pid}`, "");
    const reopened = ValidatorStore.open(path);
    assert.equal(reopened.load()?.snapshot.step, 2);
    reopened.close();
  }));

Deno.test("store: a page too damaged for the integrity check is damage, named with the file", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(40, null), Array.from({ length: 40 }, (_, i) => injection(i + 1)));
    const { pageSize, root } = rootPageOf(path, "snapshot");
    const file = bytes(path);
    // Not a b-tree page type any more: SQLite's check stops with SQLITE_CORRUPT.
    file[(root - 1) * pageSize] = 0;
    Deno.writeFileSync(path, file);
    assert.throws(
      () => ValidatorStore.open(path),
      (e) =>
        e instanceof StateFileError && e.kind === "damaged" &&
        e.message.startsWith(`${path} is damaged: `),
    );
    assert.deepEqual(bytes(path), file, "left as it was");
  }));

Deno.test("store: a symbolic link loop, a directory or a file in the way is named, never replaced", () =>
  inStateDir((dir) => {
    const loop = join(dir, "loop.db");
    symlinkSync(join(dir, "other.db"), loop);
    symlinkSync(loop, join(dir, "other.db"));
    assertRefused(loop, "foreign", `${loop} is a symbolic link that loops`);
    const folder = join(dir, "folder.db");
    mkdirSync(folder);
    assert.throws(() => ValidatorStore.open(folder), { message: `${folder} is not a file` });
    // The refusal leaves no folder.db-lock behind.
    assert.equal(existsSync(`${folder}-lock`), false);
    const file = join(dir, "file");
    writeFileSync(file, "notes");
    assert.throws(
      () => ValidatorStore.open(join(file, "state.db")),
      (e) =>
        e instanceof StateFileError &&
        e.message === `${join(file, "state.db")} cannot be created: ${file} is not a directory`,
    );
    // Deeper down (a --logging.logging_dir that is a file), the file in the way is named, not
    // the state's own directory, which does not exist.
    const nested = join(file, "taos", "validator", "state.db");
    assert.throws(
      () => ValidatorStore.open(nested),
      (e) =>
        e instanceof StateFileError &&
        e.message === `${nested} cannot be created: ${file} is not a directory`,
    );
    assert.equal(Deno.readTextFileSync(file), "notes");
  }));

Deno.test("store: a flipped bit in a stored value fails its row's checksum instead of resuming", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(4, scorerAfter(4)), [injection(1)]);
    const raw = new DatabaseSync(path, { readOnly: true });
    const vals = (raw.prepare("SELECT vals FROM inventory WHERE step = 3").get() as {
      vals: Uint8Array;
    }).vals;
    raw.close();
    const file = bytes(path);
    // Step 3's values, found in the file as SQLite stored them.
    const at = Buffer.from(file).indexOf(vals);
    assert.ok(at > 0 && Buffer.from(file).indexOf(vals, at + 1) === -1, "found once");
    file[at] ^= 1;
    Deno.writeFileSync(path, file);
    assertRefusedUntouched(
      path,
      "damaged",
      `${path} is damaged: state file inventory row of step 3 fails its checksum`,
    );
  }));

Deno.test("store: past three rows failing their checksum, the error names three and counts the rest", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(6, scorerAfter(6)), []);
    const failing = (rows: number) => {
      const raw = new DatabaseSync(path);
      // A value changed under the stored checksum, in steps 1 … `rows`.
      raw.prepare("UPDATE inventory SET vals = zeroblob(length(vals)) WHERE step <= ?").run(rows);
      raw.close();
      try {
        ValidatorStore.open(path).close();
        return "opened";
      } catch (error) {
        return (error as Error).message;
      }
    };
    const rows = (steps: number[]) => steps.map((s) => `inventory row of step ${s}`).join(", ");
    assert.equal(
      failing(3),
      `${path} is damaged: state file ${rows([1, 2, 3])} fail their checksum`,
    );
    assert.equal(
      failing(4),
      `${path} is damaged: state file ${rows([1, 2, 3])} and 1 more rows fail their checksum`,
    );
  }));

Deno.test("store: a layout 1 state (no checksums) is read, and gains them at its first save", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    // Two saves log under one publish (a round's replies, then the next round's live prices).
    const writer = ValidatorStore.open(path);
    writer.save(snapshot(3, scorerAfter(3)), [injection(1)]);
    writer.save(snapshot(3, scorerAfter(3)), [injection(1, 0, 1)]);
    writer.close();
    const raw = new DatabaseSync(path);
    for (const table of ["snapshot", "inventory", "injections"]) {
      raw.exec(`ALTER TABLE ${table} DROP COLUMN crc`);
    }
    raw.exec("PRAGMA user_version = 1");
    raw.close();
    const layout1 = bytes(path);
    const old = ValidatorStore.open(path);
    assert.equal(old.load()?.snapshot.step, 3);
    old.close();
    assert.deepEqual(bytes(path), layout1, "opening and reading change nothing");
    // Without a recorded layout, tables without checksums are layout 1, and are marked so.
    alter(path, "PRAGMA user_version = 0");
    ValidatorStore.open(path).close();
    assert.equal(layoutOf(path), 1);
    const saving = ValidatorStore.open(path);
    const saved = saving.load()!;
    const scorer = Scorer.fromJSON(saved.snapshot.scoring!, { uids: 3, books: 2 });
    scorerAfter(2, scorer, 4);
    saving.save(snapshot(5, scorer), [injection(4)]);
    saving.close();
    assert.equal(layoutOf(path), 3);
    const raw2 = new DatabaseSync(path, { readOnly: true });
    const unchecked = raw2.prepare(
      "SELECT (SELECT count(*) FROM inventory WHERE crc IS NULL) AS inventory, " +
        "(SELECT count(*) FROM injections WHERE crc IS NULL) AS injections",
    ).get() as { inventory: number; injections: number };
    raw2.close();
    // The rows written before get their checksums with the column.
    assert.deepEqual({ ...unchecked }, { inventory: 0, injections: 0 });
    const reopened = ValidatorStore.open(path);
    const again = reopened.load()!;
    reopened.close();
    assert.equal(again.snapshot.step, 5);
    assert.deepEqual(again.injections.map((i) => [i.publish, i.agentId]), [[1, 0], [1, 1], [4, 0]]);
    assert.deepEqual(
      Scorer.fromJSON(again.snapshot.scoring!, { uids: 3, books: 2 }).miners[2].inventory,
      scorer.miners[2].inventory,
    );
    // A row written before the upgrade is now checked like the others.
    alter(path, "UPDATE inventory SET vals = zeroblob(length(vals)) WHERE step = 1");
    assert.throws(() => ValidatorStore.open(path), StateFileError);
  }));

Deno.test("store: a restarted scorer's maker, taker and self volumes are an uninterrupted one's", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    const options = { uids: 2, books: 1, config: SHORT_WINDOW };
    const live = tradeRoles(new Scorer(options), 1, 12);
    saveOnce(path, snapshot(12, live), []);
    const store = ValidatorStore.open(path);
    const restored = Scorer.fromJSON(store.load()!.snapshot.scoring!, options);
    store.close();
    // What the metrics show: each role's volume comes back in its buckets, not as one sum in the
    // newest bucket, which would go on counting after the buckets it came from had aged out.
    const shown = (scorer: Scorer) =>
      volumesOf(scorer).map((books) =>
        books.map((roles) =>
          Object.fromEntries(
            Object.entries(roles).map(([role, buckets]) => [
              role,
              buckets.reduce((sum, [, volume]) => sum + volume, 0),
            ]),
          )
        )
      );
    for (let s = 13; s <= 20; s++) {
      assert.deepEqual(shown(restored), shown(live), `before publish ${s}`);
      assert.deepEqual(volumesOf(restored), volumesOf(live), `before publish ${s}`);
      tradeRoles(live, s, s);
      tradeRoles(restored, s, s);
    }
  }));

/**
 * Rewrites the snapshot saved at `path` as layout 2 had it: each role's volume as one sum per book
 * in the JSON part, and only the total buckets in the volume block (count, keys, volumes).
 */
function asLayout2(path: string, scorer: Scorer): void {
  const db = new DatabaseSync(path);
  const row = db.prepare("SELECT body, saved_at FROM snapshot WHERE id = 1").get() as {
    body: string;
    saved_at: number;
  };
  const body = JSON.parse(row.body);
  const saved = scorer.toJSON();
  const numbers = [saved.miners.length, saved.books];
  saved.miners.forEach((miner, uid) => {
    const sums = (role: "maker" | "taker" | "self") =>
      miner.volumes.map((book) => book[role].reduce((sum, [, volume]) => sum + volume, 0));
    body.scoring.miners[uid].roles = {
      maker: sums("maker"),
      taker: sums("taker"),
      self: sums("self"),
    };
    for (const book of miner.volumes) {
      numbers.push(book.total.length, ...book.total.map(([key]) => key));
      numbers.push(...book.total.map(([, volume]) => volume));
    }
  });
  const text = JSON.stringify(body);
  const volumes = new Uint8Array(new Float64Array(numbers).buffer);
  const crc = crc32(volumes, crc32(Buffer.from(text, "utf8"), crc32(String(row.saved_at))));
  db.prepare("UPDATE snapshot SET body = ?, volumes = ?, crc = ? WHERE id = 1").run(
    text,
    volumes,
    crc,
  );
  db.exec("PRAGMA user_version = 2");
  db.close();
}

Deno.test("store: a layout 2 state's role volume sums are spread over its buckets, and age out with them", () =>
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    const options = { uids: 2, books: 1, config: SHORT_WINDOW };
    const live = tradeRoles(new Scorer(options), 1, 12);
    saveOnce(path, snapshot(12, live), []);
    asLayout2(path, live);
    const store = ValidatorStore.open(path);
    const restored = Scorer.fromJSON(store.load()!.snapshot.scoring!, options);
    store.close();
    assert.equal(layoutOf(path), 2, "opening and reading leave the layout as it was");

    const [book, liveBook] = [restored.miners[0].volumes[0], live.miners[0].volumes[0]];
    assert.deepEqual([...book.total], [...liveBook.total]);
    const total = [...book.total.values()].reduce((sum, volume) => sum + volume, 0);
    for (const role of ["maker", "taker", "self"] as const) {
      const sum = [...liveBook[role].values()].reduce((sum, volume) => sum + volume, 0);
      // Each bucket holds the role's share of the sum in proportion to the bucket's total volume.
      assert.deepEqual(
        [...book[role]].map(([key, volume]) => [key, Math.round(volume * 1e6) / 1e6]),
        [...book.total].map(([key, volume]) => [key, Math.round(sum * volume / total * 1e6) / 1e6]),
        role,
      );
    }
    assert.deepEqual(volumesOf(restored)[1], volumesOf(live)[1], "uid 1 never traded");

    // Once the saved buckets have aged out (30 s), the volumes are those of an uninterrupted run.
    tradeRoles(live, 13, 19);
    tradeRoles(restored, 13, 19);
    assert.deepEqual(volumesOf(restored), volumesOf(live));

    // The first save writes layout 3, whose buckets come back as they were saved.
    const saving = ValidatorStore.open(path);
    saving.load();
    saving.save(snapshot(19, restored), []);
    saving.close();
    assert.equal(layoutOf(path), 3);
    const reopened = ValidatorStore.open(path);
    const again = Scorer.fromJSON(reopened.load()!.snapshot.scoring!, options);
    reopened.close();
    assert.deepEqual(volumesOf(again), volumesOf(live));
  }));

Deno.test({
  ...needsStrace(
    "a validator killed at any fsync of a new state file's setup restarts on it, as new",
  ),
  fn: async () => {
    const dir = mkdtempSync(join(tmpdir(), "taos-store-setup-"));
    try {
      const store = fileURLToPath(new URL("../../validator/store.ts", import.meta.url));
      /** Opens a new state at `path` under strace, killed at its `kill`-th fsync (0: none). */
      const setUp = async (path: string, kill: number) => {
        const trace = kill === 0
          ? ["-e", "trace=fsync"]
          : ["-e", "trace=fsync", "-e", `inject=fsync:signal=SIGKILL:when=${kill}`];
        const script = `const { ValidatorStore } = await import(${JSON.stringify(store)});
          ValidatorStore.open(${JSON.stringify(path)}).close();`;
        return await new Deno.Command("strace", {
          args: ["-f", "-qq", ...trace, Deno.execPath(), "eval", script],
          stdout: "null",
          stderr: "piped",
        }).output();
      };
      const whole = await setUp(join(dir, "whole.db"), 0);
      assert.equal(whole.code, 0, new TextDecoder().decode(whole.stderr));
      const fsyncs = new TextDecoder().decode(whole.stderr).split("\n")
        .filter((line) => /fsync\(\d+\)\s+= 0/.test(line)).length;
      assert.ok(fsyncs >= 3, `${fsyncs} fsyncs`);
      // A kill at any fsync leaves a file that opens as new, never one refused as cut off,
      // unreadable or damaged (after a kill at the second, even --neuron.reset would not help).
      for (let kill = 1; kill <= fsyncs; kill++) {
        const path = join(dir, `killed-${kill}.db`);
        const killed = await setUp(path, kill);
        assert.notEqual(killed.code, 0, `fsync ${kill} of ${fsyncs} was not reached`);
        const reopened = ValidatorStore.open(path);
        try {
          assert.equal(reopened.load(), null, `killed at fsync ${kill}`);
        } finally {
          reopened.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

/** Leaves `path` as a process killed inside a large transaction leaves it: a hot `-journal`. */
async function killedMidTransaction(path: string, setUp: string): Promise<void> {
  const script = `import { DatabaseSync } from "node:sqlite";
    const db = new DatabaseSync(${JSON.stringify(path)});
    ${setUp}
    db.exec("PRAGMA cache_size = 2; BEGIN");
    const insert = db.prepare("INSERT INTO notes VALUES (?)");
    for (let i = 0; i < 2000; i++) insert.run("x".repeat(200));
    console.log("ready");
    setInterval(() => {}, 1000); // alive until killed (a bare pending promise would let it exit)`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  while (!said.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) break;
    said += value;
  }
  if (said.includes("ready")) child.kill("SIGKILL");
  await child.status;
  assert.ok(said.includes("ready"), "the transaction was never under way");
  assert.ok(statSync(`${path}-journal`).size > 0, "a hot journal");
}

Deno.test("another program's database with a hot journal is refused and left exactly as it was", async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-store-hot-"));
  try {
    const path = join(dir, "notes.db");
    await killedMidTransaction(
      path,
      `db.exec("CREATE TABLE notes (t TEXT)");
      for (let i = 0; i < 50; i++) db.prepare("INSERT INTO notes VALUES (?)").run("y".repeat(200));`,
    );
    const before = [path, `${path}-journal`].map((p) => readFileSync(p));
    assert.throws(() => ValidatorStore.open(path), StateFileError);
    // Left alone: the journal is not rolled back into the file, nor deleted.
    assert.deepEqual([path, `${path}-journal`].map((p) => readFileSync(p)), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a missing state beside a -wal and a -journal is refused as cut off, the -wal kept", () => {
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    const store = ValidatorStore.open(path);
    store.close();
    // A committed write held in the -wal only, as a crash leaves it.
    const db = new DatabaseSync(path);
    db.exec("PRAGMA wal_autocheckpoint = 0");
    db.exec("CREATE TABLE extra (x)");
    const wal = readFileSync(`${path}-wal`);
    db.close();
    rmSync(path);
    writeFileSync(`${path}-wal`, wal);
    writeFileSync(`${path}-journal`, new Uint8Array(512).fill(7));
    assert.throws(() => ValidatorStore.open(path), /is missing but its -wal file is there/);
    assert.deepEqual(readFileSync(`${path}-wal`), wal);
  });
});

Deno.test("a state whose first page lost its table list is refused as damaged, not taken as new", () => {
  inStateDir((dir) => {
    const path = join(dir, "state.db");
    saveOnce(path, snapshot(4, scorerAfter(4)), [injection(1), injection(2)]);
    const bytes = readFileSync(path);
    // The schema's cell count (page 1, after the 100-byte file header) set to 0.
    bytes.writeUInt16BE(0, 103);
    writeFileSync(path, bytes);
    assert.throws(() => ValidatorStore.open(path), StateFileError);
    assert.deepEqual(readFileSync(path), bytes);
  });
});
