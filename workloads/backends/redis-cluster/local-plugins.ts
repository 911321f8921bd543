/**
 * Plugins for a backend that has no plugin store of its own: the files of plugins/ (the ones
 * copbench's embedded cluster deploys), compiled in this process, newest version matching a
 * semver range first.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { pluginFiles } from '../../../engine/cluster/plugin-deployer';
import { loadPluginSource, type LoadedPlugin } from '../../../engine/coprocessor/loader';

export const PLUGINS_DIR = path.resolve(__dirname, '..', '..', '..', 'plugins');

const cache = new Map<string, LoadedPlugin[]>();

/** Every plugin of `dir` that loads (files that do not are left out, as a cluster would refuse them). */
export function localPlugins(dir = PLUGINS_DIR): LoadedPlugin[] {
  let plugins = cache.get(dir);
  if (!plugins) {
    plugins = [];
    for (const file of pluginFiles(dir)) {
      try {
        plugins.push(loadPluginSource(readFileSync(file, 'utf8'), path.basename(file)));
      } catch {
        // A broken plugin file is simply not available here.
      }
    }
    cache.set(dir, plugins);
  }
  return plugins;
}

/** The newest plugin `name` in `dir` matching `range`; an error naming what exists otherwise. */
export function localPlugin(name: string, range = '*', dir = PLUGINS_DIR): LoadedPlugin {
  const named = localPlugins(dir).filter((p) => p.artifact.name === name);
  if (named.length === 0) throw new Error(`no plugin '${name}' in ${dir} (plugins: ${[...new Set(localPlugins(dir).map((p) => p.artifact.name))].sort().join(', ') || 'none'})`);
  const best = semver.maxSatisfying(named.map((p) => p.artifact.version), range);
  if (!best) throw new Error(`no version of ${name} in ${dir} matches '${range}' (versions: ${named.map((p) => p.artifact.version).join(', ')})`);
  return named.find((p) => p.artifact.version === best)!;
}
