/**
 * How copbench rows live in a Redis Cluster. Rows keep their key order as an ordinal (0, 1, 2…)
 * and are cut into B buckets of consecutive ordinals. A bucket is one sorted set `{bNNN}:rows`:
 * the hash tag puts the whole bucket in one slot (so one node, and one Lua call can read it), the
 * score is the row's ordinal, and each member is the row itself (see encodeMember). Consecutive
 * buckets hold consecutive keys, so reading buckets in order, and ranks within a bucket in order,
 * reads the rows in key order — the order copbench's regions hand them to a plugin.
 *
 * A *unit* is one slice of one bucket (at most `sliceRows` rows, by rank): the piece of work one
 * Lua call or one client-side `handle` call covers. Both paths walk the same units in the same
 * order, so their partial results line up one for one and merge in the same order.
 */
import type { KV } from '../../../engine/plugin-api';
import { keySlot } from './slots';

export interface BucketLayout {
  /** B: buckets (sorted sets) the rows are spread over. */
  buckets: number;
  /** Consecutive rows per bucket (the last bucket may hold fewer). */
  rowsPerBucket: number;
  totalRows: number;
}

/** One slice of one bucket: ranks `[startRank, stopRank]` (inclusive, as ZRANGE takes them). */
export interface WorkUnit {
  index: number;
  bucket: number;
  key: string;
  slot: number;
  startRank: number;
  stopRank: number;
}

/**
 * Rows per unit unless a caller says otherwise. Redis runs one script at a time and starts answering
 * other clients BUSY once a script passes `busy-reply-threshold` (5 s by default); the Lua
 * functions here take ~0.7 µs of node CPU a row (smoke.ts, 20 000 rows of 44 bytes), so a unit of
 * 1000 rows holds its node for about a millisecond: far from the threshold even for wide rows, and
 * short enough not to stall point reads on that node for long.
 */
export const DEFAULT_SLICE_ROWS = 1000;

/** Where the layout itself is stored, so a client attaching to a loaded cluster can read it. */
export const LAYOUT_KEY = '{copbench}:layout';

/** The layout for `totalRows` rows in `buckets` buckets. */
export function planLayout(totalRows: number, buckets: number): BucketLayout {
  if (!Number.isInteger(buckets) || buckets < 1) throw new Error(`buckets must be a positive integer, got ${buckets}`);
  if (!Number.isInteger(totalRows) || totalRows < 0) throw new Error(`totalRows must be a non-negative integer, got ${totalRows}`);
  return { buckets, rowsPerBucket: Math.max(1, Math.ceil(totalRows / buckets)), totalRows };
}

/** `{b007}:rows`: the hash tag is the bucket, so the key's slot is the bucket's. */
export function bucketKey(bucket: number): string {
  return `{b${String(bucket).padStart(3, '0')}}:rows`;
}

export function bucketOf(layout: BucketLayout, ordinal: number): number {
  return Math.floor(ordinal / layout.rowsPerBucket);
}

/** Rows in bucket `b` (0 for buckets past the data when B does not divide it evenly). */
export function bucketRows(layout: BucketLayout, bucket: number): number {
  return Math.max(0, Math.min(layout.rowsPerBucket, layout.totalRows - bucket * layout.rowsPerBucket));
}

/** Every unit, in key order: buckets in order, slices of `sliceRows` ranks within each. */
export function workUnits(layout: BucketLayout, sliceRows = DEFAULT_SLICE_ROWS): WorkUnit[] {
  if (!Number.isInteger(sliceRows) || sliceRows < 1) throw new Error(`sliceRows must be a positive integer, got ${sliceRows}`);
  const units: WorkUnit[] = [];
  for (let bucket = 0; bucket < layout.buckets; bucket++) {
    const key = bucketKey(bucket);
    const slot = keySlot(key);
    const rows = bucketRows(layout, bucket);
    for (let start = 0; start < rows; start += sliceRows) {
      units.push({ index: units.length, bucket, key, slot, startRank: start, stopRank: Math.min(rows, start + sliceRows) - 1 });
    }
  }
  return units;
}

/**
 * A row as a sorted-set member: u16 little-endian key length, key, value. Members are unique
 * because keys are; the Lua library reads the same bytes (struct.unpack('<H', m, 1)).
 */
export function encodeMember(key: Uint8Array, value: Uint8Array): Buffer {
  if (key.length > 0xffff) throw new Error(`key of ${key.length} bytes: the Redis layout stores key lengths in 16 bits`);
  const out = Buffer.allocUnsafe(2 + key.length + value.length);
  out.writeUInt16LE(key.length, 0);
  out.set(key, 2);
  out.set(value, 2 + key.length);
  return out;
}

/** The row of a member (views of its bytes, no copy). */
export function decodeMember(member: Buffer): KV {
  const keyLength = member.readUInt16LE(0);
  return { key: member.subarray(2, 2 + keyLength), value: member.subarray(2 + keyLength) };
}
