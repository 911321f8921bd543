/**
 * `npm run workload` against a cluster it did not start, as on several machines: the placement
 * address taken from COPBENCH_PLACEMENT alone, a plugin the cluster lacks named in an exit-2 error
 * before anything is written, and the admin token the user exported (COPBENCH_ADMIN_TOKEN, as
 * docs/multi-machine.md says to) found in none of the run's files. One cluster serves every test:
 * started with no plugins, then only noop deployed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { REPO_ROOT, runDirOf, runTs, type ChildResult } from '../reports/test-runs';

/** Random, so that finding it in a file can only mean the run wrote it there. */
const TOKEN = `token-canary-${randomBytes(12).toString('hex')}`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'copbench-external-cluster-'));

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe('a workload against a running cluster', () => {
  let cluster: LocalCluster;
  /** The noop run the first two tests read: placement from the environment only, the token exported. */
  let run: ChildResult;
  const out = path.join(tmp, 'results');

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 2, splitKeys: 1000, pluginsDir: false, adminToken: TOKEN });
    await cluster.placementAdmin().call(['PD.PLUGIN.DEPLOY', 'noop.ts', readFileSync(path.join(REPO_ROOT, 'plugins/noop.ts'), 'utf8')]);
    run = await runTs('workloads/driver/cli.ts', ['noop', '--size', 'ci', '--out', out], 120_000, { COPBENCH_PLACEMENT: cluster.placementAddress, COPBENCH_ADMIN_TOKEN: TOKEN });
  });
  after(async () => {
    await cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('COPBENCH_PLACEMENT alone (no --placement) makes the run use that cluster and start none', () => {
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    assert.doesNotMatch(run.stderr, /starting an embedded cluster/);
    const manifest = JSON.parse(readFileSync(path.join(runDirOf(run), 'manifest.json'), 'utf8'));
    assert.equal(manifest.cluster, cluster.placementAddress);
  });

  test('the admin token is in none of the run’s files (manifest, samples, summary, report, charts) nor its output', () => {
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    const files = filesUnder(runDirOf(run));
    const names = files.map((f) => path.basename(f));
    for (const expected of ['manifest.json', 'samples.csv', 'summary.json', 'report.html']) assert.ok(names.includes(expected), `${expected} among ${names.join(', ')}`);
    assert.ok(names.some((n) => /\.(svg|png)$/.test(n)), `charts among ${names.join(', ')}`);
    // The search itself must work: the placement address is in the manifest.
    assert.ok(readFileSync(path.join(runDirOf(run), 'manifest.json')).includes(cluster.placementAddress));
    const holding = files.filter((f) => readFileSync(f).includes(TOKEN));
    assert.deepEqual(holding, [], 'files holding the admin token');
    assert.ok(!run.stdout.includes(TOKEN) && !run.stderr.includes(TOKEN), 'the admin token in the run’s output');
  });

  test('a plugin the cluster lacks stops the run with exit 2 naming it, before anything is written', { timeout: 60_000 }, async () => {
    const missingOut = path.join(tmp, 'results-missing');
    const [filter, ml] = await Promise.all([
      runTs('workloads/driver/cli.ts', ['filter', '--size', 'ci', '--placement', cluster.placementAddress, '--out', missingOut], 50_000),
      runTs('workloads/driver/cli.ts', ['ml-train', '--size', 'ci', '--placement', cluster.placementAddress, '--out', missingOut], 50_000),
    ]);
    const address = cluster.placementAddress.replace(/\./g, '\\.');
    for (const [r, name] of [[filter, 'filter'], [ml, 'sgd']] as const) {
      assert.equal(r.code, 2, `exit code (stderr: ${r.stderr.slice(-2000)})`);
      assert.match(r.stderr, new RegExp(`plugin: no plugin '${name}' deployed on the cluster at ${address} \\(plugins: noop\\); deploy it first: npm run plugin -- deploy`));
    }
    assert.equal(existsSync(missingOut), false, 'nothing written under results/');
  });
});
