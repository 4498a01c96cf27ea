/** `deno task bench --help` names every benchmark's options, as the development notes promise. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

Deno.test("deno task bench --help lists each benchmark with its options", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      fileURLToPath(new URL("../../scripts/bench.ts", import.meta.url)),
      "--help",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const line = (name: string) => stdout.split("\n").find((l) => l.trim().startsWith(`${name} `));
  for (const option of ["--ops", "--seed", "--batch"]) {
    assert.match(line("exchange") ?? "", RegExp(option));
  }
  for (const option of ["--duration", "--books", "--threads", "--seed"]) {
    assert.match(line("sim") ?? "", RegExp(option));
  }
  for (const option of ["--rounds", "--phases"]) {
    assert.match(line("validator") ?? "", RegExp(option));
  }
});

Deno.test("each benchmark answers --help with its options and runs nothing", async () => {
  for (
    const [name, option] of [["exchange", "--ops"], ["sim", "--books"], ["validator", "--rounds"]]
  ) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        fileURLToPath(new URL(`../../bench/${name}.ts`, import.meta.url)),
        "--help",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, `${name}: ${new TextDecoder().decode(output.stderr)}`);
    assert.equal(stdout.trim().split("\n").length, 1, `${name} printed only its usage: ${stdout}`);
    assert.match(stdout, RegExp(`^${name} .*${option}`));
  }
});
