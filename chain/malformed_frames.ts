/**
 * `@polkadot/rpc-provider` parses each WebSocket message inside the socket's message handler, so a
 * frame that is not JSON (a proxy's HTML error page, a cut-off message) is thrown from there, past
 * every caller, and would end the process as an uncaught exception. While a watcher is registered,
 * such an error is taken off the process's uncaught errors and given to the watchers instead.
 *
 * ```ts
 * const unwatch = watchMalformedFrames((error) => log(`not JSON: ${error.message}`));
 * // ... connect and work ...
 * unwatch();
 * ```
 * @module
 */

/** Receives the parse error of a frame the provider could not read. */
export type MalformedFrameWatcher = (error: SyntaxError) => void;

/** Where the provider's code lives, in Deno's npm cache and in a `node_modules` directory. */
const RPC_PROVIDER = /@polkadot[\\/]rpc-provider[\\/]/;

// Uncaught errors are one stream per process, so the watchers are too. The error does not say
// which socket it came from: every watcher hears it.
const watchers = new Set<MalformedFrameWatcher>();

function onUncaught(event: ErrorEvent): void {
  const error = event.error;
  if (!(error instanceof SyntaxError) || !RPC_PROVIDER.test(error.stack ?? "")) return;
  event.preventDefault();
  for (const watch of [...watchers]) watch(error);
}

/** Gives `watcher` the provider's unreadable frames until the returned function is called. */
export function watchMalformedFrames(watcher: MalformedFrameWatcher): () => void {
  if (watchers.size === 0) globalThis.addEventListener("error", onUncaught);
  watchers.add(watcher);
  return () => {
    if (watchers.delete(watcher) && watchers.size === 0) {
      globalThis.removeEventListener("error", onUncaught);
    }
  };
}
