/**
 * Test support: makes small real runs with the workload driver (its CLI, as a user would, so the
 * driver's end-of-run report step runs too) into a temporary results folder.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..');

/** A finished child process: exit code (null if killed) and its output. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a project TypeScript entry point (through the swc hook) to the end, killing it after
 * timeoutMs; `env` is added to this process's environment.
 */
export function runTs(script: string, args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', path.join(REPO_ROOT, 'engine/runtime/register.js'), path.join(REPO_ROOT, script), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `npm run workload <name> -- --size ci --out <out>` (via node directly); rejects with its output on failure. */
export async function runWorkload(name: string, out: string, extraArgs: string[] = [], timeoutMs = 240_000): Promise<ChildResult> {
  const res = await runTs('workloads/driver/cli.ts', [name, '--size', 'ci', '--out', out, ...extraArgs], timeoutMs);
  if (res.code !== 0) throw new Error(`workload ${name} exited with ${res.code ?? res.signal}\n--- stderr ---\n${res.stderr.slice(-4000)}\n--- stdout ---\n${res.stdout.slice(-2000)}`);
  return res;
}

/** Runs reports/cli.ts with arguments; resolves with its exit code and output (whatever the exit code). */
export function runReportCli(args: string[], timeoutMs = 120_000): Promise<ChildResult> {
  return runTs('reports/cli.ts', args, timeoutMs);
}

/** The run folder a workload run printed (`results: <dir>`). */
export function runDirOf(res: ChildResult): string {
  const m = /^results: (.+)$/m.exec(res.stdout);
  if (!m) throw new Error(`no 'results: <dir>' line in the workload's output:\n${res.stdout.slice(-2000)}`);
  return m[1]!.trim();
}
