/**
 * Any plugin is a workload: a plugin file and a spec file that are not in the repository are put
 * in place the way a user would (`npm run plugin -- new`, `npm run plugin -- deploy` to a running
 * cluster) and run with `npm run workload <path/to/spec.json> -- --placement host:port`. The run
 * must exit 0 with equal checksums and a report whose charts are drawn against the swept request
 * field. Bad plugin specs exit 2 with an error naming the field, and write nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { runTs } from '../reports/test-runs';
import { DEFAULT_CLUSTER, loadSpec } from '../workloads/spec';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'copbench-plugin-workload-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A plugin of the user's own: the `k` rows of largest `column` per region, merged; counts the rest. */
const USER_PLUGIN = `
import { RecordCodec, compareBytes, definePlugin, type Schema } from '../engine/plugin-api';

interface Request { schema: Schema; column: string; threshold: number }
interface Part { count: number; sum: number }

export default definePlugin({
  name: 'sum-above',
  version: '2.1.0',
  apiVersion: 1,
  description: 'Count and sum of a column over the rows where it exceeds a threshold.',
  async handle(request: Request, ctx): Promise<Part> {
    if (typeof request.threshold !== 'number') throw new Error('threshold must be a number, got ' + JSON.stringify(request.threshold));
    const read = new RecordCodec(request.schema).numberAccessor(request.column);
    let count = 0;
    let sum = 0;
    for (const range of ctx.ranges) for await (const batch of ctx.storage.scan(range)) for (const row of batch) {
      const x = read(row.value);
      if (x > request.threshold) { count++; sum += x; }
    }
    return { count, sum };
  },
  merge: (parts: Part[]) => parts.reduce((a, p) => ({ count: a.count + p.count, sum: a.sum + p.sum }), { count: 0, sum: 0 }),
  cost: { rowsMatched: (result) => result.count },
  examples: [],
});
void compareBytes;
`;

function userSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'sum-above-study',
    description: 'a study of a plugin that is not in the repository',
    kind: 'plugin',
    plugin: 'sum-above',
    version: '^2',
    cluster: { nodes: 3, splitKeys: 1500, splitBytes: 67108864, coprWorkers: 2 },
    dataset: { kind: 'synthetic', rows: 5000, valueBytes: 64, seed: 3, categories: 10 },
    request: { column: 'amount', threshold: 500 },
    sweep: { parameter: 'request.threshold', values: [100, 900] },
    modes: ['pushdown', 'client', 'adaptive'],
    links: ['unlimited'],
    warmup: 0,
    repetitions: 2,
    maxRepetitions: 2,
    concurrency: 4,
    sizes: {},
    ...extra,
  };
}

function writeSpec(name: string, spec: Record<string, unknown>): string {
  const file = path.join(tmp, 'specs', `${name}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(spec, null, 2));
  return file;
}

/** The one run folder a workload wrote under `out`. */
function onlyRun(out: string, workload: string): string {
  const runs = readdirSync(path.join(out, workload)).filter((d) => d !== 'latest');
  assert.equal(runs.length, 1, `one run of ${workload}`);
  return path.join(out, workload, runs[0]!);
}

describe('a plugin and a spec from outside the repository, on a running cluster', () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start({ nodes: 3, splitKeys: 1500 });
  });
  after(async () => {
    await cluster?.stop();
  });

  const deploy = async (file: string): Promise<void> => {
    const run = await runTs('engine/cluster/plugin-cli.ts', ['deploy', file, '--placement', cluster.placementAddress, '--admin-token', cluster.adminToken], 60_000);
    assert.equal(run.code, 0, run.stderr);
  };

  test('deployed with npm run plugin -- deploy and run from its spec file: exit 0, equal checksums, charts against request.threshold', { timeout: 180_000 }, async () => {
    const pluginFile = path.join(tmp, 'plugins', 'sum-above.ts');
    mkdirSync(path.dirname(pluginFile), { recursive: true });
    writeFileSync(pluginFile, USER_PLUGIN);
    await deploy(pluginFile);
    const out = path.join(tmp, 'results-user');
    const run = await runTs('workloads/driver/cli.ts', [writeSpec('sum-above-study', userSpec()), '--placement', cluster.placementAddress, '--out', out], 150_000);
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    const dir = onlyRun(out, 'sum-above-study');
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.equal(summary.family, 'query');
    assert.equal(summary.kind, 'plugin');
    assert.equal(summary.verdict.agree, true, summary.verdict.mismatches?.join('\n'));
    assert.deepEqual([...new Set(summary.points.map((p: { point: string }) => p.point))], ['100', '900']);
    for (const p of summary.points) assert.equal(p.parameter, 'request.threshold');
    // The plugin says which rows it selected: amount > 100 keeps ~90% of the rows, > 900 ~10%.
    const selectivity = (point: string) => summary.points.find((p: { point: string; mode: string }) => p.point === point && p.mode === 'pushdown').selectivity;
    assert.ok(selectivity('100') > 0.85 && selectivity('100') < 0.95, `selectivity at 100: ${selectivity('100')}`);
    assert.ok(selectivity('900') > 0.05 && selectivity('900') < 0.15, `selectivity at 900: ${selectivity('900')}`);
    // Without cost hints for the scan, the summary says the model's predictions are coarser.
    assert.ok(summary.costModel.coarser.some((line: string) => /scanOnly/.test(line)), JSON.stringify(summary.costModel.coarser));
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    for (const id of ['latency-vs-request-threshold', 'wire-bytes-vs-request-threshold']) assert.match(html, new RegExp(`data-chart="${id}"`), `report has ${id}`);
    assert.doesNotMatch(html, /data-chart="noop-overhead"/);
    assert.match(html, /Cost model: coarser predictions/);

    // --from reruns the recorded spec (the plugin and its request template included): the same answers.
    const again = path.join(tmp, 'results-again');
    const rerun = await runTs('workloads/driver/cli.ts', ['--from', path.join(dir, 'manifest.json'), '-p', 'repetitions=1', '-p', 'maxRepetitions=1', '--placement', cluster.placementAddress, '--out', again], 150_000);
    assert.equal(rerun.code, 0, rerun.stderr.slice(-3000));
    const resummary = JSON.parse(readFileSync(path.join(onlyRun(again, 'sum-above-study'), 'summary.json'), 'utf8'));
    const checksums = (s: { points: Array<{ point: string; mode: string; checksum: string }> }) => Object.fromEntries(s.points.map((p) => [`${p.point}/${p.mode}`, p.checksum]));
    assert.deepEqual(checksums(resummary), checksums(summary));
  });

  test('the filter preset and the same filter written as a plugin workload give the same answers', { timeout: 180_000 }, async () => {
    const common = { modes: ['pushdown', 'client'], dataset: { kind: 'synthetic', rows: 5000, valueBytes: 64, seed: 3, categories: 10 } };
    const preset = userSpec({ ...common, name: 'filter-preset', kind: 'filter', plugin: undefined, version: undefined, request: { column: 'amount', output: 'rows' }, sweep: { parameter: 'selectivity', values: [0.01, 1] } });
    const asPlugin = userSpec({ ...common, name: 'filter-plugin', plugin: 'filter', version: '^1', request: { where: [{ column: 'amount', op: '<', value: 0 }], output: 'rows' }, sweep: { parameter: 'request.where.0.value', values: [10, 1000] } });
    const out = path.join(tmp, 'results-filter');
    for (const spec of [preset, asPlugin]) {
      const run = await runTs('workloads/driver/cli.ts', [writeSpec(String(spec.name), JSON.parse(JSON.stringify(spec))), '--placement', cluster.placementAddress, '--out', out], 150_000);
      assert.equal(run.code, 0, run.stderr.slice(-3000));
    }
    const checksums = (name: string) => (JSON.parse(readFileSync(path.join(onlyRun(out, name), 'summary.json'), 'utf8')).points as Array<{ mode: string; checksum: string }>).map((p) => `${p.mode} ${p.checksum}`);
    assert.deepEqual(checksums('filter-plugin'), checksums('filter-preset'));
  });

  test('npm run plugin -- new writes a plugin and a spec that run as written', { timeout: 180_000 }, async () => {
    const made = await runTs('engine/cluster/plugin-cli.ts', ['new', 'my-study', '--dir', path.join(tmp, 'plugins'), '--spec-dir', path.join(tmp, 'specs')], 30_000);
    assert.equal(made.code, 0, made.stderr);
    await deploy(path.join(tmp, 'plugins', 'my-study.ts'));
    const out = path.join(tmp, 'results-new');
    const run = await runTs('workloads/driver/cli.ts', [path.join(tmp, 'specs', 'my-study.json'), '--size', 'ci', '--placement', cluster.placementAddress, '--out', out], 150_000);
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    const dir = onlyRun(out, 'my-study');
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.equal(summary.verdict.agree, true);
    assert.match(readFileSync(path.join(dir, 'report.html'), 'utf8'), /data-chart="latency-vs-request-where-0-value"/);
  });
});

test("the issue's spec shape (no cluster, concurrency or sizes) is valid: those take their defaults, and a partial cluster takes the rest", () => {
  const file = writeSpec('issue-shape', {
    name: 'topk-by-amount', description: '…', kind: 'plugin', plugin: 'topk', version: '^1',
    dataset: { kind: 'synthetic', rows: 200000, valueBytes: 100, seed: 42, categories: 10 },
    request: { column: 'amount', k: 10 },
    sweep: { parameter: 'request.k', values: [1, 100, 10000] },
    modes: ['pushdown', 'client', 'adaptive'], links: ['unlimited', '1gbit'],
    warmup: 1, repetitions: 3,
  });
  const spec = loadSpec(file);
  assert.deepEqual(spec.cluster, { ...DEFAULT_CLUSTER, coprMaxQueue: null, coprNice: null, coprCallMemoryMb: null, coprMemoryMb: null, coprStateMb: null });
  assert.equal(spec.concurrency, 4);
  assert.deepEqual(spec.sizes, {});
  assert.equal(loadSpec(file, ['cluster.nodes=5']).cluster.nodes, 5);
  assert.equal(loadSpec(file, ['cluster.nodes=5']).cluster.splitKeys, DEFAULT_CLUSTER.splitKeys);
});

describe('bad plugin specs exit 2 naming the field and write nothing under results/', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown plugin (the error lists the plugins that exist)', { plugin: 'no-such-plugin' }, /plugin: no plugin 'no-such-plugin' in plugins\/ \(plugins: .*aggregate.*filter.*noop/],
    ['a version range with no match', { plugin: 'aggregate', version: '^9' }, /version: no version of aggregate matches '\^9' \(versions: 1\.\d+\.\d+\)/],
    ['a sweep path in neither the request nor the dataset', { plugin: 'aggregate', version: '^1', request: { column: 'amount' }, sweep: { parameter: 'request.groupModulus', values: [1, 10] } }, /sweep\.parameter: 'request\.groupModulus' is in neither the request nor the dataset.*request fields: column, schema/],
    ['a maxRepetitions below the minimum (repetitions)', { plugin: 'aggregate', version: '^1', request: { column: 'amount' }, sweep: null, maxRepetitions: 1 }, /maxRepetitions: must be at least repetitions \(2, the minimum\), got 1/],
    ['a request the plugin throws on (its message shown)', { plugin: 'aggregate', version: '^1', request: { column: 'category' }, sweep: null }, /request: aggregate@1\.\d+\.\d+ rejects the request: schema synthetic has no numeric column 'category'/],
  ];
  for (const [what, fields, error] of cases) {
    test(what, { timeout: 60_000 }, async () => {
      const out = path.join(tmp, `results-bad-${what.length}`);
      const run = await runTs('workloads/driver/cli.ts', [writeSpec(`bad-${what.length}`, userSpec(fields)), '--out', out], 50_000);
      assert.equal(run.code, 2, `exit code (stderr: ${run.stderr})`);
      assert.match(run.stderr, error);
      assert.equal(existsSync(out), false, 'nothing written under results/');
    });
  }
});
