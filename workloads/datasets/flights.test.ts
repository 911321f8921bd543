import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { FLIGHTS_SCHEMA, FLIGHTS_TOTAL_ROWS, flightsCodec, flightsFile, flightsRows, readFlights, type Flight } from './flights';
import { datasetSchema } from './catalog';
import { queryWorkload } from '../families/query/requests';
import { SAMPLE_SCHEMA } from '../../engine/plugin-api';
import { loadSpec, SpecError, validateSpec } from '../spec';

async function firstRows(rows: number): Promise<Flight[]> {
  const out: Flight[] = [];
  for await (const batch of readFlights({ rows })) out.push(...batch);
  return out;
}

const JAN_1_2001 = Date.UTC(2001, 0, 1);
const JUL_1_2001 = Date.UTC(2001, 6, 1);

test('the parquet file ships inside the vega-datasets package', () => {
  assert.ok(existsSync(flightsFile()), flightsFile());
});

test('readFlights returns the first N rows in file (date) order with sane values', async () => {
  const rows = await firstRows(3000);
  assert.equal(rows.length, 3000);
  // The file's first row.
  assert.deepEqual(rows[0], { id: 0, date: Date.UTC(2001, 0, 1, 0, 1), hour: 0, weekday: 1, delay: 33, distance: 2176, origin: 'LAS', destination: 'PHL' });
  for (const [i, f] of rows.entries()) {
    assert.equal(f.id, i);
    assert.ok(f.date >= JAN_1_2001 && f.date <= JUL_1_2001, `date ${f.date}`);
    if (i > 0) assert.ok(f.date >= rows[i - 1]!.date, 'sorted by date');
    const d = new Date(f.date);
    assert.equal(f.hour, d.getUTCHours());
    assert.equal(f.weekday, d.getUTCDay());
    assert.ok(Number.isInteger(f.delay) && f.delay > -1200 && f.delay < 2000, `delay ${f.delay}`);
    assert.ok(Number.isInteger(f.distance) && f.distance > 0 && f.distance < 5000, `distance ${f.distance}`);
    assert.match(f.origin, /^[A-Z]{3}$/);
    assert.match(f.destination, /^[A-Z]{3}$/);
  }
  const delays = rows.map((f) => f.delay).sort((a, b) => a - b);
  const median = delays[delays.length >> 1]!;
  assert.ok(median > -15 && median < 15, `median delay ${median} min`);
});

test('a limit across a row-group boundary reads exactly that many rows, ids contiguous', async () => {
  const sizes: number[] = [];
  let next = 0;
  for await (const batch of readFlights({ rows: 272_730 })) {
    sizes.push(batch.length);
    for (const f of batch) assert.equal(f.id, next++);
  }
  assert.deepEqual(sizes, [272_727, 3]);
});

test('flightsRows is deterministic: keys row:<9-digit id>, values decode to the flights', async () => {
  const digest = async (): Promise<string> => {
    const h = createHash('sha256');
    for await (const row of flightsRows({ rows: 2000 })) h.update(row.key).update(row.value);
    return h.digest('hex');
  };
  assert.equal(await digest(), await digest());
  const flights = await firstRows(5);
  let i = 0;
  for await (const row of flightsRows({ rows: 5 })) {
    assert.equal(row.key.toString(), `row:${String(i).padStart(9, '0')}`);
    assert.deepEqual(flightsCodec.decode(row.value), flights[i]);
    i++;
  }
  assert.equal(i, 5);
});

test('the default size (500 000 rows) has ~220 skewed origin airports', async () => {
  const counts = new Map<string, number>();
  let n = 0;
  for await (const batch of readFlights({ rows: 500_000 })) {
    for (const f of batch) counts.set(f.origin, (counts.get(f.origin) ?? 0) + 1);
    n += batch.length;
  }
  assert.equal(n, 500_000);
  assert.ok(counts.size > 200 && counts.size < 300, `${counts.size} origins`);
  const sorted = [...counts.values()].sort((a, b) => b - a);
  assert.ok(sorted[0]! > 20 * sorted[sorted.length >> 1]!, 'the busiest airport has far more flights than the median one');
});

test('spec: flights rows are a limit of at most 3 000 000; valueBytes/seed/categories allowed, unknown fields not', () => {
  const spec = loadSpec('filter-flights', ['dataset.rows=1000']);
  assert.equal(spec.dataset.kind, 'flights');
  assert.equal(spec.dataset.rows, 1000);
  assert.throws(() => loadSpec('filter-flights', [`dataset.rows=${FLIGHTS_TOTAL_ROWS + 1}`]), (e: Error) => e instanceof SpecError && /dataset\.rows: must be between 1 and 3000000/.test(e.message));
  assert.doesNotThrow(() => loadSpec('filter-flights', ['dataset.valueBytes=0', 'dataset.seed=7', 'dataset.categories=3']));
  assert.throws(() => loadSpec('filter-flights', ['dataset.features=3']), /dataset\.features: unknown field/);
  assert.throws(() => loadSpec('filter-flights', ['dataset.valueBytes=-1']), /dataset\.valueBytes: must be between/);
});

test('query presets: flights requests carry the flights schema; the synthetic path is unchanged', () => {
  const flights = loadSpec('filter-flights', [], 'ci');
  assert.equal(datasetSchema(flights.dataset), FLIGHTS_SCHEMA);
  assert.deepEqual(queryWorkload(flights).request(60), { schema: FLIGHTS_SCHEMA, where: [{ column: 'delay', op: '>', value: 60 }], output: 'rows' });
  assert.throws(() => loadSpec('filter-flights', ['sweep.parameter=selectivity']), /flights dataset sweeps delayThreshold/);

  const synthetic = loadSpec('filter', [], 'ci');
  assert.deepEqual(queryWorkload(synthetic).request(0.01), { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '<', value: 10 }], output: 'rows' });
  assert.throws(() => loadSpec('filter', ['sweep.parameter=delayThreshold']), /synthetic dataset sweeps selectivity/);

  const agg = loadSpec('aggregate-flights');
  const aggregate = queryWorkload(agg);
  assert.deepEqual(aggregate.request('origin'), { schema: FLIGHTS_SCHEMA, column: 'delay', groupBy: 'origin' });
  assert.deepEqual(aggregate.request('none'), { schema: FLIGHTS_SCHEMA, column: 'delay' });
  assert.throws(() => loadSpec('aggregate-flights', ['sweep.values=origin,airline']), /no column 'airline'/);
  const syntheticAgg = loadSpec('aggregate');
  assert.deepEqual(queryWorkload(syntheticAgg).request(10), { schema: SAMPLE_SCHEMA, column: 'amount', groupBy: 'id', groupModulo: 10 });
  assert.ok(validateSpec(syntheticAgg));
});
