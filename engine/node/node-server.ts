/**
 * A storage node: serves RESP2 on its own port, stores rows in its LMDB environment, serves only
 * the regions the placement service assigned to it, and reports region sizes in heartbeats so the
 * placement service can split and balance.
 */
import { RespError, RespWriter, type RespValue } from '../protocol/resp';
import { CommandError, DeferredReply, EncodedReply, RespServer, type CommandOrder, type Connection, type Reply } from '../protocol/server';
import { authenticate, CommandTable, resolveCommand, type CommandSpec } from '../protocol/command-table';
import { WriteTracker } from './write-tracker';
import { RegionDataVersions } from './data-versions';
import { needsCount, uncountedRegion, type RegionSize } from './region-size';
import { NodeStore, StorageError, checkKey, type KeyRange, type Row } from '../storage/store';
import { decodeClusterMap, endReaches, minEnd, type ClusterMap, type RegionInfo } from '../placement/cluster-map';
import { RespConnection } from '../client/connection';
import { splitHostPort } from '../client/cluster-client';
import { NodeRouting } from './routing';
import { subtractRanges } from './ranges';
import { formatInfo } from './info';
import { ReusableBuffers } from '../util/reusable-buffers';
import { CoprocessorHost, DEFAULT_COPR_LIMITS, type CoprocessorLimits } from './coprocessor-host';

export interface NodeServerOptions {
  nodeId: number;
  dataDir: string;
  host: string;
  /** The address other machines reach this node at, registered with placement (default: `host`; needed when `host` is 0.0.0.0). */
  advertiseHost?: string;
  port: number;
  /** host:port of the placement service. */
  placement: string;
  adminToken: string;
  heartbeatMs?: number;
  /** Largest request accepted, all arguments together (default DEFAULT_READER_LIMITS.maxRequestBytes). */
  maxRequestBytes?: number;
  /** Largest batch a single SCANRANGE returns. */
  maxScanRows?: number;
  maxScanBytes?: number;
  /** Worker pool size and per-call limits of the coprocessor. */
  coprocessor?: Partial<CoprocessorLimits>;
}

/** What a node reports about each region it owns. */
export interface RegionReport {
  id: number;
  epoch: number;
  keys: number;
  bytes: number;
  /** Present when the region is over the split threshold: keys to split it at (hex). */
  splitKeys?: string[];
}

const DEFAULT_SCAN_ROWS = 1000;
const MAX_SCAN_ROWS = 100_000;
const DEFAULT_SCAN_BYTES = 1024 * 1024;
/**
 * SCANRANGE replies are built in reused buffers (see ReusableBuffers): room for a default batch
 * (1 MiB of rows, plus headers); a larger reply moves to a buffer of its own.
 */
const SCAN_REPLY_BUFFER_BYTES = DEFAULT_SCAN_BYTES + 64 * 1024;
const SCAN_REPLY_BUFFERS_KEPT = 4;

export class NodeServer {
  readonly routing: NodeRouting;
  readonly coprocessor: CoprocessorHost;
  private readonly store: NodeStore;
  private readonly server: RespServer;
  private placementConn: RespConnection | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly inFlightWrites = new WriteTracker();
  private readonly sizes = new Map<number, RegionSize>();
  /** Bumped by every write to a region (arrival and durability): plugin state is keyed by it. */
  private readonly dataVersions = new RegionDataVersions();
  private readonly scanReplyBuffers = new ReusableBuffers(SCAN_REPLY_BUFFER_BYTES, SCAN_REPLY_BUFFERS_KEPT);
  private mapChain: Promise<unknown> = Promise.resolve();
  private readonly startedAt = Date.now();
  private port = 0;
  private stopping = false;
  private onShutdown: (() => void) | undefined;

  /** The host placement and clients are told to use. */
  private get advertisedHost(): string {
    return this.options.advertiseHost ?? this.options.host;
  }

  constructor(private readonly options: NodeServerOptions) {
    this.routing = new NodeRouting(options.nodeId);
    this.store = NodeStore.open(options.dataDir);
    const storedId = this.store.getMeta<number>('nodeId');
    if (storedId !== undefined && storedId !== options.nodeId) {
      throw new Error(`data dir ${options.dataDir} belongs to node ${storedId}, not node ${options.nodeId}`);
    }
    this.server = new RespServer({
      host: options.host,
      port: options.port,
      handler: (args, conn) => this.handle(args, conn),
      classify: (args) => this.orderOf(args),
      readerLimits: options.maxRequestBytes === undefined ? {} : { maxRequestBytes: options.maxRequestBytes },
    });
    this.coprocessor = new CoprocessorHost(options.dataDir, this.routing, { ...DEFAULT_COPR_LIMITS, ...options.coprocessor }, (p) => this.trackWrite(p), this.dataVersions);
  }

  /** Starts serving and registering with placement; resolves with the bound port. */
  async start(onShutdown?: () => void): Promise<number> {
    this.onShutdown = onShutdown;
    await this.store.putMeta('nodeId', this.options.nodeId);
    this.port = await this.server.listen();
    const [host, port] = splitHostPort(this.options.placement);
    this.placementConn = new RespConnection({ host, port, adminToken: this.options.adminToken, requestTimeoutMs: 5000 });
    void this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.heartbeatMs ?? 500);
    return this.port;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.placementConn?.close();
    await this.server.close();
    await this.coprocessor.close();
    await this.inFlightWrites.settled();
    await this.store.close();
  }

  // ---- heartbeats and region stats -------------------------------------------------------------

  private heartbeatBusy = false;
  private registered = false;

  private async heartbeat(): Promise<void> {
    if (this.heartbeatBusy || this.stopping || !this.placementConn) return;
    this.heartbeatBusy = true;
    try {
      // Register on start and whenever placement has forgotten us (its restart): registration is
      // what makes placement push this node the map.
      if (!this.registered) {
        await this.placementConn.call(['PD.REGISTER', String(this.options.nodeId), this.advertisedHost, String(this.port)]);
        this.registered = true;
      }
      const report = JSON.stringify({ regions: this.regionReports(), info: this.infoFields() });
      const args = ['PD.HEARTBEAT', String(this.options.nodeId), this.advertisedHost, String(this.port), report];
      const reply = await this.placementConn.send(args);
      if (reply instanceof RespError && reply.code === 'UNKNOWN') this.registered = false;
    } catch {
      // Placement unreachable: keep serving what we have and try again next beat.
    } finally {
      this.heartbeatBusy = false;
    }
  }

  /**
   * Sizes of the regions we own. A region's rows are counted by a scan once after it appears and
   * again when writes may have pushed it past the split threshold (at most one scan per beat keeps
   * heartbeats cheap); in between, sizes are the count plus the writes seen since. While a region is
   * over the threshold its split keys are repeated in every report until placement splits it.
   */
  private regionReports(): RegionReport[] {
    const map = this.routing.current;
    if (!map) return [];
    const reports: RegionReport[] = [];
    let recountBudget = 1;
    for (const region of this.routing.ownedRegions()) {
      const size = this.sizeOf(region.id);
      if (recountBudget > 0 && region.state === 'serving' && needsCount(size, map.policy, performance.now())) {
        recountBudget--;
        const range = { start: region.start, end: region.end };
        const scanStart = performance.now();
        const stats = this.store.rangeStats(range, Number.MAX_SAFE_INTEGER);
        // Writes still in flight were counted when they arrived but may not be in LMDB yet (queued
        // behind a group's fdatasync): keep them counted, or a load that ends while this scan runs
        // leaves the region's size short for good (no later write triggers a recount).
        Object.assign(size, { counted: true, keys: stats.keys, bytes: stats.bytes, writesSince: this.inFlightWrites.inFlight, bytesWrittenSince: 0, splitKeys: undefined });
        const pieces = Math.ceil(2 * Math.max(stats.keys / map.policy.splitKeys, stats.bytes / map.policy.splitBytes));
        if (pieces >= 3 && stats.keys >= 2) {
          const cut = this.store.rangeStats(range, Math.max(1, Math.ceil(stats.keys / pieces)));
          size.splitKeys = cut.splitKeys.map((k) => k.toString('hex'));
        }
        size.countedAt = performance.now();
        size.countMs = size.countedAt - scanStart;
      }
      const report: RegionReport = { id: region.id, epoch: region.epoch, keys: size.keys + size.writesSince, bytes: size.bytes + size.bytesWrittenSince };
      if (size.splitKeys && size.splitKeys.length > 0) report.splitKeys = size.splitKeys;
      reports.push(report);
    }
    return reports;
  }

  private sizeOf(regionId: number): RegionSize {
    let size = this.sizes.get(regionId);
    if (!size) {
      size = uncountedRegion();
      this.sizes.set(regionId, size);
    }
    return size;
  }

  // ---- cluster map -----------------------------------------------------------------------------

  /** Applies a new map: drains writes to regions that start moving away, clears ranges we no longer hold. */
  private installMap(map: ClusterMap): Promise<void> {
    const run = async (): Promise<void> => {
      if (map.version <= this.routing.version) return;
      const before = this.routing.current;
      const heldBefore = [...this.routing.ownedRegions(before), ...this.routing.importingRegions(before)];
      const heldAfter = [...this.routing.ownedRegions(map), ...this.routing.importingRegions(map)];
      const newlyImporting = this.routing.importingRegions(map).filter((r) => !this.routing.importingRegions(before).some((b) => b.id === r.id));
      const startedMovingOut = this.routing.ownedRegions(map).filter((r) => r.state === 'moving');
      // Rows of ranges we gave away, or stale rows where an import is about to land, are deleted.
      const stale = [...subtractRanges(heldBefore, heldAfter), ...newlyImporting.map((r) => ({ start: r.start, end: r.end }))];
      this.routing.install(map);
      // Counted with the install, before any row is deleted: a coprocessor call running now
      // re-checks its region when it ends (see CoprocessorHost.exec).
      if (stale.length > 0) this.routing.releases++;
      // Size bookkeeping is per region incarnation: a split or a move (new epoch) starts it afresh.
      for (const r of this.routing.ownedRegions(map)) if (!before || !before.regions.some((b) => b.id === r.id && b.epoch === r.epoch && b.nodeId === this.options.nodeId)) this.sizes.delete(r.id);
      if (startedMovingOut.length > 0) await this.inFlightWrites.settled();
      for (const range of stale) await this.store.clearRange(range);
    };
    const next = this.mapChain.then(run, run);
    this.mapChain = next.catch(() => undefined);
    return next;
  }

  // ---- commands --------------------------------------------------------------------------------

  private handle(args: Buffer[], conn: Connection): Reply | Promise<Reply> | DeferredReply {
    const command = resolveCommand(COMMAND_TABLE, args, conn).spec;
    try {
      return command.run.call(this, args, conn);
    } catch (err) {
      if (err instanceof StorageError) throw new CommandError('ERR', err.message);
      throw err;
    }
  }

  /** How a command is ordered against unfinished commands before it on its connection (see CommandOrder). */
  private orderOf(args: Buffer[]): CommandOrder {
    const order = COMMAND_TABLE.lookup(args[0]!)?.spec.order ?? 'read';
    return typeof order === 'function' ? order.call(this, args) : order;
  }

  private trackWrite<T>(p: Promise<T>): Promise<T> {
    return this.inFlightWrites.track(p);
  }

  private noteWrite(region: RegionInfo, key: Buffer, value: Buffer | undefined): void {
    this.dataVersions.bump(region.id);
    const size = this.sizeOf(region.id);
    size.writesSince++;
    size.bytesWrittenSince += key.length + (value?.length ?? 0);
  }

  /** Once writes are durable, before they are acknowledged (see RegionDataVersions). */
  private bumpAll(regions: RegionInfo[]): void {
    for (const id of new Set(regions.map((r) => r.id))) this.dataVersions.bump(id);
  }

  cmdGet(args: Buffer[]): Reply {
    const key = args[1]!;
    this.routing.forRead(key);
    // A view, not a copy: the server encodes it before the next command reads (see CommandHandler).
    return this.store.getView(key) ?? null;
  }

  cmdSet(args: Buffer[]): DeferredReply {
    if (args.length !== 3) throw new CommandError('ERR', 'SET options (EX, PX, NX, XX, ...) are not supported: use SET key value');
    const key = args[1]!;
    const value = args[2]!;
    checkKey(key);
    const region = this.routing.forWrite(key);
    this.noteWrite(region, key, value);
    // No promise and no copies per SET: the server's reply slot, the store and the tracker take
    // callbacks, and the argument views stay valid until the group is logged and applied.
    const settle = this.inFlightWrites.begin();
    const reply = new DeferredReply();
    this.store.putWith(key, value, (err) => {
      this.dataVersions.bump(region.id);
      settle();
      if (err) reply.reject(err);
      else reply.resolve('OK');
    });
    return reply;
  }

  cmdMset(args: Buffer[]): Promise<Reply> {
    if (args.length % 2 !== 1) throw new CommandError('ERR', "wrong number of arguments for 'mset' command");
    const rows: Row[] = [];
    for (let i = 1; i < args.length; i += 2) {
      const key = args[i]!;
      checkKey(key);
      rows.push({ key: Buffer.from(key), value: Buffer.from(args[i + 1]!) });
    }
    // Check every key before writing any, so an MSET is all-or-nothing on this node.
    const regions = rows.map((r) => this.routing.forWrite(r.key));
    rows.forEach((r, i) => this.noteWrite(regions[i]!, r.key, r.value));
    return this.trackWrite(this.store.putMany(rows).finally(() => this.bumpAll(regions))).then(okReply);
  }

  cmdDel(args: Buffer[]): Promise<Reply> {
    const keys = args.slice(1).map((k) => Buffer.from(k));
    const regions = keys.map((k) => this.routing.forWrite(k));
    keys.forEach((k, i) => this.noteWrite(regions[i]!, k, undefined));
    return this.trackWrite(this.store.removeMany(keys).finally(() => this.bumpAll(regions)));
  }

  cmdMget(args: Buffer[]): Reply {
    const keys = args.slice(1);
    for (const k of keys) this.routing.forRead(k);
    return keys.map((k) => this.store.get(k) ?? null);
  }

  cmdExists(args: Buffer[]): Reply {
    let n = 0;
    for (const k of args.slice(1)) {
      this.routing.forRead(k);
      if (this.store.exists(k)) n++;
    }
    return n;
  }

  /**
   * SCANRANGE start end [LIMIT n] [MAXBYTES b] [REVERSE] [REGION id epoch]
   * Replies [next, [k1, v1, k2, v2, ...]]: `next` is where to continue (empty when the requested
   * range is exhausted within this region's part of it). A scan never crosses a region boundary:
   * the reply stops at the region's end and `next` is the region's end, where the next region begins.
   */
  cmdScanRange(args: Buffer[]): Reply {
    const start = args[1]!;
    const end = args[2]!;
    let limit = DEFAULT_SCAN_ROWS;
    let maxBytes = this.options.maxScanBytes ?? DEFAULT_SCAN_BYTES;
    let reverse = false;
    let regionRef: { id: number; epoch: number } | undefined;
    for (let i = 3; i < args.length; i++) {
      const opt = args[i]!.toString('latin1').toUpperCase();
      if (opt === 'LIMIT') limit = parseCount(args[++i], 'LIMIT', this.options.maxScanRows ?? MAX_SCAN_ROWS);
      else if (opt === 'MAXBYTES') maxBytes = parseCount(args[++i], 'MAXBYTES', 64 * 1024 * 1024);
      else if (opt === 'REVERSE') reverse = true;
      else if (opt === 'REGION') regionRef = { id: parseCount(args[++i], 'REGION id', Number.MAX_SAFE_INTEGER), epoch: parseCount(args[++i], 'REGION epoch', Number.MAX_SAFE_INTEGER) };
      else throw new CommandError('ERR', `SCANRANGE: unknown option '${opt.slice(0, 32)}' (expected LIMIT, MAXBYTES, REVERSE or REGION)`);
    }
    if (reverse) return this.scanReverse(start, end, limit, maxBytes, regionRef);
    const region = regionRef ? this.routing.forRegionRequest(regionRef.id, regionRef.epoch, { start, end }) : this.routing.forScanStart(start);
    const clippedEnd = minEnd(end, region.end);
    const buffer = this.scanReplyBuffers.take();
    const body = new RespWriter(buffer);
    // Values are views valid during the callback only: they are copied into the reply right away.
    const { rows, bytes, last } = this.store.scanViews({ start, end: clippedEnd }, { limit, maxBytes }, (key, value) => {
      body.bulk(key).bulk(value);
    });
    let next: Buffer;
    if (last && (rows >= limit || bytes >= maxBytes)) next = Buffer.concat([last, ZERO_BYTE]);
    else if (endReaches(region.end, end)) next = EMPTY;
    else next = region.end;
    const header = new RespWriter(next.length + 64).arrayHeader(2).bulk(next).arrayHeader(rows * 2);
    return new EncodedReply(header.take(), body.take()).whenWritten(() => this.scanReplyBuffers.give(buffer));
  }

  private scanReverse(start: Buffer, end: Buffer, limit: number, maxBytes: number, regionRef: { id: number; epoch: number } | undefined): Reply {
    if (!regionRef) throw new CommandError('ERR', 'SCANRANGE REVERSE needs REGION id epoch');
    const region = this.routing.forRegionRequest(regionRef.id, regionRef.epoch, { start, end });
    const rows: Buffer[] = [];
    let bytes = 0;
    let count = 0;
    for (const row of this.store.scan({ start, end: minEnd(end, region.end) }, { limit, maxBytes, reverse: true })) {
      rows.push(row.key, row.value);
      bytes += row.key.length + row.value.length;
      count++;
    }
    const last = rows[rows.length - 2];
    const next = last && (count >= limit || bytes >= maxBytes) ? last : EMPTY;
    return [next, rows];
  }

  cmdInfo(args: Buffer[]): Reply {
    const section = args[1]?.toString('latin1').toLowerCase();
    return Buffer.from(formatInfo(this.infoFields(), section));
  }

  infoFields(): Record<string, Record<string, string | number>> {
    const traffic = this.server.traffic();
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const owned = this.routing.ownedRegions();
    return {
      server: { copbench_role: 'node', node_id: this.options.nodeId, tcp_port: this.port, process_id: process.pid, uptime_in_seconds: Math.floor((Date.now() - this.startedAt) / 1000), uptime_ms: Date.now() - this.startedAt },
      clients: { connected_clients: traffic.connectionsOpen },
      memory: { used_memory_rss: mem.rss, used_memory_heap: mem.heapUsed },
      stats: { total_connections_received: traffic.connectionsTotal, total_commands_processed: traffic.commandsProcessed, total_net_input_bytes: traffic.bytesIn, total_net_output_bytes: traffic.bytesOut },
      cpu: { used_cpu_user_us: cpu.user, used_cpu_sys_us: cpu.system, used_cpu_user: (cpu.user / 1e6).toFixed(6), used_cpu_sys: (cpu.system / 1e6).toFixed(6) },
      keyspace: { keys: this.store.countAll(), regions: owned.length, map_version: this.routing.version },
      coprocessor: { plugins: this.coprocessor.registry.loaded().length, ...prefixKeys('copr_', this.coprocessor.poolCounters()) },
      persistence: this.persistenceFields(),
    };
  }

  /** The write-ahead log and checkpoints (Redis has aof_* fields in the same section). */
  private persistenceFields(): Record<string, number> {
    const p = this.store.persistenceStats();
    if (!p) return {};
    return {
      wal_groups: p.groups,
      wal_inline_syncs: p.inlineSyncs,
      wal_writes: p.writes,
      wal_bytes: p.logBytes,
      wal_segment: p.walSegment,
      wal_segment_bytes: p.walSegmentBytes,
      checkpoints: p.checkpoints,
      checkpoint_failures: p.checkpointFailures,
      last_checkpoint_ms: Number(p.lastCheckpointMs.toFixed(3)),
      recovered_frames: p.recovery.frames,
      recovered_writes: p.recovery.mutations,
      recovered_torn_bytes: p.recovery.tornBytes,
    };
  }

  cmdAuth(args: Buffer[], conn: Connection): Reply {
    return authenticate(args, conn, this.options.adminToken);
  }

  cmdSetMap(args: Buffer[]): Promise<Reply> {
    let map: ClusterMap;
    try {
      map = decodeClusterMap(args[1]!.toString('utf8'));
    } catch (err) {
      throw new CommandError('ERR', `CLUSTER.SETMAP: invalid map: ${(err as Error).message}`);
    }
    return this.installMap(map).then(okReply);
  }

  /** CLUSTER.EXPORT region epoch host:port — copies a moving region's rows to the importing node. */
  async cmdExport(args: Buffer[]): Promise<Reply> {
    const regionId = parseCount(args[1], 'region', Number.MAX_SAFE_INTEGER);
    const epoch = parseCount(args[2], 'epoch', Number.MAX_SAFE_INTEGER);
    const region = this.routing.ownedRegions().find((r) => r.id === regionId);
    if (!region || region.epoch !== epoch || region.state !== 'moving') throw new CommandError('EPOCH', `region ${regionId}@${epoch} is not moving out of this node`);
    const [host, port] = splitHostPort(args[3]!.toString('latin1'));
    const target = new RespConnection({ host, port, adminToken: this.options.adminToken, requestTimeoutMs: 30_000 });
    try {
      let copied = 0;
      let batch: Buffer[] = [];
      let batchBytes = 0;
      const sends: Promise<RespValue>[] = [];
      const sendBatch = async (): Promise<void> => {
        sends.push(target.call(['CLUSTER.INGEST', String(regionId), ...batch]));
        batch = [];
        batchBytes = 0;
        if (sends.length >= 4) await sends.shift();
      };
      for (const row of this.store.scan({ start: region.start, end: region.end })) {
        batch.push(Buffer.from(row.key), Buffer.from(row.value));
        batchBytes += row.key.length + row.value.length;
        copied++;
        if (batch.length >= 2000 || batchBytes >= 1024 * 1024) await sendBatch();
      }
      if (batch.length > 0) await sendBatch();
      await Promise.all(sends);
      return copied;
    } finally {
      target.close();
    }
  }

  /** CLUSTER.INGEST region k v ... — rows of a region being imported into this node. */
  cmdIngest(args: Buffer[]): Promise<Reply> {
    const regionId = parseCount(args[1], 'region', Number.MAX_SAFE_INTEGER);
    if (!this.routing.importingRegions().some((r) => r.id === regionId)) throw new CommandError('EPOCH', `region ${regionId} is not being imported into this node`);
    if (args.length % 2 !== 0) throw new CommandError('ERR', 'CLUSTER.INGEST needs key/value pairs');
    const rows: Row[] = [];
    for (let i = 2; i < args.length; i += 2) rows.push({ key: Buffer.from(args[i]!), value: Buffer.from(args[i + 1]!) });
    return this.trackWrite(this.store.putMany(rows)).then(() => rows.length);
  }

  cmdRegions(): Reply {
    return this.routing.ownedRegions().map((r) => [r.id, r.epoch, r.start, r.end, r.state] as RespValue[]);
  }

  cmdShutdown(): Reply {
    setImmediate(() => {
      void this.stop().then(() => this.onShutdown?.());
    });
    return 'OK';
  }
}

/** SET, MSET and CLUSTER.INGEST are blind writes (`sequenced-write`): the group committer applies them in submission order. */
const COMMANDS: Record<string, CommandSpec<NodeServer>> = {
  PING: { arity: -1, run: (args) => (args[1] ? args[1] : 'PONG') },
  ECHO: { arity: 2, run: (args) => args[1]! },
  QUIT: {
    arity: 1,
    run: (_args, conn) => {
      conn.closeAfterReply = true;
      return 'OK';
    },
  },
  GET: { arity: 2, run: NodeServer.prototype.cmdGet },
  SET: { arity: -3, order: 'sequenced-write', run: NodeServer.prototype.cmdSet },
  // DEL counts the keys that exist before deleting them.
  DEL: { arity: -2, order: 'write', run: NodeServer.prototype.cmdDel },
  MGET: { arity: -2, run: NodeServer.prototype.cmdMget },
  MSET: { arity: -3, order: 'sequenced-write', run: NodeServer.prototype.cmdMset },
  EXISTS: { arity: -2, run: NodeServer.prototype.cmdExists },
  SCANRANGE: { arity: -3, run: NodeServer.prototype.cmdScanRange },
  INFO: { arity: -1, run: NodeServer.prototype.cmdInfo },
  DBSIZE: { arity: 1, run: function () { return Number(this.infoFields().keyspace!.keys); } },
  AUTH: { arity: -2, run: NodeServer.prototype.cmdAuth },
  // redis-cli and redis-benchmark probe these at start-up; empty answers keep them quiet.
  COMMAND: { arity: -1, run: () => [] },
  CONFIG: { arity: -2, run: (args) => (args[1]!.toString('latin1').toUpperCase() === 'GET' ? configGet(args.slice(2)) : []) },
  CLIENT: { arity: -2, run: () => 'OK' },
  'CLUSTER.REGIONS': { arity: 1, run: NodeServer.prototype.cmdRegions },
  'CLUSTER.SETMAP': { arity: 2, admin: true, order: 'write', run: NodeServer.prototype.cmdSetMap },
  'CLUSTER.EXPORT': { arity: 4, admin: true, run: NodeServer.prototype.cmdExport },
  'CLUSTER.INGEST': { arity: -2, admin: true, order: 'sequenced-write', run: NodeServer.prototype.cmdIngest },
  SHUTDOWN: { arity: -1, admin: true, order: 'write', run: NodeServer.prototype.cmdShutdown },
  'COPR.EXEC': { arity: -7, order: function (args) { return this.coprocessor.orderOf(args); }, run: function (args) { return this.coprocessor.exec(args); } },
  'COPR.LIST': { arity: 1, run: function () { return this.coprocessor.list(); } },
  'COPR.ENDSESSION': { arity: 2, run: function (args) { return this.coprocessor.endSession(args); } },
  'COPR.INSTALL': { arity: 3, admin: true, order: 'write', run: function (args) { return this.coprocessor.install(args); } },
  'COPR.UNINSTALL': { arity: 3, admin: true, order: 'write', run: function (args) { return this.coprocessor.uninstall(args); } },
};

const COMMAND_TABLE = new CommandTable(COMMANDS);

/** The reply of a write once it is durable (one function for every write, not a closure per request). */
function okReply(): Reply {
  return 'OK';
}

const EMPTY = Buffer.alloc(0);

function prefixKeys(prefix: string, fields: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${prefix}${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`, v]));
}
const ZERO_BYTE = Buffer.from([0]);

/**
 * What CONFIG GET reports. redis-benchmark reads `save` and `appendonly` before a run and expects
 * [name, value] pairs (an empty array makes it warn "Could not fetch server CONFIG"). Durability
 * here is an LMDB commit per write, not RDB snapshots or an AOF.
 */
const CONFIG_VALUES: Record<string, string> = { save: '', appendonly: 'no' };

/** CONFIG GET pattern [pattern ...]: matching [name, value] pairs; glob `*` and `?`, case-insensitive. */
function configGet(patterns: Buffer[]): Reply {
  const out: Buffer[] = [];
  for (const [name, value] of Object.entries(CONFIG_VALUES)) {
    if (patterns.some((p) => globMatch(p.toString('latin1').toLowerCase(), name))) out.push(Buffer.from(name), Buffer.from(value));
  }
  return out;
}

/** Glob match with `*` and `?` in O(pattern × text) (no regex: patterns come off the wire). */
function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function parseCount(arg: Buffer | undefined, what: string, max: number): number {
  const text = arg?.toString('latin1') ?? '';
  if (!/^\d{1,15}$/.test(text)) throw new CommandError('ERR', `${what} must be a non-negative integer, got '${text.slice(0, 32)}'`);
  const n = Number(text);
  if (n > max) throw new CommandError('ERR', `${what} ${n} is over the limit of ${max}`);
  return n;
}


export type { KeyRange };
