import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const backtestModule = new URL("../../agents/backtest.ts", import.meta.url).href;

/**
 * Runs, in a child with the collector exposed, 400 steps through the backtest's memory watch, each
 * resolving to 1 MiB of numbers, and prints the heap's growth once they have all settled.
 */
const script = `
import { watchProcessMemory } from ${JSON.stringify(backtestModule)};
const watch = watchProcessMemory("A", 1, 1_048_576, "--agent-max-memory");
const collect = () => { for (let i = 0; i < 3; i++) globalThis.gc(); return Deno.memoryUsage().heapUsed; };
const before = collect();
for (let i = 0; i < 400; i++) {
  const outcome = await watch.guard(Promise.resolve(new Array(2 ** 17).fill(i + 0.5)));
  if (outcome.length !== 2 ** 17) throw new Error("the step's outcome changed");
}
console.log(Math.round((collect() - before) / 2 ** 20));
watch.stop();
`;

Deno.test("the backtest's memory watch keeps nothing of the steps it guarded once they settled", async () => {
  const run = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["eval", "--v8-flags=--expose-gc", "--config"],
      fileURLToPath(new URL("../../deno.json", import.meta.url)),
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(run.stderr);
  assert.equal(run.code, 0, stderr);
  // Kept, the 400 outcomes would hold 400 MiB.
  const grownMb = Number(new TextDecoder().decode(run.stdout).trim());
  assert.ok(grownMb < 40, `the heap grew by ${grownMb} MiB over 400 guarded steps`);
});
