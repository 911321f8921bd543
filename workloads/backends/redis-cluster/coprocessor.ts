/**
 * The Redis backend's plugin runner, the counterpart of copbench's Coprocessor with the same call
 * and outcome shapes, so the workload families measure both backends with one code path:
 * - `pushdown`: one FCALL_RO per unit (the plugin's Lua twin, pushdown.ts);
 * - `client`: the unit's rows by ZRANGE, the plugin's TypeScript `handle` in this process (fetch.ts).
 * Both merge with the plugin's own `merge`, in unit order. Plugins come from plugins/ (the same
 * files copbench deploys). Client-side calls of a session keep ctx.state per unit under the
 * client's budget, as copbench's Coprocessor keeps it per region.
 */
import { pack, unpack } from 'msgpackr';
import { callTotals, type CoprocessorCall, type CoprocessorOptions, type CoprocessorOutcome, type RegionCallStats } from '../../../engine/client/coprocessor';
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
import { runPushdown } from './pushdown';
import { mapLimited } from '../../../engine/util/limiter';

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
    const cpu0 = process.cpuUsage();
    const wire0 = this.wireBytes();
    const t0 = process.hrtime.bigint();
    const run = call.mode === 'pushdown' ? await this.pushdown(loaded, call, units, functions, busyThresholdMs) : await this.clientSide(loaded, call, units);
    const { regions, sha256s } = run;
    const { result, streamed } = handOverRows(loaded, call, run.result);
    const cpu = process.cpuUsage(cpu0);
    const wire = this.wireBytes();
    return {
      result: result as Res,
      mode: call.mode,
      plugin: { name: loaded.artifact.name, version: loaded.artifact.version, sha256: loaded.artifact.sha256 },
      sha256s,
      regions,
      totals: callTotals(regions),
      clientCpuUs: cpu.user + cpu.system - (streamed?.consumerCpuUs ?? 0),
      wireBytesIn: wire.in - wire0.in,
      wireBytesOut: wire.out - wire0.out,
      wallMs: Number(process.hrtime.bigint() - t0) / 1e6 - (streamed?.consumerMs ?? 0),
      streamed,
    };
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

  /** The Lua twin per unit; its node CPU is in the nodes' counters, not in pluginCpuUs (0: unknown per unit). */
  private async pushdown<Req>(loaded: LoadedPlugin, call: CoprocessorCall<Req>, units: WorkUnit[], functions: LoadedFunctions, busyThresholdMs: number): Promise<{ result: unknown; regions: RegionCallStats[]; sha256s: string[] }> {
    const run = await runPushdown(this.client, loaded.plugin, unpack(pack(call.request)) as Req, units, { concurrency: call.concurrency ?? 4, busyThresholdMs });
    const regions = run.units.map((u): RegionCallStats => ({ regionId: u.unit, rowsScanned: u.rowsScanned, bytesScanned: u.replyBytes, pluginCpuUs: 0, wallUs: u.wallUs }));
    return { result: run.result, regions, sha256s: [functions.sha256] };
  }

  private async clientSide<Req>(loaded: LoadedPlugin, call: CoprocessorCall<Req>, units: WorkUnit[]): Promise<{ result: unknown; regions: RegionCallStats[]; sha256s: string[] }> {
    const request = unpack(pack(call.request)) as Req;
    const regions: RegionCallStats[] = [];
    const { layout } = this.data();
    const parts = await mapLimited(units, call.concurrency ?? 4, async (unit) => {
      const started = process.hrtime.bigint();
      const range = unitKeyRange(layout, unit);
      const state = this.state.view(call.session === undefined ? undefined : { sha256: loaded.artifact.sha256, session: call.session, regionId: unit.index, epoch: 0, dataVersion: 0, ranges: [range] });
      const read = async (): Promise<KV[]> => (await fetchUnitRows(this.client, unit)).rows;
      const handled = await handleUnit(loaded.plugin, request, range, read, state);
      regions.push({ regionId: unit.index, rowsScanned: handled.rowsScanned, bytesScanned: handled.bytesScanned, pluginCpuUs: handled.cpuUs, wallUs: Number(process.hrtime.bigint() - started) / 1000 });
      return handled.partial;
    });
    regions.sort((a, b) => a.regionId - b.regionId);
    return { result: loaded.plugin.merge(parts, request), regions, sha256s: [loaded.artifact.sha256] };
  }
}

/**
 * `onRows`, as copbench's Coprocessor takes it: for a plugin that streams its answer's rows, they
 * go to the caller (here all at once, in key order, after the merge: units are small and the
 * answer is already whole) and the answer keeps a placeholder of their count; the caller's time is
 * left out of the call's. Without onRows or a row stream the answer is returned as merged.
 */
function handOverRows<Req>(loaded: LoadedPlugin, call: CoprocessorCall<Req>, merged: unknown): { result: unknown; streamed: CoprocessorOutcome<unknown>['streamed'] } {
  const stream = call.onRows ? loaded.plugin.streamRows?.(call.request as never) : null;
  if (!stream || !call.onRows) return { result: merged, streamed: null };
  const rows = ((merged as Record<string, unknown>)[stream.field] as unknown[] | undefined) ?? [];
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  call.onRows(rows);
  const cpu = process.cpuUsage(cpu0);
  const consumerMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return { result: { ...(merged as object), [stream.field]: new Array(rows.length) }, streamed: { field: stream.field, rows: rows.length, consumerMs, consumerCpuUs: cpu.user + cpu.system } };
}

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
