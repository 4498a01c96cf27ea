/**
 * Where an {@linkcode AgentHost}'s agent runs, behind one interface: a worker thread in the host's
 * own process, or a process of its own (`agent_process.ts`, connected over a Unix socket). A
 * process can be ended whatever the agent is doing (SIGKILL); Deno 2.9.6 cannot end a thread in
 * an endless loop. A thread costs less memory and starts sooner.
 * @module
 */
import { tmpdir } from "node:os";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type AgentEvent, type HostMessage, parseAgentEvent } from "./agent_protocol.ts";
import { AGENT_PROCESS_COMMAND } from "./agent_process_command.ts";
import { startAgentThread } from "./agent_thread.ts";
import {
  encodeFrame,
  FrameSizeError,
  MAX_AGENT_FRAME_BYTES,
  readFrames,
  writeFrame,
} from "./frames.ts";

/** Where the agent runs: a process of its own, or a worker thread in the host's process. */
export type AgentIsolation = "process" | "thread";

/** The way to an agent's worker, wherever it runs. */
export interface AgentChannel {
  /** Hands `message` to the agent; throws when it cannot be handed over (cloned, framed). */
  send(message: HostMessage): void;
  /** Ends the agent; resolves once it is gone (its memory returned). No event follows. */
  stop(): Promise<void>;
  /** The agent process's id; null for a thread. */
  readonly pid: number | null;
  /** What the process running the agent holds in memory, bytes; null once it cannot be read. */
  memory(): number | null;
  /** Told what the agent's worker sends and what becomes of it. */
  onEvent: (event: AgentEvent) => void;
}

/**
 * Starts the agent's worker, its JavaScript heap limited to `heapMb`, where `isolation` says. With
 * `sandbox`, its process may read only the directories it names, taos's sources and Deno's cache,
 * and learn the home directory's path; nothing else the permissions guard (write, net, env, run,
 * ffi, other sys).
 */
export async function openChannel(
  isolation: AgentIsolation,
  heapMb: number,
  sandbox: { read: string[] } | null = null,
): Promise<AgentChannel> {
  if (isolation === "thread") {
    if (sandbox !== null) throw new Error("a sandbox needs the agent in a process of its own");
    return openThread(heapMb);
  }
  return await openProcess(heapMb, sandbox);
}

function openThread(heapMb: number): AgentChannel {
  const channel: AgentChannel = {
    send: (message) => thread.post(message),
    stop: () => thread.terminate(),
    pid: null,
    memory: () => Deno.memoryUsage().rss,
    onEvent: () => {},
  };
  const thread = startAgentThread(heapMb, (event) => channel.onEvent(event));
  return channel;
}

/**
 * How to start an agent process: a compiled taos (`deno compile`) cannot `deno run` a module, so
 * it runs itself with an internal subcommand; otherwise Deno runs `agent_process.ts` with taos's
 * configuration (its import map names the npm packages).
 */
async function agentProcessCommand(
  socket: string,
  heapMb: number,
  sandbox: { read: string[] } | null,
): Promise<string[]> {
  const tail = [socket, String(heapMb)];
  if (Deno.build.standalone) {
    if (sandbox !== null) throw new Error("a compiled taos cannot start its agent in a sandbox");
    return [Deno.execPath(), AGENT_PROCESS_COMMAND, ...tail];
  }
  const readable = sandbox === null ? [] : [...sandbox.read, TAOS_ROOT, denoDir(), dirname(socket)];
  // Deno's permission lists are comma-separated, with no escape for a comma in a path.
  const unnamable = readable.find((path) => path.includes(","));
  if (unnamable !== undefined) {
    throw new Error(
      `${unnamable} holds a comma, which Deno's --allow-read cannot name; move it to a path ` +
        "without one, or leave out --agent.sandbox",
    );
  }
  const leading = await linkLeadingOut(sandbox?.read ?? [], readable);
  if (leading !== null) {
    throw new Error(
      `${leading.link} leads to ${leading.target}, outside what a sandboxed agent may read; ` +
        "remove the link, or leave out --agent.sandbox",
    );
  }
  const permissions = sandbox === null ? ["--allow-all"] : [
    `--allow-read=${readable.join(",")}`,
    // Connecting to the host's socket asks for all three. Once connected, the socket and its
    // directory are removed: nothing is left there to read or write.
    `--allow-write=${socket}`,
    `--allow-net=unix:${socket}`,
    // The loader names the default agents directory by the home directory.
    "--allow-sys=homedir",
  ];
  return [
    Deno.execPath(),
    "run",
    ...permissions,
    "--no-prompt",
    "--config",
    fileURLToPath(new URL("../deno.json", import.meta.url)),
    fileURLToPath(new URL("./agent_process.ts", import.meta.url)),
    ...tail,
  ];
}

/**
 * The first symbolic link in `dirs` (at any depth) whose target lies outside the `granted` paths,
 * and that target; null when there is none. Deno checks a path as written, so reading through such
 * a link would reach its target. A missing target is taken by the path the link names. Walked
 * without blocking: an agent's directory may be large, and a replacement starts while the miner
 * serves.
 */
async function linkLeadingOut(
  dirs: string[],
  granted: string[],
): Promise<{ link: string; target: string } | null> {
  const roots = (await Promise.all(granted.map(async (path) => {
    try {
      return [resolve(path), await Deno.realPath(path)];
    } catch {
      return [resolve(path)];
    }
  }))).flat();
  const inside = (path: string) =>
    roots.some((root) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep));
  const pending = [...dirs];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      // Unreadable: the agent cannot list it either.
      continue;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isSymlink) {
        let target: string;
        try {
          target = await Deno.realPath(path);
        } catch {
          target = resolve(dir, await Deno.readLink(path));
        }
        if (!inside(target)) return { link: path, target };
      } else if (entry.isDirectory) {
        pending.push(path);
      }
    }
  }
  return null;
}

/** The resident memory of process `pid`, bytes, from `/proc`; null when it cannot be read. */
function residentMemory(pid: number): number | null {
  try {
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}

/** taos's sources, which the agent's process loads. */
const TAOS_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Deno's cache (npm packages, compiled modules), where Deno puts it on this system. */
function denoDir(): string {
  const home = Deno.env.get("HOME") ?? "/";
  return Deno.env.get("DENO_DIR") ??
    join(Deno.env.get("XDG_CACHE_HOME") ?? join(home, ".cache"), "deno");
}

/** The longest path a Unix socket's address holds on Linux (`sun_path` less its closing NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

/** Where the agent's process starts: in the miner's working directory, or in `/` once that was
 * removed (a release directory a deploy replaced), where no process can be started. */
function startingDirectory(): string | undefined {
  try {
    Deno.cwd();
    return undefined;
  } catch {
    return "/";
  }
}

async function openProcess(
  heapMb: number,
  sandbox: { read: string[] } | null,
): Promise<AgentChannel> {
  // A directory only this user can enter: no other user's process can connect in the agent's place.
  let dir: string;
  try {
    dir = Deno.makeTempDirSync({ prefix: "taos-agent-" });
  } catch (error) {
    throw new Error(
      `cannot make the agent's socket directory in ${tmpdir()} (TMPDIR): ` +
        (error as Error).message,
    );
  }
  // Should this process exit before the agent's connects (a second signal while the sandbox's
  // links are checked, say), the directory goes with it.
  const removeDir = () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone.
    }
  };
  globalThis.addEventListener("unload", removeDir);
  const socket = join(dir, "socket");
  let listener: Deno.UnixListener;
  try {
    // The system's own word for it names SUN_LEN, which says nothing of what to change.
    const bytes = new TextEncoder().encode(socket).length;
    if (bytes > MAX_SOCKET_PATH_BYTES) {
      throw new Error(
        `its path has ${bytes} bytes, more than the ${MAX_SOCKET_PATH_BYTES} a socket's address ` +
          "holds; set TMPDIR to a shorter directory",
      );
    }
    listener = Deno.listen({ transport: "unix", path: socket });
  } catch (error) {
    globalThis.removeEventListener("unload", removeDir);
    Deno.removeSync(dir, { recursive: true });
    throw new Error(`cannot listen on ${socket}: ${(error as Error).message}`);
  }
  let child: Deno.ChildProcess;
  try {
    const [program, ...args] = await agentProcessCommand(socket, heapMb, sandbox);
    // The agent's output goes where the miner's does; messages take the socket. A session of its
    // own makes it the leader of a process group, in which the programs the agent starts stay
    // (unless they start a session of their own): the group is killed with it.
    child = new Deno.Command(program, {
      args,
      cwd: startingDirectory(),
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
      detached: true,
    }).spawn();
  } catch (error) {
    listener.close();
    globalThis.removeEventListener("unload", removeDir);
    Deno.removeSync(dir, { recursive: true });
    throw error;
  }
  let stopped = false;
  // Null when the process ended before it connected.
  const connected = Promise.race([listener.accept(), child.status.then(() => null)]).finally(() => {
    listener.close();
    removeDir();
    globalThis.removeEventListener("unload", removeDir);
  });
  // Settled once the directory is gone: the process connected, or ended.
  const dirRemoved = connected.then(() => {}, () => {});
  const writer = connected.then((conn) => conn?.writable.getWriter() ?? null, () => null);
  const channel: AgentChannel = {
    send(message) {
      const frame = encodeFrame(message);
      // Written in the order sent: the writer's callbacks run in that order, and the writer keeps
      // its writes in order. A write fails only when the process is gone, which is told as its end.
      writer.then((open) => open === null ? undefined : writeFrame(open, frame)).catch(() => {});
    },
    async stop() {
      stopped = true;
      // The group outlives its leader while a program the agent started runs on.
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone, all of it.
      }
      await child.status;
      // A miner stopping before the process connected exits next: nothing may be left behind.
      await dirRemoved;
    },
    pid: child.pid,
    memory: () => residentMemory(child.pid),
    onEvent: () => {},
  };
  const emit = (event: AgentEvent) => {
    if (!stopped) channel.onEvent(event);
  };
  const reading = connected.then(async (conn) => {
    if (conn === null) return;
    try {
      for await (const data of readFrames(conn.readable, MAX_AGENT_FRAME_BYTES)) {
        emit(parseAgentEvent(data) ?? { kind: "stray", text: "a message of the wrong form" });
      }
    } catch (error) {
      // A connection broken off is told by the process's end; a process sending more than its
      // worker ever does is replaced (and killed) before it is read.
      if (error instanceof FrameSizeError) {
        emit({ kind: "exiting", message: `sent the miner ${error.message}` });
      }
    }
  }, () => {});
  // Told once everything the process sent is read: its worker's own word on its end comes first.
  void Promise.all([reading, child.status]).then(([, status]) => {
    emit({ kind: "process-ended", code: status.code, signal: status.signal });
  });
  return channel;
}
