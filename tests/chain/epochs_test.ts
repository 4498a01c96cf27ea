import assert from "node:assert/strict";
import {
  type EpochSchedule,
  epochStartBlock,
  MAX_TEMPO,
  nextBlockEpoch,
} from "../../chain/epochs.ts";

const counter = (
  over: Partial<Extract<EpochSchedule, { kind: "counter" }>> = {},
): EpochSchedule => ({
  kind: "counter",
  block: 1000,
  tempo: 360,
  index: 40,
  lastEpochBlock: 700,
  pendingEpochAt: 0,
  blocksSinceLastStep: 299,
  ...over,
});

Deno.test("the formula schedule counts the next block by (block + netuid + 1) / (tempo + 1)", () => {
  const at = (block: number) => nextBlockEpoch({ kind: "formula", block, netuid: 79, tempo: 360 });
  // Block 1003 is the first of epoch 3 for netuid 79.
  assert.equal(at(1001), 2);
  assert.equal(at(1002), 3);
  assert.equal(epochStartBlock({ kind: "formula", block: 0, netuid: 79, tempo: 360 }, 3), 1003);
});

Deno.test("the epoch counter adds the look-ahead only when the next block fires an epoch", () => {
  assert.equal(nextBlockEpoch(counter()), 40, "1001 is 301 blocks after the last epoch");
  assert.equal(nextBlockEpoch(counter({ block: 1058 })), 40, "1059 is one block short");
  assert.equal(nextBlockEpoch(counter({ block: 1059 })), 41, "1060 is tempo blocks after 700");
  // Owner-triggered, or deferred to the next block by the per-block epoch cap.
  assert.equal(nextBlockEpoch(counter({ pendingEpochAt: 1001 })), 41);
  assert.equal(nextBlockEpoch(counter({ pendingEpochAt: 1002 })), 40);
  // A pending epoch whose block has passed (deferred by the cap) still fires in the next block.
  assert.equal(nextBlockEpoch(counter({ pendingEpochAt: 995 })), 41);
  // The step counter grows before it is compared with MAX_TEMPO.
  assert.equal(nextBlockEpoch(counter({ blocksSinceLastStep: MAX_TEMPO })), 41);
  assert.equal(nextBlockEpoch(counter({ blocksSinceLastStep: MAX_TEMPO - 1 })), 40);
  // A subnet with tempo 0 never runs an epoch.
  assert.equal(nextBlockEpoch(counter({ tempo: 0, pendingEpochAt: 1001 })), 40);
  assert.equal(epochStartBlock(counter(), 42), 700 + 2 * 360);
});
