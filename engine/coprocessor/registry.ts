/**
 * The plugin registry: several versions per plugin name, newest-match resolution of a semver
 * range, replacement of a name@version by newer code from the same file (hot reload), and a record
 * of files that failed to load. A failure never affects the plugins already loaded.
 */
import semver from 'semver';
import { PluginLoadError, loadPluginSource, type LoadedPlugin } from './loader';

export interface PluginListing {
  name: string;
  version: string;
  sha256: string;
  file: string;
  state: 'loaded' | 'failed';
  error?: string;
}

export class PluginNotFoundError extends Error {
  readonly code = 'COPR_NOT_FOUND';
}

export class PluginRegistry {
  private readonly byName = new Map<string, Map<string, LoadedPlugin>>();
  private readonly failures = new Map<string, PluginLoadError>();

  /** Loads source and adds it. Same file + same name@version replaces; another file's is a DUPLICATE. */
  install(source: string, file: string): LoadedPlugin {
    let loaded: LoadedPlugin;
    try {
      loaded = loadPluginSource(source, file);
    } catch (err) {
      const error = err instanceof PluginLoadError ? err : new PluginLoadError('LOAD_FAILED', file, String(err));
      this.failures.set(file, error);
      throw error;
    }
    return this.add(loaded);
  }

  /** Adds an already loaded plugin (see install). */
  add(loaded: LoadedPlugin): LoadedPlugin {
    const { name, version, file } = loaded.artifact;
    const versions = this.byName.get(name) ?? new Map<string, LoadedPlugin>();
    const existing = versions.get(version);
    if (existing && existing.artifact.file !== file && existing.artifact.sha256 !== loaded.artifact.sha256) {
      const error = new PluginLoadError('DUPLICATE', file, `${name}@${version} is already provided by ${existing.artifact.file}`);
      this.failures.set(file, error);
      throw error;
    }
    // A file that now declares another name@version no longer provides its old one.
    this.removeFile(file, `${name}@${version}`);
    versions.set(version, loaded);
    this.byName.set(name, versions);
    this.failures.delete(file);
    return loaded;
  }

  /** Removes one name@version; returns whether it existed. */
  remove(name: string, version: string): boolean {
    const versions = this.byName.get(name);
    const existed = versions?.delete(version) ?? false;
    if (versions && versions.size === 0) this.byName.delete(name);
    return existed;
  }

  /** Removes whatever a file provided (file deleted), except `keep` (name@version). */
  removeFile(file: string, keep?: string): void {
    for (const [name, versions] of this.byName) {
      for (const [version, loaded] of versions) {
        if (loaded.artifact.file === file && `${name}@${version}` !== keep) versions.delete(version);
      }
      if (versions.size === 0) this.byName.delete(name);
    }
    if (keep === undefined) this.failures.delete(file);
  }

  /** The newest version of `name` satisfying `range` (default: any). */
  resolve(name: string, range = '*'): LoadedPlugin {
    const versions = this.byName.get(name);
    if (!versions || versions.size === 0) {
      throw new PluginNotFoundError(`no plugin named '${name}'; loaded: ${this.describeAll() || 'none'}`);
    }
    const best = semver.maxSatisfying([...versions.keys()], range);
    if (!best) throw new PluginNotFoundError(`no version of '${name}' satisfies '${range}'; loaded: ${[...versions.keys()].map((v) => `${name}@${v}`).join(', ')}`);
    return versions.get(best)!;
  }

  /** By exact sha256 (any name/version), for runs that must use the very same code. */
  bySha(sha256: string): LoadedPlugin | undefined {
    for (const versions of this.byName.values()) for (const loaded of versions.values()) if (loaded.artifact.sha256 === sha256) return loaded;
    return undefined;
  }

  list(): PluginListing[] {
    const rows: PluginListing[] = [];
    for (const [name, versions] of [...this.byName].sort(([a], [b]) => a.localeCompare(b))) {
      for (const [version, loaded] of [...versions].sort(([a], [b]) => semver.compare(a, b))) {
        rows.push({ name, version, sha256: loaded.artifact.sha256, file: loaded.artifact.file, state: 'loaded' });
      }
    }
    for (const [file, error] of this.failures) rows.push({ name: '', version: '', sha256: '', file, state: 'failed', error: error.message });
    return rows;
  }

  loaded(): LoadedPlugin[] {
    return [...this.byName.values()].flatMap((v) => [...v.values()]);
  }

  private describeAll(): string {
    return [...this.byName].flatMap(([name, versions]) => [...versions.keys()].map((v) => `${name}@${v}`)).join(', ');
  }
}
