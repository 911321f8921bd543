/**
 * Deployed plugin artifacts (source + sha256), persisted by the placement service so every node,
 * including one that joins later, installs exactly the same code. Keyed by file name: deploying a
 * file again replaces what it provided (hot reload).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file';
import path from 'node:path';
import { loadPluginSource, type PluginArtifact } from '../coprocessor/loader';
import { PluginRegistry } from '../coprocessor/registry';

export class PluginStore {
  private readonly dir: string;
  /** Validates deployments the same way nodes will (typed load errors before anything is stored). */
  private readonly registry = new PluginRegistry();
  private readonly artifacts = new Map<string, PluginArtifact>();

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'plugins');
    mkdirSync(this.dir, { recursive: true });
    for (const entry of readdirSync(this.dir)) {
      if (!entry.endsWith('.json')) continue;
      const artifact = JSON.parse(readFileSync(path.join(this.dir, entry), 'utf8')) as PluginArtifact;
      this.registry.install(artifact.source, artifact.file);
      this.artifacts.set(artifact.file, artifact);
    }
  }

  /** Validates and stores a plugin; throws PluginLoadError (typed) when it does not load. */
  deploy(source: string, file: string): PluginArtifact {
    const name = path.basename(file);
    const loaded = loadPluginSource(source, name);
    this.registry.add(loaded);
    const artifact = loaded.artifact;
    const target = this.fileFor(name);
    writeFileAtomic(target, JSON.stringify(artifact), { durable: true });
    this.artifacts.set(name, artifact);
    return artifact;
  }

  /** Removes name@version; returns the artifact removed, if any. */
  undeploy(name: string, version: string): PluginArtifact | undefined {
    for (const [file, artifact] of this.artifacts) {
      if (artifact.name === name && artifact.version === version) {
        this.artifacts.delete(file);
        this.registry.remove(name, version);
        const target = this.fileFor(file);
        if (existsSync(target)) rmSync(target);
        return artifact;
      }
    }
    return undefined;
  }

  all(): PluginArtifact[] {
    return [...this.artifacts.values()];
  }

  /** The artifact a request for name + semver range resolves to (newest match). */
  resolve(name: string, range: string): PluginArtifact {
    return this.registry.resolve(name, range).artifact;
  }

  private fileFor(file: string): string {
    return path.join(this.dir, `${file.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  }
}
