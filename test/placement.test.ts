/**
 * The placement service on real processes: node liveness, a persisted map that survives its own
 * kill -9, moves that clean up the source, and balancing onto a node that joins later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { RespConnection } from '../engine/client/connection';
import { keyOf, placementAdmin, waitFor } from './helpers';

async function dbsize(cluster: LocalCluster, nodeId: number): Promise<number> {
  const node = cluster.nodes.get(nodeId)!;
  const conn = new RespConnection({ host: node.host, port: node.port });
  try {
    return (await conn.call(['DBSIZE'])) as number;
  } finally {
    conn.close();
  }
}

test('placement marks a killed node down, and up again once it restarts', async () => {
  const cluster = await LocalCluster.start({ nodes: 2, nodeTimeoutMs: 1000 });
  try {
    await cluster.killNode(2);
    await waitFor('node 2 down', async () => ((await cluster.fetchMap()).nodes.find((n) => n.id === 2)?.up === false ? true : undefined));
    await cluster.startNode(2);
    await waitFor('node 2 up', async () => ((await cluster.fetchMap()).nodes.find((n) => n.id === 2)?.up ? true : undefined));
  } finally {
    await cluster.stop();
  }
});

test('after kill -9 of the placement service and a restart, the region map is the same and the cluster serves without manual steps', async () => {
  const cluster = await LocalCluster.start({ nodes: 3, splitKeys: 2000 });
  const client = await ClusterClient.connect({ placement: cluster.placementAddress });
  try {
    await client.mset(Array.from({ length: 10_000 }, (_, i) => [keyOf(i), `v${i}`] as [string, string]));
    const before = await waitFor('several regions', async () => {
      const m = await cluster.fetchMap();
      return m.regions.length >= 4 ? m : undefined;
    });
    await cluster.killPlacement('SIGKILL');
    await cluster.startPlacement();
    const after = await waitFor('nodes re-registered', async () => {
      const m = await cluster.fetchMap();
      return m.nodes.filter((n) => n.up).length === 3 ? m : undefined;
    });
    // Splits may continue after the restart, but every boundary that existed survives.
    const boundaries = (m: typeof before): string[] => m.regions.map((r) => r.start.toString('hex'));
    for (const b of boundaries(before)) assert.ok(boundaries(after).includes(b), `boundary ${b} kept`);
    assert.ok(after.version > before.version, 'the map version moves forward across the restart');
    const values = await client.mget(Array.from({ length: 10_000 }, (_, i) => keyOf(i)));
    values.forEach((v, i) => assert.equal(v?.toString(), `v${i}`));
    await client.set('after-restart', 'yes');
    assert.equal((await client.get('after-restart'))?.toString(), 'yes');
  } finally {
    client.close();
    await cluster.stop();
  }
});

test('moving a region copies its rows to the target, bumps its epoch and deletes them from the source', async () => {
  const cluster = await LocalCluster.start({ nodes: 2, autoSplit: false, autoBalance: false });
  const client = await ClusterClient.connect({ placement: cluster.placementAddress });
  const admin = placementAdmin(cluster);
  try {
    await client.mset(Array.from({ length: 5000 }, (_, i) => [keyOf(i), `v${i}`] as [string, string]));
    const [region] = (await cluster.fetchMap()).regions;
    const source = region!.nodeId;
    const target = source === 1 ? 2 : 1;
    assert.equal(await dbsize(cluster, source), 5000);
    await admin.call(['PD.MOVE', String(region!.id), String(target)]);
    const moved = (await cluster.fetchMap()).regions[0]!;
    assert.equal(moved.nodeId, target);
    assert.equal(moved.epoch, region!.epoch + 1);
    assert.equal(await dbsize(cluster, target), 5000);
    assert.equal(await dbsize(cluster, source), 0);
    const values = await client.mget(Array.from({ length: 5000 }, (_, i) => keyOf(i)));
    values.forEach((v, i) => assert.equal(v?.toString(), `v${i}`));
  } finally {
    admin.close();
    client.close();
    await cluster.stop();
  }
});

test('a node that joins later receives regions from the balancer and serves them', async () => {
  const cluster = await LocalCluster.start({ nodes: 1, splitKeys: 1000 });
  const client = await ClusterClient.connect({ placement: cluster.placementAddress });
  try {
    await client.mset(Array.from({ length: 8000 }, (_, i) => [keyOf(i), `v${i}`] as [string, string]));
    await waitFor('splits', async () => ((await cluster.fetchMap()).regions.length >= 6 ? true : undefined));
    await cluster.addNode();
    await waitFor('regions on node 2', async () => ((await cluster.fetchMap()).regions.filter((r) => r.nodeId === 2).length >= 2 ? true : undefined));
    assert.ok((await dbsize(cluster, 2)) > 0);
    const values = await client.mget(Array.from({ length: 8000 }, (_, i) => keyOf(i)));
    values.forEach((v, i) => assert.equal(v?.toString(), `v${i}`));
  } finally {
    client.close();
    await cluster.stop();
  }
});
