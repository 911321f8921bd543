/**
 * The notebooks' entry point: everything they call, from the same modules the report uses, so a
 * notebook shows exactly what report.html shows. The notebooks load this file at run time through
 * the project's swc require hook (see notebooks/README.md).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { LATEST_NAME } from '../workloads/driver/results/writer';
import { loadRun, type LoadedRun } from './run-model';

export { chartsForRun } from './charts';
export { costModelAgreement, crossovers, crossoverTable, speedupRows, speedupTable } from './crossover';
export { tableHtml, verdictHtml } from './html';
export { modeColor, MODE_COLORS, MODE_ORDER } from './modes';
export { renderSvg, svgToPng } from './render';
export { loadRun, type LoadedRun } from './run-model';
export { tablesForRun, verdictOf } from './tables';
export { isQueryView, type QueryView } from '../workloads/families/query/report';
export { renderCharts } from './write';

/** The results folder: $COPBENCH_RESULTS when set (CI points it at a fresh run), else <repo>/results. */
export function resultsDir(): string {
  return path.resolve(process.env.COPBENCH_RESULTS || path.join(__dirname, '..', 'results'));
}

/** The latest run of every workload under a results folder (workloads without a `latest` are skipped). */
export function latestRuns(dir: string = resultsDir()): LoadedRun[] {
  if (!existsSync(dir)) throw new Error(`${dir} does not exist: run a workload first (npm run workload filter -- --size ci), or set COPBENCH_RESULTS`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, LATEST_NAME)))
    .map((e) => e.name)
    .sort()
    .map((workload) => loadRun(path.join(dir, workload, LATEST_NAME)));
}

/** The latest run of one workload, e.g. latestRun('filter'). */
export function latestRun(workload: string, dir: string = resultsDir()): LoadedRun {
  return loadRun(path.join(dir, workload, LATEST_NAME));
}
