/** Result rows as text: rates and ratios for the console, and the results and goals tables (text and Markdown). */
import { markdownTable, textTable } from '../workloads/driver/results/table';
import { goalLabel, goalStatus, type ResultRow } from './goals';

export function fmtRate(v: number | null, unit: string): string {
  if (v === null) return '—';
  if (unit === 'R²') return `${v.toFixed(4)} ${unit}`;
  const abs = Math.abs(v);
  const s = abs >= 1e9 ? `${(v / 1e9).toFixed(2)}G` : abs >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : abs >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : abs >= 10 || v === 0 ? v.toFixed(1) : v.toPrecision(3);
  return `${s} ${unit}`;
}

export function fmtRatio(r: number | null): string {
  if (r === null) return '—';
  return r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toFixed(3);
}

export function table(rows: ResultRow[]): { text: string; markdown: string } {
  const header = ['measurement', 'copbench', 'baseline', 'ratio', 'goal', 'met', 'baseline is'];
  const body = rows.map((r) => [r.measurement, fmtRate(r.copbench, r.unit), fmtRate(r.baseline, r.unit), fmtRatio(r.ratio), goalLabel(r.goal), r.goal ? goalStatus(r) : '', r.baselineName + (r.note ? ` (${r.note})` : '')]);
  return render(header, body, [false, true, true, true, false, false, false]);
}

/** Only the rows with a goal: what the suite promises and whether this run kept it. */
export function goalsTable(rows: ResultRow[]): { text: string; markdown: string } {
  const header = ['goal', 'measured', 'target', 'met'];
  const body = rows
    .filter((r) => r.goal)
    // Three decimals, so a ratio just under its target does not print as the target.
    .map((r) => [r.measurement, r.goal!.on === 'ratio' ? (r.ratio === null ? '—' : `${r.ratio.toFixed(3)}×`) : fmtRate(r.copbench, r.unit), goalLabel(r.goal), goalStatus(r)]);
  return render(header, body, [false, true, false, false]);
}

function render(header: string[], body: string[][], right: boolean[]): { text: string; markdown: string } {
  return { text: textTable(header, body, right), markdown: markdownTable(header, body, right) };
}
