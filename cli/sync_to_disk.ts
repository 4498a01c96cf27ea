/**
 * fsync by path, for a file before it is renamed into place and for its directory after: without
 * the second, a crash can undo the rename.
 *
 * ```ts
 * syncToDisk(temporary);
 * renameSync(temporary, path);
 * syncDirectory(dirname(path));
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

/** Why a directory cannot be opened or flushed without anything being wrong with the write. */
const UNSYNCABLE_DIRECTORY = new Set(["EACCES", "EPERM", "EINVAL", "EISDIR", "ENOTSUP"]);

/**
 * fsync of a directory after a rename into it, where the file system allows it. A directory that
 * may be written but not read (mode 0733), or a file system that does not flush directories, is
 * left as it is: the rename has happened, and failing the write for it would report as lost a
 * file that is in place.
 */
export function syncDirectory(dir: string): void {
  try {
    syncToDisk(dir);
  } catch (error) {
    if (!UNSYNCABLE_DIRECTORY.has((error as { code?: string }).code ?? "")) throw error;
  }
}
