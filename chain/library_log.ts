/**
 * Routes the console lines of `@polkadot/*` into a program's own log. The libraries log through
 * `@polkadot/util`'s `logger`, which calls `console.log`/`warn`/`error` directly with a local date
 * (`2026-11-27 10:25:40`), its origin padded to 16 characters (`          API-WS:`) and the values,
 * and offers no hook to replace it. While at least one sink is registered, console calls of that
 * exact shape go to the sinks as one line (`API-WS: disconnected from ...`); every other call
 * reaches the console unchanged.
 *
 * ```ts
 * const unregister = routeLibraryLog((line) => log("debug", line));
 * // ... connect and work ...
 * unregister();
 * ```
 * @module
 */
import { format } from "node:util";

/** Receives one library line: the origin, then the values, on a single line. */
export type LibraryLogSink = (line: string) => void;

type ConsoleMethod = "log" | "warn" | "error";
const METHODS: readonly ConsoleMethod[] = ["log", "warn", "error"];

/** `@polkadot/util`'s `formatDate`: local time, `YYYY-MM-DD HH:MM:SS`. */
const LIBRARY_DATE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
/** Its logger's origin: upper case, then a colon, padded on the left to 16 characters. */
const LIBRARY_ORIGIN = /^ *[A-Z0-9][A-Z0-9/_.-]*:$/;

// The console is one per process, so the routing is too: one set of sinks and one set of the
// console's own methods, put back when the last sink leaves.
const sinks = new Set<LibraryLogSink>();
let installed: {
  originals: Record<ConsoleMethod, (...args: unknown[]) => void>;
  wrappers: Record<ConsoleMethod, (...args: unknown[]) => void>;
} | null = null;

/** The library line of a console call, or null when the call is not the library's logger's. */
export function libraryLine(args: readonly unknown[]): string | null {
  const [date, origin, ...values] = args;
  if (typeof date !== "string" || !LIBRARY_DATE.test(date)) return null;
  if (typeof origin !== "string" || !LIBRARY_ORIGIN.test(origin)) return null;
  // An Error by its name and message: its stack would only show where the library is installed.
  const shown = values.map((v) => v instanceof Error ? `${v.name}: ${v.message}` : v);
  const text = shown.length === 0 ? "" : ` ${format(...shown)}`;
  // One line: a stack or a multi-line message would break the log's line-per-entry shape.
  return `${origin.trimStart()}${text}`.replace(/\s*[\r\n]+\s*/g, " ").trimEnd();
}

/**
 * Sends `@polkadot/*` console lines to `sink` until the returned function is called. Each sink
 * receives every library line (the lines do not say which connection they concern).
 */
export function routeLibraryLog(sink: LibraryLogSink): () => void {
  sinks.add(sink);
  if (installed === null) {
    const originals = { log: console.log, warn: console.warn, error: console.error };
    const wrap = (method: ConsoleMethod) => (...args: unknown[]) => {
      const line = libraryLine(args);
      if (line === null) return originals[method].apply(console, args);
      for (const receive of [...sinks]) receive(line);
    };
    const wrappers = { log: wrap("log"), warn: wrap("warn"), error: wrap("error") };
    for (const method of METHODS) console[method] = wrappers[method];
    installed = { originals, wrappers };
  }
  return () => {
    if (!sinks.delete(sink) || sinks.size > 0 || installed === null) return;
    // A method replaced again since (by a test capturing output, say) is left to its replacer.
    for (const method of METHODS) {
      if (console[method] === installed.wrappers[method]) {
        console[method] = installed.originals[method];
      }
    }
    installed = null;
  };
}
