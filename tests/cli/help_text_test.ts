/**
 * Each command's help against the README and against the other helps: what one says of a flag or a
 * figure, the other says too.
 */
import assert from "node:assert/strict";
import { main } from "../../main.ts";

const COMMANDS = ["sim", "replay", "validator", "miner", "metagraph", "wallet"];

/** What `taos help <name>` prints, its lines joined. */
async function helpOf(name: string): Promise<string> {
  const log = console.log;
  const out: string[] = [];
  console.log = (text: string) => out.push(text);
  try {
    assert.equal(await main(["help", name]), 0);
  } finally {
    console.log = log;
  }
  return out.join("\n");
}

const readme = Deno.readTextFileSync(new URL("../../README.md", import.meta.url));

Deno.test("every command's help names --help among its options", async () => {
  for (const name of COMMANDS) {
    assert.match(await helpOf(name), /^ +(?:-h, )?--help +\S/m, `taos ${name} --help`);
  }
});

Deno.test("the sim's help gives the default day's time the README's quick start gives", async () => {
  const figure = /takes about ([a-z ]+?) on two cores/.exec(readme.replace(/\s+/g, " "))?.[1];
  assert.ok(figure !== undefined, "the README's quick start times the default simulation");
  const help = (await helpOf("sim")).replace(/\s+/g, " ");
  assert.match(help, new RegExp(`one simulated day\\) takes about ${figure} on two cores`));
});

Deno.test("the validator's help and README say when --reporting.disabled skips the metrics", async () => {
  const row = readme.split("\n").find((line) => line.startsWith("| `--reporting.disabled`"));
  assert.match(row ?? "", /do not refresh the metrics after each publish/);
  const help = (await helpOf("validator")).replace(/\s+/g, " ");
  assert.match(help, /--reporting\.disabled do not refresh metrics after each publish/);
});
