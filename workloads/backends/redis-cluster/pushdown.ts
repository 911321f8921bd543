/**
 * Pushdown on Redis: one FCALL_RO per unit (a bounded slice of one bucket, so no call nears the
 * busy threshold), the Lua twin of the plugin computing the partial in the node; the client merges
 * with the TypeScript plugin's own `merge`, in unit order.
 */
import type { Plugin } from '../../../engine/plugin-api';
import type { RespValue } from '../../../engine/protocol/resp';
import type { RedisClusterClient } from './cluster-client';
import type { WorkUnit } from './layout';
import { LUA_PUSHDOWNS } from './lua-pushdowns';
import type { RedisRun, RedisRunOptions, UnitStats } from './fetch';
import { mapUnits } from './run-units';

/** Whether a plugin has a Lua twin (go-ycsb style: the capability is probed, not assumed). */
export function canPushDown(pluginName: string): boolean {
  return LUA_PUSHDOWNS.has(pluginName);
}

/** Pushdown: FCALL_RO per unit, decode each reply to the plugin's partial, `merge` in unit order. */
export async function runPushdown<Req, Partial, Result>(client: RedisClusterClient, plugin: Plugin<Req, Partial, Result>, request: Req, units: readonly WorkUnit[], options: RedisRunOptions = {}): Promise<RedisRun<Result>> {
  const twin = LUA_PUSHDOWNS.get(plugin.name);
  if (!twin) throw new Error(`plugin ${plugin.name} has no Lua function on Redis (pushdown exists for: ${[...LUA_PUSHDOWNS.keys()].join(', ')}); run it in client mode`);
  twin.check(request as never);
  const json = JSON.stringify(request);
  const stats: UnitStats[] = [];
  const parts = await mapUnits(units, options.concurrency ?? 8, async (unit) => {
    const sent = process.hrtime.bigint();
    const reply = await client.call(unit.slot, ['FCALL_RO', twin.fn, '1', unit.key, String(unit.startRank), String(unit.stopRank), json]);
    const wallUs = Number(process.hrtime.bigint() - sent) / 1000;
    stats.push({ unit: unit.index, bucket: unit.bucket, node: client.ownerOf(unit.slot), rowsScanned: unit.stopRank - unit.startRank + 1, replyBytes: bulkBytes(reply), wallUs });
    return twin.decode(reply, request as never) as Partial;
  });
  stats.sort((a, b) => a.unit - b.unit);
  return { result: plugin.merge(parts, request), parts, units: stats };
}

/** Bytes of the bulk strings in a reply (the payload, without RESP framing). */
function bulkBytes(reply: RespValue): number {
  if (Buffer.isBuffer(reply)) return reply.length;
  if (Array.isArray(reply)) return reply.reduce<number>((n, r) => n + bulkBytes(r), 0);
  return 0;
}
