/**
 * The bandwidth crossover, read from a query run's measurements: per sweep point and link, which
 * mode won and by how much; per sweep point, between which link bandwidths the winner changes; and,
 * when the summary carries the cost model's report, whether the model picked the measured winner.
 */
import { formatNumber } from '../workloads/driver/results/table';
import type { LinkInfo } from './links';
import type { LoadedRun } from './run-model';
import { isQueryView, type QueryView } from '../workloads/families/query/report';
import type { ReportTable } from './tables';
import { speedupText, winnerText } from '../workloads/driver/results/precision-text';

/** Pushdown against client at one link and sweep point. */
export interface SpeedupRow {
  link: LinkInfo;
  point: string;
  pushdownMs: number;
  clientMs: number;
  /** clientMs / pushdownMs (> 1: pushdown won). */
  speedup: number;
  winner: 'pushdown' | 'client';
}

/** Where the winner changes for one sweep point, along links ordered by bandwidth. */
export interface Crossover {
  point: string;
  /** Winner on the slowest and on the fastest link measured. */
  slowestWinner: 'pushdown' | 'client';
  fastestWinner: 'pushdown' | 'client';
  /** The links on either side of the first change (null when the winner never changes). */
  between: [LinkInfo, LinkInfo] | null;
  /**
   * Bandwidth (bits/s) where speedup = 1 by log-log interpolation between those two links; null
   * when there is no change or one side is unlimited (no number to interpolate to).
   */
  estimatedBitsPerSec: number | null;
}

/** Speedup of pushdown over client at every (link, point) where both were measured, links slowest first. */
export function speedupRows(view: QueryView, links: readonly LinkInfo[]): SpeedupRow[] {
  const rows: SpeedupRow[] = [];
  for (const link of links) {
    const points = [...new Set(view.points.filter((p) => p.link === link.name).map((p) => p.point))];
    for (const point of points) {
      const at = (mode: string) => view.points.find((p) => p.link === link.name && p.point === point && p.mode === mode);
      const push = at('pushdown');
      const client = at('client');
      if (!push || !client || !(push.latencyMs.mean > 0)) continue;
      const speedup = client.latencyMs.mean / push.latencyMs.mean;
      rows.push({ link, point, pushdownMs: push.latencyMs.mean, clientMs: client.latencyMs.mean, speedup, winner: speedup >= 1 ? 'pushdown' : 'client' });
    }
  }
  return rows;
}

/** Per sweep point, where (if anywhere) the winner changes as bandwidth grows. */
export function crossovers(view: QueryView, links: readonly LinkInfo[]): Crossover[] {
  const rows = speedupRows(view, links);
  const points = [...new Set(rows.map((r) => r.point))];
  return points.flatMap((point): Crossover[] => {
    const along = rows.filter((r) => r.point === point); // already slowest link first
    const first = along[0];
    const last = along[along.length - 1];
    if (!first || !last) return [];
    let between: [LinkInfo, LinkInfo] | null = null;
    let estimate: number | null = null;
    for (let i = 1; i < along.length; i++) {
      const a = along[i - 1]!;
      const b = along[i]!;
      if (a.winner === b.winner) continue;
      between = [a.link, b.link];
      const ba = a.link.bandwidthBitsPerSec;
      const bb = b.link.bandwidthBitsPerSec;
      if (ba !== null && bb !== null && ba !== bb) {
        // log(speedup) is close to linear in log(bandwidth) between two links: solve for log speedup = 0.
        const t = Math.log(a.speedup) / (Math.log(a.speedup) - Math.log(b.speedup));
        estimate = Math.exp(Math.log(ba) + t * (Math.log(bb) - Math.log(ba)));
      }
      break;
    }
    return [{ point, slowestWinner: first.winner, fastestWinner: last.winner, between, estimatedBitsPerSec: estimate }];
  });
}

/** The crossover per sweep point as a table. */
export function crossoverTable(view: QueryView, links: readonly LinkInfo[]): ReportTable {
  const parameter = view.points[0]?.parameter || 'point';
  const rows = crossovers(view, links).map((c) => [
    c.point || '-',
    c.slowestWinner,
    c.fastestWinner,
    c.between ? `${c.between[0].label} → ${c.between[1].label}` : 'no change over the links measured',
    c.estimatedBitsPerSec === null ? '-' : `${formatNumber(c.estimatedBitsPerSec / 1e6, 0)} Mbit/s`,
  ]);
  return { title: 'Crossover per sweep point', note: 'Links ordered by bandwidth; the estimate interpolates log speedup against log bandwidth between the two links where the winner changes.', columns: [parameter, 'winner, slowest link', 'winner, fastest link', 'winner changes between', 'estimated crossover'], numeric: [true, false, false, false, true], rows };
}

/** The measured speedups as a table. */
export function speedupTable(view: QueryView, links: readonly LinkInfo[]): ReportTable {
  const parameter = view.points[0]?.parameter || 'point';
  const rows = speedupRows(view, links).map((r) => {
    // The summary's CI (runs before speedup CIs have none: the point estimate's winner alone).
    const ci = view.comparisons.find((c) => c.link === r.link.name && c.point === r.point)?.speedups?.pushdown;
    return [r.link.label, r.point || '-', formatNumber(r.pushdownMs, 1), formatNumber(r.clientMs, 1), ci ? speedupText(ci) : `${r.speedup.toFixed(2)}×`, ci ? winnerText(ci, 'pushdown', 'client') : r.winner];
  });
  return { title: 'Pushdown vs client per link', columns: ['link', parameter, 'pushdown ms', 'client ms', 'speedup (95% CI)', 'winner'], numeric: [false, true, true, true, true, false], rows };
}

/** One (link, point) of the cost model's report as summary.json records it (only the fields used here). */
interface CostModelPoint {
  link: string;
  point: string;
  cheaper: string;
  pushdown: { totalMs: number };
  client: { totalMs: number };
}

/**
 * Whether the cost model's cheaper mode was the measured winner, per (link, point); null when the
 * run's summary has no cost model report (older runs, or kinds without one).
 */
export function costModelAgreement(run: LoadedRun): ReportTable | null {
  if (!isQueryView(run.view)) return null;
  const view = run.view;
  const report = (run.data.summary as { costModel?: { points?: unknown } } | null)?.costModel;
  if (!report || !Array.isArray(report.points)) return null;
  const measured = speedupRows(view, run.links);
  const rows: string[][] = [];
  let right = 0;
  for (const p of report.points as CostModelPoint[]) {
    const m = measured.find((r) => r.link.name === p.link && r.point === p.point);
    if (!m || typeof p.pushdown?.totalMs !== 'number' || typeof p.client?.totalMs !== 'number') continue;
    const ok = p.cheaper === m.winner;
    if (ok) right++;
    rows.push([m.link.label, p.point || '-', formatNumber(p.pushdown.totalMs, 1), formatNumber(m.pushdownMs, 1), formatNumber(p.client.totalMs, 1), formatNumber(m.clientMs, 1), p.cheaper, m.winner, ok ? 'yes' : 'NO']);
  }
  const parameter = view.points[0]?.parameter || 'point';
  return {
    title: `Cost model: predicted vs measured (${right} of ${rows.length} picks right)`,
    columns: ['link', parameter, 'pushdown predicted ms', 'pushdown measured ms', 'client predicted ms', 'client measured ms', 'predicted cheaper', 'measured winner', 'right'],
    numeric: [false, true, true, true, true, true, false, false, false],
    rows,
  };
}
