import { environmentFailure, main } from "../main.ts";
import { interruptOnceProgressing } from "./sim/interrupt.ts";
import { taosRun } from "./sim/taos_process.ts";
import { fileURLToPath } from "node:url";

function assertEquals(actual: unknown, expected: unknown, context?: string): void {
  if (actual !== expected) {
    throw new Error(
      `expected ${expected}, got ${actual}${context === undefined ? "" : `: ${context}`}`,
    );
  }
}

Deno.test("an unknown command exits with code 2, naming it, with the usage on standard error", async () => {
  const { code, out, err } = await captured(["no-such-command"]);
  assertEquals(code, 2);
  assertEquals(out.length, 0);
  assertEquals(err.length, 1);
  assertEquals(err[0].startsWith("taos: unknown command 'no-such-command'\n\n"), true);
  assertEquals(err[0].includes("Usage: taos <command>"), true);
});

/** Runs `main` with console.log and console.error captured: its exit code and what each printed. */
async function captured(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const [log, error] = [console.log, console.error];
  const out: string[] = [];
  const err: string[] = [];
  console.log = (text: string) => out.push(text);
  console.error = (text: string) => err.push(text);
  try {
    return { code: await main(args), out, err };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

Deno.test("without a command the usage goes to standard error, with code 2", async () => {
  const { code, out, err } = await captured([]);
  assertEquals(code, 2);
  // Not to standard output: a script reads results there.
  assertEquals(out.length, 0);
  assertEquals(err[0].includes("Usage: taos <command>"), true);
});

Deno.test("--help exits with code 0", async () => {
  assertEquals(await main(["--help"]), 0);
});

Deno.test("taos help <command> prints that command's help; an unknown one is an error", async () => {
  // `help sim` is sim's own help, not the list of commands.
  const sim = await captured(["help", "sim"]);
  assertEquals(sim.code, 0);
  assertEquals(sim.out.length, 1);
  assertEquals(sim.out[0].startsWith("Usage: taos sim"), true);
  const wallet = await captured(["help", "wallet"]);
  assertEquals(wallet.out[0].startsWith("Usage: taos wallet"), true);
  const unknown = await captured(["help", "frob"]);
  assertEquals(unknown.code, 2);
  assertEquals(unknown.out.length, 0);
  assertEquals(unknown.err[0].startsWith("taos help: unknown command 'frob'"), true);
  const two = await captured(["help", "sim", "miner"]);
  assertEquals(two.code, 2);
  assertEquals(two.err[0], "taos help: give one command (got 'sim miner')");
});

Deno.test("every command's help keeps to 100 columns", async () => {
  for (const name of ["sim", "replay", "validator", "miner", "metagraph", "wallet"]) {
    const { code, out } = await captured(["help", name]);
    assertEquals(code, 0);
    const wide = out.join("\n").split("\n").filter((line) => line.length > 100);
    assertEquals(wide.join("\n"), "");
  }
});

Deno.test("the validator's help counts the fundamental feed's prices as the sim's help does", async () => {
  // The engine takes one price per seed interval, as the sim's help and the README say; the
  // validator's help must say the same, not one per process update.
  for (const name of ["sim", "validator"]) {
    const { out } = await captured(["help", name]);
    const text = out.join("\n").replace(/\s+/g, " ");
    const feed = text.slice(text.indexOf("--fundamental-feed"), text.indexOf("--external-feed"));
    assertEquals(feed.includes("one per seed interval"), true);
    assertEquals(feed.includes("one per process update"), false);
    assertEquals(feed.includes("count,price[,time]"), true);
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
    // Not only last: for these commands -h is help before other flags too.
    assertEquals(await main(["sim", "-h", "--config", "small"]), 0);
    assertEquals(await main(["replay", "-h", "script.json"]), 0);
    assertEquals(printed.length, 6);
    assertEquals(printed[0].startsWith("Usage: taos sim"), true);
    assertEquals(printed[3].startsWith("Usage: taos wallet"), true);
    assertEquals(printed[4].startsWith("Usage: taos sim"), true);
    assertEquals(printed[5].startsWith("Usage: taos replay"), true);
    // The validator's -h is --wallet.hotkey; alone or last it still asks for help.
    assertEquals(await main(["validator", "-h"]), 0);
    assertEquals(await main(["miner", "--local", "-h"]), 0);
    assertEquals(printed.length, 8);
  } finally {
    console.log = log;
  }
});

Deno.test("the ./taos script runs the program as its own process: a SIGINT to its pid reaches it", async () => {
  const script = fileURLToPath(new URL("../taos", import.meta.url));
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

Deno.test("help and version written to a full disk end with a message and exit 1, not a stack trace", async () => {
  // The failed write is told in one line, not as an uncaught error with its stack.
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  for (
    const [args, who] of [
      [["--help"], "taos"],
      [["--version"], "taos"],
      [["help", "sim"], "taos help"],
      [["sim", "--help"], "taos sim"],
      [["validator", "-h"], "taos validator"],
    ] as const
  ) {
    const output = await new Deno.Command("sh", {
      args: ["-c", `"$0" run -A "$@" > /dev/full`, Deno.execPath(), main, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 1);
    assertEquals(
      stderr,
      `${who}: cannot write to standard output: No space left on device (os error 28)\n`,
    );
  }
});

Deno.test("a native library that cannot be built ends every command with one line and exit 1", async () => {
  const example = fileURLToPath(new URL("../sim/examples/replay_example.json", import.meta.url));
  // A compiler name that resolves to nothing asks for a build of its own, which cannot be made.
  const env = { CC: "taos-no-such-compiler" };
  for (
    const [args, who] of [
      [["replay", example], "taos replay"],
      [["sim", "--duration", "1m"], "taos sim"],
      [["sim", "--duration", "1m", "--agent-name", "RandomMakerAgent"], "taos sim"],
    ] as const
  ) {
    const { code, stdout, stderr } = await taosRun([...args], { env: { NO_COLOR: "1", ...env } });
    assertEquals(stdout, "");
    assertEquals(
      stderr,
      `${who}: no C compiler found (tried 'taos-no-such-compiler'): install one ` +
        "(Debian: apt-get install gcc) or set CC to its path\n",
    );
    assertEquals(code, 1);
  }
});

Deno.test("npm packages Deno cannot fetch into its cache end the command with one line and exit 1", async () => {
  // An empty cache that may not be filled: as a home directory that cannot be written, or no
  // network, leaves it.
  const cache = Deno.makeTempDirSync({ prefix: "taos-deno-dir-" });
  try {
    const { code, stdout, stderr } = await taosRun(["wallet", "list", "-p", cache], {
      env: { NO_COLOR: "1", DENO_DIR: cache },
      denoFlags: ["--cached-only"],
    });
    assertEquals(stdout, "");
    assertEquals(stderr.split("\n").length, 2, stderr);
    // Not where in taos's sources the import failed.
    assertEquals(stderr.includes("file://"), false, stderr);
    assertEquals(
      /^taos wallet: cannot load its npm packages: Failed caching npm package '[^']+': npm package not found in cache: .*DENO_DIR/
        .test(stderr),
      true,
      stderr,
    );
    assertEquals(code, 1);
  } finally {
    Deno.removeSync(cache, { recursive: true });
  }
});

Deno.test("a native library the system will not load is told in one line", () => {
  // A file that is no shared library fails to load as one on a noexec mount does.
  let refused: unknown;
  try {
    Deno.dlopen(fileURLToPath(new URL("../deno.json", import.meta.url)), {}).close();
  } catch (error) {
    refused = error;
  }
  const line = environmentFailure(refused);
  assertEquals(line?.startsWith("cannot load the native library: "), true, line ?? "null");
  assertEquals(line?.includes("deno.json"), true, line ?? "null");
  assertEquals(line?.includes("\n"), false, line ?? "null");
  assertEquals(environmentFailure(new TypeError("x is not a function")), null);
});
