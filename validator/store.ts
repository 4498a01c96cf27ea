/**
 * The validator's durable state in one SQLite file (`node:sqlite`): a snapshot of everything that
 * must survive a restart (scores, scoring windows, miner bookkeeping, the simulation's replay
 * point) and the log of instructions injected into the current simulation, so that a restart can
 * rebuild the simulation deterministically from its seed.
 *
 * Each {@linkcode ValidatorStore.save} is one transaction: after `kill -9` at any instant the file
 * holds either the previous or the new snapshot, never a mix, and the injection log always matches
 * the snapshot's publish count.
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
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import type { Instruction } from "../sim/engine.ts";

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
}

/** Everything the validator persists besides the injection log. */
export interface ValidatorSnapshot {
  simulation: SimulationPoint;
  /** Publishes answered since the validator first started (all simulations). */
  step: number;
  /** Hotkey per uid as last seen, to detect re-registrations. */
  hotkeys: Record<string, string>;
  /** Smoothed score per uid. */
  scores: Record<string, number>;
  /** The scoring model's own windows (inventory history, volumes, activity factors). */
  scoring: unknown;
  /** UIDs whose accounts must be reset in the simulation. */
  pendingResets: number[];
  /** Wall ms of the last weight submission, null before the first. */
  lastWeightsAt: number | null;
}

/** One miner's instructions injected at one publish. */
export interface Injection {
  simulation: number;
  /** The publish (1-based count within the simulation) after which they were injected. */
  publish: number;
  agentId: number;
  delayNs: number;
  instructions: Instruction[];
}

const snapshotSchema = z.object({
  simulation: z.object({
    index: z.number().int().nonnegative(),
    seed: z.number().int().nonnegative(),
    publishes: z.number().int().nonnegative(),
    timestamp: z.number().nonnegative(),
    config: z.unknown().optional(),
  }),
  step: z.number().int().nonnegative(),
  hotkeys: z.record(z.string(), z.string()),
  scores: z.record(z.string(), z.number()),
  scoring: z.unknown(),
  pendingResets: z.array(z.number().int().nonnegative()),
  lastWeightsAt: z.number().nullable(),
});

/** What {@linkcode ValidatorStore.load} returns. */
export interface SavedState {
  snapshot: ValidatorSnapshot;
  /** Injections of the snapshot's simulation, in publish order. */
  injections: Injection[];
  /** Wall ms at which the snapshot was written. */
  savedAt: number;
}

/** The SQLite state file: see the module doc. */
export class ValidatorStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed) the state file and its directory. */
  static open(path: string): ValidatorStore {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec(`CREATE TABLE IF NOT EXISTS snapshot (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      body TEXT NOT NULL,
      saved_at INTEGER NOT NULL
    )`);
    db.exec(`CREATE TABLE IF NOT EXISTS injections (
      simulation INTEGER NOT NULL,
      publish INTEGER NOT NULL,
      agent_id INTEGER NOT NULL,
      delay_ns INTEGER NOT NULL,
      instructions TEXT NOT NULL
    )`);
    db.exec(
      "CREATE INDEX IF NOT EXISTS injections_by_publish ON injections (simulation, publish)",
    );
    return new ValidatorStore(db);
  }

  /** The last saved state, or null when none was ever saved. Throws if the file is unreadable. */
  load(): SavedState | null {
    const row = this.#db.prepare("SELECT body, saved_at FROM snapshot WHERE id = 1").get() as
      | { body: string; saved_at: number }
      | undefined;
    if (row === undefined) return null;
    const parsed = snapshotSchema.safeParse(JSON.parse(row.body));
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new Error(
        `state file snapshot is invalid at ${first?.path.join(".") ?? "(root)"}: ${first?.message}`,
      );
    }
    const snapshot = parsed.data as ValidatorSnapshot;
    const rows = this.#db.prepare(
      `SELECT publish, agent_id, delay_ns, instructions FROM injections
       WHERE simulation = ? AND publish <= ? ORDER BY rowid`,
    ).all(snapshot.simulation.index, snapshot.simulation.publishes) as {
      publish: number;
      agent_id: number;
      delay_ns: number;
      instructions: string;
    }[];
    return {
      snapshot,
      savedAt: Number(row.saved_at),
      injections: rows.map((r) => ({
        simulation: snapshot.simulation.index,
        publish: Number(r.publish),
        agentId: Number(r.agent_id),
        delayNs: Number(r.delay_ns),
        instructions: JSON.parse(r.instructions) as Instruction[],
      })),
    };
  }

  /**
   * Atomically writes the snapshot and appends the injections made since the previous save.
   * Injections of older simulations are dropped (a new simulation never replays them).
   */
  save(snapshot: ValidatorSnapshot, injections: readonly Injection[]): void {
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      db.prepare("DELETE FROM injections WHERE simulation <> ? OR publish > ?").run(
        snapshot.simulation.index,
        snapshot.simulation.publishes,
      );
      const insert = db.prepare(
        "INSERT INTO injections (simulation, publish, agent_id, delay_ns, instructions) VALUES (?, ?, ?, ?, ?)",
      );
      for (const injection of injections) {
        if (injection.simulation !== snapshot.simulation.index) continue;
        if (injection.publish > snapshot.simulation.publishes) continue;
        insert.run(
          injection.simulation,
          injection.publish,
          injection.agentId,
          injection.delayNs,
          JSON.stringify(injection.instructions),
        );
      }
      db.prepare(
        "INSERT INTO snapshot (id, body, saved_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, saved_at = excluded.saved_at",
      ).run(JSON.stringify(snapshot), Date.now());
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Deletes everything (`--neuron.reset`). */
  clear(): void {
    this.#db.exec("DELETE FROM snapshot; DELETE FROM injections;");
  }

  /** Closes the file. */
  close(): void {
    this.#db.close();
  }
}
