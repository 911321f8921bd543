/**
 * Client mode on Redis: each unit's rows are read with ZRANGE (several units in flight, pipelined
 * on each node's connection) and handed to the plugin's own TypeScript `handle` in this process,
 * through the same CheckedStorage copbench's client mode uses; then the plugin's `merge`.
 */
import { pack, unpack } from 'msgpackr';
import { CheckedStorage, type RowSource } from '../../../engine/coprocessor/checked-storage';
import { NO_STATE, type KeyRange, type KV, type Plugin, type PluginState } from '../../../engine/plugin-api';
import type { RedisClusterClient } from './cluster-client';
import { decodeMember, type WorkUnit } from './layout';
import { mapLimited } from '../../../engine/util/limiter';

/** What one unit cost, in either path. */
export interface UnitStats {
  unit: number;
  bucket: number;
  node: string;
  rowsScanned: number;
  /** Bytes of the reply (members, or the Lua partial). */
  replyBytes: number;
  /** From sending the command to having the reply. */
  wallUs: number;
}

export interface RedisRun<Result> {
  result: Result;
  /** One partial per unit, in unit order (what `merge` got). */
  parts: unknown[];
  units: UnitStats[];
}

export interface RedisRunOptions {
  /** Units in flight at once. */
  concurrency?: number;
  /** pushdown: the nodes' busy-reply-threshold, ms; a call still running past it is killed (BusyThresholdError). */
  busyThresholdMs?: number;
}

/** Reads a unit's rows: its members in rank order, decoded (no copies); `node` served them (an ASK may send a read past the slot's owner). */
export async function fetchUnitRows(client: RedisClusterClient, unit: WorkUnit): Promise<{ rows: KV[]; replyBytes: number; wallUs: number; node: string }> {
  const sent = process.hrtime.bigint();
  let node = client.ownerOf(unit.slot);
  const members = (await client.call(unit.slot, ['ZRANGE', unit.key, String(unit.startRank), String(unit.stopRank)], { onSend: (address) => (node = address) })) as Buffer[];
  const wallUs = Number(process.hrtime.bigint() - sent) / 1000;
  let replyBytes = 0;
  for (const m of members) replyBytes += m.length;
  return { rows: members.map(decodeMember), replyBytes, wallUs, node };
}

/** The key range a unit's rows span: its first key up to just past its last. */
export function unitRange(rows: readonly KV[]): KeyRange {
  const last = rows[rows.length - 1]!.key;
  const end = new Uint8Array(last.length + 1);
  end.set(last);
  return { start: rows[0]!.key, end };
}

/** A RowSource over one unit's rows, read once on the first scan (never, when the plugin's state has them). */
function unitRows(read: () => Promise<KV[]>): RowSource {
  let rows: Promise<KV[]> | undefined;
  return {
    get: () => {
      throw new Error('point reads are not supported in a Redis unit (plugins here scan ranges)');
    },
    async *scanBatches(_range, { reverse }) {
      rows ??= read();
      const all = await rows;
      yield reverse ? [...all].reverse() : all;
    },
  };
}

/** What one client-side `handle` over a unit reports. */
export interface HandledUnit {
  /**
   * The partial as msgpack: it crosses a msgpack boundary as in copbench (both modes), so `merge`
   * sees the same types whichever path made it, and a partial waiting for an earlier unit waits as
   * bytes, as copbench's do.
   */
  encoded: Uint8Array;
  rowsScanned: number;
  bytesScanned: number;
  cpuUs: number;
}

/**
 * `handle` over one unit, as copbench's client mode runs it over a region: the rows come from
 * `read` when the plugin scans them, `state` is the plugin's ctx.state (NO_STATE: none kept).
 */
export async function handleUnit<Req, Partial>(plugin: Plugin<Req, Partial, unknown>, request: Req, range: KeyRange, read: () => Promise<KV[]>, state: PluginState = NO_STATE): Promise<HandledUnit> {
  const cpu0 = process.cpuUsage();
  const ranges = [range];
  const storage = new CheckedStorage(unitRows(read), ranges, false, { maxRowsScanned: Number.MAX_SAFE_INTEGER, maxBytesScanned: Number.MAX_SAFE_INTEGER });
  const partial = await plugin.handle(unpack(pack(request)) as Req, { ranges, storage, signal: new AbortController().signal, where: 'client', state });
  const encoded = pack(partial);
  const cpu = process.cpuUsage(cpu0);
  return { encoded, rowsScanned: storage.counters.rowsScanned, bytesScanned: storage.counters.bytesScanned, cpuUs: cpu.user + cpu.system };
}

/** `handle` over rows already read (tests: the same path as handleUnit, over known rows). */
export async function handleRows<Req, Partial>(plugin: Plugin<Req, Partial, unknown>, request: Req, rows: KV[]): Promise<Partial> {
  if (rows.length === 0) throw new Error('a work unit has no rows (the layout and the data disagree)');
  return unpack((await handleUnit(plugin, request, unitRange(rows), async () => rows)).encoded) as Partial;
}

/** Client mode: fetch every unit's rows, `handle` each, `merge` in unit order. */
export async function runClientSide<Req, Partial, Result>(client: RedisClusterClient, plugin: Plugin<Req, Partial, Result>, request: Req, units: readonly WorkUnit[], options: RedisRunOptions = {}): Promise<RedisRun<Result>> {
  const stats: UnitStats[] = [];
  const parts = await mapLimited(units, options.concurrency ?? 8, async (unit) => {
    const fetched = await fetchUnitRows(client, unit);
    stats.push({ unit: unit.index, bucket: unit.bucket, node: fetched.node, rowsScanned: fetched.rows.length, replyBytes: fetched.replyBytes, wallUs: fetched.wallUs });
    return handleRows(plugin, request, fetched.rows);
  });
  stats.sort((a, b) => a.unit - b.unit);
  return { result: plugin.merge(parts, request), parts, units: stats };
}
