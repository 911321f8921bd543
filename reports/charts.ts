/** The charts of a run, as its workload family draws them. */
import { reportContext, type LoadedRun } from './run-model';
import type { ChartSpec } from './specs/common';

/** Every chart that applies to this run (none for an incomplete run), in report order. */
export function chartsForRun(run: LoadedRun): ChartSpec[] {
  if (!run.family || run.view === null) return [];
  return run.family.report.charts(run.view, reportContext(run));
}
