/**
 * The bench's rows (fixed-width ASCII keys in index order, seeded random printable values) and
 * their two homes: raw lmdb in this process, the baseline, and a cluster loaded through MSET.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import type { ClusterClient } from '../engine/client/cluster-client';
import { prng } from '../engine/util/seeded-random';
import type { BenchConfig } from './cli-config';

/** A `bytes`-long ASCII key: prefix + zero-padded index, so keys sort in index order. */
export function makeKey(prefix: string, i: number, bytes: number): Buffer {
  return Buffer.from(prefix + String(i).padStart(bytes - prefix.length, '0'), 'latin1');
}

function makeValues(count: number, bytes: number, seed: number): Buffer[] {
  const rand = prng(seed);
  const out: Buffer[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const v = Buffer.allocUnsafe(bytes);
    for (let j = 0; j < bytes; j++) v[j] = 32 + Math.floor(rand() * 95);
    out[i] = v;
  }
  return out;
}

export interface Dataset {
  keys: Buffer[];
  values: Buffer[];
  /** `[start, end)` covering exactly these keys. */
  start: Buffer;
  end: Buffer;
  bytes: number;
}

export function makeDataset(prefix: string, count: number, cfg: BenchConfig, seed: number): Dataset {
  const keys = Array.from({ length: count }, (_, i) => makeKey(prefix, i, cfg.keyBytes));
  const values = makeValues(count, cfg.valueBytes, seed);
  const next = String.fromCharCode(prefix.charCodeAt(0) + 1);
  return { keys, values, start: Buffer.from(prefix, 'latin1'), end: Buffer.from(next, 'latin1'), bytes: count * (cfg.keyBytes + cfg.valueBytes) };
}

/** The keys that cut `data` into `pieces` regions of equal row counts. */
export function splitKeysFor(data: Dataset, pieces: number): Buffer[] {
  return Array.from({ length: pieces - 1 }, (_, i) => data.keys[Math.floor(((i + 1) * data.keys.length) / pieces)]!);
}

/**
 * Raw lmdb with LMDB's own durable commits (each transaction synced), as a node opened its
 * environment before the write-ahead log; reads are the same either way.
 */
export interface RawLmdb {
  root: RootDatabase;
  rows: Database<Buffer, Buffer>;
}

export function openRaw(dir: string): RawLmdb {
  const root = open({ path: dir, maxDbs: 4, mapSize: 64 * 1024 * 1024 * 1024, separateFlushed: true } as never) as RootDatabase;
  const rows = root.openDB({ name: 'rows', keyEncoding: 'binary', encoding: 'binary' }) as unknown as Database<Buffer, Buffer>;
  return { root, rows };
}

/** Resolves when an lmdb write is committed and flushed to disk (LMDB's own durability, no log). */
export async function durable(write: Promise<unknown>): Promise<void> {
  const w = write as Promise<unknown> & { flushed?: Promise<unknown> };
  await w;
  if (w.flushed) await w.flushed;
}

export async function rawLoad(raw: RawLmdb, data: Dataset, chunk: number): Promise<void> {
  for (let i = 0; i < data.keys.length; i += chunk) {
    const end = Math.min(data.keys.length, i + chunk);
    await durable(
      raw.rows.batch(() => {
        for (let j = i; j < end; j++) void raw.rows.put(data.keys[j]!, data.values[j]!);
      }),
    );
  }
}

export async function clusterLoad(client: ClusterClient, data: Dataset, chunk: number, parallel = 4): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next;
      next += chunk;
      if (i >= data.keys.length) return;
      const pairs: Array<[Buffer, Buffer]> = [];
      for (let j = i; j < Math.min(data.keys.length, i + chunk); j++) pairs.push([data.keys[j]!, data.values[j]!]);
      await client.mset(pairs);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
