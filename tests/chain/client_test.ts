import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { hexToU8a } from "@polkadot/util";
import {
  ChainNeuronDirectory,
  ChainWeightSetter,
  commitHash,
  epochOf,
  firstBlockOfEpoch,
  readHyperparameters,
  readMetagraph,
  serveAxon,
  SubtensorClient,
  timelockedWeightsPayload,
  timelockRevealRound,
} from "../../chain/mod.ts";
import {
  FakeSubtensor,
  type FakeSubtensorOptions,
  invalidTransaction,
  serveClosingEndpoint,
  type Submission,
} from "./fake_subtensor.ts";
import {
  alice,
  axon,
  bob,
  charlie,
  dave,
  NETUID,
  startNode,
  type Subnet,
  TEMPO,
} from "./subnet_fixture.ts";

async function withChain(
  fn: (client: SubtensorClient, node: FakeSubtensor, subnet: Subnet) => Promise<void>,
  options: FakeSubtensorOptions = {},
): Promise<void> {
  const { node, subnet } = startNode(options);
  const client = await SubtensorClient.connect({ network: node.url, connectTimeoutMs: 10_000 });
  try {
    await fn(client, node, subnet);
  } finally {
    await client.close();
    await node.close();
  }
}

/** {@linkcode withChain} with commit-reveal on and the best block at 1000. */
function withCommitReveal(
  fn: (client: SubtensorClient, node: FakeSubtensor, subnet: Subnet) => Promise<void>,
  options: FakeSubtensorOptions = {},
): Promise<void> {
  return withChain(async (client, node, subnet) => {
    subnet.hyperparams.commitRevealWeightsEnabled = true;
    node.best = 1000;
    await fn(client, node, subnet);
  }, options);
}

const testOptions = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "hyperparameters come from get_subnet_hyperparams_v3 where the runtime has it, as from v2",
  testOptions,
  async () => {
    const read = (options: FakeSubtensorOptions) => {
      let params: Awaited<ReturnType<typeof readHyperparameters>> | null = null;
      let calls: string[] = [];
      return withChain(async (client, node, subnet) => {
        subnet.hyperparams.commitRevealWeightsEnabled = true;
        subnet.hyperparams.weightsVersion = 19;
        params = await readHyperparameters(client, NETUID);
        calls = node.calls.filter((c) => c.includes("hyperparams"));
        await assert.rejects(readHyperparameters(client, 3), /subnet 3 does not exist/);
      }, options).then(() => ({ params, calls }));
    };
    const v2 = await read({});
    const v3 = await read({ hyperparamsV3: true });
    assert.deepEqual(v2.calls[0], "state_call SubnetInfoRuntimeApi_get_subnet_hyperparams_v2");
    assert.deepEqual(v3.calls[0], "state_call SubnetInfoRuntimeApi_get_subnet_hyperparams_v3");
    assert.deepEqual(v3.params, v2.params);
    assert.deepEqual(v3.params, {
      tempo: TEMPO,
      minAllowedWeights: 1,
      maxWeightsLimit: 65535,
      weightsVersion: 19n,
      weightsRateLimit: 100,
      servingRateLimit: 50,
      commitRevealEnabled: true,
      commitRevealPeriod: 1,
      maxValidators: 64,
    });
  },
);

Deno.test("connect reads the runtime version and metadata from the node", testOptions, async () => {
  await withChain(async (client, node) => {
    assert.equal(client.runtime.specName, "node-subtensor");
    assert.equal(client.runtime.specVersion, 381);
    assert.equal(client.runtime.metadataVersion, 16);
    assert.equal(client.runtime.genesisHash, node.blockHash(0));
    assert.ok(node.calls.includes("state_getRuntimeVersion"));
    assert.ok(
      node.calls.includes("state_call Metadata_metadata_at_version"),
      "metadata v16 read through the Metadata runtime API",
    );
    assert.equal(await client.bestBlock(), node.best);
    assert.equal(typeof client.api.tx.subtensorModule.setWeights, "function");
  });
});

Deno.test(
  "without the Metadata runtime API the client reads state_getMetadata",
  testOptions,
  async () => {
    const node = FakeSubtensor.start({ withMetadataApi: false });
    const client = await SubtensorClient.connect({ network: node.url });
    try {
      assert.ok(node.calls.includes("state_getMetadata"));
      assert.ok(!node.calls.some((c) => c.startsWith("state_call Metadata_")));
      assert.equal(client.runtime.metadataVersion, 16);
      assert.equal(typeof client.api.call.neuronInfoRuntimeApi.getNeuronsLite, "function");
    } finally {
      await client.close();
      await node.close();
    }
  },
);

Deno.test("the metagraph decodes neurons, stake and axons", testOptions, async () => {
  await withChain(async (client) => {
    const directory = new ChainNeuronDirectory(client, NETUID);
    const neurons = await directory.neurons();
    assert.deepEqual(neurons.map((n) => n.uid), [0, 1, 2]);
    assert.deepEqual(neurons[0], {
      uid: 0,
      hotkey: alice.address,
      coldkey: bob.address,
      stake: 1500,
      validatorPermit: true,
      axon: { ip: "1.2.3.4", port: 8091, ipType: 4, protocol: 4, version: 10002000 },
      lastUpdate: 500,
    });
    assert.equal(neurons[1].axon, null, "IP 0 means not serving");
    assert.equal(neurons[1].stake, 2);
    assert.deepEqual(neurons[2].axon, {
      ip: "2001:db8::1",
      port: 9000,
      ipType: 6,
      protocol: 4,
      version: 10002000,
    });
    assert.equal(directory.block, 1000);
  });
});

Deno.test(
  "the directory re-reads only after the sync interval or on refresh",
  testOptions,
  async () => {
    await withChain(async (client, node, subnet) => {
      let now = 0;
      const directory = new ChainNeuronDirectory(client, NETUID, {
        syncIntervalMs: 120_000,
        now: () => now,
      });
      assert.equal((await directory.neurons()).length, 3);
      subnet.neurons.pop();
      now = 119_999;
      assert.equal((await directory.neurons()).length, 3, "still the cached view");
      now = 120_000;
      assert.equal((await directory.neurons()).length, 2, "re-read after the interval");
      subnet.neurons.pop();
      await directory.refresh();
      assert.equal((await directory.neurons()).length, 1, "re-read on refresh");

      subnet.neurons.pop();
      node.dropConnections();
      now = 240_000;
      assert.equal((await directory.neurons()).length, 1, "a failed re-read keeps the last view");
      await assert.rejects(() => new ChainNeuronDirectory(client, NETUID).neurons());
    });
  },
);

Deno.test(
  "refreshing in the background, a stale directory answers at once and re-reads behind",
  testOptions,
  async () => {
    await withChain(async (client, _node, subnet) => {
      let now = 0;
      const directory = new ChainNeuronDirectory(client, NETUID, {
        now: () => now,
        refreshInBackground: true,
      });
      assert.equal((await directory.neurons()).length, 3, "the first read is awaited");
      subnet.neurons.pop();
      now = 120_000;
      assert.equal((await directory.neurons()).length, 3, "the stale view, at once");
      for (let i = 0; i < 100 && (await directory.neurons()).length !== 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal((await directory.neurons()).length, 2, "then the view read behind it");
    });
  },
);

Deno.test(
  "serveAxon sends a signed serve_axon with the encoded endpoint",
  testOptions,
  async () => {
    await withChain(async (client, node) => {
      node.best = 2000;
      const result = await serveAxon(client, bob, {
        netuid: NETUID,
        ip: "192.168.1.10",
        port: 8091,
      });
      assert.equal(result.ok, true, result.message);
      assert.equal(result.changed, true);
      assert.match(result.reference ?? "", /^0x[0-9a-f]{64}$/);
      assert.equal(node.submissions.length, 1);
      const sent = node.submissions[0];
      assert.equal(sent.signer, bob.address);
      assert.equal(sent.signatureValid, true);
      assert.deepEqual(sent.era, { period: 128, phase: 2000 % 128 });
      assert.equal(`${sent.section}.${sent.method}`, "subtensorModule.serveAxon");
      assert.deepEqual(sent.args, {
        netuid: NETUID,
        version: 10002000,
        ip: 3232235786,
        port: 8091,
        ip_type: 4,
        protocol: 4,
        placeholder1: 0,
        placeholder2: 0,
      });
    });
  },
);

Deno.test("a full subnet of 256 neurons decodes in uid order", testOptions, async () => {
  await withChain(async (client, _node, subnet) => {
    const template = subnet.neurons[1];
    subnet.neurons = Array.from({ length: 256 }, (_, i) => ({
      ...template,
      uid: 255 - i,
      lastUpdate: 255 - i,
      axonInfo: axon(BigInt(0x0a000000 + 255 - i), 8000 + 255 - i, 4),
      incentive: 255 - i,
    }));
    const neurons = await new ChainNeuronDirectory(client, NETUID).neurons();
    assert.equal(neurons.length, 256);
    assert.deepEqual(neurons.map((n) => n.uid), [...Array(256).keys()]);
    assert.deepEqual(neurons[200].axon, {
      ip: "10.0.0.200",
      port: 8200,
      ipType: 4,
      protocol: 4,
      version: 10002000,
    });
    assert.equal(neurons[200].lastUpdate, 200);
    // Each standing belongs to its uid, not to the neuron's place in the node's answer.
    const { standing } = await readMetagraph(client, NETUID);
    assert.equal(standing.get(200)?.incentive, Math.fround(200 / 65535));
  });
});

Deno.test("serveAxon skips, refuses and reports like the chain would", testOptions, async () => {
  await withChain(async (client, node) => {
    const same = await serveAxon(client, alice, { netuid: NETUID, ip: "1.2.3.4", port: 8091 });
    assert.deepEqual([same.ok, same.changed], [true, false]);
    assert.match(same.message, /already served/);

    node.best = 40;
    const limited = await serveAxon(client, alice, { netuid: NETUID, ip: "1.2.3.5", port: 8091 });
    assert.equal(limited.ok, false);
    // Judged in the next block, 41: 31 of the 50 blocks have passed.
    assert.match(limited.message, /serving rate limit: axon served 30 blocks ago, 19 more blocks/);
    // The same address and port under another protocol or version is a change to serve, not a
    // repeat: here held back by the rate limit.
    for (const change of [{ protocol: 0 }, { version: 10002001 }]) {
      const other = await serveAxon(client, alice, {
        netuid: NETUID,
        ip: "1.2.3.4",
        port: 8091,
        ...change,
      });
      assert.equal(other.ok, false, JSON.stringify(change));
      assert.match(other.message, /serving rate limit/);
    }

    const loopback = await serveAxon(client, bob, { netuid: NETUID, ip: "127.0.0.1", port: 8091 });
    assert.equal(loopback.ok, false);
    assert.match(loopback.message, /127\.0\.0\.1 is refused/);

    const stranger = await serveAxon(client, dave, { netuid: NETUID, ip: "1.2.3.4", port: 1 });
    assert.equal(stranger.ok, false);
    assert.match(stranger.message, /not registered on subnet 79/);
    assert.equal(node.submissions.length, 0, "nothing was sent");

    node.onSubmit = () => invalidTransaction("Custom error: 12");
    const rejected = await serveAxon(client, bob, { netuid: NETUID, ip: "1.2.3.4", port: 8091 });
    assert.equal(rejected.ok, false);
    assert.match(rejected.message, /ServingRateLimitExceeded/);

    // An IPv6 endpoint is told bracketed, so its port stays readable.
    node.onSubmit = () => ({ kind: "include" });
    const v6 = await serveAxon(client, charlie, { netuid: NETUID, ip: "2001:db8::2", port: 9000 });
    assert.deepEqual([v6.ok, v6.changed], [true, true], v6.message);
    assert.equal(v6.message, "axon served at [2001:db8::2]:9000 on subnet 79");
    const sent = node.submissions.at(-1)!;
    assert.equal(`${sent.section}.${sent.method}`, "subtensorModule.serveAxon");
    assert.deepEqual(
      [BigInt(sent.args.ip as string), sent.args.ip_type, sent.args.port, sent.args.protocol],
      [42540766411282592856903984951653826562n, 6, 9000, 4],
    );

    // A port is a u16 above 0: 65535 is the last one, 65536 the first that does not fit.
    for (const port of [0, 65536]) {
      await assert.rejects(
        () => serveAxon(client, bob, { netuid: NETUID, ip: "1.2.3.4", port }),
        /serve_axon port: /,
        `port ${port}`,
      );
    }
    await assert.rejects(
      () => serveAxon(client, bob, { netuid: NETUID, ip: "not-an-ip", port: 80 }),
      /not an IPv4 or IPv6 address/,
    );
  });
});

Deno.test(
  "serveAxon re-serves an endpoint stored with other placeholders, as the SDK compares them too",
  testOptions,
  async () => {
    for (const placeholder of ["placeholder1", "placeholder2"]) {
      await withChain(async (client, node) => {
        // Served earlier by another tool with a placeholder set; the rate limit has passed.
        node.setStorage("SubtensorModule", "Axons", [NETUID, alice.address], {
          ...axon(16909060n, 8091, 4, 10),
          [placeholder]: 1,
        });
        node.best = 500;
        const result = await serveAxon(client, alice, {
          netuid: NETUID,
          ip: "1.2.3.4",
          port: 8091,
        });
        assert.deepEqual(
          [result.ok, result.changed],
          [true, true],
          `${placeholder}: ${result.message}`,
        );
        const sent = node.submissions.at(-1)!;
        assert.equal(`${sent.section}.${sent.method}`, "subtensorModule.serveAxon");
        assert.deepEqual([sent.args.placeholder1, sent.args.placeholder2], [0, 0]);
      });
    }
  },
);

Deno.test("setWeights sends set_weights with the SDK's u16 values", testOptions, async () => {
  await withChain(async (client, node) => {
    node.best = 700;
    const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
    const result = await setter.setWeights([0, 1, 2], [0, 0.2, 0.6], 19);
    assert.equal(result.accepted, true, result.message);
    assert.match(result.reference ?? "", /^0x[0-9a-f]{64}$/);
    const sent = node.submissions.at(-1)!;
    assert.equal(`${sent.section}.${sent.method}`, "subtensorModule.setWeights");
    assert.equal(sent.signatureValid, true);
    assert.deepEqual(sent.args, {
      netuid: NETUID,
      dests: [1, 2],
      weights: [21845, 65535],
      version_key: 19,
    });
  });
});

Deno.test(
  "weights with nothing positive are sent uniform over every neuron of the subnet",
  testOptions,
  async () => {
    await withChain(async (client, node, subnet) => {
      node.best = 700;
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      const result = await setter.setWeights([1, 2], [0, 0], 19);
      assert.equal(result.accepted, true, result.message);
      // The SDK's fallback: 1 / n on each of the n uids, the given ones or not.
      assert.equal(subnet.neurons.length, 3);
      assert.deepEqual(node.submissions.at(-1)!.args, {
        netuid: NETUID,
        dests: [0, 1, 2],
        weights: [65535, 65535, 65535],
        version_key: 19,
      });
    });
  },
);

Deno.test(
  "without waiting for inclusion a submission is accepted once pooled",
  testOptions,
  async () => {
    await withChain(async (client, node) => {
      node.best = 700;
      const setter = new ChainWeightSetter(client, {
        netuid: NETUID,
        hotkey: alice,
        waitForInclusion: false,
      });
      const result = await setter.setWeights([1, 2], [0.25, 0.75], 19);
      assert.equal(result.accepted, true, result.message);
      assert.deepEqual(node.submissions.at(-1)!.args.weights, [21845, 65535]);
    });
  },
);

Deno.test("setWeights respects the rate limit and the version key", testOptions, async () => {
  await withChain(async (client, node) => {
    const [lines, details]: string[][] = [[], []];
    const setter = new ChainWeightSetter(client, {
      netuid: NETUID,
      hotkey: alice,
      log: (line) => lines.push(line),
      debug: (line) => details.push(line),
    });
    // Last set at 500 with a limit of 100: the chain accepts it in block 600 and later.
    node.best = 598;
    const early = await setter.setWeights([1], [1], 19);
    assert.equal(early.accepted, false);
    assert.match(early.message, /rate limited: weights last set at block 500, 1 more blocks/);
    assert.equal(early.deferred, true, "too early is a deferral, not a failure");
    // Routine: told at the detail level only.
    assert.deepEqual([lines, details], [[], [early.message]]);

    node.best = 600;
    const old = await setter.setWeights([1], [1], 9);
    assert.equal(old.accepted, false);
    assert.match(old.message, /version key 9 is below the subnet's WeightsVersionKey 10/);
    assert.equal(old.deferred, undefined);
    assert.deepEqual(lines, [old.message]);
    assert.equal(node.submissions.length, 0, "nothing was sent");

    const stranger = new ChainWeightSetter(client, { netuid: NETUID, hotkey: dave });
    const unregistered = await stranger.setWeights([1], [1], 19);
    assert.equal(unregistered.accepted, false);
    assert.match(unregistered.message, /not registered on subnet 79/);

    const malformed = await setter.setWeights([1, 1], [0.5, 0.5], 19);
    assert.equal(malformed.accepted, false);
    assert.match(malformed.message, /invalid weights: uids: duplicate uids/);
    // Input the chain cannot hold is refused by field before anything is read: not a failure to
    // reach the chain.
    const invalid: [number[], number[], RegExp][] = [
      [[1, 65536], [0.5, 0.5], /^invalid weights: uids\.1: /],
      [[1], [Infinity], /^invalid weights: weights\.0: /],
      [[1], [-0.5], /^invalid weights: weights\.0: /],
    ];
    for (const [uids, weights, expected] of invalid) {
      const refused = await setter.setWeights(uids, weights, 19);
      assert.deepEqual([refused.accepted, refused.failed], [false, undefined], refused.message);
      assert.match(refused.message, expected);
    }
  });
});

Deno.test(
  "setWeights reports pool rejections and pallet errors readably",
  testOptions,
  async () => {
    await withChain(async (client, node) => {
      node.best = 700;
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      node.onSubmit = () => invalidTransaction("Custom error: 6");
      const pool = await setter.setWeights([1, 2], [0.5, 0.5], 19);
      assert.equal(pool.accepted, false);
      assert.match(
        pool.message,
        /set_weights: rejected by the transaction pool: RateLimitExceeded/,
      );
      assert.equal(pool.deferred, true, "the chain's rate limit is a deferral");
      node.onSubmit = () => ({
        kind: "fail",
        pallet: "SubtensorModule",
        error: "SettingWeightsTooFast",
      });
      const tooFast = await setter.setWeights([1, 2], [0.5, 0.5], 19);
      assert.deepEqual([tooFast.accepted, tooFast.deferred], [false, true]);

      node.onSubmit = () => ({
        kind: "fail",
        pallet: "SubtensorModule",
        error: "NeuronNoValidatorPermit",
      });
      const failed = await setter.setWeights([1, 2], [0.5, 0.5], 19);
      assert.equal(failed.accepted, false);
      assert.match(failed.message, /failed on chain: SubtensorModule\.NeuronNoValidatorPermit/);
      assert.equal(failed.deferred, undefined, "a missing permit is a real refusal");
    });
  },
);

Deno.test(
  "with the timelock scheme, weights go in one commit_timelocked_weights locked to a drand round",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node, subnet) => {
      node.setStorage("SubtensorModule", "CommitRevealWeightsVersion", [], 4);
      const setter = new ChainWeightSetter(client, {
        netuid: NETUID,
        hotkey: alice,
        commitScheme: "timelock",
      });
      // The reveal epoch is the subnet's reveal period (2 here) after the commit's; the round is
      // the one published 3 blocks into it, at the runtime's block time (2 × MinimumPeriod, 0.25 s
      // here). Committed early in epoch 3, the reveal is 724 blocks away: at half the block time
      // the round would be 30 rounds earlier.
      subnet.hyperparams.commitRevealPeriod = 2;
      node.best = firstBlockOfEpoch(3, NETUID, TEMPO) + 1;
      const revealEpoch = epochOf(node.best + 1, NETUID, TEMPO) + 2;
      assert.equal(revealEpoch, 5);
      const firstRevealBlock = firstBlockOfEpoch(revealEpoch, NETUID, TEMPO);
      const minimumPeriod = client.api.consts.timestamp.minimumPeriod as unknown as {
        toNumber(): number;
      };
      const blockSeconds = (2 * minimumPeriod.toNumber()) / 1000;
      const round = (now: number) =>
        timelockRevealRound({
          nowSeconds: now / 1000,
          currentBlock: node.best,
          firstRevealBlock,
          blockSeconds,
        });
      const earliest = round(Date.now());
      const result = await setter.setWeights([0, 1, 2], [0, 0.2, 0.6], 19);
      const latest = round(Date.now());
      assert.equal(result.accepted, true, result.message);
      assert.equal(result.committed, "timelock");
      assert.match(result.message, new RegExp(`applies it in epoch ${revealEpoch} `));
      assert.equal(setter.pendingCommits.length, 0, "the chain reveals it: nothing is kept");
      const commit = node.submissions.at(-1)!;
      assert.equal(commit.signatureValid, true);
      assert.equal(`${commit.section}.${commit.method}`, "subtensorModule.commitTimelockedWeights");
      const args = commit.args as Record<string, number | string>;
      assert.equal(args.netuid, NETUID);
      assert.equal(args.commit_reveal_version, 4);
      const revealRound = BigInt(args.reveal_round);
      assert.ok(revealRound >= earliest && revealRound <= latest, `round ${revealRound}`);
      // The payload (alice's key, uids [1, 2], values [21845, 65535], version 19) is 51 bytes; the
      // ciphertext adds 228 bytes of header and the 16-byte tag.
      const payload = timelockedWeightsPayload({
        hotkey: alice.publicKey,
        uids: [1, 2],
        values: [21845, 65535],
        versionKey: 19n,
      });
      assert.equal(payload.length, 51);
      const sealed = hexToU8a(String(args.commit));
      assert.equal(sealed.length, 228 + payload.length + 16);
      assert.equal(new TextDecoder().decode(sealed.subarray(-8)), "AES_GCM_");
    });
  },
);

Deno.test(
  "with commit-reveal on, weights are hash-committed then revealed",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      const committed = await setter.setWeights([0, 1, 2], [0, 0.2, 0.6], 19);
      assert.equal(committed.accepted, true, committed.message);
      assert.equal(committed.committed, "hash", "the weights take effect at the reveal");
      const commit = node.submissions.at(-1)!;
      assert.equal(`${commit.section}.${commit.method}`, "subtensorModule.commitWeights");
      assert.equal(setter.pendingCommits.length, 1);
      const pending = setter.pendingCommits[0];
      assert.deepEqual([pending.uids, pending.values], [[1, 2], [21845, 65535]]);
      assert.equal(pending.salt.length, 8);
      const expectedHash = commitHash({
        hotkey: alice.publicKey,
        storageIndex: NETUID,
        uids: [1, 2],
        values: [21845, 65535],
        salt: pending.salt,
        versionKey: 19n,
      });
      assert.deepEqual(commit.args, { netuid: NETUID, commit_hash: expectedHash });
      const commitEpoch = epochOf(1000, NETUID, TEMPO);
      assert.equal(pending.revealEpoch, commitEpoch + 1);

      assert.deepEqual(await setter.revealDue(), [], "too early: nothing sent");
      const before = node.submissions.length;
      node.best = (commitEpoch + 1) * (TEMPO + 1) - (NETUID + 1) + 5;
      const [revealed] = await setter.revealDue();
      assert.equal(revealed.accepted, true, revealed.message);
      assert.equal(node.submissions.length, before + 1);
      const reveal = node.submissions.at(-1)!;
      assert.equal(`${reveal.section}.${reveal.method}`, "subtensorModule.revealWeights");
      assert.deepEqual(reveal.args, {
        netuid: NETUID,
        uids: [1, 2],
        values: [21845, 65535],
        salt: pending.salt,
        version_key: 19,
      });
      assert.equal(setter.pendingCommits.length, 0);
    });
  },
);

Deno.test("a restarted setter reveals the commits saved in its file", testOptions, async () => {
  await withCommitReveal(async (client, node) => {
    const dir = Deno.makeTempDirSync();
    const path = `${dir}/commits.json`;
    try {
      const first = new ChainWeightSetter(client, {
        netuid: NETUID,
        hotkey: alice,
        pendingCommitsPath: path,
      });
      assert.equal((await first.setWeights([1, 2], [0.5, 0.5], 19)).accepted, true);
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o600, "salts are private");
      const saved = first.pendingCommits[0];

      const warnings: string[] = [];
      const restarted = new ChainWeightSetter(client, {
        netuid: NETUID,
        hotkey: alice,
        pendingCommitsPath: path,
        log: (line) => warnings.push(line),
      });
      assert.deepEqual(restarted.pendingCommits, [saved]);
      node.best = (saved.revealEpoch) * (TEMPO + 1) - (NETUID + 1) + 1;
      const [revealed] = await restarted.revealDue();
      assert.equal(revealed.accepted, true, revealed.message);
      assert.deepEqual(node.submissions.at(-1)!.args.salt, saved.salt);
      assert.equal(Deno.readTextFileSync(path), "[]");
      assert.deepEqual(warnings.filter((w) => w.startsWith("pending commits")), []);

      Deno.writeTextFileSync(path, JSON.stringify([{ ...saved, versionKey: "19", salt: [70000] }]));
      const alerts: string[] = [];
      const damaged = new ChainWeightSetter(client, {
        netuid: NETUID,
        hotkey: alice,
        pendingCommitsPath: path,
        log: (line) => warnings.push(line),
        warn: (line) => alerts.push(line),
      });
      assert.equal(damaged.pendingCommits.length, 0);
      assert.match(alerts.at(-1)!, /pending commits .*: 0\.salt\.0: .*moved to .*\.damaged-\d+/);
      // Kept aside for recovery by hand; the next save starts a new file.
      const aside = /moved to (\S+),/.exec(alerts.at(-1)!)![1];
      assert.match(Deno.readTextFileSync(aside), /70000/);
      assert.equal(existsSync(path), false);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
});

Deno.test(
  "a reveal the chain calls too early stays pending; a lost commit is dropped",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      assert.equal((await setter.setWeights([1], [1], 19)).accepted, true);
      node.best = (setter.pendingCommits[0].revealEpoch) * (TEMPO + 1) - (NETUID + 1);
      node.onSubmit = () => ({ kind: "fail", pallet: "SubtensorModule", error: "RevealTooEarly" });
      const [early] = await setter.revealDue();
      assert.equal(early.accepted, false);
      assert.match(early.message, /RevealTooEarly/);
      assert.equal(setter.pendingCommits.length, 1);
      node.onSubmit = () => ({
        kind: "fail",
        pallet: "SubtensorModule",
        error: "NoWeightsCommitFound",
      });
      const [lost] = await setter.revealDue();
      assert.match(lost.message, /NoWeightsCommitFound/);
      assert.equal(setter.pendingCommits.length, 0);

      // A commit the chain calls expired in what is its reveal epoch by this node's count can
      // never be revealed either: it is dropped, not tried again.
      node.onSubmit = () => ({ kind: "include" });
      assert.equal((await setter.setWeights([1], [1], 19)).accepted, true);
      node.onSubmit = () => ({
        kind: "fail",
        pallet: "SubtensorModule",
        error: "ExpiredWeightCommit",
      });
      node.best = (setter.pendingCommits[0].revealEpoch) * (TEMPO + 1) - (NETUID + 1);
      const [expired] = await setter.revealDue();
      assert.deepEqual([expired.accepted, expired.deferred], [false, undefined], expired.message);
      assert.match(expired.message, /ExpiredWeightCommit/);
      assert.equal(setter.pendingCommits.length, 0);
    });
  },
);

Deno.test(
  "a reveal follows the subnet's reveal period as it is when revealing, as the chain judges it",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node, subnet) => {
      subnet.hyperparams.commitRevealPeriod = 2;
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      assert.equal((await setter.setWeights([1, 2], [0.5, 0.5], 19)).accepted, true);
      const commitEpoch = setter.pendingCommits[0].commitEpoch;
      assert.equal(setter.pendingCommits[0].revealEpoch, commitEpoch + 2);

      // The owner shortens the period to 1: the chain now takes the reveal one epoch after the
      // commit, and calls it expired after that.
      subnet.hyperparams.commitRevealPeriod = 1;
      node.best = firstBlockOfEpoch(commitEpoch + 1, NETUID, TEMPO) + 1;
      const [revealed] = await setter.revealDue();
      assert.equal(revealed?.accepted, true, revealed?.message);
      assert.equal(node.submissions.at(-1)!.method, "revealWeights");
      assert.equal(setter.pendingCommits.length, 0);

      // Lengthened to 3 after a commit: nothing is sent before the chain would take it.
      assert.equal((await setter.setWeights([1, 2], [0.5, 0.5], 19)).accepted, true);
      const second = setter.pendingCommits[0].commitEpoch;
      subnet.hyperparams.commitRevealPeriod = 3;
      node.best = firstBlockOfEpoch(second + 1, NETUID, TEMPO) + 1;
      assert.deepEqual(await setter.revealDue(), []);
      node.best = firstBlockOfEpoch(second + 3, NETUID, TEMPO) + 1;
      const [late] = await setter.revealDue();
      assert.equal(late?.accepted, true, late?.message);
      assert.equal(setter.pendingCommits.length, 0);
    });
  },
);

Deno.test(
  "with the node gone, setter and serveAxon report instead of throwing",
  testOptions,
  async () => {
    const { node } = startNode();
    const client = await SubtensorClient.connect({
      network: node.url,
      retryDelayMs: 60_000,
    });
    try {
      await node.close();
      for (let i = 0; i < 200 && client.isConnected; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      const weights = await setter.setWeights([1], [1], 19);
      assert.equal(weights.accepted, false);
      assert.match(weights.message, /^cannot read the chain: /);
      // An error, not the chain's refusal: the validator counts it as `failed`.
      assert.equal(weights.failed, true);
      const served = await serveAxon(client, bob, { netuid: NETUID, ip: "1.2.3.4", port: 8091 });
      assert.equal(served.ok, false);
      assert.match(served.message, /^cannot read the chain: /);
    } finally {
      await client.close();
    }
  },
);

/**
 * {@linkcode withChain} with a second client that retries after 50 ms and records its log lines,
 * closed after `fn`.
 */
function withWatchedClient(
  fn: (
    watched: SubtensorClient,
    lines: string[],
    client: SubtensorClient,
    node: FakeSubtensor,
    levels: string[],
  ) => Promise<void>,
): Promise<void> {
  return withChain(async (client, node) => {
    const lines: string[] = [];
    /** The level of each of `lines`. */
    const levels: string[] = [];
    const watched = await SubtensorClient.connect({
      network: node.url,
      retryDelayMs: 50,
      log: (line, level) => void (lines.push(line), levels.push(level)),
    });
    try {
      await fn(watched, lines, client, node, levels);
    } finally {
      await watched.close();
    }
  });
}

/** Polls `done` every 25 ms until it holds, `tries` times at most. */
async function until(done: () => boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries && !done(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Both clients are connected again, the watched one having said so. */
const bothBack = (watched: SubtensorClient, lines: string[], client: SubtensorClient) => () =>
  lines.some((l) => l.startsWith("reconnected")) && watched.isConnected && client.isConnected;

Deno.test("the client reconnects after the node drops the connection", testOptions, async () => {
  await withWatchedClient(async (watched, lines, client, node) => {
    node.dropConnections();
    await until(bothBack(watched, lines, client));
    assert.ok(lines.some((l) => l.startsWith("no connection")), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("reconnected")), lines.join("\n"));
    await Promise.all([watched.api.isReady, client.api.isReady]);
    node.best = 1234;
    assert.equal(await watched.bestBlock(), 1234);
    assert.equal(await client.bestBlock(), 1234);
  });
});

Deno.test(
  "an extrinsic waiting for its block when the connection drops is reported at once as unconfirmed",
  testOptions,
  async () => {
    await withWatchedClient(async (watched, lines, client, node) => {
      // Accepted into the pool, never included: the watch is all that could tell what became of it.
      node.onSubmit = () => ({ kind: "pool" });
      const started = performance.now();
      const outcome = watched.submit(
        watched.api.tx.subtensorModule.setWeights(NETUID, [1], [65535], 19),
        alice,
        { timeoutMs: 20_000 },
      );
      await until(() => node.submissions.length === 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      node.dropConnections();
      const result = await outcome;
      assert.ok(performance.now() - started < 5_000, "told when the connection dropped");
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.unconfirmed, JSON.stringify(result));
      assert.match(
        !result.ok ? result.message : "",
        /^the connection to the node dropped before the extrinsic was seen in a block: it may still land$/,
      );
      assert.equal(result.extrinsicHash?.length, 66);
      // The next submission, on the new connection, is watched to its block.
      await until(bothBack(watched, lines, client));
      node.onSubmit = () => ({ kind: "include" });
      const next = await watched.submit(
        watched.api.tx.subtensorModule.setWeights(NETUID, [1], [65535], 19),
        alice,
      );
      assert.equal(next.ok, true, JSON.stringify(next));
    });
  },
);

Deno.test(
  "a connection that drops while the extrinsic waits for its nonce fails it: nothing was sent",
  testOptions,
  async () => {
    await withWatchedClient(async (watched, _lines, _client, node) => {
      // The nonce the signing waits for never comes: the node closes the connections first.
      const nonce = "state_call AccountNonceApi_account_nonce";
      node.onRequest = () => {
        if (node.calls.at(-1) === nonce) node.dropConnections();
      };
      const result = await watched.submit(
        watched.api.tx.subtensorModule.setWeights(NETUID, [1], [65535], 19),
        alice,
        { timeoutMs: 20_000 },
      );
      node.onRequest = () => {};
      assert.ok(node.calls.includes(nonce), node.calls.join(","));
      assert.equal(node.submissions.length, 0);
      assert.ok(!result.ok && !result.unconfirmed, JSON.stringify(result));
      assert.match(!result.ok ? result.message : "", /disconnected from/);
    });
  },
);

Deno.test(
  "the client keeps retrying, backing off, while the node refuses connections, and comes back",
  testOptions,
  async () => {
    await withWatchedClient(async (watched, lines, _client, node, levels) => {
      const failures = () => lines.filter((l) => l.startsWith("no connection"));
      node.refuseConnections = true;
      node.dropConnections();
      await until(() => failures().length >= 3, 800);
      assert.deepEqual(
        failures().slice(0, 3).map((l) => /retrying in (\d+) ms/.exec(l)?.[1]),
        ["50", "100", "200"],
      );
      // The outage's first failure is a warning, so that it shows at any log level; the retries
      // after it are information.
      const first = lines.findIndex((l) => l.startsWith("no connection"));
      assert.deepEqual(levels.slice(first, first + 3), ["warning", "info", "info"]);
      node.refuseConnections = false;
      await until(() => lines.some((l) => l.startsWith("reconnected")), 800);
      node.best = 4321;
      assert.equal(await watched.bestBlock(), 4321);

      // Once reconnected the backoff starts over: a new outage is again a warning after 50 ms.
      const before = failures().length;
      node.refuseConnections = true;
      node.dropConnections();
      await until(() => failures().length > before, 800);
      const next = lines.indexOf(failures()[before]);
      assert.match(lines[next], /retrying in 50 ms/);
      assert.equal(levels[next], "warning");
      node.refuseConnections = false;
    });
  },
);

Deno.test(
  "a frame that is not JSON is logged and the client reconnects, instead of the process ending",
  testOptions,
  async () => {
    await withWatchedClient(async (watched, lines, client, node, levels) => {
      // Without the watcher, the provider's JSON.parse error would be uncaught and fail the test.
      node.sendRaw("<html>502 Bad Gateway</html>");
      // Both clients reconnect: the error does not say which connection the frame came on.
      await until(bothBack(watched, lines, client));
      const notJson =
        /^ws:\/\/127\.0\.0\.1:\d+: it sent a message that is not JSON: .*; reconnecting$/;
      assert.ok(lines.some((l) => notJson.test(l)), lines.join("\n"));
      // The frame is information; the outage it opens is told as a warning by its first failure.
      const said = lines.findIndex((l) => notJson.test(l));
      assert.equal(levels[said], "info");
      const outage = lines.findIndex((l, i) => i > said && l.startsWith("no connection"));
      assert.equal(levels[outage], "warning", lines.join("\n"));
      assert.ok(lines.some((l) => l.startsWith("reconnected")), lines.join("\n"));
      await Promise.all([watched.api.isReady, client.api.isReady]);
      node.best = 77;
      assert.equal(await watched.bestBlock(), 77);
      assert.equal(await client.bestBlock(), 77);
    });
  },
);

/** A WebSocket endpoint on loopback answering every message with `answer(message)`. */
function answeringEndpoint(answer: (message: { id?: number }) => string) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => socket.send(answer(JSON.parse(String(event.data))));
    return response;
  });
  return { url: `ws://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

Deno.test(
  "a node that refuses the runtime calls or answers in garbage is told as such",
  testOptions,
  async () => {
    const refusing = answeringEndpoint((message) =>
      JSON.stringify({ jsonrpc: "2.0", id: message.id, error: { code: -32603, message: "boom" } })
    );
    try {
      const started = performance.now();
      await assert.rejects(
        () => SubtensorClient.connect({ network: refusing.url, connectTimeoutMs: 20_000 }),
        /^ChainError: ws:\/\/127\.0\.0\.1:\d+ did not give its runtime: .*-32603: boom/,
      );
      // Told when the node refused, not at the connection timeout.
      assert.ok(performance.now() - started < 10_000);
    } finally {
      await refusing.close();
    }
    const garbled = answeringEndpoint(() => "<html>502 Bad Gateway</html>");
    try {
      await assert.rejects(
        () =>
          SubtensorClient.connect({
            network: garbled.url,
            retryDelayMs: 20,
            connectTimeoutMs: 500,
          }),
        /no connection to .* within 500 ms \(it sent a message that is not JSON: /,
      );
    } finally {
      await garbled.close();
    }
  },
);

Deno.test("connecting to an unknown network or a dead endpoint fails clearly", async () => {
  await assert.rejects(
    () => SubtensorClient.connect({ network: "mainnet" }),
    /^RangeError: network: "mainnet" is neither a known network/,
  );
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    () =>
      SubtensorClient.connect({
        network: `ws://127.0.0.1:${port}`,
        retryDelayMs: 20,
        connectTimeoutMs: 300,
      }),
    // The message gives the reason, not just the timeout.
    /no connection to ws:\/\/127\.0\.0\.1:\d+ within 300 ms \(the connection failed: .*failed to connect to WebSocket/,
  );
  // A server that is no WebSocket endpoint: its answer to the upgrade is the reason.
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("not here", { status: 404 }),
  );
  try {
    await assert.rejects(
      () =>
        SubtensorClient.connect({
          network: `ws://127.0.0.1:${http.addr.port}`,
          retryDelayMs: 20,
          connectTimeoutMs: 300,
        }),
      /within 300 ms \(the connection failed: .*404/,
    );
  } finally {
    await http.shutdown();
  }
  // The failure named is the last one, not the first: here a 404, then 503 on every retry.
  let upgrades = 0;
  const changing = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("busy", { status: upgrades++ === 0 ? 404 : 503 }),
  );
  try {
    await assert.rejects(
      () =>
        SubtensorClient.connect({
          network: `ws://127.0.0.1:${changing.addr.port}`,
          retryDelayMs: 20,
          // Room for a second attempt on a loaded machine: the first takes milliseconds.
          connectTimeoutMs: 3000,
        }),
      /within 3000 ms \(the connection failed: .*503/,
    );
    assert.ok(upgrades >= 2, `${upgrades} attempts`);
  } finally {
    await changing.shutdown();
  }
});

Deno.test("a node that closes the connection before giving its runtime is named as the reason", async () => {
  const closing = serveClosingEndpoint();
  try {
    await assert.rejects(
      () =>
        SubtensorClient.connect({
          network: `ws://127.0.0.1:${closing.addr.port}`,
          retryDelayMs: 20,
          connectTimeoutMs: 300,
        }),
      // The message gives the reason, not just the timeout.
      /within 300 ms \(the node closed the connection with code 4000: going away\)$/,
    );
  } finally {
    await closing.shutdown();
  }
});

/** Makes the node record each hash commit in `WeightCommits` as `[hash, field1, field2, 0]`. */
function recordCommits(node: FakeSubtensor, fields: () => [number, number]) {
  node.onSubmit = (submission: Submission) => {
    if (submission.method === "commitWeights") {
      const hash = submission.args.commit_hash;
      node.setStorage("SubtensorModule", "WeightCommits", [NETUID, alice.address], [
        [hash, ...fields(), 0],
      ]);
    }
    return { kind: "include" };
  };
}

Deno.test("a commit's epoch is the one the chain recorded for it", testOptions, async () => {
  await withCommitReveal(async (client, node) => {
    node.best = 1001;
    // The next block (1002) is still in epoch 2, but the commit was taken in block 1003, the
    // first of epoch 3: a runtime before the epoch counter records the commit's block.
    recordCommits(node, () => [1003, 1003 + TEMPO]);
    const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
    const committed = await setter.setWeights([1, 2], [0.5, 0.5], 19);
    assert.equal(committed.accepted, true, committed.message);
    assert.equal(epochOf(1002, NETUID, TEMPO), 2);
    assert.deepEqual(
      [setter.pendingCommits[0].commitEpoch, setter.pendingCommits[0].revealEpoch],
      [3, 4],
    );
    assert.match(committed.message, /in epoch 3; reveal in epoch 4 \(from block 1364\)/);
  });
});

Deno.test(
  "with two commits waiting, each is read back by its own hash and revealed in its own epoch",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node, subnet) => {
      // A reveal period of 2 keeps the first commit (block 1000, epoch 2) on chain while the
      // second is made in epoch 3; each is recorded at its block.
      subnet.hyperparams.commitRevealPeriod = 2;
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      assert.equal((await setter.setWeights([1], [1], 19)).accepted, true);
      node.best = firstBlockOfEpoch(3, NETUID, TEMPO) + 1;
      assert.equal((await setter.setWeights([2], [1], 19)).accepted, true);
      assert.deepEqual(
        setter.pendingCommits.map((c) => [c.uids, c.commitEpoch, c.revealEpoch]),
        [[[1], 2, 4], [[2], 3, 5]],
      );

      node.best = firstBlockOfEpoch(4, NETUID, TEMPO) + 1;
      const [first] = await setter.revealDue();
      assert.equal(first.accepted, true, first.message);
      assert.deepEqual(node.submissions.at(-1)!.args.uids, [1]);
      assert.deepEqual(setter.pendingCommits.map((c) => c.uids), [[2]]);
      node.best = firstBlockOfEpoch(5, NETUID, TEMPO) + 1;
      const [second] = await setter.revealDue();
      assert.equal(second.accepted, true, second.message);
      assert.deepEqual(node.submissions.at(-1)!.args.uids, [2]);
      assert.equal(setter.pendingCommits.length, 0);
    });
  },
);

Deno.test(
  "a commit recorded in the last block of an epoch counts in that epoch",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      // Block 1002 is the last of epoch 2 (1003 starts epoch 3).
      recordCommits(node, () => [1002, 1002 + TEMPO]);
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      const committed = await setter.setWeights([1, 2], [0.5, 0.5], 19);
      assert.equal(committed.accepted, true, committed.message);
      assert.deepEqual(
        [setter.pendingCommits[0].commitEpoch, setter.pendingCommits[0].revealEpoch],
        [2, 3],
      );
      assert.match(committed.message, /in epoch 2; reveal in epoch 3 \(from block 1003\)/);
    });
  },
);

/** Sets the stateful epoch scheduler's storage for the subnet. */
function setSchedule(
  node: FakeSubtensor,
  s: { index: number; lastEpochBlock: number; pendingEpochAt?: number },
) {
  node.setStorage("SubtensorModule", "SubnetEpochIndex", [NETUID], s.index);
  node.setStorage("SubtensorModule", "LastEpochBlock", [NETUID], s.lastEpochBlock);
  node.setStorage("SubtensorModule", "PendingEpochAt", [NETUID], s.pendingEpochAt ?? 0);
}

Deno.test(
  "on a runtime with the epoch counter, the reveal follows the chain's count, not the formula",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      // Long after the upgrade the counter is far from the formula's epoch (2 at block 1000).
      setSchedule(node, { index: 5000, lastEpochBlock: 900 });
      recordCommits(node, () => [5000, node.best + 1]);
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      const committed = await setter.setWeights([1, 2], [0.5, 0.5], 19);
      assert.equal(committed.accepted, true, committed.message);
      const pending = setter.pendingCommits[0];
      assert.deepEqual([pending.commitEpoch, pending.revealEpoch], [5000, 5001]);
      // The next epoch is due tempo blocks after the last one.
      assert.match(committed.message, /reveal in epoch 5001 \(from block 1260\)/);

      const sent = node.submissions.length;
      node.best = 1258; // the next block, 1259, is not yet due
      assert.deepEqual(await setter.revealDue(), []);
      node.best = 1259; // block 1260 fires the epoch: an extrinsic in it counts in 5001
      const [revealed] = await setter.revealDue();
      assert.equal(revealed.accepted, true, revealed.message);
      assert.equal(node.submissions.length, sent + 1);
      assert.equal(node.submissions.at(-1)!.method, "revealWeights");
      assert.equal(setter.pendingCommits.length, 0);
    }, { epochCounter: true });
  },
);

Deno.test(
  "on a runtime with the epoch counter, an owner-triggered epoch brings the reveal forward and a " +
    "passed reveal epoch drops the commit unsent",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node, subnet) => {
      setSchedule(node, { index: 7, lastEpochBlock: 990 });
      recordCommits(node, () => [7, node.best + 1]);
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      assert.equal((await setter.setWeights([1], [1], 19)).accepted, true);
      assert.equal(setter.pendingCommits[0].revealEpoch, 8);

      node.best = 1100;
      setSchedule(node, { index: 7, lastEpochBlock: 990, pendingEpochAt: 1101 });
      const [early] = await setter.revealDue();
      assert.equal(early.accepted, true, early.message);

      // A second commit, then two epochs fire before anything reveals it.
      subnet.neurons[0].lastUpdate = 0;
      setSchedule(node, { index: 8, lastEpochBlock: 1101 });
      recordCommits(node, () => [8, node.best + 1]);
      assert.equal((await setter.setWeights([2], [1], 19)).accepted, true);
      assert.equal(setter.pendingCommits[0].revealEpoch, 9);
      setSchedule(node, { index: 10, lastEpochBlock: 1900 });
      node.best = 1905;
      const sent = node.submissions.length;
      const [expired] = await setter.revealDue();
      assert.equal(expired.accepted, false);
      assert.match(expired.message, /reveal epoch 9 has passed \(now 10\)/);
      assert.equal(node.submissions.length, sent, "no reveal sent for an expired commit");
      assert.equal(setter.pendingCommits.length, 0);
    }, { epochCounter: true });
  },
);

/** Commits weights for uids 1 and 2 with the commit left in the pool past a 300 ms timeout. */
async function commitUnconfirmed(client: SubtensorClient, node: FakeSubtensor) {
  node.onSubmit = () => ({ kind: "pool" });
  // The same bound holds for the reveals these tests send later, which a loaded machine can slow
  // past a few hundred milliseconds.
  const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice, timeoutMs: 1000 });
  return { setter, result: await setter.setWeights([1, 2], [0.5, 0.5], 19) };
}

Deno.test(
  "a commit not seen in a block before the timeout is refused but kept for its reveal",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const { setter, result: unconfirmed } = await commitUnconfirmed(client, node);
      assert.equal(unconfirmed.accepted, false);
      assert.match(
        unconfirmed.message,
        /commit_weights: no inclusion within 1000 ms; kept for a reveal in case it lands/,
      );
      // Estimated from the next block, as nothing could be read back.
      const guess = epochOf(1001, NETUID, TEMPO);
      assert.deepEqual(
        [setter.pendingCommits[0].commitEpoch, setter.pendingCommits[0].revealEpoch],
        [guess, guess + 1],
      );
      assert.equal(setter.pendingCommits[0].confirmed, false);

      // In the estimated reveal epoch the commit is not on chain yet: nothing is sent.
      node.onSubmit = () => ({ kind: "include" });
      node.best = firstBlockOfEpoch(guess + 1, NETUID, TEMPO) + 5;
      assert.deepEqual(await setter.revealDue(), []);
      assert.equal(node.submissions.filter((s) => s.method === "revealWeights").length, 0);

      // It lands in the first block of the next epoch: the reveal moves one epoch later.
      const landed = firstBlockOfEpoch(guess + 1, NETUID, TEMPO) + 10;
      node.setStorage("SubtensorModule", "WeightCommits", [NETUID, alice.address], [
        [setter.pendingCommits[0].hash, landed, landed + TEMPO, 0],
      ]);
      node.best = landed + 1;
      assert.deepEqual(await setter.revealDue(), [], "too early for the corrected reveal epoch");
      assert.deepEqual(
        [
          setter.pendingCommits[0].commitEpoch,
          setter.pendingCommits[0].revealEpoch,
          setter.pendingCommits[0].confirmed,
        ],
        [guess + 1, guess + 2, true],
      );
      node.best = firstBlockOfEpoch(guess + 2, NETUID, TEMPO) + 3;
      const [revealed] = await setter.revealDue();
      assert.equal(revealed.accepted, true, revealed.message);
      assert.equal(node.submissions.at(-1)!.method, "revealWeights");
      assert.equal(setter.pendingCommits.length, 0);
    });
  },
);

Deno.test(
  "a commit's salt is on disk before the commit is sent: a validator killed while the commit " +
    "waits for its block still reveals it after a restart",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const dir = Deno.makeTempDirSync();
      const path = `${dir}/commits.json`;
      try {
        // A process started while the commit is in the pool reads what is on disk then.
        let restarted: ChainWeightSetter | undefined;
        node.onSubmit = () => {
          restarted = new ChainWeightSetter(client, {
            netuid: NETUID,
            hotkey: alice,
            pendingCommitsPath: path,
          });
          return { kind: "pool" };
        };
        const first = new ChainWeightSetter(client, {
          netuid: NETUID,
          hotkey: alice,
          pendingCommitsPath: path,
          timeoutMs: 300,
        });
        await first.setWeights([1, 2], [0.5, 0.5], 19);
        const commit = node.submissions.find((s) => s.method === "commitWeights")!;
        assert.equal(restarted!.pendingCommits.length, 1, "the salt was not on disk yet");
        assert.equal(restarted!.pendingCommits[0].hash, commit.args.commit_hash);

        // The commit lands; the restarted setter reveals it in its reveal epoch.
        node.onSubmit = () => ({ kind: "include" });
        const landed = 1001;
        node.setStorage("SubtensorModule", "WeightCommits", [NETUID, alice.address], [
          [commit.args.commit_hash, landed, landed + TEMPO, 0],
        ]);
        const revealEpoch = epochOf(landed, NETUID, TEMPO) + 1;
        node.best = firstBlockOfEpoch(revealEpoch, NETUID, TEMPO) + 1;
        const [revealed] = await restarted!.revealDue();
        assert.equal(revealed?.accepted, true, revealed?.message);
        const reveal = node.submissions.at(-1)!;
        assert.equal(reveal.method, "revealWeights");
        assert.equal(
          commitHash({
            hotkey: alice.publicKey,
            storageIndex: NETUID,
            uids: reveal.args.uids as number[],
            values: reveal.args.values as number[],
            salt: reveal.args.salt as number[],
            versionKey: 19n,
          }),
          commit.args.commit_hash,
        );

        // A commit the pool refuses never lands: it leaves nothing behind.
        node.onSubmit = () => invalidTransaction("Transaction is outdated");
        assert.equal((await restarted!.setWeights([1, 2], [0.5, 0.5], 19)).accepted, false);
        assert.equal(restarted!.pendingCommits.length, 0);
        assert.equal(Deno.readTextFileSync(path), "[]");
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    });
  },
);

Deno.test(
  "an unconfirmed commit that never shows on chain is dropped an epoch after its estimate",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const { setter } = await commitUnconfirmed(client, node);
      const guess = setter.pendingCommits[0].revealEpoch;
      node.best = firstBlockOfEpoch(guess + 1, NETUID, TEMPO) + 1;
      assert.deepEqual(await setter.revealDue(), [], "waited for one epoch past the estimate");
      assert.equal(setter.pendingCommits.length, 1);
      node.best = firstBlockOfEpoch(guess + 2, NETUID, TEMPO) + 1;
      const [dropped] = await setter.revealDue();
      assert.match(dropped.message, /expired unrevealed/);
      assert.equal(setter.pendingCommits.length, 0);
      assert.equal(node.submissions.filter((s) => s.method === "revealWeights").length, 0);
    });
  },
);

/**
 * Commits weights for uids 1 and 2, then sends their reveal, due two blocks into the reveal epoch,
 * which stays in the pool past a 1 s timeout. The commit must be seen in its block within that
 * timeout: a shorter one (300 ms) ran out now and then on a loaded machine.
 */
async function revealUnconfirmed(
  client: SubtensorClient,
  node: FakeSubtensor,
  pendingCommitsPath?: string,
) {
  const lines: string[] = [];
  const setter = new ChainWeightSetter(client, {
    netuid: NETUID,
    hotkey: alice,
    timeoutMs: 1000,
    log: (line) => lines.push(line),
    pendingCommitsPath,
  });
  assert.equal((await setter.setWeights([1, 2], [0.5, 0.5], 19)).accepted, true);
  node.best = firstBlockOfEpoch(setter.pendingCommits[0].revealEpoch, NETUID, TEMPO) + 2;
  node.onSubmit = () => ({ kind: "pool" });
  const [unconfirmed] = await setter.revealDue();
  assert.equal(unconfirmed.deferred, true, unconfirmed.message);
  assert.match(unconfirmed.message, /no inclusion within 1000 ms; will retry/);
  assert.equal(setter.pendingCommits.length, 1);
  return { setter, lines };
}

/** The unconfirmed reveal lands in the next block: the chain removes the revealed commit. */
function landReveal(node: FakeSubtensor) {
  node.best += 1;
  node.setStorage("SubtensorModule", "WeightCommits", [NETUID, alice.address], null);
}

/** The pool's refusal of a reveal whose commit the chain does not hold. */
const COMMIT_NOT_FOUND = invalidTransaction("Custom error: 16");

const reveals = (node: FakeSubtensor) =>
  node.submissions.filter((s) => s.method === "revealWeights").length;

Deno.test(
  "an unconfirmed reveal that landed is found revealed on chain, not sent again",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const { setter, lines } = await revealUnconfirmed(client, node);
      landReveal(node);
      node.onSubmit = () => COMMIT_NOT_FOUND;
      const [found] = await setter.revealDue();
      assert.equal(found.accepted, true, found.message);
      assert.match(found.message, /found revealed on chain/);
      assert.match(lines.at(-1)!, /reveal_weights 0x[0-9a-f]{64}: found revealed on chain/);
      assert.equal(reveals(node), 1, "the repeat is not sent");
      assert.equal(setter.pendingCommits.length, 0);
    });
  },
);

Deno.test(
  "an unseen reveal that landed is found revealed after its epoch ends, and one that did not is " +
    "reported expired",
  testOptions,
  async () => {
    for (const landed of [true, false]) {
      await withCommitReveal(async (client, node) => {
        const { setter } = await revealUnconfirmed(client, node);
        // The reveal went out late in its epoch; the next look at the chain is in the epoch after.
        if (landed) landReveal(node);
        node.best = firstBlockOfEpoch(setter.pendingCommits[0].revealEpoch + 1, NETUID, TEMPO) + 1;
        const [result] = await setter.revealDue();
        // The chain is asked before the epoch is judged: judged first, a landed reveal would read as
        // expired.
        if (landed) {
          assert.equal(result.accepted, true, result.message);
          assert.match(result.message, /found revealed on chain/);
        } else {
          assert.equal(result.accepted, false, result.message);
          assert.match(result.message, /expired unrevealed/);
        }
        assert.equal(reveals(node), 1, "nothing is sent after the epoch");
        assert.equal(setter.pendingCommits.length, 0);
      });
    }
  },
);

Deno.test(
  "an unseen reveal whose epoch has ended is kept while the chain cannot tell whether it landed",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const { setter } = await revealUnconfirmed(client, node);
      landReveal(node);
      node.best = firstBlockOfEpoch(setter.pendingCommits[0].revealEpoch + 1, NETUID, TEMPO) + 1;
      const commits = [NETUID, alice.address];
      node.failStorageReads("SubtensorModule", "WeightCommits", commits);
      const [unknown] = await setter.revealDue();
      // A lookup that fails is no answer: counted as no reveal ("expired unrevealed"), a reveal
      // that landed would be reported lost.
      assert.equal(unknown.accepted, false, unknown.message);
      assert.equal(unknown.deferred, true, unknown.message);
      assert.match(unknown.message, /cannot tell whether the reveal sent at block \d+ landed/);
      assert.equal(setter.pendingCommits.length, 1);
      // Still unknown a block later: kept.
      node.best += 1;
      assert.equal((await setter.revealDue())[0].deferred, true);
      assert.equal(setter.pendingCommits.length, 1);
      node.failStorageReads("SubtensorModule", "WeightCommits", commits, false);
      const [found] = await setter.revealDue();
      assert.equal(found.accepted, true, found.message);
      assert.match(found.message, /found revealed on chain/);
      assert.equal(reveals(node), 1, "nothing is sent after the epoch");
      assert.equal(setter.pendingCommits.length, 0);
    });
  },
);

Deno.test(
  "an unseen reveal the chain cannot look up for a whole epoch after its own is dropped",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const { setter } = await revealUnconfirmed(client, node);
      const revealEpoch = setter.pendingCommits[0].revealEpoch;
      node.failStorageReads("SubtensorModule", "WeightCommits", [NETUID, alice.address]);
      node.best = firstBlockOfEpoch(revealEpoch + 1, NETUID, TEMPO) + 1;
      assert.equal((await setter.revealDue())[0].deferred, true);
      node.best = firstBlockOfEpoch(revealEpoch + 2, NETUID, TEMPO) + 1;
      const [dropped] = await setter.revealDue();
      // Dropped a whole epoch after its own: kept pending, it would be looked up at every call for
      // as long as reads fail.
      assert.equal(dropped.accepted, false, dropped.message);
      assert.notEqual(dropped.deferred, true);
      assert.match(
        dropped.message,
        new RegExp(
          `dropped: whether its reveal sent at block \\d+ landed could not be told by epoch ${
            revealEpoch + 2
          }`,
        ),
      );
      assert.equal(setter.pendingCommits.length, 0);
      assert.equal(reveals(node), 1, "nothing is sent after the epoch");
    });
  },
);

Deno.test(
  "a node not past the block an unseen reveal was sent at proves nothing by the commit's absence",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const { setter } = await revealUnconfirmed(client, node);
      const sentAt = node.best;
      // Another node behind a load balancer, one block behind, without the commit as yet.
      node.best = sentAt - 1;
      node.setStorage("SubtensorModule", "WeightCommits", [NETUID, alice.address], null);
      node.onSubmit = () => COMMIT_NOT_FOUND;
      for (const best of [sentAt - 1, sentAt]) {
        node.best = best;
        const [waiting] = await setter.revealDue();
        assert.equal(waiting.accepted, false, waiting.message);
        assert.equal(waiting.deferred, true);
        assert.match(
          waiting.message,
          new RegExp(
            `at block ${best}, not past block ${sentAt} where the earlier reveal was sent`,
          ),
        );
        assert.equal(reveals(node), 1, "nothing is sent to a node that cannot tell");
        assert.equal(setter.pendingCommits.length, 1);
      }
      // Past it, the commit's absence means the reveal landed.
      node.best = sentAt + 1;
      const [found] = await setter.revealDue();
      assert.equal(found.accepted, true, found.message);
      assert.match(found.message, /found revealed on chain/);
      assert.equal(setter.pendingCommits.length, 0);
    });
  },
);

Deno.test(
  "a restarted setter still knows its reveal was sent unseen, and finds it revealed",
  testOptions,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      await withCommitReveal(async (client, node) => {
        const path = `${dir}/commits.json`;
        await revealUnconfirmed(client, node, path);
        landReveal(node);
        node.onSubmit = () => COMMIT_NOT_FOUND;
        // The mark is saved with the commit: kept in memory only, it would be lost at the restart,
        // and the setter would send the reveal again and count the refusal as a failure.
        const restarted = new ChainWeightSetter(client, {
          netuid: NETUID,
          hotkey: alice,
          timeoutMs: 300,
          pendingCommitsPath: path,
        });
        const [found] = await restarted.revealDue();
        assert.equal(found.accepted, true, found.message);
        assert.match(found.message, /found revealed on chain/);
        assert.equal(reveals(node), 1, "the repeat is not sent");
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "an unconfirmed reveal still pending on chain is sent again; a repeat refused because the " +
    "first landed meanwhile counts as revealed",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const { setter } = await revealUnconfirmed(client, node);
      node.best += 1; // a block without the reveal
      node.onSubmit = () => {
        landReveal(node);
        return COMMIT_NOT_FOUND;
      };
      const [found] = await setter.revealDue();
      assert.equal(reveals(node), 2, "the commit was still on chain: the reveal is sent again");
      assert.equal(found.accepted, true, found.message);
      assert.match(found.message, /found revealed on chain/);
      assert.equal(setter.pendingCommits.length, 0);
    });
  },
);

Deno.test(
  "a repeated reveal refused as CommitNotFound is a refusal while the chain still holds the commit",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const { setter } = await revealUnconfirmed(client, node);
      node.best += 1; // a block without the reveal
      node.onSubmit = () => COMMIT_NOT_FOUND;
      const [refused] = await setter.revealDue();
      assert.equal(reveals(node), 2);
      assert.equal(refused.accepted, false);
      assert.equal(refused.deferred, undefined);
      assert.match(refused.message, /CommitNotFound/);
      assert.equal(setter.pendingCommits.length, 0);
    });
  },
);

Deno.test(
  "a version key equal to WeightsVersionKey is accepted, and a neuron that never set weights is " +
    "not rate limited",
  testOptions,
  async () => {
    await withChain(async (client, node, subnet) => {
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      node.best = 600;
      const equal = await setter.setWeights([1], [1], 10);
      assert.equal(equal.accepted, true, equal.message);
      assert.equal(node.submissions.at(-1)!.args.version_key, 10);
      // A last update of 0 means never set: the chain applies no limit, even in block 51 of 100.
      subnet.neurons[0].lastUpdate = 0;
      node.best = 50;
      const first = await setter.setWeights([1], [1], 19);
      assert.equal(first.accepted, true, first.message);
      assert.deepEqual(node.submissions.map((s) => s.method), ["setWeights", "setWeights"]);
    });
  },
);

Deno.test(
  "on a runtime with the epoch counter, an unconfirmed commit counted an epoch before its " +
    "estimate is read back and revealed in the epoch before the estimated reveal epoch",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      // Block 1001 comes tempo blocks after 641: epoch 8 is due in it, so the estimate is 8.
      setSchedule(node, { index: 7, lastEpochBlock: 641 });
      const { setter } = await commitUnconfirmed(client, node);
      const [pending] = setter.pendingCommits;
      assert.deepEqual([pending.commitEpoch, pending.revealEpoch, pending.confirmed], [
        8,
        9,
        false,
      ]);
      // The per-block epoch cap deferred epoch 8 to block 1002: the commit counted in epoch 7.
      node.setStorage("SubtensorModule", "WeightCommits", [NETUID, alice.address], [
        [pending.hash, 7, 1001, 0],
      ]);
      setSchedule(node, { index: 8, lastEpochBlock: 1002 });
      node.best = 1010;
      node.onSubmit = () => ({ kind: "include" });
      // Epoch 8 is the reveal epoch the chain will accept; in epoch 9 the commit has expired.
      const [revealed] = await setter.revealDue();
      assert.equal(revealed?.accepted, true, revealed?.message);
      assert.equal(node.submissions.at(-1)!.method, "revealWeights");
      assert.equal(setter.pendingCommits.length, 0);
    }, { epochCounter: true });
  },
);

Deno.test(
  "rate limits are judged in the block that will include the call",
  testOptions,
  async () => {
    await withChain(async (client, node) => {
      // Alice's axon was served at block 10 (limit 50) and her weights set at 500 (limit 100).
      node.best = 59;
      const served = await serveAxon(client, alice, { netuid: NETUID, ip: "1.2.3.5", port: 8091 });
      assert.equal(served.ok, true, served.message);
      node.best = 599;
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      const set = await setter.setWeights([1], [1], 19);
      assert.equal(set.accepted, true, set.message);
      assert.deepEqual(node.submissions.map((s) => s.method), ["serveAxon", "setWeights"]);
    });
  },
);

Deno.test(
  "weights are processed with the subnet's stored MaxWeightsLimit, as the SDK reads it",
  testOptions,
  async () => {
    await withChain(async (client, node) => {
      node.best = 1000;
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      assert.equal((await setter.setWeights([1, 2], [0.9, 0.1], 19)).accepted, true);
      assert.deepEqual(node.submissions.at(-1)!.args.weights, [65535, 7282]);
      // A cap of 32768/65535 of the total leaves uid 2 just under uid 1.
      node.setStorage("SubtensorModule", "MaxWeightsLimit", [NETUID], 32768);
      node.best = 2000;
      assert.equal((await setter.setWeights([1, 2], [0.9, 0.1], 19)).accepted, true);
      assert.deepEqual(node.submissions.at(-1)!.args.weights, [65535, 65533]);
    });
  },
);

Deno.test(
  "setWeights reports the reveals it sent before its own commit",
  testOptions,
  async () => {
    await withCommitReveal(async (client, node) => {
      const setter = new ChainWeightSetter(client, { netuid: NETUID, hotkey: alice });
      const first = await setter.setWeights([1], [1], 19);
      assert.equal(first.reveals, undefined, "nothing was due");
      node.best = setter.pendingCommits[0].revealEpoch * (TEMPO + 1) - (NETUID + 1) + 3;
      const second = await setter.setWeights([2], [1], 19);
      assert.equal(second.committed, "hash");
      assert.equal(second.reveals?.length, 1);
      assert.equal(second.reveals![0].accepted, true, second.reveals![0].message);
      assert.deepEqual(
        node.submissions.map((s) => s.method),
        ["commitWeights", "revealWeights", "commitWeights"],
      );
    });
  },
);
