/**
 * `taos`: the τaos (Bittensor subnet 79) market simulator, validator and miner in one program.
 *
 * ```sh
 * deno run -A main.ts sim --duration 10m
 * ```
 * @module
 */
import { type Command, printOut, UsageError, wantsHelp } from "./cli/command.ts";
import manifest from "./deno.json" with { type: "json" };
import { AGENT_PROCESS_COMMAND } from "./miner/agent_process_command.ts";

/** What `taos --version` prints: taos's own version, the subnet release it follows, the runtime. */
export function versionLine(): string {
  return `taos ${manifest.version} (subnet 79 ${SUBNET_RELEASE}, Deno ${Deno.version.deno})`;
}

/** The taos-im/sn-79 release whose protocol, scoring and weights version key taos follows. */
const SUBNET_RELEASE = "0.1.9";

/** Every subcommand, loaded only when invoked. */
const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  sim: {
    summary: "run a market simulation (embedded default config)",
    load: async () => (await import("./sim/command.ts")).command,
  },
  replay: {
    summary: "run an instruction script through the exchange core, print events as JSON lines",
    load: async () => (await import("./sim/replay_command.ts")).command,
  },
  validator: {
    summary: "run a subnet 79 validator",
    load: async () => (await import("./validator/command.ts")).command,
  },
  miner: {
    summary: "run a subnet 79 miner serving a trading agent",
    load: async () => (await import("./miner/command.ts")).command,
  },
  metagraph: {
    summary: "print a subnet's hyperparameters and neurons from the chain",
    load: async () => (await import("./chain/command.ts")).command,
  },
  wallet: {
    summary: "create, list and show local Bittensor wallets",
    load: async () => (await import("./cli/wallet_command.ts")).command,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return [
    "taos: the subnet 79 market simulator, validator and miner",
    "",
    "Usage: taos <command> [options]      (taos help <command> for its options)",
    "       taos --version",
    "",
    "Commands:",
    ...lines,
  ].join("\n");
}

/** Runs `taos` with the given arguments and resolves to the process exit code. */
export async function main(args: string[]): Promise<number> {
  const name = args[0];
  try {
    return await dispatch(args);
  } catch (error) {
    const who = name === "help" || Object.hasOwn(commands, name ?? "") ? `taos ${name}` : "taos";
    if (error instanceof UsageError) {
      console.error(`${who}: ${error.message}`);
      return 2;
    }
    // The system refused a write (a full disk, a read-only file system): a message, not a trace.
    if (isRefusedWrite(error)) {
      console.error(`${who}: ${(error as Error).message}`);
      return 1;
    }
    const failure = environmentFailure(error);
    if (failure !== null) {
      console.error(`${who}: ${failure}`);
      return 1;
    }
    throw error;
  }
}

/** What `main` runs: the usage, the version, a command's help, or the command. */
async function dispatch(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--version" || name === "-V") {
    printOut(versionLine());
    return 0;
  }
  if (name === "help" && rest.length > 0) return await helpFor(rest);
  // A compiled taos runs its miner's agent in a copy of itself started this way.
  if (name === AGENT_PROCESS_COMMAND) {
    return await (await import("./miner/agent_process.ts")).runAgentProcess(rest);
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    // Asked for, the usage is the output; without a command it is the error's explanation.
    if (name === undefined) {
      console.error(usage());
      return 2;
    }
    printOut(usage());
    return 0;
  }
  const entry = commands[name];
  if (entry === undefined) {
    console.error(`taos: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  if (wantsHelp(rest, command.shortHelp)) {
    printOut(command.help);
    return 0;
  }
  return await command.run(rest);
}

/** `taos help <command>`: that command's help, as `taos <command> --help` prints it. */
async function helpFor(names: string[]): Promise<number> {
  if (names.length > 1) {
    console.error(`taos help: give one command (got '${names.join(" ")}')`);
    return 2;
  }
  const entry = commands[names[0]];
  if (entry === undefined) {
    console.error(`taos help: unknown command '${names[0]}'\n\n${usage()}`);
    return 2;
  }
  printOut((await entry.load()).help);
  return 0;
}

/** Error codes of writes the system refused. */
const WRITE_FAILURES = new Set(["ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EIO"]);
/** The same errors by number, as Deno's `node:fs` reports them: "... (os error 27)". */
const WRITE_FAILURE_ERRNOS = new Set([28, 122, 27, 30, 5]);

function isRefusedWrite(error: unknown): boolean {
  if (WRITE_FAILURES.has((error as { code?: string }).code ?? "")) return true;
  const errno = /\(os error (\d+)\)$/.exec((error as Error)?.message ?? "")?.[1];
  return errno !== undefined && WRITE_FAILURE_ERRNOS.has(Number(errno));
}

/**
 * What this machine lacks for a command to run, as the line that tells it: the native library
 * that cannot be built (no C compiler, a read-only checkout) or loaded (a `noexec` mount), or npm
 * packages Deno cannot fetch into its cache (a home directory that cannot be written, no network).
 * Null for any other error, whose stack trace is kept.
 */
export function environmentFailure(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  // By name: importing the build module here would load it for every command.
  if (error.name === "NativeBuildError") return error.message;
  // Deno's own messages: a first line, its causes on indented lines numbered from 0, then where the
  // import stands (`at file:///...`, coloured on a terminal).
  // deno-lint-ignore no-control-regex -- the escape character is what is removed
  const flat = error.message.replace(/\x1b\[[0-9;]*m/g, "").split("\n")
    .map((line) => line.trim().replace(/^\d+: /, ""))
    .filter((line) => line !== "" && !line.startsWith("at ")).join(": ").replace(/\.$/, "");
  if (flat.startsWith("Failed caching npm package")) {
    return `cannot load its npm packages: ${flat}; Deno fetches them from the npm registry into ` +
      "DENO_DIR (by default ~/.cache/deno), which must be writable";
  }
  const library = /^(?:Could not open library: )+(.*)$/s.exec(flat)?.[1];
  if (library !== undefined) {
    const noexec = library.includes("failed to map segment")
      ? " (a file system mounted noexec cannot load it: use a checkout on another)"
      : "";
    return `cannot load the native library: ${library}${noexec}`;
  }
  return null;
}

if (import.meta.main) {
  // Past a file-size limit (`ulimit -f`) the system would kill the process outright; ignoring the
  // signal turns it into an EFBIG write error, reported as above.
  Deno.addSignalListener("SIGXFSZ", () => {});
  Deno.exit(await main(Deno.args));
}
