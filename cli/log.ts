/**
 * The log of the long-running commands (`taos validator`, `taos miner`): leveled lines on stderr,
 * each with an ISO time and its level, at the reference's levels (`--logging.<level>`,
 * `-l <level>`).
 *
 * ```ts
 * const log = makeLogger("info");
 * log("warning", "uid 7: failure (...)"); // 2026-11-27T10:25:40.123Z WARNING uid 7: failure (...)
 * ```
 * @module
 */
import { cutChars } from "./code_points.ts";

/** Log levels, most severe first. */
export const LOG_LEVELS = ["error", "warning", "info", "debug", "trace"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/**
 * A logger writing the lines at `level` and more severe ones to stderr, each entry on one line: a
 * message with line breaks (a library error quoting the request it failed, `...\nFailed WS
 * Request: {...}`) has them turned into spaces, so that every line starts with its time and level,
 * and other control characters escaped.
 */
export function makeLogger(level: LogLevel): (at: LogLevel, message: string) => void {
  const limit = LOG_LEVELS.indexOf(level);
  return (at, message) => {
    if (LOG_LEVELS.indexOf(at) <= limit) {
      // Any other control character is escaped: a message may quote what another party sent
      // (a request body, a state update's keys), and an escape sequence would reach the terminal.
      const line = message.replace(/\s*[\r\n]+\s*/g, " ").replace(CONTROL, escapeControl);
      console.error(`${new Date().toISOString()} ${at.toUpperCase().padEnd(7)} ${line}`);
    }
  };
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Text another party chose, made safe for one log line: control characters escaped (a newline
 * could forge a log line; C1 codes such as U+009B start terminal sequences), cut to `max`
 * characters counted as code points (a caller may send megabytes).
 */
export function untrustedText(text: string, max: number): string {
  return cutChars(text, max).replace(CONTROL, escapeControl);
}

/** `\u001b` for ESC: a control character as a JSON-style escape. */
function escapeControl(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}
