/**
 * The Redis backend's plugin runner, the counterpart of copbench's Coprocessor with the same call
 * and outcome shapes, so the workload families measure both backends with one code path:
 * - `pushdown`: one FCALL_RO per unit (the plugin's Lua twin, pushdown.ts);
 * - `client`: the unit's rows by ZRANGE, the plugin's TypeScript `handle` in this process (fetch.ts).
 * Both merge with the plugin's own `merge`, in unit order; with `onRows`, a plugin's row stream has
 * its rows handed over unit by unit in key order as they arrive, as copbench's Coprocessor hands
 * them over region by region (both through Partials). Plugins come from plugins/ (the same
 * files copbench deploys). Client-side calls of a session keep ctx.state per unit under the
 * client's budget, as copbench's Coprocessor keeps it per region.
 */
import { pack, unpack } from 'msgpackr';
import { measuredCall, type CoprocessorCall, type PiecesRun, type CoprocessorOptions, type CoprocessorOutcome, type RegionCallStats } from '../../../engine/client/coprocessor';
import type { LoadedPlugin } from '../../../engine/coprocessor/loader';
import { PluginStateStore, SESSION_ID } from '../../../engine/coprocessor/state-store';
import type { KV } from '../../../engine/plugin-api';
import { syntheticKey } from '../../datasets/synthetic';
import type { PluginRunner } from '../backend';
import type { RedisClusterClient } from './cluster-client';
import { fetchUnitRows, handleUnit } from './fetch';
import type { LoadedFunctions } from './functions';
import type { BucketLayout, WorkUnit } from './layout';
import { localPlugin } from '../../local-plugins';
import { LUA_PUSHDOWNS } from './lua-pushdowns';
import { luaTwin, pushdownUnit } from './pushdown';
import { limiter } from '../../../engine/util/limiter';
import { Partials } from '../../../engine/client/partials';
import type { RespValue } from '../../../engine/protocol/resp';

/** What the runner needs to know about the loaded data. */
export interface RedisData {
  layout: BucketLayout;
  units: WorkUnit[];
  functions: LoadedFunctions;
  /** The primaries' busy-reply-threshold (the lowest), ms: pushdown calls running past it are killed. */
  busyThresholdMs: number;
}

export class RedisCoprocessor implements PluginRunner {
  readonly state: PluginStateStore;
  /** Plugins by name and range, compiled once per client (every call asks for its plugin). */
  private readonly plugins = new Map<string, LoadedPlugin>();

  constructor(
    private readonly client: RedisClusterClient,
    private readonly data: () => RedisData,
    options: CoprocessorOptions = {},
  ) {
    const mb = options.stateMb ?? Infinity;
    this.state = new PluginStateStore(mb * 1024 * 1024, options.stateBudgetName ?? `the client's state budget of ${mb} MiB`);
  }

  async loadPlugin(name: string, version = '*'): Promise<LoadedPlugin> {
    const key = `${name}\u0000${version}`;
    let loaded = this.plugins.get(key);
    if (!loaded) {
      loaded = localPlugin(name, version);
      this.plugins.set(key, loaded);
    }
    return loaded;
  }

  /** Redis keeps no plugin state in its nodes: only this process's is freed. */
  async endSession(session: string): Promise<void> {
    this.state.dropSession(session);
  }

  async run<Req, Res>(call: CoprocessorCall<Req>): Promise<CoprocessorOutcome<Res>> {
    if (call.session !== undefined && !SESSION_ID.test(call.session)) throw new Error(`session must be 1-64 letters, digits or _ . : -, got ${JSON.stringify(call.session.slice(0, 32))}`);
    const loaded = await this.loadPlugin(call.plugin, call.version);
    const { units, functions, busyThresholdMs } = this.data();
    const wireBytes = (): { in: number; out: number } => this.wireBytes();
    const inUnitOrder = <Encoded>(run: UnitsRun<Encoded>): PiecesRun<Encoded> => {
      run.regions.sort((a, b) => a.regionId - b.regionId);
      return { ...run, plugin: loaded };
    };
    if (call.mode === 'pushdown') return measuredCall<Req, Res, RespValue>(call, wireBytes, async (request) => inUnitOrder(await this.pushdown(loaded, call, request, units, functions, busyThresholdMs)));
    return measuredCall<Req, Res, Uint8Array>(call, wireBytes, async (request) => inUnitOrder(await this.clientSide(loaded, call, request, units)));
  }

  /** Bytes this client's sockets read and wrote, over every primary. */
  wireBytes(): { in: number; out: number } {
    let read = 0;
    let written = 0;
    for (const b of this.client.wireBytes().values()) {
      read += b.bytesRead;
      written += b.bytesWritten;
    }
    return { in: read, out: written };
  }

  /**
   * The Lua twin per unit; a reply waits for earlier units as it came off the wire and is decoded
   * when handed on. Its node CPU is in the nodes' counters, not in pluginCpuUs (0: unknown per unit).
   */
  private async pushdown<Req>(loaded: LoadedPlugin, call: CoprocessorCall<Req>, request: Req, units: WorkUnit[], functions: LoadedFunctions, busyThresholdMs: number): Promise<UnitsRun<RespValue>> {
    const twin = luaTwin(loaded.plugin.name, request);
    const json = JSON.stringify(request);
    const slot = limiter(call.concurrency ?? 4);
    const regions: RegionCallStats[] = [];
    const partials = Partials.forCall(loaded.plugin, request, call, (reply: RespValue) => twin.decode(reply, request));
    await partials.collect(units, async (unit) => {
      const { reply, stats } = await slot(() => pushdownUnit(this.client, twin, json, unit, { busyThresholdMs }));
      regions.push({ regionId: stats.unit, rowsScanned: stats.rowsScanned, bytesScanned: stats.replyBytes, pluginCpuUs: 0, wallUs: stats.wallUs });
      return [reply];
    });
    return { partials, regions, sha256s: [functions.sha256] };
  }

  /** The unit's rows by ZRANGE and the plugin's `handle` here; its partial waits as msgpack bytes, as copbench's do. */
  private async clientSide<Req>(loaded: LoadedPlugin, call: CoprocessorCall<Req>, request: Req, units: WorkUnit[]): Promise<UnitsRun<Uint8Array>> {
    const { layout } = this.data();
    const slot = limiter(call.concurrency ?? 4);
    const regions: RegionCallStats[] = [];
    const partials = Partials.forCall(loaded.plugin, request, call, (encoded: Uint8Array) => unpack(encoded));
    await partials.collect(units, (unit) =>
      slot(async () => {
        const started = process.hrtime.bigint();
        const range = unitKeyRange(layout, unit);
        const state = this.state.view(call.session === undefined ? undefined : { sha256: loaded.artifact.sha256, session: call.session, regionId: unit.index, epoch: 0, dataVersion: 0, ranges: [range] });
        const read = async (): Promise<KV[]> => (await fetchUnitRows(this.client, unit)).rows;
        const handled = await handleUnit(loaded.plugin, request, range, read, state);
        regions.push({ regionId: unit.index, rowsScanned: handled.rowsScanned, bytesScanned: handled.bytesScanned, pluginCpuUs: handled.cpuUs, wallUs: Number(process.hrtime.bigint() - started) / 1000 });
        return [handled.encoded];
      }),
    );
    return { partials, regions, sha256s: [loaded.artifact.sha256] };
  }
}

/**
 * A call's units run: their partials (rows already handed on, with onRows and a row stream) and
 * stats, before the plugin that merges them is added (measuredCall's PiecesRun).
 */
type UnitsRun<Encoded> = Omit<PiecesRun<Encoded>, 'plugin'>;

/**
 * The keys a unit holds: rows are `row:<ordinal>` in key order (every dataset's keys), and a
 * unit is ranks [startRank, stopRank] of its bucket, so ordinals bucket·rowsPerBucket + rank.
 */
export function unitKeyRange(layout: BucketLayout, unit: WorkUnit): { start: Buffer; end: Buffer } {
  const first = unit.bucket * layout.rowsPerBucket + unit.startRank;
  const last = unit.bucket * layout.rowsPerBucket + unit.stopRank;
  return { start: syntheticKey(first), end: syntheticKey(last + 1) };
}

/** Whether pushdown of `plugin` with `request` runs on Redis: null, or why not. */
export function luaPushdownRefusal(plugin: string, request: unknown): string | null {
  const twin = LUA_PUSHDOWNS.get(plugin);
  if (!twin) return `plugin ${plugin} has no Lua function on Redis (pushdown exists for: ${[...LUA_PUSHDOWNS.keys()].join(', ')})`;
  try {
    twin.check(request as never);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
