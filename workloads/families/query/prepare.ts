/**
 * Checks a query spec against the plugins before anything starts or is written: the plugin exists
 * (in plugins/ for the embedded cluster, deployed on the cluster with --placement), a version
 * matches the range, and `handle` accepts every point's request (run in this process on the first
 * rows of the point's dataset). Each failure is a SpecError naming the field, so the CLI exits 2.
 */
import path from 'node:path';
import semver from 'semver';
import { ClusterClient } from '../../../engine/client/cluster-client';
import { loadPluginSource, type LoadedPlugin, type PluginArtifact } from '../../../engine/coprocessor/loader';
import type { KV } from '../../../engine/plugin-api';
import { datasetRows } from '../../datasets/catalog';
import { runPluginInMemory, type InMemoryRegion } from '../../driver/in-memory-plugin';
import { SpecError } from '../../spec-checks';
import type { DatasetSpec, WorkloadSpec } from '../../spec';
import type { CheckEnvironment } from '../family';
import { queryWorkload, type QueryWorkload } from './requests';
import { backendKind } from '../../backends/registry';
import { localPlugins, PLUGINS_DIR } from '../../local-plugins';


/** Rows of the dataset the dry run feeds `handle`, split into two regions so `merge` runs too. */
const DRY_RUN_ROWS = 400;

interface CatalogEntry {
  name: string;
  version: string;
  load(): Promise<LoadedPlugin>;
}

/** Plugins of plugins/ (workloads/local-plugins.ts). */
function localCatalog(dir: string): CatalogEntry[] {
  return localPlugins(dir).map((loaded) => ({ name: loaded.artifact.name, version: loaded.artifact.version, load: async () => loaded }));
}

/** Plugins deployed on a running cluster (its placement's plugin store). */
async function clusterCatalog(placement: string): Promise<{ entries: CatalogEntry[]; close(): void }> {
  const client = await ClusterClient.connect({ placement });
  const listed = JSON.parse(((await client.placementCall(['PD.PLUGIN.LIST'])) as Buffer).toString('utf8')) as Array<Omit<PluginArtifact, 'source'>>;
  const entries = listed.map((a) => ({
    name: a.name,
    version: a.version,
    load: async () => {
      const artifact = JSON.parse(((await client.placementCall(['PD.PLUGIN.GET', a.name, a.version])) as Buffer).toString('utf8')) as PluginArtifact;
      return loadPluginSource(artifact.source, artifact.file);
    },
  }));
  return { entries, close: () => client.close() };
}

/**
 * What to do about a plugin a running cluster lacks. The driver does not deploy it itself: that
 * needs the admin token, which a workload run neither asks for nor holds.
 */
const DEPLOY_HINT = 'deploy it first: npm run plugin -- deploy <its file> (docs/multi-machine.md)';

/** The error for a plugin that is not there, listing the plugins that are. */
function missingPlugin(name: string, entries: ReadonlyArray<{ name: string }>, where: string, hint: string): SpecError {
  const names = [...new Set(entries.map((e) => e.name))].sort();
  return new SpecError(`plugin: no plugin '${name}' ${where} (plugins: ${names.join(', ') || 'none'})${hint ? `; ${hint}` : ''}`);
}

/** The newest version of the workload's plugin that matches its range; SpecError naming the field otherwise. */
function resolvePlugin(workload: QueryWorkload, entries: CatalogEntry[], where: string, hint = ''): CatalogEntry {
  const named = entries.filter((e) => e.name === workload.plugin);
  if (named.length === 0) throw missingPlugin(workload.plugin, entries, where, hint);
  const versions = named.map((e) => e.version);
  const best = semver.maxSatisfying(versions, workload.version);
  if (!best) throw new SpecError(`version: no version of ${workload.plugin} matches '${workload.version}' (versions: ${versions.sort(semver.compare).join(', ')})`);
  return named.find((e) => e.version === best)!;
}

/** The first rows of a dataset, as two in-memory regions. */
async function firstRows(dataset: DatasetSpec): Promise<InMemoryRegion[]> {
  const rows: KV[] = [];
  const source = datasetRows({ ...dataset, rows: Math.min(dataset.rows, DRY_RUN_ROWS) });
  for await (const row of source as AsyncIterable<KV>) rows.push(row);
  const half = rows.length >> 1;
  const split = rows[half]?.key ?? Buffer.from('row;');
  return [
    { range: { start: Buffer.from('row:'), end: split }, batches: [rows.slice(0, half)] },
    { range: { start: split, end: Buffer.from('row;') }, batches: [rows.slice(half)] },
  ];
}

/** Runs `handle` and `merge` on every point's request over the first rows of its dataset. */
async function dryRun(workload: QueryWorkload, plugin: LoadedPlugin): Promise<void> {
  const samples = new Map<string, InMemoryRegion[]>();
  for (const point of workload.points) {
    const dataset = workload.dataset(point);
    const key = JSON.stringify(dataset);
    if (!samples.has(key)) samples.set(key, await firstRows(dataset));
    try {
      await runPluginInMemory(plugin, workload.request(point), samples.get(key)!);
    } catch (err) {
      const at = point === undefined ? '' : ` at ${workload.parameter}=${point}`;
      throw new SpecError(`request: ${plugin.artifact.name}@${plugin.artifact.version} rejects the request${at}: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}

/** The checks of a query spec that need the plugins; throws SpecError. */
export async function checkQueryPlugin(spec: WorkloadSpec, env: CheckEnvironment, pluginsDir = PLUGINS_DIR): Promise<void> {
  const workload = queryWorkload(spec);
  const remote = env.cluster ? await clusterCatalog(env.cluster) : null;
  try {
    const entries = remote ? remote.entries : localCatalog(pluginsDir);
    const entry = remote
      ? resolvePlugin(workload, entries, `deployed on the cluster at ${env.cluster}`, DEPLOY_HINT)
      : resolvePlugin(workload, entries, `in ${path.relative(process.cwd(), pluginsDir) || pluginsDir}/`);
    await dryRun(workload, await entry.load());
  } finally {
    remote?.close();
  }
  checkPushdownOnBackend(spec, workload);
}

/**
 * For families that call fixed plugins (not a spec's `plugin`): with --placement, each of `names`
 * must be deployed on that cluster, or the run stops before it starts naming the one missing.
 * The embedded cluster deploys plugins/ itself, so there is nothing to check without a cluster.
 */
export async function checkDeployedPlugins(names: readonly string[], env: CheckEnvironment): Promise<void> {
  if (!env.cluster) return;
  const remote = await clusterCatalog(env.cluster);
  try {
    for (const name of names) {
      if (!remote.entries.some((e) => e.name === name)) throw missingPlugin(name, remote.entries, `deployed on the cluster at ${env.cluster}`, DEPLOY_HINT);
    }
  } finally {
    remote.close();
  }
}

/** Pushdown modes need the backend to run this plugin's requests in its nodes (Redis: a Lua twin that answers them exactly). */
function checkPushdownOnBackend(spec: WorkloadSpec, workload: QueryWorkload): void {
  const kind = backendKind(spec.backend.kind);
  if (!kind.pushdownRefusal || !spec.modes.some((m) => m === 'pushdown' || m === 'adaptive')) return;
  for (const point of workload.points) {
    const why = kind.pushdownRefusal(workload.plugin, workload.request(point));
    const at = point === undefined ? '' : ` at ${workload.parameter}=${point}`;
    if (why) throw new SpecError(`modes: pushdown cannot run on backend.kind=${kind.name}${at}: ${why}; compare nothing, or measure client mode alone (-p modes=client)`);
  }
}
