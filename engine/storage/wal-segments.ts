/**
 * The write-ahead log's files: numbered segments `wal-<seq>.log` in one directory. Frames are appended
 * to the newest segment with a synchronous write (so a frame is in the page cache, and survives a
 * killed process, before its mutations become visible in LMDB) and made durable with fdatasync, one
 * call per commit group. A checkpoint starts a new segment; segments older than the checkpoint's
 * are deleted once LMDB has been synced, except one kept as the spare file the next segment reuses.
 *
 * Why reuse a file: an fdatasync after an append that grows the file must also write its inode (the
 * new size) and allocate blocks; one that overwrites blocks the file already has writes the data
 * alone. Measured here (ext4, write 600 bytes + fdatasync in a loop, 6 runs): 200-380 µs median and
 * 84-116 µs of CPU per sync appending, 143-170 µs and 52-72 µs overwriting. Frames carry their
 * segment's number, so the older frames past the new ones in a reused file are never replayed.
 */
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, existsSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { decodeFrames, encodeFrame, type Mutation } from './wal-frame';

const SEGMENT_NAME = /^wal-(\d{16})\.log$/;

function segmentName(seq: number): string {
  return `wal-${String(seq).padStart(16, '0')}.log`;
}

/** An obsolete segment's file, kept for the next segment to reuse (not a segment: replay ignores it). */
const SPARE_NAME = 'wal-spare.log';

/** What a replay found. */
export interface ReplayResult {
  frames: number;
  mutations: number;
  /** Bytes dropped from the end of the log: a frame torn by a crash mid-write (never acknowledged). */
  tornBytes: number;
}

export class WalSegments {
  private fd: number | undefined;
  private seq = 0;
  private bytes = 0;
  /**
   * The fsync of the directory after the current segment was created, awaited by the next sync:
   * pending while it runs, then `true` or the error it failed with.
   */
  private directorySynced: Promise<void> | true | Error = true;

  /** The spare file is there to reuse (false while none is, or while one is being renamed into place). */
  private spareReady: boolean;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.spareReady = existsSync(path.join(dir, SPARE_NAME));
  }

  /** Sequence numbers of the segments on disk, oldest first. */
  segments(): number[] {
    const seqs: number[] = [];
    for (const name of readdirSync(this.dir)) {
      const match = SEGMENT_NAME.exec(name);
      if (match) seqs.push(Number(match[1]));
    }
    return seqs.sort((a, b) => a - b);
  }

  /**
   * Calls `apply` with every intact frame of the segments numbered `fromSeq` and up, in order. A torn
   * or corrupt frame of a segment ends the log: its segment is cut there and any later segment
   * deleted, since nothing after it was ever acknowledged (groups are made durable strictly in order,
   * and a new segment starts only with no group in flight). A reused file's older frames end only
   * their segment. Fewer bytes than a frame header are cut off and counted as torn, but do not end
   * the log: they may also be the end of an older frame in a reused file.
   */
  replay(fromSeq: number, apply: (frame: Mutation[]) => void): ReplayResult {
    const result: ReplayResult = { frames: 0, mutations: 0, tornBytes: 0 };
    let ended = false;
    for (const seq of this.segments()) {
      if (seq < fromSeq) continue;
      const file = path.join(this.dir, segmentName(seq));
      if (ended) {
        result.tornBytes += readFileSync(file).length;
        unlinkSync(file);
        continue;
      }
      const data = readFileSync(file);
      const { frames, validBytes, tail } = decodeFrames(data, seq);
      for (const frame of frames) {
        apply(frame);
        result.frames++;
        result.mutations += frame.length;
      }
      // A stale tail is a reused file's older frames: the segment ends there, the log goes on.
      if (tail === 'torn' || tail === 'fragment') {
        result.tornBytes += data.length - validBytes;
        truncateSync(file, validBytes);
        ended = tail === 'torn';
      }
    }
    return result;
  }

  /** Starts appending to a new segment after every existing one; returns its sequence number. */
  startNewSegment(): number {
    if (this.fd !== undefined) closeSync(this.fd);
    const existing = this.segments();
    this.seq = Math.max(this.seq, existing.length > 0 ? existing[existing.length - 1]! : 0) + 1;
    const file = path.join(this.dir, segmentName(this.seq));
    if (this.spareReady) {
      // Opened without truncation: frames overwrite the old ones from the start.
      this.spareReady = false;
      renameSync(path.join(this.dir, SPARE_NAME), file);
      this.fd = openSync(file, 'r+');
    } else {
      this.fd = openSync(file, 'wx');
    }
    this.bytes = 0;
    // A new segment's directory entry must itself be durable before any frame in it is acknowledged,
    // or a power loss could lose the file; off the event loop, awaited by the next sync().
    const synced = syncDirectory(this.dir);
    this.directorySynced = synced;
    synced.then(
      () => {
        if (this.directorySynced === synced) this.directorySynced = true;
      },
      (err: unknown) => {
        // Reported by the next sync, not as unhandled.
        if (this.directorySynced === synced) this.directorySynced = err instanceof Error ? err : new Error(String(err));
      },
    );
    return this.seq;
  }

  /** The segment being appended to. */
  get currentSeq(): number {
    return this.seq;
  }

  /** Bytes appended to the current segment. */
  get currentBytes(): number {
    return this.bytes;
  }

  /**
   * Appends one frame holding `mutations` to the current segment, in the page cache (synchronously,
   * so the log order is the call order); returns its size in bytes.
   */
  append(mutations: ReadonlyArray<Mutation>): number {
    const fd = this.requireFd();
    const frame = encodeFrame(mutations, this.seq);
    let written = 0;
    while (written < frame.length) written += writeSync(fd, frame, written, frame.length - written);
    this.bytes += frame.length;
    return frame.length;
  }

  /**
   * Makes every appended frame durable (fdatasync on libuv's thread pool), then calls `done`. A
   * callback, not a promise: it runs once per commit group on the write path.
   */
  sync(done: (err?: Error) => void): void {
    const fd = this.requireFd();
    fdatasync(fd, (err) => {
      const dir = this.directorySynced;
      if (err) done(err);
      else if (dir === true) done();
      else if (dir instanceof Error) done(dir);
      else dir.then(() => done(), (e: unknown) => done(e instanceof Error ? e : new Error(String(e))));
    });
  }

  /**
   * As sync, but on this thread: returns once every appended frame is durable, or throws. Returns
   * false, having done nothing, while the current segment's directory entry is still being synced
   * (use sync then).
   */
  syncNow(): boolean {
    const dir = this.directorySynced;
    if (dir instanceof Error) throw dir;
    if (dir !== true) return false;
    fdatasyncSync(this.requireFd());
    return true;
  }

  /**
   * Deletes the segments numbered below `seq` (off the event loop: unlinking a large file takes a
   * while), keeping the newest of them as the spare file when there is none.
   */
  async dropBefore(seq: number): Promise<void> {
    const obsolete = this.segments().filter((s) => s < seq);
    let keep = !this.spareReady && !existsSync(path.join(this.dir, SPARE_NAME)) ? obsolete.pop() : undefined;
    // An empty file saves nothing (a segment left empty when the store closed or a checkpoint came first).
    if (keep !== undefined && (await stat(path.join(this.dir, segmentName(keep)))).size === 0) {
      obsolete.push(keep);
      keep = undefined;
    }
    await Promise.all(obsolete.map((s) => unlink(path.join(this.dir, segmentName(s)))));
    if (keep !== undefined) {
      // Not durable until some later directory fsync, which is fine: after a crash the file is
      // either the spare or an old segment below the checkpoint's, which replay skips.
      await rename(path.join(this.dir, segmentName(keep)), path.join(this.dir, SPARE_NAME));
      this.spareReady = true;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private requireFd(): number {
    if (this.fd === undefined) throw new Error('WalSegments: no open segment (call startNewSegment first)');
    return this.fd;
  }
}

/** fsync of a directory, so the names created in it are durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
