/**
 * The multi-machine commands on one machine: `npm run placement` on a fixed port, `npm run node`
 * finding it through COPBENCH_PLACEMENT and registering the address given by --advertise-host, a
 * node that binds every address without --advertise-host refused (exit 2), and `npm run cluster
 * -- --port` putting placement on the port asked for.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { after, test } from 'node:test';
import { RespConnection } from '../engine/client/connection';
import { decodeClusterMap } from '../engine/placement/cluster-map';

const REPO = path.resolve(__dirname, '..');
const TOKEN = 'multi-host-test-token';
const dir = mkdtempSync(path.join(os.tmpdir(), 'copbench-multi-host-'));
const started: ChildProcess[] = [];
after(async () => {
  for (const c of started) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** The npm script's command (package.json), run directly: npm itself would add a shell between. */
function script(name: 'placement' | 'node' | 'cluster'): string[] {
  const entry = { placement: 'engine/placement/main.ts', node: 'engine/node/main.ts', cluster: 'engine/cluster/cli.ts' }[name];
  return ['--require', path.join(REPO, 'engine/runtime/register.js'), path.join(REPO, entry)];
}

function start(name: 'placement' | 'node' | 'cluster', args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [...script(name), ...args], { cwd: REPO, env: { ...process.env, COPBENCH_ADMIN_TOKEN: TOKEN, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  return child;
}

function firstLine(child: ChildProcess, match: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${match} within 20 s`)), 20_000);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (match.test(line)) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let placementPort = 0;

test('npm run placement on a fixed port; npm run node finds it through COPBENCH_PLACEMENT and registers its --advertise-host', { timeout: 60_000 }, async () => {
  const port = await freePort();
  placementPort = port;
  const placement = start('placement', ['--host', '127.0.0.1', '--port', String(port), '--data-dir', path.join(dir, 'pd')]);
  await firstLine(placement, /"ready":true/);
  // 127.0.0.2 is another loopback address: only what placement hands out is checked here.
  const node = start('node', ['--node-id', '1', '--host', '127.0.0.1', '--advertise-host', '127.0.0.2', '--data-dir', path.join(dir, 'n1')], { COPBENCH_PLACEMENT: `127.0.0.1:${port}` });
  const ready = JSON.parse(await firstLine(node, /"ready":true/)) as { host: string; port: number };
  assert.equal(ready.host, '127.0.0.2');
  const conn = new RespConnection({ host: '127.0.0.1', port, requestTimeoutMs: 5000 });
  try {
    for (let i = 0; ; i++) {
      const map = decodeClusterMap(((await conn.call(['PD.MAP'])) as Buffer).toString('utf8'));
      const registered = map.nodes.find((n) => n.id === 1);
      if (registered) {
        assert.equal(`${registered.host}:${registered.port}`, `127.0.0.2:${ready.port}`);
        break;
      }
      assert.ok(i < 100, 'the node registered within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    conn.close();
  }
});

test('npm run node without --node-id takes a new id from placement, keeps it in its data dir, and restarts under it', { timeout: 60_000 }, async () => {
  assert.ok(placementPort, 'the placement of the first test is up');
  const env = { COPBENCH_PLACEMENT: `127.0.0.1:${placementPort}` };
  const idOf = async (child: ChildProcess): Promise<number> => (JSON.parse(await firstLine(child, /"ready":true/)) as { nodeId: number }).nodeId;
  const a = start('node', ['--data-dir', path.join(dir, 'auto-a')], env);
  const b = start('node', ['--data-dir', path.join(dir, 'auto-b')], env);
  const ids = [await idOf(a), await idOf(b)];
  assert.deepEqual([...ids].sort(), [2, 3], 'new ids after the registered node 1, none twice');
  a.kill('SIGTERM');
  await new Promise((r) => a.once('exit', r));
  const again = start('node', ['--data-dir', path.join(dir, 'auto-a')], env);
  assert.equal(await idOf(again), ids[0], 'a restart registers under the id its data dir kept');
});

test('npm run node with --host 0.0.0.0 and no --advertise-host exits 2 saying which flag to give', () => {
  const r = spawnSync(process.execPath, [...script('node'), '--node-id', '1', '--host', '0.0.0.0', '--placement', '127.0.0.1:1', '--data-dir', path.join(dir, 'n0')], { cwd: REPO, env: { ...process.env, COPBENCH_ADMIN_TOKEN: TOKEN }, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--advertise-host/);
});

test('npm run cluster -- --port puts placement on that port', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const cluster = start('cluster', ['--nodes', '1', '--port', String(port), '--no-watch']);
  const line = await firstLine(cluster, /^placement /);
  assert.match(line, new RegExp(`^placement\\s+127\\.0\\.0\\.1:${port}\\b`));
  cluster.kill('SIGINT');
  await new Promise((r) => cluster.once('exit', r));
});
