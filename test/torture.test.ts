/**
 * The reliability suite in a small size: every scenario of torture/ runs on real processes and each
 * figure is asserted (acked writes lost = 0, wrong answers = 0, crashes = 0, faults contained N/N,
 * load errors = 0, admin commands refused N/N, ...). The checkers the figures rely on are tested on
 * inputs where they must report a problem, so a figure cannot pass by checking nothing. Also: a
 * pushdown scan overtaken by a move of its region (the source deletes the rows under the scan)
 * still returns every row, and `npm run torture` prints its help and writes figures.json.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { NO_STATE, SAMPLE_SCHEMA } from '../engine/plugin-api';
import { DEFAULT_READER_LIMITS, RespProtocolError, RespReader } from '../engine/protocol/resp';
import { loadRows, syntheticRows } from '../workloads/datasets/synthetic';
import { SCENARIOS, pickScenarios, runScenario } from '../torture/suite';
import { fuzzFrame } from '../torture/fuzz-frames';
import { decodeProcAddress, isLoopback, listenAddresses } from '../torture/listen-addresses';
import { processMemory } from '../engine/util/process-memory';
import { checkAnswer, type Query, type Row } from '../torture/splits-under-load';
import { allOfFigure, atMostFigure, equalFigure, type Figure, type ScenarioReport } from '../torture/types';
import aggregatePlugin from '../plugins/aggregate';
import filterPlugin from '../plugins/filter';
import { sleep } from './helpers';

const REPO = path.resolve(__dirname, '..');
const SEED = 7;

/** The figure named `name` of a report (fails the test when it is missing). */
function figure(report: ScenarioReport, name: string): Figure {
  const f = report.figures.find((x) => x.name === name);
  assert.ok(f, `${report.scenario} has no figure '${name}': ${report.figures.map((x) => x.name).join(', ')}`);
  return f;
}

/** Every figure passes; the message lists the failing ones with their details. */
function assertAllPass(report: ScenarioReport): void {
  assert.equal(report.error, undefined, `${report.scenario} did not run to the end: ${report.error}`);
  const failing = report.figures.filter((f) => !f.pass);
  assert.deepEqual(failing.map((f) => `${f.name} = ${f.value} (expect ${f.expect}, N ${f.n}): ${f.detail}`), [], `${report.scenario} figures`);
}

const scenario = (name: string) => pickScenarios([name])[0]!;

// ---- the checkers can fail -------------------------------------------------------------------------

describe('checkers report problems', () => {
  test('figure helpers pass only on the expected value', () => {
    assert.equal(equalFigure('lost', 0, 0, 10, '').pass, true);
    assert.equal(equalFigure('lost', 1, 0, 10, '').pass, false);
    assert.equal(allOfFigure('contained', 9, 9, '').pass, true);
    assert.equal(allOfFigure('contained', 8, 9, '').pass, false);
    assert.equal(allOfFigure('contained', 0, 0, '').pass, false, 'nothing checked is not a pass');
    assert.equal(atMostFigure('p99', 12, 10, 1, '', 'ms').pass, false);
    assert.equal(atMostFigure('p99', NaN, 10, 1, '', 'ms').pass, false, 'no measurement is not a pass');
  });

  test('the answer checker finds a missing row, a row counted twice and a wrong value', async () => {
    const rows: Row[] = [...syntheticRows({ rows: 300, seed: 3 })];
    const agg: Query = { plugin: 'aggregate', request: { schema: SAMPLE_SCHEMA, column: 'amount', groupBy: 'category' } };
    const filter: Query = { plugin: 'filter', request: { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: 500 }] } };
    /** The plugin's own answer over `over` (one region, in this process). */
    const answer = async (q: Query, over: Row[]): Promise<unknown> => {
      const plugin = (q.plugin === 'aggregate' ? aggregatePlugin : filterPlugin) as unknown as { handle: (req: unknown, ctx: unknown) => Promise<unknown>; merge: (parts: unknown[], req: unknown) => unknown };
      const ranges = [{ start: Buffer.alloc(0), end: Buffer.alloc(0) }];
      // The rows exactly as given, duplicates and gaps included.
      const storage = {
        get: async () => undefined,
        async *scan() {
          yield over;
        },
        async visit(_range: unknown, visitor: (key: Uint8Array, value: Uint8Array) => unknown) {
          for (const row of over) visitor(row.key, row.value);
          return over.length;
        },
      };
      return plugin.merge([await plugin.handle(q.request, { ranges, storage, signal: new AbortController().signal, where: 'client', state: NO_STATE })], q.request);
    };
    assert.equal(checkAnswer(agg, await answer(agg, rows), rows), undefined);
    assert.equal(checkAnswer(filter, await answer(filter, rows), rows), undefined);
    const firstMatch = rows.findIndex((r) => (checkAnswer(filter, { count: 0, rows: [] }, [r]) ?? '').length > 0);
    const withoutIt = rows.filter((_, i) => i !== firstMatch);
    assert.match(checkAnswer(agg, await answer(agg, rows.slice(1)), rows) ?? '', /count/);
    assert.match(checkAnswer(agg, await answer(agg, [...rows, rows[5]!]), rows) ?? '', /count/);
    assert.match(checkAnswer(filter, await answer(filter, withoutIt), rows) ?? '', /count/);
    const swapped = rows.map((r, i) => (i === firstMatch ? { key: r.key, value: rows.find((x, j) => j > i && checkAnswer(filter, { count: 0, rows: [] }, [x]) !== undefined)!.value } : r));
    assert.match(checkAnswer(filter, await answer(filter, swapped), rows) ?? '', /value differs/);
  });

  test('a request over maxRequestBytes in all is refused from the declared length, before its bytes; replies are not capped', () => {
    assert.equal(DEFAULT_READER_LIMITS.maxRequestBytes, 512 * 1024 * 1024);
    const bulk = (n: number): string => `$${n}\r\n${'v'.repeat(n)}\r\n`;
    const reader = new RespReader('request', { maxRequestBytes: 1000 });
    // Two requests of ~900 bytes each: the count starts again with every request.
    reader.push(Buffer.from(`*2\r\n${bulk(3).replace('vvv', 'SET')}${bulk(880)}*2\r\n${bulk(3).replace('vvv', 'SET')}${bulk(880)}`));
    assert.equal((reader.next() as Buffer[]).length, 2);
    assert.equal((reader.next() as Buffer[]).length, 2);
    // Three bulks of 400: refused at the third length, with none of its bytes sent.
    reader.push(Buffer.from(`*4\r\n$4\r\nMSET\r\n${bulk(400)}${bulk(400)}$400\r\n`));
    assert.throws(() => reader.next(), (err: Error) => err instanceof RespProtocolError && /request of more than 1000 bytes/.test(err.message));
    const replies = new RespReader('reply', { maxRequestBytes: 1000 });
    replies.push(Buffer.from(`*3\r\n${bulk(400)}${bulk(400)}${bulk(400)}`));
    assert.equal((replies.next() as Buffer[]).length, 3);
  });

  test('fuzz frames are the same for the same seed and cover every kind', () => {
    assert.deepEqual(fuzzFrame(5, 123), fuzzFrame(5, 123));
    assert.notDeepEqual(fuzzFrame(5, 123).bytes, fuzzFrame(6, 123).bytes);
    const kinds = new Set(Array.from({ length: 2000 }, (_, i) => fuzzFrame(1, i).kind));
    assert.deepEqual([...kinds].sort(), ['command', 'mutated', 'oversized', 'pipelined', 'random', 'truncated']);
  });

  test('the listen-address check sees 0.0.0.0 as not loopback, 127.0.0.1 as loopback', async () => {
    assert.equal(decodeProcAddress('0100007F'), '127.0.0.1');
    assert.equal(decodeProcAddress('00000000000000000000000001000000'), '::1');
    assert.equal(decodeProcAddress('0000000000000000FFFF00000100007F'), '127.0.0.1');
    const servers = await Promise.all(['0.0.0.0', '127.0.0.1'].map((host) => new Promise<net.Server>((resolve) => {
      const s = net.createServer();
      s.listen(0, host, () => resolve(s));
    })));
    try {
      const found = listenAddresses(process.pid);
      const [any, loop] = servers.map((s) => (s.address() as net.AddressInfo).port);
      const anyAddr = found.find((a) => a.port === any);
      const loopAddr = found.find((a) => a.port === loop);
      assert.equal(anyAddr?.host, '0.0.0.0');
      assert.equal(isLoopback(anyAddr!.host), false);
      assert.equal(loopAddr?.host, '127.0.0.1');
      assert.equal(isLoopback(loopAddr!.host), true);
    } finally {
      for (const s of servers) s.close();
    }
  });

  test('process memory reads RSS and its high-water mark from /proc', () => {
    const mem = processMemory(process.pid)!;
    assert.ok(mem.rssBytes > 10 * 1024 * 1024 && mem.peakRssBytes >= mem.rssBytes, JSON.stringify(mem));
    assert.equal(processMemory(2 ** 22 + 12345), undefined);
  });
});

// ---- an engine bug this suite found ------------------------------------------------------------------

describe('a pushdown scan overtaken by a move of its region', () => {
  const ROWS = 10_000;
  let cluster: LocalCluster;
  let client: ClusterClient;

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 2, autoSplit: false, autoBalance: false });
    client = await ClusterClient.connect({ placement: cluster.placementAddress });
    await loadRows(client, syntheticRows({ rows: ROWS, seed: 1 }));
    // Counts rows slowly (a pause per batch of 1024), so a region move finishes while it scans.
    const slowCount = `import { definePlugin } from '../engine/plugin-api';
export default definePlugin({ name: 'tt-slow-count', version: '1.0.0', apiVersion: 1,
  async handle(_req: {}, ctx) {
    let n = 0;
    for (const range of ctx.ranges) for await (const batch of ctx.storage.scan(range)) { n += batch.length; await new Promise((r) => setTimeout(r, 150)); }
    return n;
  },
  merge: (parts: number[]) => parts.reduce((a, b) => a + b, 0) });
`;
    await cluster.placementAdmin().call(['PD.PLUGIN.DEPLOY', 'tt-slow-count.ts', slowCount]);
  });

  after(async () => {
    client?.close();
    await cluster?.stop();
  });

  test('counts every row: the node refuses the partial (EPOCH/MOVED) and the client retries on the new owner', { timeout: 60_000 }, async () => {
    const map = await cluster.fetchMap();
    const region = map.regions[0]!;
    const target = map.nodes.find((n) => n.id !== region.nodeId)!.id;
    const call = new Coprocessor(client).run<unknown, number>({ plugin: 'tt-slow-count', request: {}, mode: 'pushdown' });
    await sleep(300);
    await cluster.placementAdmin().call(['PD.MOVE', String(region.id), String(target)]);
    const moved = await cluster.fetchMap();
    assert.equal(moved.regions[0]!.nodeId, target, 'the region moved while the scan ran');
    const out = await call;
    assert.equal(out.result, ROWS, `counted ${out.result} of ${ROWS} rows`);
    assert.ok((client.retries.MOVED ?? 0) + (client.retries.EPOCH ?? 0) >= 1, `the first partial was refused: ${JSON.stringify(client.retries)}`);
  });
});

// ---- every scenario, small ------------------------------------------------------------------------------

describe('torture scenarios (small)', () => {
  test('the suite lists the six scenarios of issue 7', () => {
    assert.deepEqual(SCENARIOS.map((s) => s.name), ['crash', 'splits', 'fuzz', 'faults', 'load', 'security']);
  });

  test('crash: no acknowledged write lost across kill -9 of nodes and placement; the cluster serves again by itself', { timeout: 180_000 }, async () => {
    const report = await runScenario(scenario('crash'), 'small', SEED);
    assertAllPass(report);
    const lost = figure(report, 'acked writes lost');
    assert.equal(lost.value, 0);
    assert.ok(lost.n >= scenario('crash').sizes.small.keys, `checked ${lost.n} keys`);
    assert.equal(figure(report, 'restarts back to a whole cluster').value, scenario('crash').sizes.small.kills);
  });

  test('splits: every aggregate/filter answer equals the snapshot while regions split and move', { timeout: 180_000 }, async () => {
    const report = await runScenario(scenario('splits'), 'small', SEED);
    assertAllPass(report);
    assert.equal(figure(report, 'wrong answers').value, 0);
    assert.ok(figure(report, 'wrong answers').n >= 20, `only ${figure(report, 'wrong answers').n} answers checked`);
    assert.equal(figure(report, 'failed calls').value, 0);
  });

  test('fuzz: no crash, PING after every batch, bounded RSS, acked data intact', { timeout: 180_000 }, async () => {
    const report = await runScenario(scenario('fuzz'), 'small', SEED);
    assertAllPass(report);
    assert.equal(figure(report, 'crashes').value, 0);
    assert.equal(figure(report, 'crashes').n, scenario('fuzz').sizes.small.frames);
    assert.equal(figure(report, 'acked keys intact after the fuzz').value, scenario('fuzz').sizes.small.ackedKeys);
  });

  test('faults: nine kinds of plugin fault contained N/N, each with its error code', { timeout: 180_000 }, async () => {
    const report = await runScenario(scenario('faults'), 'small', SEED);
    assertAllPass(report);
    const contained = figure(report, 'faults contained');
    assert.equal(contained.n, 9 * scenario('faults').sizes.small.repetitions);
    assert.equal(contained.value, contained.n);
  });

  test('load: 50 clients, errors = 0, wrong answers = 0, p99 reported, peak RSS of every process bounded', { timeout: 180_000 }, async () => {
    const report = await runScenario(scenario('load'), 'small', SEED);
    assertAllPass(report);
    assert.equal(figure(report, 'errors').value, 0);
    assert.ok(figure(report, 'errors').n > 100, `only ${figure(report, 'errors').n} operations`);
    assert.ok(Number.isFinite(figure(report, 'p99 coprocessor call').value as number));
    for (const label of ['placement', 'node-1', 'node-2', 'node-3', 'harness']) figure(report, `peak RSS ${label}`);
  });

  test('security: admin commands refused without the token, loopback only, oversized input refused', { timeout: 180_000 }, async () => {
    const report = await runScenario(scenario('security'), 'small', SEED);
    assertAllPass(report);
    const refused = figure(report, 'admin commands refused without / with a wrong token');
    assert.equal(refused.value, refused.n);
    assert.ok(refused.n >= 24);
  });
});

// ---- the CLI ------------------------------------------------------------------------------------------

describe('npm run torture', () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['--require', path.join(REPO, 'engine/runtime/register.js'), path.join(REPO, 'torture/cli.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });

  test('--help lists the scenarios and options; a bad flag exits 2', () => {
    const help = cli(['--help']);
    assert.equal(help.status, 0, help.stderr);
    for (const s of SCENARIOS) assert.match(help.stdout, new RegExp(`^ +${s.name} +`, 'm'));
    assert.match(help.stdout, /--size <size>/);
    assert.match(help.stdout, /--only <names>/);
    const bad = cli(['--only', 'nope']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown scenario 'nope'/);
  });

  test('prints the figures table and writes results/torture/<run-id>/figures.json', { timeout: 120_000 }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'copbench-torture-'));
    try {
      const run = cli(['--size', 'small', '--only', 'security', '--quiet', '--out', dir]);
      assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /^scenario +figure +value +N +expect +result +detail$/m);
      assert.match(run.stdout, /^security +admin commands refused without \/ with a wrong token +\d+ +\d+ += N +pass/m);
      const written = JSON.parse(readFileSync(path.join(dir, 'torture', 'latest', 'figures.json'), 'utf8')) as { pass: boolean; size: string; scenarios: ScenarioReport[] };
      assert.equal(written.pass, true);
      assert.equal(written.size, 'small');
      assert.deepEqual(written.scenarios.map((s) => s.scenario), ['security']);
      assert.ok(written.scenarios[0]!.figures.length >= 7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
