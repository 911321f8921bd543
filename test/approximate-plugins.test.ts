/**
 * The topk, project, quantiles and distinct plugins, run in this process (runPluginInMemory: the
 * same handle/msgpack/merge path as client mode) over 50 000 synthetic rows split into 7 uneven
 * regions, checked against exact answers computed here: quantiles within their stated relative
 * error, distinct within 3 standard errors, topk and project exactly; and the answers do not
 * depend on the partition into regions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadPluginSource, type LoadedPlugin } from '../engine/coprocessor/loader';
import { RecordCodec, SAMPLE_SCHEMA, compareBytes, type DataRecord, type KV, type Schema } from '../engine/plugin-api';
import { SeededRandom } from '../engine/util/seeded-random';
import { syntheticCodec, syntheticKey, syntheticRows } from '../workloads/datasets/synthetic';
import { runPluginInMemory, type InMemoryRegion } from '../workloads/driver/in-memory-plugin';
import type { QuantilesResult } from '../plugins/quantiles';
import type { DistinctResult } from '../plugins/distinct';
import type { TopkResult } from '../plugins/topk';
import type { ProjectResult } from '../plugins/project';

const ROWS = 50_000;
/** Region boundaries (row ids): 7 uneven regions, one tiny. */
const BOUNDARIES = [1200, 9000, 9100, 21000, 33000, 47000];

function load(name: string): LoadedPlugin {
  const file = path.join(__dirname, '..', 'plugins', `${name}.ts`);
  return loadPluginSource(readFileSync(file, 'utf8'), path.basename(file));
}

const quantiles = load('quantiles');
const distinct = load('distinct');
const topk = load('topk');
const project = load('project');

const rows: KV[] = [...syntheticRows({ rows: ROWS, seed: 11, valueBytes: 64 })];
const records: DataRecord[] = rows.map((r) => syntheticCodec.decode(r.value));
const rowIndex = new Map(rows.map((r, i) => [Buffer.from(r.key).toString(), i]));

/** Rows (in key order) split at the given row indexes into regions of 1000-row batches. */
function regionsOf(all: KV[], cuts: number[]): InMemoryRegion[] {
  const bounds = [0, ...cuts, all.length];
  const regions: InMemoryRegion[] = [];
  for (let r = 0; r + 1 < bounds.length; r++) {
    const lo = bounds[r]!;
    const hi = bounds[r + 1]!;
    const batches: KV[][] = [];
    for (let i = lo; i < hi; i += 1000) batches.push(all.slice(i, Math.min(i + 1000, hi)));
    regions.push({ range: { start: r === 0 ? new Uint8Array(0) : all[lo]!.key, end: hi === all.length ? new Uint8Array(0) : all[hi]!.key }, batches });
  }
  return regions;
}

const oneRegion = regionsOf(rows, []);
const sevenRegions = regionsOf(rows, BOUNDARIES);

async function run<T>(plugin: LoadedPlugin, request: unknown, regions = sevenRegions): Promise<T> {
  return (await runPluginInMemory<T>(plugin, request, regions)).result;
}

// ---- quantiles ---------------------------------------------------------------------------------


const QS = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1];

/** The plugin's guarantee: within alpha·|x| of the rank-floor(q(n−1)) order statistic (1e-12 absolute near 0). */
function assertWithinBound(result: QuantilesResult, values: number[], alpha: number): void {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  assert.equal(result.count, n);
  assert.equal(result.min, sorted[0]);
  assert.equal(result.max, sorted[n - 1]);
  for (const { q, value } of result.quantiles) {
    const exact = sorted[Math.floor(q * (n - 1))]!;
    assert.ok(value !== null);
    const bound = Math.abs(exact) >= 1e-12 ? alpha * Math.abs(exact) * (1 + 1e-9) : 1e-12;
    assert.ok(Math.abs(value - exact) <= bound, `q=${q}: ${value} vs exact ${exact} (error ${Math.abs(value - exact)}, bound ${bound})`);
  }
}

test('quantiles of amount are within relative error alpha of the exact order statistics', async () => {
  const amounts = records.map((r) => r.amount as number);
  for (const alpha of [0.05, 0.01, 0.001]) {
    const result = await run<QuantilesResult>(quantiles, { schema: SAMPLE_SCHEMA, column: 'amount', quantiles: QS, alpha });
    assert.equal(result.alpha, alpha);
    assertWithinBound(result, amounts, alpha);
  }
});

test('quantiles with a where clause sketch only the matching rows', async () => {
  const matching = records.filter((r) => r.category === 'c4' && (r.quantity as number) >= 5).map((r) => r.amount as number);
  const result = await run<QuantilesResult>(quantiles, { schema: SAMPLE_SCHEMA, column: 'amount', quantiles: QS, where: [{ column: 'category', op: '==', value: 'c4' }, { column: 'quantity', op: '>=', value: 5 }] });
  assertWithinBound(result, matching, 0.01);
});

/** A skewed column over many magnitudes, with negatives, exact zeros, tiny values and integers. */
const SKEW_SCHEMA: Schema = { name: 'skewed', columns: [{ name: 'id', type: 'u32' }, { name: 'x', type: 'f64' }, { name: 'n', type: 'i32' }] };
const skewCodec = new RecordCodec(SKEW_SCHEMA);
const skewRecords: DataRecord[] = (() => {
  const random = new SeededRandom(3);
  const out: DataRecord[] = [];
  for (let id = 0; id < 30_000; id++) {
    const u = random.next();
    // Log-uniform magnitudes from 1e-6 to 1e9, 30% negative, 10% exact zeros, 2% below the zero threshold.
    let x = Math.pow(10, -6 + 15 * random.next()) * (random.next() < 0.3 ? -1 : 1);
    if (u < 0.1) x = 0;
    else if (u < 0.12) x = (random.next() - 0.5) * 1e-13;
    // Integers from −1e5 to 1e5, log-uniform in magnitude, 10% zeros.
    const n = random.next() < 0.1 ? 0 : Math.round(Math.pow(10, 5 * random.next())) * (random.next() < 0.5 ? -1 : 1);
    out.push({ id, x, n });
  }
  return out;
})();
const skewRows: KV[] = skewRecords.map((r) => ({ key: syntheticKey(r.id as number), value: skewCodec.encode(r) }));

test('quantiles of a skewed column with negatives, zeros and tiny values stay within the bound', async () => {
  // x spans 21 orders of magnitude: at alpha 1e-4 its buckets outgrow the dense store (the Map path).
  for (const column of ['x', 'n']) {
    for (const alpha of [0.02, 0.001, 0.0001]) {
      const result = await run<QuantilesResult>(quantiles, { schema: SKEW_SCHEMA, column, quantiles: [...QS, 0.05, 0.3, 0.35, 0.6], alpha }, regionsOf(skewRows, [5000, 5001, 17000]));
      assertWithinBound(result, skewRecords.map((r) => r[column] as number), alpha);
    }
  }
});

test('quantiles of values arriving in descending order (the dense store growing downwards) stay within the bound', async () => {
  // 1e9 down to 1e4 over 40 000 rows: ~57 000 buckets at alpha 1e-4, nearly one new lowest bucket per row.
  const values = Array.from({ length: 40_000 }, (_, id) => 1e9 * Math.pow(10, (-5 * id) / 40_000));
  const descending = values.map((x, id) => ({ key: syntheticKey(id), value: skewCodec.encode({ id, x, n: -1 - id }) }));
  for (const [column, alpha] of [['x', 0.0001], ['n', 0.001]] as const) {
    const result = await run<QuantilesResult>(quantiles, { schema: SKEW_SCHEMA, column, quantiles: QS, alpha }, regionsOf(descending, [20_000]));
    assertWithinBound(result, column === 'x' ? values : values.map((_, id) => -1 - id), alpha);
  }
});

test('quantiles do not depend on the partition into regions', async () => {
  const cases: Array<[Schema, string, KV[], number[]]> = [
    [SAMPLE_SCHEMA, 'amount', rows, BOUNDARIES],
    [SKEW_SCHEMA, 'x', skewRows, [10, 7000, 29_000]],
  ];
  for (const [schema, column, all, cuts] of cases) {
    const request = { schema, column, quantiles: QS, alpha: 0.01 };
    assert.deepEqual(await run(quantiles, request, regionsOf(all, cuts)), await run(quantiles, request, regionsOf(all, [])));
  }
});

test('quantiles partials are compact: a few hundred buckets for 50 000 amounts', async () => {
  const { partBytes } = await runPluginInMemory(quantiles, { schema: SAMPLE_SCHEMA, column: 'amount' }, oneRegion);
  // amount spans 0.01..1000: log(1e5) / log(1.0202) ≈ 576 buckets, ~3 bytes each.
  assert.ok(partBytes[0]! < 3000, `partial of ${partBytes[0]} bytes`);
});

test('quantiles of no rows are null and an invalid request is a clear error', async () => {
  const empty = await run<QuantilesResult>(quantiles, { schema: SAMPLE_SCHEMA, column: 'amount', where: [{ column: 'amount', op: '<', value: -1 }] });
  assert.deepEqual(empty, { count: 0, alpha: 0.01, quantiles: [0.5, 0.9, 0.99].map((q) => ({ q, value: null })), min: null, max: null, ignored: 0 });
  await assert.rejects(run(quantiles, { schema: SAMPLE_SCHEMA, column: 'amount', alpha: 0 }), /alpha must be a number in \[0.0001, 0.5\]/);
  await assert.rejects(run(quantiles, { schema: SAMPLE_SCHEMA, column: 'amount', quantiles: [1.5] }), /each quantile must be a number in \[0, 1\]/);
  await assert.rejects(run(quantiles, { schema: SAMPLE_SCHEMA, column: 'category' }), /no numeric column 'category'/);
});

// ---- distinct ----------------------------------------------------------------------------------


test('distinct counts of id, category, amount, quantity and flag are within 3 standard errors', async () => {
  for (const column of ['id', 'category', 'amount', 'quantity', 'flag']) {
    const exact = new Set(records.map((r) => r[column])).size;
    for (const precision of [10, 12, 16]) {
      const result = await run<DistinctResult>(distinct, { schema: SAMPLE_SCHEMA, column, precision });
      assert.equal(result.precision, precision);
      assert.equal(result.count, ROWS);
      assert.equal(result.standardError, 1.04 / Math.sqrt(2 ** precision));
      const error = Math.abs(result.estimate - exact) / exact;
      assert.ok(error <= 3 * result.standardError, `${column} p=${precision}: estimate ${result.estimate} vs exact ${exact} (relative error ${error.toFixed(4)})`);
    }
  }
});

test('distinct counts only rows matching the where clause', async () => {
  const matching = records.filter((r) => r.category === 'c2');
  const exact = new Set(matching.map((r) => r.amount)).size;
  const result = await run<DistinctResult>(distinct, { schema: SAMPLE_SCHEMA, column: 'amount', where: [{ column: 'category', op: '==', value: 'c2' }] });
  assert.equal(result.count, matching.length);
  assert.ok(Math.abs(result.estimate - exact) / exact <= 3 * result.standardError, `${result.estimate} vs ${exact}`);
});

test('distinct does not depend on the partition into regions', async () => {
  for (const column of ['id', 'category', 'amount']) {
    const request = { schema: SAMPLE_SCHEMA, column };
    assert.deepEqual(await run(distinct, request, sevenRegions), await run(distinct, request, oneRegion));
  }
});

test('distinct partials are the 2^precision registers', async () => {
  const { parts } = await runPluginInMemory(distinct, { schema: SAMPLE_SCHEMA, column: 'id', precision: 10 }, sevenRegions);
  for (const part of parts as Array<{ registers: Uint8Array }>) assert.equal(part.registers.length, 1024);
});

test('distinct rejects a precision outside 4..16 and an unknown column', async () => {
  await assert.rejects(run(distinct, { schema: SAMPLE_SCHEMA, column: 'id', precision: 17 }), /precision must be an integer from 4 to 16/);
  await assert.rejects(run(distinct, { schema: SAMPLE_SCHEMA, column: 'nope' }), /has no column 'nope'/);
});

// ---- topk --------------------------------------------------------------------------------------


/** The exact top k by sorting: value (desc or asc), then key ascending. */
function exactTopk(all: KV[], read: (r: DataRecord) => number, k: number, order: 'desc' | 'asc', keep: (r: DataRecord) => boolean = () => true): Array<{ key: string; value: number }> {
  const sign = order === 'desc' ? 1 : -1;
  return all
    .map((row, i) => ({ row, record: records[i]! }))
    .filter(({ record }) => keep(record))
    .sort((a, b) => sign * (read(b.record) - read(a.record)) || compareBytes(a.row.key, b.row.key))
    .slice(0, k)
    .map(({ row, record }) => ({ key: Buffer.from(row.key).toString(), value: read(record) }));
}

function simplify(result: TopkResult): Array<{ key: string; value: number }> {
  return result.rows.map(([key], i) => ({ key: Buffer.from(key).toString(), value: result.values[i]! }));
}

test('topk equals the exact top k by sorting, ties broken by key', async () => {
  const cases = [
    { request: { column: 'amount', k: 100 }, read: (r: DataRecord) => r.amount as number, order: 'desc' as const },
    { request: { column: 'amount', k: 1000, order: 'asc' }, read: (r: DataRecord) => r.amount as number, order: 'asc' as const },
    { request: { column: 'quantity', k: 7000, order: 'asc' }, read: (r: DataRecord) => r.quantity as number, order: 'asc' as const },
    { request: { column: 'quantity', k: 300 }, read: (r: DataRecord) => r.quantity as number, order: 'desc' as const },
  ];
  for (const c of cases) {
    const result = await run<TopkResult>(topk, { schema: SAMPLE_SCHEMA, ...c.request });
    assert.equal(result.matched, ROWS);
    assert.deepEqual(simplify(result), exactTopk(rows, c.read, c.request.k, c.order), JSON.stringify(c.request));
    for (const [key, value] of result.rows) assert.ok(Buffer.from(value).equals(rows[rowIndex.get(Buffer.from(key).toString())!]!.value), 'the row value comes with its key');
  }
});

test('topk with a where clause ranks only the matching rows and returns all of them when k is larger', async () => {
  const keep = (r: DataRecord): boolean => r.flag === true && r.category === 'c1';
  const matching = records.filter(keep).length;
  const result = await run<TopkResult>(topk, { schema: SAMPLE_SCHEMA, column: 'id', k: 100_000, where: [{ column: 'flag', op: '==', value: true }, { column: 'category', op: '==', value: 'c1' }] });
  assert.equal(result.matched, matching);
  assert.equal(result.rows.length, matching);
  assert.deepEqual(simplify(result), exactTopk(rows, (r) => r.id as number, 100_000, 'desc', keep));
});

test('topk does not depend on the partition into regions', async () => {
  const request = { schema: SAMPLE_SCHEMA, column: 'quantity', k: 2500 };
  assert.deepEqual(await run(topk, request, sevenRegions), await run(topk, request, oneRegion));
});

test('topk rejects a bad k, a bad order and a non-numeric column', async () => {
  for (const k of [0, 1.5, 1_000_001, '10']) await assert.rejects(run(topk, { schema: SAMPLE_SCHEMA, column: 'amount', k }), /k must be an integer from 1 to 1000000/);
  await assert.rejects(run(topk, { schema: SAMPLE_SCHEMA, column: 'amount', k: 1, order: 'up' }), /order must be 'desc' or 'asc'/);
  await assert.rejects(run(topk, { schema: SAMPLE_SCHEMA, column: 'category', k: 1 }), /no numeric column 'category'/);
});

// ---- project -----------------------------------------------------------------------------------


test('project returns exactly the named columns of the matching rows, in key order', async () => {
  const keep = (r: DataRecord): boolean => (r.quantity as number) <= 2;
  const expected = rows.map((row, i) => ({ row, record: records[i]! })).filter(({ record }) => keep(record));
  for (const columns of [['amount'], ['category', 'flag'], 'id, amount,quantity,flag,category']) {
    const result = await run<ProjectResult>(project, { schema: SAMPLE_SCHEMA, columns, where: [{ column: 'quantity', op: '<=', value: 2 }] });
    const names = typeof columns === 'string' ? columns.split(',').map((c) => c.trim()) : columns;
    assert.equal(result.count, expected.length);
    assert.deepEqual(Object.keys(result.columns), names);
    assert.deepEqual(result.keys.map((k) => Buffer.from(k).toString()), expected.map(({ row }) => Buffer.from(row.key).toString()));
    for (const name of names) assert.deepEqual(result.columns[name], expected.map(({ record }) => record[name]), name);
  }
});

test('project with a limit keeps the first rows in key order and counts every match', async () => {
  for (const limit of [0, 1, 1199, 1201, 9050, ROWS + 1]) {
    const result = await run<ProjectResult>(project, { schema: SAMPLE_SCHEMA, columns: ['id'], limit });
    assert.equal(result.count, ROWS);
    assert.deepEqual(result.columns.id, records.slice(0, limit).map((r) => r.id));
  }
});

test('project ships fewer bytes than the rows it reads', async () => {
  const { partBytes } = await runPluginInMemory(project, { schema: SAMPLE_SCHEMA, columns: 'amount' }, oneRegion);
  const rowBytes = rows.reduce((n, r) => n + r.key.length + r.value.length, 0);
  assert.ok(partBytes[0]! < rowBytes / 2, `${partBytes[0]} bytes of partial vs ${rowBytes} bytes of rows`);
});

test('project rejects an unknown column, an empty column list, a repeated column and a bad limit', async () => {
  await assert.rejects(run(project, { schema: SAMPLE_SCHEMA, columns: ['amount', 'price'] }), /has no column 'price'/);
  await assert.rejects(run(project, { schema: SAMPLE_SCHEMA, columns: [] }), /columns must name at least one column/);
  await assert.rejects(run(project, { schema: SAMPLE_SCHEMA, columns: ' , ' }), /columns must name at least one column/);
  await assert.rejects(run(project, { schema: SAMPLE_SCHEMA, columns: 'id,id' }), /column 'id' is named twice/);
  await assert.rejects(run(project, { schema: SAMPLE_SCHEMA, columns: ['id'], limit: -1 }), /limit must be a non-negative integer/);
});

// ---- cost hints --------------------------------------------------------------------------------

test('cost hints: scan-only requests run with a result no larger than the request, result-heavy ones with a larger one', async () => {
  const requests: Array<[LoadedPlugin, Record<string, unknown>]> = [
    [topk, { schema: SAMPLE_SCHEMA, column: 'amount', k: 100 }],
    [project, { schema: SAMPLE_SCHEMA, columns: 'amount,quantity' }],
    [quantiles, { schema: SAMPLE_SCHEMA, column: 'amount' }],
    [distinct, { schema: SAMPLE_SCHEMA, column: 'id' }],
  ];
  const bytes = async (plugin: LoadedPlugin, request: unknown): Promise<number> => (await runPluginInMemory(plugin, request, sevenRegions)).partBytes.reduce((a, b) => a + b, 0);
  for (const [plugin, request] of requests) {
    const cost = plugin.plugin.cost!;
    const base = await bytes(plugin, request);
    const scanOnly = cost.scanOnly!(request);
    assert.ok(scanOnly !== null && (await bytes(plugin, scanOnly)) <= base, `${plugin.artifact.name} scan-only`);
    const heavy = cost.resultHeavy!(request);
    if (heavy !== null) assert.ok((await bytes(plugin, heavy)) > base, `${plugin.artifact.name} result-heavy`);
  }
});

test('cost hints: partial growth of topk and project is linear up to k or limit, then fixed', async () => {
  const topkCost = topk.plugin.cost!;
  const small = await runPluginInMemory(topk, { schema: SAMPLE_SCHEMA, column: 'amount', k: 2000 }, sevenRegions);
  // The tiny region (100 rows) holds fewer than k rows: linear, capped at k; the others are full: fixed size.
  assert.deepEqual(topkCost.partialItems!(small.parts[2], { schema: SAMPLE_SCHEMA, column: 'amount', k: 2000 }), { items: 100, scaling: 'linear', upperBound: 2000 });
  assert.deepEqual(topkCost.partialItems!(small.parts[1], { schema: SAMPLE_SCHEMA, column: 'amount', k: 2000 }), { items: 0, scaling: 'linear' });
  const projected = await runPluginInMemory(project, { schema: SAMPLE_SCHEMA, columns: 'amount' }, sevenRegions);
  assert.deepEqual(project.plugin.cost!.partialItems!(projected.parts[0], { schema: SAMPLE_SCHEMA, columns: 'amount' }), { items: 1200, scaling: 'linear' });
  const sketch = await runPluginInMemory(quantiles, { schema: SAMPLE_SCHEMA, column: 'amount' }, oneRegion);
  const growth = quantiles.plugin.cost!.partialItems!(sketch.parts[0], { schema: SAMPLE_SCHEMA, column: 'amount' });
  assert.equal(growth.scaling, 'distinct');
  assert.equal(growth.frequencies!.reduce((a, b) => a + b, 0), ROWS - records.filter((r) => r.amount === 0).length);
});
