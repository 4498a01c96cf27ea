/**
 * The agent's own process, started by its host (`agent_channel.ts`): it connects to the host's
 * Unix socket, runs the agent in a worker thread (`agent_thread.ts`) and relays messages both ways
 * as length-prefixed JSON frames (`frames.ts`), so the agent's own output on stdout and stderr,
 * which the process shares with the miner, never mixes with them. This thread runs no agent code:
 * it stays free to notice its host going away (the connection closes, even when the host was
 * killed outright) and then ends the process, worker and all, however busy the agent is.
 *
 * Arguments: the socket's path, then the agent's heap limit in MiB.
 * @module
 */
import type { AgentEvent, HostMessage } from "./agent_protocol.ts";
import { startAgentThread } from "./agent_thread.ts";
import { encodeFrame, MAX_AGENT_FRAME_BYTES, readFrames, writeFrame } from "./frames.ts";

/** Runs the relay with `[socketPath, heapMb]`; ends the process when done. */
export async function runAgentProcess(args: string[]): Promise<never> {
  const [path, heap] = args;
  const heapMb = Number(heap);
  if (path === undefined || !(heapMb > 0)) {
    console.error("agent process: expected <socket path> <heap MiB>");
    Deno.exit(2);
  }
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    // Its host exited before this process could connect.
    console.error(`agent process: cannot connect to ${path}: ${(error as Error).message}`);
    Deno.exit(1);
  }
  const writer = conn.writable.getWriter();
  const send = (event: AgentEvent) => {
    let frame: [Uint8Array, Uint8Array];
    try {
      frame = encodeFrame(event, MAX_AGENT_FRAME_BYTES);
    } catch (error) {
      // A reply too large for a frame fails its update rather than the relay.
      if (event.kind !== "step") throw error;
      frame = encodeFrame(
        {
          kind: "step-failed",
          id: event.id,
          message: `invalid agent response: ${(error as Error).message}`,
          seconds: event.seconds,
          problem: "invalid agent response",
        } satisfies AgentEvent,
      );
    }
    // A write fails only when the host is gone: so is the reason to run.
    // The writer keeps frames in order: this one is written once all sent before it are.
    return writeFrame(writer, frame).catch(() => endGroup());
  };
  const thread = startAgentThread(heapMb, (event) => {
    const sent = send(event);
    // The worker is gone: once the host has been told, so is this process.
    if (event.kind === "ended" || event.kind === "crashed") {
      const code = event.kind === "ended" ? event.code : 1;
      sent.finally(() => Deno.exit(code));
    }
  });
  try {
    for await (const message of readFrames(conn.readable)) thread.post(message as HostMessage);
  } catch {
    // A broken connection means the host is gone, as its end does.
  }
  endGroup();
}

/**
 * Ends this process and the programs its agent started: the host starts it as the leader of a
 * process group of its own. A sandboxed agent can start none, and this process may not signal.
 */
function endGroup(): never {
  try {
    Deno.kill(-Deno.pid, "SIGKILL");
  } catch {
    // Not permitted (sandboxed), or not a group's leader: there is no group to end.
  }
  Deno.exit(0);
}

if (import.meta.main) await runAgentProcess(Deno.args);
