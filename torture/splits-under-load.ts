/**
 * Splits and moves under coprocessor load: `aggregate` and `filter` run without pause (pushdown and
 * client mode, whole keyspace and random sub-ranges) while regions are split and moved through the
 * placement service's admin commands. The data does not change during the scenario, so every answer
 * must equal the answer computed in this process from the generated rows: no row counted twice or
 * missed (the rows-scanned total is checked too), no group wrong.
 */
import type { LocalCluster } from '../engine/cluster/local-cluster';
import { Coprocessor, type CoprocessorMode } from '../engine/client/coprocessor';
import { RecordCodec, SAMPLE_SCHEMA, compilePredicate, type Condition } from '../engine/plugin-api';
import { SeededRandom } from '../engine/util/seeded-random';
import { loadRows, syntheticKey, syntheticRows } from '../workloads/datasets/synthetic';
import type { AggregateRequest, GroupResult } from '../plugins/aggregate';
import type { FilterRequest, FilterResult } from '../plugins/filter';
import { sleep } from '../test/helpers';
import { Problems, underLoad, withCluster, type Row, type ScenarioCluster } from './common';
import { atLeastFigure, equalFigure, type FigureInput, type Scenario } from './types';

export interface SplitsParams {
  nodes: number;
  rows: number;
  /** Concurrent query loops, each with its own client (its own region cache). */
  queryLoops: number;
  /** Load time; it runs on (up to 4×) until minSplits and minMoves are reached. */
  durationMs: number;
  /** Pause between two split/move operations, in ms. */
  chaosEveryMs: number;
  /** At least this many splits and this many moves must have happened during the load. */
  minSplits: number;
  minMoves: number;
}

export type { Row } from './common';
export type Query = { plugin: 'aggregate'; request: AggregateRequest } | { plugin: 'filter'; request: FilterRequest };

const codec = new RecordCodec(SAMPLE_SCHEMA);

const QUERIES: Query[] = [
  { plugin: 'aggregate', request: { schema: SAMPLE_SCHEMA, column: 'amount' } },
  { plugin: 'aggregate', request: { schema: SAMPLE_SCHEMA, column: 'amount', groupBy: 'category' } },
  { plugin: 'aggregate', request: { schema: SAMPLE_SCHEMA, column: 'quantity', groupBy: 'flag', where: [{ column: 'amount', op: '>', value: 250 }] } },
  { plugin: 'filter', request: { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: 500 }], output: 'count' } },
  { plugin: 'filter', request: { schema: SAMPLE_SCHEMA, where: [{ column: 'category', op: '==', value: 'c3' }, { column: 'flag', op: '==', value: true }] } },
];

/** The rows of `[start, end)` (an empty end is the end of the keyspace). */
function rowsIn(rows: Row[], start: Buffer, end: Buffer): Row[] {
  return rows.filter((r) => Buffer.compare(r.key, start) >= 0 && (end.length === 0 || Buffer.compare(r.key, end) < 0));
}

/** What `aggregate` must answer, computed directly (count/min/max exact, sum up to rounding). */
function referenceAggregate(rows: Row[], req: AggregateRequest): Map<string, { count: number; sum: number; min: number; max: number }> {
  const value = codec.numberAccessor(req.column);
  const group = req.groupBy ? codec.accessor(req.groupBy) : undefined;
  const matches = compilePredicate(codec, req.where);
  const out = new Map<string, { count: number; sum: number; min: number; max: number }>();
  for (const r of rows) {
    if (!matches(r.value)) continue;
    const g = group ? String(group(r.value)) : '';
    const x = value(r.value);
    const s = out.get(g) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
    s.count++;
    s.sum += x;
    s.min = Math.min(s.min, x);
    s.max = Math.max(s.max, x);
    out.set(g, s);
  }
  return out;
}

/** Why an answer of `aggregate` or `filter` differs from the one computed over `rows`, or undefined when it is right. */
export function checkAnswer(query: Query, result: unknown, rows: Row[]): string | undefined {
  if (query.plugin === 'aggregate') {
    const expected = referenceAggregate(rows, query.request);
    const got = result as GroupResult[];
    if (got.length !== expected.size) return `${got.length} groups, expected ${expected.size}`;
    for (const g of got) {
      const e = expected.get(g.group);
      if (!e) return `unexpected group ${g.group}`;
      if (g.count !== e.count) return `group '${g.group}': count ${g.count}, expected ${e.count}`;
      if (g.min !== e.min || g.max !== e.max) return `group '${g.group}': min/max ${g.min}/${g.max}, expected ${e.min}/${e.max}`;
      if (Math.abs(g.sum - e.sum) > 1e-9 * Math.max(1, Math.abs(e.sum))) return `group '${g.group}': sum ${g.sum}, expected ${e.sum}`;
    }
    return undefined;
  }
  const matches = compilePredicate(codec, query.request.where as Condition[]);
  const expected = rows.filter((r) => matches(r.value));
  const got = result as FilterResult;
  if (got.count !== expected.length) return `count ${got.count}, expected ${expected.length}`;
  if (query.request.output === 'count') return undefined;
  const keys = (got.rows ?? []).map(([k]) => Buffer.from(k));
  if (keys.length !== expected.length) return `${keys.length} rows returned, expected ${expected.length}`;
  for (let i = 0; i < keys.length; i++) {
    if (!keys[i]!.equals(expected[i]!.key)) return `row ${i}: key ${keys[i]!.toString()}, expected ${expected[i]!.key.toString()}`;
    if (!Buffer.from(got.rows![i]![1]).equals(expected[i]!.value)) return `row ${i} (${keys[i]!.toString()}): value differs`;
  }
  return undefined;
}

/** What the query loops checked and what went wrong. */
interface QueryTally {
  checked: number;
  rowsChecked: number;
  wrong: Problems;
  failed: Problems;
}

/** What the split/move loop did; `refused` counts admin commands the placement service turned down. */
interface Chaos {
  splits: number;
  moves: number;
  refused: number;
}

export const splitsScenario: Scenario<SplitsParams> = {
  name: 'splits',
  title: 'aggregate and filter answers while regions split and move',
  sizes: {
    small: { nodes: 3, rows: 8000, queryLoops: 3, durationMs: 8000, chaosEveryMs: 250, minSplits: 3, minMoves: 3 },
    full: { nodes: 3, rows: 30_000, queryLoops: 4, durationMs: 40_000, chaosEveryMs: 300, minSplits: 15, minMoves: 15 },
  },
  async run(p, ctx) {
    const random = new SeededRandom(ctx.seed);
    const rows: Row[] = [...syntheticRows({ rows: p.rows, seed: ctx.seed })];
    return withCluster({ nodes: p.nodes, autoSplit: false, autoBalance: false }, async ({ cluster, connect, clients }) => {
      await loadRows(await connect(), rows);
      ctx.log(`splits: ${p.rows} rows loaded; ${p.queryLoops} query loops for ${p.durationMs} ms while regions split and move`);
      const queries = new QueryLoops(connect, rows, p, ctx.seed);
      const chaos = await underLoad(p.queryLoops, (l, running) => queries.loop(l, running), () => splitAndMoveRegions(cluster, rows, p, random));
      const finalRegions = (await cluster.fetchMap()).regions.length;
      const retries = clients.reduce((n, c) => n + Object.values(c.retries).reduce((a, b) => a + b, 0), 0);
      return splitsFigures(p, queries.tally, chaos, `${finalRegions} regions at the end; ${retries} client retries`);
    });
  },
};

/**
 * Loops of random `aggregate` and `filter` calls, each with its own client (its own region
 * cache); every answer is checked against the generated rows.
 */
class QueryLoops {
  readonly tally: QueryTally = { checked: 0, rowsChecked: 0, wrong: new Problems(), failed: new Problems() };

  constructor(
    private readonly connect: ScenarioCluster['connect'],
    private readonly rows: Row[],
    private readonly p: SplitsParams,
    private readonly seed: number,
  ) {}

  async loop(l: number, running: () => boolean): Promise<void> {
    const copr = new Coprocessor(await this.connect({ retryBudgetMs: 30_000 }));
    const r = new SeededRandom(this.seed * 100 + l + 1);
    while (running()) {
      const query = QUERIES[r.int(QUERIES.length)]!;
      const mode: CoprocessorMode = r.next() < 0.75 ? 'pushdown' : 'client';
      const range = this.randomRange(r);
      try {
        const outcome = await copr.run({ plugin: query.plugin, request: query.request, mode, ...range });
        this.check(query, mode, outcome.result, outcome.totals.rowsScanned, rowsIn(this.rows, range.start, range.end));
      } catch (err) {
        this.tally.failed.add(`${query.plugin} ${mode}: ${(err as Error).message}`);
      }
    }
  }

  /** Half the calls cover the whole keyspace, half a random sub-range (edges inside regions). */
  private randomRange(r: SeededRandom): { start: Buffer; end: Buffer } {
    if (r.next() >= 0.5) return { start: Buffer.alloc(0), end: Buffer.alloc(0) };
    const rows = this.p.rows;
    const a = r.int(rows);
    const b = a + 1 + r.int(rows - a);
    return { start: syntheticKey(a), end: b >= rows ? Buffer.alloc(0) : syntheticKey(b) };
  }

  /** The answer and the rows-scanned total must both match the rows of the range. */
  private check(query: Query, mode: CoprocessorMode, result: unknown, rowsScanned: number, expectedRows: Row[]): void {
    let why = checkAnswer(query, result, expectedRows);
    if (!why && rowsScanned !== expectedRows.length) why = `scanned ${rowsScanned} rows, the range holds ${expectedRows.length}`;
    this.tally.checked++;
    this.tally.rowsChecked += expectedRows.length;
    if (why) this.tally.wrong.add(`${query.plugin} ${mode}: ${why}`);
  }
}

/**
 * Splits and moves random regions through the placement service, alternately, every
 * `chaosEveryMs`. On a loaded machine it runs on (up to 4× `durationMs`) until the minimum
 * numbers of both have happened.
 */
async function splitAndMoveRegions(cluster: LocalCluster, rows: Row[], p: SplitsParams, random: SeededRandom): Promise<Chaos> {
  const admin = cluster.placementAdmin();
  const chaos: Chaos = { splits: 0, moves: 0, refused: 0 };
  const t0 = Date.now();
  const enough = (): boolean => Date.now() - t0 >= p.durationMs && chaos.splits >= p.minSplits && chaos.moves >= p.minMoves;
  for (let op = 0; !enough() && Date.now() - t0 < 4 * p.durationMs; op++) {
    await sleep(p.chaosEveryMs);
    const map = await cluster.fetchMap();
    const region = map.regions[random.int(map.regions.length)]!;
    try {
      if (op % 2 === 0) {
        // A row key strictly inside the region, if it holds at least two rows.
        const inside = rowsIn(rows, region.start, region.end);
        if (inside.length < 2) continue;
        await admin.call(['PD.SPLIT', String(region.id), inside[1 + random.int(inside.length - 1)]!.key]);
        chaos.splits++;
      } else {
        const others = map.nodes.filter((n) => n.up && n.id !== region.nodeId);
        if (others.length === 0) continue;
        await admin.call(['PD.MOVE', String(region.id), String(others[random.int(others.length)]!.id)]);
        chaos.moves++;
      }
    } catch {
      chaos.refused++; // e.g. TRYAGAIN: the region is already moving
    }
  }
  return chaos;
}

function splitsFigures(p: SplitsParams, tally: QueryTally, chaos: Chaos, end: string): FigureInput[] {
  const detail = `${tally.checked} answers (${tally.rowsChecked} rows) checked against the snapshot; ${chaos.splits} splits, ${chaos.moves} moves, ${end}`;
  const adminOps = chaos.splits + chaos.moves + chaos.refused;
  return [
    equalFigure('wrong answers', tally.wrong.count, 0, tally.checked, `${detail}${tally.wrong.eg()}`),
    equalFigure('failed calls', tally.failed.count, 0, tally.checked + tally.failed.count, tally.failed.or('no call failed')),
    atLeastFigure('splits during the load', chaos.splits, p.minSplits, adminOps, `PD.SPLIT at a row key inside a random region; ${chaos.refused} admin ops refused (region busy)`),
    atLeastFigure('moves during the load', chaos.moves, p.minMoves, adminOps, 'PD.MOVE of a random region to another node'),
  ];
}
