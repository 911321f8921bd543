/**
 * Answers on a real 3-node Redis Cluster: the Lua functions (pushdown) and the TypeScript plugins
 * run client-side over rows fetched from Redis (fetch) give the same answers, and both equal the
 * plugin run in this process over the same generated rows, without Redis.
 *
 * Exactness: both Redis paths and the in-process reference cut the rows into the same units and
 * merge the partials in the same order, and the Lua code does the plugins' floating-point
 * operations in the same order on the same doubles, so those three answers must be identical to
 * the last bit (compared as JSON, whose number format round-trips every double). A single-pass
 * run (all rows in one `handle`, like one copbench region) adds in another order: counts, rows,
 * groups, min and max must still be identical; sum, avg and stddev may differ by reordering alone,
 * so they are compared to a relative 1e-12 (the largest measured here is 2e-15; one row more or
 * less would move a sum by more than 1e-8 of it, and changes the count anyway).
 *
 * Streamed answers: the backend's runner (RedisCoprocessor) hands a filter's rows to onRows unit by
 * unit in key order, and they with the rest are the unstreamed answer; while an early unit's node is
 * paused, later units run only up to the runner's window, so it holds a bounded number of them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pack, unpack } from 'msgpackr';
import { CheckedStorage } from '../../../engine/coprocessor/checked-storage';
import { NO_STATE, SAMPLE_SCHEMA, type KV, type Plugin } from '../../../engine/plugin-api';
import { syntheticRows } from '../../datasets/synthetic';
import aggregate, { type AggregateRequest, type GroupResult } from '../../../plugins/aggregate';
import filter, { type FilterRequest, type FilterResult } from '../../../plugins/filter';
import sgd, { type SgdRequest, type SgdResult } from '../../../plugins/sgd';
import { RedisClusterClient } from './cluster-client';
import { RedisCoprocessor } from './coprocessor';
import { fetchUnitRows, handleRows, runClientSide, unitRange } from './fetch';
import { loadFunctions, type LoadedFunctions } from './functions';
import { planLayout, workUnits, type WorkUnit } from './layout';
import { RedisCluster } from './launcher';
import { loadRedisRows } from './loader';
import { readNodeStats } from './node-stats';
import { diffNodeStats } from '../../driver/metrics/node-stats';
import { runPushdown } from './pushdown';

const ROWS = 3000;
const BUCKETS = 8;
/** Not a divisor of the bucket size, so buckets end in a short slice. */
const SLICE_ROWS = 128;
const dataset = { rows: ROWS, seed: 19, valueBytes: 48, categories: 7 };
const rows: KV[] = [...syntheticRows(dataset)];
const layout = planLayout(ROWS, BUCKETS);
const units: WorkUnit[] = workUnits(layout, SLICE_ROWS);

let cluster: RedisCluster;
let client: RedisClusterClient;
let functions: LoadedFunctions;

before(async () => {
  cluster = await RedisCluster.start({ nodes: 3 });
  client = await RedisClusterClient.connect(cluster.addresses);
  await loadRedisRows(client, syntheticRows(dataset), { totalRows: ROWS, buckets: BUCKETS, batchRows: 200 });
  functions = await loadFunctions(client);
});

after(async () => {
  client?.close();
  await cluster?.stop();
});

const filterRequests: Array<[string, FilterRequest]> = [
  ...filter.examples!.map((e): [string, FilterRequest] => [e.name, e.request]),
  ['rows with a limit that ends inside the third unit', { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>=', value: 100 }], limit: 300 }],
  ['every row', { schema: SAMPLE_SCHEMA, where: [] }],
  ['count of id != 7 and quantity > 4', { schema: SAMPLE_SCHEMA, where: [{ column: 'id', op: '!=', value: 7 }, { column: 'quantity', op: '>', value: 4 }], output: 'count' }],
];

const aggregateRequests: Array<[string, AggregateRequest]> = [
  ...aggregate.examples!.map((e): [string, AggregateRequest] => [e.name, e.request]),
  ['amount by quantity (numeric groups, no modulo)', { schema: SAMPLE_SCHEMA, column: 'amount', groupBy: 'quantity' }],
  ['flag (bool as 0/1) by category where quantity < 3', { schema: SAMPLE_SCHEMA, column: 'flag', groupBy: 'category', where: [{ column: 'quantity', op: '<', value: 3 }] }],
  ['id by amount (a group per distinct f64)', { schema: SAMPLE_SCHEMA, column: 'id', groupBy: 'amount' }],
];

/** The plugin in this process over the generated rows, cut into the same units, merged in order. */
async function inProcessByUnits<Req, P, R>(plugin: Plugin<Req, P, R>, request: Req): Promise<R> {
  const parts: P[] = [];
  let ordinal = 0;
  for (const unit of units) {
    const size = unit.stopRank - unit.startRank + 1;
    parts.push(await handleRows(plugin, request, rows.slice(ordinal, ordinal + size)));
    ordinal += size;
  }
  assert.equal(ordinal, ROWS);
  return plugin.merge(parts, request);
}

/** The plugin over every row in one `handle` call (one region), as copbench runs a one-region table. */
async function inProcessOnePass<Req, P, R>(plugin: Plugin<Req, P, R>, request: Req): Promise<R> {
  const ranges = [unitRange(rows)];
  const storage = new CheckedStorage({ get: () => undefined, scanBatches: () => [rows] }, ranges, false, { maxRowsScanned: Infinity, maxBytesScanned: Infinity });
  const partial = await plugin.handle(unpack(pack(request)) as Req, { ranges, storage, signal: new AbortController().signal, where: 'node', state: NO_STATE });
  return plugin.merge([unpack(pack(partial)) as P], request);
}

const json = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v));

test('the layout keeps key order: the units read back in order are the generated rows', async () => {
  const back: KV[] = [];
  for (const unit of units) back.push(...(await fetchUnitRows(client, unit)).rows);
  assert.equal(back.length, ROWS);
  for (let i = 0; i < ROWS; i++) {
    assert.ok(Buffer.from(back[i]!.key).equals(Buffer.from(rows[i]!.key)), `key ${i}`);
    assert.ok(Buffer.from(back[i]!.value).equals(Buffer.from(rows[i]!.value)), `value ${i}`);
  }
});

for (const [name, request] of filterRequests) {
  test(`filter (${name}): pushdown == fetch == in-process, exactly`, async () => {
    const pushed = await runPushdown(client, filter, request, units);
    const fetched = await runClientSide(client, filter, request, units);
    const byUnits = await inProcessByUnits(filter, request);
    const onePass = await inProcessOnePass(filter, request);
    assert.equal(json(pushed.result), json(fetched.result));
    assert.equal(json(fetched.result), json(byUnits));
    assert.equal(json(byUnits), json(onePass), 'filter has no floating-point state: one pass is identical too');
    assert.ok(request.output === 'count' || pushed.result.rows !== undefined);
  });
}

for (const [name, request] of aggregateRequests) {
  test(`aggregate (${name}): pushdown == fetch == in-process, exactly; one pass within 1e-12`, async () => {
    const pushed = await runPushdown(client, aggregate, request, units);
    const fetched = await runClientSide(client, aggregate, request, units);
    const byUnits = await inProcessByUnits(aggregate, request);
    assert.equal(json(pushed.result), json(fetched.result));
    assert.equal(json(fetched.result), json(byUnits));
    assert.ok(pushed.result.length > 0);
    assertClose(byUnits, await inProcessOnePass(aggregate, request));
  });
}

const sgdRequests: Array<[string, SgdRequest]> = [
  ...sgd.examples!.map((e): [string, SgdRequest] => [e.name, e.request]),
  ['linear on scaled features with l2', { schema: SAMPLE_SCHEMA, features: ['quantity', 'flag', 'id'], target: 'amount', scale: { offset: [4.5, 0.33, 1500], factor: [0.35, 2.1, 0.001] }, task: 'linear', weights: [3, -2, 0.5], bias: 400, l2: 0.1 }],
];

for (const [name, request] of sgdRequests) {
  const exact = request.task === 'linear';
  test(`sgd (${name}): pushdown ${exact ? '== fetch, exactly' : 'vs fetch: n and accuracy exact, sums within 1e-12'}; fetch == in-process, exactly`, async () => {
    const pushed = await runPushdown(client, sgd, request, units);
    const fetched = await runClientSide(client, sgd, request, units);
    assert.equal(json(fetched.result), json(await inProcessByUnits(sgd, request)));
    if (exact) assert.equal(json(pushed.result), json(fetched.result));
    else assertSgdClose(pushed.result, fetched.result);
    assert.equal(pushed.result.n, ROWS);
  });
}

/**
 * Logistic sgd calls exp and log1p: Lua gets them from the C library, V8 from its fdlibm port, and
 * the two may round a result differently in the last bit; a row's terms are then off by an ulp or
 * so, and a sum of n of them by at most ~n ulps of the largest term. 1e-12 relative (to the sum of
 * magnitudes' scale, max(1, |x|, |y|)) is far above that and far below a wrong row. (On this
 * data the two are in fact identical to the last bit; the tolerance is for libm differences, not
 * for a known gap.)
 */
function assertSgdClose(a: SgdResult, b: SgdResult): void {
  assert.equal(a.n, b.n);
  assert.equal(a.accuracy, b.accuracy);
  const pairs: Array<[string, number, number]> = [['loss', a.loss, b.loss], ['gradientBias', a.gradientBias, b.gradientBias], ...a.gradient.map((g, j): [string, number, number] => [`gradient[${j}]`, g, b.gradient[j]!])];
  for (const [field, x, y] of pairs) assert.ok(Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(x), Math.abs(y)), `${field}: ${x} vs ${y}`);
}

function assertClose(a: GroupResult[], b: GroupResult[]): void {
  assert.deepEqual(
    a.map((g) => [g.group, g.count, g.min, g.max]),
    b.map((g) => [g.group, g.count, g.min, g.max]),
  );
  for (let i = 0; i < a.length; i++) {
    for (const field of ['sum', 'avg', 'stddev'] as const) {
      const x = a[i]![field];
      const y = b[i]![field];
      assert.ok(Math.abs(x - y) <= 1e-12 * Math.max(Math.abs(x), Math.abs(y)), `group ${a[i]!.group} ${field}: ${x} vs ${y}`);
    }
  }
}

test('a request the Lua twin cannot answer exactly is refused with the reason, not answered differently', async () => {
  const request: FilterRequest = { schema: SAMPLE_SCHEMA, where: [{ column: 'category', op: '<', value: 'c3' }], output: 'count' };
  await assert.rejects(runPushdown(client, filter, request, units), /not supported.*locale/);
  await assert.rejects(runPushdown(client, filter, { ...request, where: [{ column: 'amount', op: '>', value: '500' }] }, units), /needs a number value/);
});

test('node stats from INFO: fetching a count moves every row out of the nodes, pushing it down a few bytes a unit', async () => {
  const request: FilterRequest = { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: 500 }], output: 'count' };
  const t0 = await readNodeStats(client);
  await runClientSide(client, filter, request, units);
  const t1 = await readNodeStats(client);
  await runPushdown(client, filter, request, units);
  const t2 = await readNodeStats(client);
  const out = (stats: ReturnType<typeof diffNodeStats>): number => stats.reduce((n, s) => n + s.netOutBytes, 0);
  const fetchOut = out(diffNodeStats(t0, t1));
  const pushOut = out(diffNodeStats(t1, t2));
  const rowBytes = rows.reduce((n, r) => n + r.key.length + r.value.length, 0);
  assert.ok(fetchOut >= rowBytes, `fetch sent ${fetchOut} bytes, the rows are ${rowBytes}`);
  assert.ok(pushOut < fetchOut / 20, `pushdown sent ${pushOut} bytes, fetch ${fetchOut}`);
  for (const s of diffNodeStats(t0, t2)) assert.ok(s.cpuUserUs + s.cpuSysUs >= 0 && s.netInBytes > 0, JSON.stringify(s));
});

/** Calls of `command` (lower case, as INFO commandstats names it) each of `nodes` has served. */
async function commandCalls(nodes: readonly string[], command: string): Promise<number> {
  let calls = 0;
  for (const node of nodes) {
    const info = String(await client.callNode(node, ['INFO', 'commandstats']));
    calls += Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  }
  return calls;
}

test('the runner streams rows unit by unit in key order, equal to the unstreamed answer, and holds at most its window of units while an earlier one is held up', async () => {
  // The first unit's node is paused (CLIENT PAUSE ALL: it serves nobody until the pause ends) and
  // every later unit of the call is on another node, so nothing stops those but the runner's window.
  const paused = client.ownerOf(units[0]!.slot);
  const others = [...new Set(units.map((u) => client.ownerOf(u.slot)))].filter((node) => node !== paused);
  const callUnits = [units[0]!, ...units.filter((u) => client.ownerOf(u.slot) !== paused)];
  const concurrency = 2;
  const window = 2 * concurrency; // Partials.forCall: twice the call's concurrency
  assert.ok(callUnits.length > 2 * window, `${callUnits.length} units: more than the window can hold`);
  const runner = new RedisCoprocessor(client, () => ({ layout, units: callUnits, functions, busyThresholdMs: 0 }));
  const request: FilterRequest = { schema: SAMPLE_SCHEMA, where: [] };
  const callRows = callUnits.reduce((n, u) => n + u.stopRank - u.startRank + 1, 0);
  for (const [mode, command] of [['pushdown', 'fcall_ro'], ['client', 'zrange']] as const) {
    const whole = await runner.run<FilterRequest, FilterResult>({ plugin: 'filter', request, mode, concurrency });
    assert.equal(whole.streamed, null);
    assert.equal(whole.result.rows!.length, callRows);

    const batches: unknown[][] = [];
    const before = await commandCalls(others, command);
    await client.callNode(paused, ['CLIENT', 'PAUSE', '1500', 'ALL']);
    const running = runner.run<FilterRequest, FilterResult>({ plugin: 'filter', request, mode, concurrency, onRows: (rows) => batches.push(rows) });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const ranMeanwhile = (await commandCalls(others, command)) - before;
    const handedOverMeanwhile = batches.length;
    const streamed = await running;
    assert.equal(handedOverMeanwhile, 0, `${mode}: nothing is handed over before the first unit`);
    assert.ok(ranMeanwhile >= 1 && ranMeanwhile <= window - 1, `${mode}: ${ranMeanwhile} later units ran while the first waited; the window allows ${window - 1}`);
    assert.equal(batches.length, callUnits.length, `${mode}: one hand-over per unit`);
    const rows = batches.flat() as Array<[Uint8Array, Uint8Array]>;
    assert.deepEqual(streamed.streamed && { field: streamed.streamed.field, rows: streamed.streamed.rows }, { field: 'rows', rows: callRows });
    assert.equal(streamed.result.rows!.length, callRows, `${mode}: the answer keeps a placeholder of the rows' count`);
    assert.equal(json({ ...streamed.result, rows }), json(whole.result), `${mode}: the streamed rows and the rest are the unstreamed answer`);
    for (let i = 1; i < rows.length; i++) assert.ok(Buffer.compare(Buffer.from(rows[i - 1]![0]), Buffer.from(rows[i]![0])) < 0, `${mode}: row ${i} is after row ${i - 1} in key order`);
  }
});
