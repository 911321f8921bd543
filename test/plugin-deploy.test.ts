/**
 * Plugin deployment on real processes: `npm run plugin` (engine/cluster/plugin-cli.ts) run as a child
 * process against a running cluster, a node that joins later getting every deployed plugin, the
 * admin token guarding deploys and installs, hot reload from a watched plugin directory (calls in
 * flight finish on the old code), and `plugin new` scaffolding.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pack } from 'msgpackr';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { listNodePlugins, type NodePluginRow } from '../engine/cluster/plugin-deployer';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { RespConnection } from '../engine/client/connection';
import { ClientError } from '../engine/client/errors';
import { loadPluginSource } from '../engine/coprocessor/loader';
import { parseInfo } from '../engine/node/info';
import { RespError, type RespValue } from '../engine/protocol/resp';
import { RecordCodec, SAMPLE_SCHEMA, compilePredicate, type Condition } from '../engine/plugin-api';
import { loadRows, syntheticRows } from '../workloads/datasets/synthetic';
import { waitFor } from './helpers';
import { loadSpec } from '../workloads/spec';

const REPO = path.resolve(__dirname, '..');
const PLUGINS = path.join(REPO, 'plugins');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const sourceSha = (file: string): string => sha256(readFileSync(file, 'utf8'));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run plugin -- <args>` the way npm does, without any COPBENCH_* variables from our environment. */
function pluginCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COPBENCH_')));
  const child = spawn(process.execPath, ['--require', path.join(REPO, 'engine/runtime/register.js'), path.join(REPO, 'engine/cluster/plugin-cli.ts'), ...args], {
    cwd: REPO,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `use` on a fresh connection to one node, closed afterwards. */
async function withNode<T>(address: string, use: (conn: RespConnection) => Promise<T>): Promise<T> {
  const [host, port] = address.split(':');
  const conn = new RespConnection({ host: host!, port: Number(port), requestTimeoutMs: 10_000 });
  try {
    return await use(conn);
  } finally {
    conn.close();
  }
}

const nodeCall = (address: string, args: string[] | Array<string | Buffer>): Promise<RespValue> => withNode(address, (conn) => conn.send(args));
const coprList = (address: string): Promise<NodePluginRow[]> => withNode(address, listNodePlugins);

const addresses = (cluster: LocalCluster): string[] => [...cluster.nodes.keys()].sort((a, b) => a - b).map((id) => cluster.nodeAddress(id));

/** Waits until every node lists `name@version` with this sha256 (or, with sha undefined, not at all). */
function waitOnEveryNode(cluster: LocalCluster, name: string, version: string | undefined, sha: string | undefined): Promise<true> {
  const what = sha ? `${name}@${version} ${sha.slice(0, 12)} loaded on every node` : `${name} gone from every node`;
  return waitFor(
    what,
    async () => {
      const lists = await Promise.all(addresses(cluster).map(coprList));
      const ok = lists.every((rows) => {
        const mine = rows.filter((r) => r.name === name);
        return sha ? mine.some((r) => r.version === version && r.sha256 === sha && r.state === 'loaded') : mine.length === 0;
      });
      return ok ? true : undefined;
    },
    15_000,
    async () => JSON.stringify(await Promise.all(addresses(cluster).map(coprList))),
  );
}

const isServerError = (code: string) => (err: unknown): boolean => err instanceof ClientError && err.serverCode === code;

// ---- deploy through the CLI ---------------------------------------------------------------------

describe('npm run plugin against a running cluster', () => {
  const ROWS = 3000;
  const dataset = [...syntheticRows({ rows: ROWS, seed: 11 })];
  const where: Condition[] = [{ column: 'amount', op: '>', value: 500 }];
  const codec = new RecordCodec(SAMPLE_SCHEMA);
  const expectedCount = dataset.filter((r) => compilePredicate(codec, where)(r.value)).length;
  let cluster: LocalCluster;
  let client: ClusterClient;
  let copr: Coprocessor;
  let conn: { placement: string; token: string };
  let tmp: string;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'copbench-plugin-cli-'));
    // Nothing deployed at start; the layout only changes when this test moves a region.
    cluster = await LocalCluster.start({ nodes: 3, pluginsDir: false, autoBalance: false });
    conn = { placement: cluster.placementAddress, token: cluster.adminToken };
    client = await ClusterClient.connect({ placement: cluster.placementAddress });
    copr = new Coprocessor(client);
    await loadRows(client, dataset);
    const map = await cluster.fetchMap();
    await cluster.placementAdmin().call(['PD.SPLIT', String(map.regions[0]!.id), 'row:000001000', 'row:000002000']);
  });

  after(async () => {
    client?.close();
    await cluster?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('deploy prints name@version sha256 nodes=N and every node loads exactly that code', async () => {
    for (const address of addresses(cluster)) assert.deepEqual(await coprList(address), [], 'pluginsDir: false deploys nothing');
    const files = [path.join(PLUGINS, 'filter.ts'), path.join(PLUGINS, 'noop.ts')];
    const run = await pluginCli(['deploy', ...files, '--placement', conn.placement, '--admin-token', conn.token]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n'), [`filter@1.0.0 ${sourceSha(files[0]!)} nodes=3`, `noop@1.0.0 ${sourceSha(files[1]!)} nodes=3`]);
    for (const address of addresses(cluster)) {
      const rows = await coprList(address);
      assert.deepEqual(
        rows.map((r) => [r.name, r.version, r.sha256, r.state, r.file]),
        [
          ['filter', '1.0.0', sourceSha(files[0]!), 'loaded', 'filter.ts'],
          ['noop', '1.0.0', sourceSha(files[1]!), 'loaded', 'noop.ts'],
        ],
        `COPR.LIST on ${address}`,
      );
    }
  });

  test('deploy of a file that does not load prints its typed error, deploys the rest, and exits 1', async () => {
    const bad = path.join(tmp, 'bad-api.ts');
    writeFileSync(bad, readFileSync(path.join(PLUGINS, 'noop.ts'), 'utf8').replace("name: 'noop'", "name: 'bad-api'").replace('apiVersion: 1', 'apiVersion: 2 as 1'));
    const run = await pluginCli(['deploy', bad, path.join(PLUGINS, 'noop.ts')], { COPBENCH_PLACEMENT: conn.placement, COPBENCH_ADMIN_TOKEN: conn.token });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /bad-api\.ts: not deployed: API_MISMATCH: apiVersion 2 is not supported/);
    assert.match(run.stdout, /^noop@1\.0\.0 [0-9a-f]{64} nodes=3$/m);
    for (const address of addresses(cluster)) assert.ok(!(await coprList(address)).some((r) => r.file === 'bad-api.ts'), 'a refused file reaches no node');
  });

  test('list shows the deployed plugins, and with --nodes their state on every node', async () => {
    const table = await pluginCli(['list', '--nodes', '--placement', conn.placement]);
    assert.equal(table.code, 0, table.stderr);
    const filterSha = sourceSha(path.join(PLUGINS, 'filter.ts'));
    assert.match(table.stdout, /^NAME +VERSION +SHA256 +FILE +NODE 1 +NODE 2 +NODE 3$/m);
    assert.match(table.stdout, new RegExp(`^filter +1\\.0\\.0 +${filterSha.slice(0, 12)} +filter\\.ts +loaded +loaded +loaded$`, 'm'));
    const json = await pluginCli(['list', '--nodes', '--json'], { COPBENCH_PLACEMENT: conn.placement });
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { deployed: Array<{ name: string; sha256: string }>; nodes: Array<{ id: number; plugins: NodePluginRow[] }> };
    assert.deepEqual(parsed.deployed.map((d) => d.name), ['filter', 'noop']);
    assert.equal(parsed.deployed[0]!.sha256, filterSha);
    assert.deepEqual(parsed.nodes.map((n) => n.id), [1, 2, 3]);
    for (const n of parsed.nodes) assert.ok(n.plugins.some((p) => p.name === 'filter' && p.sha256 === filterSha && p.state === 'loaded'));
  });

  test('a node added later gets every deployed plugin and answers pushdown calls for its regions', async () => {
    const node4 = await cluster.addNode();
    const rows = await coprList(cluster.nodeAddress(node4.id));
    assert.deepEqual(
      rows.map((r) => [r.name, r.version, r.sha256, r.state]),
      [
        ['filter', '1.0.0', sourceSha(path.join(PLUGINS, 'filter.ts')), 'loaded'],
        ['noop', '1.0.0', sourceSha(path.join(PLUGINS, 'noop.ts')), 'loaded'],
      ],
    );
    const before = await cluster.fetchMap();
    const region = before.regions.find((r) => r.start.toString() === 'row:000001000')!;
    await cluster.placementAdmin().call(['PD.MOVE', String(region.id), String(node4.id)]);
    const after = await cluster.fetchMap();
    assert.equal(after.regions.find((r) => r.id === region.id)!.nodeId, node4.id);
    const request = { schema: SAMPLE_SCHEMA, where, output: 'count' as const };
    const pushdown = await copr.run<typeof request, { count: number }>({ plugin: 'filter', version: '^1.0.0', request, mode: 'pushdown' });
    assert.equal(pushdown.result.count, expectedCount);
    assert.ok(pushdown.regions.some((r) => r.regionId === region.id && r.rowsScanned === 1000), 'the region on node 4 ran in-node');
    assert.deepEqual(pushdown.sha256s, [sourceSha(path.join(PLUGINS, 'filter.ts'))]);
    const clientSide = await copr.run<typeof request, { count: number }>({ plugin: 'filter', request, mode: 'client' });
    assert.equal(clientSide.result.count, expectedCount);
  });

  test('deploys and installs need the admin token: missing (CLI refuses), NOAUTH, WRONGPASS', async () => {
    const noop = path.join(PLUGINS, 'noop.ts');
    const missing = await pluginCli(['deploy', noop, '--placement', conn.placement]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /needs the cluster's admin token: pass --admin-token or set COPBENCH_ADMIN_TOKEN \(start a cluster with npm run cluster, which prints both\)/);
    const noPlacement = await pluginCli(['list']);
    assert.notEqual(noPlacement.code, 0);
    assert.match(noPlacement.stderr, /no placement address: pass --placement host:port or set COPBENCH_PLACEMENT/);
    const wrong = await pluginCli(['deploy', noop, '--placement', conn.placement, '--admin-token', 'not-the-token']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /WRONGPASS/);
    const wrongUndeploy = await pluginCli(['undeploy', 'noop@1.0.0', '--placement', conn.placement, '--admin-token', 'not-the-token']);
    assert.equal(wrongUndeploy.code, 1);
    assert.match(wrongUndeploy.stderr, /WRONGPASS/);

    const [host, port] = conn.placement.split(':');
    const raw = new RespConnection({ host: host!, port: Number(port), requestTimeoutMs: 10_000 });
    try {
      const source = readFileSync(noop, 'utf8').replace("name: 'noop'", "name: 'intruder'");
      const deploy = await raw.send(['PD.PLUGIN.DEPLOY', 'intruder.ts', source]);
      assert.ok(deploy instanceof RespError && deploy.code === 'NOAUTH', String((deploy as RespError).message));
      const undeploy = await raw.send(['PD.PLUGIN.UNDEPLOY', 'noop', '1.0.0']);
      assert.ok(undeploy instanceof RespError && undeploy.code === 'NOAUTH');
      const auth = await raw.send(['AUTH', 'not-the-token']);
      assert.ok(auth instanceof RespError && auth.code === 'WRONGPASS');
      const again = await raw.send(['PD.PLUGIN.DEPLOY', 'intruder.ts', source]);
      assert.ok(again instanceof RespError && again.code === 'NOAUTH', 'a failed AUTH grants nothing');
      for (const address of addresses(cluster)) {
        const install = await nodeCall(address, ['COPR.INSTALL', 'intruder.ts', source]);
        assert.ok(install instanceof RespError && install.code === 'NOAUTH', `COPR.INSTALL on ${address}: ${String((install as RespError).message)}`);
        const uninstall = await nodeCall(address, ['COPR.UNINSTALL', 'noop', '1.0.0']);
        assert.ok(uninstall instanceof RespError && uninstall.code === 'NOAUTH');
        const rows = await coprList(address);
        assert.deepEqual(rows.map((r) => r.name), ['filter', 'noop'], 'nothing changed on the node');
      }
    } finally {
      raw.close();
    }
  });

  test('undeploy name@version removes it from placement and every node', async () => {
    const run = await pluginCli(['undeploy', 'noop@1.0.0', '--placement', conn.placement, '--admin-token', conn.token]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'undeployed noop@1.0.0\n');
    for (const address of addresses(cluster)) assert.deepEqual((await coprList(address)).map((r) => r.name), ['filter'], `COPR.LIST on ${address}`);
    await assert.rejects(copr.run({ plugin: 'noop', request: {}, mode: 'pushdown' }), isServerError('COPR_NOT_FOUND'));
    const again = await pluginCli(['undeploy', 'noop@1.0.0', '--placement', conn.placement, '--admin-token', conn.token]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /COPR_NOT_FOUND noop@1\.0\.0 is not deployed/);
  });

  test('plugin new scaffolds a documented plugin that loads and runs, and refuses to overwrite', async () => {
    const dir = path.join(tmp, 'scaffold');
    const specDir = path.join(tmp, 'scaffold-specs');
    const made = await pluginCli(['new', 'count-big', '--dir', dir, '--spec-dir', specDir]);
    assert.equal(made.code, 0, made.stderr);
    // The runnable study of it: a valid plugin workload spec naming it (run end to end in test/plugin-workload.test.ts).
    const spec = loadSpec(path.join(specDir, 'count-big.json'));
    assert.equal(spec.kind, 'plugin');
    assert.equal(spec.plugin, 'count-big');
    // Its `$schema` finds the spec schema from wherever the spec was written (editors resolve it from the spec's folder).
    const schemaRef = String((JSON.parse(readFileSync(path.join(specDir, 'count-big.json'), 'utf8')) as { $schema?: unknown }).$schema);
    assert.equal(path.resolve(specDir, schemaRef), path.join(__dirname, '..', 'workloads', 'spec.schema.json'));
    assert.match(made.stdout, /npm run workload .*count-big\.json -- --size ci/);
    const file = path.join(dir, 'count-big.ts');
    const source = readFileSync(file, 'utf8');
    const loaded = loadPluginSource(source, 'count-big.ts');
    assert.equal(loaded.artifact.name, 'count-big');
    assert.equal(loaded.artifact.version, '1.0.0');
    assert.ok((loaded.plugin.examples ?? []).length >= 2, 'declares example requests');
    assert.match(source, /^\/\*\*\n \* count-big: counts the rows/);

    // It works on a cluster: deployed with the CLI, every example gives the same answer in both modes.
    const deployed = await pluginCli(['deploy', file, '--placement', conn.placement, '--admin-token', conn.token]);
    assert.equal(deployed.code, 0, deployed.stderr);
    for (const example of loaded.plugin.examples!) {
      const pushdown = await copr.run<unknown, { count: number }>({ plugin: 'count-big', request: example.request, mode: 'pushdown' });
      const clientSide = await copr.run<unknown, { count: number }>({ plugin: 'count-big', request: example.request, mode: 'client' });
      assert.deepEqual(pushdown.result, clientSide.result, example.name);
    }
    const all = await copr.run<unknown, { count: number }>({ plugin: 'count-big', request: { schema: SAMPLE_SCHEMA, where }, mode: 'pushdown' });
    assert.equal(all.result.count, expectedCount);

    writeFileSync(file, `${source}// my edits\n`);
    const again = await pluginCli(['new', 'count-big', '--dir', dir, '--spec-dir', specDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /count-big\.ts already exists; not overwriting it/);
    assert.equal(readFileSync(file, 'utf8'), `${source}// my edits\n`, 'the file is untouched');

    const badName = await pluginCli(['new', 'Count_Big', '--dir', dir, '--spec-dir', specDir]);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /invalid plugin name 'Count_Big': use lower-case letters, digits and dashes/);
    copyFileSync(path.join(PLUGINS, 'noop.ts'), path.join(dir, 'my-noop.ts'));
    const taken = await pluginCli(['new', 'noop', '--dir', dir, '--spec-dir', specDir]);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /my-noop\.ts already defines a plugin named 'noop'/);
  });
});

// ---- hot reload ---------------------------------------------------------------------------------

/** A plugin that sleeps per region, then answers `answer`. */
function slowPlugin(version: string, answer: string): string {
  return `import { definePlugin } from '../engine/plugin-api';

export default definePlugin({
  name: 'slow',
  version: '${version}',
  apiVersion: 1,
  async handle(request: { sleepMs: number }) {
    await new Promise((resolve) => setTimeout(resolve, request.sleepMs));
    return '${answer}';
  },
  merge: (parts: string[]) => ({ answer: parts.join('') }),
});
`;
}

describe('hot reload from a watched plugin directory', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: ClusterClient;
  let copr: Coprocessor;
  const run = (sleepMs: number, version = '^1.0.0') => copr.run<{ sleepMs: number }, { answer: string }>({ plugin: 'slow', version, request: { sleepMs }, mode: 'pushdown' });

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'copbench-hot-'));
    writeFileSync(path.join(dir, 'slow.ts'), slowPlugin('1.0.0', 'A'));
    copyFileSync(path.join(PLUGINS, 'noop.ts'), path.join(dir, 'extra.ts'));
    cluster = await LocalCluster.start({ nodes: 3, pluginsDir: dir, watchPlugins: true, autoBalance: false });
    client = await ClusterClient.connect({ placement: cluster.placementAddress });
    copr = new Coprocessor(client);
  });

  after(async () => {
    client?.close();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a rewritten file replaces the code: the call in flight finishes on the old code, the next runs the new', async () => {
    assert.deepEqual(
      cluster.pluginDeployments.map((o) => [o.file, o.ok]),
      [
        ['extra.ts', true],
        ['slow.ts', true],
      ],
    );
    const shaA = sha256(slowPlugin('1.0.0', 'A'));
    const shaB = sha256(slowPlugin('1.0.0', 'B'));
    await waitOnEveryNode(cluster, 'slow', '1.0.0', shaA);
    assert.equal((await run(0)).result.answer, 'A');

    const map = await cluster.fetchMap();
    assert.equal(map.regions.length, 1, 'one region: the call is one COPR.EXEC');
    const owner = cluster.nodeAddress(map.regions[0]!.nodeId);
    const inFlight = run(3000);
    await waitFor('the slow call to be running on its node', async () => {
      const info = parseInfo(((await nodeCall(owner, ['INFO', 'coprocessor'])) as Buffer).toString());
      return Number(info.coprocessor?.copr_busy ?? 0) >= 1 ? true : undefined;
    });
    writeFileSync(path.join(dir, 'slow.ts'), slowPlugin('1.0.0', 'B'));
    await waitOnEveryNode(cluster, 'slow', '1.0.0', shaB);
    const old = await inFlight;
    assert.equal(old.result.answer, 'A', 'the call in flight kept the code it started with');
    assert.deepEqual(old.sha256s, [shaA]);
    const next = await run(0);
    assert.equal(next.result.answer, 'B');
    assert.deepEqual(next.sha256s, [shaB]);
    assert.equal(next.plugin.sha256, shaB);
  });

  test('a broken edit is reported and the last good code keeps serving', async () => {
    const outcomes = cluster.pluginDeployments.length;
    writeFileSync(path.join(dir, 'slow.ts'), `${slowPlugin('1.0.0', 'C').slice(0, -4)}\n`); // cut off the closing `});`
    const failure = await waitFor('the failed redeploy to be reported', async () => cluster.pluginDeployments.slice(outcomes).find((o) => o.file === 'slow.ts'));
    assert.equal(failure.ok, false);
    assert.match(failure.message, /^SYNTAX /);
    assert.equal((await run(0)).result.answer, 'B');
  });

  test("a new version in the file is what '^1.0.0' resolves to; deleting files undeploys them", async () => {
    writeFileSync(path.join(dir, 'slow.ts'), slowPlugin('1.1.0', 'D'));
    await waitOnEveryNode(cluster, 'slow', '1.1.0', sha256(slowPlugin('1.1.0', 'D')));
    const newest = await run(0, '^1.0.0');
    assert.equal(newest.result.answer, 'D');
    assert.equal(newest.plugin.version, '1.1.0');
    for (const address of addresses(cluster)) {
      assert.deepEqual((await coprList(address)).filter((r) => r.name === 'slow').map((r) => r.version), ['1.1.0'], 'the file now provides 1.1.0 only');
    }

    // extra.ts was deployed at start and never changed since; deleting it still undeploys it.
    unlinkSync(path.join(dir, 'extra.ts'));
    await waitOnEveryNode(cluster, 'noop', undefined, undefined);
    unlinkSync(path.join(dir, 'slow.ts'));
    await waitOnEveryNode(cluster, 'slow', undefined, undefined);
    await assert.rejects(run(0), isServerError('COPR_NOT_FOUND'));
    const region = (await cluster.fetchMap()).regions[0]!;
    const exec = await nodeCall(cluster.nodeAddress(region.nodeId), ['COPR.EXEC', 'slow', '*', String(region.id), String(region.epoch), pack({ sleepMs: 0 }), pack([[Buffer.alloc(0), Buffer.alloc(0)]])]);
    assert.ok(exec instanceof RespError && exec.code === 'COPR_NOT_FOUND', String((exec as RespError).message));
    const listed = JSON.parse(((await nodeCall(cluster.placementAddress, ['PD.PLUGIN.LIST'])) as Buffer).toString()) as unknown[];
    assert.deepEqual(listed, [], 'placement holds nothing');
  });
});
