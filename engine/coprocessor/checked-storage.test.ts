/**
 * CheckedStorage over an in-memory RowSource: range checks for reads, scans and writes, limits
 * across batches, scan budgets, read-only storage, counters and abort; visit over views and over
 * batches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareBytes, copyBytes, inRange, type KeyRange, type KV, type RowVisitor } from '../plugin-api';
import type { VisitMeter } from '../storage/store';
import { CheckedStorage, type RowSource } from './checked-storage';
import { CoprError, type CoprErrorCode } from './sandbox/messages';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const range = (start: string, end: string): KeyRange => ({ start: enc(start), end: enc(end) });
const NO_LIMITS = { maxRowsScanned: Number.MAX_SAFE_INTEGER, maxBytesScanned: Number.MAX_SAFE_INTEGER };

/** Sorted rows in memory, served in batches of `batchRows`. */
class MemorySource implements RowSource {
  readonly rows = new Map<string, Uint8Array>();
  batchesServed = 0;

  constructor(
    keys: string[],
    private readonly batchRows = 3,
    /** When false the source ignores `limit`, leaving it to CheckedStorage. */
    private readonly honourLimit = true,
  ) {
    for (const k of keys) this.rows.set(k, enc(`v:${k}`));
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.rows.get(dec(key));
  }

  async *scanBatches(r: KeyRange, options: { limit: number; reverse: boolean }): AsyncIterable<KV[]> {
    let rows: KV[] = [...this.rows]
      .map(([k, value]) => ({ key: enc(k), value }))
      .filter((row) => inRange(row.key, r))
      .sort((a, b) => compareBytes(a.key, b.key));
    if (options.reverse) rows.reverse();
    if (this.honourLimit && Number.isFinite(options.limit)) rows = rows.slice(0, options.limit);
    for (let i = 0; i < rows.length; i += this.batchRows) {
      this.batchesServed++;
      yield rows.slice(i, i + this.batchRows);
    }
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.rows.set(dec(key), value);
  }

  async delete(key: Uint8Array): Promise<void> {
    this.rows.delete(dec(key));
  }
}

/**
 * A source with visitViews whose key and value are one reused buffer each, as LMDB's read buffer
 * is: a visitor that keeps them without copying finds them overwritten.
 */
class ViewSource extends MemorySource {
  visitViews(r: KeyRange, limit: number, visit: RowVisitor, meter: VisitMeter): void {
    const keyView = new Uint8Array(64);
    const valueView = new Uint8Array(64);
    let visited = 0;
    let bytes = 0;
    try {
      for (const k of [...this.rows.keys()].sort()) {
        if (!inRange(enc(k), r)) continue;
        if (visited >= limit) return;
        const key = enc(k);
        const value = this.rows.get(k)!;
        visited++;
        bytes += key.length + value.length;
        if (visited > meter.maxRows || bytes > meter.maxBytes || visited % meter.every === 0) meter.check(visited, bytes);
        keyView.set(key);
        valueView.set(value);
        if (visit(keyView.subarray(0, key.length), valueView.subarray(0, value.length)) === false) return;
      }
    } finally {
      meter.done(visited, bytes);
    }
  }
}

/** keys k00..k19 */
const KEYS = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, '0')}`);

async function collect(storage: CheckedStorage, r: KeyRange, options?: { limit?: number; reverse?: boolean }): Promise<string[][]> {
  const batches: string[][] = [];
  for await (const batch of storage.scan(r, options)) batches.push(batch.map((row) => dec(row.key)));
  return batches;
}

async function assertCoprError(fn: () => Promise<unknown>, code: CoprErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof CoprError, `expected CoprError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

test('scan inside a call range yields its rows in batches, in key order', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k00', 'k10')], false, NO_LIMITS);
  assert.deepEqual(await collect(storage, range('k02', 'k09')), [
    ['k02', 'k03', 'k04'],
    ['k05', 'k06', 'k07'],
    ['k08'],
  ]);
  assert.deepEqual((await collect(storage, range('k00', 'k10'))).flat(), KEYS.slice(0, 10));
});

test('scan in reverse yields the rows highest key first', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k00', 'k10')], false, NO_LIMITS);
  assert.deepEqual((await collect(storage, range('k05', 'k10'), { reverse: true })).flat(), ['k09', 'k08', 'k07', 'k06', 'k05']);
});

test('scan inside any one of several call ranges is allowed', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k00', 'k03'), range('k10', 'k13')], false, NO_LIMITS);
  assert.deepEqual((await collect(storage, range('k10', 'k13'))).flat(), ['k10', 'k11', 'k12']);
});

test('scan to the end of the keyspace is allowed only when a call range is open-ended', async () => {
  const open = new CheckedStorage(new MemorySource(KEYS), [range('k15', '')], false, NO_LIMITS);
  assert.deepEqual((await collect(open, range('k17', ''))).flat(), ['k17', 'k18', 'k19']);
  assert.deepEqual((await collect(open, range('k18', 'k19'))).flat(), ['k18']);
  const closed = new CheckedStorage(new MemorySource(KEYS), [range('k15', 'k19')], false, NO_LIMITS);
  await assertCoprError(() => collect(closed, range('k17', '')), 'COPR_OUT_OF_RANGE', /\+inf/);
});

test('scan entirely outside the call ranges is COPR_OUT_OF_RANGE', async () => {
  const source = new MemorySource(KEYS);
  const storage = new CheckedStorage(source, [range('k05', 'k10')], false, NO_LIMITS);
  await assertCoprError(() => collect(storage, range('k12', 'k15')), 'COPR_OUT_OF_RANGE', /outside the call's ranges/);
  await assertCoprError(() => collect(storage, range('k00', 'k03')), 'COPR_OUT_OF_RANGE');
  assert.equal(source.batchesServed, 0, 'nothing is read');
});

test('scan straddling a call range boundary is COPR_OUT_OF_RANGE', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k05', 'k10')], false, NO_LIMITS);
  await assertCoprError(() => collect(storage, range('k03', 'k07')), 'COPR_OUT_OF_RANGE');
  await assertCoprError(() => collect(storage, range('k07', 'k12')), 'COPR_OUT_OF_RANGE');
  // Spanning two adjacent-but-separate call ranges is also refused: each scan lies in one range.
  const two = new CheckedStorage(new MemorySource(KEYS), [range('k00', 'k05'), range('k05', 'k10')], false, NO_LIMITS);
  await assertCoprError(() => collect(two, range('k03', 'k07')), 'COPR_OUT_OF_RANGE');
});

test('get inside a call range returns the value, or undefined for a missing key', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k05', 'k10')], false, NO_LIMITS);
  assert.equal(dec((await storage.get(enc('k07')))!), 'v:k07');
  assert.equal(await storage.get(enc('k07x')), undefined);
});

test('get outside the call ranges is COPR_OUT_OF_RANGE', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k05', 'k10')], false, NO_LIMITS);
  await assertCoprError(() => storage.get(enc('k10')), 'COPR_OUT_OF_RANGE', /read of key "k10"/);
  await assertCoprError(() => storage.get(enc('k04')), 'COPR_OUT_OF_RANGE');
  await assertCoprError(() => storage.get(Uint8Array.from([0xff, 0x00])), 'COPR_OUT_OF_RANGE', /0xff00/);
});

test('limit is respected across batches when the source ignores it', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS, 3, false), [range('k00', '')], false, NO_LIMITS);
  assert.deepEqual(await collect(storage, range('k00', ''), { limit: 7 }), [['k00', 'k01', 'k02'], ['k03', 'k04', 'k05'], ['k06']]);
  assert.deepEqual(await collect(storage, range('k00', ''), { limit: 6 }), [['k00', 'k01', 'k02'], ['k03', 'k04', 'k05']]);
  assert.deepEqual(await collect(storage, range('k00', ''), { limit: 2 }), [['k00', 'k01']]);
  assert.deepEqual(await collect(storage, range('k00', ''), { limit: 0 }), []);
});

test('limit is respected across batches when the source honours it', async () => {
  const source = new MemorySource(KEYS, 3, true);
  const storage = new CheckedStorage(source, [range('k00', '')], false, NO_LIMITS);
  assert.deepEqual((await collect(storage, range('k00', ''), { limit: 7, reverse: true })).flat(), ['k19', 'k18', 'k17', 'k16', 'k15', 'k14', 'k13']);
  assert.equal(storage.counters.rowsScanned, 7);
});

test('scanning more rows than the row budget is COPR_SCAN_BUDGET', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k00', '')], false, { maxRowsScanned: 5, maxBytesScanned: Number.MAX_SAFE_INTEGER });
  const seen: string[] = [];
  await assertCoprError(async () => {
    for await (const batch of storage.scan(range('k00', ''))) seen.push(...batch.map((r) => dec(r.key)));
  }, 'COPR_SCAN_BUDGET', /more than 5 rows/);
  assert.deepEqual(seen, ['k00', 'k01', 'k02'], 'the batch that crosses the budget is not yielded');
});

test('a scan of exactly the row budget succeeds', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k00', '')], false, { maxRowsScanned: 6, maxBytesScanned: Number.MAX_SAFE_INTEGER });
  assert.deepEqual((await collect(storage, range('k00', 'k06'))).flat().length, 6);
});

test('scanning more bytes than the byte budget is COPR_SCAN_BUDGET', async () => {
  // Each row is 3 key bytes + 5 value bytes = 8 bytes.
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k00', '')], false, { maxRowsScanned: Number.MAX_SAFE_INTEGER, maxBytesScanned: 30 });
  await assertCoprError(() => collect(storage, range('k00', '')), 'COPR_SCAN_BUDGET', /more than 30 bytes/);
});

test('gets count against the scan budget', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k00', '')], false, { maxRowsScanned: 2, maxBytesScanned: Number.MAX_SAFE_INTEGER });
  await storage.get(enc('k00'));
  await storage.get(enc('k01'));
  await assertCoprError(() => storage.get(enc('k02')), 'COPR_SCAN_BUDGET');
});

test('put and delete on read-only storage are COPR_READ_ONLY', async () => {
  const source = new MemorySource(KEYS);
  const storage = new CheckedStorage(source, [range('k00', '')], false, NO_LIMITS);
  await assertCoprError(() => storage.put(enc('k05'), enc('x')), 'COPR_READ_ONLY', /writes: true/);
  await assertCoprError(() => storage.delete(enc('k05')), 'COPR_READ_ONLY');
  assert.equal(dec(source.rows.get('k05')!), 'v:k05');
  assert.equal(storage.counters.rowsWritten, 0);
});

test('writes over a source that cannot write are COPR_READ_ONLY', async () => {
  const readOnlySource: RowSource = { get: () => undefined, scanBatches: () => [] };
  const storage = new CheckedStorage(readOnlySource, [range('k00', '')], true, NO_LIMITS);
  await assertCoprError(() => storage.put(enc('k05'), enc('x')), 'COPR_READ_ONLY');
});

test('put and delete inside the ranges of a writing call reach the source', async () => {
  const source = new MemorySource(KEYS);
  const storage = new CheckedStorage(source, [range('k05', 'k10')], true, NO_LIMITS);
  await storage.put(enc('k05a'), enc('new'));
  await storage.delete(enc('k06'));
  assert.equal(dec(source.rows.get('k05a')!), 'new');
  assert.equal(source.rows.has('k06'), false);
});

test('put and delete outside the ranges of a writing call are COPR_OUT_OF_RANGE', async () => {
  const source = new MemorySource(KEYS);
  const storage = new CheckedStorage(source, [range('k05', 'k10')], true, NO_LIMITS);
  await assertCoprError(() => storage.put(enc('k10'), enc('x')), 'COPR_OUT_OF_RANGE', /write of key "k10"/);
  await assertCoprError(() => storage.delete(enc('k01')), 'COPR_OUT_OF_RANGE');
  assert.equal(dec(source.rows.get('k10')!), 'v:k10');
  assert.ok(source.rows.has('k01'));
  assert.equal(storage.counters.rowsWritten, 0);
});

test('counters count rows and bytes read and rows written', async () => {
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k00', '')], true, NO_LIMITS);
  await collect(storage, range('k00', 'k05')); // 5 rows × 8 bytes
  await storage.get(enc('k10')); // 1 row × 8 bytes
  await storage.get(enc('missing')); // not counted
  assert.deepEqual(storage.counters, { rowsScanned: 6, bytesScanned: 48, rowsWritten: 0 });
  await storage.put(enc('k20'), enc('abc'));
  await storage.delete(enc('k00'));
  assert.deepEqual(storage.counters, { rowsScanned: 6, bytesScanned: 48, rowsWritten: 2 });
});

test('an aborted signal stops a scan with COPR_DEADLINE', async () => {
  const controller = new AbortController();
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k00', '')], false, NO_LIMITS, controller.signal);
  const seen: string[] = [];
  await assertCoprError(async () => {
    for await (const batch of storage.scan(range('k00', ''))) {
      seen.push(...batch.map((r) => dec(r.key)));
      controller.abort();
    }
  }, 'COPR_DEADLINE');
  assert.deepEqual(seen, ['k00', 'k01', 'k02'], 'no batch after the abort');
});

test('a scan started after the signal was aborted yields nothing', async () => {
  const controller = new AbortController();
  controller.abort();
  const storage = new CheckedStorage(new MemorySource(KEYS), [range('k00', '')], false, NO_LIMITS, controller.signal);
  await assertCoprError(() => collect(storage, range('k00', '')), 'COPR_DEADLINE');
});

async function visitKeys(storage: CheckedStorage, r: KeyRange, options?: { limit?: number }, stopAfter = Infinity): Promise<{ keys: string[]; visited: number }> {
  const keys: string[] = [];
  const visited = await storage.visit(r, (key) => {
    keys.push(dec(key));
    return keys.length < stopAfter;
  }, options);
  return { keys, visited };
}

for (const [name, Source] of [['views', ViewSource], ['batches', MemorySource]] as const) {
  test(`visit over ${name}: the rows of the range in key order, a limit, a visitor that stops, and the counters`, async () => {
    const storage = new CheckedStorage(new Source(KEYS), [range('k00', '')], false, NO_LIMITS);
    assert.deepEqual(await visitKeys(storage, range('k03', 'k07')), { keys: ['k03', 'k04', 'k05', 'k06'], visited: 4 });
    assert.deepEqual(await visitKeys(storage, range('k00', ''), { limit: 5 }), { keys: KEYS.slice(0, 5), visited: 5 });
    assert.deepEqual(await visitKeys(storage, range('k10', ''), {}, 2), { keys: ['k10', 'k11'], visited: 2 });
    assert.deepEqual(await visitKeys(storage, range('k00', ''), { limit: 0 }), { keys: [], visited: 0 });
    assert.equal(storage.counters.rowsScanned >= 11, true, 'visited rows are counted as scanned');
  });

  test(`visit over ${name}: outside the call ranges is COPR_OUT_OF_RANGE, over the row budget COPR_SCAN_BUDGET`, async () => {
    const storage = new CheckedStorage(new Source(KEYS), [range('k05', 'k10')], false, { ...NO_LIMITS, maxRowsScanned: 3 });
    await assertCoprError(() => visitKeys(storage, range('k00', 'k10')), 'COPR_OUT_OF_RANGE');
    await assertCoprError(() => visitKeys(storage, range('k05', 'k10')), 'COPR_SCAN_BUDGET');
  });
}

test('visit over views checks the memory quota every 1024 rows, as scan does per batch', async () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `r${String(i).padStart(5, '0')}`);
  let checks = 0;
  const quota = (): void => {
    if (++checks === 2) throw new CoprError('COPR_MEMORY', 'over the quota');
  };
  const storage = new CheckedStorage(new ViewSource(keys), [range('r', 's')], false, NO_LIMITS, undefined, quota);
  let seen = 0;
  await assertCoprError(() => storage.visit(range('r', 's'), () => void seen++), 'COPR_MEMORY');
  assert.equal(seen, 1024 * 2 - 1, 'the visit stopped at the second check');
});

test('a visited row kept with copyBytes survives the visit; the view itself does not', async () => {
  const storage = new CheckedStorage(new ViewSource(KEYS), [range('k00', '')], false, NO_LIMITS);
  const views: Uint8Array[] = [];
  const copies: Uint8Array[] = [];
  await storage.visit(range('k00', 'k03'), (_key, value) => {
    views.push(value);
    copies.push(copyBytes(value));
  });
  assert.deepEqual(copies.map(dec), ['v:k00', 'v:k01', 'v:k02']);
  assert.deepEqual(views.map(dec), ['v:k02', 'v:k02', 'v:k02'], 'the views share the last row\'s buffer');
});
