/**
 * Per-second charts: throughput and p99 latency in each second of the measured phase, a colour per
 * link (these series mix modes, so link colours are kept apart from the mode palette). YCSB records
 * one series per repetition; query workloads one per link spanning all their calls in run order.
 */
import type { LinkInfo } from '../links';
import type { SeriesOfRun } from '../run-model';
import type { PerSecondPoint } from '../../workloads/driver/metrics/timeseries';
import { assembleSpec, chartTitle, PANEL, SINGLE_WIDTH, spansDecades, yAxisTitle, type ChartSpec } from './common';

/** What the per-second charts need besides the series. */
export interface PerSecondContext {
  workload: string;
  links: LinkInfo[];
}

/** How a series is worded: YCSB counts operations per repetition, query workloads calls over the whole run. */
interface Wording {
  unit: 'operations' | 'calls';
  lines: string;
}

// Link colours are not mode colours: greys, a teal and a violet keep them apart from the mode palette.
const LINK_COLORS = ['#1b9e77', '#555555', '#7570b3', '#a6761d', '#e7298a'];

function seriesRows(series: SeriesOfRun[], ctx: PerSecondContext): Array<{ link: string; repetition: number } & PerSecondPoint> {
  const label = (name: string): string => ctx.links.find((l) => l.name === name)?.label ?? name;
  return series.flatMap((s) => s.points.map((p) => ({ link: label(s.link), repetition: s.repetition, tSec: p.tSec, opsPerSec: p.opsPerSec, p99Ms: p.p99Ms })));
}

function perSecond(series: SeriesOfRun[], ctx: PerSecondContext, metric: 'opsPerSec' | 'p99Ms', words: Wording): ChartSpec | null {
  const rows = seriesRows(series, ctx).filter((r) => Number.isFinite(r[metric]));
  if (rows.length === 0) return null;
  const log = metric === 'p99Ms' && spansDecades(rows.map((r) => r.p99Ms));
  const linkLabels = ctx.links.map((l) => l.label).filter((l) => rows.some((r) => r.link === l));
  const inner = {
    width: SINGLE_WIDTH,
    height: PANEL.height,
    mark: { type: 'line', point: { size: 30 }, strokeWidth: 2, opacity: 0.85 },
    encoding: {
      x: { field: 'tSec', type: 'quantitative', title: 'time since the measured phase started (s)' },
      y: metric === 'opsPerSec' ? { field: 'opsPerSec', type: 'quantitative', title: `throughput (${words.unit}/s)`, scale: { zero: true } } : { field: 'p99Ms', type: 'quantitative', title: yAxisTitle('p99 latency (ms)', log), scale: log ? { type: 'log' } : { zero: true } },
      color: { field: 'link', type: 'nominal', title: 'link', sort: linkLabels, scale: { domain: linkLabels, range: linkLabels.map((_, i) => LINK_COLORS[i % LINK_COLORS.length]!) } },
      detail: { field: 'repetition', type: 'nominal' },
      tooltip: [{ field: 'link' }, { field: 'repetition' }, { field: 'tSec', title: 's' }, { field: 'opsPerSec', title: `${words.unit}/s`, format: ',.0f' }, { field: 'p99Ms', title: 'p99 ms', format: '.2f' }],
    },
  };
  const title =
    metric === 'opsPerSec'
      ? chartTitle(`${ctx.workload}: throughput per second`, `${words.unit[0]!.toUpperCase()}${words.unit.slice(1)} completed in each second of the measured phase; ${words.lines}.`)
      : chartTitle(`${ctx.workload}: p99 latency per second`, `99th percentile latency of the ${words.unit} of each second; ${words.lines}.`);
  const spec = assembleSpec(title, rows, inner);
  return metric === 'opsPerSec'
    ? { id: 'throughput-per-second', title: 'Throughput per second', caption: 'A steady line means a steady system; dips show stalls (e.g. LMDB commits, a split, or a slow sweep point).', spec }
    : { id: 'p99-per-second', title: 'p99 latency per second', caption: 'Tail latency over the run; spikes line up with throughput dips.', spec };
}

/** Throughput and p99 per second of a run's series (none when it recorded none). */
export function perSecondCharts(series: SeriesOfRun[], ctx: PerSecondContext, unit: Wording['unit']): ChartSpec[] {
  const words: Wording = unit === 'operations' ? { unit, lines: 'one line per repetition' } : { unit, lines: 'one line per link, over all sweep points and modes in run order' };
  return [perSecond(series, ctx, 'opsPerSec', words), perSecond(series, ctx, 'p99Ms', words)].filter((c): c is ChartSpec => c !== null);
}
