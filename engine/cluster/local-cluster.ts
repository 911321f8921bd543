/**
 * The embedded default: starts a placement service and N storage nodes as separate OS processes on
 * loopback, each in its own data directory, and hands back their addresses, process control
 * (kill -9, restart, add a node) and `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { RespConnection } from '../client/connection';
import { decodeClusterMap, type ClusterMap } from '../placement/cluster-map';
import { parseInfo } from '../node/info';
import { deployDirectory, watchDirectory, type DeployOutcome } from './plugin-deployer';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface LocalClusterOptions {
  nodes?: number;
  /** The placement service's port (0 or absent: any free port), so that its address is stable. */
  placementPort?: number;
  /** Where data lives; a fresh temp dir (deleted by stop) when omitted. */
  dataDir?: string;
  host?: string;
  adminToken?: string;
  splitKeys?: number;
  splitBytes?: number;
  autoBalance?: boolean;
  autoSplit?: boolean;
  heartbeatMs?: number;
  nodeTimeoutMs?: number;
  /** Ms to wait for a process to print its ready line. */
  startTimeoutMs?: number;
  /** Plugins deployed at start (default: the repository's plugins/); false deploys none. */
  pluginsDir?: string | false;
  /** Redeploy a plugin file when it changes (hot reload). */
  watchPlugins?: boolean;
  /** Extra flags for every node process (e.g. coprocessor limits). */
  nodeArgs?: string[];
  /**
   * Where each process runs: the address it binds and command words put before `node` (e.g.
   * `ip netns exec <namespace>`). Default: every process on `host`, started as is.
   */
  processHost?: (role: ProcessHandle['role'], id: number) => { host: string; commandPrefix: string[] };
}

export interface ProcessHandle {
  role: 'placement' | 'node';
  id: number;
  host: string;
  port: number;
  pid: number;
  dataDir: string;
  logFile: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * The node arguments of one of the repository's npm scripts (`placement`, `node`): a local cluster
 * starts its processes with exactly the commands a user runs on each host of a multi-machine
 * deployment (docs/multi-machine.md), so the tests of local and namespaced clusters run that path.
 * npm itself is left out: it would put a process of its own between the cluster and each server.
 */
function npmScriptArgs(script: 'placement' | 'node'): string[] {
  const scripts = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  const [program, ...args] = (scripts[script] ?? '').trim().split(/\s+/);
  if (program !== 'node' || args.length === 0) throw new Error(`package.json's "${script}" script is not a node command (${JSON.stringify(scripts[script] ?? null)}): the local cluster starts its processes through it`);
  return args;
}

/**
 * Launches an engine process through its npm script's command (the swc require hook: transpile
 * only, fast start-up). With COPBENCH_CPU_PROF_DIR set, every process writes a V8 CPU profile there
 * when it exits (NODE_OPTIONS does not accept --cpu-prof).
 */
function spawnEntry(script: 'placement' | 'node', args: string[], logFile: string, commandPrefix: string[] = []): ChildProcess {
  const log = openSync(logFile, 'a');
  const profileDir = process.env.COPBENCH_CPU_PROF_DIR;
  const profileArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profileDir)] : [];
  // A prefix such as `ip netns exec <ns>` execs node in place: the child's pid is node's own.
  const words = [...commandPrefix, process.execPath, ...profileArgs, '--enable-source-maps', ...npmScriptArgs(script), ...args];
  try {
    return spawn(words[0]!, words.slice(1), {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', log],
    });
  } finally {
    closeSync(log);
  }
}

function waitReady(child: ChildProcess, logFile: string, timeoutMs: number): Promise<{ port: number; pid: number }> {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    const fail = (why: string): void => {
      clearTimeout(timer);
      let tail = '';
      try {
        tail = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      } catch {
        /* no log yet */
      }
      reject(new Error(`${why}; log ${logFile}:\n${tail}`));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`process did not become ready within ${timeoutMs} ms`);
    }, timeoutMs);
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { ready?: boolean; port: number; pid: number };
        if (msg.ready) {
          clearTimeout(timer);
          resolve({ port: msg.port, pid: msg.pid });
        }
      } catch {
        /* not the ready line */
      }
    });
    child.once('exit', (code) => fail(`process exited with code ${code} before it was ready`));
  });
}

export class LocalCluster {
  readonly adminToken: string;
  readonly host: string;
  placement!: ProcessHandle;
  readonly nodes = new Map<number, ProcessHandle>();
  private readonly ownsDir: boolean;
  private stopped = false;
  private readonly exitHook = (): void => this.killAllNow();
  /** What deploying the plugin directory at start (and later hot reloads) reported, per file. */
  readonly pluginDeployments: DeployOutcome[] = [];
  private stopWatching: (() => void) | undefined;
  private adminLink: RespConnection | undefined;

  private constructor(
    readonly dataDir: string,
    private readonly options: LocalClusterOptions,
  ) {
    this.ownsDir = options.dataDir === undefined;
    this.adminToken = options.adminToken ?? randomBytes(16).toString('hex');
    this.host = options.host ?? '127.0.0.1';
  }

  /** Starts placement and the nodes, and waits until every node is up in the map. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'copbench-'));
    mkdirSync(dataDir, { recursive: true });
    const cluster = new LocalCluster(dataDir, options);
    process.once('exit', cluster.exitHook);
    try {
      await cluster.startPlacement();
      const count = options.nodes ?? 3;
      await Promise.all(Array.from({ length: count }, (_, i) => cluster.startNode(i + 1)));
      await cluster.waitForNodesUp(count);
      await cluster.deployPlugins();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** An authenticated connection to placement, for admin commands (kept open until stop). */
  placementAdmin(): RespConnection {
    if (!this.adminLink) this.adminLink = new RespConnection({ host: this.placement.host, port: this.placement.port, adminToken: this.adminToken, requestTimeoutMs: 60_000 });
    return this.adminLink;
  }

  private async deployPlugins(): Promise<void> {
    const dir = this.options.pluginsDir === undefined ? path.join(REPO_ROOT, 'plugins') : this.options.pluginsDir;
    if (dir === false) return;
    this.pluginDeployments.push(...(await deployDirectory(this.placementAdmin(), dir)));
    if (this.options.watchPlugins) this.stopWatching = watchDirectory(this.placementAdmin(), dir, (o) => this.pluginDeployments.push(o));
  }

  get placementAddress(): string {
    return `${this.placement.host}:${this.placement.port}`;
  }

  nodeAddress(id: number): string {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return `${n.host}:${n.port}`;
  }

  /** Starts (or restarts, on the same port and data) the placement service. */
  async startPlacement(): Promise<ProcessHandle> {
    const dir = path.join(this.dataDir, 'placement');
    mkdirSync(dir, { recursive: true });
    const o = this.options;
    const args = ['--data-dir', dir, '--host', this.where('placement', 0).host, '--port', String(this.placement?.port ?? this.options.placementPort ?? 0), '--admin-token', this.adminToken];
    if (o.splitKeys !== undefined) args.push('--split-keys', String(o.splitKeys));
    if (o.splitBytes !== undefined) args.push('--split-bytes', String(o.splitBytes));
    if (o.nodeTimeoutMs !== undefined) args.push('--node-timeout-ms', String(o.nodeTimeoutMs));
    if (o.autoBalance === false) args.push('--no-balance');
    if (o.autoSplit === false) args.push('--no-split');
    this.placement = await this.launch('placement', 0, args, dir);
    return this.placement;
  }

  /** Starts node `id` (a restart reuses its data dir and port). */
  async startNode(id: number): Promise<ProcessHandle> {
    const dir = path.join(this.dataDir, `node-${id}`);
    const previous = this.nodes.get(id);
    const args = ['--node-id', String(id), '--data-dir', dir, '--host', this.where('node', id).host, '--port', String(previous?.port ?? 0), '--placement', this.placementAddress, '--admin-token', this.adminToken];
    if (this.options.heartbeatMs !== undefined) args.push('--heartbeat-ms', String(this.options.heartbeatMs));
    if (this.options.nodeArgs) args.push(...this.options.nodeArgs);
    const handle = await this.launch('node', id, args, dir);
    this.nodes.set(id, handle);
    return handle;
  }

  /** Adds a node with the next free id and waits until placement sees it up. */
  async addNode(): Promise<ProcessHandle> {
    const id = Math.max(0, ...this.nodes.keys()) + 1;
    const handle = await this.startNode(id);
    await this.waitForNodesUp(this.nodes.size);
    return handle;
  }

  private where(role: ProcessHandle['role'], id: number): { host: string; commandPrefix: string[] } {
    return this.options.processHost?.(role, id) ?? { host: this.host, commandPrefix: [] };
  }

  private async launch(role: ProcessHandle['role'], id: number, args: string[], dir: string): Promise<ProcessHandle> {
    mkdirSync(dir, { recursive: true });
    const logFile = path.join(this.dataDir, `${role === 'node' ? `node-${id}` : 'placement'}.log`);
    const where = this.where(role, id);
    const child = spawnEntry(role, args, logFile, where.commandPrefix);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const ready = await waitReady(child, logFile, this.options.startTimeoutMs ?? 20_000);
    return { role, id, host: where.host, port: ready.port, pid: ready.pid, dataDir: dir, logFile, child, exited };
  }

  /** Sends a signal to a node (default SIGKILL) and waits for the process to exit. */
  async killNode(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    node.child.kill(signal);
    await node.exited;
  }

  async killPlacement(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.placement.child.kill(signal);
    await this.placement.exited;
  }

  /**
   * Waits until the data has spread (at least `minRegions` regions on at least `minNodes` nodes)
   * and the map has not changed for `quietMs`: the one settle loop of tests and torture runs
   * (a workload run's settle also waits for fresh heartbeats: CopbenchBackend.settle).
   */
  async waitForSpread(options: { minRegions?: number; minNodes?: number; quietMs?: number; timeoutMs?: number } = {}): Promise<ClusterMap> {
    const { minRegions = 1, minNodes = 1, quietMs = 1500, timeoutMs = 30_000 } = options;
    const deadline = Date.now() + timeoutMs;
    let stableSince = Date.now();
    let lastVersion = -1;
    for (;;) {
      const map = await this.fetchMap();
      if (map.version !== lastVersion) {
        lastVersion = map.version;
        stableSince = Date.now();
      }
      const spread = map.regions.length >= minRegions && new Set(map.regions.map((r) => r.nodeId)).size >= minNodes;
      if (spread && Date.now() - stableSince >= quietMs) return map;
      if (Date.now() > deadline) throw new Error(`the data did not spread within ${timeoutMs} ms: ${map.regions.length} regions on ${new Set(map.regions.map((r) => r.nodeId)).size} nodes (wanted ${minRegions} on ${minNodes})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The map as the placement service has it now. */
  async fetchMap(): Promise<ClusterMap> {
    const conn = new RespConnection({ host: this.placement.host, port: this.placement.port, requestTimeoutMs: 5000 });
    try {
      const reply = await conn.call(['PD.MAP']);
      return decodeClusterMap((reply as Buffer).toString('utf8'));
    } finally {
      conn.close();
    }
  }

  /** Waits until `count` nodes are registered and up (and a first region exists). */
  async waitForNodesUp(count: number, timeoutMs = 20_000): Promise<ClusterMap> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const map = await this.fetchMap();
        const up = map.nodes.filter((n) => n.up).length;
        // Placement lists a node as up as soon as it registers, a moment before the node has
        // installed its first map; only a node that has one can serve.
        if (up >= count && map.regions.length > 0 && (await this.allNodesHaveMap())) return map;
        last = `${up}/${count} nodes up`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`cluster not ready within ${timeoutMs} ms: ${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async allNodesHaveMap(): Promise<boolean> {
    const versions = await Promise.all(
      [...this.nodes.values()].map(async (n) => {
        const conn = new RespConnection({ host: n.host, port: n.port, requestTimeoutMs: 5000 });
        try {
          const info = parseInfo(((await conn.call(['INFO', 'keyspace'])) as Buffer).toString());
          return Number(info.keyspace?.map_version ?? -1);
        } finally {
          conn.close();
        }
      }),
    );
    return versions.every((v) => v > 0);
  }

  /** Stops every process (SIGTERM, then SIGKILL after a grace period) and removes a temp data dir. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.removeListener('exit', this.exitHook);
    this.stopWatching?.();
    this.adminLink?.close();
    const all = [...this.nodes.values(), ...(this.placement ? [this.placement] : [])];
    await Promise.all(
      all.map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        p.child.kill('SIGTERM');
        const timer = setTimeout(() => p.child.kill('SIGKILL'), 3000);
        await p.exited;
        clearTimeout(timer);
      }),
    );
    if (this.ownsDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  private killAllNow(): void {
    for (const p of [...this.nodes.values(), this.placement]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
  }
}
