/** Stopping a running `taos sim` child the way a user does, for the tests of its SIGINT handling. */

/**
 * Reads `child`'s stderr until its progress bar shows, waits `settleMs`, sends `signal` (SIGINT,
 * as Ctrl-C does, unless told), and returns everything it wrote to stderr once it has closed the
 * stream.
 */
export async function interruptOnceProgressing(
  child: Deno.ChildProcess,
  settleMs = 0,
  signal: Deno.Signal = "SIGINT",
): Promise<string> {
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  while (!stderr.includes(" simulated, ")) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
  child.kill(signal);
  for (let r = await reader.read(); !r.done; r = await reader.read()) stderr += r.value;
  return stderr;
}
