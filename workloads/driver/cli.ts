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
import { backendKind } from '../backends/registry';
import { reportAfterRun } from '../../reports/write';
import { summaryPublisher } from './publish-summary';
import { FAILURE_FILE, runFailure, type RunPhase } from './results/failure';
import type { Backend } from '../backends/backend';
import type { FamilyRunEnd } from '../families/family';
import { networkKind } from '../network/registry';
import { NetworkError, type Network } from '../network/network';
import { parseLinkProfile } from './network/link-profile';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

const FLAGS = {
  size: { type: 'string', help: "a named size from the spec's `sizes` (e.g. ci: tiny, for tests)", value: '<name>' },
  placement: { type: 'string', help: 'run against a running cluster instead of starting one: copbench, its placement address; redis-cluster, any node (or env COPBENCH_PLACEMENT)', value: '<host:port>' },
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
  const cluster = placementAddress(flags);
  // Everything that can be checked is checked before anything starts or is written: a bad spec
  // is a usage error (exit 2) naming the field, and leaves nothing under results/.
  let spec: WorkloadSpec;
  try {
    spec = chooseSpec(flags, overrides);
    checkNetwork(spec, cluster);
    const backend = backendKind(spec.backend.kind);
    backend.checkAvailable(spec, cluster);
    // Attached, a copbench cluster serves its own deployed plugins; other backends use plugins/.
    await familyForKind(spec.kind).prepare(spec, { cluster: backend.provides.pluginsFromCluster ? cluster : undefined, log });
  } catch (err) {
    if (err instanceof SpecError) throw new UsageError(err.message);
    if (err instanceof NetworkError && err.usage) throw new UsageError(err.message);
    throw err;
  }
  const family = familyForKind(spec.kind);
  const network = await enterNetwork(spec, log);
  if (network === null) return;
  try {
    await runInNetwork(spec, family, network, { ...flags, placement: cluster }, overrides, log);
  } finally {
    await network.close();
  }
}, help);

/** The running cluster to use: --placement, else env COPBENCH_PLACEMENT (as in npm run plugin and npm run node); undefined: start one. */
function placementAddress(flags: { placement?: string }): string | undefined {
  const address = flags.placement ?? process.env.COPBENCH_PLACEMENT;
  return address === '' ? undefined : address;
}

/** Whether this run can have the spec's network: a usage error (exit 2) before anything starts. */
function checkNetwork(spec: WorkloadSpec, cluster: string | undefined): void {
  const kind = networkKind(spec.network.kind);
  if (cluster && !kind.allowsExternalCluster) throw new UsageError(`network.kind=${kind.name} starts its own cluster on its hosts; it cannot be combined with --placement`);
  kind.checkAvailable(spec.links.map((link) => parseLinkProfile(link)));
}

/**
 * The spec's network, from inside it: null when this process only supervised a child that ran the
 * client side inside the network (the exit code is the child's). Permission problems are usage
 * errors (exit 2, checked before by checkNetwork); a link that measures off its profile is a run error.
 */
async function enterNetwork(spec: WorkloadSpec, log: (line: string) => void): Promise<Network | null> {
  const kind = networkKind(spec.network.kind);
  try {
    const where = kind.runClient({ argv: [process.execPath, ...process.execArgv, ...process.argv.slice(1)], nodes: spec.cluster.nodes, log });
    if (where !== 'here') {
      process.exitCode = await where;
      return null;
    }
  } catch (err) {
    if (err instanceof NetworkError && err.usage) throw new UsageError(err.message);
    throw err;
  }
  const network = kind.open();
  try {
    await network.verify(spec.links, log);
  } catch (err) {
    await network.close();
    throw err;
  }
  return network;
}

async function runInNetwork(spec: WorkloadSpec, family: ReturnType<typeof familyForKind>, network: Network, flags: { placement?: string; out: string; size?: string }, overrides: string[], log: (line: string) => void): Promise<void> {
  const writer = ResultsWriter.create(flags.out, spec.name);
  const manifest = {
    workload: spec.name,
    family: family.name,
    spec,
    size: flags.size ?? null,
    overrides,
    seed: spec.dataset.seed,
    cluster: flags.placement ?? 'embedded',
    // What the backend says about itself once it is open (version, durability); its kind until then.
    backend: { kind: spec.backend.kind } as unknown,
    network: network.report(),
    gitCommit: gitCommit(REPO_ROOT),
    versions: packageVersions(REPO_ROOT, ['lmdb', 'msgpackr', '@swc/core', 'typescript']),
    machine: machineInfo(),
    startedAt: new Date().toISOString(),
  };
  writer.writeManifest(manifest);
  log(`run ${writer.dir}`);
  // A run that stops early says why in its folder (failure.json), for its report and the index:
  // the console's error line does not outlive the terminal.
  let phase: RunPhase = 'opening the backend';
  let backend: Backend | undefined;
  let end: FamilyRunEnd;
  try {
    backend = await backendKind(spec.backend.kind).open(spec, { attach: flags.placement, log, network });
    const described = backend.report();
    writer.writeManifest({ ...manifest, backend: described });
    log(`backend: ${described.kind} (${described.version}, ${described.cluster}); durability: ${described.durability}`);
    let load = null;
    if (!family.loadsItsOwnData?.(spec)) {
      phase = 'loading the dataset';
      const loadBar = new Progress('load', spec.dataset.rows);
      load = await backend.ensureDataset(spec, { log, onLoadProgress: (loaded) => loadBar.update(loaded) });
      loadBar.done();
      if (!load.skipped) log(`loaded ${load.rows} rows in ${(load.loadMs / 1000).toFixed(1)} s (fingerprint ${load.fingerprint})`);
      const layout = await backend.settle(log);
      log(`layout: ${layout.pieces} ${layout.pieceName} on ${layout.nodes} nodes`);
    }
    phase = 'measuring';
    const planned = family.plannedWork(spec);
    const bar = new Progress(planned.label, planned.total);
    end = await family.run(spec, backend, { writer, log, load, tick: (n) => bar.tick(n), publishSummary: summaryPublisher(writer, { workload: spec.name, family: family.name, kind: spec.kind }, described) });
    bar.done();
    // Closed before the report, so results/index.html already marks this run as the latest.
    writer.close();
  } catch (err) {
    writer.writeFailure(runFailure(err, phase, writer.sampleCount));
    log(`the run failed while ${phase}: recorded in ${path.join(writer.dir, FAILURE_FILE)} (samples.csv keeps ${writer.sampleCount} samples)`);
    throw err;
  } finally {
    await backend?.close();
    // Every run ends with its report.html and a fresh results/index.html (a failed run too: its
    // report shows the verdict, or the failure). reportAfterRun logs failures, never throws.
    await reportAfterRun(writer.dir, flags.out, log);
  }
  // Answers that differ are the family's verdict, already in summary.json and its report.
  if (end.failure) throw new Error(end.failure);
  process.stdout.write(`results: ${writer.dir}\n`);
}
