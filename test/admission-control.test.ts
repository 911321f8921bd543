/**
 * Node-side admission control for coprocessor calls: beyond the queue bound (`--copr-max-queue`) a
 * call is refused at once with COPR_BUSY, the node keeps serving point operations meanwhile, and
 * the client retries the region (default) or runs it client-side with the same code, so the answer
 * is the same. With `--copr-nice`, the plugin workers run at a lower OS priority than the main
 * thread that serves point operations. A contention-aware client (Coprocessor.load, pushBack) runs a
 * region client-side when its node's reported load makes that faster.
 */
import { after, before, test } from 'node:test';
import { readFileSync, readdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { ClientError } from '../engine/client/errors';
import { firstNodeInfo } from './helpers';
import { pushBackWhenBusy, WAIT_HALF_LIFE_MS } from '../engine/client/node-load';

/** Sleeps per region (on the node: in its worker), then counts the region's rows. */
const SLOW_COUNT = `import { definePlugin } from '../engine/plugin-api';
export default definePlugin({
  name: 'ac-slow-count', version: '1.0.0', apiVersion: 1,
  async handle(request: { sleepMs: number }, ctx) {
    await new Promise((resolve) => setTimeout(resolve, request.sleepMs));
    let n = 0;
    for (const range of ctx.ranges) for await (const batch of ctx.storage.scan(range)) n += batch.length;
    return n;
  },
  merge: (parts: number[]) => parts.reduce((a, b) => a + b, 0),
});
`;

const ROWS = 300;
let cluster: LocalCluster;
let client: ClusterClient;
let copr: Coprocessor;

before(async () => {
  // One node with one plugin worker and room for one waiting call.
  cluster = await LocalCluster.start({ nodes: 1, pluginsDir: false, autoSplit: false, nodeArgs: ['--copr-workers', '1', '--copr-max-queue', '1', '--copr-nice', '10'] });
  await cluster.placementAdmin().call(['PD.PLUGIN.DEPLOY', 'ac-slow-count.ts', SLOW_COUNT]);
  client = await ClusterClient.connect({ placement: cluster.placementAddress });
  copr = new Coprocessor(client);
  await client.mset(Array.from({ length: ROWS }, (_, i) => ({ key: Buffer.from(`ac:${String(i).padStart(5, '0')}`), value: Buffer.from(`v${i}`) })));
});

after(async () => {
  client?.close();
  await cluster?.stop();
});

const call = (onBusy?: 'retry' | 'fail' | 'client') => copr.run<{ sleepMs: number }, number>({ plugin: 'ac-slow-count', request: { sleepMs: 400 }, start: 'ac:', end: 'ac;', mode: 'pushdown', ...(onBusy ? { onBusy } : {}) });

const nodeInfo = (): Promise<Record<string, string>> => firstNodeInfo(client);

test('beyond the queue bound calls are refused with COPR_BUSY, and point operations are served meanwhile', async () => {
  await call('fail'); // the worker is up and holds the plugin: the flood below meets one free worker
  const before = Number((await nodeInfo()).copr_busy_rejections ?? 0);
  const doneAt: number[] = [];
  const calls = Array.from({ length: 5 }, () => call('fail').finally(() => doneAt.push(Date.now())));
  // While one call runs and one waits, the node answers point reads.
  assert.equal(String(await client.get(Buffer.from('ac:00007'))), 'v7');
  const getDoneAt = Date.now();
  const settled = await Promise.allSettled(calls);
  const ok = settled.filter((s) => s.status === 'fulfilled');
  const busy = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  assert.ok(ok.length >= 2, `one running and one queued call complete (${ok.length} did)`);
  for (const s of ok) assert.equal((s as PromiseFulfilledResult<{ result: number }>).value.result, ROWS);
  assert.ok(busy.length >= 1, 'calls beyond the bound are refused');
  for (const s of busy) {
    assert.ok(s.reason instanceof ClientError, String(s.reason));
    assert.equal(s.reason.serverCode, 'COPR_BUSY', s.reason.message);
    assert.match(s.reason.message, /busy: 1 calls running, 1 waiting \(queue bound 1\)/);
  }
  // The refusals come back at once; the two admitted calls take 400 ms each, one after the other.
  const admittedDone = [...doneAt].sort((a, b) => a - b).slice(-2);
  assert.ok(getDoneAt < admittedDone[0]!, 'the GET was answered before the running call finished');
  assert.equal(Number((await nodeInfo()).copr_busy_rejections) - before, busy.length, 'INFO counts the refusals');
});

test('by default the client retries a refused region after a backoff: every call completes with the right answer', async () => {
  const outcomes = await Promise.all(Array.from({ length: 4 }, () => call()));
  for (const o of outcomes) assert.equal(o.result, ROWS);
  const retried = outcomes.flatMap((o) => o.regions).filter((r) => (r.busyRetries ?? 0) > 0);
  assert.ok(retried.length >= 1, 'some regions were refused and retried');
});

test('with onBusy "client", a refused region runs client-side with the same code and the answer is the same', async () => {
  const outcomes = await Promise.all(Array.from({ length: 5 }, () => call('client')));
  for (const o of outcomes) assert.equal(o.result, ROWS);
  const fellBack = outcomes.flatMap((o) => o.regions).filter((r) => r.ranClientSide);
  assert.ok(fellBack.length >= 1, 'some regions ran client-side');
  for (const o of outcomes) assert.deepEqual(o.sha256s.length, 1, 'one code version answered');
});

/** The nice value of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(pid: number): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nices.set(Number(tid), Number(fields[16]));
  }
  return nices;
}

test('--copr-nice runs the plugin workers at a lower OS priority than the thread that serves point operations', { skip: process.platform !== 'linux' }, async () => {
  const info = await nodeInfo();
  assert.equal(info.copr_worker_nice, '10');
  const pid = Number(info.process_id);
  const nices = threadNices(pid);
  assert.equal(nices.get(pid), 0, 'the main thread keeps its priority');
  const reniced = [...nices].filter(([tid, nice]) => tid !== pid && nice === 10);
  assert.equal(reniced.length, 1, `one worker thread at nice 10 (threads: ${JSON.stringify([...nices])})`);
});

test('contention-aware pushdown: a region whose node is known to be saturated runs client-side, with the same answer; once that fades, pushdown again', async () => {
  // Two calls at once on the one-worker node: the second waits ~400 ms for the first, and its reply says so.
  await Promise.all([call(), call()]);
  const expectedWaitMs = copr.load.expectedWaitMs((await client.getMap()).nodes[0]!.id);
  assert.ok(expectedWaitMs > 50, `the client expects a wait at the node (${expectedWaitMs.toFixed(1)} ms)`);
  // Pushdown alone (400 ms) beats client (450 ms) on an idle node, but not after that wait.
  const pushBack = pushBackWhenBusy(copr.load, { pushdownMs: 400, clientMs: 450 });
  const busy = await copr.run<{ sleepMs: number }, number>({ plugin: 'ac-slow-count', request: { sleepMs: 400 }, start: 'ac:', end: 'ac;', mode: 'pushdown', pushBack });
  assert.equal(busy.result, ROWS);
  assert.ok(busy.regions.length > 0 && busy.regions.every((r) => r.pushedBack && r.ranClientSide && !r.node), JSON.stringify(busy.regions));
  await new Promise((resolve) => setTimeout(resolve, 8 * WAIT_HALF_LIFE_MS));
  const idle = await copr.run<{ sleepMs: number }, number>({ plugin: 'ac-slow-count', request: { sleepMs: 10 }, start: 'ac:', end: 'ac;', mode: 'pushdown', pushBack });
  assert.equal(idle.result, ROWS);
  assert.ok(idle.regions.every((r) => !r.pushedBack && r.node), JSON.stringify(idle.regions));
});
