/**
 * LMDB-backed storage of one node: a single ordered keyspace of binary keys and values (the rows
 * of every region the node holds), plus a small metadata database. Reads are synchronous and
 * zero-promise (lmdb-js style).
 *
 * Writes go through a write-ahead log with group commit (group-commit.ts): a write promise resolves
 * once its log frame is fdatasync'd and its LMDB transaction is committed (visible). LMDB itself runs
 * with MDB_NOSYNC and is synced only at checkpoints (lmdb-checkpoint.ts), so an acknowledged write
 * costs one sequential log append + fdatasync shared by its whole group, instead of LMDB's B-tree
 * page writes and two syncs per transaction. Opening the store restores the last checkpoint and
 * replays the log.
 */
import { open, type RootDatabase, type Database, type Transaction } from 'lmdb';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { GroupCommitter, DEFAULT_CHECKPOINT_POLICY, type CheckpointPolicy, type CommitStats, type WriteCallback } from './group-commit';
import { loadCheckpoint, readMetaPages, restoreMetaPages, saveCheckpoint } from './lmdb-checkpoint';
import type { Mutation } from './wal-frame';
import { WalSegments, type ReplayResult } from './wal-segments';

/** LMDB's compile-time key size limit (mdb_env_get_maxkeysize with the default page size). */
export const MAX_KEY_BYTES = 1978;

/** One stored row. */
export interface Row {
  key: Buffer;
  value: Buffer;
}

/** A half-open key range `[start, end)`; an empty `end` means "to the end of the keyspace". */
export interface KeyRange {
  start: Buffer;
  end: Buffer;
}

export interface ScanOptions {
  /** Stop after this many rows. */
  limit?: number;
  /** Stop after the row that brings the batch past this many key+value bytes. */
  maxBytes?: number;
  reverse?: boolean;
}

/**
 * How a metered visit (NodeStore.visitViews, RowSource.visitViews) reports the rows and key+value
 * bytes it has passed so far: `check` at least every `every` rows and as soon as rows pass
 * `maxRows` or bytes pass `maxBytes` (a scan budget; check throws to end the visit), and `done`
 * once when the visit ends, however it ends. Calling check more often is allowed.
 */
export interface VisitMeter {
  readonly every: number;
  readonly maxRows: number;
  readonly maxBytes: number;
  check(rows: number, bytes: number): void;
  /** Must not throw: it runs while the visit unwinds. */
  done(rows: number, bytes: number): void;
}

/** Row and byte counts of a range, with keys that cut it into pieces of about `pieceKeys` rows. */
export interface RangeStats {
  keys: number;
  bytes: number;
  splitKeys: Buffer[];
}

export class StorageError extends Error {
  constructor(
    readonly code: 'KEY_EMPTY' | 'KEY_TOO_LARGE',
    message: string,
  ) {
    super(message);
  }
}

/** Throws a StorageError for keys LMDB cannot store. */
export function checkKey(key: Buffer): void {
  if (key.length === 0) throw new StorageError('KEY_EMPTY', 'empty keys are not supported');
  if (key.length > MAX_KEY_BYTES) throw new StorageError('KEY_TOO_LARGE', `key of ${key.length} bytes exceeds the limit of ${MAX_KEY_BYTES}`);
}

/** How a store is opened: the node's main thread owns writes and recovery; plugin workers only read. */
export type StoreRole = 'owner' | 'reader';

export interface StoreOptions {
  checkpoint?: Partial<CheckpointPolicy>;
  /** Rows deleted per LMDB transaction by clearRange (bounds one commit's size). */
  rangeDeleteBatchKeys?: number;
}

/** The owner store of each environment directory opened in this process (one writer per log). */
const OWNERS = new Map<string, NodeStore>();

export class NodeStore {
  private readonly root: RootDatabase;
  private readonly rows: Database<Buffer, Buffer>;
  /** The same rows, read with values decoded as views of LMDB's read buffer (see scanViews). */
  private readonly rowViews: Database<Buffer, Buffer>;
  private readonly meta: Database<unknown, string>;
  private readonly writer: { wal: WalSegments; committer: GroupCommitter; pageSize: number } | undefined;
  private readonly rangeDeleteBatchKeys: number;
  /** A read transaction on the last checkpoint's snapshot: LMDB must not reuse its pages (see lmdb-checkpoint.ts). */
  private pinned: Transaction | undefined;
  /** What opening the store replayed from the log (owner only). */
  readonly recovery: ReplayResult & { restoredCheckpoint: boolean };

  private constructor(
    readonly dir: string,
    role: StoreRole,
    options: StoreOptions,
  ) {
    mkdirSync(dir, { recursive: true });
    if (role === 'owner') {
      if (OWNERS.has(path.resolve(dir))) throw new Error(`NodeStore: ${dir} is already open for writing in this process (one writer per write-ahead log); use openReader for reads`);
      OWNERS.set(path.resolve(dir), this);
    }
    this.rangeDeleteBatchKeys = options.rangeDeleteBatchKeys ?? 10_000;
    const checkpoint = role === 'owner' ? loadCheckpoint(dir) : undefined;
    if (checkpoint && existsSync(path.join(dir, 'data.mdb'))) restoreMetaPages(dir, checkpoint);
    this.root = open({ path: dir, maxDbs: 4, mapSize: 64 * 1024 * 1024 * 1024, noSync: true } as never);
    this.rows = this.root.openDB({ name: 'rows', keyEncoding: 'binary', encoding: 'binary' }) as unknown as Database<Buffer, Buffer>;
    this.rowViews = this.root.openDB({ name: 'rows', keyEncoding: 'binary', encoder: VALUE_VIEWS } as never) as unknown as Database<Buffer, Buffer>;
    this.meta = this.root.openDB({ name: 'meta', encoding: 'json' }) as unknown as Database<unknown, string>;
    if (role === 'reader') {
      this.writer = undefined;
      this.recovery = { frames: 0, mutations: 0, tornBytes: 0, restoredCheckpoint: false };
      return;
    }
    // Pin the snapshot the log replays onto, so a crash during or after the replay can restore it again.
    this.pinned = this.pinSnapshot();
    const wal = new WalSegments(path.join(dir, 'wal'));
    const replayed = wal.replay(checkpoint?.walSeq ?? 0, (frame) => this.applySync(frame));
    this.recovery = { ...replayed, restoredCheckpoint: checkpoint !== undefined };
    wal.startNewSegment();
    const pageSize = Number((this.root.getStats() as { pageSize: number }).pageSize);
    const committer = new GroupCommitter(wal, { apply: (m) => this.applyGroup(m), beginCheckpoint: () => this.beginCheckpoint() }, { ...DEFAULT_CHECKPOINT_POLICY, ...options.checkpoint });
    this.writer = { wal, committer, pageSize };
    // Until a first checkpoint exists, a power loss could leave data.mdb torn with nothing to restore;
    // after a replay, the checkpoint also drops the replayed log.
    if (!checkpoint || replayed.frames > 0) {
      this.initialCheckpoint = committer.checkpointNow();
      this.initialCheckpoint.then(() => (this.initialCheckpointDone = true), () => undefined);
    } else {
      this.initialCheckpointDone = true;
    }
  }

  private initialCheckpointDone = false;

  /** Resolves once the checkpoint taken at open (when one was needed) is durable. */
  private initialCheckpoint: Promise<void> = Promise.resolve();

  /** Opens the node's store: restores the last checkpoint and replays the write-ahead log. One per environment. */
  static open(dir: string, options: StoreOptions = {}): NodeStore {
    return new NodeStore(dir, 'owner', options);
  }

  /** Opens a read-only view of an environment another NodeStore in this process owns (plugin workers). */
  static openReader(dir: string): NodeStore {
    return new NodeStore(dir, 'reader', {});
  }

  /** The store open for writing on `dir` in this process (plugin writes from worker threads go through it). */
  static ownerOf(dir: string): NodeStore | undefined {
    return OWNERS.get(path.resolve(dir));
  }

  /** Resolves once the store is ready for durable writes (its first checkpoint exists). */
  ready(): Promise<void> {
    return this.initialCheckpoint;
  }

  /**
   * Makes the next read see every commit made so far. A reader in another thread (a plugin worker)
   * otherwise keeps its read transaction until lmdb-js's next timer turn, so a call that arrives right
   * after an acknowledged write could read the snapshot before it (seen once in CI as a plugin-state
   * rebuild that missed the write it was rebuilt for).
   */
  readLatest(): void {
    (this.root as unknown as { resetReadTxn(): void }).resetReadTxn();
  }

  get(key: Buffer): Buffer | undefined {
    return this.rows.get(key);
  }

  /**
   * The value of `key` as a view of LMDB's shared read buffer, valid only until the next read on
   * this store: for a caller that copies it at once (the node encodes a GET reply from it). Saves
   * get's copy, ~6% of the node's time under `redis-benchmark -t get -P 16`.
   */
  getView(key: Buffer): Buffer | undefined {
    return this.rowViews.get(key);
  }

  /** Resolves once the write is durable and visible. */
  put(key: Buffer, value: Buffer): Promise<void> {
    return this.commit([{ kind: 'put', key, value }]);
  }

  /** As put, but calls `done` once the write is durable and visible (SET: no promise per write). */
  putWith(key: Buffer, value: Buffer, done: WriteCallback): void {
    this.commitWith([{ kind: 'put', key, value }], false, done);
  }

  /** All rows in one transaction (and one log frame); resolves once durable. */
  putMany(rows: ReadonlyArray<Row>): Promise<void> {
    return this.commit(rows.map((r): Mutation => ({ kind: 'put', key: r.key, value: r.value })));
  }

  /** Deletes keys in one transaction; resolves with how many existed. */
  async removeMany(keys: ReadonlyArray<Buffer>): Promise<number> {
    let existed = 0;
    for (const k of keys) if (this.rows.doesExist(k)) existed++;
    await this.commit(keys.map((key): Mutation => ({ kind: 'remove', key })));
    return existed;
  }

  exists(key: Buffer): boolean {
    return this.rows.doesExist(key);
  }

  /** Lazily iterates rows of `[start, end)` in key order (or reverse). */
  *scan(range: KeyRange, opts: ScanOptions = {}): Generator<Row> {
    const limit = opts.limit ?? Infinity;
    const maxBytes = opts.maxBytes ?? Infinity;
    let rows = 0;
    let bytes = 0;
    const reverse = opts.reverse ?? false;
    // lmdb-js reverse ranges run from an inclusive high `start` down, so [start, end) reversed starts
    // at `end` (skipped if present) and stops once keys fall below `start`.
    // Values are read as views and copied with Buffer.allocUnsafe, which carves values under 4 KiB
    // out of Node's shared 8 KiB pool: lmdb-js's own copy gives every value a fresh ArrayBuffer,
    // which the 1 GiB in-node scan showed as worker memory growing with the rows scanned (external
    // memory freed only by GC) and the scan profile as allocation time. The copies are as stable
    // as any Buffer: a caller may keep them.
    const iterable = reverse
      ? this.rowViews.getRange({ ...(range.end.length > 0 ? { start: range.end } : {}), reverse: true })
      : this.rowViews.getRange(rangeOptions(range));
    for (const entry of iterable) {
      if (rows >= limit || bytes >= maxBytes) return;
      const view = entry.value as Buffer;
      const value = Buffer.allocUnsafe(view.length);
      view.copy(value, 0, 0, view.length);
      const row = { key: entry.key as Buffer, value };
      if (reverse) {
        if (range.end.length > 0 && row.key.equals(range.end)) continue;
        if (Buffer.compare(row.key, range.start) < 0) return;
      }
      rows++;
      bytes += row.key.length + row.value.length;
      yield row;
    }
  }

  /**
   * Visits rows of `[start, end)` in key order without copying values: `value` is a view of LMDB's
   * read buffer, valid only until `visit` returns (copy it to keep it). For replies that encode rows
   * straight into an output buffer (SCANRANGE): the node's scan profile showed a third of its time
   * allocating a Buffer per value (lmdb-js copies every binary value out of its read buffer).
   * Keys are copies. Stops after `limit` rows or once `maxBytes` key+value bytes are reached.
   */
  scanViews(range: KeyRange, opts: Omit<ScanOptions, 'reverse'>, visit: (key: Buffer, value: Buffer) => void): { rows: number; bytes: number; last: Buffer | undefined } {
    const limit = opts.limit ?? Infinity;
    const maxBytes = opts.maxBytes ?? Infinity;
    let rows = 0;
    let bytes = 0;
    let last: Buffer | undefined;
    if (limit <= 0 || maxBytes <= 0) return { rows, bytes, last };
    for (const entry of this.rowViews.getRange(rangeOptions(range))) {
      const key = entry.key as Buffer;
      const value = entry.value as Buffer;
      visit(key, value);
      rows++;
      bytes += key.length + value.length;
      last = key;
      if (rows >= limit || bytes >= maxBytes) break;
    }
    return { rows, bytes, last };
  }

  /**
   * The plugin `visit` path: rows of `[start, end)` in key order as views valid only until `visit`
   * returns, until it returns false or `limit` rows were visited, metered as they go (see
   * VisitMeter). The metering sits in this loop, not in a wrapper around `visit`: a second closure
   * call per row cost a filter 7-10% of its in-process scan rate (/tmp experiment, 300 000 rows,
   * 2026-12-07: 0.90-0.93x the getRange-over-views ceiling wrapped, 1.04x fused).
   */
  visitViews(range: KeyRange, limit: number, visit: (key: Buffer, value: Buffer) => unknown, meter: VisitMeter): void {
    const { every, maxRows, maxBytes } = meter;
    let rows = 0;
    let bytes = 0;
    let untilCheck = every;
    try {
      if (limit <= 0) return;
      for (const entry of this.rowViews.getRange(rangeOptions(range))) {
        const key = entry.key as Buffer;
        const value = entry.value as Buffer;
        bytes += key.length + value.length;
        if (++rows > maxRows || bytes > maxBytes || --untilCheck === 0) {
          untilCheck = every;
          meter.check(rows, bytes);
        }
        if (visit(key, value) === false || rows >= limit) return;
      }
    } finally {
      meter.done(rows, bytes);
    }
  }

  /** Counts rows and bytes of a range and picks keys that cut it into pieces of `pieceKeys` rows. */
  rangeStats(range: KeyRange, pieceKeys: number): RangeStats {
    let keys = 0;
    let bytes = 0;
    const splitKeys: Buffer[] = [];
    for (const entry of this.rowViews.getRange(rangeOptions(range))) {
      if (keys > 0 && keys % pieceKeys === 0) splitKeys.push(Buffer.from(entry.key as Buffer));
      keys++;
      bytes += (entry.key as Buffer).length + (entry.value as Buffer).length;
    }
    return { keys, bytes, splitKeys };
  }

  /**
   * Deletes every row of a range (logged as one range deletion, applied in bounded LMDB
   * transactions); resolves with the number of rows the range held when the call was made.
   */
  async clearRange(range: KeyRange): Promise<number> {
    let rows = 0;
    for (const _ of this.rows.getKeys(rangeOptions(range))) rows++;
    await this.commit([{ kind: 'removeRange', start: range.start, end: range.end }], true);
    return rows;
  }

  /** Total number of rows on this node. */
  countAll(): number {
    return this.rows.getStats ? Number((this.rows.getStats() as { entryCount?: number }).entryCount ?? 0) : 0;
  }

  getMeta<T>(name: string): T | undefined {
    return this.meta.get(name) as T | undefined;
  }

  async putMeta(name: string, value: unknown): Promise<void> {
    await this.commit([{ kind: 'meta', name, json: JSON.stringify(value) }]);
  }

  /** Write-path counters and what the last open recovered (undefined for a read-only handle). */
  persistenceStats(): (CommitStats & { walSegment: number; walSegmentBytes: number; recovery: NodeStore['recovery'] }) | undefined {
    if (!this.writer) return undefined;
    return { ...this.writer.committer.stats, walSegment: this.writer.wal.currentSeq, walSegmentBytes: this.writer.wal.currentBytes, recovery: this.recovery };
  }

  /** Waits for pending writes, then syncs LMDB and drops the log up to here. */
  checkpoint(): Promise<void> {
    if (!this.writer) return Promise.reject(readOnlyError());
    return this.writer.committer.checkpointNow();
  }

  /** Waits for pending writes, checkpoints (so the next open replays nothing) and closes. */
  async close(): Promise<void> {
    if (this.writer) {
      await this.initialCheckpoint.catch(() => undefined);
      this.writer.committer.stop();
      await this.writer.committer.checkpointNow();
      this.writer.wal.close();
    }
    this.pinned?.done();
    this.pinned = undefined;
    if (OWNERS.get(path.resolve(this.dir)) === this) OWNERS.delete(path.resolve(this.dir));
    await this.root.close();
  }

  private commit(mutations: Mutation[], alone = false): Promise<void> {
    return new Promise((resolve, reject) => this.commitWith(mutations, alone, (err) => (err ? reject(err) : resolve())));
  }

  /** As commit, but calls `done` instead of settling a promise (the per-request write path). */
  private commitWith(mutations: Mutation[], alone: boolean, done: WriteCallback): void {
    const writer = this.writer;
    if (!writer) {
      process.nextTick(done, readOnlyError());
      return;
    }
    // No write is acknowledged before a checkpoint exists to restore after a power loss.
    if (this.initialCheckpointDone) writer.committer.submitWith(mutations, alone, done);
    else this.initialCheckpoint.then(() => writer.committer.submitWith(mutations, alone, done), done);
  }

  /**
   * One group in one synchronous LMDB transaction on this thread, committed without fsync (the log
   * is what makes it durable) while the group's fdatasync runs on the thread pool. lmdb-js's
   * asynchronous batch would hand the same transaction to its write thread and back (an async work
   * item, a thread-safe function and a completion callback per group). A range deletion runs alone
   * in bounded asynchronous transactions instead (it may touch any number of rows).
   */
  private applyGroup(mutations: Mutation[]): Promise<void> | void {
    const only = mutations.length === 1 ? mutations[0]! : undefined;
    if (only?.kind === 'removeRange') return this.removeRangeAsync(only);
    this.root.transactionSync(() => {
      for (const m of mutations) {
        if (m.kind === 'removeRange') throw new Error('NodeStore: a range deletion must be alone in its group');
        this.applyOne(m);
      }
    });
  }

  /** Replays one logged group at open, in one synchronous transaction. */
  private applySync(mutations: Mutation[]): void {
    this.root.transactionSync(() => {
      for (const m of mutations) {
        if (m.kind === 'removeRange') {
          // Inside the write transaction reads see its own earlier writes, so this is exact.
          for (const k of this.keysIn(m)) this.rows.remove(k);
        } else {
          this.applyOne(m);
        }
      }
    });
  }

  private applyOne(m: Exclude<Mutation, { kind: 'removeRange' }>): void {
    if (m.kind === 'put') void this.rows.put(m.key, m.value);
    else if (m.kind === 'remove') void this.rows.remove(m.key);
    else void this.meta.put(m.name, JSON.parse(m.json));
  }

  /** A range deletion runs alone in its group; bounded transactions keep each commit small. */
  private async removeRangeAsync(range: KeyRange): Promise<void> {
    const batchKeys = this.rangeDeleteBatchKeys;
    for (;;) {
      const keys = this.keysIn(range, batchKeys);
      if (keys.length === 0) return;
      await this.rows.batch(() => {
        for (const k of keys) void this.rows.remove(k);
      });
    }
  }

  /** Copies of the keys of a range (up to `limit`), collected before any of them is removed. */
  private keysIn(range: KeyRange, limit?: number): Buffer[] {
    const keys: Buffer[] = [];
    for (const key of this.rows.getKeys({ ...rangeOptions(range), ...(limit === undefined ? {} : { limit }) })) keys.push(Buffer.from(key as Buffer));
    return keys;
  }

  /** A read transaction on the latest committed snapshot (call while no write is in flight). */
  private pinSnapshot(): Transaction {
    // Detach the shared read transaction first: it may be older than the latest commit.
    this.readLatest();
    return this.root.useReadTransaction();
  }

  /**
   * Between groups: pin the current snapshot, save its meta pages and start a new log segment (fast,
   * synchronous); then, overlapping later groups, sync LMDB, save the checkpoint and drop old segments.
   */
  private beginCheckpoint(): () => Promise<void> {
    const { wal, pageSize } = this.writer!;
    const pin = this.pinSnapshot();
    const metaPages = readMetaPages(this.dir, pageSize);
    const walSeq = wal.startNewSegment();
    return async () => {
      try {
        await new Promise<void>((resolve, reject) => (this.root as unknown as { sync(done: (err?: Error) => void): void }).sync((err?: Error) => (err ? reject(err) : resolve())));
        await saveCheckpoint(this.dir, { pageSize, walSeq, metaPages });
      } catch (err) {
        pin.done();
        throw err;
      }
      this.pinned?.done();
      this.pinned = pin;
      await wal.dropBefore(walSeq);
    };
  }
}

/**
 * An lmdb-js encoder for reads only: `decode` returns a view of the bytes lmdb-js hands it (its
 * shared read buffer, as `needsStableBuffer` is false) instead of a copy. Never used to write.
 */
const VALUE_VIEWS = {
  needsStableBuffer: false,
  encode(): never {
    throw new Error('NodeStore: the value-view handle is read-only');
  },
  decode(bytes: Buffer, size: number): Buffer {
    return bytes.subarray(0, size);
  },
};

function readOnlyError(): Error {
  return new Error('NodeStore: this handle is read-only (opened with openReader)');
}

function rangeOptions(range: KeyRange): { start?: Buffer; end?: Buffer } {
  return { ...(range.start.length > 0 ? { start: range.start } : {}), ...(range.end.length > 0 ? { end: range.end } : {}) };
}
