/**
 * Deploys plugin files through the placement service (which validates, stores and installs them on
 * every node), and keeps a directory deployed: a changed file is redeployed (hot reload), a deleted
 * one undeployed.
 */
import { existsSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { RespConnection } from '../client/connection';
import { ClientError } from '../client/errors';

export interface DeployOutcome {
  file: string;
  ok: boolean;
  /** `name@version sha256 nodes=N` on success, the typed load error otherwise. */
  message: string;
}

/** Deploys one file; a load failure is returned (typed message), not thrown. */
export async function deployFile(placement: RespConnection, file: string): Promise<DeployOutcome> {
  const name = path.basename(file);
  try {
    const reply = await placement.call(['PD.PLUGIN.DEPLOY', name, readFileSync(file, 'utf8')]);
    return { file: name, ok: true, message: String(reply) };
  } catch (err) {
    if (err instanceof ClientError && err.serverCode === 'COPR_LOAD') return { file: name, ok: false, message: err.message.replace(/^[^ ]+ COPR_LOAD /, '') };
    throw err;
  }
}

/** One row of a node's COPR.LIST reply: a plugin version the node holds, or a file it failed to load. */
export interface NodePluginRow {
  name: string;
  version: string;
  sha256: string;
  state: string;
  file: string;
  error: string;
}

/** Asks one node which plugins it holds (COPR.LIST), one row per plugin version or failed file. */
export async function listNodePlugins(node: RespConnection): Promise<NodePluginRow[]> {
  const rows = (await node.call(['COPR.LIST'])) as Buffer[][];
  return rows.map((row) => {
    const [name, version, sha256, state, file, error] = row.map((v) => v.toString('utf8'));
    return { name: name!, version: version!, sha256: sha256!, state: state!, file: file!, error: error ?? '' };
  });
}

export function pluginFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => path.join(dir, f));
}

export async function deployDirectory(placement: RespConnection, dir: string): Promise<DeployOutcome[]> {
  const outcomes: DeployOutcome[] = [];
  for (const file of pluginFiles(dir)) outcomes.push(await deployFile(placement, file));
  return outcomes;
}

/**
 * Watches a plugin directory; each changed file is redeployed after `debounceMs` of quiet, so an
 * editor's several writes make one deployment. Returns a function that stops watching.
 */
export function watchDirectory(placement: RespConnection, dir: string, onOutcome: (o: DeployOutcome) => void, debounceMs = 150): () => void {
  const timers = new Map<string, NodeJS.Timeout>();
  const redeploy = async (file: string): Promise<void> => {
    const full = path.join(dir, file);
    if (existsSync(full)) {
      const outcome = await deployFile(placement, full).catch((err: unknown) => ({ file, ok: false, message: String(err) }));
      onOutcome(outcome);
      return;
    }
    // Deleted: undeploy whatever placement holds from this file (deployed at start, by an earlier
    // change, or by an earlier run against the same cluster).
    try {
      const artifacts = JSON.parse(String(await placement.call(['PD.PLUGIN.LIST']))) as Array<{ name: string; version: string; file: string }>;
      for (const a of artifacts.filter((x) => x.file === file)) {
        await placement.call(['PD.PLUGIN.UNDEPLOY', a.name, a.version]);
        onOutcome({ file, ok: true, message: `undeployed ${a.name}@${a.version}` });
      }
    } catch (err) {
      onOutcome({ file, ok: false, message: `undeploy failed: ${String(err)}` });
    }
  };
  const watcher: FSWatcher = watch(dir, (_event, filename) => {
    if (!filename || !filename.endsWith('.ts') || filename.endsWith('.test.ts')) return;
    clearTimeout(timers.get(filename));
    timers.set(
      filename,
      setTimeout(() => {
        timers.delete(filename);
        void redeploy(filename);
      }, debounceMs),
    );
  });
  return () => {
    watcher.close();
    for (const t of timers.values()) clearTimeout(t);
  };
}
