/**
 * Starts a Redis Cluster on loopback for one run: N redis-server processes (`cluster-enabled yes`),
 * each in its own temp dir on a free port, joined by `redis-cli --cluster create`, and waits until
 * every node reports `cluster_state:ok`. `stop()` kills them and removes the dirs; so does the
 * process's exit, SIGINT or SIGTERM (as engine/cluster/local-cluster.ts does for copbench nodes).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RespConnection } from '../../../engine/client/connection';

/** What the run's manifest records about durability: copbench acknowledges a write once it is durable. */
export interface RedisPersistence {
  appendonly: 'yes' | 'no';
  appendfsync: 'always' | 'everysec' | 'no';
  /** RDB snapshots (`save`); off, so the AOF alone is the durable copy. */
  save: string;
}

/** `appendfsync always`: a write is fsync'd before it is acknowledged, like copbench's WAL. */
export const DURABLE_PERSISTENCE: RedisPersistence = { appendonly: 'yes', appendfsync: 'always', save: '' };

export interface RedisNodeHandle {
  host: string;
  port: number;
  pid: number;
  dir: string;
  logFile: string;
  child: ChildProcess;
  exited: Promise<void>;
}

export interface RedisClusterOptions {
  /** Primaries (no replicas); redis-cli --cluster create needs at least 3. */
  nodes?: number;
  host?: string;
  persistence?: RedisPersistence;
  /** Ms for each node to answer PING, and for the cluster to reach cluster_state:ok. */
  startTimeoutMs?: number;
}

/** A typed start failure; `code` says what to do about it. */
export class RedisLaunchError extends Error {
  constructor(
    readonly code: 'NOT_INSTALLED' | 'BAD_OPTIONS' | 'START_FAILED' | 'CREATE_FAILED' | 'NOT_READY',
    message: string,
  ) {
    super(message);
    this.name = 'RedisLaunchError';
  }
}

/** Debian packages that provide the binaries, for the error a user sees when one is missing. */
const PACKAGE_OF: Record<string, string> = { 'redis-server': 'redis-server', 'redis-cli': 'redis-tools' };

/** Throws NOT_INSTALLED naming the package when a binary is missing; returns `redis-server --version`. */
export function checkRedisInstalled(): string {
  let version = '';
  for (const binary of ['redis-server', 'redis-cli']) {
    const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new RedisLaunchError('NOT_INSTALLED', `${binary} not found: install it with \`apt-get install ${PACKAGE_OF[binary]}\` (Redis 7 or later: the pushdown path uses Functions)`);
    }
    if (binary === 'redis-server') version = probe.stdout.trim();
  }
  return version;
}

/** A port that is free now, whose cluster bus port (port + 10000) is free too. */
async function freePort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenAndClose(host, 0);
    if (port + 10000 <= 65535 && (await listenAndClose(host, port + 10000).then(() => true, () => false))) return port;
  }
  throw new RedisLaunchError('START_FAILED', 'no free port pair (port, port + 10000) found on loopback');
}

function listenAndClose(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

export class RedisCluster {
  readonly nodes: RedisNodeHandle[] = [];
  readonly version: string;
  private stopped = false;
  private readonly exitHook = (): void => this.killAllNow();
  private readonly signalHook = (signal: NodeJS.Signals): void => {
    this.killAllNow();
    process.removeListener('SIGINT', this.signalHook);
    process.removeListener('SIGTERM', this.signalHook);
    // Our handler replaced the default "exit on signal"; restore it when no one else listens.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  private constructor(
    readonly rootDir: string,
    readonly host: string,
    readonly persistence: RedisPersistence,
    version: string,
  ) {
    this.version = version;
  }

  /** Starts the nodes, creates the cluster, waits for cluster_state:ok; cleans up if any step fails. */
  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const count = options.nodes ?? 3;
    if (!Number.isInteger(count) || count < 3) throw new RedisLaunchError('BAD_OPTIONS', `a Redis Cluster needs at least 3 primaries (redis-cli --cluster create), got nodes=${count}`);
    const version = checkRedisInstalled();
    const cluster = new RedisCluster(mkdtempSync(path.join(os.tmpdir(), 'copbench-redis-')), options.host ?? '127.0.0.1', options.persistence ?? DURABLE_PERSISTENCE, version);
    process.once('exit', cluster.exitHook);
    process.on('SIGINT', cluster.signalHook);
    process.on('SIGTERM', cluster.signalHook);
    const timeoutMs = options.startTimeoutMs ?? 20_000;
    try {
      for (let i = 0; i < count; i++) cluster.nodes.push(await cluster.startNode(i + 1, timeoutMs));
      cluster.createCluster();
      await cluster.waitClusterOk(timeoutMs);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** `host:port` of every primary, in start order. */
  get addresses(): string[] {
    return this.nodes.map((n) => `${n.host}:${n.port}`);
  }

  private async startNode(id: number, timeoutMs: number): Promise<RedisNodeHandle> {
    const dir = path.join(this.rootDir, `node-${id}`);
    mkdirSync(dir, { recursive: true });
    const logFile = path.join(dir, 'redis.log');
    // A port found free may be taken before redis binds it (other processes share the machine): retry.
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort(this.host);
      const p = this.persistence;
      const args = ['--port', String(port), '--bind', this.host, '--dir', dir, '--logfile', logFile, '--daemonize', 'no', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000', '--appendonly', p.appendonly, '--appendfsync', p.appendfsync, '--save', p.save];
      // LC_ALL=C: Redis sets LC_COLLATE from the environment, which Lua string comparison uses.
      const child = spawn('redis-server', args, { stdio: 'ignore', env: { ...process.env, LC_ALL: 'C' } });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const handle: RedisNodeHandle = { host: this.host, port, pid: child.pid ?? -1, dir, logFile, child, exited };
      try {
        await waitPing(handle, timeoutMs);
        return handle;
      } catch (err) {
        lastError = err as Error;
        child.kill('SIGKILL');
        await exited;
      }
    }
    throw new RedisLaunchError('START_FAILED', `redis-server node ${id} did not start: ${lastError?.message ?? 'unknown'}`);
  }

  private createCluster(): void {
    const result = spawnSync('redis-cli', ['--cluster', 'create', ...this.addresses, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (result.error || result.status !== 0) {
      throw new RedisLaunchError('CREATE_FAILED', `redis-cli --cluster create failed (${result.error?.message ?? `exit ${result.status}`}):\n${(result.stdout + result.stderr).split('\n').slice(-15).join('\n')}`);
    }
  }

  /** Every node must agree the cluster is ok (all slots covered) before the first command. */
  private async waitClusterOk(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(this.nodes.map((n) => clusterState(n).catch((err: Error) => err.message)));
      if (states.every((s) => s === 'ok')) return;
      if (Date.now() > deadline) throw new RedisLaunchError('NOT_READY', `cluster_state not ok within ${timeoutMs} ms: ${states.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops every node (SIGTERM, SIGKILL after a grace period) and removes the temp dirs. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.removeListener('exit', this.exitHook);
    process.removeListener('SIGINT', this.signalHook);
    process.removeListener('SIGTERM', this.signalHook);
    await Promise.all(
      this.nodes.map(async (n) => {
        if (n.child.exitCode !== null || n.child.signalCode !== null) return;
        n.child.kill('SIGTERM');
        const timer = setTimeout(() => n.child.kill('SIGKILL'), 3000);
        await n.exited;
        clearTimeout(timer);
      }),
    );
    rmSync(this.rootDir, { recursive: true, force: true });
  }

  /** The last lines of a node's log, for error messages. */
  logTail(node: RedisNodeHandle, lines = 20): string {
    try {
      return readFileSync(node.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Synchronous, for 'exit' and signals: nothing async runs after them. */
  private killAllNow(): void {
    for (const n of this.nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    rmSync(this.rootDir, { recursive: true, force: true });
  }
}

async function waitPing(node: RedisNodeHandle, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedEarly = false;
  void node.exited.then(() => (exitedEarly = true));
  for (;;) {
    if (exitedEarly) throw new Error(`redis-server exited before it answered PING (port ${node.port}); log ${node.logFile}`);
    const conn = new RespConnection({ host: node.host, port: node.port, connectTimeoutMs: 500, requestTimeoutMs: 2000 });
    try {
      if (String(await conn.call(['PING'])) === 'PONG') return;
    } catch {
      /* not listening yet */
    } finally {
      conn.close();
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${node.port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function clusterState(node: Pick<RedisNodeHandle, 'host' | 'port'>): Promise<string> {
  const conn = new RespConnection({ host: node.host, port: node.port, requestTimeoutMs: 5000 });
  try {
    const info = String(await conn.call(['CLUSTER', 'INFO']));
    return /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    conn.close();
  }
}
