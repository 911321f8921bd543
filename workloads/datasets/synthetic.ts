/**
 * The synthetic dataset: records of SAMPLE_SCHEMA (id, amount, quantity, flag, category) under keys
 * `row:<9-digit id>`, generated from a seed (same seed → same bytes), padded to a chosen value size.
 */
import { RecordCodec, SAMPLE_SCHEMA, type DataRecord } from '../../engine/plugin-api';
import type { ClusterClient } from '../../engine/client/cluster-client';
import { SeededRandom } from '../../engine/util/seeded-random';

export interface SyntheticOptions {
  rows: number;
  seed?: number;
  /** Minimum bytes per value (records are padded up to it). */
  valueBytes?: number;
  /** Distinct categories (`c0` … `c<n-1>`). */
  categories?: number;
}

export const syntheticCodec = new RecordCodec(SAMPLE_SCHEMA);

export function syntheticKey(id: number): Buffer {
  return Buffer.from(`row:${String(id).padStart(9, '0')}`);
}

/** Record `id` of the dataset (amount uniform in [0, 1000), quantity 0..9, flag ~ 1/3 true). */
export function syntheticRecord(id: number, random: SeededRandom, categories: number): DataRecord {
  return {
    id,
    amount: Math.round(random.next() * 100_000) / 100,
    quantity: random.int(10),
    flag: random.next() < 1 / 3,
    category: `c${random.int(categories)}`,
  };
}

/** Rows in key order. */
export function* syntheticRows(options: SyntheticOptions): Generator<{ key: Buffer; value: Buffer }> {
  const random = new SeededRandom(options.seed ?? 42);
  const categories = options.categories ?? 10;
  for (let id = 0; id < options.rows; id++) {
    const value = syntheticCodec.encode(syntheticRecord(id, random, categories), options.valueBytes ?? 0);
    yield { key: syntheticKey(id), value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
  }
}

/** Loads rows (sync or async) through the client in batches of `batchRows` (several batches in flight). */
export async function loadRows(client: ClusterClient, rows: Iterable<{ key: Buffer; value: Buffer }> | AsyncIterable<{ key: Buffer; value: Buffer }>, batchRows = 2000, inFlight = 4, onProgress?: (loaded: number) => void): Promise<number> {
  let loaded = 0;
  let batch: Array<{ key: Buffer; value: Buffer }> = [];
  const running = new Set<Promise<void>>();
  const flush = async (): Promise<void> => {
    const rowsOut = batch;
    batch = [];
    const p = client.mset(rowsOut).then(() => {
      loaded += rowsOut.length;
      onProgress?.(loaded);
    });
    running.add(p);
    p.finally(() => running.delete(p)).catch(() => undefined);
    if (running.size >= inFlight) await Promise.race(running);
  };
  if (Symbol.asyncIterator in rows) {
    for await (const row of rows) {
      batch.push(row);
      if (batch.length >= batchRows) await flush();
    }
  } else {
    // A plain loop for sync sources: `for await` would add a microtask per row.
    for (const row of rows) {
      batch.push(row);
      if (batch.length >= batchRows) await flush();
    }
  }
  if (batch.length > 0) await flush();
  await Promise.all(running);
  return loaded;
}
