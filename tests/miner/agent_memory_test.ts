/**
 * An agent's memory, inside and outside its JavaScript heap, is held to `--agent.max_memory`: one
 * that holds more is replaced and the miner goes on answering, with its own memory bounded.
 */
import assert from "node:assert/strict";
import { cryptoReady } from "../../bittensor/keypair.ts";
import { decodeResponse } from "../../bittensor/market_synapse.ts";
import {
  minerState,
  quantity,
  sendMarketState,
  startFixtureMinerKeepingWarnings,
  withFixtureHost,
} from "./support.ts";
import { processRssMb } from "../process_memory.ts";

await cryptoReady();

const rssMb = () => Deno.memoryUsage().rss / 2 ** 20;

Deno.test("an agent keeping ArrayBuffers past its memory limit is replaced; the miner answers on", async () => {
  const { miner, warnings } = await startFixtureMinerKeepingWarnings("count=true keep_mb=64", {
    agentMaxMemoryMb: 256,
  });
  const before = rssMb();
  let peak = before;
  try {
    const counts: number[] = [];
    // Without a limit the agent would keep 1 GiB by the last update.
    for (let i = 0; i < 16; i++) {
      const result = await sendMarketState(miner.port, 10);
      assert.equal(result.statusCode, 200, result.statusMessage);
      const reply = decodeResponse(result.fields!) as { instructions: { quantity: number }[] };
      counts.push(reply.instructions[0]?.quantity ?? 0);
      peak = Math.max(peak, rssMb());
    }
    assert.match(
      warnings.join("\n"),
      /agent FixtureAgent holds \d+ MiB outside its JavaScript heap \(ArrayBuffers, typed arrays\), more than its memory limit \(256 MiB; --agent\.max_memory raises it\); replacing it with a fresh instance/,
    );
    // Every update was answered (the one passing the limit with no instructions); the count
    // starting again shows a fresh instance took over.
    assert.ok(counts.slice(1).some((n) => n === 1), `counts ${counts}`);
    assert.ok(Math.max(...counts) <= 4, `an instance kept more than 4 x 64 MiB: ${counts}`);
    assert.ok(peak - before < 700, `the miner grew by ${Math.round(peak - before)} MiB`);
  } finally {
    await miner.stop();
  }
});

Deno.test("an agent under its memory limit, or dropping what it allocates, keeps its state", async () => {
  await withFixtureHost(
    "keep_mb=16 garbage_mb=64",
    { maxMemoryMb: 192 },
    async (host, { restarts }) => {
      // 128 MiB kept, and 640 MiB of garbage that V8 collects when it sees fit.
      for (let i = 1; i <= 8; i++) assert.equal(quantity(await host.step(minerState(), 10_000)), i);
      assert.deepEqual(restarts, []);
    },
  );
});

Deno.test("an agent keeping its heap near the limit is replaced before it stalls there", async () => {
  await withFixtureHost(
    "keep_heap_mb=8",
    { maxMemoryMb: 64, restartAfterMs: 600_000 },
    async (host, { restarts }) => {
      let outcome = await host.step(minerState(), 10_000);
      for (let i = 0; i < 12 && outcome.kind === "ok"; i++) {
        outcome = await host.step(minerState(), 10_000);
      }
      // The update that passed the mark fails, without waiting for the stuck-agent check.
      assert.equal(outcome.kind, "failed");
      assert.match(
        (outcome as { message: string }).message,
        /^agent FixtureAgent holds \d+ MiB in its JavaScript heap, (within a tenth of|past) its limit \(64 MiB\), where it would stall$/,
      );
      assert.equal(quantity(await host.step(minerState(), 10_000)), 1);
      assert.equal(restarts.length, 1);
    },
  );
});

Deno.test("memory the worker cannot count (WebAssembly) is caught by its process's growth", async () => {
  await withFixtureHost(
    "keep_wasm_mb=64",
    { maxMemoryMb: 64, watchProcessMemory: true },
    async (host, { restarts }) => {
      const pid = host.agentPid!;
      const before = processRssMb(pid);
      let peak = before;
      // The process may grow by 2 x 64 + 512 MiB; unchecked, the agent keeps 1.5 GiB.
      for (let i = 0; i < 24 && restarts.length === 0; i++) {
        await host.step(minerState(), 10_000);
        peak = Math.max(peak, processRssMb(pid));
        // Longer than the host's check interval, so a check always falls between two updates.
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.match(
        restarts.join("\n"),
        /agent FixtureAgent took its process's memory to \d+ MiB, past the \d+ MiB its memory limit \(64 MiB\) allows; replacing it/,
      );
      assert.ok(peak - before < 1000, `the process grew by ${Math.round(peak - before)} MiB`);
      // A fresh instance answers (its count starts again at 1).
      assert.equal(quantity(await host.step(minerState(), 10_000)), 1);
    },
  );
});

Deno.test("an agent allocating within one update is stopped by its process's growth, not after the stuck wait", async () => {
  const dir = await Deno.makeTempDir();
  await withFixtureHost(`buffer_loop_flag=${dir}/flag`, {
    maxMemoryMb: 64,
    watchProcessMemory: true,
    restartAfterMs: 600_000,
  }, async (host, { restarts }) => {
    const failed = await host.step(minerState(), 60_000);
    assert.equal(failed.kind, "failed");
    assert.match(
      (failed as { message: string }).message,
      /^agent FixtureAgent took its process's memory to \d+ MiB, past the \d+ MiB its memory limit \(64 MiB\) allows$/,
    );
    assert.equal(quantity(await host.step(minerState(), 10_000)), 1);
    assert.equal(restarts.length, 1);
  }).finally(() => Deno.remove(dir, { recursive: true }));
});
