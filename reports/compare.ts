/**
 * Several runs on the same charts (`npm run report -- --compare <run-dir> <run-dir> …`): copbench
 * against another backend, a run before a change against one after, user-space shaped links
 * against kernel-shaped ones. The runs must be of one workload family; that family's
 * FamilyReport.compare draws them, each run labelled by what tells it apart (compare-labels.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { RunReadError } from '../workloads/driver/results/reader';
import type { FamilyComparison, WorkloadFamily } from '../workloads/families/family';
import { runLabels, type RunLabels } from './compare-labels';
import { compareHtml } from './html';
import { loadRun, reportContext, type LoadedRun } from './run-model';
import { renderChartSpecs, REPORT_FILE, writeAtomic, writeCharts, type WrittenChart } from './write';

/** The page a comparison folder holds. */
export const COMPARE_FILE = 'compare.html';
/** Where comparisons go under a results folder by default: `<results>/compare/<name>/`. */
export const COMPARE_DIR = 'compare';

/** A comparison the user asked for that cannot be made (too few runs, mixed families, …): a usage error. */
export class CompareError extends Error {}

/** Runs loaded, labelled and drawn together. */
export interface Comparison extends FamilyComparison {
  runs: LoadedRun[];
  labels: RunLabels;
  family: WorkloadFamily;
  /** The runs' workload names, e.g. "filter" or "filter, aggregate". */
  workload: string;
}

function load(dir: string): LoadedRun {
  try {
    return loadRun(dir);
  } catch (err) {
    if (err instanceof RunReadError && err.code === 'NOT_A_RUN') throw new CompareError(err.message);
    throw err;
  }
}

/**
 * Loads the runs and draws them with their family's compare hook. Throws CompareError for fewer
 * than 2 runs, one run given twice, a run without summary, runs of different families, or a family
 * that has no comparison.
 */
export function compareRuns(dirs: readonly string[]): Comparison {
  if (dirs.length < 2) throw new CompareError(`--compare needs at least 2 run folders, got ${dirs.length}${dirs.length ? ` (${dirs.join(' ')})` : ''}`);
  const runs = dirs.map(load);
  // `latest` and the folder it names are one run: compare real paths.
  const real = runs.map((r) => realpathSync(r.data.dir));
  const twice = real.find((d, i) => real.indexOf(d) !== i);
  if (twice) throw new CompareError(`--compare: ${twice} is given twice; compare different runs`);
  const unfinished = runs.find((r) => r.view === null || r.family === null);
  if (unfinished) throw new CompareError(`--compare: ${unfinished.data.dir} has no summary.json (the run did not finish), so there is nothing to draw from it`);
  const families = [...new Set(runs.map((r) => r.family!.name))];
  if (families.length > 1) throw new CompareError(`--compare draws runs of one workload family on the same charts; these are of ${families.length}: ${runs.map((r) => `${r.data.dir} (${r.family!.name})`).join(', ')}`);
  const family = runs[0]!.family!;
  if (!family.report.compare) throw new CompareError(`--compare: the ${family.name} family cannot be compared yet (its report has no compare hook)`);
  const labels = runLabels(runs.map((r) => ({ runId: r.data.runId, manifest: r.data.manifest })));
  const workload = [...new Set(runs.map((r) => r.data.workload))].join(', ');
  const drawn = family.report.compare(
    runs.map((r, i) => ({ label: labels.labels[i]!, view: r.view, ctx: reportContext(r) })),
    { workload },
  );
  return { ...drawn, runs, labels, family, workload };
}

/** The default folder name of a comparison: the workload and a hash of the runs, so comparing the same runs again replaces it. */
export function comparisonName(comparison: Pick<Comparison, 'runs' | 'workload'>): string {
  const hash = createHash('sha256').update(comparison.runs.map((r) => realpathSync(r.data.dir)).join('\n')).digest('hex').slice(0, 10);
  return `${comparison.workload.replace(/[^A-Za-z0-9._-]+/g, '-')}-${hash}`;
}

/** Options of writeComparison. */
export interface ComparisonOptions {
  /** The comparison folder; default `<resultsDir>/compare/<workload>-<hash of the runs>`. */
  outDir?: string;
  /** The results folder the default folder goes under. */
  resultsDir: string;
  /** Also rasterise each chart to PNG (default true). */
  png?: boolean;
}

/** What writeComparison made. */
export interface ComparisonReport {
  comparison: Comparison;
  dir: string;
  file: string;
  charts: WrittenChart[];
}

/** Writes `<dir>/compare.html` and `<dir>/charts/<id>.{svg,png,vl.json}` for the runs in `dirs`. */
export async function writeComparison(dirs: readonly string[], options: ComparisonOptions): Promise<ComparisonReport> {
  const comparison = compareRuns(dirs);
  const dir = path.resolve(options.outDir ?? path.join(options.resultsDir, COMPARE_DIR, comparisonName(comparison)));
  // A run folder is not a comparison folder: its charts/ would be replaced by the comparison's.
  if (existsSync(path.join(dir, 'manifest.json'))) throw new CompareError(`--compare-out ${dir} is a run folder; choose another folder`);
  mkdirSync(dir, { recursive: true });
  const { written, page } = writeCharts(dir, await renderChartSpecs(comparison.charts), options.png !== false);
  const reportHrefs = comparison.runs.map((r) => (existsSync(path.join(r.data.dir, REPORT_FILE)) ? path.relative(dir, path.join(r.data.dir, REPORT_FILE)) : null));
  const file = path.join(dir, COMPARE_FILE);
  writeAtomic(file, compareHtml(comparison, page, reportHrefs));
  return { comparison, dir, file, charts: written };
}
