/**
 * The engine end to end on real processes: data spreads over regions and nodes, scans stay exact
 * while regions split and move, and acknowledged writes survive kill -9.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { regionForKey } from '../engine/placement/cluster-map';
import { ClusterClient } from '../engine/client/cluster-client';
import { RespConnection } from '../engine/client/connection';
import { parseInfo } from '../engine/node/info';
import { describeCluster, keyOf, placementAdmin, sleep, waitFor } from './helpers';

/** A node's INFO persistence section (write-ahead log and checkpoints), as numbers. */
async function persistenceInfo(cluster: LocalCluster, nodeId: number): Promise<Record<string, number>> {
  const node = cluster.nodes.get(nodeId)!;
  const conn = new RespConnection({ host: node.host, port: node.port });
  try {
    const info = parseInfo(((await conn.send(['INFO', 'persistence'])) as Buffer).toString());
    return Object.fromEntries(Object.entries(info.persistence ?? {}).map(([k, v]) => [k, Number(v)]));
  } finally {
    conn.close();
  }
}

test('a 3-node cluster takes 100 000 keys and returns all of them, spread over >= 3 regions on >= 2 nodes', async () => {
  const cluster = await LocalCluster.start({ nodes: 3, splitKeys: 20_000 });
  const client = await ClusterClient.connect({ placement: cluster.placementAddress });
  try {
    const total = 100_000;
    for (let base = 0; base < total; base += 5000) {
      const pairs: Array<[string, string]> = [];
      for (let i = base; i < base + 5000; i++) pairs.push([keyOf(i), `value-${i}`]);
      await client.mset(pairs);
    }
    const map = await waitFor('regions to split and spread', async () => {
      const m = await cluster.fetchMap();
      const owners = new Set(m.regions.map((r) => r.nodeId));
      return m.regions.length >= 3 && owners.size >= 2 ? m : undefined;
    }, 30_000, async () => JSON.stringify((await cluster.fetchMap()).regions.map((r) => [r.id, r.epoch, r.nodeId, r.state])));
    assert.ok(map.regions.length >= 3, `regions: ${map.regions.length}`);
    // Every key, read back by point reads (batched) ...
    for (let base = 0; base < total; base += 10_000) {
      const keys = Array.from({ length: 10_000 }, (_, j) => keyOf(base + j));
      const values = await client.mget(keys);
      values.forEach((v, j) => assert.equal(v?.toString(), `value-${base + j}`));
    }
    // ... and by one scan over the whole keyspace.
    let count = 0;
    for await (const row of client.scan()) {
      assert.equal(row.key.toString(), keyOf(count));
      count++;
    }
    assert.equal(count, total);
  } finally {
    client.close();
    await cluster.stop();
  }
});

test('a full-range scan returns every key exactly once and in order while regions split and move under it', async () => {
  const cluster = await LocalCluster.start({ nodes: 2, autoSplit: false, autoBalance: false });
  const loader = await ClusterClient.connect({ placement: cluster.placementAddress });
  const scanner = await ClusterClient.connect({ placement: cluster.placementAddress, scanBatchRows: 500 });
  const admin = placementAdmin(cluster);
  try {
    const total = 30_000;
    for (let base = 0; base < total; base += 5000) {
      await loader.mset(Array.from({ length: 5000 }, (_, j) => [keyOf(base + j), `v${base + j}`] as [string, string]));
    }
    const map = await cluster.fetchMap();
    assert.equal(map.regions.length, 1);
    const first = map.regions[0]!;
    const otherNode = map.nodes.find((n) => n.id !== first.nodeId)!.id;

    const seen: string[] = [];
    let batches = 0;
    for await (const batch of scanner.scanBatches()) {
      for (const row of batch) seen.push(row.key.toString());
      batches++;
      if (batches === 3) {
        // Split the region being scanned: once behind the cursor and twice ahead of it.
        await admin.call(['PD.SPLIT', String(first.id), keyOf(200), keyOf(10_000), keyOf(20_000)]);
      }
      if (batches === 6) {
        // Move the region the cursor is in, and one further ahead, to the other node.
        const m = await cluster.fetchMap();
        const current = m.regions.find((r) => Buffer.compare(r.start, Buffer.from(keyOf(3000))) <= 0 && (r.end.length === 0 || Buffer.compare(r.end, Buffer.from(keyOf(3000))) > 0))!;
        await admin.call(['PD.MOVE', String(current.id), String(otherNode)]);
        const ahead = m.regions.find((r) => r.start.toString() === keyOf(20_000))!;
        await admin.call(['PD.MOVE', String(ahead.id), String(otherNode)]);
      }
      if (batches === 30) {
        // Split the region the cursor is in again, after it moved.
        const m = await cluster.fetchMap();
        const current = m.regions.find((r) => r.start.toString() === keyOf(10_000))!;
        await admin.call(['PD.SPLIT', String(current.id), keyOf(16_000)]);
      }
    }
    assert.equal(seen.length, total, 'every key exactly once');
    for (let i = 0; i < total; i++) if (seen[i] !== keyOf(i)) assert.fail(`position ${i}: expected ${keyOf(i)}, got ${seen[i]}`);
    const after = await cluster.fetchMap();
    assert.equal(after.regions.length, 5);
    assert.ok(after.regions.some((r) => r.nodeId === otherNode), 'some region moved to the other node');
    assert.ok((scanner.retries.EPOCH ?? 0) + (scanner.retries.MOVED ?? 0) > 0, `the scan hit a stale epoch and recovered: ${JSON.stringify(scanner.retries)}`);
  } finally {
    admin.close();
    loader.close();
    scanner.close();
    await cluster.stop();
  }
});

test('after kill -9 of a node in the middle of a write load and a restart, every acknowledged write reads back', async () => {
  const cluster = await LocalCluster.start({ nodes: 3, splitKeys: 3000 });
  const writer = await ClusterClient.connect({ placement: cluster.placementAddress, retryBudgetMs: 1500 });
  try {
    // Spread regions over the nodes first, so the victim owns part of the keyspace.
    await writer.mset(Array.from({ length: 12_000 }, (_, i) => [keyOf(i, 'pre'), 'x'] as [string, string]));
    await waitFor('regions on every node', async () => {
      const m = await cluster.fetchMap();
      return new Set(m.regions.map((r) => r.nodeId)).size === 3 ? m : undefined;
    }, 20_000, () => describeCluster(cluster));

    const acked = new Map<string, string>();
    let failed = 0;
    let stop = false;
    // One writer keeps one key busy until the kill, and the victim is the node that owns it then, so
    // the victim has logged writes since its last checkpoint (the 16 workers' keys drift through the
    // keyspace, and regions keep moving while the load runs).
    const victimKey = `${keyOf(6_000, 'pre')}-busy`; // no worker writes it
    // Its last acknowledged value, and the one write after it that failed (it may or may not have
    // landed): the key is written over and over, so it is checked on its own, against both.
    let victimAcked: string | undefined;
    let victimUnacked: string | undefined;
    const victimLoad = (async () => {
      for (let i = 0; !stop && i < 100_000; i++) {
        try {
          await writer.set(victimKey, `victim-${i}`);
          victimAcked = `victim-${i}`;
        } catch {
          victimUnacked = `victim-${i}`;
          return;
        }
      }
    })();
    const workers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const key = keyOf(i * 16 + w, 'pre');
        const value = `w${w}-i${i}`;
        try {
          await writer.set(key, value);
          acked.set(key, value);
        } catch {
          failed++;
        }
      }
    });
    await sleep(700);
    const victim = regionForKey(await cluster.fetchMap(), Buffer.from(victimKey)).nodeId;
    const before = await persistenceInfo(cluster, victim);
    assert.ok(before.wal_writes! > 0 && before.wal_groups! > 0 && before.wal_groups! <= before.wal_writes!, `the victim logged writes in groups: ${JSON.stringify(before)}`);
    await cluster.killNode(victim, 'SIGKILL');
    await sleep(500);
    stop = true;
    await Promise.all([...workers, victimLoad]);
    assert.ok(acked.size > 100, `some writes were acknowledged (${acked.size})`);

    await cluster.startNode(victim);
    await cluster.waitForNodesUp(3);
    const recovered = await persistenceInfo(cluster, victim);
    assert.ok(recovered.recovered_frames! > 0, `the restarted node replayed the writes logged after its last checkpoint: ${JSON.stringify(recovered)}; before the kill: ${JSON.stringify(before)}`);
    const reader = await ClusterClient.connect({ placement: cluster.placementAddress });
    try {
      const keys = [...acked.keys()];
      const values = await reader.mget(keys);
      let lost = 0;
      keys.forEach((k, i) => {
        if (values[i]?.toString() !== acked.get(k)) lost++;
      });
      assert.equal(lost, 0, `acknowledged writes lost: ${lost} of ${keys.length} (${failed} writes failed while the node was down)`);
      const victimValue = (await reader.get(victimKey))?.toString();
      assert.ok(victimValue === victimAcked || victimValue === victimUnacked, `the busy key reads ${victimValue}; last acknowledged ${victimAcked}, unacknowledged after it ${victimUnacked}`);
    } finally {
      reader.close();
    }
  } finally {
    writer.close();
    await cluster.stop();
  }
});
