/**
 * The plugins of plugins/ (the files copbench's embedded cluster deploys), compiled in this
 * process: what the spec checks consult when no cluster is given, and where a backend without a
 * plugin store of its own (Redis) takes its plugins from.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { pluginFiles } from '../engine/cluster/plugin-deployer';
import { loadPluginSource, type LoadedPlugin } from '../engine/coprocessor/loader';

/** The plugins directory the embedded cluster deploys. */
export const PLUGINS_DIR = path.resolve(__dirname, '..', 'plugins');

/** Every plugin of `dir` that loads (files that do not are left out: the cluster would refuse them too). */
export function localPlugins(dir = PLUGINS_DIR): LoadedPlugin[] {
  const plugins: LoadedPlugin[] = [];
  for (const file of pluginFiles(dir)) {
    try {
      plugins.push(loadPluginSource(readFileSync(file, 'utf8'), path.basename(file)));
    } catch {
      // A broken plugin file is reported when the cluster deploys it; it is simply not available here.
    }
  }
  return plugins;
}

/** The newest plugin `name` in `dir` matching `range`; an error naming what exists otherwise. */
export function localPlugin(name: string, range = '*', dir = PLUGINS_DIR): LoadedPlugin {
  const all = localPlugins(dir);
  const named = all.filter((p) => p.artifact.name === name);
  if (named.length === 0) throw new Error(`no plugin '${name}' in ${dir} (plugins: ${[...new Set(all.map((p) => p.artifact.name))].sort().join(', ') || 'none'})`);
  const best = semver.maxSatisfying(named.map((p) => p.artifact.version), range);
  if (!best) throw new Error(`no version of ${name} in ${dir} matches '${range}' (versions: ${named.map((p) => p.artifact.version).join(', ')})`);
  return named.find((p) => p.artifact.version === best)!;
}
