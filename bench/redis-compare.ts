/**
 * redis-benchmark against a one-node copbench cluster, next to `redis-server` processes the bench
 * starts itself (free loopback port, temp dir) on the same machine in the same run:
 *
 * - GET is compared with a default redis-server;
 * - SET with a redis-server as durable as copbench (`--appendonly yes --appendfsync always`: a write
 *   is acknowledged after its AOF write is fsynced; copbench acknowledges after the LMDB commit is
 *   flushed).
 *
 * Each configuration (50 clients without pipelining, and -P 16) runs the three servers in turn,
 * `reps` times alternating; the median is reported. Goals: GET ≥ 0.8×, SET ≥ 0.8×.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { RespConnection } from '../engine/client/connection';
import { ratioAtLeast, type NewRow } from './goals';

export interface RedisCompareConfig {
  requests: number;
  clients: number;
  reps: number;
  /** Pipeline depths to run (-P). */
  pipelines: number[];
}

export interface RedisCompareDeps {
  add(row: NewRow): void;
  note(text: string): void;
  tempDir(label: string): string;
  onCleanup(name: string, run: () => Promise<void> | void): void;
  cleanupNow(name: string): Promise<void>;
  median(values: number[]): number;
}

/** The first executable called `command` on PATH, or its usual Debian location. */
export function findExecutable(command: string, fallbacks: string[] = []): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d.length > 0);
  for (const candidate of [...dirs.map((d) => path.join(d, command)), ...fallbacks]) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** A port that was free a moment ago (bind to 0, read it, close). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

interface RedisServer {
  port: number;
  child: ChildProcess;
}

/** Starts redis-server in `dir` on a free loopback port and waits until it answers PING. */
async function startRedisServer(exe: string, host: string, dir: string, extra: string[]): Promise<RedisServer> {
  const port = await freePort(host);
  const child = spawn(exe, ['--port', String(port), '--bind', host, '--dir', dir, '--daemonize', 'no', '--protected-mode', 'no', '--logfile', path.join(dir, 'redis.log'), ...extra], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} (log: ${path.join(dir, 'redis.log')})`);
    const conn = new RespConnection({ host, port, connectTimeoutMs: 500, requestTimeoutMs: 1000 });
    try {
      if ((await conn.call(['PING'])) === 'PONG') return { port, child };
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      conn.close();
    }
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export interface BenchmarkResult {
  rps: number;
  p50Ms?: number;
}

/** Runs `redis-benchmark -q` and parses its final lines ("SET: 12345.67 requests per second, p50=0.327 msec"). */
export async function runRedisBenchmark(exe: string, host: string, port: number, args: string[]): Promise<Map<string, BenchmarkResult>> {
  const all = ['-h', host, '-p', String(port), '-q', ...args];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(exe, all, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stdout: out, stderr: err });
    });
  });
  const found = new Map<string, BenchmarkResult>();
  for (const l of stdout.split(/[\r\n]+/)) {
    const m = /^\s*(\w+):\s+([\d.]+) requests per second(?:, p50=([\d.]+) msec)?/.exec(l);
    if (m) found.set(m[1]!.toUpperCase(), { rps: Number(m[2]), ...(m[3] ? { p50Ms: Number(m[3]) } : {}) });
  }
  if (found.size === 0) throw new Error(`redis-benchmark ${all.join(' ')} exited ${code} without results; stderr: ${stderr.trim().slice(-300)}`);
  return found;
}

/**
 * Compares the copbench node at host:port with a default and a durable redis-server, GET and SET,
 * for each pipeline depth. Prints a clear skip line when redis-server or redis-benchmark is missing.
 */
export async function benchRedisCompare(cfg: RedisCompareConfig, deps: RedisCompareDeps, node: { host: string; port: number }): Promise<void> {
  const benchmark = findExecutable('redis-benchmark', ['/usr/bin/redis-benchmark']);
  if (!benchmark) {
    deps.note('redis-benchmark not found (PATH, /usr/bin): redis comparison skipped; install redis-tools to include it');
    return;
  }
  const serverExe = findExecutable('redis-server', ['/usr/bin/redis-server']);
  const servers: Array<{ name: string; port: number }> = [{ name: 'copbench', port: node.port }];
  if (!serverExe) {
    deps.note('redis-server not found (PATH, /usr/bin): copbench numbers below have no redis-server baseline; install redis-server to include it');
  } else {
    // Default settings except `save ""`: a background RDB snapshot forking mid-measurement would be noise, not the steady state.
    const plain = await startRedisServer(serverExe, node.host, deps.tempDir('redis-default'), ['--save', '', '--appendonly', 'no']);
    deps.onCleanup('redis-server default', () => stopProcess(plain.child));
    const durable = await startRedisServer(serverExe, node.host, deps.tempDir('redis-durable'), ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always']);
    deps.onCleanup('redis-server durable', () => stopProcess(durable.child));
    servers.push({ name: 'redis default', port: plain.port }, { name: 'redis durable', port: durable.port });
  }

  for (const pipeline of cfg.pipelines) {
    // -n scales with the pipeline depth, so a pipelined run lasts about as long as an unpipelined one
    // (at -P 16, -n 50000 is ~0.1 s: connection set-up and the node's JIT warm-up would be most of it).
    const requests = cfg.requests * pipeline;
    const label = `-c ${cfg.clients}${pipeline > 1 ? ` -P ${pipeline}` : ' (no pipelining)'} -n ${requests}`;
    const args = ['-t', 'set,get', '-n', String(requests), '-c', String(cfg.clients), '-P', String(pipeline)];
    process.stdout.write(`\nredis-benchmark ${label}: ${servers.map((s) => s.name).join(', ')}\n`);
    // One unmeasured pass per server first: every other group of this bench measures after a warm-up too.
    for (const s of servers) await runRedisBenchmark(benchmark, node.host, s.port, args);
    const samples = new Map<string, { set: number[]; get: number[]; p50: string[] }>(servers.map((s) => [s.name, { set: [], get: [], p50: [] }]));
    for (let rep = 0; rep < cfg.reps; rep++) {
      for (const s of servers) {
        // SET first, so GET reads a key that exists (redis-benchmark's key:__rand_int__ on every server).
        const got = await runRedisBenchmark(benchmark, node.host, s.port, args);
        const entry = samples.get(s.name)!;
        const set = got.get('SET');
        const get = got.get('GET');
        if (!set || !get) throw new Error(`redis-benchmark against ${s.name} did not report both SET and GET`);
        entry.set.push(set.rps);
        entry.get.push(get.rps);
        entry.p50.push(`SET p50 ${set.p50Ms ?? '?'} ms, GET p50 ${get.p50Ms ?? '?'} ms`);
      }
    }
    const copbench = samples.get('copbench')!;
    const addRow = (test: 'GET' | 'SET', base: { set: number[]; get: number[]; p50: string[] } | undefined, baseName: string): void => {
      const pick = (e: { set: number[]; get: number[] }): number[] => (test === 'GET' ? e.get : e.set);
      deps.add({
        group: 'redis-benchmark',
        measurement: `redis-benchmark ${test} ${label}, 1-node cluster${test === 'SET' ? ' (durable)' : ''}`,
        unit: 'req/s',
        copbench: deps.median(pick(copbench)),
        baseline: base ? deps.median(pick(base)) : null,
        baselineName: base ? baseName : '— (redis-server missing)',
        goal: ratioAtLeast(0.8),
        copbenchSamples: pick(copbench),
        ...(base ? { baselineSamples: pick(base) } : {}),
        note: `copbench ${copbench.p50.at(-1)}${base ? `; redis ${base.p50.at(-1)}` : ''}`,
      });
    };
    addRow('GET', samples.get('redis default'), 'redis-server (default, no persistence)');
    addRow('SET', samples.get('redis durable'), 'redis-server appendonly yes, appendfsync always');
  }
  await deps.cleanupNow('redis-server durable');
  await deps.cleanupNow('redis-server default');
}
