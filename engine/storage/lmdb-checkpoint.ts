/**
 * A checkpoint of an LMDB environment that runs with MDB_NOSYNC: the bytes of its two meta pages
 * (pages 0 and 1 of data.mdb, which name the root of the latest committed B-tree) saved after an
 * `mdb_env_sync`, together with the write-ahead-log segment that follows that snapshot.
 *
 * Why: with NOSYNC a power loss may leave data.mdb with a meta page pointing at pages that never
 * reached the disk. The store keeps a read transaction open on the checkpoint's snapshot until the
 * next checkpoint, so LMDB never reuses (overwrites) that snapshot's pages; writing the saved meta
 * pages back before opening therefore always yields the intact, synced checkpoint snapshot, and
 * replaying the log from the saved segment brings it up to every acknowledged write. The restore runs
 * on every open (after a clean close it writes back identical bytes), so the crash tests exercise it.
 */
import { closeSync, existsSync, fdatasyncSync, openSync, readSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDirectory } from './wal-segments';

const MAGIC = 'CPBCKPT1';
const HEADER_BYTES = 8 + 4 + 4 + 4 + 4;
const FILE_NAME = 'checkpoint.meta';

/** What a checkpoint file holds. */
export interface Checkpoint {
  pageSize: number;
  /** The first write-ahead-log segment whose frames are not in the checkpoint snapshot. */
  walSeq: number;
  /** Pages 0 and 1 of data.mdb, `2 * pageSize` bytes. */
  metaPages: Buffer;
}

export class CheckpointError extends Error {}

/** Reads the meta pages of `data.mdb` as they are now (call while no write transaction runs). */
export function readMetaPages(envDir: string, pageSize: number): Buffer {
  const fd = openSync(path.join(envDir, 'data.mdb'), 'r');
  try {
    const pages = Buffer.alloc(2 * pageSize);
    const n = readSync(fd, pages, 0, pages.length, 0);
    if (n !== pages.length) throw new CheckpointError(`data.mdb is shorter than its two meta pages (${n} bytes)`);
    return pages;
  } finally {
    closeSync(fd);
  }
}

/** Writes the checkpoint file durably (temp file, fdatasync, rename, directory fsync), off the event loop. */
export async function saveCheckpoint(envDir: string, checkpoint: Checkpoint): Promise<void> {
  const file = Buffer.alloc(HEADER_BYTES + checkpoint.metaPages.length);
  file.write(MAGIC, 0, 'latin1');
  file.writeUInt32LE(checkpoint.pageSize, 8);
  file.writeUInt32LE(checkpoint.walSeq, 12);
  file.writeUInt32LE(checkpoint.metaPages.length, 16);
  file.writeUInt32LE(crc32(checkpoint.metaPages), 20);
  checkpoint.metaPages.copy(file, HEADER_BYTES);
  const target = path.join(envDir, FILE_NAME);
  const temp = `${target}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(file);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
  await syncDirectory(envDir);
}

/** The saved checkpoint, or undefined when the environment has none yet. */
export function loadCheckpoint(envDir: string): Checkpoint | undefined {
  const target = path.join(envDir, FILE_NAME);
  if (!existsSync(target)) return undefined;
  const fd = openSync(target, 'r');
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    if (readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES || header.toString('latin1', 0, 8) !== MAGIC) {
      throw new CheckpointError(`${target} is not a copbench checkpoint file`);
    }
    const metaPages = Buffer.alloc(header.readUInt32LE(16));
    if (readSync(fd, metaPages, 0, metaPages.length, HEADER_BYTES) !== metaPages.length || crc32(metaPages) !== header.readUInt32LE(20)) {
      throw new CheckpointError(`${target} is truncated or corrupt`);
    }
    return { pageSize: header.readUInt32LE(8), walSeq: header.readUInt32LE(12), metaPages };
  } finally {
    closeSync(fd);
  }
}

/** Writes the checkpoint's meta pages back into data.mdb (before LMDB opens it) and syncs them. */
export function restoreMetaPages(envDir: string, checkpoint: Checkpoint): void {
  const fd = openSync(path.join(envDir, 'data.mdb'), 'r+');
  try {
    writeSync(fd, checkpoint.metaPages, 0, checkpoint.metaPages.length, 0);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
