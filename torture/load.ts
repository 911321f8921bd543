/**
 * Load: many concurrent clients (each its own ClusterClient, so its own connections and region
 * cache) mix point reads and writes with coprocessor calls for a bounded time. Every answer is
 * checked (a point read returns the last value this client wrote, or the dataset's value; a
 * coprocessor count equals the count over the generated rows), errors must be 0, latency
 * percentiles are reported, and the peak RSS of every process (placement, nodes, this harness) must
 * stay under a bound.
 */
import type { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { RecordCodec, SAMPLE_SCHEMA, compilePredicate, type Condition } from '../engine/plugin-api';
import { SeededRandom } from '../engine/util/seeded-random';
import { loadRows, syntheticKey, syntheticRows } from '../workloads/datasets/synthetic';
import { LatencyRecorder } from '../workloads/driver/metrics/latency';
import type { FilterResult } from '../plugins/filter';
import { Problems, aggregateAmount, type Row, waitForRegionsOnEveryNode, withCluster } from './common';
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

/** What every client records into: latencies by kind, operations, and the problems the figures count. */
interface LoadTally {
  point: LatencyRecorder;
  copr: LatencyRecorder;
  ops: number;
  errors: Problems;
  wrong: Problems;
}

export const loadScenario: Scenario<LoadParams> = {
  name: 'load',
  title: 'concurrent clients mixing point operations and coprocessor calls',
  sizes: {
    small: { nodes: 3, rows: 12_000, clients: 50, durationMs: 6000, coprShare: 0.1, coprRows: 1000, p99PointBoundMs: 5000, p99CoprBoundMs: 20_000, rssBoundBytes: 1024 * MiB },
    full: { nodes: 3, rows: 40_000, clients: 50, durationMs: 30_000, coprShare: 0.1, coprRows: 2000, p99PointBoundMs: 5000, p99CoprBoundMs: 20_000, rssBoundBytes: 1024 * MiB },
  },
  async run(p, ctx) {
    const rows: Row[] = [...syntheticRows({ rows: p.rows, seed: ctx.seed })];
    return withCluster({ nodes: p.nodes, splitKeys: Math.max(1000, Math.floor(p.rows / (2 * p.nodes))) }, async ({ cluster, connect }) => {
      await loadRows(await connect(), rows);
      await waitForRegionsOnEveryNode(cluster, p.nodes);
      const clients: ClusterClient[] = [];
      for (let c = 0; c < p.clients; c++) clients.push(await connect());
      ctx.log(`load: ${p.rows} rows over ${(await cluster.fetchMap()).regions.length} regions; ${p.clients} clients for ${p.durationMs} ms`);

      const tally: LoadTally = { point: new LatencyRecorder(), copr: new LatencyRecorder(), ops: 0, errors: new Problems(), wrong: new Problems() };
      const memory = new MemoryWatch(() => clusterProcesses(cluster)).start();
      const until = Date.now() + p.durationMs;
      await Promise.all(clients.map((client, c) => new LoadClient(client, c, p, rows, tally, ctx.seed).runUntil(until)));
      return loadFigures(p, tally, memory.stop());
    });
  },
};

/**
 * One client's random mix of coprocessor calls and point operations; every answer is checked
 * against the generated rows or against what this client wrote last.
 */
class LoadClient {
  private readonly r: SeededRandom;
  private readonly coprocessor: Coprocessor;
  /** The last value this client wrote to each of its own keys. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly client: ClusterClient,
    private readonly c: number,
    private readonly p: LoadParams,
    private readonly rows: Row[],
    private readonly tally: LoadTally,
    seed: number,
  ) {
    this.r = new SeededRandom(seed * 1000 + c + 1);
    this.coprocessor = new Coprocessor(client);
  }

  async runUntil(until: number): Promise<void> {
    for (let op = 0; Date.now() < until; op++) {
      const roll = this.r.next();
      const t0 = performance.now();
      const isCopr = roll < this.p.coprShare;
      try {
        if (isCopr) await this.coprocessorCall();
        else await this.pointOp((roll - this.p.coprShare) / (1 - this.p.coprShare), op);
        (isCopr ? this.tally.copr : this.tally.point).recordMs(performance.now() - t0);
      } catch (err) {
        this.tally.errors.add(`${isCopr ? 'coprocessor' : 'point'}: ${(err as Error).message}`);
      }
      this.tally.ops++;
    }
  }

  /** `filter` (count) or `aggregate` over a random `coprRows`-row range, 80% pushdown. */
  private async coprocessorCall(): Promise<void> {
    const { p, r } = this;
    const a = r.int(p.rows - p.coprRows);
    const range = { start: syntheticKey(a), end: syntheticKey(a + p.coprRows) };
    const mode = r.next() < 0.8 ? 'pushdown' : 'client';
    if (r.next() < 0.5) {
      const out = await this.coprocessor.run<unknown, FilterResult>({ plugin: 'filter', request: { schema: SAMPLE_SCHEMA, where: WHERE, output: 'count' }, mode, ...range });
      const expected = this.rows.slice(a, a + p.coprRows).filter((row) => matches(row.value)).length;
      if (out.result.count !== expected) this.tally.wrong.add(`filter ${mode}: ${out.result.count}, expected ${expected}`);
    } else {
      const out = await aggregateAmount(this.coprocessor, range, mode);
      if (out.result[0]?.count !== p.coprRows) this.tally.wrong.add(`aggregate ${mode}: count ${out.result[0]?.count}, expected ${p.coprRows}`);
    }
  }

  /** By `sub` in [0, 1): GET or SET of this client's own keys, GET or MGET of 10 dataset rows. */
  private async pointOp(sub: number, op: number): Promise<void> {
    const { client, c, r, rows, written } = this;
    if (sub < 0.35) {
      const key = `load:${c}:${r.int(50)}`;
      const got = (await client.get(key))?.toString();
      if (got !== written.get(key)) this.tally.wrong.add(`GET ${key}: ${got}, expected ${written.get(key)}`);
    } else if (sub < 0.65) {
      const key = `load:${c}:${r.int(50)}`;
      const value = `c${c}-op${op}`;
      await client.set(key, value);
      written.set(key, value);
    } else if (sub < 0.85) {
      const i = r.int(this.p.rows);
      const got = await client.get(rows[i]!.key);
      if (!got || !got.equals(rows[i]!.value)) this.tally.wrong.add(`GET ${rows[i]!.key.toString()}: wrong value`);
    } else {
      const idx = Array.from({ length: 10 }, () => r.int(this.p.rows));
      const got = await client.mget(idx.map((i) => rows[i]!.key));
      if (got.some((v, j) => !v || !v.equals(rows[idx[j]!]!.value))) this.tally.wrong.add('MGET: wrong value');
    }
  }
}

function loadFigures(p: LoadParams, tally: LoadTally, peaks: Map<string, number>): FigureInput[] {
  const { point, copr } = tally;
  const ps = point.summary();
  const cs = copr.summary();
  const rss: FigureInput[] = [...peaks].map(([label, bytes]) => atMostFigure(`peak RSS ${label}`, toMiB(bytes), toMiB(p.rssBoundBytes), 1, `highest of polled RSS and the kernel's high-water mark (VmHWM) over the run`, 'MiB'));
  const seconds = p.durationMs / 1000;
  return [
    equalFigure('errors', tally.errors.count, 0, tally.ops, `${p.clients} clients, ${seconds} s: ${point.count} point ops (${(point.count / seconds).toFixed(0)}/s), ${copr.count} coprocessor calls (${(copr.count / seconds).toFixed(1)}/s)${tally.errors.eg()}`),
    equalFigure('wrong answers', tally.wrong.count, 0, tally.ops, `point reads against the last write / the dataset; coprocessor counts against the generated rows${tally.wrong.eg()}`),
    atMostFigure('p99 point op', round(ps.p99Ms), p.p99PointBoundMs, point.count, `p50 ${round(ps.p50Ms)} ms, p95 ${round(ps.p95Ms)} ms, max ${round(ps.maxMs)} ms (GET, SET, MGET of 10)`, 'ms'),
    atMostFigure('p99 coprocessor call', round(cs.p99Ms), p.p99CoprBoundMs, copr.count, `p50 ${round(cs.p50Ms)} ms, p95 ${round(cs.p95Ms)} ms, max ${round(cs.maxMs)} ms (filter/aggregate over ${p.coprRows} rows, 80% pushdown)`, 'ms'),
    ...rss,
  ];
}

const round = (ms: number): number => Math.round(ms * 10) / 10;
