/** The charts of a run, chosen by its kind. */
import type { LoadedRun } from './run-model';
import type { ChartSpec } from './specs/common';
import { mlCharts } from './specs/ml-charts';
import { queryCharts } from './specs/query-charts';
import { ycsbCharts } from './specs/per-second-charts';

/** Every chart that applies to this run (none for an incomplete run), in report order. */
export function chartsForRun(run: LoadedRun): ChartSpec[] {
  const ctx = { workload: run.data.workload, links: run.links };
  switch (run.view.kind) {
    case 'query':
      return queryCharts(run.view, ctx);
    case 'ycsb':
      return ycsbCharts(run.view, ctx);
    case 'ml-train':
      return mlCharts(run.view, { ...ctx, samples: run.data.samples });
    case 'incomplete':
      return [];
  }
}
