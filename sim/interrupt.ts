/**
 * Ctrl-C (SIGINT) as a request to stop: a long run ends at its next step boundary, flushes what it
 * wrote and reports how far it got, instead of dying with half-written files. A second Ctrl-C
 * exits at once.
 *
 * ```ts
 * using interrupt = listenForInterrupt();
 * while (!interrupt.signal.aborted) await step();
 * ```
 * @module
 */

/** Exit code of a run stopped by SIGINT (128 + signal 2), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;

/** Aborts `signal` on the first SIGINT; `[Symbol.dispose]` restores the default handling. */
export function listenForInterrupt(): { signal: AbortSignal } & Disposable {
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) Deno.exit(INTERRUPTED_EXIT_CODE);
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  return {
    signal: controller.signal,
    [Symbol.dispose]: () => Deno.removeSignalListener("SIGINT", onInterrupt),
  };
}

/** Lets the event loop run (so a pending SIGINT is delivered) at most every `everyMs`. */
export function eventLoopBreather(everyMs = 200): () => Promise<void> {
  let last = performance.now();
  return async () => {
    const now = performance.now();
    if (now - last < everyMs) return;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
}
