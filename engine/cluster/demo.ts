/**
 * `npm run demo`: the engine's main job until the workload driver lands. Starts a local 3-node
 * cluster, loads rows through the client, waits for regions to split and spread, reads every row
 * back (point reads and one ordered scan), prints the region layout and each node's counters, and
 * stops the cluster.
 */
import { runCommand } from '../cli/flags';
import { ClusterClient } from '../client/cluster-client';
import { parseInfo } from '../node/info';
import { RespConnection } from '../client/connection';
import { showKey } from '../placement/cluster-map';
import { LocalCluster } from './local-cluster';

const FLAGS = {
  nodes: { type: 'number', help: 'storage nodes', default: 3, value: '<n>' },
  rows: { type: 'number', help: 'rows to load', default: 300_000, value: '<n>' },
  'value-bytes': { type: 'number', help: 'bytes per value', default: 100, value: '<n>' },
  'split-keys': { type: 'number', help: 'split regions past this many keys', default: 50_000, value: '<n>' },
} as const;

const log = (line: string): void => void process.stdout.write(`${line}\n`);

runCommand({ usage: 'npm run demo -- [options]', description: 'Starts a local cluster, loads, reads and scans rows, prints the layout and counters, stops.', flags: FLAGS }, async (flags) => {
  const t0 = Date.now();
  const cluster = await LocalCluster.start({ nodes: flags.nodes, splitKeys: flags['split-keys'] });
  log(`cluster up in ${Date.now() - t0} ms: placement ${cluster.placementAddress}, ${flags.nodes} nodes`);
  const client = await ClusterClient.connect({ placement: cluster.placementAddress });
  try {
    const key = (i: number): string => `row:${String(i).padStart(9, '0')}`;
    const pad = 'x'.repeat(Math.max(0, flags['value-bytes'] - 12));
    const value = (i: number): string => `${String(i).padStart(12, '0')}${pad}`;
    let start = Date.now();
    const batch = 5000;
    for (let base = 0; base < flags.rows; base += batch) {
      const n = Math.min(batch, flags.rows - base);
      await client.mset(Array.from({ length: n }, (_, j) => [key(base + j), value(base + j)] as [string, string]));
      if (process.stdout.isTTY) process.stdout.write(`\rloading ${base + n}/${flags.rows}`);
    }
    const loadMs = Date.now() - start;
    log(`${process.stdout.isTTY ? '\n' : ''}loaded ${flags.rows} rows in ${loadMs} ms (${Math.round((flags.rows / loadMs) * 1000)} rows/s, each acknowledged after an LMDB commit)`);

    // Give placement a few heartbeats to split and balance.
    await new Promise((r) => setTimeout(r, 3000));

    start = Date.now();
    let mismatches = 0;
    for (let base = 0; base < flags.rows; base += batch) {
      const keys = Array.from({ length: Math.min(batch, flags.rows - base) }, (_, j) => key(base + j));
      (await client.mget(keys)).forEach((v, j) => {
        if (v?.toString() !== value(base + j)) mismatches++;
      });
    }
    log(`read back ${flags.rows} rows with MGET in ${Date.now() - start} ms: ${mismatches} mismatches`);

    start = Date.now();
    let scanned = 0;
    let ordered = true;
    let previous: Buffer | undefined;
    for await (const rows of client.scanBatches()) {
      for (const r of rows) {
        if (previous && Buffer.compare(previous, r.key) >= 0) ordered = false;
        previous = r.key;
        scanned++;
      }
    }
    const scanMs = Date.now() - start;
    log(`scanned ${scanned} rows in order=${ordered} in ${scanMs} ms (${Math.round((scanned / Math.max(1, scanMs)) * 1000)} rows/s)`);

    const map = await cluster.fetchMap();
    log(`\n${map.regions.length} regions (map version ${map.version}):`);
    for (const r of map.regions) log(`  region ${String(r.id).padStart(3)}  epoch ${String(r.epoch).padStart(2)}  node ${r.nodeId}  [${showKey(r.start)}, ${r.end.length ? showKey(r.end) : '+inf'})`);
    log('\nnode counters (INFO):');
    for (const n of [...cluster.nodes.values()].sort((a, b) => a.id - b.id)) {
      const conn = new RespConnection({ host: n.host, port: n.port });
      const info = parseInfo(((await conn.call(['INFO'])) as Buffer).toString());
      conn.close();
      log(`  node ${n.id}: keys ${info.keyspace?.keys}, regions ${info.keyspace?.regions}, net in ${info.stats?.total_net_input_bytes} B, out ${info.stats?.total_net_output_bytes} B, cpu user ${info.cpu?.used_cpu_user} s sys ${info.cpu?.used_cpu_sys} s, rss ${Math.round(Number(info.memory?.used_memory_rss) / 1048576)} MiB`);
    }
    if (mismatches > 0 || scanned !== flags.rows || !ordered) throw new Error('the cluster did not return exactly the rows that were loaded');
  } finally {
    client.close();
    await cluster.stop();
  }
  log(`\ndone in ${Date.now() - t0} ms; cluster stopped and its temp dir removed.`);
});
