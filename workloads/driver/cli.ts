/**
 * `npm run workload <name> [-- -p key=value ...] [--size ci] [--placement host:port] [--out dir]`
 * Phases: start cluster → load (skipped when the dataset fingerprint matches) → settle → warm-up →
 * measure → summary + results files. `--from <manifest.json>` reruns a recorded run exactly.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatHelp, parseFlags, runCli, UsageError } from '../../engine/cli/flags';
import { applyOverrides, loadSpec, readRawSpec, specNames, SpecError, validateSpec, type WorkloadSpec } from '../spec';
import { familyForKind, specKinds } from '../families/registry';
import { Progress } from './progress';
import { gitCommit, machineInfo, packageVersions, ResultsWriter } from './results/writer';
import { Session } from './session';
import { reportAfterRun } from '../../reports/write';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

const FLAGS = {
  size: { type: 'string', help: "a named size from the spec's `sizes` (e.g. ci: tiny, for tests)", value: '<name>' },
  placement: { type: 'string', help: "run against a running cluster (its placement service's address) instead of starting one", value: '<host:port>' },
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
  const width = Math.max(12, ...specNames().map((n) => n.length));
  const lines = specNames().map((name) => {
    try {
      return `  ${name.padEnd(width)} ${String(readRawSpec(name).description ?? '')}`;
    } catch (err) {
      return `  ${name.padEnd(width)} (invalid spec: ${(err as Error).message})`;
    }
  });
  return `${formatHelp(
    'npm run workload <name | path/to/spec.json> [-- -p key=value ...] [--size ci] [--placement host:port] [--out dir]',
    'Runs a workload from workloads/specs/<name>.json on a local cluster it starts itself (or --placement),\npushdown vs client-side, and writes results/<name>/<run-id>/ (manifest.json, samples.csv, summary.json).\n-p overrides any spec field by its dotted path, e.g. -p dataset.rows=100000 -p modes=pushdown,client.',
    FLAGS,
  )}\nSpec kinds: ${specKinds().join(', ')} (kind plugin runs any plugin; see docs/plugins.md).\nWorkloads (workloads/specs/):\n${lines.join('\n')}\n`;
}

/** The spec a run asks for (a named spec, a spec file, or a recorded manifest), validated. */
function chooseSpec(flags: { _: string[]; from?: string; size?: string }, overrides: string[]): WorkloadSpec {
  if (flags.from) {
    const manifest = JSON.parse(readFileSync(flags.from, 'utf8')) as { spec?: unknown };
    if (!manifest.spec) throw new UsageError(`${flags.from} is not a run manifest (no spec)`);
    return validateSpec(applyOverrides(manifest.spec as Record<string, unknown>, overrides));
  }
  const name = flags._[0];
  if (!name) throw new UsageError(`name a workload (one of: ${specNames().join(', ')}) or a spec file (path/to/spec.json)`);
  if (flags._.length > 1) throw new UsageError(`unexpected argument '${flags._[1]}' (overrides go as -p key=value)`);
  return loadSpec(name, overrides, flags.size);
}

runCli(async () => {
  const { rest, overrides } = extractOverrides(process.argv.slice(2));
  if (rest.some((a) => a === '--cluster' || a.startsWith('--cluster='))) throw new UsageError('--cluster is now --placement <host:port> (the same flag in every command)');
  const flags = parseFlags(rest, FLAGS);
  if (flags.help) {
    process.stdout.write(help());
    return;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  // Everything that can be checked is checked before anything starts or is written: a bad spec
  // is a usage error (exit 2) naming the field, and leaves nothing under results/.
  let spec: WorkloadSpec;
  try {
    spec = chooseSpec(flags, overrides);
    await familyForKind(spec.kind).prepare(spec, { cluster: flags.placement, log });
  } catch (err) {
    if (err instanceof SpecError) throw new UsageError(err.message);
    throw err;
  }
  const family = familyForKind(spec.kind);
  const writer = ResultsWriter.create(flags.out, spec.name);
  writer.writeManifest({
    workload: spec.name,
    family: family.name,
    spec,
    size: flags.size ?? null,
    overrides,
    seed: spec.dataset.seed,
    cluster: flags.placement ?? 'embedded',
    gitCommit: gitCommit(REPO_ROOT),
    versions: packageVersions(REPO_ROOT, ['lmdb', 'msgpackr', '@swc/core', 'typescript']),
    machine: machineInfo(),
    startedAt: new Date().toISOString(),
  });
  log(`run ${writer.dir}`);
  const session = await Session.open(spec, { cluster: flags.placement, log });
  try {
    let load = null;
    if (!family.loadsItsOwnData?.(spec)) {
      const loadBar = new Progress('load', spec.dataset.rows);
      load = await session.ensureDataset(spec, { log, onLoadProgress: (loaded) => loadBar.update(loaded) });
      loadBar.done();
      if (!load.skipped) log(`loaded ${load.rows} rows in ${(load.loadMs / 1000).toFixed(1)} s (fingerprint ${load.fingerprint})`);
      const map = await session.settle(log);
      log(`layout: ${map.regions.length} regions on ${new Set(map.regions.map((r) => r.nodeId)).size} nodes`);
    }
    const planned = family.plannedWork(spec);
    const bar = new Progress(planned.label, planned.total);
    const end = await family.run(spec, session, { writer, log, load, tick: (n) => bar.tick(n) });
    bar.done();
    writer.close();
    if (end.failure) throw new Error(end.failure);
    process.stdout.write(`results: ${writer.dir}\n`);
  } finally {
    await session.close();
    // Every run ends with its report.html and a fresh results/index.html (a failed run too: its
    // report shows the verdict or the missing summary). reportAfterRun logs failures, never throws.
    await reportAfterRun(writer.dir, flags.out, log);
  }
}, help);
