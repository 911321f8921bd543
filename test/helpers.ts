/** Helpers shared by integration tests: an admin connection to placement, key formatting, waiting. */
import { readFileSync } from 'node:fs';
import { RespConnection } from '../engine/client/connection';
import type { LocalCluster } from '../engine/cluster/local-cluster';
import type { ClusterClient } from '../engine/client/cluster-client';
import { parseInfo } from '../engine/node/info';

/** An authenticated connection to the placement service (for PD.SPLIT / PD.MOVE). */
export function placementAdmin(cluster: LocalCluster): RespConnection {
  return new RespConnection({ host: cluster.placement.host, port: cluster.placement.port, adminToken: cluster.adminToken, requestTimeoutMs: 30_000 });
}

/** INFO of the map's first node, every section's fields in one record. */
export async function firstNodeInfo(client: ClusterClient): Promise<Record<string, string>> {
  const node = (await client.getMap()).nodes[0]!;
  const conn = new RespConnection({ host: node.host, port: node.port });
  try {
    return Object.assign({}, ...Object.values(parseInfo(String(await conn.call(['INFO']))))) as Record<string, string>;
  } finally {
    conn.close();
  }
}

/** Fixed-width keys so lexicographic order equals numeric order. */
export function keyOf(i: number, prefix = 'key'): string {
  return `${prefix}${String(i).padStart(8, '0')}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value or the timeout passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, describe?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const v = await check().catch((err: unknown) => {
      lastError = String(err);
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const state = describe ? await describe().catch((e: unknown) => String(e)) : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}${state ? `; state: ${state}` : ''}`);
    }
    await sleep(100);
  }
}

/**
 * What a cluster looks like now, for the message of a test that timed out waiting on it: the map's
 * regions ([id, epoch, node, state]), placement's split and heartbeat state, each node's keyspace
 * line, and the last lines of every process log. Rare timeouts are only diagnosable from this.
 */
export async function describeCluster(cluster: LocalCluster, logLines = 12): Promise<string> {
  const parts: string[] = [];
  const attempt = async (what: string, run: () => Promise<string>): Promise<void> => {
    parts.push(`${what}: ${await run().catch((err: unknown) => `(failed: ${String(err)})`)}`);
  };
  const infoLines = async (host: string, port: number, section: string, admin?: string): Promise<string> => {
    const conn = new RespConnection({ host, port, adminToken: admin, requestTimeoutMs: 2000, connectTimeoutMs: 2000 });
    try {
      const text = ((await conn.send(['INFO', section])) as Buffer).toString();
      return text.split('\r\n').filter((l) => l && !l.startsWith('#')).join(' ');
    } finally {
      conn.close();
    }
  };
  await attempt('regions', async () => JSON.stringify((await cluster.fetchMap()).regions.map((r) => [r.id, r.epoch, r.nodeId, r.state])));
  await attempt('placement', () => infoLines(cluster.placement.host, cluster.placement.port, 'all', cluster.adminToken));
  for (const node of cluster.nodes.values()) await attempt(`node ${node.id}`, () => infoLines(node.host, node.port, 'keyspace'));
  for (const handle of [cluster.placement, ...cluster.nodes.values()]) {
    const tail = (() => {
      try {
        return readFileSync(handle.logFile, 'utf8').trimEnd().split('\n').slice(-logLines).join('\n    ');
      } catch (err) {
        return `(unreadable: ${String(err)})`;
      }
    })();
    parts.push(`${handle.role} ${handle.id} log (${handle.logFile}):\n    ${tail}`);
  }
  return parts.join('\n  ');
}
