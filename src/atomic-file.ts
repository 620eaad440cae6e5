/**
 * The one way optiflow replaces a state file (checkpoint, lock, history
 * cache): write a temp file beside it, fsync, rename over the target, fsync
 * the folder. A reader sees the old file or the new one, never half of one; a
 * failed write removes its temp file. Written by hand rather than with
 * write-file-atomic because the history cache is written as a list of typed
 * array views (no copy into one buffer of the whole cache).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeFileAtomic(file: string, parts: Iterable<string | Uint8Array>): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (const p of parts) {
        if (typeof p === 'string') writeSync(fd, p);
        else for (let off = 0; off < p.byteLength; ) off += writeSync(fd, p, off, p.byteLength - off);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // Already renamed or never created.
    }
    throw e;
  }
  try {
    const dfd = openSync(dirname(file), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Some file systems refuse to fsync a folder; the rename is still atomic.
  }
}
