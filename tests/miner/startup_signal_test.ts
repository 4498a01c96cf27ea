/**
 * A miner stopped by SIGINT or SIGTERM while it starts its agent exits with the signal's code and
 * leaves nothing behind: no agent process, no socket directory in its temporary directory.
 */
import assert from "node:assert/strict";
import { cryptoReady } from "../../bittensor/keypair.ts";
import { testTempDir } from "../temp_dir.ts";
import { until } from "../until.ts";
import { localMinerFlags, minerWallet, spawnMiner } from "./support.ts";

await cryptoReady();

/** The processes whose command line names `text` (zombies left out: they run no more). */
function processesNaming(text: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).includes(text)) {
        found.push(Number(entry.name));
      }
    } catch {
      // Ended meanwhile.
    }
  }
  return found;
}

function entries(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((entry) => entry.name);
}

const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`a miner stopped by ${signal} while its agent loads leaves no agent process and exits ${CODES[signal]}`, async () => {
    const tmp = testTempDir("taos-startup-signal-");
    const flags = [...localMinerFlags(await minerWallet("taos-startup-signal-")), "-a", "0", "-m"];
    const miner = spawnMiner([...flags, "hang_on_load=true"], { TMPDIR: tmp });
    // Its agent's process has connected (the socket directory is gone) and is loading an agent
    // whose constructor never returns: the miner is still starting.
    await until(
      () => processesNaming(tmp).length > 0 && !entries(tmp).some((n) => n.startsWith("taos-")),
      "the agent's process connected",
      30_000,
    );
    const agents = processesNaming(tmp);
    const { code, signal: killedBy, stderr } = await miner.stop(signal);
    // Ended by its own hand, having stopped its agent, rather than killed by the signal.
    assert.equal(killedBy, null, stderr);
    assert.equal(code, CODES[signal], stderr);
    assert.deepEqual(agents.filter((pid) => processesNaming(tmp).includes(pid)), []);
    assert.deepEqual(entries(tmp), []);
  });
}

Deno.test("a miner stopped by SIGTERM as it starts its agent's process leaves no socket directory", async () => {
  const tmp = testTempDir("taos-startup-signal-");
  const watcher = Deno.watchFs(tmp, { recursive: false });
  const flags = [...localMinerFlags(await minerWallet("taos-startup-signal-")), "-a", "0", "-m"];
  // An agent that never finishes loading: the miner is still starting wherever the signal lands.
  const miner = spawnMiner([...flags, "hang_on_load=true"], { TMPDIR: tmp });
  let stopped: Awaited<ReturnType<typeof miner.stop>>;
  try {
    // At once when the socket's directory appears, most often before the agent's process, started
    // next, connects and the directory is removed.
    for await (const event of watcher) {
      if (event.kind === "create") break;
    }
  } finally {
    watcher.close();
    stopped = await miner.stop("SIGTERM");
  }
  assert.equal(stopped.signal, null, stopped.stderr);
  assert.equal(stopped.code, 143, stopped.stderr);
  assert.deepEqual(processesNaming(tmp), []);
  assert.deepEqual(entries(tmp), []);
});
