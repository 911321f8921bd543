/**
 * The copbench plugin API — the one file a plugin imports.
 *
 * A plugin is one file in plugins/ whose default export is `definePlugin({...})`. Its `handle` runs
 * once per region: in-node (on the storage node, over its LMDB rows, in a worker thread) or
 * client-side (in the client process, over rows pulled through the wire). Either way it sees the
 * same `PluginContext`, so the same code answers in both modes; `merge` combines the per-region
 * partial results on the client.
 *
 * ```ts
 * import { definePlugin } from '../engine/plugin-api';
 * export default definePlugin({
 *   name: 'count', version: '1.0.0', apiVersion: 1,
 *   async handle(_req: {}, ctx) {
 *     let n = 0;
 *     for (const range of ctx.ranges) n += await ctx.storage.visit(range, () => {});
 *     return n;
 *   },
 *   merge: (parts: number[]) => parts.reduce((a, b) => a + b, 0),
 * });
 * ```
 */

/** The API version this file defines. A plugin declaring another one is refused at load. */
export const API_VERSION = 1 as const;

/** A half-open key range `[start, end)`; an empty `end` means "to the end of the keyspace". */
export interface KeyRange {
  start: Uint8Array;
  end: Uint8Array;
}

/** One row. Keys and values are raw bytes; use a `RecordCodec` to read dataset records. */
export interface KV {
  key: Uint8Array;
  value: Uint8Array;
}

export interface ScanOptions {
  /** Stop after this many rows. */
  limit?: number;
  /** Highest key first. */
  reverse?: boolean;
}

/**
 * Rows of the regions a call covers. `scan` yields rows in batches (arrays of rows, in key order):
 * one `await` per batch, not per row, so the same loop is fast in-node and over the wire.
 * Reads outside the call's `ranges` are refused.
 */
export interface Storage {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  scan(range: KeyRange, options?: ScanOptions): AsyncIterable<KV[]>;
  /**
   * Calls `visitor` for each row of `range` in key order, until it returns `false` or `limit` rows
   * were visited; resolves with the number of rows visited. The fast path for a plugin that looks at
   * every row and keeps few: in-node, `key` and `value` are views of the storage's read buffer,
   * valid **only until the visitor returns**, so no row is copied (`scan` copies every row so its
   * batches can be kept, ~30% of a filter's scan). Keep a row with `copyBytes`. Client-side the
   * rows come from the wire and are visited the same way.
   */
  visit(range: KeyRange, visitor: RowVisitor, options?: { limit?: number }): Promise<number>;
  /**
   * Writes are allowed only for plugins that declare `writes: true` (otherwise they fail with
   * COPR_READ_ONLY), and only to keys inside the call's ranges (otherwise COPR_OUT_OF_RANGE).
   */
  put?(key: Uint8Array, value: Uint8Array): Promise<void>;
  delete?(key: Uint8Array): Promise<void>;
}

/** Sees one row; `false` stops the visit. The arguments are valid only during the call (see Storage.visit). */
export type RowVisitor = (key: Uint8Array, value: Uint8Array) => void | boolean;

/** A copy of `bytes` that outlives a `Storage.visit` callback (carved from Node's Buffer pool when small). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const copy = Buffer.allocUnsafe(bytes.length);
  copy.set(bytes);
  return copy;
}

export interface PluginContext {
  /** The key ranges of this call, all inside one region. */
  ranges: KeyRange[];
  storage: Storage;
  /**
   * Client-side, aborted when the call passes its deadline (checked between scan batches). In-node
   * the deadline terminates the plugin's worker instead, so plugins need not poll this.
   */
  signal: AbortSignal;
  /** Where the call runs: `node` (pushdown) or `client` (fetch and compute on the client). */
  where: 'node' | 'client';
  /**
   * State this plugin keeps for this region across the calls of one session (e.g. decoded columns
   * as Float64Arrays), in the node's plugin worker (pushdown) or in the client's Coprocessor
   * (client mode). Without a session every `get` misses and `set` keeps nothing.
   */
  state: PluginState;
}

/**
 * Per-region state kept across the calls of a session. Its scope is (plugin code sha256, the
 * session id the caller chose, region id, region epoch, the call's key ranges, and in-node the
 * region's data version): a split or move (new epoch), other ranges, or a write to the region
 * (new data version; in-node only) start the scope empty, so a plugin that rebuilds on a miss
 * stays exact. Entries are evicted least recently used under a
 * memory quota (node flag --copr-state-mb; client-side the Coprocessor's budget), so any `get` may
 * miss: state is a cache, never the only copy of anything. Keys are the plugin's own and should
 * name everything the value depends on besides the region's rows (schema, columns, scaling).
 */
export interface PluginState {
  /** False when the call carries no session (or state is switched off): `get` misses, `set` keeps nothing. */
  readonly enabled: boolean;
  /** The value kept under `key` for this region in this session, or undefined. */
  get<T>(key: string): T | undefined;
  /**
   * Keeps `value` (by reference: do not change it afterwards) under `key`, replacing what was there.
   * `bytes` is what it holds, counted against the quota; by default it is estimated (typed arrays'
   * byteLength, 8 per number, 2 per string character, walking arrays and plain objects). A value
   * larger than the whole quota is refused: `set` throws COPR_STATE_TOO_LARGE (the call fails with
   * it; nothing else is affected).
   */
  set(key: string, value: unknown, bytes?: number): void;
}

/** The state of a call without a session: nothing is kept. For contexts built outside the engine (tests). */
export const NO_STATE: PluginState = Object.freeze({
  enabled: false,
  get: () => undefined,
  set: () => undefined,
});

/** An example request, used by the conformance test (pushdown and client answers must be equal). */
export interface PluginExample<Req> {
  name: string;
  request: Req;
}

export interface PluginDefinition<Req, Partial, Result> {
  /** Lower-case letters, digits and dashes; starts with a letter. */
  name: string;
  /** Semantic version `MAJOR.MINOR.PATCH`. */
  version: string;
  apiVersion: typeof API_VERSION;
  description?: string;
  /** Declares that `handle` writes; storage is read-only otherwise. */
  writes?: boolean;
  /** Runs once per region; returns a partial result (must be msgpack-serialisable). */
  handle(request: Req, ctx: PluginContext): Partial | Promise<Partial>;
  /** Combines the partials of every region (in key order) into the answer. */
  merge(parts: Partial[], request: Req): Result;
  /**
   * Optional: how `merge` puts rows into the answer, so a caller can take the rows region by region
   * as they arrive instead of holding the whole answer (Coprocessor's `onRows`; the workload harness
   * checksums large answers this way). Null for a request whose answer cannot be taken so (e.g. a
   * `limit` cuts the concatenation: then the answer is small anyway).
   */
  streamRows?(request: Req): RowStream<Partial> | null;
  /** Example requests, run by the shared conformance test in both modes. */
  examples?: Array<PluginExample<Req>>;
  /**
   * Optional hints for the workload harness: its cost model (which `adaptive` mode decides by)
   * and its per-call row counts. Every field is optional; without them the harness calibrates on
   * the request itself and says its predictions are coarser. See docs in README ("Cost hints").
   */
  cost?: CostHints<Req, Partial, Result>;
}

/**
 * The rows of an answer as `merge` makes them: the concatenation, in key order, of `rows(partial)`,
 * at `field` of the answer. The contract, for every request it is given for:
 * `merge(parts)` equals `merge(parts.map(rest))` with `field` set to `parts.flatMap(rows)`.
 */
export interface RowStream<Partial> {
  /** The answer's field that holds the rows. */
  field: string;
  /** A partial's rows (what merge appends to the answer's rows). */
  rows(partial: Partial): unknown[];
  /** The partial without its rows (what merge needs for everything but them). */
  rest(partial: Partial): Partial;
}

/** How the entries of a partial result grow with the rows behind it (for result-size estimates). */
export interface PartialGrowth {
  /** Entries in the partial that grow with the data (rows kept, groups); 0: a fixed-size partial. */
  items: number;
  /** `linear`: one entry per matching row; `distinct`: one per distinct value (groups). */
  scaling: 'linear' | 'distinct';
  /** distinct: how many rows fell in each entry (group counts), for the distinct-count estimator. */
  frequencies?: number[];
  /** distinct: entries can never exceed this (e.g. a group-by modulo, or k of a top-k). */
  upperBound?: number;
}

/**
 * What a plugin may tell the harness about a request's cost and answer. The cost model times a
 * `scanOnly` request to learn the scan rate, a `resultHeavy` one to learn the result path's rate,
 * and runs `handle` on a row sample to predict the result size, scaled per region by
 * `partialItems`.
 */
export interface CostHints<Req, Partial, Result> {
  /** False when `handle` reads no rows (noop); default true. */
  scansRows?: boolean;
  /** The same per-row work with the smallest result (filter: a count). Null: no such request. */
  scanOnly?(request: Req): Req | null;
  /** The same work with the largest result the plugin makes (filter: every row). Null: none. */
  resultHeavy?(request: Req): Req | null;
  /** How a partial grows with the rows behind it (default: fixed size). */
  partialItems?(partial: Partial, request: Req): PartialGrowth;
  /** Rows (or entries) the answer carries back (default: an array's length, else 1; null: 0). */
  rowsReturned?(result: Result): number;
  /** Rows the request selected before any grouping; rowsMatched / rowsScanned is the selectivity. */
  rowsMatched?(result: Result): number;
}

/** A loaded plugin definition (what a plugin file default-exports). */
export type Plugin<Req = unknown, Partial = unknown, Result = unknown> = Readonly<PluginDefinition<Req, Partial, Result>> & { readonly __copbenchPlugin: true };

/** Declares a plugin. Validation of name, version and apiVersion happens when the file is loaded. */
export function definePlugin<Req, Partial, Result>(definition: PluginDefinition<Req, Partial, Result>): Plugin<Req, Partial, Result> {
  return Object.freeze({ ...definition, __copbenchPlugin: true as const });
}

// ---- records --------------------------------------------------------------------------------

/** Column types of dataset records. Numbers are little-endian. */
export type ColumnType = 'f64' | 'i32' | 'u32' | 'bool' | 'string';

export interface Column {
  name: string;
  type: ColumnType;
}

/** A dataset's record layout; datasets publish theirs and requests carry it. */
export interface Schema {
  name: string;
  columns: Column[];
}

export type RecordValue = number | string | boolean;
export type DataRecord = Record<string, RecordValue>;

const FIXED_WIDTH: Record<Exclude<ColumnType, 'string'>, number> = { f64: 8, i32: 4, u32: 4, bool: 1 };
const FORMAT_V1 = 1;
const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// Column reads in a scan loop copy the few bytes into a scratch word and read it through a typed
// array: a DataView per row cost ~22% of a filter's CPU. Typed arrays use the machine's byte order,
// so this path is taken only on little-endian machines (the record layout is little-endian).
const scratch = new ArrayBuffer(8);
const scratchBytes = new Uint8Array(scratch);
const scratchF64 = new Float64Array(scratch);
const scratchI32 = new Int32Array(scratch);
const scratchU32 = new Uint32Array(scratch);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function readF64(b: Uint8Array, offset: number): number {
  for (let i = 0; i < 8; i++) scratchBytes[i] = b[offset + i]!;
  return scratchF64[0]!;
}

function readI32(b: Uint8Array, offset: number): number {
  for (let i = 0; i < 4; i++) scratchBytes[i] = b[offset + i]!;
  return scratchI32[0]!;
}

function readU32(b: Uint8Array, offset: number): number {
  for (let i = 0; i < 4; i++) scratchBytes[i] = b[offset + i]!;
  return scratchU32[0]!;
}

/**
 * Encodes and decodes records of one schema. Layout: a format byte, the fixed-width columns at
 * fixed offsets (so one column is read without decoding the rest), then each string column as a
 * u16 length and UTF-8 bytes, then optional padding.
 */
export class RecordCodec {
  private readonly offsets = new Map<string, { type: ColumnType; offset: number; stringIndex: number }>();
  private readonly fixedBytes: number;
  private readonly stringColumns: string[] = [];

  constructor(readonly schema: Schema) {
    let offset = 1;
    for (const column of schema.columns) {
      if (this.offsets.has(column.name)) throw new Error(`schema ${schema.name}: duplicate column ${column.name}`);
      if (column.type === 'string') {
        this.offsets.set(column.name, { type: column.type, offset: -1, stringIndex: this.stringColumns.length });
        this.stringColumns.push(column.name);
      } else {
        if (!Object.hasOwn(FIXED_WIDTH, column.type)) throw new Error(`schema ${schema.name}: unknown column type ${String(column.type)}`);
        this.offsets.set(column.name, { type: column.type, offset, stringIndex: -1 });
        offset += FIXED_WIDTH[column.type];
      }
    }
    this.fixedBytes = offset;
  }

  /** Encodes a record; `padToBytes` appends filler so the value has at least that size. */
  encode(record: DataRecord, padToBytes = 0): Uint8Array {
    const strings = this.stringColumns.map((name) => utf8Encoder.encode(String(record[name] ?? '')));
    const size = Math.max(padToBytes, this.fixedBytes + strings.reduce((n, s) => n + 2 + s.length, 0));
    const out = new Uint8Array(size);
    const dv = view(out);
    out[0] = FORMAT_V1;
    for (const column of this.schema.columns) {
      const slot = this.offsets.get(column.name)!;
      const v = record[column.name];
      switch (slot.type) {
        case 'f64':
          dv.setFloat64(slot.offset, Number(v ?? 0), true);
          break;
        case 'i32':
          dv.setInt32(slot.offset, Number(v ?? 0), true);
          break;
        case 'u32':
          dv.setUint32(slot.offset, Number(v ?? 0), true);
          break;
        case 'bool':
          out[slot.offset] = v ? 1 : 0;
          break;
        default:
          break;
      }
    }
    let pos = this.fixedBytes;
    for (const s of strings) {
      if (s.length > 0xffff) throw new Error('string column longer than 65535 bytes');
      dv.setUint16(pos, s.length, true);
      out.set(s, pos + 2);
      pos += 2 + s.length;
    }
    return out;
  }

  /** Decodes every column. */
  decode(bytes: Uint8Array): DataRecord {
    const out: DataRecord = {};
    for (const column of this.schema.columns) out[column.name] = this.read(bytes, column.name);
    return out;
  }

  /** Reads one column. */
  read(bytes: Uint8Array, column: string): RecordValue {
    return this.accessor(column)(bytes);
  }

  /** A fast reader of one column, to hoist out of a scan loop. */
  accessor(column: string): (bytes: Uint8Array) => RecordValue {
    const slot = this.offsets.get(column);
    if (!slot) throw new Error(`schema ${this.schema.name} has no column '${column}' (columns: ${this.schema.columns.map((c) => c.name).join(', ')})`);
    return this.columnReader(slot);
  }

  /** A reader of a numeric column (f64, i32, u32, bool as 0/1). */
  numberAccessor(column: string): (bytes: Uint8Array) => number {
    const slot = this.offsets.get(column);
    if (!slot || slot.type === 'string') throw new Error(`schema ${this.schema.name} has no numeric column '${column}'`);
    if (slot.type === 'bool') {
      const { offset } = slot;
      return (b) => (b[offset] === 1 ? 1 : 0);
    }
    return this.columnReader(slot) as (bytes: Uint8Array) => number;
  }

  private columnReader(slot: { type: ColumnType; offset: number; stringIndex: number }): (bytes: Uint8Array) => RecordValue {
    const { offset } = slot;
    switch (slot.type) {
      case 'f64':
        return LITTLE_ENDIAN ? (b) => readF64(b, offset) : (b) => view(b).getFloat64(offset, true);
      case 'i32':
        return LITTLE_ENDIAN ? (b) => readI32(b, offset) : (b) => view(b).getInt32(offset, true);
      case 'u32':
        return LITTLE_ENDIAN ? (b) => readU32(b, offset) : (b) => view(b).getUint32(offset, true);
      case 'bool':
        return (b) => b[offset] === 1;
      case 'string': {
        const index = slot.stringIndex;
        const start = this.fixedBytes;
        return (b) => {
          const dv = view(b);
          let pos = start;
          for (let i = 0; i < index; i++) pos += 2 + dv.getUint16(pos, true);
          const length = dv.getUint16(pos, true);
          return utf8Decoder.decode(b.subarray(pos + 2, pos + 2 + length));
        };
      }
    }
  }
}

// ---- keys -----------------------------------------------------------------------------------

/** Bytes of a UTF-8 string (for keys in requests). */
export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** True when `key` lies in `[range.start, range.end)`. */
export function inRange(key: Uint8Array, range: KeyRange): boolean {
  return compareBytes(key, range.start) >= 0 && (range.end.length === 0 || compareBytes(key, range.end) < 0);
}

/** Byte-wise comparison (the order the storage keeps keys in). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// ---- many byte strings as one ----------------------------------------------------------------

/**
 * Byte strings (keys, record values) packed into one buffer plus their lengths (one number when all
 * are alike). A partial that carries many rows ships faster this way: msgpack then moves one buffer
 * instead of one per row, which for large partials is most of their cost.
 */
export interface PackedBytes {
  bytes: Uint8Array;
  lengths: number | number[];
}

/** Packs byte strings into one buffer (see PackedBytes). */
export function packBytes(list: readonly Uint8Array[]): PackedBytes {
  let total = 0;
  let same = true;
  for (const b of list) {
    total += b.length;
    if (b.length !== list[0]!.length) same = false;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const b of list) {
    bytes.set(b, at);
    at += b.length;
  }
  return { bytes, lengths: same ? (list[0]?.length ?? 0) : list.map((b) => b.length) };
}

/** The first `count` byte strings of a PackedBytes (all when the lengths are a list), as views. */
export function unpackBytes(packed: PackedBytes, count = typeof packed.lengths === 'number' ? 0 : packed.lengths.length): Uint8Array[] {
  const { bytes, lengths } = packed;
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const length = typeof lengths === 'number' ? lengths : lengths[i]!;
    out.push(new Uint8Array(bytes.buffer, bytes.byteOffset + at, length)); // a view: cheaper than subarray on a Buffer
    at += length;
  }
  return out;
}

// ---- predicates -----------------------------------------------------------------------------

/** One comparison on a record column; a list of them is a conjunction (AND). */
export interface Condition {
  column: string;
  op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  value: RecordValue;
}

/** Compiles conditions into a fast test over encoded records (columns read in place). */
export function compilePredicate(codec: RecordCodec, conditions: ReadonlyArray<Condition> = []): (value: Uint8Array) => boolean {
  const tests = conditions.map((c) => {
    const read = codec.accessor(c.column);
    const v = c.value;
    switch (c.op) {
      case '<':
        return (b: Uint8Array) => read(b) < v;
      case '<=':
        return (b: Uint8Array) => read(b) <= v;
      case '>':
        return (b: Uint8Array) => read(b) > v;
      case '>=':
        return (b: Uint8Array) => read(b) >= v;
      case '==':
        return (b: Uint8Array) => read(b) === v;
      case '!=':
        return (b: Uint8Array) => read(b) !== v;
      default:
        throw new Error(`unknown operator '${String((c as Condition).op)}' (expected <, <=, >, >=, ==, !=)`);
    }
  });
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0]!;
  return (b) => {
    for (const t of tests) if (!t(b)) return false;
    return true;
  };
}

// ---- the sample dataset -----------------------------------------------------------------------

/**
 * The synthetic dataset's record schema (keys `row:<9-digit id>`). Plugin `examples` are run
 * against a generated dataset of this schema by the conformance test, in both modes.
 */
export const SAMPLE_SCHEMA: Schema = {
  name: 'synthetic',
  columns: [
    { name: 'id', type: 'u32' },
    { name: 'amount', type: 'f64' },
    { name: 'quantity', type: 'i32' },
    { name: 'flag', type: 'bool' },
    { name: 'category', type: 'string' },
  ],
};
