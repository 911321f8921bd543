/**
 * The redis-cluster backend through the workload CLI, as a user runs it
 * (`npm run workload filter -- -p backend.kind=redis-cluster --size ci`): filter, aggregate and
 * ml-train exit 0 with equal answers across modes, name the backend in manifest and summary, and
 * give the same answers as the copbench backend on the same seeded data (cross-backend). Bad
 * input: Redis not installed, an address that is not a Redis Cluster, a pushdown call past the
 * busy threshold (the run records the cause).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RespConnection } from '../engine/client/connection';
import { RedisCluster } from '../workloads/backends/redis-cluster/launcher';
import { RedisClusterClient } from '../workloads/backends/redis-cluster/cluster-client';

const REPO = path.resolve(__dirname, '..');
const out = mkdtempSync(path.join(os.tmpdir(), 'copbench-redis-backend-'));
const REDIS = ['-p', 'backend.kind=redis-cluster'];

after(() => rmSync(out, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function workload(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--require', path.join(REPO, 'engine/runtime/register.js'), path.join(REPO, 'workloads/driver/cli.ts'), ...args], { cwd: REPO, timeout: 180_000, maxBuffer: 32 * 1024 * 1024, env: { ...env, CI: 'true' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The run folder a workload run printed (`results: <dir>`). */
function runDirOf(r: Run): string {
  const dir = /^results: (.+)$/m.exec(r.stdout)?.[1];
  assert.ok(dir, `the run printed its folder\nstdout:\n${r.stdout.slice(-2000)}\nstderr:\n${r.stderr.slice(-3000)}`);
  return dir;
}

/**
 * summary.json and the printed summary's header name the backend as the manifest does (kind and
 * version, from the backend's own report): a summary read alone, or a pasted console table, still
 * says which engine it measured.
 */
function assertSummaryNamesBackend(r: Run, dir: string, kind: string): void {
  const manifest = json(dir, 'manifest.json');
  const summary = json(dir, 'summary.json');
  assert.deepEqual(summary.backend, { kind, version: manifest.backend.version }, 'summary.json names the backend as the manifest does');
  assert.ok(summary.backend.version, 'with its version');
  const header = `summary: ${manifest.workload} on backend ${kind} (${manifest.backend.version})`;
  assert.ok(r.stdout.includes(`${header}\n`), `stdout starts the printed summary with "${header}"\nstdout:\n${r.stdout.slice(0, 1000)}`);
}

type Row = Record<string, string>;

function samples(dir: string): Row[] {
  const [header, ...lines] = readFileSync(path.join(dir, 'samples.csv'), 'utf8').trim().split('\n');
  const names = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i]!, v.replace(/^"|"$/g, '')])));
}

const json = (dir: string, file: string): Record<string, any> => JSON.parse(readFileSync(path.join(dir, file), 'utf8'));

/** Checksum per (link, point), the same for every mode and repetition (asserted). */
function answers(dir: string): Map<string, string> {
  const byPoint = new Map<string, string>();
  for (const row of samples(dir)) {
    const key = `${row.link} ${row.point}`;
    const seen = byPoint.get(key);
    assert.ok(seen === undefined || seen === row.checksum, `${dir}: ${key} ${row.mode} answered ${row.checksum}, another mode ${seen}`);
    byPoint.set(key, row.checksum!);
  }
  return byPoint;
}

for (const name of ['filter', 'aggregate']) {
  test(`${name} on redis-cluster (size ci) exits 0, its modes agree, manifest, summary.json and the printed summary name the backend, and its answers equal copbench's`, { timeout: 300_000 }, async () => {
    const redis = await workload([name, '--size', 'ci', ...REDIS, '--out', out]);
    assert.equal(redis.code, 0, `exit ${redis.code}\n${redis.stderr.slice(-3000)}`);
    const dir = runDirOf(redis);
    const manifest = json(dir, 'manifest.json');
    assert.equal(manifest.backend.kind, 'redis-cluster');
    assert.match(manifest.backend.version, /^Redis \d+\.\d+/);
    assert.match(manifest.backend.durability, /appendfsync always/);
    assert.deepEqual(manifest.backend.details.persistence.map((p: { appendfsync: string }) => p.appendfsync), ['always', 'always', 'always']);
    assert.match(manifest.backend.details.luaSha256, /^[0-9a-f]{64}$/);
    assert.match(redis.stderr, /backend: redis-cluster \(Redis/);
    assert.match(readFileSync(path.join(dir, 'report.html'), 'utf8'), /backend redis-cluster \(Redis \d/, 'the report names the backend');
    assertSummaryNamesBackend(redis, dir, 'redis-cluster');
    const summary = json(dir, 'summary.json');
    assert.equal(summary.verdict.agree, true, summary.verdict.mismatches?.join('\n'));
    const rows = samples(dir);
    assert.deepEqual([...new Set(rows.map((r) => r.mode))].sort(), ['client', 'pushdown'], 'adaptive is left out: Redis has no cost model');
    assert.ok(rows.every((r) => Number(r.nodesCpuUs) > 0 && Number(r.clientWireInBytes) > 0), 'node CPU and wire bytes come from real counters');
    // Pushdown moves less over the wire than fetching every row wherever the answer is smaller than the data.
    const wire = (mode: string, point: string): number => Math.min(...rows.filter((r) => r.mode === mode && r.point === point).map((r) => Number(r.clientWireInBytes)));
    const points = [...new Set(rows.map((r) => r.point))];
    assert.ok(wire('pushdown', points[0]!) < wire('client', points[0]!), `pushdown reads fewer bytes at ${points[0]}`);

    const copbench = await workload([name, '--size', 'ci', '-p', 'modes=pushdown,client', '--out', out]);
    assert.equal(copbench.code, 0, copbench.stderr.slice(-3000));
    assertSummaryNamesBackend(copbench, runDirOf(copbench), 'copbench');
    assert.deepEqual(answers(dir), answers(runDirOf(copbench)), 'the same seeded data and requests give the same answers on both backends');
  });
}

test('ml-train on redis-cluster (size ci): full-batch modes agree bit for bit, local-sgd is left out, the summary names the backend, and the model equals copbench\'s', { timeout: 300_000 }, async () => {
  const redis = await workload(['ml-train', '--size', 'ci', ...REDIS, '-p', 'links=unlimited', '--out', out]);
  assert.equal(redis.code, 0, redis.stderr.slice(-3000));
  assert.match(redis.stderr, /local-sgd left out on backend redis-cluster/);
  assertSummaryNamesBackend(redis, runDirOf(redis), 'redis-cluster');
  const summary = json(runDirOf(redis), 'summary.json');
  assert.equal(summary.ml.checks.modesAgree, true);
  assert.equal(summary.ml.checks.maxWeightDiffBetweenModes, 0);
  assert.deepEqual([...new Set(summary.trainings.map((t: { mode: string }) => t.mode))].sort(), ['client', 'client-cached', 'pushdown']);
  const copbench = await workload(['ml-train', '--size', 'ci', '-p', 'modes=pushdown,client', '-p', 'links=unlimited', '--out', out]);
  assert.equal(copbench.code, 0, copbench.stderr.slice(-3000));
  const reference = json(runDirOf(copbench), 'summary.json').trainings[0];
  // Gradient sums are merged per region (copbench) or per bucket slice (Redis): the same model up to rounding.
  for (const t of summary.trainings as Array<{ weights: number[]; epochs: number }>) {
    assert.equal(t.epochs, reference.epochs, 'the same number of epochs to tolerance');
    t.weights.forEach((w, j) => assert.ok(Math.abs(w - reference.weights[j]) <= 1e-9 * Math.max(1, Math.abs(reference.weights[j])), `weight ${j}: ${w} vs copbench ${reference.weights[j]}`));
  }
});

test('ycsb-a on redis-cluster (size ci): point reads and updates through the bucket layout, no errors; the summary names the backend', { timeout: 120_000 }, async () => {
  const r = await workload(['ycsb-a', '--size', 'ci', ...REDIS, '--out', out]);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assertSummaryNamesBackend(r, runDirOf(r), 'redis-cluster');
  const summary = json(runDirOf(r), 'summary.json');
  assert.equal(summary.ycsb[0].errors, 0);
  assert.ok(summary.ycsb[0].opsPerSec.mean > 0);
});

test('pushdown of a plugin without a Lua twin is a usage error naming the mode; in client mode it runs', { timeout: 120_000 }, async () => {
  const refused = await workload(['topk', '--size', 'ci', ...REDIS, '--out', out]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /modes: pushdown cannot run on backend\.kind=redis-cluster.*plugin topk has no Lua function/);
  const client = await workload(['topk', '--size', 'ci', ...REDIS, '-p', 'modes=client', '--out', out]);
  assert.equal(client.code, 0, client.stderr.slice(-3000));
});

test('Redis not installed: exit 2 naming the package to install', async () => {
  const bin = mkdtempSync(path.join(os.tmpdir(), 'copbench-no-redis-'));
  try {
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = await workload(['filter', '--size', 'ci', ...REDIS, '--out', out], { ...process.env, PATH: bin });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /redis-server not found: install it with `apt-get install redis-server`/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

/**
 * A pushdown call past Redis's busy threshold, through the CLI: a cluster the test owns with a 5 ms
 * busy-reply-threshold (CONFIG SET: a running cluster's setting, which is what --placement meets),
 * one bucket and one slice per call. A dataset.rows sweep makes the first point small (500 rows:
 * well under a millisecond of Lua) and the second large (100 000 rows: ~70 ms), so the run fails
 * after finishing a point.
 */
test('a pushdown call past busy-reply-threshold: exit 1 naming backend.sliceRows, failure.json and report.html say so, finished points are kept, Redis keeps serving', { timeout: 180_000 }, async () => {
  const cluster = await RedisCluster.start({ nodes: 3, persistence: { appendonly: 'no', appendfsync: 'everysec', save: '' } });
  let admin: RedisClusterClient | undefined;
  try {
    admin = await RedisClusterClient.connect(cluster.addresses);
    for (const p of admin.primaries) await admin.callNode(p.address, ['CONFIG', 'SET', 'busy-reply-threshold', '5']);
    const specFile = path.join(out, 'busy-filter.json');
    writeFileSync(specFile, JSON.stringify({
      name: 'busy-filter',
      description: 'filter count over one bucket in one Lua call: the second point runs past a 5 ms busy threshold',
      kind: 'plugin',
      plugin: 'filter',
      dataset: { kind: 'synthetic', rows: 500, valueBytes: 0, seed: 5, categories: 10 },
      request: { where: [{ column: 'amount', op: '>', value: 500 }], output: 'count' },
      sweep: { parameter: 'dataset.rows', values: [500, 100_000] },
      modes: ['pushdown', 'client'],
      links: ['unlimited'],
      backend: { kind: 'redis-cluster', buckets: 1, sliceRows: 1_000_000 },
      warmup: 0,
      repetitions: 2,
      maxRepetitions: 2,
    }));
    const r = await workload([specFile, '--placement', cluster.addresses[0]!, '--out', out]);
    assert.equal(r.code, 1, `a run-time failure exits 1 (2 is for usage errors)\n${r.stderr.slice(-3000)}`);
    assert.match(r.stderr, /^error: copbench_filter on \S+ .*ran past Redis's busy-reply-threshold of 5 ms.*Lower backend\.sliceRows/m);
    const dir = /^run (.+)$/m.exec(r.stderr)?.[1];
    assert.ok(dir, r.stderr.slice(-2000));

    const failure = json(dir, 'failure.json');
    assert.equal(failure.phase, 'measuring');
    assert.equal(failure.error.name, 'BusyThresholdError');
    assert.match(failure.error.message, /backend\.sliceRows/);
    assert.equal(failure.samplesKept, samples(dir).length);
    const kept = samples(dir).filter((s) => s.point === '500');
    assert.equal(kept.length, 4, 'the finished point\'s samples (2 modes × 2 repetitions) are in samples.csv');
    const summary = json(dir, 'summary.json');
    assert.deepEqual([...new Set(summary.points.map((p: { point: string }) => p.point))], ['500'], 'summary.json covers the finished point only');
    assert.match(summary.stoppedEarly, /failed after 1 point\(s\): .*busy-reply-threshold/);
    assert.equal(summary.backend.kind, 'redis-cluster');

    const report = readFileSync(path.join(dir, 'report.html'), 'utf8');
    assert.match(report, /data-verdict="failed"/);
    assert.match(report, /The run failed while measuring: copbench_filter .*busy-reply-threshold of 5 ms.*Lower backend\.sliceRows.*samples\.csv keeps the \d+ samples/);
    assert.match(readFileSync(path.join(out, 'index.html'), 'utf8'), new RegExp(`<tr data-status="failed"><td><a href="busy-filter/${path.basename(dir)}/report.html">.*FAILED while measuring`), 'the results index marks the run failed');

    for (const p of admin.primaries) assert.equal(String(await admin.callNode(p.address, ['PING'])), 'PONG', `${p.address} serves after the failed call`);
  } finally {
    admin?.close();
    await cluster.stop();
  }
});

let plain: ChildProcess | undefined;
let plainPort = 0;

before(async () => {
  plainPort = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
  plain = spawn('redis-server', ['--port', String(plainPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const conn = new RespConnection({ host: '127.0.0.1', port: plainPort, connectTimeoutMs: 200, requestTimeoutMs: 500 });
    try {
      if (String(await conn.call(['PING'])) === 'PONG') return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      conn.close();
    }
  }
});

after(() => plain?.kill('SIGKILL'));

test('--placement at a Redis server that is not a cluster: a clear error, and nothing is loaded', { timeout: 60_000 }, async () => {
  const r = await workload(['filter', '--size', 'ci', ...REDIS, '--placement', `127.0.0.1:${plainPort}`, '--out', out]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /127\.0\.0\.1:\d+ is not a Redis Cluster node/);
  const conn = new RespConnection({ host: '127.0.0.1', port: plainPort });
  try {
    assert.equal(await conn.call(['DBSIZE']), 0);
  } finally {
    conn.close();
  }
});
