/**
 * NodeStore: binary-safe rows, batched writes, range scans (forward and reverse, with limits),
 * range deletion and statistics, key validation, durability across reopen, and metadata.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { MAX_KEY_BYTES, NodeStore, StorageError, checkKey, type KeyRange, type Row, type StoreOptions, type VisitMeter } from './store';

/** Keys as latin1 so '\xff' is the single byte 0xff. */
const k = (s: string): Buffer => Buffer.from(s, 'latin1');
const show = (rows: Iterable<Row>): string[] => [...rows].map((r) => r.key.toString('latin1'));
const range = (start: string, end: string): KeyRange => ({ start: k(start), end: k(end) });

/** Runs `fn` against a store in a fresh temp dir; closes the store and removes the dir afterwards. */
async function withStore(fn: (store: NodeStore, dir: string) => Promise<void>, options: StoreOptions = {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'copbench-store-'));
  const store = NodeStore.open(dir, options);
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Keys sharing prefixes, in byte order. */
const PREFIX_KEYS = ['a', 'a\x00', 'a\x00\x00', 'a\x01', 'ab', 'abc', 'a\xff', 'b', 'b\x00', '\xff', '\xff\xff'];

async function putKeys(store: NodeStore, keys: string[]): Promise<void> {
  await store.putMany(keys.map((key) => ({ key: k(key), value: k(`v:${key}`) })));
}

test('put/get round-trips a value containing every byte value', async () => {
  await withStore(async (store) => {
    const value = Buffer.alloc(256 * 4);
    for (let i = 0; i < value.length; i++) value[i] = i % 256;
    const key = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x80]);
    await store.put(key, value);
    const got = store.get(key);
    assert.ok(got);
    assert.ok(got.equals(value));
    assert.ok(store.exists(key));
  });
});

test('put/get round-trips an empty value, distinct from a missing key', async () => {
  await withStore(async (store) => {
    await store.put(k('empty'), Buffer.alloc(0));
    const got = store.get(k('empty'));
    assert.ok(got !== undefined, 'empty value must be stored');
    assert.equal(got.length, 0);
    assert.ok(store.exists(k('empty')));
    assert.equal(store.get(k('missing')), undefined);
    assert.equal(store.exists(k('missing')), false);
  });
});

test('put overwrites an existing value', async () => {
  await withStore(async (store) => {
    await store.put(k('x'), k('one'));
    await store.put(k('x'), k('two'));
    assert.equal(store.get(k('x'))?.toString(), 'two');
  });
});

test('putMany writes all rows in one transaction, visible once it resolves', async () => {
  await withStore(async (store) => {
    const rows: Row[] = [];
    for (let i = 0; i < 500; i++) rows.push({ key: k(`key${String(i).padStart(4, '0')}`), value: Buffer.from([i & 0xff, i >> 8]) });
    await store.putMany(rows);
    for (const r of rows) assert.ok(store.get(r.key)?.equals(r.value), `row ${r.key.toString()} missing after putMany`);
    assert.equal(store.countAll(), 500);
  });
});

test('a reader in another thread sees a write acknowledged before its read, after readLatest', async () => {
  await withStore(async (store, dir) => {
    await store.put(k('k'), k('0'));
    // A plugin worker's shape: a reader store in a worker thread, asked once per message.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       require(workerData.register);
       const reader = require(workerData.store).NodeStore.openReader(workerData.dir);
       parentPort.on('message', (latest) => {
         if (latest) reader.readLatest();
         parentPort.postMessage(String(reader.get(Buffer.from('k'))));
       });`,
      { eval: true, workerData: { dir, register: resolve(__dirname, '../runtime/register.js'), store: resolve(__dirname, 'store.ts') } },
    );
    const read = (latest: boolean): Promise<string> =>
      new Promise((done) => {
        worker.once('message', done);
        worker.postMessage(latest);
      });
    try {
      let stale = 0;
      for (let i = 1; i <= 40; i++) {
        await read(true);
        await store.put(k('k'), k(String(i)));
        if ((await read(true)) !== String(i)) stale++;
      }
      // Without readLatest most of these reads return the value before the write (170 of 200 when measured).
      assert.equal(stale, 0, `${stale} of 40 reads missed the write acknowledged before them`);
    } finally {
      await worker.terminate();
    }
  });
});

test('putMany is atomic: a concurrent reader sees none or all of the rows', async () => {
  await withStore(async (store) => {
    const keys = Array.from({ length: 200 }, (_, i) => `atom${String(i).padStart(3, '0')}`);
    const pending = putKeys(store, keys);
    const seen: number[] = [];
    // Sample on every turn of the event loop until the write resolves.
    let done = false;
    void pending.then(() => {
      done = true;
    });
    while (!done) {
      seen.push([...store.scan(range('atom', 'atom\xff'))].length);
      await new Promise((r) => setImmediate(r));
    }
    seen.push([...store.scan(range('atom', 'atom\xff'))].length);
    for (const n of seen) assert.ok(n === 0 || n === 200, `reader saw a partial batch of ${n} rows`);
    assert.equal(seen[seen.length - 1], 200);
  });
});

test('removeMany deletes the keys and returns how many existed', async () => {
  await withStore(async (store) => {
    await putKeys(store, ['a', 'b', 'c', 'd']);
    const n = await store.removeMany([k('a'), k('c'), k('zz'), k('missing')]);
    assert.equal(n, 2);
    assert.deepEqual(show(store.scan(range('', ''))), ['b', 'd']);
    assert.equal(await store.removeMany([k('a')]), 0);
    assert.equal(await store.removeMany([]), 0);
  });
});

test('scan returns [start, end) in byte order', async () => {
  await withStore(async (store) => {
    // Insert out of order to show the result order comes from the store.
    await putKeys(store, [...PREFIX_KEYS].reverse());
    assert.deepEqual(show(store.scan(range('a\x00', 'ab'))), ['a\x00', 'a\x00\x00', 'a\x01']);
    assert.deepEqual(show(store.scan(range('ab', 'b'))), ['ab', 'abc', 'a\xff']);
    assert.deepEqual(show(store.scan(range('a', 'a\x00'))), ['a']);
    assert.deepEqual(show(store.scan(range('a\x02', 'a\xff'))), ['ab', 'abc']);
    assert.deepEqual(show(store.scan(range('c', 'd'))), []);
    assert.deepEqual(show(store.scan(range('b', 'b'))), []);
    const rows = [...store.scan(range('ab', 'abc'))];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.value.toString('latin1'), 'v:ab');
  });
});

test('scan with an empty end runs to the end of the keyspace, and an empty start from the beginning', async () => {
  await withStore(async (store) => {
    await putKeys(store, PREFIX_KEYS);
    assert.deepEqual(show(store.scan(range('', ''))), PREFIX_KEYS);
    assert.deepEqual(show(store.scan(range('b', ''))), ['b', 'b\x00', '\xff', '\xff\xff']);
    assert.deepEqual(show(store.scan(range('', 'a\x01'))), ['a', 'a\x00', 'a\x00\x00']);
  });
});

test('scan rows stay valid after iteration moves on', async () => {
  await withStore(async (store) => {
    await putKeys(store, PREFIX_KEYS);
    const rows = [...store.scan(range('', ''))];
    // Read more rows afterwards; earlier buffers must not be reused.
    for (const _ of store.scan(range('', ''), { reverse: true })) void _;
    store.get(k('b'));
    assert.deepEqual(show(rows), PREFIX_KEYS);
    assert.deepEqual(
      rows.map((r) => r.value.toString('latin1')),
      PREFIX_KEYS.map((key) => `v:${key}`),
    );
  });
});

test('scan limit stops after that many rows', async () => {
  await withStore(async (store) => {
    await putKeys(store, PREFIX_KEYS);
    assert.deepEqual(show(store.scan(range('a', ''), { limit: 3 })), ['a', 'a\x00', 'a\x00\x00']);
    assert.deepEqual(show(store.scan(range('a', ''), { limit: 0 })), []);
    assert.deepEqual(show(store.scan(range('\xff', ''), { limit: 10 })), ['\xff', '\xff\xff']);
    assert.deepEqual(show(store.scan(range('a', 'b'), { limit: 2, reverse: true })), ['a\xff', 'abc']);
  });
});

test('scan maxBytes stops after the row that crosses the bound', async () => {
  await withStore(async (store) => {
    // Each row: 2-byte key + 8-byte value = 10 bytes.
    await store.putMany(['k1', 'k2', 'k3', 'k4', 'k5'].map((key) => ({ key: k(key), value: Buffer.alloc(8, 1) })));
    // 25 bytes: rows 1,2 make 20 (< 25), row 3 makes 30 (crosses) -> 3 rows.
    assert.deepEqual(show(store.scan(range('', ''), { maxBytes: 25 })), ['k1', 'k2', 'k3']);
    // A row that lands exactly on the bound ends the batch.
    assert.deepEqual(show(store.scan(range('', ''), { maxBytes: 20 })), ['k1', 'k2']);
    // A bound smaller than the first row still yields that row.
    assert.deepEqual(show(store.scan(range('', ''), { maxBytes: 1 })), ['k1']);
    // Reverse honours the bound the same way.
    assert.deepEqual(show(store.scan(range('', ''), { maxBytes: 11, reverse: true })), ['k5', 'k4']);
    // limit wins when it is the tighter bound.
    assert.deepEqual(show(store.scan(range('', ''), { maxBytes: 1000, limit: 2 })), ['k1', 'k2']);
  });
});

test('reverse scan returns the same rows as forward in reverse, including start and excluding end', async () => {
  await withStore(async (store) => {
    await putKeys(store, PREFIX_KEYS);
    // Bounds: every stored key, keys between stored keys, and the infinities.
    const bounds = ['', ...PREFIX_KEYS, 'a\x00\x01', 'a\xfe', 'aa', 'abd', 'c', '\xff\x00', '\xff\xff\xff'];
    let checked = 0;
    for (const start of bounds) {
      for (const end of bounds) {
        const r = range(start, end);
        const forward = show(store.scan(r));
        const backward = show(store.scan(r, { reverse: true }));
        assert.deepEqual(backward, [...forward].reverse(), `range [${JSON.stringify(start)}, ${JSON.stringify(end)})`);
        checked++;
      }
    }
    assert.ok(checked > 100);
    // Spot checks that pin down the boundary semantics.
    assert.deepEqual(show(store.scan(range('a', 'ab'), { reverse: true })), ['a\x01', 'a\x00\x00', 'a\x00', 'a']);
    assert.deepEqual(show(store.scan(range('a\x00', 'a\xff'), { reverse: true })), ['abc', 'ab', 'a\x01', 'a\x00\x00', 'a\x00']);
    assert.deepEqual(show(store.scan(range('ab', ''), { reverse: true })), ['\xff\xff', '\xff', 'b\x00', 'b', 'a\xff', 'abc', 'ab']);
  });
});

test('reverse scan on an empty store yields nothing', async () => {
  await withStore(async (store) => {
    assert.deepEqual(show(store.scan(range('', ''), { reverse: true })), []);
    assert.deepEqual(show(store.scan(range('a', 'b'), { reverse: true })), []);
  });
});

test('clearRange deletes exactly the range in batches and returns the count', async () => {
  await withStore(async (store) => {
    const keys = Array.from({ length: 70 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    await putKeys(store, keys);
    // [k010, k060) holds 50 keys; with batchKeys=7 that takes 8 batches.
    const deleted = await store.clearRange(range('k010', 'k060'));
    assert.equal(deleted, 50);
    assert.deepEqual(show(store.scan(range('', ''))), [...keys.slice(0, 10), ...keys.slice(60)]);
    assert.equal(await store.clearRange(range('k010', 'k060')), 0);
  }, { rangeDeleteBatchKeys: 7 });
});

test('clearRange with infinite ends deletes everything from start, or everything before end', async () => {
  await withStore(async (store) => {
    await putKeys(store, PREFIX_KEYS);
    assert.equal(await store.clearRange(range('b', '')), 4);
    assert.deepEqual(show(store.scan(range('', ''))), PREFIX_KEYS.slice(0, 7));
    assert.equal(await store.clearRange(range('', 'a\x01')), 3);
    assert.deepEqual(show(store.scan(range('', ''))), ['a\x01', 'ab', 'abc', 'a\xff']);
    assert.equal(await store.clearRange(range('', '')), 4);
    assert.equal(store.countAll(), 0);
  });
});

/** A meter that records every check and the end, throwing from check once `throwAt` rows were passed. */
function recordingMeter(every: number, maxRows = Infinity, maxBytes = Infinity, throwAt = Infinity): VisitMeter & { checks: Array<[number, number]>; ends: Array<[number, number]> } {
  const checks: Array<[number, number]> = [];
  const ends: Array<[number, number]> = [];
  return {
    every, maxRows, maxBytes, checks, ends,
    check(rows, bytes) {
      checks.push([rows, bytes]);
      if (rows >= throwAt) throw new Error(`budget at ${rows}`);
    },
    done: (rows, bytes) => void ends.push([rows, bytes]),
  };
}

test('visitViews meters rows and key+value bytes: a check every `every` rows, at once past a budget, and one done however the visit ends', async () => {
  await withStore(async (store) => {
    const keys = Array.from({ length: 10 }, (_, i) => `r${i}`);
    await putKeys(store, keys);
    const rowBytes = 2 + 4; // 'rN' and 'v:rN'
    const seen: string[] = [];
    const all = recordingMeter(4);
    store.visitViews(range('r', 's'), Infinity, (key) => void seen.push(key.toString('latin1')), all);
    assert.deepEqual(seen, keys);
    assert.deepEqual(all.checks, [[4, 4 * rowBytes], [8, 8 * rowBytes]]);
    assert.deepEqual(all.ends, [[10, 10 * rowBytes]]);

    const limited = recordingMeter(4);
    store.visitViews(range('r', 's'), 3, () => {}, limited);
    assert.deepEqual(limited.ends, [[3, 3 * rowBytes]]);
    const stopped = recordingMeter(4);
    let n = 0;
    store.visitViews(range('r', 's'), Infinity, () => ++n < 2, stopped);
    assert.deepEqual(stopped.ends, [[2, 2 * rowBytes]]);

    // Past maxRows (or maxBytes) every row is checked, so a budget ends the visit at the row past it.
    const overRows = recordingMeter(100, 5, Infinity, 6);
    assert.throws(() => store.visitViews(range('r', 's'), Infinity, () => {}, overRows), /budget at 6/);
    assert.deepEqual(overRows.checks, [[6, 6 * rowBytes]]);
    assert.deepEqual(overRows.ends, [[6, 6 * rowBytes]]);
    const overBytes = recordingMeter(100, Infinity, 3 * rowBytes);
    store.visitViews(range('r', 's'), Infinity, () => {}, overBytes);
    assert.deepEqual(overBytes.checks.map(([rows]) => rows), [4, 5, 6, 7, 8, 9, 10]);

    const none = recordingMeter(4);
    store.visitViews(range('r', 's'), 0, () => assert.fail('visited a row with limit 0'), none);
    assert.deepEqual(none.ends, [[0, 0]]);
  });
});

test('rangeStats counts keys and bytes and returns a split key every pieceKeys rows', async () => {
  await withStore(async (store) => {
    const keys = Array.from({ length: 25 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    // key 3 bytes + value 5 bytes ('v:sNN') = 8 bytes per row.
    await putKeys(store, keys);
    await putKeys(store, ['r', 't']);
    const stats = store.rangeStats(range('s', 's\xff'), 10);
    assert.equal(stats.keys, 25);
    assert.equal(stats.bytes, 25 * 8);
    assert.deepEqual(
      stats.splitKeys.map((b) => b.toString()),
      ['s10', 's20'],
    );
    const exact = store.rangeStats(range('s', 's\xff'), 25);
    assert.deepEqual(exact.splitKeys, []);
    const all = store.rangeStats(range('', ''), 1000);
    assert.equal(all.keys, 27);
    assert.deepEqual(store.rangeStats(range('x', ''), 5), { keys: 0, bytes: 0, splitKeys: [] });
  });
});

test('checkKey rejects empty keys and keys over the LMDB limit', () => {
  assert.equal(MAX_KEY_BYTES, 1978);
  assert.throws(
    () => checkKey(Buffer.alloc(0)),
    (err: unknown) => err instanceof StorageError && err.code === 'KEY_EMPTY',
  );
  assert.throws(
    () => checkKey(Buffer.alloc(MAX_KEY_BYTES + 1, 0x61)),
    (err: unknown) => err instanceof StorageError && err.code === 'KEY_TOO_LARGE' && err.message.includes('1979'),
  );
  assert.doesNotThrow(() => checkKey(Buffer.alloc(1, 0)));
  assert.doesNotThrow(() => checkKey(Buffer.alloc(MAX_KEY_BYTES, 0xff)));
});

test('a key of exactly MAX_KEY_BYTES can be stored and read back', async () => {
  await withStore(async (store) => {
    const key = Buffer.alloc(MAX_KEY_BYTES, 0xff);
    await store.put(key, k('big'));
    assert.equal(store.get(key)?.toString(), 'big');
    assert.deepEqual(
      [...store.scan({ start: k('\xff'), end: Buffer.alloc(0) })].map((r) => r.key.length),
      [MAX_KEY_BYTES],
    );
  });
});

test('data and metadata survive close and reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'copbench-store-'));
  try {
    const first = NodeStore.open(dir);
    await putKeys(first, PREFIX_KEYS);
    await first.put(Buffer.from([0]), Buffer.from([0xff, 0x00]));
    await first.putMeta('regions', [{ id: 1, start: '', end: '' }]);
    await first.close();

    const second = NodeStore.open(dir);
    try {
      assert.deepEqual(show(second.scan(range('a', ''))), PREFIX_KEYS);
      assert.ok(second.get(Buffer.from([0]))?.equals(Buffer.from([0xff, 0x00])));
      assert.deepEqual(second.getMeta('regions'), [{ id: 1, start: '', end: '' }]);
      assert.equal(second.countAll(), PREFIX_KEYS.length + 1);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('getMeta/putMeta round-trip JSON values and missing names read as undefined', async () => {
  await withStore(async (store) => {
    assert.equal(store.getMeta('nothing'), undefined);
    const value = { version: 7, nodes: [1, 2, 3], name: 'n\u00e9', nested: { ok: true, none: null } };
    await store.putMeta('map', value);
    assert.deepEqual(store.getMeta('map'), value);
    await store.putMeta('map', 42);
    assert.equal(store.getMeta<number>('map'), 42);
    await store.putMeta('s', 'text');
    assert.equal(store.getMeta<string>('s'), 'text');
    // Metadata lives apart from rows.
    assert.equal(store.countAll(), 0);
    assert.equal(store.get(k('map')), undefined);
  });
});

test('writes and range deletions issued together apply in the order they were issued', async () => {
  await withStore(async (store) => {
    // Issued without waiting, as a node's concurrent clients would: the put before the clearRange is
    // deleted by it, the put after it survives, whatever groups they end up in.
    const before = store.put(k('m1'), k('before'));
    const cleared = store.clearRange(range('m', 'n'));
    const after = store.put(k('m2'), k('after'));
    const bulk = store.putMany(Array.from({ length: 3000 }, (_, i) => ({ key: k(`z${String(i).padStart(5, '0')}`), value: k('bulk') })));
    await Promise.all([before, cleared, after, bulk]);
    assert.equal(store.get(k('m1')), undefined);
    assert.equal(store.get(k('m2'))?.toString(), 'after');
    assert.equal(show(store.scan(range('z', ''))).length, 3000);
  });
});
