/**
 * A setting read from an environment variable is named by the variable in an error, not by the
 * flag it stands in for: the flag was not given, so naming it would send the user looking there.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** Runs `taos <args>` with `env` added to the environment; the exit code and stderr. */
async function taos(env: Record<string, string>, ...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("miner: an out-of-range BT_AXON_PORT is reported as BT_AXON_PORT", async () => {
  const run = await taos({ BT_AXON_PORT: "70000" }, "miner", "--local");
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /BT_AXON_PORT: '70000' must be <= 65535/);
  assert.doesNotMatch(run.stderr, /axon\.port/);
});

Deno.test("miner: an out-of-range BT_AXON_EXTERNAL_PORT is reported as BT_AXON_EXTERNAL_PORT", async () => {
  const run = await taos({ BT_AXON_EXTERNAL_PORT: "0" }, "miner", "--local");
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /BT_AXON_EXTERNAL_PORT: '0' must be >= 1/);
  assert.doesNotMatch(run.stderr, /axon\.external_port/);
});

Deno.test("miner: a flag given wins over the variable and is named as the flag", async () => {
  const run = await taos({ BT_AXON_PORT: "8091" }, "miner", "--local", "--axon.port", "99999");
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--axon\.port: '99999' must be <= 65535/);
  assert.doesNotMatch(run.stderr, /BT_AXON_PORT/);
});

for (const [command, flag] of [["miner", "-e"], ["validator", "--subtensor.network"]]) {
  Deno.test(`${command}: a bad BT_SUBTENSOR_CHAIN_ENDPOINT for ${flag} local is named, not the flag`, async () => {
    const run = await taos(
      { BT_SUBTENSOR_CHAIN_ENDPOINT: "http://node:9944" },
      command,
      flag,
      "local",
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `^taos ${command}: BT_SUBTENSOR_CHAIN_ENDPOINT: "http://node:9944" must be a ws://`,
        "m",
      ),
    );
    assert.doesNotMatch(run.stderr, /subtensor\.chain_endpoint/);
  });
}
