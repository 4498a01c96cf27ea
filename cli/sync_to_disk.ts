/**
 * fsync by path, for a file before it is renamed into place and for its directory after: without
 * the second, a crash can undo the rename.
 *
 * ```ts
 * syncToDisk(temporary);
 * renameSync(temporary, path);
 * syncToDisk(dirname(path));
 * ```
 * @module
 */
import { closeSync, fsyncSync, openSync } from "node:fs";

/** fsync of a file or directory by its path. */
export function syncToDisk(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
