/**
 * Ctrl-C (SIGINT) and SIGTERM as a request to stop: a long run ends at its next step boundary, flushes what it wrote and reports how far it got, instead of
 * dying with half-written files. A second signal exits at once.
 *
 * ```ts
 * using interrupt = listenForInterrupt();
 * while (!interrupt.signal.aborted) await step();
 * ```
 * @module
 */

/** Exit codes of a run stopped by each signal it listens for (128 + the signal's number), as
 * shells report them. */
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** A signal taken as a request to stop. */
export type InterruptSignal = keyof typeof EXIT_CODES;

/**
 * Aborts `signal` on the first SIGINT or SIGTERM (what `timeout`, `kill` and service managers
 * send), with the signal's name as the reason; a second signal exits at once, after
 * `onSecond(second, first)`. `exitCode()` is the code for the signal that stopped the run.
 * `[Symbol.dispose]` restores the default handling.
 */
export function listenForInterrupt(
  onSecond?: (second: InterruptSignal, first: InterruptSignal) => void,
): { signal: AbortSignal; exitCode(): number } & Disposable {
  const controller = new AbortController();
  // Windows delivers no SIGTERM to listen for.
  const signals: InterruptSignal[] = Deno.build.os !== "windows"
    ? ["SIGINT", "SIGTERM"]
    : ["SIGINT"];
  const listeners = signals.map((name) => {
    const listener = () => {
      if (controller.signal.aborted) {
        onSecond?.(name, controller.signal.reason);
        Deno.exit(EXIT_CODES[name]);
      }
      controller.abort(name);
    };
    Deno.addSignalListener(name, listener);
    return [name, listener] as const;
  });
  return {
    signal: controller.signal,
    exitCode: () => EXIT_CODES[controller.signal.reason as InterruptSignal] ?? 130,
    [Symbol.dispose]: () => {
      for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
    },
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
