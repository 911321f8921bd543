/**
 * Node-resident plugin state (ctx.state) on real processes: a plugin's state is built once per
 * region in a session and reused by later calls, in-node and client-side; a forced split, a forced
 * move and a write to a region during the session make that region rebuild, and every answer stays
 * exact; state over the node's quota is evicted (least recently used) or, for one value larger than
 * a worker's share, refused with COPR_STATE_TOO_LARGE, and the node keeps serving.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pack } from 'msgpackr';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor, type CoprocessorMode } from '../engine/client/coprocessor';
import { ClientError } from '../engine/client/errors';
import { RespConnection } from '../engine/client/connection';
import { parseInfo } from '../engine/node/info';
import { waitFor } from './helpers';

/**
 * Sums its region's values (decimal numbers) and counts rows; keeps { sum, count } as state and
 * reports how many regions built it in this call (`builds`). `stateBytes` is what it declares.
 */
const SUMMER = `import { definePlugin } from '../engine/plugin-api';
export default definePlugin({
  name: 'st-sum', version: '1.0.0', apiVersion: 1,
  async handle(request: { stateBytes: number }, ctx) {
    let kept = ctx.state.get<{ sum: number; count: number }>('sum');
    let builds = 0;
    if (!kept) {
      kept = { sum: 0, count: 0 };
      for (const range of ctx.ranges) for await (const batch of ctx.storage.scan(range)) for (const row of batch) {
        kept.sum += Number(Buffer.from(row.value).toString());
        kept.count++;
      }
      builds = 1;
      ctx.state.set('sum', kept, request.stateBytes);
    }
    return { sum: kept.sum, count: kept.count, builds };
  },
  merge: (parts: Array<{ sum: number; count: number; builds: number }>) =>
    parts.reduce((a, p) => ({ sum: a.sum + p.sum, count: a.count + p.count, builds: a.builds + p.builds }), { sum: 0, count: 0, builds: 0 }),
});
`;

const ROWS = 400;
const STATE_MB = 1; // 512 KiB per worker (2 workers)
const key = (i: number): string => `st:${String(i).padStart(5, '0')}`;
let cluster: LocalCluster;
let client: ClusterClient;
let copr: Coprocessor;
/** The values as the nodes hold them (the test's writes applied). */
const values = Array.from({ length: ROWS }, (_, i) => i);

interface Answer {
  sum: number;
  count: number;
  builds: number;
}

before(async () => {
  cluster = await LocalCluster.start({ nodes: 2, pluginsDir: false, autoSplit: false, autoBalance: false, nodeArgs: ['--copr-workers', '2', '--copr-state-mb', String(STATE_MB)] });
  await cluster.placementAdmin().call(['PD.PLUGIN.DEPLOY', 'st-sum.ts', SUMMER]);
  client = await ClusterClient.connect({ placement: cluster.placementAddress });
  copr = new Coprocessor(client);
  await client.mset(values.map((v, i) => ({ key: Buffer.from(key(i)), value: Buffer.from(String(v)) })));
  // Four regions over the rows, two on each node.
  const map = await cluster.fetchMap();
  await cluster.placementAdmin().call(['PD.SPLIT', String(map.regions[0]!.id), key(100), key(200), key(300)]);
  const split = await cluster.fetchMap();
  const nodes = split.nodes.map((n) => n.id);
  for (const [i, region] of split.regions.entries()) if (region.nodeId !== nodes[i % 2]) await cluster.placementAdmin().call(['PD.MOVE', String(region.id), String(nodes[i % 2])]);
});

after(async () => {
  client?.close();
  await cluster?.stop();
});

const expected = (): { sum: number; count: number } => ({ sum: values.reduce((a, b) => a + b, 0), count: ROWS });

async function sum(mode: CoprocessorMode, session: string | undefined, stateBytes = 64): Promise<Answer> {
  const out = await copr.run<{ stateBytes: number }, Answer>({ plugin: 'st-sum', request: { stateBytes }, start: 'st:', end: 'st;', mode, ...(session ? { session } : {}) });
  return out.result;
}

async function regionsInRange(): Promise<number> {
  return (await cluster.fetchMap()).regions.filter((r) => r.start.toString() < 'st;' && (r.end.length === 0 || r.end.toString() > 'st:')).length;
}

async function nodeInfo(nodeId: number): Promise<Record<string, string>> {
  const conn = new RespConnection({ host: '127.0.0.1', port: Number(cluster.nodeAddress(nodeId).split(':')[1]) });
  try {
    return Object.assign({}, ...Object.values(parseInfo(String(await conn.call(['INFO']))))) as Record<string, string>;
  } finally {
    conn.close();
  }
}

const infoSum = async (field: string): Promise<number> => (await Promise.all([...cluster.nodes.keys()].map(nodeInfo))).reduce((n, info) => n + Number(info[field] ?? 0), 0);

for (const mode of ['pushdown', 'client'] as const) {
  test(`${mode}: state is built once per region in a session and reused by later calls`, async () => {
    const regions = await regionsInRange();
    const first = await sum(mode, `reuse-${mode}`);
    assert.deepEqual(first, { ...expected(), builds: regions });
    for (let i = 0; i < 3; i++) assert.deepEqual(await sum(mode, `reuse-${mode}`), { ...expected(), builds: 0 }, `call ${i + 2} reused every region's state`);
    assert.deepEqual(await sum(mode, `other-${mode}`), { ...expected(), builds: regions }, 'another session builds its own');
  });

  test(`${mode}: without a session nothing is kept`, async () => {
    const regions = await regionsInRange();
    for (let i = 0; i < 2; i++) assert.deepEqual(await sum(mode, undefined), { ...expected(), builds: regions });
  });
}

test('a region split during a session rebuilds the two halves only, and the answer stays exact', async () => {
  const session = 'split';
  await sum('pushdown', session);
  assert.equal((await sum('pushdown', session)).builds, 0);
  const map = await cluster.fetchMap();
  const region = map.regions.find((r) => r.start.toString() === key(100))!;
  await cluster.placementAdmin().call(['PD.SPLIT', String(region.id), key(150)]);
  assert.deepEqual(await sum('pushdown', session), { ...expected(), builds: 2 }, 'the split region at its new epoch and the new region');
  assert.deepEqual(await sum('pushdown', session), { ...expected(), builds: 0 });
});

test('a region moved during a session is rebuilt on its new node, and the answer stays exact', async () => {
  const session = 'move';
  await sum('pushdown', session);
  assert.equal((await sum('pushdown', session)).builds, 0);
  const map = await cluster.fetchMap();
  const region = map.regions.find((r) => r.start.toString() === key(200))!;
  const other = map.nodes.find((n) => n.id !== region.nodeId)!;
  await cluster.placementAdmin().call(['PD.MOVE', String(region.id), String(other.id)]);
  assert.deepEqual(await sum('pushdown', session), { ...expected(), builds: 1 });
  // And back: the old node's state is of an older epoch, so it is not reused.
  await cluster.placementAdmin().call(['PD.MOVE', String(region.id), String(region.nodeId)]);
  assert.deepEqual(await sum('pushdown', session), { ...expected(), builds: 1 });
  assert.deepEqual(await sum('pushdown', session), { ...expected(), builds: 0 });
});

test('a write to a region during a session makes the nodes rebuild that region, and the answer includes it', async () => {
  const session = 'write';
  await sum('pushdown', session);
  values[250] = 100_000;
  await client.set(Buffer.from(key(250)), Buffer.from(String(values[250])));
  assert.deepEqual(await sum('pushdown', session), { ...expected(), builds: 1 });
  values[3] = -7;
  values[4] = 9;
  await client.mset([3, 4].map((i) => ({ key: Buffer.from(key(i)), value: Buffer.from(String(values[i])) })));
  assert.deepEqual(await sum('pushdown', session), { ...expected(), builds: 1 });
  assert.deepEqual(await sum('pushdown', session), { ...expected(), builds: 0 });
});

test('state over the node quota is evicted least recently used; answers stay exact and the quota holds', async () => {
  const regions = await regionsInRange();
  const evictionsBefore = await infoSum('copr_state_evictions');
  // 300 KiB each: a worker's 512 KiB share keeps one, so a node with more regions than workers evicts.
  const big = 300 * 1024;
  assert.deepEqual(await sum('pushdown', 'evict', big), { ...expected(), builds: regions });
  const again = await sum('pushdown', 'evict', big);
  assert.deepEqual({ sum: again.sum, count: again.count }, expected());
  assert.ok(again.builds > 0, 'evicted regions were rebuilt');
  assert.ok((await infoSum('copr_state_evictions')) > evictionsBefore, 'INFO counts evictions');
  for (const id of cluster.nodes.keys()) {
    const info = await nodeInfo(id);
    assert.ok(Number(info.copr_state_held_mb) <= STATE_MB, `node ${id} holds ${info.copr_state_held_mb} MiB of state, quota ${STATE_MB}`);
  }
});

test('one state larger than a worker share is refused with COPR_STATE_TOO_LARGE, and the node keeps serving', async () => {
  await assert.rejects(sum('pushdown', 'huge', 600 * 1024), (err: unknown) => {
    assert.ok(err instanceof ClientError, String(err));
    assert.equal(err.serverCode, 'COPR_STATE_TOO_LARGE', err.message);
    assert.match(err.message, /--copr-state-mb 1 over 2 plugin workers; spec field cluster\.coprStateMb/);
    return true;
  });
  assert.ok((await infoSum('copr_state_refusals')) >= 1, 'INFO counts refusals');
  assert.equal(String(await client.get(Buffer.from(key(7)))), String(values[7]), 'point reads still served');
  assert.deepEqual((await sum('pushdown', 'after-huge')).sum, expected().sum, 'and later calls');
});

test('client-side state refuses a value over the Coprocessor budget the same way', async () => {
  const small = new Coprocessor(client, { stateMb: 0.25, stateBudgetName: 'client.memoryBudgetMb 0.25' });
  await assert.rejects(small.run({ plugin: 'st-sum', request: { stateBytes: 1024 * 1024 }, start: 'st:', end: 'st;', mode: 'client', session: 'c' }), (err: unknown) => {
    assert.ok(err instanceof ClientError, String(err));
    assert.equal(err.serverCode, 'COPR_STATE_TOO_LARGE', err.message);
    assert.match(err.message, /client\.memoryBudgetMb 0\.25/);
    return true;
  });
});

test('a malformed session id is refused by the client and by the node with COPR_BAD_REQUEST', async () => {
  await assert.rejects(copr.run({ plugin: 'st-sum', request: { stateBytes: 64 }, start: 'st:', end: 'st;', mode: 'pushdown', session: 'no spaces' }), (err: unknown) => err instanceof ClientError && err.serverCode === 'COPR_BAD_REQUEST');
  const map = await cluster.fetchMap();
  const region = map.regions.find((r) => r.start.length === 0)!;
  const conn = new RespConnection({ host: '127.0.0.1', port: Number(cluster.nodeAddress(region.nodeId).split(':')[1]) });
  try {
    await assert.rejects(conn.call(['COPR.EXEC', 'st-sum', '*', String(region.id), String(region.epoch), pack({ stateBytes: 64 }), pack([[Buffer.alloc(0), region.end]]), 'SESSION', 'x'.repeat(65)]), /COPR_BAD_REQUEST SESSION must be 1-64 letters/);
  } finally {
    conn.close();
  }
});

test('ending a session frees its state on every node and in the client; the next call rebuilds', async () => {
  const regions = await regionsInRange();
  for (const mode of ['pushdown', 'client'] as const) assert.equal((await sum(mode, 'ending')).builds, regions);
  const clientBytesBefore = copr.state.heldBytes;
  const entriesBefore = await infoSum('copr_state_entries');
  await copr.endSession('ending');
  assert.equal(copr.state.heldBytes, clientBytesBefore - regions * 64, "the client freed that session's entries (64 B each), not others'");
  await waitFor('the nodes to drop the session', async () => ((await infoSum('copr_state_entries')) <= entriesBefore - regions ? true : undefined), 5_000);
  for (const mode of ['pushdown', 'client'] as const) assert.deepEqual(await sum(mode, 'ending'), { ...expected(), builds: regions });
});
