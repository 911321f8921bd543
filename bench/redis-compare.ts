/**
 * redis-benchmark against a one-node copbench cluster, next to `redis-server` processes the bench
 * starts itself (free loopback port, temp dir) on the same machine in the same run:
 *
 * - GET is compared with a default redis-server;
 * - SET with a redis-server as durable as copbench (`--appendonly yes --appendfsync always`: a write
 *   is acknowledged after its AOF write is fsynced; copbench acknowledges after the LMDB commit is
 *   flushed).
 *
 * When the node already holds rows (the full bench has loaded its point and scan datasets), both
 * redis-servers are loaded with the same rows first.
 *
 * A fourth server, bench/bare-server.ts, is the floor the node is read against: Node.js and lmdb-js
 * with the node's RESP code and nothing else. copbench ÷ bare is what the engine costs; bare ÷
 * redis-server is what the runtime costs. Those rows have no goal.
 *
 * Each configuration (50 clients without pipelining, and -P 16) runs the four servers in turn,
 * `reps` times alternating; the median is reported. Goals: GET ≥ 0.8×, SET ≥ 0.8×.
 *
 * SET and GET run as two redis-benchmark processes, so the CPU each server and each redis-benchmark
 * used can be told apart per test: on a machine with few cores the server and the load generator
 * share them, and CPU per request (server + redis-benchmark) is what bounds the request rate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { RespConnection } from '../engine/client/connection';
import { cpuSince, processCpu, type ProcessCpu } from '../engine/util/process-cpu';
import { spawnBenchChild } from './child';
import { ratioAtLeast, type NewRow } from './goals';

export interface RedisCompareConfig {
  requests: number;
  clients: number;
  reps: number;
  /** Pipeline depths to run (-P). */
  pipelines: number[];
  /**
   * Rows the node already holds (the full bench has loaded its scan dataset by then): each
   * redis-server gets the same rows before it is measured, so both sides answer from the same
   * keyspace size. An LMDB commit copies more pages in a deeper B-tree.
   */
  preload?: { keys: Buffer[]; values: Buffer[] };
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

/** The node's write-ahead-log counters (INFO persistence): how its writes were grouped. */
interface WalCounters {
  groups: number;
  writes: number;
  inlineSyncs: number;
}

async function walCounters(host: string, port: number): Promise<WalCounters | undefined> {
  const conn = new RespConnection({ host, port, connectTimeoutMs: 1000, requestTimeoutMs: 5000 });
  try {
    const text = String(await conn.call(['INFO', 'persistence']));
    const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    const counters = { groups: field('wal_groups'), writes: field('wal_writes'), inlineSyncs: field('wal_inline_syncs') };
    return Object.values(counters).every(Number.isFinite) ? counters : undefined;
  } catch {
    return undefined;
  } finally {
    conn.close();
  }
}

/** MSETs `rows` into the server at host:port, 1000 rows per command. */
async function loadRows(host: string, port: number, rows: { keys: Buffer[]; values: Buffer[] }): Promise<void> {
  const conn = new RespConnection({ host, port, connectTimeoutMs: 1000, requestTimeoutMs: 30_000 });
  try {
    for (let at = 0; at < rows.keys.length; at += 1000) {
      const args: Array<Buffer | string> = ['MSET'];
      for (let i = at; i < Math.min(at + 1000, rows.keys.length); i++) args.push(rows.keys[i]!, rows.values[i]!);
      await conn.call(args);
    }
    const size = await conn.call(['DBSIZE']);
    if (typeof size !== 'number' || size < rows.keys.length) throw new Error(`redis-server on port ${port} holds ${String(size)} keys after loading ${rows.keys.length}`);
  } finally {
    conn.close();
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

type Test = 'SET' | 'GET';
/** The bare Node.js server's name among the servers measured. */
const BARE = 'bare Node.js server';
const TESTS: readonly Test[] = ['SET', 'GET'];

export interface BenchmarkResult {
  rps: number;
  p50Ms?: number;
}

export interface BenchmarkRun {
  /** By test name (SET, GET). */
  results: Map<string, BenchmarkResult>;
  /** CPU redis-benchmark itself used (from the shell's `times`), when it could be read. */
  cpu?: ProcessCpu;
}

/**
 * The children's CPU times a POSIX shell's `times` printed last ("0m1.230000s 0m0.450000s"):
 * the shell runs redis-benchmark as its only child, since Node cannot read a child's rusage.
 */
function parseTimes(stderr: string): ProcessCpu | undefined {
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(stderr);
  return m ? { userSeconds: Number(m[1]) * 60 + Number(m[2]), systemSeconds: Number(m[3]) * 60 + Number(m[4]) } : undefined;
}

/** Runs `redis-benchmark -q` and parses its final lines ("SET: 12345.67 requests per second, p50=0.327 msec"). */
export async function runRedisBenchmark(exe: string, host: string, port: number, args: string[]): Promise<BenchmarkRun> {
  const all = ['-h', host, '-p', String(port), '-q', ...args];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', '"$0" "$@"; status=$?; times >&2; exit $status', exe, ...all], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  const cpu = parseTimes(stderr);
  return { results: found, ...(cpu ? { cpu } : {}) };
}

/** CPU µs per request of one server and of the redis-benchmark driving it, over the measured runs of one test. */
class CpuPerRequest {
  private server = { userSeconds: 0, systemSeconds: 0 };
  private benchmark = { userSeconds: 0, systemSeconds: 0 };
  private requests = 0;
  private complete = true;

  add(server: ProcessCpu | undefined, benchmark: ProcessCpu | undefined, requests: number): void {
    if (!server || !benchmark) {
      this.complete = false;
      return;
    }
    this.server = sum(this.server, server);
    this.benchmark = sum(this.benchmark, benchmark);
    this.requests += requests;
  }

  /** µs per request (user + system) of the server and of redis-benchmark, or undefined when a reading was missing. */
  perRequest(): { server: number; serverUser: number; benchmark: number } | undefined {
    if (!this.complete || this.requests === 0) return undefined;
    const us = (seconds: number): number => (seconds * 1e6) / this.requests;
    return { server: us(this.server.userSeconds + this.server.systemSeconds), serverUser: us(this.server.userSeconds), benchmark: us(this.benchmark.userSeconds + this.benchmark.systemSeconds) };
  }
}

function sum(a: ProcessCpu, b: ProcessCpu): ProcessCpu {
  return { userSeconds: a.userSeconds + b.userSeconds, systemSeconds: a.systemSeconds + b.systemSeconds };
}

/** A server redis-benchmark is pointed at; `pid` is how its CPU time is read (none: not read). */
interface BenchedServer {
  name: string;
  port: number;
  pid: number | undefined;
}

/** The measured runs of one server, per test: req/s, p50 lines, CPU per request. */
type Samples = Record<Test, { rps: number[]; p50: string[]; cpu: CpuPerRequest }>;

/** What one pipeline depth measured, for its rows. */
interface DepthSamples {
  /** How the rows name the configuration, e.g. `-c 50 -P 16 -n 800000`. */
  label: string;
  reps: number;
  byServer: Map<string, Samples>;
  /** How the node grouped the measured SETs: the cost of a durable write depends on it. */
  grouping: WalCounters;
}

/**
 * Compares the copbench node at host:port with a default and a durable redis-server, GET and SET,
 * for each pipeline depth. Prints a clear skip line when redis-server or redis-benchmark is missing.
 */
export async function benchRedisCompare(cfg: RedisCompareConfig, deps: RedisCompareDeps, node: { host: string; port: number; pid?: number }): Promise<void> {
  const benchmark = findExecutable('redis-benchmark', ['/usr/bin/redis-benchmark']);
  if (!benchmark) {
    deps.note('redis-benchmark not found (PATH, /usr/bin): redis comparison skipped; install redis-tools to include it');
    return;
  }
  const servers: BenchedServer[] = [{ name: 'copbench', port: node.port, pid: node.pid }, ...(await startRedisServers(deps, node.host))];
  servers.push(await startBareServer(deps));
  if (cfg.preload) await preloadServers(deps, node.host, servers.slice(1), cfg.preload);
  for (const pipeline of cfg.pipelines) {
    const depth = await measurePipelineDepth(cfg, benchmark, node.host, servers, pipeline);
    addVersusRedisRows(deps, depth, 'GET', 'redis default', 'redis-server (default, no persistence)');
    addVersusRedisRows(deps, depth, 'SET', 'redis durable', 'redis-server appendonly yes, appendfsync always');
    addVersusBareRows(deps, depth);
  }
  await deps.cleanupNow('bare-server');
  await deps.cleanupNow('redis-server durable');
  await deps.cleanupNow('redis-server default');
}

/** A default and a durable redis-server, or none (with a note) when redis-server is not installed. */
async function startRedisServers(deps: RedisCompareDeps, host: string): Promise<BenchedServer[]> {
  const serverExe = findExecutable('redis-server', ['/usr/bin/redis-server']);
  if (!serverExe) {
    deps.note('redis-server not found (PATH, /usr/bin): copbench numbers below have no redis-server baseline; install redis-server to include it');
    return [];
  }
  // Default settings except `save ""`: a background RDB snapshot forking mid-measurement would be noise, not the steady state.
  const plain = await startRedisServer(serverExe, host, deps.tempDir('redis-default'), ['--save', '', '--appendonly', 'no']);
  deps.onCleanup('redis-server default', () => stopProcess(plain.child));
  const durable = await startRedisServer(serverExe, host, deps.tempDir('redis-durable'), ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always']);
  deps.onCleanup('redis-server durable', () => stopProcess(durable.child));
  return [
    { name: 'redis default', port: plain.port, pid: plain.child.pid },
    { name: 'redis durable', port: durable.port, pid: durable.child.pid },
  ];
}

/** bench/bare-server.ts in a child process, on the port it reports. */
async function startBareServer(deps: RedisCompareDeps): Promise<BenchedServer> {
  const bare = spawnBenchChild('bare-server.ts', [deps.tempDir('bare-server')]);
  deps.onCleanup('bare-server', () => bare.stop());
  const barePort = (await bare.nextMessage<{ port: number }>(30_000)).port;
  return { name: BARE, port: barePort, pid: bare.child.pid };
}

/** Loads the rows the node holds into every other server, so each answers from the same keyspace size. */
async function preloadServers(deps: RedisCompareDeps, host: string, servers: BenchedServer[], rows: { keys: Buffer[]; values: Buffer[] }): Promise<void> {
  const t0 = performance.now();
  for (const server of servers) await loadRows(host, server.port, rows);
  deps.note(`redis-benchmark: the redis-servers and the bare server were loaded with the ${rows.keys.length} rows the node holds, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** One unmeasured pass per server, then `reps` measured rounds of SET and GET on every server in turn. */
async function measurePipelineDepth(cfg: RedisCompareConfig, benchmark: string, host: string, servers: BenchedServer[], pipeline: number): Promise<DepthSamples> {
  // -n scales with the pipeline depth, so a pipelined run lasts about as long as an unpipelined one
  // (at -P 16, -n 50000 is ~0.1 s: connection set-up and the node's JIT warm-up would be most of it).
  const requests = cfg.requests * pipeline;
  const label = `-c ${cfg.clients}${pipeline > 1 ? ` -P ${pipeline}` : ' (no pipelining)'} -n ${requests}`;
  const common = ['-n', String(requests), '-c', String(cfg.clients), '-P', String(pipeline)];
  process.stdout.write(`\nredis-benchmark ${label}: ${servers.map((s) => s.name).join(', ')}\n`);
  // One unmeasured pass per server first: every other group of this bench measures after a warm-up too.
  for (const s of servers) await runRedisBenchmark(benchmark, host, s.port, ['-t', 'set,get', ...common]);
  const depth: DepthSamples = { label, reps: cfg.reps, byServer: new Map(servers.map((s) => [s.name, freshSamples()])), grouping: { groups: 0, writes: 0, inlineSyncs: 0 } };
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const s of servers) {
      // SET first, so GET reads a key that exists (redis-benchmark's key:__rand_int__ on every server).
      for (const test of TESTS) await measureOnce(benchmark, host, s, test, common, requests, depth);
    }
  }
  return depth;
}

function freshSamples(): Samples {
  return { SET: { rps: [], p50: [], cpu: new CpuPerRequest() }, GET: { rps: [], p50: [], cpu: new CpuPerRequest() } };
}

/** One measured redis-benchmark run of `test` against `s`: its req/s, p50, CPU, and (copbench SET) the node's write grouping. */
async function measureOnce(benchmark: string, host: string, s: BenchedServer, test: Test, common: string[], requests: number, depth: DepthSamples): Promise<void> {
  const walBefore = s.name === 'copbench' && test === 'SET' ? await walCounters(host, s.port) : undefined;
  const before = s.pid === undefined ? undefined : processCpu(s.pid);
  const run = await runRedisBenchmark(benchmark, host, s.port, ['-t', test.toLowerCase(), ...common]);
  const after = s.pid === undefined ? undefined : processCpu(s.pid);
  const walAfter = walBefore ? await walCounters(host, s.port) : undefined;
  if (walBefore && walAfter) for (const k of ['groups', 'writes', 'inlineSyncs'] as const) depth.grouping[k] += walAfter[k] - walBefore[k];
  const got = run.results.get(test);
  if (!got) throw new Error(`redis-benchmark -t ${test.toLowerCase()} against ${s.name} did not report ${test}`);
  const entry = depth.byServer.get(s.name)![test];
  entry.rps.push(got.rps);
  entry.p50.push(`${test} p50 ${got.p50Ms ?? '?'} ms`);
  entry.cpu.add(before && after ? cpuSince(before, after) : undefined, run.cpu, requests);
}

/** copbench against redis-server `redisName` (goal 0.8×), and the CPU per request of both. */
function addVersusRedisRows(deps: RedisCompareDeps, depth: DepthSamples, test: Test, redisName: string, baseName: string): void {
  const copbench = depth.byServer.get('copbench')![test];
  const base = depth.byServer.get(redisName)?.[test];
  const { grouping } = depth;
  deps.add({
    group: 'redis-benchmark',
    measurement: `redis-benchmark ${test} ${depth.label}, 1-node cluster${test === 'SET' ? ' (durable)' : ''}`,
    unit: 'req/s',
    copbench: deps.median(copbench.rps),
    baseline: base ? deps.median(base.rps) : null,
    baselineName: base ? baseName : '— (redis-server missing)',
    goal: ratioAtLeast(0.8),
    copbenchSamples: copbench.rps,
    ...(base ? { baselineSamples: base.rps } : {}),
    note: `copbench ${copbench.p50.at(-1)}${base ? `; redis ${base.p50.at(-1)}` : ''}${test === 'SET' && grouping.groups > 0 ? `; the node committed the measured SETs in ${grouping.groups} groups (${(grouping.writes / grouping.groups).toFixed(1)} writes each, ${grouping.inlineSyncs} synced inline)` : ''}`,
  });
  addCpuRow(deps, depth, test, copbench.cpu, base?.cpu, baseName);
}

/**
 * No goal: it explains the ratio above. The lower the server's CPU per request, the more of the
 * shared cores are left to redis-benchmark, whose own CPU per request is shown too.
 */
function addCpuRow(deps: RedisCompareDeps, depth: DepthSamples, test: Test, copbench: CpuPerRequest, base: CpuPerRequest | undefined, baseName: string): void {
  const mine = copbench.perRequest();
  const theirs = base?.perRequest();
  if (!mine) return;
  const user = (c: { server: number; serverUser: number }): string => `${c.serverUser.toFixed(2)} user + ${(c.server - c.serverUser).toFixed(2)} sys`;
  deps.add({
    group: 'redis-benchmark',
    measurement: `server CPU per request, ${test} ${depth.label}`,
    unit: 'µs/req',
    copbench: mine.server,
    baseline: theirs ? theirs.server : null,
    baselineName: theirs ? baseName : '—',
    ratio: null,
    note: `all threads, user + system, over ${depth.reps} runs; copbench ${user(mine)}${theirs ? `, redis ${user(theirs)}` : ''}; redis-benchmark itself used ${mine.benchmark.toFixed(2)} µs/req against copbench${theirs ? `, ${theirs.benchmark.toFixed(2)} against redis` : ''}`,
  });
}

/** copbench against the bare Node.js server (no goal): what the engine costs over the least a Node.js server does. */
function addVersusBareRows(deps: RedisCompareDeps, depth: DepthSamples): void {
  const copbench = depth.byServer.get('copbench')!;
  const floor = depth.byServer.get(BARE)!;
  for (const [test, redisName] of [['GET', 'redis default'], ['SET', 'redis durable']] as const) {
    const bareRps = deps.median(floor[test].rps);
    const redis = depth.byServer.get(redisName);
    const cpu = (c: CpuPerRequest): string => c.perRequest()?.server.toFixed(2) ?? '?';
    deps.add({
      group: 'redis-benchmark',
      measurement: `redis-benchmark ${test} ${depth.label}: copbench vs the bare Node.js server`,
      unit: 'req/s',
      copbench: deps.median(copbench[test].rps),
      baseline: bareRps,
      baselineName: 'bench/bare-server.ts (Node.js, lmdb-js and the node\'s RESP code only)',
      copbenchSamples: copbench[test].rps,
      baselineSamples: floor[test].rps,
      note: `no goal: the engine's cost over the least a Node.js server does. Bare server ÷ redis-server: ${redis ? `${(bareRps / deps.median(redis[test].rps)).toFixed(2)}×` : '— (redis-server missing)'}; server CPU per request copbench ${cpu(copbench[test].cpu)} µs, bare ${cpu(floor[test].cpu)} µs`,
    });
  }
}
