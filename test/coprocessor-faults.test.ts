/**
 * Coprocessor faults on real processes: a plugin that throws, loops forever, exhausts its heap,
 * returns too much, writes without declaring it, reads or writes outside its ranges or scans past
 * its budget gets a clear, typed error; bad plugin files are refused at deploy with a typed load
 * error; and after every fault the node keeps answering (a real aggregate over the dataset and a
 * GET both come back right). One cluster for the whole file, with small limits so faults are fast.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pack } from 'msgpackr';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor, type CoprocessorCall, type CoprocessorOutcome } from '../engine/client/coprocessor';
import { RespConnection } from '../engine/client/connection';
import { ClientError } from '../engine/client/errors';
import { parseInfo } from '../engine/node/info';
import { SAMPLE_SCHEMA } from '../engine/plugin-api';
import { loadRows, syntheticCodec, syntheticKey, syntheticRows } from '../workloads/datasets/synthetic';
import type { GroupResult } from '../plugins/aggregate';
import { waitFor } from './helpers';

const ROWS = 5000;
const HEAP_MB = 64;
const MAX_RESULT_BYTES = 100_000;
const DEADLINE_MS = 1500;
/** The dataset's keys; fault plugins that write use `w:` keys so the dataset stays as loaded. */
const DATA = { start: 'row:', end: 'row;' };
const WRITES = { start: 'w:', end: 'w;' };

let cluster: LocalCluster;
let client: ClusterClient;
/** A second client: one ClusterClient pipelines everything to a node on one connection, in order. */
let reader: ClusterClient;
let copr: Coprocessor;
let node: RespConnection;
let expectedSum = 0;
const sample: { key: Buffer; value: Buffer } = { key: syntheticKey(1234), value: Buffer.alloc(0) };

// ---- fault plugins (deployed as source through placement) ----------------------------------------

const plugin = (body: string): string => `import { definePlugin, utf8 } from '../engine/plugin-api';\nexport default definePlugin({\n  apiVersion: 1,\n  merge: (parts: unknown[]) => parts,\n${body}\n});\n`;

const FAULT_PLUGINS: Record<string, string> = {
  // Not a fault: a plugin this file controls, to check other plugin calls keep working.
  'probe.ts': plugin(`  name: 'probe', version: '1.0.0',
  handle: () => 'alive',`),
  'fault-throws.ts': plugin(`  name: 'fault-throws', version: '1.0.0',
  handle() { throw new Error('boom from fault-throws'); },`),
  'fault-loop.ts': plugin(`  name: 'fault-loop', version: '1.0.0',
  handle() { for (;;) {} },`),
  'fault-heap.ts': plugin(`  name: 'fault-heap', version: '1.0.0',
  handle() {
    const keep: number[][] = [];
    for (;;) keep.push(new Array(1 << 20).fill(0.5));
  },`),
  'fault-big-result.ts': plugin(`  name: 'fault-big-result', version: '1.0.0',
  handle: () => 'x'.repeat(${MAX_RESULT_BYTES * 2}),`),
  // No \`writes: true\`: storage is read-only.
  'fault-sneaky-write.ts': plugin(`  name: 'fault-sneaky-write', version: '1.0.0',
  async handle(req: { key: string }, ctx) { await (ctx.storage as any).put(utf8(req.key), utf8('sneaky')); return 1; },`),
  'fault-writer.ts': plugin(`  name: 'fault-writer', version: '1.0.0', writes: true,
  async handle(req: { key: string; value: string }, ctx) { await ctx.storage.put!(utf8(req.key), utf8(req.value)); return 1; },`),
  'fault-reader.ts': plugin(`  name: 'fault-reader', version: '1.0.0',
  async handle(req: { how: 'get' | 'scan'; key: string }, ctx) {
    if (req.how === 'get') return (await ctx.storage.get(utf8(req.key))) ?? null;
    let n = 0;
    for await (const batch of ctx.storage.scan({ start: utf8(''), end: utf8('') })) n += batch.length;
    return n;
  },`),
};

// ---- helpers ------------------------------------------------------------------------------------

function run<Res = unknown>(call: Partial<CoprocessorCall<unknown>> & { plugin: string }): Promise<CoprocessorOutcome<Res>> {
  return copr.run<unknown, Res>({ request: {}, mode: 'pushdown', ...DATA, ...call });
}

/** Awaits a rejected pushdown call: a ClientError (SERVER) carrying the node's COPR_* code. */
async function pushdownFails(p: Promise<unknown>, code: string, message?: RegExp): Promise<ClientError> {
  const err = await p.then(
    (v) => assert.fail(`expected ${code}, got a result: ${JSON.stringify(v)?.slice(0, 200)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ClientError, `expected a ClientError, got ${String(err)}`);
  assert.equal(err.code, 'SERVER');
  assert.equal(err.serverCode, code, err.message);
  if (message) assert.match(err.message, message);
  return err;
}

/** Client-mode failures have the same shape as pushdown failures (ClientError with the COPR_* code). */
const clientModeFails = pushdownFails;

async function deploy(file: string, source: string): Promise<string> {
  return String(await cluster.placementAdmin().call(['PD.PLUGIN.DEPLOY', file, source]));
}

/** Deploys a file that must be refused; returns the load error code (word after COPR_LOAD). */
async function deployRefused(file: string, source: string): Promise<{ loadCode: string; message: string }> {
  const err = await deploy(file, source).then(
    (v) => assert.fail(`${file} deployed but should have been refused: ${v}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ClientError, String(err));
  assert.equal(err.serverCode, 'COPR_LOAD', err.message);
  const m = /COPR_LOAD (\S+) /.exec(err.message);
  assert.ok(m, err.message);
  return { loadCode: m[1]!, message: err.message };
}

async function coprInfo(): Promise<Record<string, number>> {
  const info = parseInfo(((await node.call(['INFO', 'coprocessor'])) as Buffer).toString());
  return Object.fromEntries(Object.entries(info.coprocessor ?? {}).map(([k, v]) => [k, Number(v)]));
}

async function probe(via = copr): Promise<void> {
  const outcome = await via.run<unknown, string[]>({ plugin: 'probe', request: {}, mode: 'pushdown', ...DATA });
  assert.deepEqual(outcome.result, ['alive']);
}

/** The node still serves: a real aggregate over the whole dataset and a point read come back right. */
async function assertHealthy(): Promise<void> {
  const outcome = await run<GroupResult[]>({ plugin: 'aggregate', request: { schema: SAMPLE_SCHEMA, column: 'amount' } });
  assert.equal(outcome.result.length, 1);
  assert.equal(outcome.result[0]!.count, ROWS);
  assert.ok(Math.abs(outcome.result[0]!.sum - expectedSum) < 1e-6 * expectedSum, `sum ${outcome.result[0]!.sum} != ${expectedSum}`);
  assert.equal(outcome.totals.rowsScanned, ROWS);
  assert.deepEqual(await client.get(sample.key), sample.value);
}

// ---- the cluster ----------------------------------------------------------------------------------

before(async () => {
  cluster = await LocalCluster.start({
    nodes: 1,
    autoSplit: false,
    autoBalance: false,
    nodeArgs: ['--copr-heap-mb', String(HEAP_MB), '--copr-max-result-bytes', String(MAX_RESULT_BYTES), '--copr-deadline-ms', String(DEADLINE_MS)],
  });
  assert.ok(cluster.pluginDeployments.every((d) => d.ok), JSON.stringify(cluster.pluginDeployments));
  client = await ClusterClient.connect({ placement: cluster.placementAddress });
  reader = await ClusterClient.connect({ placement: cluster.placementAddress });
  copr = new Coprocessor(client);
  const n = cluster.nodes.get(1)!;
  node = new RespConnection({ host: n.host, port: n.port, requestTimeoutMs: 10_000 });
  for (const row of syntheticRows({ rows: ROWS })) {
    expectedSum += syntheticCodec.read(row.value, 'amount') as number;
    if (row.key.equals(sample.key)) sample.value = row.value;
  }
  assert.equal(await loadRows(client, syntheticRows({ rows: ROWS })), ROWS);
  for (const [file, source] of Object.entries(FAULT_PLUGINS)) assert.match(await deploy(file, source), /^[a-z-]+@1\.0\.0 [0-9a-f]{64} nodes=1$/);
  await assertHealthy();
});

after(async () => {
  node?.close();
  client?.close();
  reader?.close();
  await cluster?.stop();
});

// ---- cases ----------------------------------------------------------------------------------------

test('a plugin that throws: COPR_PLUGIN_ERROR with its message, in pushdown and in client mode', { timeout: 30_000 }, async () => {
  await pushdownFails(run({ plugin: 'fault-throws' }), 'COPR_PLUGIN_ERROR', /fault-throws@1\.0\.0 .*boom from fault-throws/);
  await clientModeFails(run({ plugin: 'fault-throws', mode: 'client' }), 'COPR_PLUGIN_ERROR', /fault-throws@1\.0\.0 .*client mode.*boom from fault-throws/);
  await assertHealthy();
});

test('an infinite loop: COPR_DEADLINE about the deadline later, the worker is replaced, and the node serves GETs and other plugins meanwhile', { timeout: 30_000 }, async () => {
  const before = await coprInfo();
  const t0 = Date.now();
  const looping = pushdownFails(run({ plugin: 'fault-loop' }), 'COPR_DEADLINE', new RegExp(`${DEADLINE_MS} ms deadline`));
  // While the loop holds one worker, the event loop and the other worker are free.
  await waitFor('the loop to occupy a worker', async () => ((await coprInfo()).copr_busy! >= 1 ? true : undefined), 5000);
  // Through another client: `client` has the looping COPR.EXEC in flight on its one pipelined
  // connection to the node, and RESP replies come back in order, so its GET would wait behind it.
  const g0 = Date.now();
  assert.deepEqual(await reader.get(sample.key), sample.value);
  const getMs = Date.now() - g0;
  assert.ok(getMs < 500, `GET took ${getMs} ms while a plugin looped`);
  await probe(new Coprocessor(reader));
  assert.ok(Date.now() - t0 < DEADLINE_MS, 'the loop should still be running (test too slow to tell)');
  await looping;
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= DEADLINE_MS - 50 && elapsed < DEADLINE_MS + 3000, `COPR_DEADLINE after ${elapsed} ms (deadline ${DEADLINE_MS} ms)`);
  // A per-call deadline shorter than the node's default is honoured too.
  const t1 = Date.now();
  await pushdownFails(run({ plugin: 'fault-loop', deadlineMs: 300 }), 'COPR_DEADLINE', /300 ms deadline/);
  assert.ok(Date.now() - t1 < 300 + 3000, `short deadline came back after ${Date.now() - t1} ms`);
  await assertHealthy();
  const after = await coprInfo();
  assert.equal(after.copr_deadlines! - before.copr_deadlines!, 2);
  assert.equal(after.copr_workers_started! - before.copr_workers_started!, 2, 'one replacement worker per deadline');
  assert.equal(after.copr_crashes, before.copr_crashes);
});

test('a heap bomb: COPR_HEAP, the worker is replaced', { timeout: 30_000 }, async () => {
  const before = await coprInfo();
  // V8 takes about 1-3 s of last-resort GCs to give up on a full heap, which can be longer than the
  // node's default deadline in this file: give the call room so the heap limit is what stops it.
  const t0 = Date.now();
  await pushdownFails(run({ plugin: 'fault-heap', deadlineMs: 20_000 }), 'COPR_HEAP', new RegExp(`${HEAP_MB} MiB heap limit`));
  assert.ok(Date.now() - t0 < 15_000, `COPR_HEAP after ${Date.now() - t0} ms`);
  await assertHealthy();
  const after = await coprInfo();
  assert.equal(after.copr_heap_failures! - before.copr_heap_failures!, 1);
  assert.equal(after.copr_workers_started! - before.copr_workers_started!, 1);
  assert.equal(after.copr_deadlines, before.copr_deadlines);
  assert.equal(after.copr_crashes, before.copr_crashes);
});

test('a result over the cap: COPR_RESULT_TOO_LARGE, no worker lost', { timeout: 30_000 }, async () => {
  const before = await coprInfo();
  await pushdownFails(run({ plugin: 'fault-big-result' }), 'COPR_RESULT_TOO_LARGE', new RegExp(`over the cap of ${MAX_RESULT_BYTES} bytes`));
  await assertHealthy();
  assert.equal((await coprInfo()).copr_workers_started, before.copr_workers_started);
});

test('a write from a plugin without `writes: true`: COPR_READ_ONLY in both modes, nothing written', { timeout: 30_000 }, async () => {
  const request = { key: 'w:sneaky' };
  await pushdownFails(run({ plugin: 'fault-sneaky-write', request, ...WRITES }), 'COPR_READ_ONLY', /read-only/);
  await clientModeFails(run({ plugin: 'fault-sneaky-write', request, ...WRITES, mode: 'client' }), 'COPR_READ_ONLY', /read-only/);
  assert.equal(await client.get('w:sneaky'), undefined);
  await assertHealthy();
});

test('a writing plugin: a write outside its ranges is COPR_OUT_OF_RANGE (both modes); inside them it lands and survives kill -9', { timeout: 60_000 }, async () => {
  await pushdownFails(run({ plugin: 'fault-writer', request: { key: 'zz:outside', value: 'no' }, ...WRITES }), 'COPR_OUT_OF_RANGE', /write of key "zz:outside" outside the call's ranges/);
  await clientModeFails(run({ plugin: 'fault-writer', request: { key: 'zz:outside', value: 'no' }, ...WRITES, mode: 'client' }), 'COPR_OUT_OF_RANGE', /write of key "zz:outside"/);
  // A key just past the end of the range is outside too.
  await pushdownFails(run({ plugin: 'fault-writer', request: { key: 'w;', value: 'no' }, ...WRITES }), 'COPR_OUT_OF_RANGE');
  assert.equal(await client.get('zz:outside'), undefined);
  assert.equal(await client.get('w;'), undefined);

  const ok = await run<number[]>({ plugin: 'fault-writer', request: { key: 'w:pushdown', value: 'written in-node' }, ...WRITES });
  assert.deepEqual(ok.result, [1]);
  assert.equal(ok.regions[0]!.node!.rowsWritten, 1);
  const okClient = await run<number[]>({ plugin: 'fault-writer', request: { key: 'w:client', value: 'written from the client' }, ...WRITES, mode: 'client' });
  assert.deepEqual(okClient.result, [1]);
  assert.equal((await client.get('w:pushdown'))?.toString(), 'written in-node');
  assert.equal((await client.get('w:client'))?.toString(), 'written from the client');

  // Acknowledged plugin writes are durable: kill -9 the node, restart it, read them back.
  await cluster.killNode(1);
  await cluster.startNode(1);
  await cluster.waitForNodesUp(1);
  node.close();
  const n = cluster.nodes.get(1)!;
  node = new RespConnection({ host: n.host, port: n.port, requestTimeoutMs: 10_000 });
  assert.equal((await client.get('w:pushdown'))?.toString(), 'written in-node');
  assert.equal((await client.get('w:client'))?.toString(), 'written from the client');
  // The restarted node got every deployed plugin back from placement.
  const listed = ((await node.call(['COPR.LIST'])) as Buffer[][]).map((row) => `${row[0]!.toString()}@${row[1]!.toString()}`);
  for (const file of Object.keys(FAULT_PLUGINS)) assert.ok(listed.includes(`${file.replace(/\.ts$/, '')}@1.0.0`), listed.join(' '));
  await assertHealthy();
});

test('a read outside the call\'s ranges (get or scan): COPR_OUT_OF_RANGE in both modes', { timeout: 30_000 }, async () => {
  for (const mode of ['pushdown', 'client'] as const) {
    const get = run({ plugin: 'fault-reader', request: { how: 'get', key: 'zz:outside' }, mode });
    const scan = run({ plugin: 'fault-reader', request: { how: 'scan', key: '' }, mode });
    if (mode === 'pushdown') {
      await pushdownFails(get, 'COPR_OUT_OF_RANGE', /read of key "zz:outside" outside/);
      await pushdownFails(scan, 'COPR_OUT_OF_RANGE', /scan of \[.*\+inf\) reaches outside/);
    } else {
      await clientModeFails(get, 'COPR_OUT_OF_RANGE', /read of key "zz:outside" outside/);
      await clientModeFails(scan, 'COPR_OUT_OF_RANGE', /reaches outside/);
    }
  }
  // Inside the ranges the same plugin reads fine.
  const inside = await run<Array<Uint8Array | null>>({ plugin: 'fault-reader', request: { how: 'get', key: sample.key.toString() } });
  assert.deepEqual(Buffer.from(inside.result[0]!), sample.value);
  await assertHealthy();
});

test('a scan past maxRowsScanned: COPR_SCAN_BUDGET in both modes', { timeout: 30_000 }, async () => {
  const request = { schema: SAMPLE_SCHEMA, column: 'amount' };
  await pushdownFails(run({ plugin: 'aggregate', request, maxRowsScanned: 100 }), 'COPR_SCAN_BUDGET', /more than 100 rows/);
  await clientModeFails(run({ plugin: 'aggregate', request, maxRowsScanned: 100, mode: 'client' }), 'COPR_SCAN_BUDGET', /more than 100 rows/);
  // A budget the region fits in is fine.
  const fits = await run<GroupResult[]>({ plugin: 'aggregate', request, maxRowsScanned: ROWS });
  assert.equal(fits.result[0]!.count, ROWS);
  await assertHealthy();
});

test('deploying a file with a syntax error: COPR_LOAD SYNTAX; nothing else is affected', { timeout: 30_000 }, async () => {
  const refused = await deployRefused('fault-syntax.ts', plugin(`  name: 'fault-syntax', version: '1.0.0',\n  handle() { return ((; },`));
  assert.equal(refused.loadCode, 'SYNTAX', refused.message);
  assert.match(refused.message, /fault-syntax\.ts/);
  // Refused at placement: no node ever saw it, and the name does not resolve.
  const listed = ((await node.call(['COPR.LIST'])) as Buffer[][]).map((row) => row.map((b) => b.toString()));
  assert.ok(!listed.some((row) => row.join(' ').includes('fault-syntax')), JSON.stringify(listed));
  await pushdownFails(run({ plugin: 'fault-syntax' }), 'COPR_NOT_FOUND');
  // A file that deployed fine before and is redeployed broken keeps its working version.
  const broken = await deployRefused('fault-throws.ts', '}}} not typescript');
  assert.equal(broken.loadCode, 'SYNTAX');
  await pushdownFails(run({ plugin: 'fault-throws' }), 'COPR_PLUGIN_ERROR', /boom from fault-throws/);
  await probe();
  await assertHealthy();
});

test('typed load errors at deploy: API_MISMATCH, NO_DEFAULT_EXPORT, INVALID_VERSION, INVALID_NAME, FORBIDDEN_IMPORT, LOAD_FAILED, DUPLICATE', { timeout: 30_000 }, async () => {
  const cases: Array<[string, string, string]> = [
    ['API_MISMATCH', 'fault-api2.ts', `import { definePlugin } from '../engine/plugin-api';\nexport default definePlugin({ name: 'fault-api2', version: '1.0.0', apiVersion: 2 as any, handle: () => 1, merge: (p: unknown[]) => p });\n`],
    ['NO_DEFAULT_EXPORT', 'fault-nodefault.ts', `import { definePlugin } from '../engine/plugin-api';\nexport const p = definePlugin({ name: 'fault-nodefault', version: '1.0.0', apiVersion: 1, handle: () => 1, merge: (p: unknown[]) => p });\n`],
    ['INVALID_VERSION', 'fault-badversion.ts', plugin(`  name: 'fault-badversion', version: 'one.two',\n  handle: () => 1,`)],
    ['INVALID_NAME', 'fault-badname.ts', plugin(`  name: 'Bad Name!', version: '1.0.0',\n  handle: () => 1,`)],
    ['FORBIDDEN_IMPORT', 'fault-fs.ts', `import { readFileSync } from 'node:fs';\n${plugin(`  name: 'fault-fs', version: '1.0.0',\n  handle: () => readFileSync('/etc/hostname', 'utf8'),`)}`],
    ['LOAD_FAILED', 'fault-toplevel.ts', `throw new Error('top-level boom');\n${plugin(`  name: 'fault-toplevel', version: '1.0.0',\n  handle: () => 1,`)}`],
    // Same name@version as probe.ts, different code, another file.
    ['DUPLICATE', 'fault-dup-probe.ts', plugin(`  name: 'probe', version: '1.0.0',\n  handle: () => 'impostor',`)],
  ];
  for (const [code, file, source] of cases) {
    const refused = await deployRefused(file, source);
    assert.equal(refused.loadCode, code, refused.message);
    assert.match(refused.message, new RegExp(file.replace('.', '\\.')));
  }
  assert.match((await deployRefused('fault-api2b.ts', cases[0]![2].replace('fault-api2', 'fault-api2b'))).message, /apiVersion 2 is not supported/);
  assert.match((await deployRefused('fault-fs2.ts', cases[4]![2].replace("'fault-fs'", "'fault-fs2'"))).message, /imports 'node:fs'/);
  // None of them is runnable, and probe still answers with its own code.
  for (const name of ['fault-api2', 'fault-nodefault', 'fault-badversion', 'fault-fs', 'fault-toplevel']) await pushdownFails(run({ plugin: name }), 'COPR_NOT_FOUND');
  await probe();
  await assertHealthy();
});

test('an unknown plugin or a version range nothing satisfies: COPR_NOT_FOUND listing what exists (placement and node)', { timeout: 30_000 }, async () => {
  // Through the client, placement answers first (the client fetches the artifact to know its merge).
  await pushdownFails(run({ plugin: 'no-such-plugin' }), 'COPR_NOT_FOUND', /no plugin named 'no-such-plugin'; loaded: .*filter@1\.0\.0/);
  await pushdownFails(run({ plugin: 'filter', version: '^9' }), 'COPR_NOT_FOUND', /no version of 'filter' satisfies '\^9'; loaded: filter@1\.0\.0/);
  await pushdownFails(run({ plugin: 'no-such-plugin', mode: 'client' }), 'COPR_NOT_FOUND', /filter@1\.0\.0/);
  // The node's own COPR.EXEC says the same.
  const region = (await cluster.fetchMap()).regions[0]!;
  const exec = (name: string, range: string): Promise<unknown> =>
    node.call(['COPR.EXEC', name, range, String(region.id), String(region.epoch), pack({}), pack([[Buffer.from(DATA.start), Buffer.from(DATA.end)]])]);
  await pushdownFails(exec('no-such-plugin', '*'), 'COPR_NOT_FOUND', /no plugin named 'no-such-plugin'; loaded: .*aggregate@1\.1\.0.*filter@1\.0\.0/);
  await pushdownFails(exec('filter', '^9'), 'COPR_NOT_FOUND', /no version of 'filter' satisfies '\^9'; loaded: filter@1\.0\.0/);
  await assertHealthy();
});

test('INFO coprocessor counts calls and replacements; the pool is idle after all the faults', { timeout: 30_000 }, async () => {
  const info = await coprInfo();
  // The node was restarted (kill -9) after the deadline and heap cases, so only check shape here;
  // the per-case deltas are checked in those cases.
  for (const field of ['copr_calls', 'copr_deadlines', 'copr_heap_failures', 'copr_crashes', 'copr_workers_started', 'copr_busy', 'copr_queued']) {
    assert.ok(Number.isFinite(info[field]), `INFO coprocessor lacks ${field}: ${JSON.stringify(info)}`);
  }
  assert.equal(info.copr_busy, 0);
  assert.equal(info.copr_queued, 0);
  assert.ok(info.copr_calls! > 0);
  assert.ok(info.plugins! >= 3 + Object.keys(FAULT_PLUGINS).length, JSON.stringify(info));
});
