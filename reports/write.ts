/**
 * Writes reports to disk: a run's charts (SVG, PNG, .vl.json) and report.html, and the results
 * index. Everything is made from the run's files alone, so it works long after the cluster is gone.
 */
import { existsSync, mkdirSync, readdirSync, readlinkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listRuns, RunReadError } from '../workloads/driver/results/reader';
import { LATEST_NAME } from '../workloads/driver/results/writer';
import { chartsForRun } from './charts';
import { indexHtml, reportHtml, type IndexEntry, type PageChart } from './html';
import { renderSvg, svgToPng } from './render';
import { loadRun, type LoadedRun } from './run-model';
import { VERDICT_WORDS, verdictOf } from './tables';
import type { ChartSpec } from './specs/common';

export const REPORT_FILE = 'report.html';
export const CHARTS_DIR = 'charts';
export const INDEX_FILE = 'index.html';

/** Writes a file whole or not at all (a reader never sees half a report). */
export function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** One chart as written. */
export interface WrittenChart {
  id: string;
  svgFile: string;
  pngFile: string | null;
  specFile: string;
  /** What vega-lite/vega warned about while rendering (empty for a clean chart). */
  warnings: string[];
}

/** What writeRunReport made. */
export interface RunReport {
  run: LoadedRun;
  reportFile: string;
  charts: WrittenChart[];
}

/** Options of writeRunReport. */
export interface RunReportOptions {
  /** Also rasterise each chart to PNG (default true). */
  png?: boolean;
}

/** Renders every chart of a loaded run to SVG (and its page entry). Used by the report and the notebooks. */
export async function renderCharts(run: LoadedRun): Promise<Array<PageChart & { warnings: string[] }>> {
  return renderChartSpecs(chartsForRun(run));
}

/** Renders chart specs to SVG, one after another (vega views are not free; a report has a handful). */
export async function renderChartSpecs(charts: readonly ChartSpec[]): Promise<Array<PageChart & { warnings: string[] }>> {
  const out: Array<PageChart & { warnings: string[] }> = [];
  for (const chart of charts) {
    const { svg, warnings } = await renderSvg(chart.spec);
    out.push({ chart, svg, warnings });
  }
  return out;
}

/**
 * Writes `<dir>/charts/<id>.{svg,png,vl.json}` for rendered charts, first removing chart files
 * that no longer apply (e.g. after a report code change) so they do not linger beside the new ones;
 * returns what was written and the page entries (links relative to `dir`).
 */
export function writeCharts(dir: string, rendered: ReadonlyArray<PageChart & { warnings: string[] }>, png: boolean): { written: WrittenChart[]; page: PageChart[] } {
  const chartsDir = path.join(dir, CHARTS_DIR);
  if (existsSync(chartsDir)) {
    for (const name of readdirSync(chartsDir)) if (/\.(svg|png|vl\.json)$/.test(name)) rmSync(path.join(chartsDir, name));
  }
  if (rendered.length) mkdirSync(chartsDir, { recursive: true });
  const written: WrittenChart[] = [];
  const page: PageChart[] = [];
  for (const r of rendered) {
    const base = path.join(chartsDir, r.chart.id);
    writeAtomic(`${base}.svg`, r.svg);
    writeAtomic(`${base}.vl.json`, `${JSON.stringify(r.chart.spec, null, 2)}\n`);
    const pngFile = png ? `${base}.png` : null;
    if (pngFile) writeAtomic(pngFile, svgToPng(r.svg));
    written.push({ id: r.chart.id, svgFile: `${base}.svg`, pngFile, specFile: `${base}.vl.json`, warnings: r.warnings });
    page.push({ chart: r.chart, svg: r.svg, specHref: `${CHARTS_DIR}/${r.chart.id}.vl.json`, ...(pngFile ? { pngHref: `${CHARTS_DIR}/${r.chart.id}.png` } : {}) });
  }
  return { written, page };
}

/**
 * Writes `<run>/charts/<id>.{svg,png,vl.json}` and `<run>/report.html` for a run folder (or a
 * workload's `latest`). Throws RunReadError (NOT_A_RUN, BAD_FILE) for a folder that is not a run.
 */
export async function writeRunReport(dir: string, options: RunReportOptions = {}): Promise<RunReport> {
  const run = loadRun(dir);
  const { written, page } = writeCharts(run.data.dir, await renderCharts(run), options.png !== false);
  const reportFile = path.join(run.data.dir, REPORT_FILE);
  writeAtomic(reportFile, reportHtml(run, page));
  return { run, reportFile, charts: written };
}

/** The run folder a workload's `latest` names (symlink or text file), or null. */
function latestRunId(workloadDir: string): string | null {
  const latest = path.join(workloadDir, LATEST_NAME);
  try {
    const st = statSync(latest, { throwIfNoEntry: false });
    if (!st) return null;
    return path.basename(st.isFile() ? readFileSync(latest, 'utf8').trim() : readlinkSync(latest));
  } catch {
    return null;
  }
}

/** Every run under a results folder as an index row (unreadable runs are listed, with the reason). */
export function indexEntries(resultsDir: string): IndexEntry[] {
  return listRuns(resultsDir).map((r): IndexEntry => {
    const hasReport = existsSync(path.join(r.dir, REPORT_FILE));
    const base = { workload: r.workload, runId: r.runId, reportHref: hasReport ? `${r.workload}/${r.runId}/${REPORT_FILE}` : null, isLatest: latestRunId(path.join(resultsDir, r.workload)) === r.runId };
    try {
      const run = loadRun(r.dir);
      const m = run.data.manifest;
      const v = verdictOf(run);
      const status = v.state !== 'failed' && run.view === null ? 'incomplete' : v.state;
      const statusText = status === 'incomplete' ? 'no summary (run did not finish)' : status === 'failed' ? `${VERDICT_WORDS.failed} while ${run.data.failure!.phase}` : VERDICT_WORDS[status];
      return { ...base, startedAt: String(m.startedAt ?? '-'), kind: run.workloadKind, size: m.size ? String(m.size) : 'default', status, statusText };
    } catch (err) {
      if (!(err instanceof RunReadError)) throw err;
      return { ...base, startedAt: '-', kind: '-', size: '-', status: 'unreadable', statusText: `unreadable: ${err.message}` };
    }
  });
}

/** Writes `<resultsDir>/index.html` listing every run; returns its path. */
export function writeResultsIndex(resultsDir: string): string {
  const file = path.join(resultsDir, INDEX_FILE);
  mkdirSync(resultsDir, { recursive: true });
  writeAtomic(file, indexHtml(indexEntries(resultsDir)));
  return file;
}

/**
 * The driver's end-of-run step: report.html for the run and a fresh results index. Never throws
 * (the run's results are already safe on disk); a failure is logged with how to retry, and the
 * returned value says whether it worked.
 */
export async function reportAfterRun(runDir: string, resultsDir: string, log: (line: string) => void): Promise<boolean> {
  try {
    const report = await writeRunReport(runDir);
    for (const c of report.charts) for (const w of c.warnings) log(`report: chart ${c.id}: ${w}`);
    const index = writeResultsIndex(resultsDir);
    log(`report: ${report.reportFile} (${report.charts.length} charts); index: ${index}`);
    return true;
  } catch (err) {
    log(`report: FAILED to write the report of ${runDir}: ${(err as Error).stack ?? String(err)}\nreport: the results are intact; retry with: npm run report -- ${runDir}`);
    return false;
  }
}
