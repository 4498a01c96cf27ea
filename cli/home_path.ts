/**
 * A leading `~` in a path flag's value, expanded as the shell would: the shell leaves the `~` of
 * `--state=~/x` (or a quoted `"~/x"`) alone, and a directory named `~` is never what was meant.
 *
 * ```ts
 * expandHome("~/.bittensor/wallets"); // "/home/me/.bittensor/wallets"
 * ```
 * @module
 */
import { homedir } from "node:os";
import { join } from "node:path";

/** Replaces a leading `~` with the home directory. */
export function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}
