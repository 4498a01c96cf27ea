import { main } from "../main.ts";
import { interruptOnceProgressing } from "./sim/interrupt.ts";

function assertEquals(actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`expected ${expected}, got ${actual}`);
}

Deno.test("an unknown command exits with code 2", async () => {
  assertEquals(await main(["no-such-command"]), 2);
});

Deno.test("without a command the usage goes to standard error, with code 2", async () => {
  const [log, error] = [console.log, console.error];
  const out: string[] = [];
  const err: string[] = [];
  console.log = (text: string) => out.push(text);
  console.error = (text: string) => err.push(text);
  try {
    assertEquals(await main([]), 2);
  } finally {
    [console.log, console.error] = [log, error];
  }
  // Until this version it went to standard output, where a script reads results.
  assertEquals(out.length, 0);
  assertEquals(err[0].includes("Usage: taos <command>"), true);
});

Deno.test("--help exits with code 0", async () => {
  assertEquals(await main(["--help"]), 0);
});

Deno.test("taos help <command> prints that command's help; an unknown one is an error", async () => {
  const [log, error] = [console.log, console.error];
  const out: string[] = [];
  const err: string[] = [];
  console.log = (text: string) => out.push(text);
  console.error = (text: string) => err.push(text);
  try {
    // Until this version `help sim` printed the list of commands.
    assertEquals(await main(["help", "sim"]), 0);
    assertEquals(out.length, 1);
    assertEquals(out[0].startsWith("Usage: taos sim"), true);
    assertEquals(await main(["help", "wallet"]), 0);
    assertEquals(out[1].startsWith("Usage: taos wallet"), true);
    assertEquals(await main(["help", "frob"]), 2);
    assertEquals(err[0].startsWith("taos help: unknown command 'frob'"), true);
    assertEquals(await main(["help", "sim", "miner"]), 2);
    assertEquals(err[1], "taos help: give one command (got 'sim miner')");
    assertEquals(out.length, 2);
  } finally {
    [console.log, console.error] = [log, error];
  }
});

Deno.test("-h asks for help wherever it stands, except where it is the hotkey flag", async () => {
  const log = console.log;
  const printed: string[] = [];
  console.log = (text: string) => printed.push(text);
  try {
    assertEquals(await main(["sim", "--config", "small", "-h"]), 0);
    assertEquals(await main(["replay", "script.json", "-h"]), 0);
    assertEquals(await main(["metagraph", "--netuid", "5", "-h"]), 0);
    assertEquals(await main(["wallet", "list", "-h"]), 0); // last: help, not the hotkey
    assertEquals(printed.length, 4);
    assertEquals(printed[0].startsWith("Usage: taos sim"), true);
    assertEquals(printed[3].startsWith("Usage: taos wallet"), true);
    // The validator's -h is --wallet.hotkey; alone or last it still asks for help.
    assertEquals(await main(["validator", "-h"]), 0);
    assertEquals(await main(["miner", "--local", "-h"]), 0);
    assertEquals(printed.length, 6);
  } finally {
    console.log = log;
  }
});

Deno.test("the ./taos script runs the program as its own process: a SIGINT to its pid reaches it", async () => {
  const script = new URL("../taos", import.meta.url).pathname;
  const child = new Deno.Command(script, {
    args: ["sim", "--config", "small", "--duration", "1d", "--threads", "1", "--progress"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = await interruptOnceProgressing(child);
  assertEquals((await child.status).code, 130);
  if (!/interrupted at \d\d:\d\d:\d\d of 24:00:00 simulated/.test(stderr)) {
    throw new Error(`not stopped by the signal:\n${stderr}`);
  }
});

Deno.test("--version prints taos's version, the subnet release it follows and the runtime", async () => {
  const log = console.log;
  const printed: string[] = [];
  console.log = (text: string) => printed.push(text);
  try {
    assertEquals(await main(["--version"]), 0);
    assertEquals(await main(["-V"]), 0);
  } finally {
    console.log = log;
  }
  assertEquals(printed.length, 2);
  assertEquals(
    /^taos \d+\.\d+\.\d+ \(subnet 79 0\.1\.9, Deno \d+\.\d+\.\d+\)$/.test(printed[0]),
    true,
  );
  assertEquals(printed[1], printed[0]);
});
