/**
 * What a run's manifest records about where it ran: the git commit, package versions and the
 * machine (no host name or user: manifests are meant to be shared).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelPageout } from './kernel-pageout';

/** The repository root (this file is workloads/driver/results/environment.ts). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

function git(cwd: string, args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return null;
  }
}

/** `git rev-parse HEAD` in `cwd` (default: the repository root), or null outside a git checkout or without git. */
export function gitCommit(cwd: string = REPO_ROOT): string | null {
  const commit = git(cwd, ['rev-parse', 'HEAD']);
  return commit && /^[0-9a-f]{40,64}$/.test(commit) ? commit : null;
}

/** Whether tracked files differ from HEAD (the commit alone does not describe the code), or null without git. */
export function gitDirty(cwd: string = REPO_ROOT): boolean | null {
  const status = git(cwd, ['status', '--porcelain', '--untracked-files=no']);
  return status === null ? null : status.length > 0;
}

/**
 * Installed versions, read from `<root>/node_modules/<name>/package.json`; null for a package that
 * is not installed there.
 */
export function packageVersions(root: string, names: ReadonlyArray<string>): Record<string, string | null> {
  const versions: Record<string, string | null> = {};
  for (const name of names) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version?: unknown };
      versions[name] = typeof pkg.version === 'string' ? pkg.version : null;
    } catch {
      versions[name] = null;
    }
  }
  return versions;
}

/** The machine a run ran on. */
export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs available to this process. */
  cpuCount: number;
  totalMemoryBytes: number;
  nodeVersion: string;
  platform: string;
  arch: string;
  osRelease: string;
  /** The kernel paging out idle memory by itself (kernel-pageout.ts), or null: absolute numbers vary more with it. */
  kernelPageout: string | null;
}

/** CPU model and count, memory, Node version and OS, without host name or user. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() || 'unknown',
    cpuCount: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    totalMemoryBytes: os.totalmem(),
    nodeVersion: process.version,
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    kernelPageout: kernelPageout(),
  };
}
