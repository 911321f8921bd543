/**
 * Every workload in workloads/specs/ runs end to end in its `ci` size on a real local cluster,
 * as a user runs it (`npm run workload <name> -- --size ci`), and leaves a complete run folder.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readRawSpec, specNames } from '../workloads/spec';
import { chartsForRun } from '../reports/charts';
import { chartProblems } from '../reports/chart-checks';
import { loadRun } from '../reports/run-model';

const REPO = path.resolve(__dirname, '..');
const out = mkdtempSync(path.join(os.tmpdir(), 'copbench-results-'));

after(() => rmSync(out, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function workload(args: string[], timeoutMs = 180_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--require', path.join(REPO, 'engine/runtime/register.js'), path.join(REPO, 'workloads/driver/cli.ts'), ...args], { cwd: REPO, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, CI: 'true' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function runDir(name: string): string {
  const dir = path.join(out, name);
  const runs = readdirSync(dir).filter((d) => d !== 'latest');
  assert.equal(runs.length, 1, `one run folder in ${dir}`);
  return path.join(dir, runs[0]!);
}

test('--help lists every workload in workloads/specs/ with its description', async () => {
  const r = await workload(['--help']);
  assert.equal(r.code, 0, r.stderr);
  for (const name of specNames()) assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'));
});

test('a bad spec override is a usage error (exit 2) naming the field, before anything starts', async () => {
  const r = await workload(['filter', '-p', 'dataset.rowz=5']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /dataset\.rowz: unknown field/);
  const unknown = await workload(['no-such-workload']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no workload 'no-such-workload' \(known: .*filter/);
});

/**
 * A spec's own sweep values (its `ci` size usually shortens the sweep): the runs below keep the ci
 * dataset but sweep what the default run sweeps, so the report checks see the real axes.
 */
function ownSweep(name: string): string[] {
  const sweep = readRawSpec(name).sweep as { values?: unknown[] } | null | undefined;
  return sweep?.values ? ['-p', `sweep.values=${JSON.stringify(sweep.values)}`] : [];
}

for (const name of specNames()) {
  test(`workload ${name} (size ci, its own sweep values) runs end to end, writes manifest, samples, summary and latest, and its charts are readable`, { timeout: 240_000 }, async () => {
    const r = await workload([name, '--size', 'ci', ...ownSweep(name), '--out', out]);
    assert.equal(r.code, 0, `exit ${r.code}\nstderr:\n${r.stderr.slice(-3000)}`);
    const dir = runDir(name);
    assert.match(r.stdout, new RegExp(`results: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.spec.name, name);
    assert.equal(manifest.size, 'ci');
    assert.ok(manifest.machine && manifest.versions, 'manifest records machine and versions');
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    const samples = readFileSync(path.join(dir, 'samples.csv'), 'utf8').trim().split('\n');
    assert.ok(samples.length >= 2, 'samples.csv has a header and rows');
    assert.ok(existsSync(path.join(out, name, 'latest')), 'latest points at the newest run');
    if (manifest.spec.kind === 'ycsb') {
      assert.equal(summary.ycsb[0].errors, 0);
      assert.ok(summary.ycsb[0].opsPerSec.mean > 0);
    } else if (manifest.spec.kind === 'ml-train') {
      const { ml } = summary;
      assert.equal(summary.verdict.agree, true, summary.verdict.mismatches?.join('\n'));
      assert.equal(ml.checks.modesAgree, true);
      assert.ok(ml.checks.maxWeightDiffBetweenModes <= ml.checks.weightAgreementTolerance);
      assert.equal(ml.checks.converged, true, 'the ci size converges within its epochs');
      if (manifest.spec.dataset.kind === 'flights') {
        // Real data has no true weights: the model must beat always predicting the majority class.
        assert.equal(ml.checks.nearTrueWeights, null);
        assert.ok(ml.checks.baselineAccuracy > 0.5 && ml.checks.baselineAccuracy < 1, `baseline ${ml.checks.baselineAccuracy}`);
        assert.equal(ml.checks.beatsBaseline, true, `accuracy ${ml.modes[0].finalAccuracy} vs baseline ${ml.checks.baselineAccuracy}`);
        assert.match(r.stdout, /vs majority-class baseline/);
      } else {
        assert.equal(ml.checks.nearTrueWeights, true, `distance ${ml.checks.distanceToTrueWeights} vs tolerance ${ml.checks.trueWeightsTolerance}`);
      }
      assert.deepEqual([...new Set(ml.modes.map((m: { mode: string }) => m.mode))].sort(), [...manifest.spec.modes].sort());
      for (const m of ml.modes) assert.ok(m.n === manifest.spec.repetitions && m.trainMs.mean > 0, `mode ${JSON.stringify(m).slice(0, 200)}`);
      const cached = ml.modes.find((m: { mode: string }) => m.mode === 'client-cached');
      if (cached) assert.equal(cached.laterEpochWireInBytes.mean, 0, 'client-cached reads nothing from the nodes after the pull');
      // samples.csv: one row per epoch of every measured training, losses falling within a training.
      const header = samples[0]!.split(',');
      assert.deepEqual(header.slice(0, 5), ['link', 'mode', 'repetition', 'epoch', 'loss']);
      const epochsTotal = summary.trainings.reduce((t: number, r: { epochs: number }) => t + r.epochs, 0);
      assert.equal(samples.length - 1, epochsTotal);
      const first = samples
        .slice(1)
        .map((l) => l.split(',').map((c) => c.replace(/^"(.*)"$/, '$1')))
        .filter((c) => c[1] === 'pushdown' && c[2] === '0');
      assert.ok(Number(first.at(-1)![4]) < Number(first[0]![4]), 'the loss fell');
    } else if (summary.family === 'interference') {
      // The point tenant ran at its rate beside every mode, and the analytic answers agree.
      assert.equal(summary.verdict.agree, true, summary.verdict.mismatches?.join('\n'));
      const modes = new Set(summary.points.map((p: { mode: string }) => p.mode));
      assert.deepEqual([...modes].sort(), [...manifest.spec.modes].sort());
      assert.equal(summary.points.length, manifest.spec.modes.length * manifest.spec.sweep.values.length);
      for (const p of summary.points) {
        assert.equal(p.pointErrors, 0, `point errors at ${p.rate} ${p.mode}`);
        assert.ok(p.pointOpsPerSec.mean > 0.8 * manifest.spec.interference.pointOpsPerSec, `point tenant kept its rate at ${p.rate} ${p.mode}: ${p.pointOpsPerSec.mean}`);
        assert.ok(p.pointP99Ms.mean > 0);
        if (p.mode === 'none') assert.equal(p.analyticCallsPerSec.mean, 0);
        else assert.ok(p.analyticCallsPerSec.mean > 0 && p.analyticErrors === 0, `analytic calls at ${p.rate} ${p.mode}`);
      }
      assert.ok(samples.length - 1 === summary.points.length * manifest.spec.repetitions, 'a samples.csv row per phase');
    } else {
      assert.equal(summary.verdict.agree, true, summary.verdict.mismatches?.join('\n'));
      const modes = new Set(summary.points.map((p: { mode: string }) => p.mode));
      assert.deepEqual([...modes].sort(), [...manifest.spec.modes].sort());
      // Sequential repetitions: between the minimum and the cap, and why each point stopped.
      const policy = summary.repetitions;
      assert.equal(policy.minRepetitions, manifest.spec.repetitions);
      for (const p of summary.points) {
        assert.ok(p.latencyMs.mean > 0 && p.n >= policy.minRepetitions && p.n <= policy.maxRepetitions, `point ${JSON.stringify(p).slice(0, 200)}`);
        assert.ok(['precision', 'maxRepetitions', 'maxSeconds'].includes(p.stoppedBy), `stoppedBy ${p.stoppedBy}`);
        if (p.stoppedBy === 'precision') assert.ok(p.latencyHalfWidthFraction <= policy.precision, `precise point ${JSON.stringify(p).slice(0, 200)}`);
      }
      // Speedups over the client mode with CIs, over as many pairs as the point's repetitions.
      for (const c of summary.comparisons) {
        for (const [mode, ci] of Object.entries(c.speedups as Record<string, { n: number; ratio: number; verdict: string }>)) {
          const n = summary.points.find((p: { link: string; point: string; mode: string }) => p.link === c.link && p.point === c.point && p.mode === mode).n;
          assert.equal(ci.n, n);
          assert.ok(ci.ratio > 0 && ['faster', 'slower', 'no measurable difference'].includes(ci.verdict), JSON.stringify(ci));
        }
      }
      // The cost model: a prediction for every point; adaptive ran one of the two modes each call
      // (its checksum is part of the verdict above); calibration numbers with units; a per-second series per link.
      for (const p of summary.points) assert.ok(typeof p.predictedLatencyMs === 'number' && p.predictedLatencyMs > 0, `prediction of ${p.link} ${p.point} ${p.mode}: ${p.predictedLatencyMs}`);
      for (const p of summary.points.filter((q: { mode: string }) => q.mode === 'adaptive')) {
        const counts = Object.entries(p.chosenModes as Record<string, number>);
        assert.ok(counts.length > 0 && counts.every(([m]) => m === 'pushdown' || m === 'client'), JSON.stringify(p.chosenModes));
        assert.equal(counts.reduce((t, [, n]) => t + n, 0), p.n);
      }
      assert.ok(summary.costModel.calibration.pushdownOverheadMs > 0 && summary.costModel.units.pushdownOverheadMs, 'cost model calibration recorded with units');
      assert.deepEqual(summary.series.map((x: { link: string }) => x.link).sort(), [...manifest.spec.links].sort());
      for (const x of summary.series) assert.ok(x.points.length > 0 && x.points.some((q: { opsPerSec: number; p99Ms: number }) => q.opsPerSec > 0 && q.p99Ms > 0), `series of ${x.link}`);
      if (manifest.spec.modes.includes('adaptive')) {
        // Two tables: the latencies with adaptive's choices, then the work with the model's predictions.
        assert.match(r.stdout, /^link .* latency ms \(95% CI\) .*chose$/m);
        assert.match(r.stdout, /^link .* rows back .*predicted ms +error +predicted speedup$/m);
      }
      if (manifest.spec.kind !== 'noop') {
        const pushdown = summary.points.filter((p: { mode: string }) => p.mode === 'pushdown');
        for (const p of pushdown) assert.equal(p.rowsScanned, manifest.spec.dataset.rows, 'pushdown scanned every row once');
      }
    }
    await assertReadableCharts(dir, manifest.spec, summary.family);
  });
}

/**
 * Every chart of the run renders without a vega warning, draws no log scale over values ≤ 0, and
 * spreads a sweep's points over half the plot or more; a swept run has its main charts (latency,
 * wire bytes and speedup against the sweep), and only a run without a sweep has the noop overhead.
 */
async function assertReadableCharts(dir: string, spec: { sweep: { parameter: string } | null }, family: string): Promise<void> {
  const charts = chartsForRun(loadRun(dir));
  const problems = (await Promise.all(charts.map(chartProblems))).flat();
  assert.deepEqual(problems, [], 'chart problems');
  const ids = charts.map((c) => c.id);
  if (family === 'interference') for (const main of ['point-p99-vs-analytic-rate', 'analytic-throughput-vs-point-p99']) assert.ok(ids.includes(main), `${main} among ${ids.join(', ')}`);
  if (spec.sweep && family === 'query') {
    const swept = spec.sweep.parameter.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    for (const main of ['latency', 'wire-bytes', 'speedup']) assert.ok(ids.includes(`${main}-vs-${swept}`), `${main}-vs-${swept} among ${ids.join(', ')}`);
    assert.ok(!ids.includes('noop-overhead'), 'no noop-overhead chart in a swept run');
    // A sweep over something else whose points selected different shares of rows (the flights
    // delay threshold) is also drawn against the measured selectivity.
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { points?: Array<{ selectivity: number | null }> };
    const shares = new Set((summary.points ?? []).map((p) => p.selectivity).filter((v) => v !== null));
    if (spec.sweep.parameter !== 'selectivity' && shares.size > 1) {
      for (const main of ['latency', 'wire-bytes']) assert.ok(ids.includes(`${main}-vs-measured-selectivity`), `${main}-vs-measured-selectivity among ${ids.join(', ')}`);
    }
  }
}
