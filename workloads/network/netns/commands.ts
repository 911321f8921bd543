/**
 * `ip` and `tc`, run synchronously: topology changes and cleanup must also work from an 'exit'
 * handler, where nothing asynchronous runs any more.
 */
import { execFileSync } from 'node:child_process';
import { NetworkError } from '../network';

function run(tool: string, args: string[]): string {
  try {
    return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? `${tool} is not installed (iproute2)` : (e.stderr ?? e.message).trim();
    throw new NetworkError(`${tool} ${args.join(' ')}: ${why}`);
  }
}

export const ip = (...args: string[]): string => run('ip', args);
export const tc = (...args: string[]): string => run('tc', args);
/** Runs a command in a fresh network namespace of its own, gone when the command ends (util-linux). */
export const unshareNet = (...args: string[]): string => run('unshare', ['--net', ...args]);

/** Runs a cleanup step; a failure is returned as text instead of stopping the other steps. */
export function attempt(step: () => unknown): string | null {
  try {
    step();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Names of every network namespace on the machine (`ip netns list` prints "name" or "name (id: n)"). */
export function listNamespaces(): string[] {
  return ip('netns', 'list')
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

/** Pids of the processes whose network namespace is `namespace`. */
export function namespacePids(namespace: string): number[] {
  return ip('netns', 'pids', namespace)
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}
