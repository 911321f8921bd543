/**
 * Load: many concurrent clients (each its own ClusterClient, so its own connections and region
 * cache) mix point reads and writes with coprocessor calls for a bounded time. Every answer is
 * checked (a point read returns the last value this client wrote, or the dataset's value; a
 * coprocessor count equals the count over the generated rows), errors must be 0, latency
 * percentiles are reported, and the peak RSS of every process (placement, nodes, this harness) must
 * stay under a bound.
 */
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { RecordCodec, SAMPLE_SCHEMA, compilePredicate, type Condition } from '../engine/plugin-api';
import { SeededRandom } from '../engine/util/seeded-random';
import { loadRows, syntheticKey, syntheticRows } from '../workloads/datasets/synthetic';
import { LatencyRecorder } from '../workloads/driver/metrics/latency';
import type { GroupResult } from '../plugins/aggregate';
import type { FilterResult } from '../plugins/filter';
import { waitFor } from '../test/helpers';
import { MemoryWatch, clusterProcesses } from './process-memory';
import { MiB, atMostFigure, equalFigure, toMiB, type FigureInput, type Scenario } from './types';

export interface LoadParams {
  nodes: number;
  rows: number;
  clients: number;
  durationMs: number;
  /** Share of operations that are coprocessor calls. */
  coprShare: number;
  /** Rows a coprocessor call covers (a random sub-range). */
  coprRows: number;
  /** p99 bounds that catch a stall (a request stuck behind another), not performance goals. */
  p99PointBoundMs: number;
  p99CoprBoundMs: number;
  rssBoundBytes: number;
}

const codec = new RecordCodec(SAMPLE_SCHEMA);
const WHERE: Condition[] = [{ column: 'amount', op: '>', value: 500 }];
const matches = compilePredicate(codec, WHERE);

export const loadScenario: Scenario<LoadParams> = {
  name: 'load',
  title: 'concurrent clients mixing point operations and coprocessor calls',
  sizes: {
    small: { nodes: 3, rows: 12_000, clients: 50, durationMs: 6000, coprShare: 0.1, coprRows: 1000, p99PointBoundMs: 5000, p99CoprBoundMs: 20_000, rssBoundBytes: 1024 * MiB },
    full: { nodes: 3, rows: 40_000, clients: 50, durationMs: 30_000, coprShare: 0.1, coprRows: 2000, p99PointBoundMs: 5000, p99CoprBoundMs: 20_000, rssBoundBytes: 1024 * MiB },
  },
  async run(p, ctx) {
    const rows = [...syntheticRows({ rows: p.rows, seed: ctx.seed })];
    const cluster = await LocalCluster.start({ nodes: p.nodes, splitKeys: Math.max(1000, Math.floor(p.rows / (2 * p.nodes))) });
    const clients: ClusterClient[] = [];
    try {
      const loader = await ClusterClient.connect({ placement: cluster.placementAddress });
      clients.push(loader);
      await loadRows(loader, rows);
      await waitFor('regions on every node', async () => (new Set((await cluster.fetchMap()).regions.map((r) => r.nodeId)).size === p.nodes ? true : undefined), 30_000);
      for (let c = 0; c < p.clients; c++) clients.push(await ClusterClient.connect({ placement: cluster.placementAddress }));
      ctx.log(`load: ${p.rows} rows over ${(await cluster.fetchMap()).regions.length} regions; ${p.clients} clients for ${p.durationMs} ms`);

      const point = new LatencyRecorder();
      const copr = new LatencyRecorder();
      const tally = { ops: 0, errors: 0, wrong: 0 };
      const examples: Record<'errors' | 'wrong', string[]> = { errors: [], wrong: [] };
      const fail = (kind: 'errors' | 'wrong', what: string): void => {
        tally[kind]++;
        if (examples[kind].length < 3) examples[kind].push(what);
      };
      const memory = new MemoryWatch(() => clusterProcesses(cluster)).start();
      const until = Date.now() + p.durationMs;
      await Promise.all(
        clients.slice(1).map(async (client, c) => {
          const r = new SeededRandom(ctx.seed * 1000 + c + 1);
          const coprocessor = new Coprocessor(client);
          const written = new Map<string, string>();
          for (let op = 0; Date.now() < until; op++) {
            const roll = r.next();
            const t0 = performance.now();
            const isCopr = roll < p.coprShare;
            try {
              if (isCopr) {
                const a = r.int(p.rows - p.coprRows);
                const inRange = rows.slice(a, a + p.coprRows);
                const start = syntheticKey(a);
                const end = syntheticKey(a + p.coprRows);
                const mode = r.next() < 0.8 ? 'pushdown' : 'client';
                if (r.next() < 0.5) {
                  const out = await coprocessor.run<unknown, FilterResult>({ plugin: 'filter', request: { schema: SAMPLE_SCHEMA, where: WHERE, output: 'count' }, mode, start, end });
                  const expected = inRange.filter((row) => matches(row.value)).length;
                  if (out.result.count !== expected) fail('wrong', `filter ${mode}: ${out.result.count}, expected ${expected}`);
                } else {
                  const out = await coprocessor.run<unknown, GroupResult[]>({ plugin: 'aggregate', request: { schema: SAMPLE_SCHEMA, column: 'amount' }, mode, start, end });
                  if (out.result[0]?.count !== p.coprRows) fail('wrong', `aggregate ${mode}: count ${out.result[0]?.count}, expected ${p.coprRows}`);
                }
              } else {
                const sub = (roll - p.coprShare) / (1 - p.coprShare);
                if (sub < 0.35) {
                  const key = `load:${c}:${r.int(50)}`;
                  const got = (await client.get(key))?.toString();
                  if (got !== written.get(key)) fail('wrong', `GET ${key}: ${got}, expected ${written.get(key)}`);
                } else if (sub < 0.65) {
                  const key = `load:${c}:${r.int(50)}`;
                  const value = `c${c}-op${op}`;
                  await client.set(key, value);
                  written.set(key, value);
                } else if (sub < 0.85) {
                  const i = r.int(p.rows);
                  const got = await client.get(rows[i]!.key);
                  if (!got || !got.equals(rows[i]!.value)) fail('wrong', `GET ${rows[i]!.key.toString()}: wrong value`);
                } else {
                  const idx = Array.from({ length: 10 }, () => r.int(p.rows));
                  const got = await client.mget(idx.map((i) => rows[i]!.key));
                  if (got.some((v, j) => !v || !v.equals(rows[idx[j]!]!.value))) fail('wrong', 'MGET: wrong value');
                }
              }
              (isCopr ? copr : point).recordMs(performance.now() - t0);
            } catch (err) {
              fail('errors', `${isCopr ? 'coprocessor' : 'point'}: ${(err as Error).message}`);
            }
            tally.ops++;
          }
        }),
      );
      const peaks = memory.stop();
      const ps = point.summary();
      const cs = copr.summary();
      const rss: FigureInput[] = [...peaks].map(([label, bytes]) => atMostFigure(`peak RSS ${label}`, toMiB(bytes), toMiB(p.rssBoundBytes), 1, `highest of polled RSS and the kernel's high-water mark (VmHWM) over the run`, 'MiB'));
      const seconds = p.durationMs / 1000;
      return [
        equalFigure('errors', tally.errors, 0, tally.ops, `${p.clients} clients, ${seconds} s: ${point.count} point ops (${(point.count / seconds).toFixed(0)}/s), ${copr.count} coprocessor calls (${(copr.count / seconds).toFixed(1)}/s)${examples.errors.length ? `; e.g. ${examples.errors.join('; ')}` : ''}`),
        equalFigure('wrong answers', tally.wrong, 0, tally.ops, `point reads against the last write / the dataset; coprocessor counts against the generated rows${examples.wrong.length ? `; e.g. ${examples.wrong.join('; ')}` : ''}`),
        atMostFigure('p99 point op', round(ps.p99Ms), p.p99PointBoundMs, point.count, `p50 ${round(ps.p50Ms)} ms, p95 ${round(ps.p95Ms)} ms, max ${round(ps.maxMs)} ms (GET, SET, MGET of 10)`, 'ms'),
        atMostFigure('p99 coprocessor call', round(cs.p99Ms), p.p99CoprBoundMs, copr.count, `p50 ${round(cs.p50Ms)} ms, p95 ${round(cs.p95Ms)} ms, max ${round(cs.maxMs)} ms (filter/aggregate over ${p.coprRows} rows, 80% pushdown)`, 'ms'),
        ...rss,
      ];
    } finally {
      for (const c of clients) c.close();
      await cluster.stop();
    }
  },
};

const round = (ms: number): number => Math.round(ms * 10) / 10;
