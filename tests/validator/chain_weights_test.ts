import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pendingCommitsPath } from "../../validator/options.ts";
import { NETUID, startNode } from "../chain/subnet_fixture.ts";
import { alice } from "../chain/subnet_fixture.ts";
import { startValidator } from "./processes.ts";

/** Alice validating against `url` on a short small market, setting weights every second. */
function validatorArgs(url: string, state: string, extra: string[] = []): string[] {
  return [
    ...["-e", url, "--hotkey-uri", "//Alice", "--config", "small", "--duration", "5m"],
    ...["--threads", "1", "-t", "1", "--neuron.weights_interval", "1"],
    ...["--prometheus.level", "OFF", "--state", state, ...extra],
  ];
}

Deno.test({
  name: "taos validator with commit-reveal on: commits, keeps the salt across a restart, and " +
    "reveals when the chain's epoch counter reaches the reveal epoch",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  // Alice is the subnet's validator; the runtime counts epochs with the stateful scheduler.
  const { node, subnet } = startNode({ epochCounter: true });
  subnet.hyperparams.commitRevealWeightsEnabled = true;
  node.best = 1000;
  node.setStorage("SubtensorModule", "SubnetEpochIndex", [NETUID], 50);
  node.setStorage("SubtensorModule", "LastEpochBlock", [NETUID], 900);
  node.onSubmit = (submission) => {
    if (submission.method === "commitWeights") {
      const hash = submission.args.commit_hash;
      node.setStorage("SubtensorModule", "WeightCommits", [NETUID, alice.address], [
        [hash, 50, node.best + 1, 0],
      ]);
    }
    return { kind: "include" };
  };
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-chain-"));
  const state = join(dir, "state.db");
  const args = validatorArgs(node.url, state);
  try {
    const first = startValidator(args);
    await first.waitFor((l) => l.includes("commit_weights 0x"), 120_000, "a weight commit");
    assert.equal((await first.stop()).code, 0, first.stderr.join("\n"));
    const commit = node.submissions.find((s) => s.method === "commitWeights")!;
    assert.equal(commit.signer, alice.address);
    const saved = JSON.parse(readFileSync(pendingCommitsPath(state), "utf8"));
    assert.equal(saved[0].hash, commit.args.commit_hash);
    assert.deepEqual([saved[0].commitEpoch, saved[0].revealEpoch], [50, 51]);
    assert.equal(node.submissions.filter((s) => s.method === "revealWeights").length, 0);

    // Block 1260 fires epoch 51 (tempo 360 after 900): a reveal sent now lands in it.
    node.best = 1259;
    const second = startValidator(args);
    await second.waitFor((l) => l.includes("reveal_weights 0x"), 120_000, "the reveal");
    assert.equal((await second.stop()).code, 0, second.stderr.join("\n"));
    const reveal = node.submissions.find((s) => s.method === "revealWeights")!;
    assert.equal(reveal.signer, alice.address);
    assert.deepEqual(reveal.args.salt, saved[0].salt);
    assert.deepEqual(reveal.args.uids, saved[0].uids);
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name: "taos validator with --neuron.commit_scheme timelock: one timelocked commit, no reveal",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { node, subnet } = startNode();
  subnet.hyperparams.commitRevealWeightsEnabled = true;
  node.best = 1000;
  node.setStorage("SubtensorModule", "CommitRevealWeightsVersion", [], 4);
  const dir = mkdtempSync(join(tmpdir(), "taos-validator-timelock-"));
  const state = join(dir, "state.db");
  try {
    const validator = startValidator(
      validatorArgs(node.url, state, ["--neuron.commit_scheme", "timelock"]),
    );
    await validator.waitFor(
      (l) => /commit_timelocked_weights for \d+ uids, locked to drand round \d+/.test(l),
      120_000,
      "a timelocked commit",
    );
    assert.equal((await validator.stop()).code, 0, validator.stderr.join("\n"));
    const commits = node.submissions.filter((s) => s.method === "commitTimelockedWeights");
    assert.ok(commits.length >= 1);
    assert.equal(commits[0].signer, alice.address);
    assert.equal(commits[0].args.commit_reveal_version, 4);
    assert.equal(
      node.submissions.filter((s) => /^(commit|reveal)Weights$/.test(s.method)).length,
      0,
      "no hash commit and nothing to reveal",
    );
    // Nothing awaits a reveal across a restart.
    const saved = existsSync(pendingCommitsPath(state))
      ? JSON.parse(readFileSync(pendingCommitsPath(state), "utf8"))
      : [];
    assert.deepEqual(saved, []);
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
