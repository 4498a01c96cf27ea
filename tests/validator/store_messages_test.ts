import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { DatabaseSync } from "node:sqlite";
import { deflateSync } from "node:zlib";
import type { Instruction } from "../../sim/engine.ts";
import {
  type Injection,
  StateFileError,
  type ValidatorSnapshot,
  ValidatorStore,
} from "../../validator/store.ts";

/** Runs `test` with a fresh directory for state files, removed once it has finished. */
function inStateDir(test: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "taos-store-messages-"));
  try {
    test(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A state after `publishes` publishes of simulation 0, with these uid maps. */
function snapshot(
  publishes: number,
  hotkeys: Record<string, string> = { "0": "5A" },
  scores: Record<string, number> = { "0": 0.5 },
): ValidatorSnapshot {
  return {
    simulation: { index: 0, seed: 7, publishes, timestamp: publishes * 5e9 },
    step: publishes,
    hotkeys,
    scores,
    scoring: null,
    pendingResets: [],
    lastWeightsAt: null,
  };
}

function injection(publish: number, instructions: Instruction[], live?: Injection["live"]) {
  return {
    simulation: 0,
    publish,
    agentId: live === undefined ? 0 : -1,
    delayNs: 10_000_000,
    instructions,
    ...(live !== undefined && { live }),
  };
}

/** What a store opened afresh on `path` loads from the state saved there. */
function saveAndLoad(path: string, state: ValidatorSnapshot, injections: Injection[]) {
  const store = ValidatorStore.open(path);
  store.save(state, injections);
  store.close();
  const reopened = ValidatorStore.open(path);
  try {
    return reopened.load();
  } finally {
    reopened.close();
  }
}

const market = { type: "PLACE_ORDER_MARKET", bookId: 1, direction: 0, volume: 1 } as const;
const limit = { ...market, type: "PLACE_ORDER_LIMIT", price: 100 } as const;

Deno.test("store messages: every uid from 0 to 65535 keys the snapshot's maps", () =>
  inStateDir((dir) => {
    // The extremes of each decimal width, up to the u16 ceiling the chain numbers neurons by.
    const uids = ["0", "9", "10", "9999", "10000", "65535"];
    const hotkeys = Object.fromEntries(uids.map((uid) => [uid, `5${uid}`]));
    const scores = Object.fromEntries(uids.map((uid, i) => [uid, i / 10]));
    const saved = saveAndLoad(join(dir, "state.db"), snapshot(1, hotkeys, scores), []);
    assert.deepEqual(saved?.snapshot.hotkeys, hotkeys);
    assert.deepEqual(saved?.snapshot.scores, scores);
  }));

Deno.test("store messages: every choice an injected instruction may take is resumed as it was", () =>
  inStateDir((dir) => {
    const injections: Injection[] = [
      injection(1, [
        ...([0, 1] as const).map((direction) => ({ ...limit, direction })),
        ...([0, 1, 2, 3] as const).map((timeInForce) => ({ ...limit, timeInForce })),
        ...([0, 1, 2, 3, 4] as const).map((stpFlag) => ({ ...limit, stpFlag })),
      ]),
      injection(1, [
        ...([0, 1] as const).map((direction) => ({ ...market, direction })),
        ...([0, 1, 2, 3, 4] as const).map((stpFlag) => ({ ...market, stpFlag })),
        ...([0, 1] as const).map((currency) => ({ ...market, currency })),
      ]),
      injection(1, [], { fundamental: 101.5 }),
      injection(1, [], { external: [99.5, 100] }),
    ];
    const saved = saveAndLoad(join(dir, "state.db"), snapshot(1), injections);
    assert.deepEqual(saved?.injections, injections);
  }));

/** The message of the refusal to open a state whose publish 1 injections are stored as `body`. */
function refusalOf(dir: string, name: string, body: string): string {
  const path = join(dir, `${name}.db`);
  const store = ValidatorStore.open(path);
  store.save(snapshot(1), [injection(1, [market])]);
  store.close();
  const db = new DatabaseSync(path);
  db.prepare("UPDATE injections SET body = ? WHERE publish = 1").run(deflateSync(body));
  db.close();
  try {
    ValidatorStore.open(path).close();
  } catch (error) {
    assert.ok(error instanceof StateFileError && error.kind === "damaged", String(error));
    return error.message.slice(error.message.indexOf("state file "));
  }
  assert.fail(`${name}: the state was opened`);
}

Deno.test("store messages: an injection with a choice beyond those taken is refused naming it", () =>
  inStateDir((dir) => {
    const cases: [string, unknown, string][] = [
      [
        "timeInForce",
        [[0, 0, [{ ...limit, timeInForce: 4 }]]],
        "0.2.0.timeInForce: must be 0, 1, 2 or 3",
      ],
      [
        "limitStpFlag",
        [[0, 0, [{ ...limit, stpFlag: 5 }]]],
        "0.2.0.stpFlag: must be 0, 1, 2, 3 or 4",
      ],
      [
        "limitDirection",
        [[0, 0, [{ ...limit, direction: -1 }]]],
        "0.2.0.direction: must be 0 (buy) or 1 (sell)",
      ],
      // Both forms at once, or a price JSON reads as infinite (1e999), are no live prices.
      [
        "bothLive",
        [[-1, 0, [], { fundamental: 1, external: [1] }]],
        '0.3: must be {"fundamental": <number>} or {"external": [<number>, ...]}',
      ],
      [
        "infiniteExternal",
        '[[-1, 0, [], {"external": [1e999]}]]',
        '0.3: must be {"fundamental": <number>} or {"external": [<number>, ...]}',
      ],
    ];
    for (const [name, entries, problem] of cases) {
      const body = typeof entries === "string" ? entries : JSON.stringify(entries);
      assert.equal(
        refusalOf(dir, name, body),
        `state file injections of publish 1 is invalid at ${problem}`,
        name,
      );
    }
  }));
