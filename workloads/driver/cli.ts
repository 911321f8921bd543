/**
 * `npm run workload <name> [-- -p key=value ...] [--size ci] [--cluster host:port] [--out dir]`
 * Phases: start cluster → load (skipped when the dataset fingerprint matches) → settle → warm-up →
 * measure → summary + results files. `--from <manifest.json>` reruns a recorded run exactly.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatHelp, parseFlags, runCli, UsageError } from '../../engine/cli/flags';
import { applyOverrides, loadSpec, readRawSpec, specNames, validateSpec, type WorkloadSpec } from '../spec';
import { Progress } from './progress';
import { gitCommit, machineInfo, packageVersions, ResultsWriter } from './results/writer';
import { nodeColumns, runQueries, plannedQueryCalls } from './query-runner';
import { runYcsb } from './ycsb-runner';
import { Session } from './session';
import { summarizeQueries, summarizeYcsb } from './summarize';
import { printMlSummary, printQuerySummary, printYcsbSummary } from './print-summary';
import { mlSettings, plannedMlEpochs, runMlTraining, summarizeMl } from './ml-runner';
import { reportAfterRun } from '../../reports/write';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

const FLAGS = {
  size: { type: 'string', help: "a named size from the spec's `sizes` (e.g. ci: tiny, for tests)", value: '<name>' },
  cluster: { type: 'string', help: 'run against a running cluster (its placement address) instead of starting one', value: '<host:port>' },
  out: { type: 'string', help: 'results directory', default: path.join(REPO_ROOT, 'results'), value: '<dir>' },
  from: { type: 'string', help: "rerun a recorded run from its manifest.json (its spec, overrides and seed)", value: '<manifest>' },
} as const;

/** Pulls YCSB-style `-p key=value` (also `--param key=value`) out of argv. */
function extractOverrides(argv: string[]): { rest: string[]; overrides: string[] } {
  const rest: string[] = [];
  const overrides: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-p' || arg === '--param') {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs key=value`);
      overrides.push(value);
    } else if (arg.startsWith('-p') && arg.includes('=') && !arg.startsWith('--')) {
      overrides.push(arg.slice(2));
    } else {
      rest.push(arg);
    }
  }
  return { rest, overrides };
}

function help(): string {
  const lines = specNames().map((name) => {
    try {
      return `  ${name.padEnd(12)} ${String(readRawSpec(name).description ?? '')}`;
    } catch (err) {
      return `  ${name.padEnd(12)} (invalid spec: ${(err as Error).message})`;
    }
  });
  return `${formatHelp(
    'npm run workload <name> [-- -p key=value ...] [--size ci] [--cluster host:port] [--out dir]',
    'Runs a workload from workloads/specs/<name>.json on a local cluster it starts itself (or --cluster),\npushdown vs client-side, and writes results/<name>/<run-id>/ (manifest.json, samples.csv, summary.json).\n-p overrides any spec field by its dotted path, e.g. -p dataset.rows=100000 -p modes=pushdown,client.',
    FLAGS,
  )}\nWorkloads (workloads/specs/):\n${lines.join('\n')}\n`;
}

runCli(async () => {
  const { rest, overrides } = extractOverrides(process.argv.slice(2));
  const flags = parseFlags(rest, FLAGS);
  if (flags.help) {
    process.stdout.write(help());
    return;
  }
  let spec: WorkloadSpec;
  const checkKind = (s: WorkloadSpec): WorkloadSpec => {
    if (s.kind === 'ml-train') mlSettings(s); // a bad ml-train request fails before anything starts
    return s;
  };
  let appliedOverrides = overrides;
  if (flags.from) {
    const manifest = JSON.parse(readFileSync(flags.from, 'utf8')) as { spec?: unknown };
    if (!manifest.spec) throw new UsageError(`${flags.from} is not a run manifest (no spec)`);
    spec = checkKind(validateSpec(applyOverrides(manifest.spec as Record<string, unknown>, overrides)));
  } else {
    const name = flags._[0];
    if (!name) throw new UsageError(`name a workload (one of: ${specNames().join(', ')})`);
    if (flags._.length > 1) throw new UsageError(`unexpected argument '${flags._[1]}' (overrides go as -p key=value)`);
    spec = checkKind(loadSpec(name, overrides, flags.size));
    appliedOverrides = overrides;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const writer = ResultsWriter.create(flags.out, spec.name);
  writer.writeManifest({
    workload: spec.name,
    spec,
    size: flags.size ?? null,
    overrides: appliedOverrides,
    seed: spec.dataset.seed,
    cluster: flags.cluster ?? 'embedded',
    gitCommit: gitCommit(REPO_ROOT),
    versions: packageVersions(REPO_ROOT, ['lmdb', 'msgpackr', '@swc/core', 'typescript']),
    machine: machineInfo(),
    startedAt: new Date().toISOString(),
  });
  log(`run ${writer.dir}`);
  const session = await Session.open(spec, { cluster: flags.cluster, log });
  try {
    const loadBar = new Progress('load', spec.dataset.rows);
    const load = await session.ensureDataset(spec, { log, onLoadProgress: (loaded) => loadBar.update(loaded) });
    loadBar.done();
    if (!load.skipped) log(`loaded ${load.rows} rows in ${(load.loadMs / 1000).toFixed(1)} s (fingerprint ${load.fingerprint})`);
    const map = await session.settle(log);
    log(`layout: ${map.regions.length} regions on ${new Set(map.regions.map((r) => r.nodeId)).size} nodes`);

    if (spec.kind === 'ycsb') {
      const bar = new Progress('measure', (spec.warmup + spec.repetitions) * spec.links.length * spec.ycsb!.operations);
      const samples = await runYcsb(spec, session, {
        log,
        onOps: (n) => bar.tick(n),
        onSample: (s) => writer.appendSample({ link: s.link, repetition: s.repetition, operations: s.operations, errors: s.errors, durationMs: s.durationMs, opsPerSec: s.opsPerSec, p50Ms: s.latency.p50Ms, p95Ms: s.latency.p95Ms, p99Ms: s.latency.p99Ms, maxMs: s.latency.maxMs, readP99Ms: s.perOp.read.p99Ms, updateP99Ms: s.perOp.update.p99Ms, clientWireInBytes: s.clientWireInBytes, clientWireOutBytes: s.clientWireOutBytes, clientCpuUs: s.clientCpuUs, nodesCpuUs: s.nodesCpuUs }),
      });
      bar.done();
      const summary = summarizeYcsb(samples);
      writer.writeSummary({ workload: spec.name, kind: spec.kind, load, ycsb: summary, series: samples.map((s) => ({ link: s.link, repetition: s.repetition, points: s.series })) });
      printYcsbSummary(summary);
    } else if (spec.kind === 'ml-train') {
      const bar = new Progress('measure (epochs)', plannedMlEpochs(spec));
      const { runs, peakRss, flights } = await runMlTraining(spec, session, {
        log,
        onEpoch: (run, e) => {
          bar.tick(1);
          writer.appendSample({ link: run.link, mode: run.mode, repetition: run.repetition, epoch: e.epoch, loss: e.loss, accuracy: e.accuracy, gradientNorm: e.gradientNorm, epochMs: e.epochMs, elapsedMs: e.elapsedMs, clientWireInBytes: e.clientWireInBytes, clientWireOutBytes: e.clientWireOutBytes, clientCpuUs: e.clientCpuUs, pluginCpuUs: e.pluginCpuUs, rowsScanned: e.rowsScanned });
        },
      });
      bar.done();
      const ml = summarizeMl(spec, runs, undefined, flights);
      const trainings = runs.map((r) => ({ link: r.link, mode: r.mode, repetition: r.repetition, epochs: r.epochs.length, stoppedBy: r.stoppedBy, rows: r.rows, totalMs: r.totalMs, pullMs: r.pullMs, pullWireInBytes: r.pullWireInBytes, clientWireInBytes: r.clientWireInBytes, clientWireOutBytes: r.clientWireOutBytes, clientCpuUs: r.clientCpuUs, nodesCpuUs: r.nodesCpuUs, nodesNetInBytes: r.nodesNetInBytes, nodesNetOutBytes: r.nodesNetOutBytes, weights: r.weights, bias: r.bias }));
      writer.writeSummary({ workload: spec.name, kind: spec.kind, load, peakRss, ml, trainings, verdict: ml.verdict });
      printMlSummary(ml);
      if (!ml.verdict.agree) {
        writer.close();
        throw new Error(`MODES DISAGREE — the final models differ, the comparison is invalid:\n  ${ml.verdict.mismatches.join('\n  ')}`);
      }
      log(`models: every mode and repetition ended with the same weights (max relative difference ${ml.checks.maxWeightDiffBetweenModes.toExponential(2)})`);
      if (ml.checks.nearTrueWeights === false) log(`warning: the model is ${ml.checks.distanceToTrueWeights?.toPrecision(3)} from the true weights, beyond the expected ${ml.checks.trueWeightsTolerance?.toPrecision(3)}: more epochs or another learning rate?`);
    } else {
      const bar = new Progress('measure', plannedQueryCalls(spec));
      const nodeIds = (await session.nodes()).map((n) => n.id).sort((a, b) => a - b);
      const { samples, peakRss, costModel, series } = await runQueries(spec, session, {
        log,
        onCall: () => bar.tick(1),
        onSample: ({ byNode, ...row }) => writer.appendSample({ ...row, ...nodeColumns(byNode, nodeIds) }),
      });
      bar.done();
      const summary = summarizeQueries(samples);
      writer.writeSummary({ workload: spec.name, kind: spec.kind, load, peakRss, ...summary, costModel, series });
      printQuerySummary(summary, costModel);
      if (!summary.verdict.agree) {
        writer.close();
        throw new Error(`ANSWERS DIFFER between modes — the comparison is invalid:\n  ${summary.verdict.mismatches.join('\n  ')}`);
      }
      log(`checksums: the answers of ${[...new Set(samples.map((s) => s.mode))].join(', ')} are equal at every point`);
    }
    writer.close();
    process.stdout.write(`results: ${writer.dir}\n`);
  } finally {
    await session.close();
    // Every run ends with its report.html and a fresh results/index.html (a failed run too: its
    // report shows the verdict or the missing summary). reportAfterRun logs failures, never throws.
    await reportAfterRun(writer.dir, flags.out, log);
  }
}, "run 'npm run workload -- --help' for usage and the list of workloads");
