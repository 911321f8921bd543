/**
 * Per-primary counters from INFO, in the units copbench reports for its own nodes: CPU (user and
 * system, µs) and the node's own count of network bytes in and out. Counters are cumulative; a
 * phase's cost is the difference of two readings.
 */
import { parseInfo } from '../../../engine/node/info';
import type { RedisClusterClient } from './cluster-client';

export interface RedisNodeStats {
  address: string;
  cpuUserUs: number;
  cpuSysUs: number;
  netInputBytes: number;
  netOutputBytes: number;
}

/** One INFO reading per primary (each reading's own INFO reply, ~1.5 KB a node, lands in the next difference). */
export async function readNodeStats(client: RedisClusterClient): Promise<RedisNodeStats[]> {
  return Promise.all(
    client.primaries.map(async ({ address }) => {
      const info = parseInfo(String(await client.callNode(address, ['INFO', 'cpu', 'stats'])));
      const number = (section: string, field: string): number => {
        const raw = info[section]?.[field];
        if (raw === undefined) throw new Error(`${address}: INFO has no ${section}.${field} (not a Redis 7 server?)`);
        return Number(raw);
      };
      return {
        address,
        cpuUserUs: Math.round(number('cpu', 'used_cpu_user') * 1e6),
        cpuSysUs: Math.round(number('cpu', 'used_cpu_sys') * 1e6),
        netInputBytes: number('stats', 'total_net_input_bytes'),
        netOutputBytes: number('stats', 'total_net_output_bytes'),
      };
    }),
  );
}

/** after − before, per node (matched by address). */
export function diffNodeStats(before: readonly RedisNodeStats[], after: readonly RedisNodeStats[]): RedisNodeStats[] {
  return after.map((a) => {
    const b = before.find((x) => x.address === a.address);
    if (!b) throw new Error(`no earlier reading for ${a.address}`);
    return { address: a.address, cpuUserUs: a.cpuUserUs - b.cpuUserUs, cpuSysUs: a.cpuSysUs - b.cpuSysUs, netInputBytes: a.netInputBytes - b.netInputBytes, netOutputBytes: a.netOutputBytes - b.netOutputBytes };
  });
}
