/**
 * Runs a plugin over a key range in one of two modes, with the same plugin code:
 * - `pushdown`: one COPR.EXEC per region (bounded concurrency); nodes run `handle` next to the data
 *   and send back only partial results; a region that split or moved is re-split and retried.
 * - `client`: the plugin module is loaded in this process (the artifact the cluster deployed, same
 *   sha256), and `handle` runs per region over storage that pulls the region's rows over the wire.
 * Both then call the plugin's `merge` on the partials in key order. With `onRows`, a plugin that
 * declares `streamRows` has its answer's rows handed over region by region instead (Partials, in partials.ts).
 */
import { limiter } from '../util/limiter';
import { pack, unpack } from 'msgpackr';
import { loadPluginSource, type LoadedPlugin, type PluginArtifact } from '../coprocessor/loader';
import { CheckedStorage, type RowSource } from '../coprocessor/checked-storage';
import { PluginStateStore, SESSION_ID } from '../coprocessor/state-store';
import type { KeyRange, KV } from '../plugin-api';
import { endReaches, minEnd, nodeById, type ClusterMap, type RegionInfo } from '../placement/cluster-map';
import type { NodeCallStats } from '../node/coprocessor-host';
import type { RespValue } from '../protocol/resp';
import { ClientError } from './errors';
import { CoprError } from '../coprocessor/sandbox/messages';
import type { ClusterClient, KeyLike } from './cluster-client';
import { NodeLoadTracker } from './node-load';
import { Partials, type StreamedRows } from './partials';

export type CoprocessorMode = 'pushdown' | 'client';

export interface CoprocessorCall<Req> {
  plugin: string;
  /** Semver range; newest matching version wins (default: any). */
  version?: string;
  request: Req;
  start?: KeyLike;
  end?: KeyLike;
  mode: CoprocessorMode;
  /** Regions processed at once (default 4). */
  concurrency?: number;
  deadlineMs?: number;
  /** Scan budget per region call. */
  maxRowsScanned?: number;
  /**
   * pushdown: what to do with a region whose node refuses the call as busy (COPR_BUSY, its
   * admission control): `retry` (default) it after a short backoff, up to BUSY_RETRIES times;
   * `client` — run that region client-side with the same code, so the answer is the same and the
   * busy node only serves its rows; or `fail`.
   */
  onBusy?: 'retry' | 'client' | 'fail';
  /**
   * pushdown: asked per region before it is sent; true runs that region client-side instead (with
   * the same code, so the answer is the same). For contention-aware adaptive pushdown: see
   * pushBackWhenBusy in node-load.ts, fed by `Coprocessor.load`.
   */
  pushBack?: (region: RegionInfo) => boolean;
  /**
   * The plugin keeps per-region state (ctx.state) across the calls with this id: in-node on the
   * worker each region's calls are routed to (COPR.EXEC SESSION), client-side in this Coprocessor.
   * Without it, nothing is kept. 1-64 letters, digits, `_ . : -`.
   */
  session?: string;
  /**
   * Takes the answer's rows as they arrive instead of in `result`, for a plugin whose `streamRows`
   * gives a row stream for the request (else ignored: `outcome.streamed` is null). Called in key
   * order, once per region, each time a region has answered and every region before it has; the
   * rows are not kept after it returns, so a caller that digests them never holds the whole answer.
   * Its time is left out of the call's wallMs and clientCpuUs (the caller's work, not the call's).
   */
  onRows?: (rows: unknown[]) => void;
}

export interface CoprocessorOptions {
  /**
   * What plugin state kept in this process for client-side calls of sessions may hold, MiB
   * (default: no limit; 0: keep none). Least recently used state is evicted; one state larger than
   * the whole budget is refused with COPR_STATE_TOO_LARGE.
   */
  stateMb?: number;
  /** How errors name that budget (e.g. the spec field that set it). */
  stateBudgetName?: string;
}

/** Retries of a region refused as busy (onBusy 'retry'), with backoff doubling from 2 ms to 100 ms. */
export const BUSY_RETRIES = 40;

/** Per-region numbers; node-side fields are absent in client mode. */
export interface RegionCallStats {
  regionId: number;
  rowsScanned: number;
  bytesScanned: number;
  /** Plugin CPU: the node's worker thread (pushdown) or this process (client mode, approximate). */
  pluginCpuUs: number;
  /** Round trip as the client saw it. */
  wallUs: number;
  node?: NodeCallStats;
  /**
   * pushdown: true for a region that ran client-side instead: its busy node refused it (onBusy
   * 'client'), or `pushBack` chose to (then `pushedBack` is true too).
   */
  ranClientSide?: boolean;
  pushedBack?: boolean;
  /** pushdown: how many times its busy node refused the region before it ran (onBusy 'retry'). */
  busyRetries?: number;
}

export interface CoprocessorOutcome<Res> {
  result: Res;
  mode: CoprocessorMode;
  plugin: { name: string; version: string; sha256: string };
  /** Every code version that answered (more than one only if the plugin was redeployed mid-run). */
  sha256s: string[];
  regions: RegionCallStats[];
  totals: { rowsScanned: number; bytesScanned: number; pluginCpuUs: number; rowsReturned?: number };
  /** This process's CPU during the call (user + system). */
  clientCpuUs: number;
  /** Bytes this client read from and wrote to node sockets during the call. */
  wireBytesIn: number;
  wireBytesOut: number;
  wallMs: number;
  /**
   * With onRows and a plugin row stream: the answer field the rows went to (in `result` it holds an
   * empty array of their count: `rows.length` is right, its entries are holes), how many rows went,
   * and the time onRows took (not in wallMs and clientCpuUs). Null: `result` is the whole answer.
   */
  streamed: StreamedRows | null;
}

/** A region's partial as msgpack: the bytes a node replied, or (client side) the bytes it was packed into. */
type EncodedPartial = Uint8Array;

const decodePartial = (encoded: EncodedPartial): unknown => unpack(encoded);

interface RangePiece {
  region: RegionInfo;
  range: { start: Buffer; end: Buffer };
}

const toBuf = (k: KeyLike | undefined): Buffer => (k === undefined ? Buffer.alloc(0) : typeof k === 'string' ? Buffer.from(k) : k);

/** The parts of `[start, end)` in each region of the map, in key order. */
export function splitByRegions(map: ClusterMap, start: Buffer, end: Buffer): RangePiece[] {
  const pieces: RangePiece[] = [];
  for (const region of map.regions) {
    if (region.end.length > 0 && Buffer.compare(region.end, start) <= 0) continue;
    if (end.length > 0 && Buffer.compare(region.start, end) >= 0) break;
    const s = Buffer.compare(region.start, start) > 0 ? region.start : start;
    pieces.push({ region, range: { start: s, end: minEnd(end, region.end) } });
    if (endReaches(region.end, end)) break;
  }
  return pieces;
}

/**
 * Client-mode failures take the shape pushdown failures have: a ClientError whose `serverCode` is
 * the COPR_* code (a storage check's own code, or COPR_PLUGIN_ERROR for whatever `handle` threw).
 */
function asClientError(err: unknown, where: string): ClientError {
  if (err instanceof ClientError) return err;
  if (err instanceof CoprError) return new ClientError('SERVER', `${where}: ${err.message}`, err.code);
  const e = err as { name?: string; message?: string };
  return new ClientError('SERVER', `${where}: plugin threw ${e?.name ?? 'a value'}: ${e?.message ?? String(err)}`, 'COPR_PLUGIN_ERROR');
}

/** A call's totals over its regions (or a backend's units of work). */
export function callTotals(regions: readonly RegionCallStats[]): CoprocessorOutcome<unknown>['totals'] {
  return {
    rowsScanned: regions.reduce((n, r) => n + r.rowsScanned, 0),
    bytesScanned: regions.reduce((n, r) => n + r.bytesScanned, 0),
    pluginCpuUs: regions.reduce((n, r) => n + r.pluginCpuUs, 0),
  };
}

/** What a call's pieces of work gave: their partials, per-piece stats, the code versions that answered, and the plugin that merges them. */
export interface PiecesRun<Encoded> {
  partials: Partials<Encoded>;
  regions: RegionCallStats[];
  sha256s: string[];
  plugin: LoadedPlugin;
}

/**
 * A call as every plugin runner (copbench's Coprocessor, the Redis backend's) times and reports it:
 * this process's CPU, its sockets' bytes and the wall clock around the pieces (`run`, given the
 * request as a msgpack round trip makes it, as a node decodes it) and the merge, less the time
 * the caller's onRows took.
 */
export async function measuredCall<Req, Res, Encoded>(call: CoprocessorCall<Req>, wireBytes: () => { in: number; out: number }, run: (request: Req) => Promise<PiecesRun<Encoded>>): Promise<CoprocessorOutcome<Res>> {
  const cpu0 = process.cpuUsage();
  const wire0 = wireBytes();
  const t0 = process.hrtime.bigint();
  const request = unpack(pack(call.request)) as Req;
  const { partials, regions, sha256s, plugin } = await run(request);
  const { result, streamed } = partials.answer((parts) => plugin.plugin.merge(parts, request) as Res);
  const cpu = process.cpuUsage(cpu0);
  const wire = wireBytes();
  const wallNs = process.hrtime.bigint() - t0 - partials.consumerNs;
  return {
    result,
    mode: call.mode,
    plugin: { name: plugin.artifact.name, version: plugin.artifact.version, sha256: plugin.artifact.sha256 },
    sha256s,
    regions,
    totals: callTotals(regions),
    clientCpuUs: cpu.user + cpu.system - partials.consumerCpuUs,
    wireBytesIn: wire.in - wire0.in,
    wireBytesOut: wire.out - wire0.out,
    wallMs: Number(wallNs) / 1e6,
    streamed,
  };
}

export class Coprocessor {
  /** The nodes' coprocessor load, as the replies of this client's pushdown calls report it. */
  readonly load = new NodeLoadTracker();
  private readonly modules = new Map<string, LoadedPlugin>();
  private readonly pushdownModules = new Map<string, LoadedPlugin>();
  /**
   * Plugin state of client-side calls of sessions: the same scopes as in-node (plugin sha256,
   * session, region id, epoch), so a split or move empties a region's state here too. Writes to a
   * region are not seen from here (data version 0): client-side state assumes rows that do not
   * change during the session, as any client-side cache of pulled rows does.
   */
  readonly state: PluginStateStore;

  constructor(
    private readonly client: ClusterClient,
    options: CoprocessorOptions = {},
  ) {
    const mb = options.stateMb ?? Infinity;
    this.state = new PluginStateStore(mb * 1024 * 1024, options.stateBudgetName ?? `the client's state budget of ${mb} MiB (Coprocessor option stateMb)`);
  }

  /**
   * Ends a session: frees the state this process keeps for it at once, and asks every node in the
   * map to free theirs (COPR.ENDSESSION). Without it, nodes free a session's state only when their
   * state quota needs the room.
   */
  async endSession(session: string): Promise<void> {
    this.state.dropSession(session);
    const map = await this.client.getMap();
    await Promise.all(map.nodes.map((node) => this.client.connectionTo(node, 'copr-0').call(['COPR.ENDSESSION', session])));
  }

  async run<Req, Res>(call: CoprocessorCall<Req>): Promise<CoprocessorOutcome<Res>> {
    if (call.session !== undefined && !SESSION_ID.test(call.session)) throw new ClientError('SERVER', `session must be 1-64 letters, digits or _ . : -, got ${JSON.stringify(call.session.slice(0, 32))}`, 'COPR_BAD_REQUEST');
    return measuredCall<Req, Res, EncodedPartial>(call, () => this.client.wireBytes(), (request) => (call.mode === 'pushdown' ? this.pushdown(call, request) : this.clientSide(call, request)));
  }

  /** The deployed artifact for name + range, compiled in this process (cached by sha256). */
  async loadPlugin(name: string, range = '*'): Promise<LoadedPlugin> {
    const reply = await this.client.withRetry(() => this.client.placementCall(['PD.PLUGIN.GET', name, range]));
    const artifact = JSON.parse((reply as Buffer).toString('utf8')) as PluginArtifact;
    let loaded = this.modules.get(artifact.sha256);
    if (!loaded) {
      loaded = loadPluginSource(artifact.source, artifact.file);
      this.modules.set(artifact.sha256, loaded);
    }
    return loaded;
  }


  // ---- pushdown ---------------------------------------------------------------------------------

  private async pushdown<Req>(call: CoprocessorCall<Req>, request: Req): Promise<PiecesRun<EncodedPartial>> {
    // The client needs the plugin only for `merge`: reuse the module from the last call unless the
    // nodes report other code (a redeploy), which saves a placement round trip per call.
    const cacheKey = `${call.plugin}\u0000${call.version ?? '*'}`;
    let plugin = this.pushdownModules.get(cacheKey) ?? (await this.loadPlugin(call.plugin, call.version ?? '*'));
    this.pushdownModules.set(cacheKey, plugin);
    const payload = pack(call.request);
    const slot = limiter(call.concurrency ?? 4);
    const regions: RegionCallStats[] = [];
    const shas = new Set<string>();
    const runRange = (start: Buffer, end: Buffer): Promise<EncodedPartial[]> =>
      this.client.withRetry(async () => {
        const map = await this.client.getMap();
        const pieces = splitByRegions(map, start, end);
        // The range now spans several regions (a split since we planned): fan out again.
        if (pieces.length !== 1) return (await Promise.all(pieces.map((p) => runRange(p.range.start, p.range.end)))).flat();
        const piece = pieces[0]!;
        const node = nodeById(map, piece.region.nodeId);
        if (!node) throw new ClientError('UNAVAILABLE', `node ${piece.region.nodeId} is not in the map`);
        const runHere = async (stats: Partial<RegionCallStats>): Promise<EncodedPartial[]> => {
          // The module this call merges with runs the region here: the code the nodes run.
          const ran = await slot(() => this.runRegionClientSide(plugin, payload, piece, call, this.remoteRows()));
          regions.push({ ...ran.stats, ranClientSide: true, ...stats });
          shas.add(plugin.artifact.sha256);
          return [ran.partial];
        };
        if (call.pushBack?.(piece.region)) return runHere({ pushedBack: true });
        const args: Array<Buffer | string> = ['COPR.EXEC', call.plugin, call.version ?? '*', String(piece.region.id), String(piece.region.epoch), payload, pack([[piece.range.start, piece.range.end]])];
        if (call.deadlineMs !== undefined) args.push('DEADLINE', String(call.deadlineMs));
        if (call.maxRowsScanned !== undefined) args.push('MAXROWS', String(call.maxRowsScanned));
        if (call.session !== undefined) args.push('SESSION', call.session);
        // Each concurrent call has its own connection (lane): replies on one connection come back
        // in order, so a slow region must not hold up another region's reply, nor point reads.
        // The round trip is timed from the send, not from the wait for a free lane.
        let wallUs = 0;
        let reply: RespValue | undefined;
        let busyRetries = 0;
        const onBusy = call.onBusy ?? 'retry';
        for (let backoffMs = 2; reply === undefined; backoffMs = Math.min(100, backoffMs * 2)) {
          try {
            reply = await slot(async (lane) => {
              const sent = process.hrtime.bigint();
              const r = await this.client.connectionTo(node, `copr-${lane}`).call(args);
              wallUs = Number(process.hrtime.bigint() - sent) / 1000;
              return r;
            });
          } catch (err) {
            if (!(err instanceof ClientError) || err.serverCode !== 'COPR_BUSY') throw err;
            this.load.observeRefusal(node.id);
            if (onBusy === 'fail') throw err;
            if (onBusy === 'retry') {
              if (busyRetries++ >= BUSY_RETRIES) throw err;
              await new Promise((resolve) => setTimeout(resolve, backoffMs));
              continue;
            }
            return runHere({});
          }
        }
        const [partial, statsJson, , sha] = reply as [Buffer, string, string, string];
        const stats = JSON.parse(statsJson) as NodeCallStats;
        this.load.observe(node.id, stats);
        shas.add(sha);
        regions.push({ regionId: piece.region.id, rowsScanned: stats.rowsScanned, bytesScanned: stats.bytesScanned, pluginCpuUs: stats.cpuUs, wallUs, node: stats, ...(busyRetries ? { busyRetries } : {}) });
        return [partial];
      });
    const map = await this.client.getMap();
    const initial = splitByRegions(map, toBuf(call.start), toBuf(call.end));
    const partials = Partials.forCall(plugin.plugin, request, call, decodePartial);
    await partials.collect(initial, (p) => runRange(p.range.start, p.range.end));
    if (!shas.has(plugin.artifact.sha256)) {
      plugin = await this.loadPlugin(call.plugin, call.version ?? '*');
      this.pushdownModules.set(cacheKey, plugin);
    }
    return { partials, regions, sha256s: [...shas], plugin };
  }

  // ---- client side ------------------------------------------------------------------------------

  private async clientSide<Req>(call: CoprocessorCall<Req>, request: Req): Promise<PiecesRun<EncodedPartial>> {
    const plugin = await this.loadPlugin(call.plugin, call.version ?? '*');
    const payload = pack(call.request);
    const slot = limiter(call.concurrency ?? 4);
    const map = await this.client.getMap();
    const pieces = splitByRegions(map, toBuf(call.start), toBuf(call.end));
    const regions: RegionCallStats[] = [];
    const rows = this.remoteRows();
    const partials = Partials.forCall(plugin.plugin, request, call, decodePartial);
    await partials.collect(pieces, async (piece) => {
      const { partial, stats } = await slot(() => this.runRegionClientSide(plugin, payload, piece, call, rows));
      regions.push(stats);
      return [partial];
    });
    return { partials, regions, sha256s: [plugin.artifact.sha256], plugin };
  }

  /** `handle` on one region in this process, over rows pulled through the wire. */
  private async runRegionClientSide<Req>(plugin: LoadedPlugin, payload: Uint8Array, piece: RangePiece, call: CoprocessorCall<Req>, rows: RowSource): Promise<{ partial: EncodedPartial; stats: RegionCallStats }> {
    const started = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const ranges: KeyRange[] = [piece.range];
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), call.deadlineMs ?? 600_000);
    const storage = new CheckedStorage(rows, ranges, plugin.plugin.writes === true, { maxRowsScanned: call.maxRowsScanned ?? Number.MAX_SAFE_INTEGER, maxBytesScanned: Number.MAX_SAFE_INTEGER }, controller.signal);
    try {
      // The request and the partial cross a msgpack boundary as they do in pushdown, so
      // `handle` and `merge` see the same types in both modes.
      const region = piece.region;
      const state = this.state.view(call.session === undefined ? undefined : { sha256: plugin.artifact.sha256, session: call.session, regionId: region.id, epoch: region.epoch, dataVersion: 0, ranges });
      const partial = await plugin.plugin.handle(unpack(payload), { ranges, storage, signal: controller.signal, where: 'client', state });
      const cpu = process.cpuUsage(cpu0);
      const stats: RegionCallStats = {
        regionId: piece.region.id,
        rowsScanned: storage.counters.rowsScanned,
        bytesScanned: storage.counters.bytesScanned,
        pluginCpuUs: cpu.user + cpu.system,
        wallUs: Number(process.hrtime.bigint() - started) / 1000,
      };
      return { partial: pack(partial), stats };
    } catch (err) {
      throw asClientError(err, `${plugin.artifact.name}@${plugin.artifact.version} on region ${piece.region.id} (client mode)`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Rows over the wire: the cluster client's streamed, split-safe range scans. */
  private remoteRows(): RowSource {
    const client = this.client;
    return {
      get: (key) => client.get(Buffer.from(key)),
      async *scanBatches(range, options): AsyncIterable<KV[]> {
        if (options.reverse) throw new ClientError('SERVER', 'reverse scans are not supported in client mode yet');
        yield* client.scanBatches(Buffer.from(range.start), Buffer.from(range.end));
      },
      put: (key, value) => client.set(Buffer.from(key), Buffer.from(value)),
      delete: async (key) => {
        await client.del(Buffer.from(key));
      },
    };
  }
}
