import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { SimOutputs, writeJsonFile } from "../../sim/outputs.ts";
import { checkRebuiltBooks, checkRunFiles, writeMarginConfig } from "./output_files.ts";
import { taos } from "./taos_process.ts";

const DEPTH = 100;

Deno.test("the events and trades files rebuild every L2 row of a run, margin orders included", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const margin = await writeMarginConfig(dir);
    for (
      const [name, configArg, seed] of [["small", "small", "7"], ["margin", margin, "3"]] as const
    ) {
      const out = join(dir, name);
      const run = await taos(
        "sim",
        ...["--config", configArg, "--duration", "10m", "--seed", seed, "--depth", String(DEPTH)],
        ...["--quiet", "--out", out],
      );
      assert.equal(run.code, 0, run.stderr);
      checkRunFiles(out, DEPTH);
      const rebuilt = checkRebuiltBooks(out, DEPTH);
      assert.equal(rebuilt.rows, 2 * 120, `${name}: every L2 row of both books`);
      if (name === "margin") assert.ok(rebuilt.marginFills > 20, `${name}: margin orders filled`);
      else assert.equal(rebuilt.marginFills, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an L2 row holds the events stamped before it: one at its instant is in the next row", async () => {
  const dir = await Deno.makeTempDir();
  const config = { ...smallPreset(), books: 1, duration: 60e9, remoteAgentCount: 1 };
  const engine = SimEngine.create({ config, seed: 5, threads: 1 });
  const outputs = new SimOutputs(dir, engine, DEPTH);
  try {
    writeJsonFile(join(dir, "config.json"), config);
    const step = config.step;
    let bid = 0;
    for (let window = engine.steps(1, DEPTH); window !== null; window = engine.steps(1, DEPTH)) {
      for (const recorded of window) {
        outputs.writeEvents(0, recorded.rawEvents(0));
        outputs.writeStep(recorded.timestamp, recorded);
        bid = recorded.levels(0, 0, 1)[0].price;
        if (recorded.timestamp === 10e9) {
          // Arrives at 15 s exactly, a publish instant: a bid below the best, so that it rests.
          engine.inject(0, [
            { type: "PLACE_ORDER_LIMIT", bookId: 0, direction: 0, volume: 2, price: bid - 0.5 },
          ], step);
        } else if (recorded.timestamp === 30e9) {
          // A reset acts at the publish instant itself, after that instant's row.
          engine.inject(0, [{ type: "RESET_AGENT" }], 0);
        }
      }
    }
    outputs.close();
    const remote = readFileSync(join(dir, "events-0.csv"), "utf8").split("\n")
      .filter((line) => line.split(",")[3] === "0").map((line) => line.split(",").slice(0, 2));
    assert.deepEqual(remote, [["15000000000", "place_limit"], ["30000000000", "cancel"]]);
    assert.equal(checkRebuiltBooks(dir, DEPTH).rows, 12);
  } finally {
    engine.close();
    await Deno.remove(dir, { recursive: true });
  }
});
