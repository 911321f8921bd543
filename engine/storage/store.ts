/**
 * LMDB-backed storage of one node: a single ordered keyspace of binary keys and values (the rows
 * of every region the node holds), plus a small metadata database. Reads are synchronous and
 * zero-promise (lmdb-js style); writes are batched by lmdb-js into transactions and a write
 * promise resolves only once its transaction is committed and flushed to disk.
 */
import { open, type RootDatabase, type Database } from 'lmdb';
import { mkdirSync } from 'node:fs';

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

export class NodeStore {
  private readonly root: RootDatabase;
  private readonly rows: Database<Buffer, Buffer>;
  /** The same rows, read with values decoded as views of LMDB's read buffer (see scanViews). */
  private readonly rowViews: Database<Buffer, Buffer>;
  private readonly meta: Database<unknown, string>;

  private constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.root = open({ path: dir, maxDbs: 4, mapSize: 64 * 1024 * 1024 * 1024, separateFlushed: true } as never);
    this.rows = this.root.openDB({ name: 'rows', keyEncoding: 'binary', encoding: 'binary' }) as unknown as Database<Buffer, Buffer>;
    this.rowViews = this.root.openDB({ name: 'rows', keyEncoding: 'binary', encoder: VALUE_VIEWS } as never) as unknown as Database<Buffer, Buffer>;
    this.meta = this.root.openDB({ name: 'meta', encoding: 'json' }) as unknown as Database<unknown, string>;
  }

  static open(dir: string): NodeStore {
    return new NodeStore(dir);
  }

  get(key: Buffer): Buffer | undefined {
    return this.rows.get(key);
  }

  /** Resolves once the write is committed and flushed (durable). */
  put(key: Buffer, value: Buffer): Promise<void> {
    return durable(this.rows.put(key, value));
  }

  /** All rows in one transaction; resolves once durable. */
  putMany(rows: ReadonlyArray<Row>): Promise<void> {
    return durable(
      this.rows.batch(() => {
        for (const r of rows) this.rows.put(r.key, r.value);
      }),
    );
  }

  /** Deletes keys in one transaction; resolves with how many existed. */
  async removeMany(keys: ReadonlyArray<Buffer>): Promise<number> {
    let existed = 0;
    for (const k of keys) if (this.rows.doesExist(k)) existed++;
    await durable(
      this.rows.batch(() => {
        for (const k of keys) this.rows.remove(k);
      }),
    );
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

  /** Counts rows and bytes of a range and picks keys that cut it into pieces of `pieceKeys` rows. */
  rangeStats(range: KeyRange, pieceKeys: number): RangeStats {
    let keys = 0;
    let bytes = 0;
    const splitKeys: Buffer[] = [];
    for (const entry of this.rows.getRange(rangeOptions(range))) {
      if (keys > 0 && keys % pieceKeys === 0) splitKeys.push(Buffer.from(entry.key as Buffer));
      keys++;
      bytes += (entry.key as Buffer).length + (entry.value as Buffer).length;
    }
    return { keys, bytes, splitKeys };
  }

  /** Deletes every row of a range in bounded transactions; resolves with the number deleted. */
  async clearRange(range: KeyRange, batchKeys = 10_000): Promise<number> {
    let deleted = 0;
    for (;;) {
      const keys: Buffer[] = [];
      for (const key of this.rows.getKeys({ ...rangeOptions(range), limit: batchKeys })) keys.push(Buffer.from(key as Buffer));
      if (keys.length === 0) return deleted;
      await durable(
        this.rows.batch(() => {
          for (const k of keys) this.rows.remove(k);
        }),
      );
      deleted += keys.length;
    }
  }

  /** Total number of rows on this node. */
  countAll(): number {
    return this.rows.getStats ? Number((this.rows.getStats() as { entryCount?: number }).entryCount ?? 0) : 0;
  }

  getMeta<T>(name: string): T | undefined {
    return this.meta.get(name) as T | undefined;
  }

  async putMeta(name: string, value: unknown): Promise<void> {
    await durable(this.meta.put(name, value));
  }

  async close(): Promise<void> {
    await this.root.close();
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

function rangeOptions(range: KeyRange): { start?: Buffer; end?: Buffer } {
  return { ...(range.start.length > 0 ? { start: range.start } : {}), ...(range.end.length > 0 ? { end: range.end } : {}) };
}

/** lmdb-js write promises resolve on commit; with `separateFlushed` a `flushed` promise follows. */
async function durable(write: Promise<unknown>): Promise<void> {
  const result = write as Promise<unknown> & { flushed?: Promise<unknown> };
  await result;
  if (result.flushed) await result.flushed;
}
