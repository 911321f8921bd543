import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gitCommit, gitDirty, machineInfo, newRunId, packageVersions, pointLatest, ResultsWriter } from './writer';
import { listRuns, readRun, RunReadError } from './reader';
import { REPO_ROOT } from './environment';

const base = mkdtempSync(path.join(os.tmpdir(), 'copbench-results-'));
after(() => rmSync(base, { recursive: true, force: true }));

test('run ids are a UTC timestamp plus a random suffix', () => {
  const id = newRunId(new Date(Date.UTC(2026, 10, 30, 7, 34, 53, 120)));
  assert.match(id, /^2026-11-30T07-34-53Z-[0-9a-f]{6}$/);
  assert.notEqual(newRunId(), newRunId());
});

test('a run folder holds manifest, samples and summary, and reads back with typed samples', () => {
  const writer = ResultsWriter.create(base, 'filter');
  assert.equal(writer.dir, path.join(base, 'filter', writer.runId));
  writer.writeManifest({ workload: 'filter', seed: 42n, spec: { rows: 1000 } });
  writer.appendSample({ mode: 'pushdown', point: '0.01', latencyMs: 1.5, ok: true, note: null });
  writer.appendSample({ mode: 'client, "cold"', point: '1', latencyMs: 12, ok: false });
  writer.writeSummary({ speedup: 8, ci: [NaN, Infinity] });
  assert.equal(writer.close(), 'symlink');
  const run = readRun(writer.dir);
  assert.equal(run.runId, writer.runId);
  assert.equal(run.workload, 'filter');
  assert.deepEqual(run.manifest, { workload: 'filter', seed: 42, spec: { rows: 1000 } });
  assert.deepEqual(run.summary, { speedup: 8, ci: [null, null] });
  assert.deepEqual(run.columns, ['mode', 'point', 'latencyMs', 'ok', 'note']);
  assert.deepEqual(run.samples, [
    { mode: 'pushdown', point: '0.01', latencyMs: 1.5, ok: true, note: null },
    { mode: 'client, "cold"', point: '1', latencyMs: 12, ok: false, note: null },
  ]);
});

test('samples are on disk as soon as they are appended', () => {
  const writer = ResultsWriter.create(base, 'streaming');
  writer.appendSample({ a: 1 });
  assert.equal(readFileSync(path.join(writer.dir, 'samples.csv'), 'utf8'), 'a\n1\n');
  writer.close();
});

test('a sample with a column the header lacks is refused and not written', () => {
  const writer = ResultsWriter.create(base, 'columns');
  writer.writeManifest({});
  writer.appendSample({ a: 1, b: 2 });
  assert.throws(() => writer.appendSample({ a: 1, c: 3 }), /column\(s\) 'c' not in samples\.csv's header/);
  assert.throws(() => writer.appendSample({ a: undefined as unknown as number }), /column 'a' is undefined/);
  writer.close();
  assert.equal(readRun(writer.dir).samples.length, 1);
  assert.throws(() => writer.appendSample({ a: 1 }), /closed/);
});

test('latest points at the most recently closed run, as a symlink', () => {
  const first = ResultsWriter.create(base, 'latest-test');
  first.writeManifest({ n: 1 });
  first.close();
  const second = ResultsWriter.create(base, 'latest-test');
  second.writeManifest({ n: 2 });
  second.close();
  const latest = path.join(base, 'latest-test', 'latest');
  assert.ok(lstatSync(latest).isSymbolicLink());
  assert.equal(readlinkSync(latest), second.runId);
  assert.deepEqual(readRun(latest).manifest, { n: 2 });
  assert.equal(readRun(latest).runId, second.runId);
});

test('where symlinks fail, latest is a text file naming the run, and readRun follows it', () => {
  const writer = ResultsWriter.create(base, 'fallback');
  writer.writeManifest({ ok: true });
  writer.close();
  const workloadDir = path.join(base, 'fallback');
  assert.equal(pointLatest(workloadDir, writer.runId, false), 'file');
  const latest = path.join(workloadDir, 'latest');
  assert.equal(readFileSync(latest, 'utf8'), `${writer.runId}\n`);
  assert.equal(readRun(latest).runId, writer.runId);
  // And back to a symlink over the file.
  assert.equal(pointLatest(workloadDir, writer.runId), 'symlink');
});

test('creating a run refuses unsafe names and existing folders', () => {
  assert.throws(() => ResultsWriter.create(base, '../escape'), /cannot name a folder/);
  assert.throws(() => ResultsWriter.create(base, 'ok', 'latest'), /reserved/);
  ResultsWriter.create(base, 'dup', 'run-1');
  assert.throws(() => ResultsWriter.create(base, 'dup', 'run-1'), /already exists/);
});

test('readRun explains a folder that is not a run', () => {
  const notRun = path.join(base, 'not-a-run');
  mkdirSync(notRun);
  assert.throws(() => readRun(notRun), (err: unknown) => err instanceof RunReadError && err.code === 'NOT_A_RUN' && /has no manifest\.json/.test(err.message));
  assert.throws(() => readRun(path.join(base, 'missing')), (err: unknown) => err instanceof RunReadError && err.code === 'NOT_A_RUN');
  writeFileSync(path.join(notRun, 'manifest.json'), '{ nope');
  assert.throws(() => readRun(notRun), (err: unknown) => err instanceof RunReadError && err.code === 'BAD_FILE');
});

test('a run without summary or samples reads with summary null and no samples; listRuns finds runs', () => {
  const listBase = mkdtempSync(path.join(base, 'list-'));
  const a = ResultsWriter.create(listBase, 'noop', '2026-01-01T00-00-00Z-aaaaaa');
  a.writeManifest({});
  const b = ResultsWriter.create(listBase, 'noop', '2026-01-02T00-00-00Z-bbbbbb');
  b.writeManifest({});
  b.writeSummary({});
  b.close();
  const run = readRun(a.dir);
  assert.equal(run.summary, null);
  assert.deepEqual(run.samples, []);
  mkdirSync(path.join(listBase, 'noop', 'stray'));
  assert.deepEqual(
    listRuns(listBase).map((r) => [r.workload, r.runId, r.complete]),
    [
      ['noop', a.runId, false],
      ['noop', b.runId, true],
    ],
  );
});

test('environment: git commit, package versions and a host-name-free machine description', () => {
  const commit = gitCommit(REPO_ROOT);
  if (existsSync(path.join(REPO_ROOT, '.git'))) assert.match(commit ?? '', /^[0-9a-f]{40}$/);
  assert.equal(gitCommit(os.tmpdir()), null);
  assert.equal(typeof gitDirty(REPO_ROOT), existsSync(path.join(REPO_ROOT, '.git')) ? 'boolean' : 'object');
  const versions = packageVersions(REPO_ROOT, ['hdr-histogram-js', 'no-such-package-xyz']);
  assert.match(versions['hdr-histogram-js'] ?? '', /^\d+\.\d+\.\d+/);
  assert.equal(versions['no-such-package-xyz'], null);
  const machine = machineInfo();
  assert.ok(machine.cpuCount >= 1 && machine.totalMemoryBytes > 0);
  assert.equal(machine.nodeVersion, process.version);
  assert.ok(!JSON.stringify(machine).includes(os.hostname()), 'machine info must not name the host');
});
