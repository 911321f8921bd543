/**
 * The plugin `Storage` for one call, over any row source: the node's LMDB (pushdown) or the wire
 * (client-side). Both modes get the same checks (reads and writes only inside the call's ranges,
 * writes only for plugins that declare them, a scan budget) and the same counters, so the two
 * modes differ only in where the rows come from.
 */
import { compareBytes, inRange, type KeyRange, type KV, type RowVisitor, type ScanOptions, type Storage } from '../plugin-api';
import { CoprError, type ExecLimits } from './sandbox/messages';
import type { VisitMeter } from '../storage/store';

/** Where rows come from. Batches arrive in key order (reverse order when asked). */
export interface RowSource {
  get(key: Uint8Array): Promise<Uint8Array | undefined> | Uint8Array | undefined;
  scanBatches(range: KeyRange, options: { limit: number; reverse: boolean }): AsyncIterable<KV[]> | Iterable<KV[]>;
  /**
   * Rows of `range` in key order as views valid only during `visit`, until it returns false or
   * `limit` rows, reported to `meter` as they go (NodeStore.visitViews); a source without it is
   * visited over its scan batches.
   */
  visitViews?(range: KeyRange, limit: number, visit: RowVisitor, meter: VisitMeter): void;
  put?(key: Uint8Array, value: Uint8Array): Promise<void>;
  delete?(key: Uint8Array): Promise<void>;
}

export interface StorageCounters {
  rowsScanned: number;
  bytesScanned: number;
  rowsWritten: number;
}

/** How often a visit checks the deadline and memory quota: about a scan batch's worth of rows. */
const VISIT_CHECK_ROWS = 1024;

export class CheckedStorage implements Storage {
  readonly counters: StorageCounters = { rowsScanned: 0, bytesScanned: 0, rowsWritten: 0 };

  constructor(
    private readonly source: RowSource,
    private readonly ranges: ReadonlyArray<KeyRange>,
    private readonly writes: boolean,
    private readonly limits: Pick<ExecLimits, 'maxRowsScanned' | 'maxBytesScanned'>,
    private readonly signal?: AbortSignal,
    /** Called before each batch is handed to the plugin; throws to end the call (a memory quota). */
    private readonly beforeBatch?: () => void,
  ) {}

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkKey(key, 'read');
    const value = await this.source.get(key);
    if (value) this.count(1, key.length + value.length);
    return value;
  }

  async *scan(range: KeyRange, options: ScanOptions = {}): AsyncIterable<KV[]> {
    this.checkRange(range);
    const limit = options.limit ?? Infinity;
    let returned = 0;
    for await (const batch of this.source.scanBatches(range, { limit, reverse: options.reverse ?? false })) {
      this.checkpoint();
      let bytes = 0;
      for (const row of batch) bytes += row.key.length + row.value.length;
      this.count(batch.length, bytes);
      const room = limit - returned;
      if (batch.length >= room) {
        if (room > 0) yield batch.length === room ? batch : batch.slice(0, room);
        return;
      }
      returned += batch.length;
      if (batch.length > 0) yield batch;
    }
  }

  async visit(range: KeyRange, visitor: RowVisitor, options: { limit?: number } = {}): Promise<number> {
    this.checkRange(range);
    const limit = options.limit ?? Infinity;
    if (limit <= 0) return 0;
    if (this.source.visitViews) return this.visitViews(this.source.visitViews.bind(this.source), range, limit, visitor);
    let visited = 0;
    for await (const batch of this.scan(range, { limit })) {
      for (const row of batch) {
        visited++;
        if (visitor(row.key, row.value) === false) return visited;
      }
    }
    return visited;
  }

  /**
   * A visit over a source's views. The source meters it (VisitMeter): the budget is checked as soon
   * as it is passed; the counters are brought up to date, and the deadline and memory quota
   * checked, every VISIT_CHECK_ROWS rows (as scan does once per batch) and at the end.
   */
  private visitViews(source: NonNullable<RowSource['visitViews']>, range: KeyRange, limit: number, visitor: RowVisitor): number {
    let countedRows = 0;
    let countedBytes = 0;
    const counters = this.counters;
    const meter: VisitMeter = {
      every: VISIT_CHECK_ROWS,
      maxRows: this.limits.maxRowsScanned - counters.rowsScanned,
      maxBytes: this.limits.maxBytesScanned - counters.bytesScanned,
      check: (rows, bytes) => {
        const [newRows, newBytes] = [rows - countedRows, bytes - countedBytes];
        countedRows = rows;
        countedBytes = bytes;
        this.count(newRows, newBytes);
        this.checkpoint();
      },
      // The rest of the visit, counted without a check: the visit is over, its budget was checked as it was passed.
      done: (rows, bytes) => {
        counters.rowsScanned += rows - countedRows;
        counters.bytesScanned += bytes - countedBytes;
        countedRows = rows;
        countedBytes = bytes;
      },
    };
    source(range, limit, visitor, meter);
    return countedRows;
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.checkWrite(key);
    await this.source.put!(key, value);
    this.counters.rowsWritten++;
  }

  async delete(key: Uint8Array): Promise<void> {
    this.checkWrite(key);
    await this.source.delete!(key);
    this.counters.rowsWritten++;
  }

  /** Between batches: the deadline (client-side) and the memory quota (in-node). */
  private checkpoint(): void {
    if (this.signal?.aborted) throw new CoprError('COPR_DEADLINE', 'the call was aborted');
    this.beforeBatch?.();
  }

  private checkWrite(key: Uint8Array): void {
    if (!this.writes || !this.source.put) throw new CoprError('COPR_READ_ONLY', 'this plugin did not declare `writes: true`; its storage is read-only');
    this.checkKey(key, 'write');
  }

  private checkKey(key: Uint8Array, what: 'read' | 'write'): void {
    if (!this.ranges.some((r) => inRange(key, r))) throw new CoprError('COPR_OUT_OF_RANGE', `${what} of key ${showBytes(key)} outside the call's ranges ${this.describeRanges()}`);
  }

  /** A scan must lie inside one of the call's ranges. */
  private checkRange(range: KeyRange): void {
    const inside = this.ranges.some(
      (r) => compareBytes(range.start, r.start) >= 0 && (r.end.length === 0 || (range.end.length > 0 && compareBytes(range.end, r.end) <= 0)),
    );
    if (!inside) throw new CoprError('COPR_OUT_OF_RANGE', `scan of [${showBytes(range.start)}, ${range.end.length ? showBytes(range.end) : '+inf'}) reaches outside the call's ranges ${this.describeRanges()}`);
  }

  private count(rows: number, bytes: number): void {
    this.counters.rowsScanned += rows;
    this.counters.bytesScanned += bytes;
    if (this.counters.rowsScanned > this.limits.maxRowsScanned) throw new CoprError('COPR_SCAN_BUDGET', `scanned more than ${this.limits.maxRowsScanned} rows`);
    if (this.counters.bytesScanned > this.limits.maxBytesScanned) throw new CoprError('COPR_SCAN_BUDGET', `scanned more than ${this.limits.maxBytesScanned} bytes`);
  }

  private describeRanges(): string {
    return this.ranges.map((r) => `[${showBytes(r.start)}, ${r.end.length ? showBytes(r.end) : '+inf'})`).join(' ');
  }
}

function showBytes(b: Uint8Array): string {
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${Buffer.from(b).toString('hex')}`;
}
