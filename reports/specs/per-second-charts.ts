/**
 * Charts of YCSB runs: throughput and p99 latency per second over the run, one line per
 * repetition, a colour per link (YCSB has no modes: point operations run in the client).
 */
import type { LinkInfo } from '../links';
import type { YcsbView } from '../run-model';
import { yAxisTitle, CHART_CONFIG, chartTitle, PANEL, SINGLE_WIDTH, spansDecades, VEGA_LITE_SCHEMA, type ChartSpec, type TopLevelSpec } from './common';

/** What the YCSB charts need besides the summary. */
export interface YcsbChartContext {
  workload: string;
  links: LinkInfo[];
}

// Link colours are not mode colours: greys and a teal keep them apart from the mode palette.
const LINK_COLORS = ['#1b9e77', '#555555', '#7570b3', '#a6761d', '#e7298a'];

function seriesRows(view: YcsbView, ctx: YcsbChartContext): Array<{ link: string; repetition: number; tSec: number; opsPerSec: number; p99Ms: number }> {
  const label = (name: string): string => ctx.links.find((l) => l.name === name)?.label ?? name;
  return view.series.flatMap((s) => s.points.map((p) => ({ link: label(s.link), repetition: s.repetition, tSec: p.tSec, opsPerSec: p.opsPerSec, p99Ms: p.p99Ms })));
}

function perSecond(view: YcsbView, ctx: YcsbChartContext, metric: 'opsPerSec' | 'p99Ms'): ChartSpec | null {
  const rows = seriesRows(view, ctx).filter((r) => Number.isFinite(r[metric]));
  if (rows.length === 0) return null;
  const log = metric === 'p99Ms' && spansDecades(rows.map((r) => r.p99Ms));
  const linkLabels = ctx.links.map((l) => l.label).filter((l) => rows.some((r) => r.link === l));
  const spec = {
    $schema: VEGA_LITE_SCHEMA,
    title: chartTitle(
      metric === 'opsPerSec' ? `${ctx.workload}: throughput per second` : `${ctx.workload}: p99 latency per second`,
      metric === 'opsPerSec' ? 'Operations completed in each second of the measured phase; one line per repetition.' : '99th percentile latency of the operations of each second (intended-start timing); one line per repetition.',
    ),
    config: CHART_CONFIG,
    width: SINGLE_WIDTH,
    height: PANEL.height,
    data: { values: rows },
    mark: { type: 'line', point: { size: 30 }, strokeWidth: 2, opacity: 0.85 },
    encoding: {
      x: { field: 'tSec', type: 'quantitative', title: 'time since the measured phase started (s)' },
      y: metric === 'opsPerSec' ? { field: 'opsPerSec', type: 'quantitative', title: 'throughput (operations/s)', scale: { zero: true } } : { field: 'p99Ms', type: 'quantitative', title: yAxisTitle('p99 latency (ms)', log), scale: log ? { type: 'log' } : { zero: true } },
      color: { field: 'link', type: 'nominal', title: 'link', sort: linkLabels, scale: { domain: linkLabels, range: linkLabels.map((_, i) => LINK_COLORS[i % LINK_COLORS.length]!) } },
      detail: { field: 'repetition', type: 'nominal' },
      tooltip: [{ field: 'link' }, { field: 'repetition' }, { field: 'tSec', title: 's' }, { field: 'opsPerSec', title: 'ops/s', format: ',.0f' }, { field: 'p99Ms', title: 'p99 ms', format: '.2f' }],
    },
  } as TopLevelSpec;
  return metric === 'opsPerSec'
    ? { id: 'ycsb-throughput', title: 'Throughput per second', caption: 'A steady line means a steady system; dips show stalls (e.g. LMDB commits or a split).', spec }
    : { id: 'ycsb-p99', title: 'p99 latency per second', caption: 'Tail latency over the run; spikes line up with throughput dips.', spec };
}

/** Every YCSB chart that applies, in report order. */
export function ycsbCharts(view: YcsbView, ctx: YcsbChartContext): ChartSpec[] {
  return [perSecond(view, ctx, 'opsPerSec'), perSecond(view, ctx, 'p99Ms')].filter((c): c is ChartSpec => c !== null);
}
