/**
 * Point operations (group `point`): GET / SET through ClusterClient against a 1-node cluster,
 * `concurrency` in flight for a fixed time, next to raw lmdb `get` / durable `put` driven by the
 * same worker loop in this process.
 */
import { performance } from 'node:perf_hooks';
import type { ClusterClient } from '../engine/client/cluster-client';
import { RespConnection } from '../engine/client/connection';
import type { LocalCluster } from '../engine/cluster/local-cluster';
import { RespError } from '../engine/protocol/resp';
import { median } from '../engine/util/statistics';
import type { BenchConfig } from './cli-config';
import { clusterLoad, durable, rawLoad, type Dataset, type RawLmdb } from './dataset';
import type { Results } from './report';
import { sideBySide } from './side-by-side';

interface Throughput {
  ops: number;
  seconds: number;
  perSecond: number;
}

/** Runs `op(i)` from `concurrency` async workers until `seconds` have passed. */
async function runFor(seconds: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Throughput> {
  let next = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await op(next++);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return { ops: done, seconds: elapsed, perSecond: done / elapsed };
}

export async function benchPoint(cfg: BenchConfig, results: Results, client: ClusterClient, cluster: LocalCluster, raw: RawLmdb, data: Dataset): Promise<void> {
  process.stdout.write(`\npoint GET/SET, ${cfg.concurrency} in flight, ${cfg.reps} × ${cfg.pointSeconds}s each\n`);
  await clusterLoad(client, data, cfg.loadChunkRows);
  await rawLoad(raw, data, cfg.loadChunkRows);
  const n = data.keys.length;
  // A fixed stride over the key set: deterministic, touches every key, not sequential.
  const keyAt = (i: number): Buffer => data.keys[(i * 7919) % n]!;
  const valueAt = (i: number): Buffer => data.values[(i * 104_729) % n]!;

  const clusterGet = async (i: number): Promise<void> => {
    if ((await client.get(keyAt(i))) === undefined) throw new Error('cluster GET missed a loaded key');
  };
  const rawGet = async (i: number): Promise<void> => {
    if (raw.rows.get(keyAt(i)) === undefined) throw new Error('raw GET missed a loaded key');
  };
  const clusterSet = (i: number): Promise<void> => client.set(keyAt(i), valueAt(i));
  const rawSet = (i: number): Promise<void> => durable(raw.rows.put(keyAt(i), valueAt(i)));

  const measure = (op: (i: number) => Promise<unknown>) => async (): Promise<number> => (await runFor(cfg.pointSeconds, cfg.concurrency, op)).perSecond;
  const warm = (op: (i: number) => Promise<unknown>) => (): Promise<Throughput> => runFor(cfg.warmupSeconds, cfg.concurrency, op);

  const [cg, rg] = await sideBySide(cfg, [measure(clusterGet), measure(rawGet)], [warm(clusterGet), warm(rawGet)]);
  results.add({ group: 'point', measurement: `GET 1-node cluster, ${cfg.concurrency} in flight`, unit: 'ops/s', copbench: median(cg!), baseline: median(rg!), baselineName: 'raw lmdb get, same worker loop', copbenchSamples: cg, baselineSamples: rg });

  // Breakdown: the same GETs over one pipelined RespConnection straight to the node (no routing,
  // no retry wrapper), to see how much of the gap is the client and how much the server + socket.
  const node = cluster.nodes.get(1)!;
  const conn = new RespConnection({ host: node.host, port: node.port, requestTimeoutMs: 10_000, maxInFlight: 256 });
  try {
    const directGet = async (i: number): Promise<void> => {
      const reply = await conn.send(['GET', keyAt(i)]);
      if (reply === null || reply instanceof RespError) throw new Error(`direct GET failed: ${reply === null ? 'nil' : reply.message}`);
    };
    const [dg, rg2] = await sideBySide(cfg, [measure(directGet), measure(rawGet)], [warm(directGet)]);
    results.add({ group: 'point', measurement: `GET via RespConnection to the node (no client routing)`, unit: 'ops/s', copbench: median(dg!), baseline: median(rg2!), baselineName: 'raw lmdb get, same worker loop', copbenchSamples: dg, baselineSamples: rg2 });
  } finally {
    conn.close();
  }

  const [cs, rs] = await sideBySide(cfg, [measure(clusterSet), measure(rawSet)], [warm(clusterSet), warm(rawSet)]);
  results.add({ group: 'point', measurement: `SET 1-node cluster, ${cfg.concurrency} in flight (durable)`, unit: 'ops/s', copbench: median(cs!), baseline: median(rs!), baselineName: 'raw lmdb put + flushed, same worker loop', copbenchSamples: cs, baselineSamples: rs });
}
