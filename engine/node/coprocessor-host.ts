/**
 * The coprocessor side of a node: installed plugins (registry), the worker pool that runs them, and
 * the COPR.* commands. A call names plugin + semver range, region id + epoch and key ranges inside
 * that region; the node checks the region, runs `handle` in a worker and replies with the msgpack
 * partial result and the call's stats.
 */
import { unpack } from 'msgpackr';
import semver from 'semver';
import { CommandError, type CommandOrder, type Reply } from '../protocol/server';
import type { RespValue } from '../protocol/resp';
import { PluginRegistry, PluginNotFoundError } from '../coprocessor/registry';
import { PluginLoadError } from '../coprocessor/loader';
import { WorkerPool, CoprExecError, DEFAULT_STATE_MB } from '../coprocessor/sandbox/pool';
import type { WireRange } from '../coprocessor/sandbox/messages';
import { SESSION_ID } from '../coprocessor/state-store';
import type { RegionDataVersions } from './data-versions';
import { rangeContains } from '../placement/cluster-map';
import type { NodeRouting } from './routing';

export interface CoprocessorLimits {
  workers: number;
  heapMb: number;
  /** Default and largest deadline a call may ask for. */
  deadlineMs: number;
  maxDeadlineMs: number;
  maxRowsScanned: number;
  maxBytesScanned: number;
  maxResultBytes: number;
  /** Admission control: calls waiting for a worker at most; more are refused with COPR_BUSY. */
  maxQueued: number;
  /** Priority: the plugin workers' OS nice value (0..19); above 0, point operations go first. */
  workerNice: number;
  /** Memory one call may hold, and all running calls together (MiB; Infinity: no quota). */
  callMemoryMb: number;
  nodeMemoryMb: number;
  /** Plugin state of sessions, all workers together (MiB; 0: none). Kept between calls, unlike the two above. */
  stateMb: number;
}

export const DEFAULT_COPR_LIMITS: CoprocessorLimits = {
  workers: 2,
  heapMb: 256,
  deadlineMs: 30_000,
  maxDeadlineMs: 600_000,
  maxRowsScanned: Number.MAX_SAFE_INTEGER,
  maxBytesScanned: Number.MAX_SAFE_INTEGER,
  maxResultBytes: 32 * 1024 * 1024,
  maxQueued: Number.MAX_SAFE_INTEGER,
  workerNice: 0,
  callMemoryMb: Infinity,
  nodeMemoryMb: Infinity,
  stateMb: DEFAULT_STATE_MB,
};

/** Stats a node returns with every COPR.EXEC reply. */
export interface NodeCallStats {
  rowsScanned: number;
  bytesScanned: number;
  rowsWritten: number;
  cpuUs: number;
  runUs: number;
  queueUs: number;
  handoffUs: number;
  /** From the command's arrival to its reply, on the node. */
  nodeUs: number;
  /** The node's load as it replied (for contention-aware clients): other calls running, calls waiting, pool size. */
  busyWorkers: number;
  queuedCalls: number;
  workers: number;
}

export class CoprocessorHost {
  readonly registry = new PluginRegistry();
  private readonly pool: WorkerPool;

  constructor(
    dataDir: string,
    private readonly routing: NodeRouting,
    private readonly limits: CoprocessorLimits,
    /** Registers writes so a region move waits for them (see NodeServer.trackWrite). */
    private readonly trackWrite: <T>(p: Promise<T>) => Promise<T>,
    /** Per-region data versions, bumped by writes: part of a plugin state's scope. */
    private readonly dataVersions: RegionDataVersions,
  ) {
    this.pool = new WorkerPool({ dataDir, size: limits.workers, heapMb: limits.heapMb, maxQueued: limits.maxQueued, nice: limits.workerNice, memory: { callMb: limits.callMemoryMb, nodeMb: limits.nodeMemoryMb }, stateMb: limits.stateMb });
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  poolCounters(): Record<string, number> {
    const state = this.pool.state;
    const mb = (bytes: number): number => Math.round((bytes / (1024 * 1024)) * 10) / 10;
    return {
      ...this.pool.counters,
      busy: this.pool.busy,
      queued: this.pool.queued,
      workerNice: this.limits.workerNice,
      memoryInUseMb: Math.round(this.pool.memoryInUseMb * 10) / 10,
      stateHeldMb: mb(state.heldBytes),
      stateQuotaMb: mb(state.quotaBytes),
      stateEntries: state.entries,
      stateHits: state.counters.hits,
      stateMisses: state.counters.misses,
      stateEvictions: state.counters.evictions,
      stateInvalidations: state.counters.invalidations,
      stateRefusals: state.counters.refusals,
    };
  }

  /**
   * A call of a writing plugin is a `write` (it reads, then writes): it waits for earlier commands
   * on its connection and later ones wait for it. Others are reads, which run side by side.
   */
  orderOf(args: Buffer[]): CommandOrder {
    try {
      return this.registry.resolve(args[1]!.toString('utf8'), args[2]!.toString('utf8')).plugin.writes ? 'write' : 'read';
    } catch {
      return 'read'; // no such plugin or a bad version range: exec answers with the error
    }
  }

  /**
   * COPR.EXEC name range region epoch payload ranges [DEADLINE ms] [MAXROWS n] [SESSION id]
   * `payload` is the msgpack request; `ranges` a msgpack array of [start, end] byte strings.
   * SESSION: the plugin's state (ctx.state) persists across calls with the same id, per region, on
   * the worker the call is routed to; without it the plugin keeps nothing.
   * Replies [partial (msgpack), stats (JSON), "name@version", sha256].
   */
  exec(args: Buffer[]): Promise<Reply> {
    const arrived = process.hrtime.bigint();
    const name = args[1]!.toString('utf8');
    const versionRange = args[2]!.toString('utf8');
    const regionId = toInt(args[3]!, 'region');
    const epoch = toInt(args[4]!, 'epoch');
    // An exact-size copy: args are slices of the socket's read buffer, and posting a slice to a
    // worker copies the whole buffer behind it.
    const payload = new Uint8Array(args[5]!);
    const ranges = decodeRanges(args[6]!);
    let deadlineMs = this.limits.deadlineMs;
    let maxRows = this.limits.maxRowsScanned;
    let session: string | undefined;
    for (let i = 7; i < args.length; i += 2) {
      const opt = args[i]!.toString('latin1').toUpperCase();
      const value = args[i + 1];
      if (!value) throw new CommandError('COPR_BAD_REQUEST', `option ${opt} needs a value`);
      if (opt === 'DEADLINE') deadlineMs = Math.min(this.limits.maxDeadlineMs, toInt(value, 'DEADLINE'));
      else if (opt === 'MAXROWS') maxRows = Math.min(maxRows, toInt(value, 'MAXROWS'));
      else if (opt === 'SESSION') session = toSession(value);
      else throw new CommandError('COPR_BAD_REQUEST', `unknown COPR.EXEC option '${opt.slice(0, 32)}' (expected DEADLINE, MAXROWS or SESSION)`);
    }
    if (semver.validRange(versionRange) === null) throw new CommandError('COPR_BAD_REQUEST', `invalid version range '${versionRange.slice(0, 64)}' (examples: *, ^1.2.0, ~1.2, 1.0.0)`);
    let loaded;
    try {
      loaded = this.registry.resolve(name, versionRange);
    } catch (err) {
      if (err instanceof PluginNotFoundError) throw new CommandError('COPR_NOT_FOUND', err.message);
      throw err;
    }
    if (ranges.length === 0) throw new CommandError('COPR_BAD_REQUEST', 'no key ranges given');
    const region = this.routing.forRegionRequest(regionId, epoch, { start: Buffer.from(ranges[0]!.start), end: Buffer.from(ranges[0]!.end) });
    for (const r of ranges) {
      const endInside = region.end.length === 0 ? true : r.end.length > 0 && Buffer.compare(Buffer.from(r.end), region.end) <= 0;
      if (!rangeContains(region.start, region.end, Buffer.from(r.start)) || !endInside) {
        throw new CommandError('EPOCH', `a requested range is not inside region ${regionId}; refresh the region map`);
      }
    }
    if (loaded.plugin.writes && region.state !== 'serving') throw new CommandError('TRYAGAIN', `region ${regionId} is moving; a writing plugin must wait`);
    const releasesAtStart = this.routing.releases;
    const run = this.pool
      .exec({
        sha256: loaded.artifact.sha256,
        js: loaded.js,
        file: loaded.artifact.file,
        request: payload,
        ranges,
        limits: { maxRowsScanned: maxRows, maxBytesScanned: this.limits.maxBytesScanned, maxResultBytes: this.limits.maxResultBytes },
        deadlineMs,
        // The data version is read now, before the plugin scans: a write acknowledged before this
        // call arrived has bumped it, so state built before that write is not found.
        ...(session !== undefined ? { state: { session, regionId, epoch, dataVersion: this.dataVersions.of(regionId) } } : {}),
      })
      .then(
        (outcome): Reply => {
          // The region may have moved out while the plugin scanned, and its rows been deleted here
          // under the scan: the partial could then miss rows. If any range left this node during
          // the call, the region must still be ours at the same epoch, else the client gets
          // EPOCH/MOVED and retries on the new owner. (Writing calls need no check: a move waits
          // for them before it starts.)
          if (!loaded.plugin.writes && this.routing.releases !== releasesAtStart) this.routing.forRegionRequest(regionId, epoch, { start: Buffer.from(ranges[0]!.start), end: Buffer.from(ranges[0]!.end) });
          const { state: _workerState, ...callStats } = outcome.stats; // the worker's state totals go to INFO, not to every reply
          const stats: NodeCallStats = { ...callStats, nodeUs: Number(process.hrtime.bigint() - arrived) / 1000, busyWorkers: this.pool.busy, queuedCalls: this.pool.queued, workers: this.limits.workers };
          return [Buffer.from(outcome.partial.buffer, outcome.partial.byteOffset, outcome.partial.byteLength), JSON.stringify(stats), `${loaded.artifact.name}@${loaded.artifact.version}`, loaded.artifact.sha256];
        },
        (err: unknown) => {
          if (err instanceof CoprExecError) throw new CommandError(err.code, `${loaded.artifact.name}@${loaded.artifact.version} on region ${regionId}: ${err.message}`);
          throw err;
        },
      );
    if (!loaded.plugin.writes) return run;
    // A writing plugin changes its region's rows: state built from them is stale from its start
    // (other calls may read while it writes) and again once its writes are durable.
    this.dataVersions.bump(regionId);
    return this.trackWrite(run.finally(() => this.dataVersions.bump(regionId)));
  }

  /** COPR.ENDSESSION id — the caller is done with a session: its plugin state is freed on this node. */
  endSession(args: Buffer[]): Reply {
    this.pool.endSession(toSession(args[1]!));
    return 'OK';
  }

  /** COPR.INSTALL file source — compile, validate and add (replaces the same file's earlier code). */
  install(args: Buffer[]): Reply {
    const file = args[1]!.toString('utf8');
    try {
      const loaded = this.registry.install(args[2]!.toString('utf8'), file);
      return `${loaded.artifact.name}@${loaded.artifact.version} ${loaded.artifact.sha256}`;
    } catch (err) {
      if (err instanceof PluginLoadError) throw new CommandError('COPR_LOAD', `${err.code} ${err.message}`);
      throw err;
    }
  }

  /** COPR.UNINSTALL name version */
  uninstall(args: Buffer[]): Reply {
    return this.registry.remove(args[1]!.toString('utf8'), args[2]!.toString('utf8')) ? 1 : 0;
  }

  /** COPR.LIST — [name, version, sha256, state, file, error] per plugin (and per failed file). */
  list(): Reply {
    return this.registry.list().map((p) => [p.name, p.version, p.sha256, p.state, p.file, p.error ?? ''] as RespValue[]);
  }
}

function toInt(arg: Buffer, what: string): number {
  const text = arg.toString('latin1');
  if (!/^\d{1,15}$/.test(text)) throw new CommandError('COPR_BAD_REQUEST', `${what} must be a non-negative integer, got '${text.slice(0, 32)}'`);
  return Number(text);
}

function toSession(arg: Buffer): string {
  const text = arg.toString('latin1');
  if (!SESSION_ID.test(text)) throw new CommandError('COPR_BAD_REQUEST', `SESSION must be 1-64 letters, digits or _ . : -, got '${text.slice(0, 32)}'`);
  return text;
}

function decodeRanges(arg: Buffer): WireRange[] {
  let raw: unknown;
  try {
    raw = unpack(arg);
  } catch {
    throw new CommandError('COPR_BAD_REQUEST', 'ranges must be a msgpack array of [start, end] byte strings');
  }
  if (!Array.isArray(raw) || !raw.every((r) => Array.isArray(r) && r.length === 2 && r.every((b) => b instanceof Uint8Array))) {
    throw new CommandError('COPR_BAD_REQUEST', 'ranges must be a msgpack array of [start, end] byte strings');
  }
  return (raw as Array<[Uint8Array, Uint8Array]>).map(([start, end]) => ({ start: new Uint8Array(start), end: new Uint8Array(end) }));
}
