/**
 * WorkerPool against a real node store in a temp dir (the main thread keeps its NodeStore open, as
 * a node does; the workers open the same environment): results and stats, queueing, deadline,
 * heap limit, result cap, plugin errors, writes, and close().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { NodeStore } from '../../storage/store';
import { compilePlugin, sha256 } from '../loader';
import { CoprExecError, WorkerPool, type ExecOutcome, type ExecRequest, type PoolOptions } from './pool';
import type { CoprErrorCode, ExecLimits, WireRange } from './messages';

const ROWS = 500;
const keyOf = (i: number): Buffer => Buffer.from(`row:${String(i).padStart(6, '0')}`);
const valueOf = (i: number): Buffer => Buffer.from(`value-${i}`);
const EXPECTED_BYTES = Array.from({ length: ROWS }, (_, i) => keyOf(i).length + valueOf(i).length).reduce((a, b) => a + b, 0);
const ALL: WireRange[] = [{ start: Buffer.from('row:'), end: Buffer.from('row;') }];
const NO_LIMITS: ExecLimits = { maxRowsScanned: Number.MAX_SAFE_INTEGER, maxBytesScanned: Number.MAX_SAFE_INTEGER, maxResultBytes: 32 * 1024 * 1024 };

/** Plugin source with the given `handle` body (an async function of `req` and `ctx`). */
function plugin(name: string, handleBody: string, extra = ''): string {
  return `import { definePlugin } from '../engine/plugin-api';
export default definePlugin({
  name: '${name}', version: '1.0.0', apiVersion: 1,${extra}
  async handle(req: any, ctx) {
${handleBody}
  },
  merge: (parts: unknown[]) => parts,
});
`;
}

const SCAN = plugin(
  'scan',
  `    let count = 0;
    let first: string | undefined;
    let last: string | undefined;
    for (const range of ctx.ranges) {
      for await (const batch of ctx.storage.scan(range)) {
        for (const row of batch) {
          const key = new TextDecoder().decode(row.key);
          first ??= key;
          last = key;
          count++;
        }
      }
    }
    return { count, first, last, where: ctx.where, echo: req.echo };`,
);
/** Spins the CPU for req.ms milliseconds, then returns req.id. */
const SPIN = plugin('spin', '    const until = Date.now() + req.ms;\n    while (Date.now() < until) {}\n    return req.id;');
const LOOP = plugin('loop', '    for (;;) {}');
const HEAP_BOMB = plugin('bomb', '    const keep: number[][] = [];\n    for (;;) keep.push(new Array(100000).fill(Math.random()));');
const HUGE = plugin('huge', "    return 'x'.repeat(req.bytes);");
const THROWS = plugin('throws', "    throw new RangeError('plugin says no');");
const WRITES = plugin('writer', "    await ctx.storage.put!(new TextEncoder().encode('row:written'), new TextEncoder().encode(req.value));\n    return 1;", '\n  writes: true,');
const WRITES_UNDECLARED = plugin('sneaky', "    await ctx.storage.put!(new TextEncoder().encode('row:sneaky'), new Uint8Array([1]));\n    return 1;");

/** A pool over a temp-dir store holding ROWS rows; both closed and the dir removed afterwards. */
async function withPool(options: Omit<PoolOptions, 'dataDir'>, fn: (pool: WorkerPool, store: NodeStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'copbench-pool-'));
  const store = NodeStore.open(dir);
  let pool: WorkerPool | undefined;
  // The pool's workers are unref'd (a node's server keeps its event loop alive); a call waiting for
  // a worker to start holds no handle, so keep the loop alive as the server would.
  const keepAlive = setInterval(() => {}, 1_000);
  try {
    await store.putMany(Array.from({ length: ROWS }, (_, i) => ({ key: keyOf(i), value: valueOf(i) })));
    pool = new WorkerPool({ dataDir: dir, ...options });
    await fn(pool, store);
  } finally {
    clearInterval(keepAlive);
    await pool?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function call(source: string, request: unknown, more: Partial<Omit<ExecRequest, 'js' | 'sha256' | 'request'>> = {}): ExecRequest {
  const file = 'plugins/test.ts';
  return { sha256: sha256(source), js: compilePlugin(source, file), file, request: pack(request), ranges: ALL, limits: NO_LIMITS, deadlineMs: 10_000, ...more };
}

const result = <T>(outcome: ExecOutcome): T => unpack(outcome.partial) as T;

/** Waits until `size` workers have started and taken calls (all busy at once right after submitting). */
async function untilWorkersReady(pool: WorkerPool, size: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const calls = Array.from({ length: size }, (_, i) => pool.exec(call(SPIN, { id: i, ms: 0 })));
    const allBusy = pool.busy === size;
    await Promise.all(calls);
    if (allBusy) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the pool's ${size} workers did not all start`);
}

async function assertExecError(p: Promise<unknown>, code: CoprErrorCode, message?: RegExp): Promise<CoprExecError> {
  let caught: CoprExecError | undefined;
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CoprExecError, `expected CoprExecError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    caught = err;
    return true;
  });
  return caught!;
}

test('a scan plugin returns its result and the call stats', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool) => {
    const outcome = await pool.exec(call(SCAN, { echo: 'hi' }));
    assert.deepEqual(result(outcome), { count: ROWS, first: 'row:000000', last: `row:${String(ROWS - 1).padStart(6, '0')}`, where: 'node', echo: 'hi' });
    const { stats } = outcome;
    assert.equal(stats.rowsScanned, ROWS);
    assert.equal(stats.bytesScanned, EXPECTED_BYTES);
    assert.equal(stats.rowsWritten, 0);
    assert.ok(stats.cpuUs > 0, `cpuUs ${stats.cpuUs}`);
    assert.ok(stats.runUs > 0, `runUs ${stats.runUs}`);
    assert.ok(stats.queueUs >= 0 && Number.isFinite(stats.queueUs), `queueUs ${stats.queueUs}`);
    assert.ok(stats.handoffUs >= 0 && Number.isFinite(stats.handoffUs), `handoffUs ${stats.handoffUs}`);
    assert.equal(pool.counters.calls, 1);
  });
});

test('a scan sees only the call ranges', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool) => {
    const ranges = [{ start: keyOf(10), end: keyOf(20) }];
    const outcome = await pool.exec(call(SCAN, { echo: 1 }, { ranges }));
    assert.deepEqual(result(outcome), { count: 10, first: 'row:000010', last: 'row:000019', where: 'node', echo: 1 });
    assert.equal(outcome.stats.rowsScanned, 10);
  });
});

test('rows written by the main store after the workers started are visible to calls', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool, store) => {
    assert.equal(result<{ count: number }>(await pool.exec(call(SCAN, {}))).count, ROWS);
    await store.put(Buffer.from('row:zzz'), Buffer.from('late'));
    assert.equal(result<{ count: number }>(await pool.exec(call(SCAN, {}))).count, ROWS + 1);
  });
});

test('a writing plugin writes through to the node store', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool, store) => {
    const outcome = await pool.exec(call(WRITES, { value: 'from-worker' }));
    assert.equal(result(outcome), 1);
    assert.equal(outcome.stats.rowsWritten, 1);
    assert.equal(store.get(Buffer.from('row:written'))?.toString(), 'from-worker');
  });
});

test('a write from a plugin that did not declare writes is COPR_READ_ONLY', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool, store) => {
    await assertExecError(pool.exec(call(WRITES_UNDECLARED, {})), 'COPR_READ_ONLY');
    assert.equal(store.get(Buffer.from('row:sneaky')), undefined);
  });
});

test('more concurrent calls than workers are queued and all complete', { timeout: 20_000 }, async () => {
  await withPool({ size: 2 }, async (pool) => {
    await untilWorkersReady(pool, 2);
    const calls = Array.from({ length: 6 }, (_, id) => pool.exec(call(SPIN, { id, ms: 60 })));
    assert.equal(pool.busy, 2);
    assert.equal(pool.queued, 4);
    const outcomes = await Promise.all(calls);
    assert.deepEqual(outcomes.map((o) => result(o)), [0, 1, 2, 3, 4, 5]);
    assert.equal(pool.busy, 0);
    assert.equal(pool.queued, 0);
    // The last pair waited for two rounds of 60 ms calls.
    const lastQueueUs = Math.min(outcomes[4]!.stats.queueUs, outcomes[5]!.stats.queueUs);
    assert.ok(lastQueueUs >= 100_000, `the last calls queued ${lastQueueUs} us`);
    assert.equal(pool.counters.workersStarted, 2);
  });
});

test('an infinite loop is COPR_DEADLINE, the worker is replaced and the next call succeeds', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool) => {
    const started = Date.now();
    await assertExecError(pool.exec(call(LOOP, {}, { deadlineMs: 300 })), 'COPR_DEADLINE', /300 ms deadline/);
    assert.ok(Date.now() - started < 5_000);
    assert.equal(pool.counters.deadlines, 1);
    assert.equal(pool.counters.workersStarted, 2);
    const outcome = await pool.exec(call(SCAN, {}));
    assert.equal(result<{ count: number }>(outcome).count, ROWS);
    assert.equal(pool.counters.deadlines, 1);
    assert.equal(pool.counters.crashes, 0, 'the terminated worker is not also counted as a crash');
    assert.equal(pool.counters.workersStarted, 2, 'no further replacement');
  });
});

test('a call queued behind a call that hits its deadline still runs', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool) => {
    const looping = pool.exec(call(LOOP, {}, { deadlineMs: 300 }));
    const queued = pool.exec(call(SPIN, { id: 7, ms: 0 }));
    await assertExecError(looping, 'COPR_DEADLINE');
    assert.equal(result(await queued), 7);
  });
});

test('a heap bomb under a 32 MiB heap limit is COPR_HEAP and the next call succeeds', { timeout: 20_000 }, async () => {
  await withPool({ size: 1, heapMb: 32 }, async (pool) => {
    await assertExecError(pool.exec(call(HEAP_BOMB, {}, { deadlineMs: 15_000 })), 'COPR_HEAP', /32 MiB/);
    assert.equal(pool.counters.heapFailures, 1);
    assert.equal(pool.counters.deadlines, 0);
    const outcome = await pool.exec(call(SCAN, {}));
    assert.equal(result<{ count: number }>(outcome).count, ROWS);
  });
});

test('a result over the cap is COPR_RESULT_TOO_LARGE', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool) => {
    const limits = { ...NO_LIMITS, maxResultBytes: 1024 };
    const err = await assertExecError(pool.exec(call(HUGE, { bytes: 100_000 }, { limits })), 'COPR_RESULT_TOO_LARGE', /over the cap of 1024 bytes/);
    assert.ok((err.stats?.runUs ?? 0) > 0, 'the failure carries the call stats');
    // Just under the cap is fine.
    assert.equal(result<string>(await pool.exec(call(HUGE, { bytes: 1000 }, { limits }))).length, 1000);
  });
});

test('a scan over the row budget is COPR_SCAN_BUDGET', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool) => {
    const limits = { ...NO_LIMITS, maxRowsScanned: 100 };
    await assertExecError(pool.exec(call(SCAN, {}, { limits })), 'COPR_SCAN_BUDGET', /more than 100 rows/);
  });
});

test('a plugin that throws is COPR_PLUGIN_ERROR with its message, and the worker keeps serving', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool) => {
    await assertExecError(pool.exec(call(THROWS, {})), 'COPR_PLUGIN_ERROR', /RangeError: plugin says no/);
    assert.equal(result<{ count: number }>(await pool.exec(call(SCAN, {}))).count, ROWS);
    assert.equal(pool.counters.workersStarted, 1);
  });
});

test('a worker gets a plugin\'s code once; a replacement worker gets it again', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool) => {
    assert.equal(result<{ count: number }>(await pool.exec(call(SCAN, {}))).count, ROWS);
    assert.equal(result<{ count: number }>(await pool.exec(call(SCAN, {}))).count, ROWS, 'the second call runs from the cached plugin');
    await assertExecError(pool.exec(call(LOOP, {}, { deadlineMs: 300 })), 'COPR_DEADLINE');
    assert.equal(pool.counters.workersStarted, 2);
    assert.equal(result<{ count: number }>(await pool.exec(call(SCAN, {}))).count, ROWS, 'the replacement worker was sent the code');
  });
});

test('a plugin whose code fails to load fails the same way on every call to the worker', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool) => {
    const broken = "throw new Error('no loading today');\nexport default {};\n";
    for (let i = 0; i < 2; i++) await assertExecError(pool.exec(call(broken, {})), 'COPR_PLUGIN_ERROR', /could not load: .*no loading today/);
    assert.equal(pool.counters.workersStarted, 1);
  });
});

test('close() rejects queued calls and the call in flight, and later calls', { timeout: 20_000 }, async () => {
  await withPool({ size: 1 }, async (pool) => {
    await pool.exec(call(SPIN, { id: 0, ms: 0 }));
    const inFlight = pool.exec(call(SPIN, { id: 1, ms: 2_000 }, { deadlineMs: 10_000 }));
    const queued = [2, 3, 4].map((id) => pool.exec(call(SPIN, { id, ms: 0 })));
    assert.equal(pool.busy, 1);
    assert.equal(pool.queued, 3);
    // Attach the expectations before close() rejects the calls.
    const failures = [...queued, inFlight].map((p) => assertExecError(p, 'COPR_WORKER_CRASH', /shutting down/));
    const started = Date.now();
    await pool.close();
    await Promise.all(failures);
    assert.ok(Date.now() - started < 1_500, 'close() does not wait for the call in flight');
    await assertExecError(pool.exec(call(SPIN, { id: 5, ms: 0 })), 'COPR_WORKER_CRASH', /closed/);
    assert.equal(pool.counters.deadlines, 0);
  });
});

/** Counts its calls in ctx.state (after spinning req.ms); returns the count, so 1 means "state not found". */
const COUNTER = plugin('counter', "    const until = Date.now() + (req.ms ?? 0);\n    while (Date.now() < until) {}\n    const n = (ctx.state.get<number>('n') ?? 0) + 1;\n    ctx.state.set('n', n, 8);\n    return n;");
const inSession = (regionId: number, ms = 0): ExecRequest => call(COUNTER, { ms }, { state: { session: 's1', regionId, epoch: 1, dataVersion: 0 } });

test("a session's calls for a region all reach the worker holding its state", { timeout: 20_000 }, async () => {
  await withPool({ size: 2 }, async (pool) => {
    await untilWorkersReady(pool, 2);
    // Fired together, so without affinity they would spread over both workers and each count from 1.
    const counts = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.exec(inSession(1 + (i % 2)))));
    assert.deepEqual(counts.map((o) => result<number>(o)).sort((a, b) => a - b), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
    assert.equal(result<number>(await pool.exec(call(COUNTER, {}))), 1, 'a call without a session keeps nothing');
    const state = pool.state;
    assert.equal(state.entries, 2);
    assert.equal(state.counters.hits, 10);
  });
});

test("a session call waits for its worker while a call behind it takes the other one", { timeout: 20_000 }, async () => {
  await withPool({ size: 2 }, async (pool) => {
    await untilWorkersReady(pool, 2);
    await pool.exec(inSession(7)); // region 7's state now lives on one worker
    const order: string[] = [];
    const first = pool.exec(inSession(7, 300)).then(() => order.push('first'));
    const second = pool.exec(inSession(7)).then((o) => order.push(`second:${result<number>(o)}`));
    const other = pool.exec(call(SPIN, { id: 'x', ms: 0 })).then(() => order.push('other'));
    await Promise.all([first, second, other]);
    assert.deepEqual(order, ['other', 'first', 'second:3']);
  });
});

test('a state over its worker share is refused with COPR_STATE_TOO_LARGE and the worker keeps serving', { timeout: 20_000 }, async () => {
  const BIG = plugin('big', "    ctx.state.set('big', new Float64Array(200_000));\n    return 1;");
  await withPool({ size: 2, stateMb: 2 }, async (pool) => {
    const req = call(BIG, {}, { state: { session: 's', regionId: 1, epoch: 1, dataVersion: 0 } });
    await assertExecError(pool.exec(req), 'COPR_STATE_TOO_LARGE', /1\.5 MiB is larger than the whole state quota of 1\.0 MiB \(this worker's share of the node's state quota: --copr-state-mb 2 over 2 plugin workers/);
    assert.equal(result<number>(await pool.exec(inSession(1))), 1);
    assert.equal(pool.state.counters.refusals, 1);
  });
});
