/**
 * Per-primary counters from Redis's INFO, in the units and columns copbench reports for its own
 * nodes (driver/metrics/node-stats.ts NodeStats): CPU (used_cpu_user / used_cpu_sys, seconds →
 * µs), the node's own count of network bytes in and out, RSS, keys, commands, pid. Counters are
 * cumulative; diffNodeStats takes a phase's cost, less the two INFO exchanges themselves.
 */
import { infoNumber, sampleNodes, type InfoReader, type NodeAddress, type NodeSample } from '../../driver/metrics/node-stats';
import type { RedisClusterClient } from './cluster-client';

/** Keys of every database in INFO keyspace (`db0:keys=12,expires=0,avg_ttl=0`). */
function keyspaceKeys(keyspace: Record<string, string> | undefined): number {
  let keys = 0;
  for (const value of Object.values(keyspace ?? {})) keys += Number(/(?:^|,)keys=(\d+)/.exec(value)?.[1] ?? 0);
  return keys;
}

export const redisInfo: InfoReader = (sections, where) => ({
  cpuUserUs: Math.round(infoNumber(sections, 'cpu', 'used_cpu_user', where) * 1e6),
  cpuSysUs: Math.round(infoNumber(sections, 'cpu', 'used_cpu_sys', where) * 1e6),
  netInBytes: infoNumber(sections, 'stats', 'total_net_input_bytes', where),
  netOutBytes: infoNumber(sections, 'stats', 'total_net_output_bytes', where),
  rssBytes: infoNumber(sections, 'memory', 'used_memory_rss', where),
  keys: keyspaceKeys(sections.keyspace),
  commands: infoNumber(sections, 'stats', 'total_commands_processed', where),
  pid: infoNumber(sections, 'server', 'process_id', where),
});

/** The primaries as numbered nodes (1, 2, … in slot order: the order reports list them in). */
export function redisNodes(client: RedisClusterClient): NodeAddress[] {
  return client.primaries.map((p, i) => ({ id: i + 1, host: p.host, port: p.port }));
}

/** One INFO reading per primary, over fresh connections (so the reading's own bytes are known exactly). */
export function readNodeStats(client: RedisClusterClient): Promise<NodeSample[]> {
  return sampleNodes(redisNodes(client), {}, redisInfo);
}
