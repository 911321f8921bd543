/** Node counters read from a real one-node cluster over INFO. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster } from '../../../engine/cluster/local-cluster';
import { RespConnection } from '../../../engine/client/connection';
import { encodeCommand } from '../../../engine/protocol/resp';
import { diffNodeStats, PeakRssSampler, sampleNode, sampleNodes, type NodeAddress } from './node-stats';

let cluster: LocalCluster;
let nodes: NodeAddress[];

before(async () => {
  cluster = await LocalCluster.start({ nodes: 1, pluginsDir: false });
  const n = cluster.nodes.get(1)!;
  nodes = [{ id: 1, host: n.host, port: n.port }];
});

after(async () => {
  await cluster?.stop();
});

test('sampleNode reads CPU, traffic, memory, keys and commands from INFO', async () => {
  const n = nodes[0]!;
  const stats = await sampleNode(n.host, n.port);
  assert.equal(stats.pid, cluster.nodes.get(1)!.pid);
  assert.ok(stats.cpuUserUs > 0 && stats.cpuSysUs >= 0);
  assert.ok(stats.rssBytes > 10 * 1024 * 1024, `rss ${stats.rssBytes}`);
  assert.ok(stats.netInBytes >= stats.sampleRequestBytes && stats.commands >= 1);
  assert.equal(stats.sampleRequestBytes, encodeCommand(['INFO']).length);
  assert.ok(stats.sampleReplyBytes > 200);
});

test('an idle node diffs to zero traffic and commands (the probes themselves are taken out)', async () => {
  const before = await sampleNodes(nodes);
  const after = await sampleNodes(nodes);
  const [delta] = diffNodeStats(before, after);
  assert.equal(delta!.id, 1);
  assert.equal(delta!.restarted, false);
  assert.equal(delta!.netInBytes, 0);
  assert.equal(delta!.netOutBytes, 0);
  assert.equal(delta!.commands, 0);
  assert.equal(delta!.keysAdded, 0);
});

test('the diff counts a workload exactly: bytes in and out, commands, keys and CPU', async () => {
  const n = nodes[0]!;
  const before = await sampleNodes(nodes);
  const conn = new RespConnection({ host: n.host, port: n.port });
  const value = Buffer.alloc(100_000, 7);
  let sentBytes = 0;
  try {
    for (let i = 0; i < 20; i++) {
      const args = ['SET', `stats:${i}`, value];
      sentBytes += encodeCommand(args).length;
      assert.equal(await conn.send(args), 'OK');
    }
  } finally {
    conn.close();
  }
  const after = await sampleNodes(nodes);
  const [delta] = diffNodeStats(before, after);
  assert.equal(delta!.netInBytes, sentBytes);
  assert.equal(delta!.netOutBytes, 20 * '+OK\r\n'.length);
  assert.equal(delta!.commands, 20);
  assert.equal(delta!.keysAdded, 20);
  assert.ok(delta!.cpuUserUs + delta!.cpuSysUs > 0);
});

test('sampling a node that is not there fails naming the node', async () => {
  await assert.rejects(sampleNodes([{ id: 9, host: '127.0.0.1', port: 1 }], { timeoutMs: 500 }), /node 9 at 127\.0\.0\.1:1/);
});

test('PeakRssSampler keeps the peak RSS per node and reports its own traffic so it can be taken out', async () => {
  const before = await sampleNodes(nodes);
  const sampler = await new PeakRssSampler(nodes, { intervalMs: 20 }).start();
  await new Promise((resolve) => setTimeout(resolve, 120));
  const peaks = await sampler.stop();
  const after = await sampleNodes(nodes);
  const peak = peaks.nodes[0]!;
  assert.ok(peak.samples >= 3, `${peak.samples} polls`);
  assert.equal(peak.errors, 0);
  assert.ok(peak.peakRssBytes >= Math.min(before[0]!.rssBytes, after[0]!.rssBytes) * 0.5, `peak ${peak.peakRssBytes}`);
  assert.ok(peaks.processPeakRssBytes > 0);
  const withoutProbes = diffNodeStats(before, after, peaks.nodes)[0]!;
  assert.equal(withoutProbes.netInBytes, 0);
  assert.equal(withoutProbes.netOutBytes, 0);
  assert.equal(withoutProbes.commands, 0);
  const withProbes = diffNodeStats(before, after)[0]!;
  assert.equal(withProbes.netInBytes, peak.netInBytes);
  assert.equal(withProbes.commands, peak.samples);
});

