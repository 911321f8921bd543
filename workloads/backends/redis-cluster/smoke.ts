/**
 * A smoke measurement until the workload driver can select this backend: starts a Redis Cluster,
 * loads synthetic rows, and times a few requests by pushdown and by fetch (alternating, several
 * repetitions), printing the median wall time, the bytes the client read, and the nodes' CPU.
 * Answers are checked equal in every repetition. Not a benchmark: no warm-up phase, no CIs, no
 * results directory — the driver's runs will be the measurements.
 *
 *   node --require ./engine/runtime/register.js workloads/backends/redis-cluster/smoke.ts --rows 5000 --buckets 8 --slice 1000 --reps 5
 */
import { parseArgs } from 'node:util';
import { SAMPLE_SCHEMA, type Plugin } from '../../../engine/plugin-api';
import { syntheticRows } from '../../datasets/synthetic';
import aggregate from '../../../plugins/aggregate';
import filter from '../../../plugins/filter';
import { RedisClusterClient } from './cluster-client';
import { runClientSide, type RedisRun } from './fetch';
import { loadFunctions } from './functions';
import { workUnits, type WorkUnit } from './layout';
import { RedisCluster } from './launcher';
import { loadRedisRows } from './loader';
import { readNodeStats } from './node-stats';
import { diffNodeStats } from '../../driver/metrics/node-stats';
import { runPushdown } from './pushdown';
import { median } from '../../../engine/util/statistics';

interface Sample {
  wallMs: number;
  clientBytesRead: number;
  nodeCpuMs: number;
  answer: string;
}

const REQUESTS: Array<{ name: string; plugin: Plugin<never, unknown, unknown>; request: unknown }> = [
  { name: 'filter count (amount > 500)', plugin: filter as Plugin<never, unknown, unknown>, request: { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: 500 }], output: 'count' } },
  { name: 'filter rows (amount > 990, ~1%)', plugin: filter as Plugin<never, unknown, unknown>, request: { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: 990 }] } },
  { name: 'aggregate amount by category', plugin: aggregate as Plugin<never, unknown, unknown>, request: { schema: SAMPLE_SCHEMA, column: 'amount', groupBy: 'category' } },
];

type Runner = (client: RedisClusterClient, plugin: Plugin<never, unknown, unknown>, request: never, units: readonly WorkUnit[]) => Promise<RedisRun<unknown>>;

async function sample(client: RedisClusterClient, run: Runner, plugin: Plugin<never, unknown, unknown>, request: unknown, units: WorkUnit[]): Promise<Sample> {
  const bytesRead = (): number => [...client.wireBytes().values()].reduce((n, b) => n + b.bytesRead, 0);
  const nodesBefore = await readNodeStats(client);
  // Read after the INFO replies, so the client's bytes are the run's alone (node CPU includes INFO).
  const bytesBefore = bytesRead();
  const started = process.hrtime.bigint();
  const { result } = await run(client, plugin, request as never, units);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const clientBytesRead = bytesRead() - bytesBefore;
  const nodes = diffNodeStats(nodesBefore, await readNodeStats(client));
  return { wallMs, clientBytesRead, nodeCpuMs: nodes.reduce((n, s) => n + s.cpuUserUs + s.cpuSysUs, 0) / 1000, answer: JSON.stringify(result) };
}


async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '5000' }, buckets: { type: 'string', default: '8' }, slice: { type: 'string', default: '1000' }, reps: { type: 'string', default: '5' }, nodes: { type: 'string', default: '3' } } });
  const rows = Number(values.rows);
  const cluster = await RedisCluster.start({ nodes: Number(values.nodes) });
  const client = await RedisClusterClient.connect(cluster.addresses);
  try {
    const loadStarted = Date.now();
    const load = await loadRedisRows(client, syntheticRows({ rows, seed: 42 }), { totalRows: rows, buckets: Number(values.buckets) });
    console.log(`${cluster.version.split(' ').slice(0, 3).join(' ')}; loaded ${rows} rows into ${load.layout.buckets} buckets in ${Date.now() - loadStarted} ms (appendfsync ${cluster.persistence.appendfsync}); buckets per node ${JSON.stringify(Object.values(load.bucketsPerNode))}`);
    await loadFunctions(client);
    const units = workUnits(load.layout, Number(values.slice));
    console.log(`${units.length} units of ≤ ${values.slice} rows; ${values.reps} repetitions per mode, alternating; medians:`);
    console.log(['request', 'mode', 'wall ms', 'client bytes read', 'node CPU ms'].join('\t'));
    for (const { name, plugin, request } of REQUESTS) {
      const runs: Record<'pushdown' | 'fetch', Sample[]> = { pushdown: [], fetch: [] };
      for (let rep = 0; rep < Number(values.reps); rep++) {
        runs.pushdown.push(await sample(client, runPushdown as Runner, plugin, request, units));
        runs.fetch.push(await sample(client, runClientSide as Runner, plugin, request, units));
      }
      const answers = new Set([...runs.pushdown, ...runs.fetch].map((s) => s.answer));
      if (answers.size !== 1) throw new Error(`${name}: pushdown and fetch answers differ`);
      for (const mode of ['pushdown', 'fetch'] as const) {
        const s = runs[mode];
        console.log([name, mode, median(s.map((x) => x.wallMs)).toFixed(1), median(s.map((x) => x.clientBytesRead)), median(s.map((x) => x.nodeCpuMs)).toFixed(1)].join('\t'));
      }
    }
  } finally {
    client.close();
    await cluster.stop();
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
