/**
 * `npm run report -- --compare`: run labels from manifests (no runs needed), then real runs made by
 * the driver (filter twice, the second with -p concurrency=2; ycsb-a; ml-train) drawn together:
 * the page names each run's label, the charts exist and render cleanly, the tables carry the runs'
 * own numbers, and the CLI refuses comparisons that cannot be made (exit 2).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { speedupText } from '../workloads/driver/results/precision-text';
import type { SpeedupCI } from '../workloads/driver/summarize';
import type { QueryView } from '../workloads/families/query/report';
import { COMPARE_DIR, COMPARE_FILE, compareRuns, writeComparison } from './compare';
import { DEFAULT_BACKEND, runLabels, type LabelSource } from './compare-labels';
import { escapeHtml } from './html';
import { renderSvg } from './render';
import { loadRun } from './run-model';
import { speedupAgreement } from './specs/query-compare';
import { meanWithCi } from './tables';
import { runDirOf, runReportCli, runWorkload } from './test-runs';
import { CHARTS_DIR } from './write';

const spec = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'filter', kind: 'filter', concurrency: 4, network: { kind: 'loopback' }, dataset: { rows: 6000 }, sizes: { ci: { 'dataset.rows': 6000 } }, ...extra });
const source = (runId: string, manifest: Record<string, unknown>): LabelSource => ({ runId, manifest: { gitCommit: 'e9ae967b258d426dfcc7', size: 'ci', cluster: 'embedded', network: { kind: 'loopback' }, spec: spec(), ...manifest } });

describe('run labels', () => {
  test('different backends: the backend names each run (absent: copbench)', () => {
    const l = runLabels([source('a', {}), source('b', { spec: spec({ backend: { kind: 'redis-cluster' } }), gitCommit: 'ffff' })]);
    assert.equal(l.basis, 'backend');
    assert.deepEqual(l.labels, [DEFAULT_BACKEND, 'redis-cluster']);
  });

  test('one backend: the fields that differ, the network as the manifest measured it', () => {
    const l = runLabels([source('a', {}), source('b', { network: { kind: 'netns' } })]);
    assert.equal(l.basis, 'fields');
    assert.deepEqual(l.labels, ['network.kind=loopback', 'network.kind=netns']);
    const commits = runLabels([source('a', {}), source('b', { gitCommit: '0123456789abcdef' })]);
    assert.deepEqual(commits.labels, ['gitCommit=e9ae967b', 'gitCommit=01234567']);
    const overridden = runLabels([source('a', {}), source('b', { spec: spec({ concurrency: 2 }) })]);
    assert.deepEqual(overridden.labels, ['concurrency=4', 'concurrency=2']);
  });

  test('a different size: the size, not the fields its preset set', () => {
    const l = runLabels([source('a', {}), source('b', { size: null, spec: spec({ dataset: { rows: 2_000_000 } }) })]);
    assert.deepEqual(l.labels, ['size=ci', 'size=default']);
    assert.deepEqual(l.differing.map((f) => [f.field, f.fromSize]), [['size', false], ['dataset.rows', true]]);
  });

  test('nothing differs but the time: run ids; a label two runs share gets the run id', () => {
    assert.deepEqual(runLabels([source('run-1', { startedAt: '1' }), source('run-2', { startedAt: '2' })]), { labels: ['run-1', 'run-2'], basis: 'run-id', differing: [] });
    const l = runLabels([source('a', {}), source('b', {}), source('c', { spec: spec({ backend: { kind: 'redis-cluster' } }) })]);
    assert.deepEqual(l.labels, ['copbench (a)', 'copbench (b)', 'redis-cluster']);
  });
});

describe('where speedups disagree', () => {
  const ci = (ratio: number, ciLow: number | null, ciHigh: number | null, verdict: SpeedupCI['verdict']): SpeedupCI => ({ n: 5, ratio, ciLow, ciHigh, verdict });
  test('the winner flips, the CIs do not overlap, or they agree', () => {
    assert.match(speedupAgreement('pushdown', [{ label: 'a', speedup: 2, ci: ci(2, 1.5, 2.5, 'faster') }, { label: 'b', speedup: 0.5, ci: ci(0.5, 0.4, 0.7, 'slower') }]).text, /^DISAGREE: the winner differs \(pushdown faster in a; client faster in b\)/);
    const apart = speedupAgreement('pushdown', [{ label: 'a', speedup: 2, ci: ci(2, 1.8, 2.2, 'faster') }, { label: 'b', speedup: 4, ci: ci(4, 3.5, 4.5, 'faster') }]);
    assert.deepEqual(apart, { disagree: true, text: 'DISAGREE: the speedups differ (95% CIs do not overlap: a below b)' });
    assert.deepEqual(speedupAgreement('pushdown', [{ label: 'a', speedup: 2, ci: ci(2, 1.5, 2.5, 'faster') }, { label: 'b', speedup: 2.2, ci: ci(2.2, 1.9, 2.6, 'faster') }]), { disagree: false, text: 'agree: pushdown faster in every run' });
    assert.equal(speedupAgreement('pushdown', [{ label: 'a', speedup: 2, ci: ci(2, 1.5, 2.5, 'faster') }, { label: 'b', speedup: 1.1, ci: ci(1.1, null, null, 'no measurable difference') }]).disagree, false);
    assert.equal(speedupAgreement('pushdown', [{ label: 'a', speedup: 2, ci: undefined }, { label: 'b', speedup: 0.8, ci: undefined }]).disagree, true, 'older runs: the means alone');
    assert.equal(speedupAgreement('pushdown', [{ label: 'a', speedup: 2, ci: undefined }, null]).text, 'measured in one run only');
  });
});

describe('comparing real runs', () => {
  let out = '';
  const dirs = { filter: '', filter2: '', ycsb: '', ml: '' };

  /** A copy of a run folder with its manifest changed (a run "on another backend", "at another commit"). */
  function variant(dir: string, suffix: string, change: (manifest: Record<string, unknown>) => void): string {
    const copy = `${dir}-${suffix}`;
    cpSync(dir, copy, { recursive: true });
    const file = path.join(copy, 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    change(manifest);
    writeFileSync(file, JSON.stringify(manifest, null, 2));
    return copy;
  }

  before(async () => {
    out = mkdtempSync(path.join(os.tmpdir(), 'copbench-compare-'));
    // One after another: each run starts its own 3-node cluster, and the machine may have 2 cores.
    dirs.filter = runDirOf(await runWorkload('filter', out));
    dirs.filter2 = runDirOf(await runWorkload('filter', out, ['-p', 'concurrency=2']));
    dirs.ycsb = runDirOf(await runWorkload('ycsb-a', out));
    dirs.ml = runDirOf(await runWorkload('ml-train', out));
  });

  after(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('two filter runs differing in concurrency: compare.html names both labels, the charts exist, the tables hold each run\'s numbers', async () => {
    const report = await writeComparison([dirs.filter, dirs.filter2], { resultsDir: out });
    assert.equal(path.dirname(report.dir), path.join(out, COMPARE_DIR));
    assert.equal(report.file, path.join(report.dir, COMPARE_FILE));
    const labels = report.comparison.labels.labels;
    assert.deepEqual(labels, ['concurrency=4', 'concurrency=2']);
    const html = readFileSync(report.file, 'utf8');
    for (const l of labels) assert.ok(html.includes(escapeHtml(l)), `compare.html names ${l}`);
    const ids = report.charts.map((c) => c.id);
    assert.deepEqual(ids, ['compare-latency-vs-selectivity', 'compare-speedup-vs-selectivity', 'compare-speedup-vs-bandwidth']);
    for (const id of ids) for (const ext of ['svg', 'png', 'vl.json']) assert.ok(statSync(path.join(report.dir, CHARTS_DIR, `${id}.${ext}`)).size > 200, `${id}.${ext}`);
    for (const c of report.charts) assert.deepEqual(c.warnings, [], c.id);
    assert.equal((html.match(/<figure /g) ?? []).length, ids.length);

    // Every latency the chart draws is a run's own point mean, under that run's label.
    const views = [dirs.filter, dirs.filter2].map((d) => loadRun(d).view as QueryView);
    const latency = report.comparison.charts.find((c) => c.id === 'compare-latency-vs-selectivity')!;
    const rows = (latency.spec as unknown as { data: { values: Array<{ run: string; mode: string; x: number; latencyMs: number }> } }).data.values;
    assert.equal(rows.length, views[0]!.points.length + views[1]!.points.length);
    for (const row of rows) {
      const view = views[labels.indexOf(row.run)]!;
      assert.ok(view.points.some((p) => p.mode === row.mode && Number(p.point) === row.x && p.latencyMs.mean === row.latencyMs), `${row.run} ${row.mode} ${row.x}`);
    }
    // The tables: each run's latency (mean ± CI) and its speedup with its CI, as the run's summary has them.
    views.forEach((view) => {
      for (const p of view.points) assert.ok(html.includes(escapeHtml(meanWithCi(p.latencyMs, 2))), `latency ${p.link} ${p.point} ${p.mode}`);
      for (const c of view.comparisons) for (const s of Object.values(c.speedups ?? {})) assert.ok(html.includes(escapeHtml(speedupText(s))), `speedup ${c.link} ${c.point}`);
    });
    assert.match(html, /speedup: concurrency=4<\/th><th>speedup: concurrency=2/);
    assert.match(html, /The runs (agree|disagree) /, 'the page says where the runs disagree');
  });

  test('copbench against another backend: labelled by backend', async () => {
    const redis = variant(dirs.filter2, 'redis', (m) => void ((m.spec as Record<string, unknown>).backend = { kind: 'redis-cluster' }));
    const c = compareRuns([dirs.filter, redis]);
    assert.equal(c.labels.basis, 'backend');
    assert.deepEqual(c.labels.labels, ['copbench', 'redis-cluster']);
  });

  test('ml-train and ycsb runs at two commits: time to train and throughput/p99 per run', async () => {
    for (const [dir, ids] of [[dirs.ml, ['compare-training-time', 'compare-time-to-target']], [dirs.ycsb, ['compare-throughput', 'compare-p99']]] as const) {
      const other = variant(dir, 'commit', (m) => void (m.gitCommit = 'abcdef0123456789'));
      const report = await writeComparison([dir, other], { resultsDir: out, png: false });
      assert.equal(report.comparison.labels.labels[1], 'gitCommit=abcdef01');
      assert.deepEqual(report.charts.map((c) => c.id), [...ids]);
      for (const c of report.comparison.charts) {
        const { svg, warnings } = await renderSvg(c.spec);
        assert.deepEqual(warnings, [], c.id);
        assert.ok((svg.match(/role-mark/g) ?? []).length > 0, `${c.id}: no marks`);
      }
      const html = readFileSync(report.file, 'utf8');
      for (const l of report.comparison.labels.labels) assert.ok(html.includes(escapeHtml(l)));
    }
  });

  test('the CLI: --compare prints the page; fewer than 2 runs, mixed families, --compare-out alone are usage errors (exit 2)', async () => {
    const into = path.join(out, 'my-comparison');
    const ok = await runReportCli(['--compare', dirs.filter, dirs.filter2, '--compare-out', into, '--no-png']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim().split(' ')[0], path.join(into, COMPARE_FILE));
    assert.ok(existsSync(path.join(into, COMPARE_FILE)));
    assert.equal(ok.stderr, '', 'no chart warnings');

    const one = await runReportCli(['--compare', dirs.filter]);
    assert.equal(one.code, 2);
    assert.match(one.stderr, /--compare needs at least 2 run folders, got 1/);
    const mixed = await runReportCli(['--compare', dirs.filter, dirs.ycsb]);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /runs of one workload family.*\(query\).*\(ycsb\)/);
    const twice = await runReportCli(['--compare', dirs.filter, dirs.filter]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /given twice/);
    const alone = await runReportCli([dirs.filter, '--compare-out', into]);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /add --compare/);
    const help = await runReportCli(['--help']);
    assert.match(help.stdout, /--compare-out <dir>/);
  });
});
