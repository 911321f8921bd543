/**
 * CopbenchBackend.settle on a real local cluster whose nodes report region sizes only every 4 s: right
 * after a load, the map is quiet for longer than the settle window while the split the load calls
 * for has not even been proposed yet. Settle must wait for it (fresh heartbeats, no pending split).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster } from '../../../engine/cluster/local-cluster';
import { loadSpec } from '../../spec';
import { CopbenchBackend } from './backend';

const SPLIT_KEYS = 1000;
const spec = loadSpec('filter', ['dataset.rows=5000', `cluster.splitKeys=${SPLIT_KEYS}`], 'ci');
let cluster: LocalCluster;
let session: CopbenchBackend;
const silent = (): void => undefined;

before(async () => {
  cluster = await LocalCluster.start({ nodes: 2, splitKeys: SPLIT_KEYS, heartbeatMs: 4000, nodeTimeoutMs: 15_000, autoBalance: false, pluginsDir: false });
  session = await CopbenchBackend.open(spec, { cluster: cluster.placementAddress, log: silent });
});

after(async () => {
  await session?.close();
  await cluster?.stop();
});

test('settle waits for the splits a load calls for, even when the map is quiet longer than its window', async () => {
  assert.equal((await session.map()).regions.length, 1);
  await session.ensureDataset(spec, { log: silent });
  // A 500 ms quiet window is shorter than a heartbeat: a map-only settle would return one region.
  const map = await session.settleMap(silent, 500, 30_000);
  assert.ok(map.regions.length >= 3, `the 5000-row region was split (got ${map.regions.length} region(s))`);
  const state = await session.splitState();
  assert.ok(state, 'placement reports pending_splits and heartbeat_age_max_ms');
  assert.equal(state.pendingSplits, 0);
  const client = await session.clusterClient();
  try {
    for (const region of map.regions) {
      let rows = 0;
      for await (const batch of client.scanBatches(region.start, region.end)) rows += batch.length;
      assert.ok(rows <= SPLIT_KEYS, `region ${region.id} holds ${rows} rows, at most the split threshold ${SPLIT_KEYS}`);
    }
  } finally {
    client.close();
  }
});
