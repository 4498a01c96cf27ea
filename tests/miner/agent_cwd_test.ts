/**
 * A miner whose working directory is removed while it runs (a release directory replaced by a
 * deploy, a scratch directory cleaned) still replaces an agent that ended, from the agents
 * directory it was given relative to where it started.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { testTempDir } from "../temp_dir.ts";
import { fixtures, repoRoot } from "./support.ts";

Deno.test("an agent is replaced after the miner's working directory is removed", async () => {
  const dir = testTempDir("taos-removed-cwd-");
  const removed = join(dir, "removed");
  mkdirSync(removed);
  const script = join(dir, "replace_agent.ts");
  const module = (path: string) => JSON.stringify(pathToFileURL(join(repoRoot, path)).href);
  // The agents directory as a user gives it, relative to where the miner starts.
  const agents = JSON.stringify(relative(removed, fixtures));
  writeFileSync(
    script,
    `import { AgentHost } from ${module("miner/agent_host.ts")};
import { cryptoReady } from ${module("bittensor/keypair.ts")};
import { minerState, quantity } from ${module("tests/miner/support.ts")};
await cryptoReady();
const restarts = [];
const host = await AgentHost.start(
  { path: ${agents}, name: "FixtureAgent", params: "count=true", uid: 1 },
  { reloadRetryMs: 10, onRestart: (message) => restarts.push(message) },
);
try {
  console.log(quantity(await host.step(minerState(), 20_000)));
  Deno.removeSync(Deno.cwd());
  const killed = host.agentPid;
  Deno.kill(killed, "SIGKILL");
  // Until the fresh instance's process is there; a failed start ends the wait with its message.
  while (host.agentPid === null || host.agentPid === killed) {
    const failed = restarts.find((message) => message.includes("could not be restarted"));
    if (failed !== undefined) throw new Error(failed);
    await new Promise((wake) => setTimeout(wake, 20));
  }
  // A fresh instance: its count starts at 1 again.
  console.log(quantity(await host.step(minerState(), 20_000)));
} finally {
  host.close();
}
`,
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", join(repoRoot, "deno.json"), script],
    cwd: removed,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(decoder.decode(output.stdout), "1\n1\n", decoder.decode(output.stderr));
  assert.equal(output.code, 0);
});
