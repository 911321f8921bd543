/**
 * Local clusters for the bench: started with splits and balancing off, their regions laid out by
 * hand, and the client's map settled before a measurement.
 */
import type { ClusterClient } from '../engine/client/cluster-client';
import { RespConnection } from '../engine/client/connection';
import { LocalCluster } from '../engine/cluster/local-cluster';
import type { ClusterMap } from '../engine/placement/cluster-map';
import type { Cleanup } from './cleanup';
import type { Results } from './report';

/** All bench traffic stays on the loopback interface. */
export const HOST = '127.0.0.1';

export async function startCluster(cleanup: Cleanup, name: string, nodes: number, nodeArgs: string[] = []): Promise<LocalCluster> {
  // Splits and balancing are done by hand below, so both clusters have the same region layout.
  const cluster = await LocalCluster.start({ nodes, host: HOST, autoSplit: false, autoBalance: false, nodeArgs });
  cleanup.push(name, () => cluster.stop());
  return cluster;
}

/** Splits the cluster's single region at the given keys and places piece i on node `placeOn(i)`. */
export async function layoutRegions(cluster: LocalCluster, splitAt: Buffer[], placeOn: (piece: number) => number): Promise<void> {
  const pd = new RespConnection({ host: cluster.placement.host, port: cluster.placement.port, adminToken: cluster.adminToken, requestTimeoutMs: 30_000 });
  try {
    const map = await cluster.fetchMap();
    if (map.regions.length !== 1) throw new Error(`expected a fresh cluster with 1 region, found ${map.regions.length}`);
    const ids = (await pd.call(['PD.SPLIT', String(map.regions[0]!.id), ...splitAt])) as number[];
    for (let i = 0; i < ids.length; i++) {
      const target = placeOn(i);
      const current = (await cluster.fetchMap()).regions.find((r) => r.id === ids[i]);
      if (current && current.nodeId !== target) await pd.call(['PD.MOVE', String(ids[i]), String(target)]);
    }
  } finally {
    pd.close();
  }
}

/**
 * Refreshes the client's map after a layout change and gives the nodes a moment to install theirs.
 * Any request that still races the change is retried by the client, and `noteRetries` reports it.
 */
export async function settle(client: ClusterClient, cluster: LocalCluster): Promise<ClusterMap> {
  const map = await cluster.fetchMap();
  await client.refreshMap();
  await new Promise((r) => setTimeout(r, 300));
  return map;
}

/** Retries mean the measurement included routing churn (MOVED/EPOCH/TRYAGAIN): worth knowing. */
export function noteRetries(results: Results, name: string, client: ClusterClient): void {
  const entries = Object.entries(client.retries);
  if (entries.length > 0) results.note(`${name} cluster client retried during the run: ${entries.map(([code, n]) => `${code}×${n}`).join(', ')}`);
}
