/**
 * Loads rows (in key order) into the bucket layout: ZADD of up to `batchRows` members per command,
 * many commands in flight at once (each node's connection pipelines them, and Redis fsyncs the
 * AOF once per event-loop turn, so pipelining is also what makes `appendfsync always` affordable).
 */
import type { BucketLayout } from './layout';
import { LAYOUT_KEY, bucketKey, bucketOf, encodeMember, planLayout } from './layout';
import type { RedisClusterClient } from './cluster-client';
import { keySlot } from './slots';

export interface RedisLoadOptions {
  /** How many rows `rows` yields (the buckets are cut from it). */
  totalRows: number;
  /** B: buckets. */
  buckets: number;
  /** Members per ZADD. */
  batchRows?: number;
  /** ZADD commands in flight across all nodes. */
  inFlight?: number;
}

export interface RedisLoadResult {
  layout: BucketLayout;
  rowsLoaded: number;
  /** Buckets per primary: hash tags land where CRC16 puts them, not evenly. */
  bucketsPerNode: Record<string, number>;
}

type Row = { key: Uint8Array; value: Uint8Array };

/** Replaces the buckets' contents with `rows` and records the layout under LAYOUT_KEY. */
export async function loadRedisRows(client: RedisClusterClient, rows: Iterable<Row> | AsyncIterable<Row>, options: RedisLoadOptions): Promise<RedisLoadResult> {
  const layout = planLayout(options.totalRows, options.buckets);
  const batchRows = options.batchRows ?? 500;
  const inFlight = options.inFlight ?? 16;
  const bucketsPerNode: Record<string, number> = {};
  for (let b = 0; b < layout.buckets; b++) {
    const slot = keySlot(bucketKey(b));
    await client.call(slot, ['DEL', bucketKey(b)]);
    const owner = client.ownerOf(slot);
    bucketsPerNode[owner] = (bucketsPerNode[owner] ?? 0) + 1;
  }
  const running = new Set<Promise<unknown>>();
  let failure: Error | undefined;
  let args: Array<string | Buffer> = [];
  let argsBucket = -1;
  let ordinal = 0;
  const flush = async (): Promise<void> => {
    if (args.length === 0) return;
    const key = bucketKey(argsBucket);
    const p = client.call(keySlot(key), ['ZADD', key, ...args]).catch((err: Error) => (failure ??= err));
    args = [];
    running.add(p);
    void p.finally(() => running.delete(p));
    if (running.size >= inFlight) await Promise.race(running);
  };
  for await (const row of rows) {
    if (failure) break;
    if (ordinal >= layout.totalRows) throw new Error(`loadRedisRows: told ${layout.totalRows} rows, the source yields more`);
    const bucket = bucketOf(layout, ordinal);
    if (bucket !== argsBucket || args.length >= 2 * batchRows) {
      await flush();
      argsBucket = bucket;
    }
    args.push(String(ordinal), encodeMember(row.key, row.value));
    ordinal++;
  }
  await flush();
  await Promise.all(running);
  if (failure) throw failure;
  if (ordinal !== layout.totalRows) throw new Error(`loadRedisRows: told ${layout.totalRows} rows, the source yielded ${ordinal}`);
  await client.call(keySlot(LAYOUT_KEY), ['SET', LAYOUT_KEY, JSON.stringify(layout)]);
  return { layout, rowsLoaded: ordinal, bucketsPerNode };
}

/** The layout a previous load recorded (to attach to a loaded cluster). */
export async function readLayout(client: RedisClusterClient): Promise<BucketLayout> {
  const raw = await client.call(keySlot(LAYOUT_KEY), ['GET', LAYOUT_KEY]);
  if (raw === null) throw new Error(`no copbench data on this Redis Cluster (${LAYOUT_KEY} is not set): load it first`);
  return JSON.parse(String(raw)) as BucketLayout;
}
