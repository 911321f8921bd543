/**
 * Cost grows linearly with data (run by bench/coprocessor.ts on its filter dataset): `filter`
 * (count) and `aggregate` (by category) over the first 1/16, 4/16 and 16/16 of the rows, in
 * pushdown and in client mode. Each point is the median call time of `reps` calls (the points
 * alternate, so drift spreads over all of them); a least-squares line through the three points
 * gives the cost per row (slope) and R². Goal: R² ≥ 0.98 for each series (a fixed per-call cost
 * shows up in the intercept, not as non-linearity).
 * One region at a time: the 1× and 4× ranges lie inside one region and the 16× range spans four,
 * so with regions in parallel the 16× point would also measure the second plugin worker (time
 * growing less than the rows), not the cost of the rows.
 */
import { performance } from 'node:perf_hooks';
import type { Coprocessor } from '../engine/client/coprocessor';
import { SAMPLE_SCHEMA } from '../engine/plugin-api';
import type { AggregateRequest, GroupResult } from '../plugins/aggregate';
import type { FilterRequest, FilterResult } from '../plugins/filter';
import { linearFit } from '../workloads/driver/metrics/stats';
import { syntheticKey } from '../workloads/datasets/synthetic';
import type { NewRow } from './goals';

export interface ScalingContext {
  copr: Coprocessor;
  /** Rows of the dataset (keys syntheticKey(0 … rows-1)). */
  rows: number;
  reps: number;
  filterRequest: FilterRequest;
  /** Matching rows among the first `k` rows, for the answer check. */
  matchesInFirst(k: number): number;
  add(row: NewRow): void;
  median(values: number[]): number;
}

const MULTIPLES = [1, 4, 16];
const R2_GOAL = 0.98;

export async function benchScaling(ctx: ScalingContext): Promise<void> {
  const sizes = MULTIPLES.map((k) => Math.floor((ctx.rows * k) / 16));
  process.stdout.write(`\nlinear scaling: filter and aggregate over ${sizes.join(' / ')} rows (1×, 4×, 16×), pushdown and client\n`);
  const aggReq: AggregateRequest = { schema: SAMPLE_SCHEMA, column: 'amount', groupBy: 'category' };
  type Series = { name: string; call: (rows: number) => Promise<void> };
  const series: Series[] = [];
  for (const mode of ['pushdown', 'client'] as const) {
    series.push({
      name: `filter ${mode}`,
      call: async (rows) => {
        const out = await ctx.copr.run<FilterRequest, FilterResult>({ plugin: 'filter', request: ctx.filterRequest, start: syntheticKey(0), end: syntheticKey(rows), mode, concurrency: 1 });
        if (out.totals.rowsScanned !== rows || out.result.count !== ctx.matchesInFirst(rows)) throw new Error(`filter ${mode} over ${rows} rows scanned ${out.totals.rowsScanned} and counted ${out.result.count}`);
      },
    });
    series.push({
      name: `aggregate ${mode}`,
      call: async (rows) => {
        const out = await ctx.copr.run<AggregateRequest, GroupResult[]>({ plugin: 'aggregate', request: aggReq, start: syntheticKey(0), end: syntheticKey(rows), mode, concurrency: 1 });
        const counted = out.result.reduce((n, g) => n + g.count, 0);
        if (out.totals.rowsScanned !== rows || counted !== rows) throw new Error(`aggregate ${mode} over ${rows} rows scanned ${out.totals.rowsScanned} and grouped ${counted}`);
      },
    });
  }
  // At least 5 calls per point: the 1× calls take milliseconds, where other processes' noise is largest.
  const reps = Math.max(5, ctx.reps);
  for (const s of series) {
    await s.call(sizes[sizes.length - 1]!); // warm-up at the largest size
    const ms: number[][] = sizes.map(() => []);
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < sizes.length; i++) {
        const t0 = performance.now();
        await s.call(sizes[i]!);
        ms[i]!.push(performance.now() - t0);
      }
    }
    const med = ms.map((xs) => ctx.median(xs));
    const fit = linearFit(sizes, med.map((t) => t * 1000));
    ctx.add({
      group: 'scaling',
      measurement: `${s.name}: time vs rows, fitted slope ${fit.slope.toFixed(3)} µs/row (R² shown)`,
      unit: 'R²',
      copbench: fit.r2,
      baseline: null,
      baselineName: '—',
      ratio: null,
      goal: { on: 'value', op: '>=', target: R2_GOAL, label: `R² ≥ ${R2_GOAL}` },
      copbenchSamples: med,
      note: `median ms at ${sizes.join('/')} rows: ${med.map((t) => t.toFixed(1)).join(' / ')}; intercept ${(fit.intercept / 1000).toFixed(2)} ms; per-row at 16× vs 1× ${((med[2]! / sizes[2]!) / (med[0]! / sizes[0]!)).toFixed(2)}`,
    });
  }
}
