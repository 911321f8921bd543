/**
 * A deterministic series of writes for the crash-recovery test (store-recovery.test.ts and the child
 * process it kills), and the state it must leave, computed without LMDB.
 */
import { prng } from '../util/seeded-random';
import type { KeyRange, Row } from './store';

export const CHURN_ROWS = 20_000;

export type ChurnOp =
  | { kind: 'putMany'; rows: Row[] }
  | { kind: 'removeMany'; keys: Buffer[] }
  | { kind: 'clearRange'; range: KeyRange }
  | { kind: 'meta'; name: string; value: unknown };

export function rowKey(i: number): Buffer {
  return Buffer.from(`row:${String(i).padStart(6, '0')}`);
}

/** 100 bytes that differ per row and per version. */
export function rowValue(i: number, version: number): Buffer {
  return Buffer.from(`${i}:${version}:`.padEnd(100, String.fromCharCode(97 + ((i + version) % 26))));
}

/** 400 operations: overwrites (most of them, so LMDB rewrites many pages), deletions, range deletions, metadata; in waves of ten (see the child). */
export function churnOps(seed: number): ChurnOp[] {
  const random = prng(seed);
  const pick = (): number => Math.floor(random() * CHURN_ROWS);
  const ops: ChurnOp[] = [];
  for (let n = 0; n < 400; n++) {
    if (n % 50 === 49) {
      const start = pick();
      ops.push({ kind: 'clearRange', range: { start: rowKey(start), end: rowKey(start + 100) } });
    } else if (n % 10 === 9) {
      ops.push({ kind: 'removeMany', keys: Array.from({ length: 10 }, () => rowKey(pick())) });
    } else if (n % 25 === 0) {
      ops.push({ kind: 'meta', name: 'churn', value: { n } });
    } else {
      // Two waves of ten in every four write a row per operation: a small group after a small group
      // syncs on the committing thread, the others on the thread pool (INLINE_SYNC_MAX_MUTATIONS),
      // so both ways crash.
      const rows = Math.floor(n / 10) % 4 >= 2 ? 1 : 50;
      ops.push({ kind: 'putMany', rows: Array.from({ length: rows }, () => { const i = pick(); return { key: rowKey(i), value: rowValue(i, n + 1) }; }) });
    }
  }
  return ops;
}

/** The rows (hex key → value) after loading CHURN_ROWS rows and applying `ops` in order. */
export function expectedRows(ops: ChurnOp[]): Map<string, Buffer> {
  const rows = new Map<string, Buffer>();
  for (let i = 0; i < CHURN_ROWS; i++) rows.set(rowKey(i).toString('hex'), rowValue(i, 0));
  for (const op of ops) {
    if (op.kind === 'putMany') for (const r of op.rows) rows.set(r.key.toString('hex'), r.value);
    else if (op.kind === 'removeMany') for (const k of op.keys) rows.delete(k.toString('hex'));
    else if (op.kind === 'clearRange') {
      for (const key of [...rows.keys()]) {
        const b = Buffer.from(key, 'hex');
        if (Buffer.compare(b, op.range.start) >= 0 && Buffer.compare(b, op.range.end) < 0) rows.delete(key);
      }
    }
  }
  return rows;
}
