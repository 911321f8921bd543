/**
 * Bench helper processes (the minimal pipe server, the memory-measured fetch client): spawned
 * through the swc require hook, each prints one JSON line on stdout when it is ready or done, and
 * exits when its stdin closes, so none outlives the bench even when the bench is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

const REPO_ROOT = path.resolve(__dirname, '..');

export interface BenchChild {
  child: ChildProcess;
  /** The next JSON line the child prints (rejects if it exits first). */
  nextMessage<T>(timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/** Spawns `node [nodeFlags] bench/<script> ...args` with its stdin as a lifeline. */
export function spawnBenchChild(script: string, args: string[], nodeFlags: string[] = []): BenchChild {
  const child = spawn(process.execPath, [...nodeFlags, '--require', path.join(REPO_ROOT, 'engine/runtime/register.js'), path.join(REPO_ROOT, 'bench', script), ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const lines: string[] = [];
  const waiters: Array<(line: string | undefined) => void> = [];
  let exited = false;
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line);
    else lines.push(line);
  });
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const w of waiters.splice(0)) w(undefined);
      resolve();
    }),
  );
  return {
    child,
    nextMessage<T>(timeoutMs = 600_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const take = (line: string | undefined): void => {
          clearTimeout(timer);
          if (line === undefined) reject(new Error(`bench/${script} exited (code ${child.exitCode}) before answering; stderr: ${stderr.trim()}`));
          else resolve(JSON.parse(line) as T);
        };
        const timer = setTimeout(() => reject(new Error(`bench/${script} did not answer within ${timeoutMs} ms`)), timeoutMs);
        const line = lines.shift();
        if (line !== undefined) take(line);
        else if (exited) take(undefined);
        else waiters.push(take);
      });
    },
    async stop(): Promise<void> {
      if (!exited) {
        child.stdin!.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(timer);
      }
    },
  };
}
