/**
 * Writes a file whole or not at all: a temp file beside it, then a rename over it, so a reader or a
 * crash sees the old content or the new, never a part. `durable` also fsyncs the file before the
 * rename and the directory after it, so the new content survives a power loss once this returns
 * (for state a server has acknowledged: the cluster map, deployed plugins).
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, data: string | Uint8Array, options: { durable: boolean }): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (options.durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  if (!options.durable) return;
  const dirFd = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
