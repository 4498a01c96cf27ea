/**
 * `--agent.sandbox`: the agent's process may read its own directory and taos, nothing more. What
 * it tries beyond that fails as the agent's error; the agent stays and the miner answers on.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { AgentHost } from "../../miner/agent_host.ts";
import { cryptoReady } from "../../bittensor/keypair.ts";
import { decodeResponse } from "../../bittensor/market_synapse.ts";
import { testTempDir } from "../temp_dir.ts";
import { pathToFileURL as toFileUrl } from "node:url";
import {
  fixtures,
  minerState,
  quantity,
  repoRoot,
  sendMarketState,
  startFixtureMinerKeepingWarnings,
  withFixtureHost,
} from "./support.ts";

await cryptoReady();

/** Runs FixtureAgent with `params`, sandboxed or not, through two updates. */
function twoUpdates(params: string, sandbox: boolean) {
  return withFixtureHost(params, { sandbox }, async (host, { restarts }) => ({
    outcomes: [await host.step(minerState(), 10_000), await host.step(minerState(), 10_000)],
    restarts,
  }));
}

Deno.test("a sandboxed agent cannot write a file: its updates fail with the permission error", async () => {
  const file = join(testTempDir("taos-sandbox-"), "written");
  const { outcomes, restarts } = await twoUpdates(`write_to=${file}`, true);
  for (const outcome of outcomes) {
    assert.equal(outcome.kind, "failed", JSON.stringify(outcome));
    const { message, problem, method } = outcome as {
      message: string;
      problem: string;
      method?: string;
    };
    assert.match(message, /^Requires write access to ".*written"/);
    assert.deepEqual([problem, method], ["error", "onUpdate"]);
  }
  assert.deepEqual(restarts, [], "the agent stays");
  assert.throws(() => Deno.statSync(file), Deno.errors.NotFound);
  // Without the sandbox the same agent writes it and answers.
  const open = await twoUpdates(`write_to=${file}`, false);
  assert.equal(quantity(open.outcomes[1]), 2);
  assert.equal(Deno.readTextFileSync(file), "written");
});

Deno.test("a sandboxed agent cannot reach the network", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("hi"),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const { outcomes } = await twoUpdates(`fetch_url=${url}`, true);
    assert.equal(outcomes[0].kind, "failed", JSON.stringify(outcomes[0]));
    assert.match(
      (outcomes[0] as { message: string }).message,
      /^Requires net access to "127\.0\.0\.1:\d+"/,
    );
    const open = await twoUpdates(`fetch_url=${url}`, false);
    assert.equal(quantity(open.outcomes[1]), 2);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a miner with --agent.sandbox answers on with no instructions and logs the refusal", async () => {
  const file = join(testTempDir("taos-sandbox-miner-"), "written");
  const { miner, warnings } = await startFixtureMinerKeepingWarnings(`write_to=${file}`, {
    agentSandbox: true,
  });
  try {
    for (let i = 0; i < 2; i++) {
      const result = await sendMarketState(miner.port, 10);
      assert.equal(result.statusCode, 200, result.statusMessage);
      assert.deepEqual(decodeResponse(result.fields!), { agent_id: 1, instructions: [] });
    }
    assert.match(
      warnings.join("\n"),
      /agent FixtureAgent failed in onUpdate at state \d+: Requires write access to /,
    );
    assert.throws(() => Deno.statSync(file), Deno.errors.NotFound);
  } finally {
    await miner.stop();
  }
});

Deno.test("a sandboxed agent in a directory whose name holds a comma is refused by name", async () => {
  // Deno's --allow-read takes a comma-separated list and has no escape for a comma in a path.
  const dir = join(testTempDir("taos-sandbox-comma-"), "a,b");
  // Refused before anything is loaded: the directory need hold no agent.
  Deno.mkdirSync(dir);
  await assert.rejects(
    AgentHost.start({ path: dir, name: "FixtureAgent", params: "", uid: 1 }, { sandbox: true }),
    (error: Error) => {
      assert.equal(
        error.message,
        `cannot start FixtureAgent: ${dir} holds a comma, which Deno's --allow-read cannot ` +
          "name; move it to a path without one, or leave out --agent.sandbox",
      );
      return true;
    },
  );
});

Deno.test("a sandboxed agent whose directory holds a link leading outside what it may read is refused", async () => {
  const outside = testTempDir("taos-sandbox-secret-");
  const secret = join(outside, "hotkey");
  Deno.writeTextFileSync(secret, "secret");
  const dir = testTempDir("taos-sandbox-links-");
  Deno.writeTextFileSync(
    join(dir, "FixtureAgent.ts"),
    `export { FixtureAgent } from "${toFileUrl(join(fixtures, "FixtureAgent.ts"))}";\n`,
  );
  // A link into taos's sources, which the agent may read anyway, is fine.
  Deno.symlinkSync(repoRoot, join(dir, "taos"));
  // So is a missing target named relative to the link's own directory, which lies inside: from
  // the working directory (taos's root), the same text leads outside.
  Deno.mkdirSync(join(dir, "deep", "er"), { recursive: true });
  Deno.symlinkSync(join("..", "..", "missing"), join(dir, "deep", "er", "up"));
  const agent = { path: dir, name: "FixtureAgent", params: "", uid: 1 };
  const host = await AgentHost.start(agent, { sandbox: true });
  try {
    assert.equal(quantity(await host.step(minerState(), 10_000)), 1);
  } finally {
    host.close();
  }
  // Deno checks a path as written: through these the agent would read what they lead to.
  // A directory whose path merely begins with the agent's is outside it.
  const sibling = testTempDir(basename(dir));
  for (
    const [link, target, shown] of [
      [join(dir, "sibling"), sibling, Deno.realPathSync(sibling)],
      [join(dir, "deep", "er", "wallets"), outside, Deno.realPathSync(outside)],
      [join(dir, "key"), secret, Deno.realPathSync(secret)],
      // A missing target, by the path the link names.
      [join(dir, "gone"), join(outside, "missing"), join(outside, "missing")],
    ]
  ) {
    Deno.symlinkSync(target, link);
    await assert.rejects(AgentHost.start(agent, { sandbox: true }), (error: Error) => {
      assert.equal(
        error.message,
        `cannot start FixtureAgent: ${link} leads to ${shown}, outside what a sandboxed agent ` +
          "may read; remove the link, or leave out --agent.sandbox",
      );
      return true;
    });
    Deno.removeSync(link);
  }
  // Without the sandbox, links are the agent's business.
  Deno.symlinkSync(secret, join(dir, "key"));
  (await AgentHost.start(agent)).close();
});

Deno.test("a sandboxed agent importing the kit by path, as README's example does, loads and answers", async () => {
  // The kit's entry module must not pull in code that reads the environment at import (the
  // wallet's key code does), which a sandboxed agent may not.
  const dir = testTempDir("taos-sandbox-kit-");
  Deno.writeTextFileSync(
    join(dir, "KitAgent.ts"),
    `import { Agent, limitOrder } from "${toFileUrl(join(repoRoot, "agents", "mod.ts"))}";\n` +
      "export class KitAgent extends Agent {\n" +
      "  onUpdate() {\n" +
      "    return [limitOrder(this.uid, 0, 0, 1, 1)];\n" +
      "  }\n" +
      "}\n",
  );
  const host = await AgentHost.start(
    { path: dir, name: "KitAgent", params: "", uid: 1 },
    { sandbox: true },
  );
  try {
    assert.equal(quantity(await host.step(minerState(), 10_000)), 1);
  } finally {
    host.close();
  }
});
