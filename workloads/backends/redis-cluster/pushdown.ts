/**
 * Pushdown on Redis: one FCALL_RO per unit (a bounded slice of one bucket, so no call nears the
 * busy threshold), the Lua twin of the plugin computing the partial in the node; the client merges
 * with the TypeScript plugin's own `merge`, in unit order.
 */
import type { Plugin } from '../../../engine/plugin-api';
import type { RespValue } from '../../../engine/protocol/resp';
import { RespConnection } from '../../../engine/client/connection';
import type { RedisClusterClient } from './cluster-client';
import type { WorkUnit } from './layout';
import { LUA_PUSHDOWNS, type LuaPushdown } from './lua-pushdowns';
import type { RedisRun, RedisRunOptions, UnitStats } from './fetch';
import { mapLimited } from '../../../engine/util/limiter';

/** The Lua twin that answers `request` for plugin `name`; throws why not (no twin, or a request it would not answer exactly). */
export function luaTwin<Req>(name: string, request: Req): LuaPushdown<Req, unknown> {
  const twin = LUA_PUSHDOWNS.get(name) as LuaPushdown<Req, unknown> | undefined;
  if (!twin) throw new Error(`plugin ${name} has no Lua function on Redis (pushdown exists for: ${[...LUA_PUSHDOWNS.keys()].join(', ')}); run it in client mode`);
  twin.check(request);
  return twin;
}

/** One unit pushed down: its FCALL_RO reply (still in wire form: `twin.decode` makes it the partial) and its stats. */
export async function pushdownUnit<Req>(client: RedisClusterClient, twin: LuaPushdown<Req, unknown>, requestJson: string, unit: WorkUnit, options: RedisRunOptions = {}): Promise<{ reply: RespValue; stats: UnitStats }> {
  const sent = process.hrtime.bigint();
  // The node running the call: the slot's owner, or the node an ASK redirection sends it to.
  let node = client.ownerOf(unit.slot);
  const watchdog = options.busyThresholdMs ? busyWatchdog(() => node, options.busyThresholdMs) : undefined;
  let reply: RespValue;
  try {
    reply = await client.call(unit.slot, ['FCALL_RO', twin.fn, '1', unit.key, String(unit.startRank), String(unit.stopRank), requestJson], { onSend: (address) => (node = address) });
  } catch (err) {
    if (watchdog?.fired()) throw new BusyThresholdError(`${twin.fn} on ${node} (bucket ${unit.bucket}, ranks ${unit.startRank}..${unit.stopRank}) ran past Redis's busy-reply-threshold of ${options.busyThresholdMs} ms, when the node answers every other client BUSY; it was stopped with FUNCTION KILL so the node keeps serving. Lower backend.sliceRows (rows per call) so each call ends well within the threshold`);
    throw err;
  } finally {
    watchdog?.stop();
  }
  const wallUs = Number(process.hrtime.bigint() - sent) / 1000;
  return { reply, stats: { unit: unit.index, bucket: unit.bucket, node, rowsScanned: unit.stopRank - unit.startRank + 1, replyBytes: bulkBytes(reply), wallUs } };
}

/** Pushdown: FCALL_RO per unit, decode each reply to the plugin's partial, `merge` in unit order. */
export async function runPushdown<Req, Partial, Result>(client: RedisClusterClient, plugin: Plugin<Req, Partial, Result>, request: Req, units: readonly WorkUnit[], options: RedisRunOptions = {}): Promise<RedisRun<Result>> {
  const twin = luaTwin(plugin.name, request);
  const json = JSON.stringify(request);
  const ran = await mapLimited(units, options.concurrency ?? 8, (unit) => pushdownUnit(client, twin, json, unit, options));
  const parts = ran.map(({ reply }) => twin.decode(reply, request) as Partial);
  return { result: plugin.merge(parts, request), parts, units: ran.map(({ stats }) => stats) };
}

/** A pushdown call held its node past the busy threshold and was killed. */
export class BusyThresholdError extends Error {
  override name = 'BusyThresholdError';
}

/**
 * Kills a function still running on `nodeNow()` just after the busy threshold. Redis reads other
 * clients' commands during a long script only once it is past the threshold, so FUNCTION KILL
 * goes on a connection of its own and is served then; the FCALL_RO then fails with an error.
 */
function busyWatchdog(nodeNow: () => string, thresholdMs: number): { fired(): boolean; stop(): void } {
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
    const node = nodeNow();
    const at = node.lastIndexOf(':');
    const conn = new RespConnection({ host: node.slice(0, at), port: Number(node.slice(at + 1)), requestTimeoutMs: 10_000 });
    // NOTBUSY (the function ended meanwhile) is fine: there is nothing to kill.
    void conn.send(['FUNCTION', 'KILL']).catch(() => undefined).finally(() => conn.close());
  }, thresholdMs + 20);
  return { fired: () => fired, stop: () => clearTimeout(timer) };
}

/** Bytes of the bulk strings in a reply (the payload, without RESP framing). */
function bulkBytes(reply: RespValue): number {
  if (Buffer.isBuffer(reply)) return reply.length;
  if (Array.isArray(reply)) return reply.reduce<number>((n, r) => n + bulkBytes(r), 0);
  return 0;
}
