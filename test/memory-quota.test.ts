/**
 * Coprocessor memory quotas: a call that holds more than `--copr-call-memory-mb` fails with
 * COPR_MEMORY; when running calls together hold more than `--copr-memory-mb`, the one admitted last
 * is refused with COPR_BUSY (the client retries it later, or runs it client-side). Either way the
 * node is not killed: it keeps serving point operations and later calls.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { ClientError } from '../engine/client/errors';
import { firstNodeInfo } from './helpers';

/** Holds `holdMb` of typed arrays while it sleeps `holdMs`, then counts the region's rows. */
const HOG = `import { definePlugin } from '../engine/plugin-api';
export default definePlugin({
  name: 'mq-hog', version: '1.0.0', apiVersion: 1,
  async handle(request: { holdMb: number; holdMs: number }, ctx) {
    const held: Float64Array[] = [];
    for (let mb = 0; mb < request.holdMb; mb++) held.push(new Float64Array(131072).fill(mb));
    await new Promise((resolve) => setTimeout(resolve, request.holdMs));
    let n = 0;
    for (const range of ctx.ranges) for await (const batch of ctx.storage.scan(range)) n += batch.length;
    return n + held.length * 0;
  },
  merge: (parts: number[]) => parts.reduce((a, b) => a + b, 0),
});
`;

const ROWS = 200;
const CALL_MB = 48;
const NODE_MB = 80;
let cluster: LocalCluster;
let client: ClusterClient;
let copr: Coprocessor;

before(async () => {
  cluster = await LocalCluster.start({ nodes: 1, pluginsDir: false, autoSplit: false, nodeArgs: ['--copr-workers', '2', '--copr-call-memory-mb', String(CALL_MB), '--copr-memory-mb', String(NODE_MB)] });
  await cluster.placementAdmin().call(['PD.PLUGIN.DEPLOY', 'mq-hog.ts', HOG]);
  client = await ClusterClient.connect({ placement: cluster.placementAddress });
  copr = new Coprocessor(client);
  await client.mset(Array.from({ length: ROWS }, (_, i) => ({ key: Buffer.from(`mq:${String(i).padStart(5, '0')}`), value: Buffer.from(`v${i}`) })));
});

after(async () => {
  client?.close();
  await cluster?.stop();
});

const hog = (holdMb: number, holdMs: number, onBusy: 'retry' | 'fail' | 'client' = 'fail') =>
  copr.run<{ holdMb: number; holdMs: number }, number>({ plugin: 'mq-hog', request: { holdMb, holdMs }, start: 'mq:', end: 'mq;', mode: 'pushdown', onBusy });

const nodeInfo = (): Promise<Record<string, string>> => firstNodeInfo(client);

async function serves(): Promise<void> {
  assert.equal(String(await client.get(Buffer.from('mq:00007'))), 'v7', 'the node still serves point reads');
  assert.equal((await hog(1, 0)).result, ROWS, 'and later calls under the quota');
}

test('a call under its memory quota runs', async () => {
  assert.equal((await hog(CALL_MB / 2, 50)).result, ROWS);
});

test('a call over its per-call quota fails with COPR_MEMORY, and the node keeps serving', async () => {
  const before = Number((await nodeInfo()).copr_memory_rejections ?? 0);
  await assert.rejects(hog(CALL_MB * 2, 100), (err: unknown) => {
    assert.ok(err instanceof ClientError, String(err));
    assert.equal(err.serverCode, 'COPR_MEMORY', err.message);
    assert.match(err.message, new RegExp(`over its memory quota of ${CALL_MB} MiB`));
    return true;
  });
  await serves();
  const info = await nodeInfo();
  assert.equal(Number(info.copr_memory_rejections) - before, 1, 'INFO counts the refusal');
  assert.equal(Number(info.copr_heap_failures), 0, 'the quota stopped it, not the worker heap limit');
  assert.equal(Number(info.copr_memory_in_use_mb), 0, 'nothing is held after the call');
});

test('calls that together go over the node-wide quota: the later one is refused with COPR_BUSY, the earlier completes', async () => {
  // Each holds 44 MiB (under the per-call 48); two at once hold 88, over the node's 80.
  const first = hog(44, 800);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const second = hog(44, 800);
  const [a, b] = await Promise.allSettled([first, second]);
  assert.equal(a.status, 'fulfilled', a.status === 'rejected' ? String(a.reason) : '');
  assert.equal((a as PromiseFulfilledResult<{ result: number }>).value.result, ROWS);
  assert.equal(b.status, 'rejected');
  const err = (b as PromiseRejectedResult).reason as ClientError;
  assert.equal(err.serverCode, 'COPR_BUSY', err.message);
  assert.match(err.message, new RegExp(`memory quota of ${NODE_MB} MiB is used up`));
  await serves();
});

test('with retries, a call refused for the node-wide quota runs once memory is free again', async () => {
  const first = hog(44, 600);
  await new Promise((resolve) => setTimeout(resolve, 150));
  const second = hog(44, 100, 'retry');
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.result, ROWS);
  assert.equal(b.result, ROWS);
  assert.ok((b.regions[0]!.busyRetries ?? 0) >= 1, `the later call was refused at least once before it ran (its regions: ${JSON.stringify(b.regions)})`);
});
