/**
 * The summary tables of a report, as plain cells (strings), so the HTML report and the notebooks
 * show the same numbers the same way.
 */
import { formatNumber } from '../workloads/driver/results/table';
import { failureText } from '../workloads/driver/results/failure';
import type { MeanCI } from '../workloads/driver/summarize';
import type { LinkInfo } from './links';
import { reportContext, type LoadedRun } from './run-model';

/** A table: a header row and rows of cell text; `numeric[i]` right-aligns column i. */
export interface ReportTable {
  title: string;
  note?: string;
  columns: string[];
  numeric: boolean[];
  rows: string[][];
}

/** `12.3 ± 0.4`: the mean and its 95% CI half-width (the mean alone when the CI is undefined, n = 1). */
export function meanWithCi(ci: MeanCI, decimals?: number): string {
  const half = (ci.ciHigh - ci.ciLow) / 2;
  const mean = formatNumber(ci.mean, decimals);
  return Number.isFinite(half) ? `${mean} ± ${formatNumber(half, decimals)}` : mean;
}

/** Bytes with a binary unit: 512 B, 1.5 KiB, 48.8 MiB, 1.20 GiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const units: Array<[number, string, number]> = [
    [2 ** 30, 'GiB', 2],
    [2 ** 20, 'MiB', 1],
    [2 ** 10, 'KiB', 1],
  ];
  for (const [scale, unit, digits] of units) if (Math.abs(n) >= scale) return `${(n / scale).toFixed(digits)} ${unit}`;
  return `${Math.round(n)} B`;
}

/** A table from a header of (column, numeric) pairs and rows of cell text. */
export function reportTable(title: string, header: Array<[string, boolean]>, rows: string[][], note?: string): ReportTable {
  return { title, ...(note ? { note } : {}), columns: header.map(([c]) => c), numeric: header.map(([, n]) => n), rows };
}

/** A link's label in a run (its name when the run does not list it). */
export const linkLabelIn = (links: readonly LinkInfo[], name: string): string => links.find((l) => l.name === name)?.label ?? name;

/** The load/memory facts of a run (rows loaded, load time, peak RSS). */
function runFactsTable(run: LoadedRun): ReportTable | null {
  const s = run.data.summary;
  if (!s) return null;
  const rows: string[][] = [];
  const load = s.load as { rows?: number; loadMs?: number; skipped?: boolean; fingerprint?: string } | undefined;
  if (load) {
    rows.push(['dataset rows', formatNumber(load.rows ?? NaN)]);
    rows.push(['load', load.skipped ? `skipped (fingerprint ${load.fingerprint ?? '?'} matched)` : `${formatNumber((load.loadMs ?? NaN) / 1000, 1)} s`]);
  }
  const rss = s.peakRss as { clientBytes?: number; nodesBytes?: Record<string, number> } | undefined;
  if (rss?.clientBytes !== undefined) rows.push(['peak RSS, client', formatBytes(rss.clientBytes)]);
  for (const [node, bytes] of Object.entries(rss?.nodesBytes ?? {})) rows.push([`peak RSS, ${node}`, formatBytes(bytes)]);
  return rows.length ? reportTable('Run', [['what', false], ['value', true]], rows) : null;
}

/** Every table of a run's report, in report order. */
export function tablesForRun(run: LoadedRun): ReportTable[] {
  const facts = runFactsTable(run);
  const byFamily = run.family && run.view !== null ? run.family.report.tables(run.view, reportContext(run)) : [];
  return facts ? [...byFamily, facts] : byFamily;
}

/** The checksum verdict of a run: whether every mode gave the same answer. */
export interface Verdict {
  /** failed: the run stopped early (failure.json); its text says why and what to do. */
  state: 'agree' | 'differ' | 'none' | 'failed';
  text: string;
  mismatches: string[];
}

/** A verdict in one word, as run lists (the index, a comparison's table) show it. */
export const VERDICT_WORDS: Record<Verdict['state'], string> = { agree: 'agree', differ: 'DIFFER', none: 'n/a', failed: 'FAILED' };

/** The run's verdict, worded for a reader. */
export function verdictOf(run: LoadedRun): Verdict {
  // A failure outranks a summary: one written before the failure covers only part of the run.
  if (run.data.failure) return { state: 'failed', text: failureText(run.data.failure), mismatches: [] };
  if (!run.family || run.view === null) return { state: 'none', text: 'No summary: the run did not finish (see the manifest and the console output).', mismatches: [] };
  return run.family.report.verdict(run.view);
}

/** The wording of a checksum verdict shared by families that compare modes. */
export function checksumVerdict(verdict: { agree: boolean; mismatches: string[] }, agreeText: string): Verdict {
  if (verdict.agree) return { state: 'agree', text: agreeText, mismatches: [] };
  return { state: 'differ', text: 'MODES DISAGREE: the answers differ between modes, so the timings compare different work and the comparison is invalid.', mismatches: verdict.mismatches };
}
