import assert from "node:assert/strict";
import { alice, charlie, NETUID, startNode } from "./subnet_fixture.ts";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

async function taos(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

const testOptions = { sanitizeOps: false, sanitizeResources: false };

Deno.test("taos metagraph prints the subnet from a node", testOptions, async () => {
  const { node } = startNode();
  try {
    const json = await taos(["metagraph", "--network", node.url, "--netuid", "79", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.netuid, NETUID);
    assert.equal(parsed.block, 1000);
    assert.equal(parsed.hyperparameters.tempo, 360);
    assert.equal(parsed.hyperparameters.weightsVersion, "10");
    assert.deepEqual(parsed.neurons.map((n: { hotkey: string }) => n.hotkey).slice(0, 1), [
      alice.address,
    ]);
    assert.equal(parsed.neurons[2].axon.ip, "2001:db8::1");
    // Each neuron carries its standing (a Map would print as {}).
    assert.equal(parsed.standing, undefined);
    assert.equal(parsed.neurons[0].validatorTrust, Math.fround(58982 / 65535));
    assert.equal(parsed.neurons[0].dividends, 1);
    assert.equal(parsed.neurons[0].emission, 41);
    assert.equal(parsed.neurons[2].active, false);
    assert.equal(parsed.neurons[1].incentive, Math.fround(39321 / 65535));

    // The miner's and validator's spelling of the node works too.
    const table = await taos(["metagraph", "-e", node.url]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /subnet 79 at block 1000: 3 neurons, tempo 360/);
    assert.match(
      table.stdout,
      new RegExp(`  2  ${charlie.address}\\s+0\\.250\\s+\\[2001:db8::1\\]:9000\n`),
    );
    assert.match(table.stdout, /1\.2\.3\.4:8091\n/);

    const missing = await taos(["metagraph", "--subtensor.network", node.url, "-u", "5"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /subnet 5 does not exist/);
  } finally {
    await node.close();
  }
});

Deno.test("taos metagraph rejects bad flags", async () => {
  // Worded as the miner's and validator's integer flags are, -u included.
  for (
    const [text, problem] of [
      ["x", "must be a number"],
      ["", "must be a number"],
      ["0x4f", "must be a number"],
      ["7.5", "must be an integer"],
      ["70000", "must be <= 65535"],
    ]
  ) {
    const refused = await taos(["metagraph", "-u", text]);
    assert.equal(refused.code, 2, text);
    assert.match(refused.stderr, new RegExp(`--netuid: '${text}' ${problem}`));
  }
  const network = await taos(["metagraph", "--network", "mainnet"]);
  assert.equal(network.code, 2);
  assert.match(
    network.stderr,
    /^taos metagraph: --network: "mainnet" is neither a known/m,
  );
  // The variable `local` reads is named itself, not the flag whose value was fine.
  const variable = await taos(["metagraph", "--network", "local"], {
    BT_SUBTENSOR_CHAIN_ENDPOINT: "http://node:9944",
  });
  assert.equal(variable.code, 2);
  assert.match(
    variable.stderr,
    /^taos metagraph: BT_SUBTENSOR_CHAIN_ENDPOINT: "http:\/\/node:9944" must be a ws:\/\/ or wss:\/\//m,
  );
  // -e wins, as for the miner and the validator: its bad value is the one reported.
  const both = await taos(["metagraph", "--network", "finney", "-e", "mainnet"]);
  assert.equal(both.code, 2);
  assert.match(
    both.stderr,
    /^taos metagraph: -e\/--subtensor\.chain_endpoint: "mainnet" is neither a known/m,
  );
});

Deno.test(
  "taos metagraph reports a node failing after the connection in one line",
  testOptions,
  async () => {
    const { node } = startNode();
    try {
      node.setRuntimeApi("NeuronInfoRuntimeApi", "get_neurons_lite", () => {
        throw new Error("state unavailable");
      });
      const run = await taos(["metagraph", "--network", node.url]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /taos metagraph: reading subnet 79 failed: .*state unavailable/);
      assert.doesNotMatch(run.stderr, /Uncaught| {4}at /);
    } finally {
      await node.close();
    }
  },
);

Deno.test("taos metagraph -h prints the help wherever it stands", async () => {
  const run = await taos(["metagraph", "--netuid", "5", "-h"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^Usage: taos metagraph/);
});

Deno.test(
  "taos metagraph to a full disk says that standard output refused the write",
  testOptions,
  async () => {
    const { node } = startNode();
    try {
      for (const json of [[], ["--json"]]) {
        const output = await new Deno.Command("sh", {
          args: ["-c", `"$0" run -A "$@" > /dev/full`, Deno.execPath(), MAIN, "metagraph"]
            .concat(["-e", node.url, ...json]),
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(output.stderr);
        assert.equal(output.code, 1, stderr);
        // A full standard output is told as such, not as the node's failure (`reading subnet 79
        // failed: No space left on device`).
        assert.match(
          stderr,
          /\ntaos metagraph: cannot write to standard output: No space left on device \(os error 28\)\n$/,
        );
        assert.doesNotMatch(stderr, /reading subnet/);
      }
    } finally {
      await node.close();
    }
  },
);

Deno.test("taos metagraph takes -e, then --network, then --subtensor.network, and checks the one taken", async () => {
  const cases: [string[], string, string][] = [
    [["--subtensor.network", "c", "--network", "b"], "--network", "b"],
    [
      ["--network", "b", "--subtensor.network", "c", "-e", "a"],
      "-e/--subtensor.chain_endpoint",
      "a",
    ],
  ];
  for (const [args, flag, value] of cases) {
    const refused = await taos(["metagraph", ...args]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(
      refused.stderr.split("\n")[0],
      `taos metagraph: ${flag}: "${value}" is neither a known network ` +
        "(finney, test, archive, local, latent-lite) nor a ws:// or wss:// URL",
    );
  }
});

Deno.test("taos metagraph's retries while the node is unreachable are its own lines on stderr", async () => {
  // A port nothing listens on: taken, then freed.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "metagraph", "-e", `ws://127.0.0.1:${port}`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    reader.releaseLock();
    assert.match(
      text.split("\n")[0],
      new RegExp(
        `^taos metagraph: no connection to ws://127\\.0\\.0\\.1:${port}; retrying in \\d+ ms$`,
      ),
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stderr.cancel().catch(() => {});
  }
});
