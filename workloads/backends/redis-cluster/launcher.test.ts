/**
 * The Redis Cluster launcher on real redis-server processes: a 3-node cluster starts with every
 * slot covered and the durable persistence settings, and stop leaves no process and no directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { RespConnection } from '../../../engine/client/connection';
import { RedisClusterClient, RedisClusterError } from './cluster-client';
import { RedisCluster, RedisLaunchError } from './launcher';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a 3-node cluster starts ok with appendfsync always, and stop leaves no process or dir', async () => {
  const cluster = await RedisCluster.start({ nodes: 3 });
  const pids = cluster.nodes.map((n) => n.pid);
  try {
    assert.deepEqual(cluster.persistence, { appendonly: 'yes', appendfsync: 'always', save: '' });
    const client = await RedisClusterClient.connect(cluster.addresses);
    try {
      assert.equal(client.primaries.length, 3);
      for (const p of client.primaries) {
        const config = (await client.callNode(p.address, ['CONFIG', 'GET', 'appendfsync'])) as Buffer[];
        assert.equal(String(config[1]), 'always');
        const info = String(await client.callNode(p.address, ['CLUSTER', 'INFO']));
        assert.match(info, /cluster_state:ok/);
      }
    } finally {
      client.close();
    }
  } finally {
    await cluster.stop();
  }
  assert.deepEqual(pids.filter(alive), [], 'every redis-server has exited');
  assert.equal(existsSync(cluster.rootDir), false, 'the temp dir is gone');
});

test('fewer than 3 nodes is refused before anything starts', async () => {
  await assert.rejects(RedisCluster.start({ nodes: 2 }), (err: unknown) => err instanceof RedisLaunchError && err.code === 'BAD_OPTIONS' && /at least 3/.test(err.message));
});

test('an address that is not a Redis Cluster gets a clear error', async () => {
  // A plain (non-cluster) redis-server, started on a free port for this test only.
  const { spawn } = await import('node:child_process');
  const net = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (let i = 0; i < 100; i++) {
      const conn = new RespConnection({ host: '127.0.0.1', port, connectTimeoutMs: 300 });
      const up = await conn.call(['PING']).then(() => true, () => false);
      conn.close();
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await assert.rejects(RedisClusterClient.connect([`127.0.0.1:${port}`]), (err: unknown) => err instanceof RedisClusterError && err.code === 'NOT_A_CLUSTER' && /not a Redis Cluster/.test(err.message));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
});

test('SIGTERM to the process that started a cluster kills its redis-servers and removes the dir', async () => {
  const { spawn } = await import('node:child_process');
  const path = await import('node:path');
  const launcher = path.join(__dirname, 'launcher.ts');
  const script = `require(${JSON.stringify(launcher)}).RedisCluster.start({ nodes: 3 }).then((c) => { console.log(JSON.stringify({ pids: c.nodes.map((n) => n.pid), dir: c.rootDir })); setInterval(() => {}, 1000); });`;
  const child = spawn(process.execPath, ['--require', path.join(__dirname, '../../../engine/runtime/register.js'), '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const started = await new Promise<{ pids: number[]; dir: string }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as { pids: number[]; dir: string });
    });
    child.once('exit', () => reject(new Error(`the launcher process exited before it started a cluster: ${out}`)));
  });
  assert.equal(started.pids.filter(alive).length, 3);
  child.kill('SIGTERM');
  assert.equal(await exited, 'SIGTERM', 'the process still dies of the signal');
  for (let i = 0; i < 50 && started.pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(started.pids.filter(alive), []);
  assert.equal(existsSync(started.dir), false);
});
