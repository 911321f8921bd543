/**
 * The placement service (like TiKV's PD): the only writer of the cluster map. It registers nodes
 * and tracks their heartbeats, splits regions that grow past the policy, moves regions to balance
 * nodes, persists the map so a restart keeps it, and pushes every new map to the nodes.
 *
 * Map changes run one at a time (a single async queue), so there is never a split racing a move.
 */
import { RespConnection } from '../client/connection';
import { CommandError, RespServer, type Connection, type DeferredReply, type Reply } from '../protocol/server';
import { authenticate, CommandTable, resolveCommand, type CommandSpec } from '../protocol/command-table';
import { encodeClusterMap, nodeById, showKey, validateRegions, type ClusterMap, type NodeInfo, type RegionInfo, type SplitPolicy } from './cluster-map';
import { MapStore } from './map-store';
import { PluginStore } from './plugin-store';
import { PluginLoadError } from '../coprocessor/loader';
import { PluginNotFoundError } from '../coprocessor/registry';
import type { RegionReport } from '../node/node-server';

export interface PlacementOptions {
  dataDir: string;
  host: string;
  port: number;
  adminToken: string;
  policy?: Partial<SplitPolicy>;
  /** A node missing heartbeats for this long is marked down. */
  nodeTimeoutMs?: number;
  scheduleIntervalMs?: number;
  /** Set false to keep the layout fixed (tests that move regions by hand). */
  autoBalance?: boolean;
  autoSplit?: boolean;
}

export const DEFAULT_POLICY: SplitPolicy = { splitKeys: 100_000, splitBytes: 64 * 1024 * 1024 };

interface NodeLive {
  lastHeartbeat: number;
  reports: RegionReport[];
  info: Record<string, Record<string, string | number>>;
  link: RespConnection;
}

export class PlacementServer {
  private map: ClusterMap;
  private readonly store: MapStore;
  private readonly plugins: PluginStore;
  private readonly server: RespServer;
  private readonly live = new Map<number, NodeLive>();
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private nextRegionId: number;
  /** The last id PD.NODE.ALLOC handed out (0: none yet). */
  private lastAllocatedId = 0;
  private onShutdown: (() => void) | undefined;
  /** Counts of completed operations, for INFO and tests. */
  readonly counters = { splits: 0, moves: 0, failedMoves: 0 };

  constructor(private readonly options: PlacementOptions) {
    this.store = new MapStore(options.dataDir);
    this.plugins = new PluginStore(options.dataDir);
    const loaded = this.store.load();
    const policy = { ...DEFAULT_POLICY, ...options.policy };
    if (loaded) {
      // A restart: a move in flight when we stopped is abandoned (its source still holds the rows),
      // and the version jumps so nodes accept the maps we push from now on.
      this.map = {
        ...loaded,
        policy,
        version: loaded.version + 1,
        regions: loaded.regions.map((r) => ({ ...r, state: 'serving' as const, moveTo: undefined })),
        nodes: loaded.nodes.map((n) => ({ ...n, up: false })),
      };
    } else {
      this.map = { version: 1, regions: [], nodes: [], policy };
    }
    this.nextRegionId = Math.max(0, ...this.map.regions.map((r) => r.id)) + 1;
    this.server = new RespServer({ host: options.host, port: options.port, handler: (args, conn) => this.handle(args, conn) });
  }

  async start(onShutdown?: () => void): Promise<number> {
    this.onShutdown = onShutdown;
    this.store.save(this.map);
    const port = await this.server.listen();
    this.timer = setInterval(() => this.tick(), this.options.scheduleIntervalMs ?? 500);
    return port;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const l of this.live.values()) l.link.close();
    await this.server.close();
  }

  get clusterMap(): ClusterMap {
    return this.map;
  }

  // ---- map changes (serialized) ---------------------------------------------------------------

  private serialize<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Commits a new map: persist first, then push to nodes (awaiting the ones named in `mustAck`). */
  private async commit(next: Omit<ClusterMap, 'version'>, mustAck: number[] = []): Promise<void> {
    const problem = validateRegions(next.regions);
    if (problem) throw new Error(`refusing to commit an invalid map: ${problem}`);
    this.map = { ...next, version: this.map.version + 1 };
    this.store.save(this.map);
    await this.push(mustAck);
  }

  private async push(mustAck: number[]): Promise<void> {
    const text = encodeClusterMap(this.map);
    const sends = this.map.nodes
      .filter((n) => this.live.has(n.id))
      .map((n) => {
        const p = this.live.get(n.id)!.link.call(['CLUSTER.SETMAP', text]);
        return mustAck.includes(n.id) ? p : p.catch(() => undefined);
      });
    await Promise.all(sends);
  }

  /** Splits a region at the given keys (each strictly inside it). Data stays on the same node. */
  splitRegion(regionId: number, splitKeys: Buffer[]): Promise<RegionInfo[]> {
    return this.serialize(async () => {
      const index = this.map.regions.findIndex((r) => r.id === regionId);
      const region = this.map.regions[index];
      if (!region) throw new CommandError('ERR', `no region ${regionId}`);
      if (region.state !== 'serving') throw new CommandError('TRYAGAIN', `region ${regionId} is moving`);
      const keys = [...splitKeys].sort(Buffer.compare).filter((k, i, a) => i === 0 || !k.equals(a[i - 1]!));
      for (const k of keys) {
        if (Buffer.compare(k, region.start) <= 0 || (region.end.length > 0 && Buffer.compare(k, region.end) >= 0)) {
          throw new CommandError('ERR', `split key ${showKey(k)} is not strictly inside region ${regionId}`);
        }
      }
      if (keys.length === 0) throw new CommandError('ERR', 'no split keys');
      const bounds = [region.start, ...keys, region.end];
      const pieces: RegionInfo[] = [];
      for (let i = 0; i + 1 < bounds.length; i++) {
        pieces.push({ id: i === 0 ? region.id : this.nextRegionId++, start: bounds[i]!, end: bounds[i + 1]!, epoch: region.epoch + 1, nodeId: region.nodeId, state: 'serving' });
      }
      const regions = [...this.map.regions.slice(0, index), ...pieces, ...this.map.regions.slice(index + 1)];
      await this.commit({ ...this.map, regions }, []);
      this.counters.splits++;
      return pieces;
    });
  }

  /**
   * Moves a region: freeze writes on the source and clear the target's range (both acknowledge),
   * copy the rows source → target, then hand ownership to the target with a new epoch.
   */
  moveRegion(regionId: number, targetNodeId: number): Promise<RegionInfo> {
    return this.serialize(async () => {
      const region = this.map.regions.find((r) => r.id === regionId);
      if (!region) throw new CommandError('ERR', `no region ${regionId}`);
      if (region.nodeId === targetNodeId) return region;
      const source = nodeById(this.map, region.nodeId);
      const target = nodeById(this.map, targetNodeId);
      if (!target || !this.live.has(targetNodeId)) throw new CommandError('ERR', `target node ${targetNodeId} is not up`);
      if (!source || !this.live.has(source.id)) throw new CommandError('ERR', `source node ${region.nodeId} is not up`);
      const withState = (state: RegionInfo['state'], change: Partial<RegionInfo> = {}): RegionInfo[] =>
        this.map.regions.map((r) => (r.id === regionId ? { ...r, state, moveTo: state === 'moving' ? targetNodeId : undefined, ...change } : r));
      try {
        await this.commit({ ...this.map, regions: withState('moving') }, [source.id, target.id]);
        await this.live.get(source.id)!.link.call(['CLUSTER.EXPORT', String(regionId), String(region.epoch), `${target.host}:${target.port}`]);
        await this.commit({ ...this.map, regions: withState('serving', { nodeId: targetNodeId, epoch: region.epoch + 1 }) }, [target.id, source.id]);
        this.counters.moves++;
        return this.map.regions.find((r) => r.id === regionId)!;
      } catch (err) {
        this.counters.failedMoves++;
        const current = this.map.regions.find((r) => r.id === regionId);
        if (current && current.state === 'moving') await this.commit({ ...this.map, regions: withState('serving') }).catch(() => undefined);
        throw err;
      }
    });
  }

  // ---- scheduling -----------------------------------------------------------------------------

  private ticking = false;

  private tick(): void {
    if (this.ticking) return;
    this.ticking = true;
    void this.schedule()
      .catch(() => undefined)
      .finally(() => {
        this.ticking = false;
      });
  }

  private async schedule(): Promise<void> {
    const now = Date.now();
    const timeout = this.options.nodeTimeoutMs ?? 3000;
    let changed = false;
    const nodes = this.map.nodes.map((n) => {
      const live = this.live.get(n.id);
      const up = live !== undefined && now - live.lastHeartbeat <= timeout;
      if (!up && live) {
        live.link.close();
        this.live.delete(n.id);
      }
      if (up !== n.up) changed = true;
      return { ...n, up };
    });
    if (changed) await this.serialize(() => this.commit({ ...this.map, nodes }));
    if (this.options.autoSplit !== false) await this.splitOversized();
    if (this.options.autoBalance !== false) await this.balanceOnce();
  }

  private async splitOversized(): Promise<void> {
    for (const live of this.live.values()) {
      for (const report of live.reports) {
        if (!report.splitKeys || report.splitKeys.length === 0) continue;
        const region = this.map.regions.find((r) => r.id === report.id);
        if (!region || region.epoch !== report.epoch || region.state !== 'serving') continue;
        const keys = report.splitKeys.map((k) => Buffer.from(k, 'hex'));
        report.splitKeys = undefined;
        await this.splitRegion(region.id, keys).catch(() => undefined);
      }
    }
  }

  /**
   * Regions the last heartbeats show over the split policy (with split keys proposed, or counted
   * past the threshold and about to propose them) that are still waiting for their split: a
   * layout is not settled while this is above 0. Always 0 with auto-split off.
   */
  pendingSplits(): number {
    if (this.options.autoSplit === false) return 0;
    const policy = this.map.policy;
    let pending = 0;
    for (const live of this.live.values()) {
      for (const report of live.reports) {
        const region = this.map.regions.find((r) => r.id === report.id);
        if (!region || region.epoch !== report.epoch || region.state !== 'serving') continue;
        const oversized = report.keys >= 2 && (report.keys > policy.splitKeys || report.bytes > policy.splitBytes);
        if ((report.splitKeys && report.splitKeys.length > 0) || oversized) pending++;
      }
    }
    return pending;
  }

  /** Ms since the stalest live node's last heartbeat (0 with no live node): how old the region reports may be. */
  heartbeatAgeMaxMs(): number {
    const now = Date.now();
    let age = 0;
    for (const live of this.live.values()) age = Math.max(age, now - live.lastHeartbeat);
    return age;
  }

  private async balanceOnce(): Promise<void> {
    const up = this.map.nodes.filter((n) => n.up && this.live.has(n.id));
    if (up.length < 2) return;
    const counts = up.map((n) => ({ node: n, regions: this.map.regions.filter((r) => r.nodeId === n.id) }));
    counts.sort((a, b) => a.regions.length - b.regions.length);
    const least = counts[0]!;
    const most = counts[counts.length - 1]!;
    if (most.regions.length - least.regions.length < 2) return;
    const candidate = most.regions.find((r) => r.state === 'serving');
    if (candidate) await this.moveRegion(candidate.id, least.node.id).catch(() => undefined);
  }

  // ---- commands ---------------------------------------------------------------------------------

  private handle(args: Buffer[], conn: Connection): Reply | Promise<Reply> | DeferredReply {
    return resolveCommand(PLACEMENT_COMMAND_TABLE, args, conn).spec.run.call(this, args, conn);
  }

  cmdAuth(args: Buffer[], conn: Connection): Reply {
    return authenticate(args, conn, this.options.adminToken);
  }

  cmdMap(): Reply {
    return Buffer.from(encodeClusterMap(this.map));
  }

  /**
   * A node id no node has nor was handed out before (by this process): for `npm run node` without
   * --node-id. The node keeps it in its data dir, so a restart registers under the same id.
   */
  cmdNodeAlloc(): Reply {
    const next = Math.max(0, this.lastAllocatedId, ...this.map.nodes.map((n) => n.id)) + 1;
    this.lastAllocatedId = next;
    return next;
  }

  cmdRegister(args: Buffer[]): Reply | Promise<Reply> {
    return this.register(intArg(args, 1, 'node id'), textArg(args, 2), intArg(args, 3, 'port'));
  }

  cmdDeploy(args: Buffer[]): Promise<Reply> {
    return this.deployPlugin(textArg(args, 1), textArg(args, 2));
  }

  cmdUndeploy(args: Buffer[]): Promise<Reply> {
    return this.undeployPlugin(textArg(args, 1), textArg(args, 2));
  }

  cmdPluginList(): Reply {
    return Buffer.from(JSON.stringify(this.plugins.all().map(({ source: _source, ...rest }) => rest)));
  }

  cmdHeartbeat(args: Buffer[]): Reply {
    const nodeId = intArg(args, 1, 'node id');
    const live = this.live.get(nodeId);
    const node = nodeById(this.map, nodeId);
    if (!live || !node || node.host !== textArg(args, 2) || node.port !== intArg(args, 3, 'port')) throw new CommandError('UNKNOWN', 'node not registered: send PD.REGISTER');
    live.lastHeartbeat = Date.now();
    const report = JSON.parse(textArg(args, 4)) as { regions: RegionReport[]; info: NodeLive['info'] };
    live.reports = report.regions;
    live.info = report.info;
    return 'OK';
  }

  cmdInfo(): Reply {
    return Buffer.from(
      `# Placement\r\nmap_version:${this.map.version}\r\nregions:${this.map.regions.length}\r\nnodes:${this.map.nodes.length}\r\nnodes_up:${this.map.nodes.filter((n) => n.up).length}\r\nsplits:${this.counters.splits}\r\npending_splits:${this.pendingSplits()}\r\nheartbeat_age_max_ms:${this.heartbeatAgeMaxMs()}\r\nmoves:${this.counters.moves}\r\nfailed_moves:${this.counters.failedMoves}\r\n`,
    );
  }

  cmdNodes(): Reply {
    return Buffer.from(JSON.stringify(this.map.nodes.map((n) => ({ ...n, regions: this.map.regions.filter((r) => r.nodeId === n.id).length, info: this.live.get(n.id)?.info }))));
  }

  cmdShutdown(): Reply {
    setImmediate(() => void this.stop().then(() => this.onShutdown?.()));
    return 'OK';
  }

  cmdPluginGet(args: Buffer[]): Reply {
    try {
      return Buffer.from(JSON.stringify(this.plugins.resolve(textArg(args, 1), args[2] ? textArg(args, 2) : '*')));
    } catch (err) {
      if (err instanceof PluginNotFoundError) throw new CommandError('COPR_NOT_FOUND', err.message);
      throw err;
    }
  }

  /** Validates and stores a plugin, then installs it on every live node; replies name@version sha256 and the node count. */
  private deployPlugin(file: string, source: string): Promise<Reply> {
    return this.serialize(async () => {
      let artifact;
      try {
        artifact = this.plugins.deploy(source, file);
      } catch (err) {
        if (err instanceof PluginLoadError) throw new CommandError('COPR_LOAD', `${err.code} ${err.message}`);
        throw err;
      }
      const installs = [...this.live.values()].map((l) => l.link.call(['COPR.INSTALL', artifact.file, artifact.source]));
      await Promise.all(installs);
      return `${artifact.name}@${artifact.version} ${artifact.sha256} nodes=${installs.length}`;
    });
  }

  private undeployPlugin(name: string, version: string): Promise<Reply> {
    return this.serialize(async () => {
      const removed = this.plugins.undeploy(name, version);
      if (!removed) throw new CommandError('COPR_NOT_FOUND', `${name}@${version} is not deployed`);
      await Promise.all([...this.live.values()].map((l) => l.link.call(['COPR.UNINSTALL', name, version])));
      return 'OK';
    });
  }

  private register(nodeId: number, host: string, port: number): Promise<Reply> {
    return this.serialize(async () => {
      const old = this.live.get(nodeId);
      old?.link.close();
      const link = new RespConnection({ host, port, adminToken: this.options.adminToken, requestTimeoutMs: 60_000 });
      this.live.set(nodeId, { lastHeartbeat: Date.now(), reports: [], info: {}, link });
      const existing = nodeById(this.map, nodeId);
      const node: NodeInfo = { id: nodeId, host, port, up: true };
      const nodes = existing ? this.map.nodes.map((n) => (n.id === nodeId ? node : n)) : [...this.map.nodes, node].sort((a, b) => a.id - b.id);
      // The first node to join bootstraps the keyspace as one region.
      const regions: RegionInfo[] = this.map.regions.length > 0 ? this.map.regions : [{ id: this.nextRegionId++, start: Buffer.alloc(0), end: Buffer.alloc(0), epoch: 1, nodeId, state: 'serving' }];
      // Every deployed plugin, so a node that joins (or restarts) runs the same code as the others.
      // Installed before the map that marks the node up and routes to it, so no coprocessor call
      // reaches it while it still lacks a plugin (it would answer COPR_NOT_FOUND).
      // A plugin the node refuses stays listed as failed there (COPR.LIST); it must not block the node joining.
      for (const artifact of this.plugins.all()) await link.call(['COPR.INSTALL', artifact.file, artifact.source]).catch(() => undefined);
      await this.commit({ ...this.map, nodes, regions }, [nodeId]);
      return 'OK';
    });
  }
}

const textArg = (args: Buffer[], i: number): string => args[i]?.toString('utf8') ?? '';
function intArg(args: Buffer[], i: number, what: string): number {
  const text = textArg(args, i);
  if (!/^\d{1,15}$/.test(text)) throw new CommandError('ERR', `${what} must be a non-negative integer, got '${text.slice(0, 32)}'`);
  return Number(text);
}

const PLACEMENT_COMMANDS: Record<string, CommandSpec<PlacementServer>> = {
  PING: { arity: -1, run: () => 'PONG' },
  AUTH: { arity: -2, run: PlacementServer.prototype.cmdAuth },
  'PD.MAP': { arity: -1, run: PlacementServer.prototype.cmdMap },
  'PD.REGISTER': { arity: -4, admin: true, run: PlacementServer.prototype.cmdRegister },
  'PD.NODE.ALLOC': { arity: 1, admin: true, run: PlacementServer.prototype.cmdNodeAlloc },
  'PD.HEARTBEAT': { arity: -5, admin: true, run: PlacementServer.prototype.cmdHeartbeat },
  'PD.SPLIT': { arity: -3, admin: true, run: function (args) { return this.splitRegion(intArg(args, 1, 'region id'), args.slice(2).map((a) => Buffer.from(a))).then((pieces) => pieces.map((p) => p.id)); } },
  'PD.MOVE': { arity: -3, admin: true, run: function (args) { return this.moveRegion(intArg(args, 1, 'region id'), intArg(args, 2, 'node id')).then((r) => `OK region ${r.id} epoch ${r.epoch} on node ${r.nodeId}`); } },
  'PD.NODES': { arity: -1, run: PlacementServer.prototype.cmdNodes },
  INFO: { arity: -1, run: PlacementServer.prototype.cmdInfo },
  SHUTDOWN: { arity: -1, admin: true, run: PlacementServer.prototype.cmdShutdown },
  'PD.PLUGIN.DEPLOY': { arity: -3, admin: true, run: PlacementServer.prototype.cmdDeploy },
  'PD.PLUGIN.UNDEPLOY': { arity: -3, admin: true, run: PlacementServer.prototype.cmdUndeploy },
  'PD.PLUGIN.LIST': { arity: -1, run: PlacementServer.prototype.cmdPluginList },
  'PD.PLUGIN.GET': { arity: -2, run: PlacementServer.prototype.cmdPluginGet },
  // redis-cli probes these at start-up; empty answers keep it quiet.
  COMMAND: { arity: -1, run: () => [] },
  CONFIG: { arity: -1, run: () => [] },
};

const PLACEMENT_COMMAND_TABLE = new CommandTable(PLACEMENT_COMMANDS);
