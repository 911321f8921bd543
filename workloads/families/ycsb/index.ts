/**
 * The ycsb family: YCSB core workloads (point reads, updates, inserts with zipfian keys) through
 * the cluster client, per link profile; throughput, latency percentiles and CPU per 1000 ops.
 */
import { formatNumber } from '../../driver/results/table';
import { summarizeYcsb, type YcsbSummary } from '../../driver/summarize';
import { printYcsbSummary } from '../../driver/print-summary';
import { meanWithCi, linkLabelIn, reportTable, type ReportTable } from '../../../reports/tables';
import { perSecondCharts } from '../../../reports/specs/per-second-charts';
import { ycsbCompare } from '../../../reports/specs/ycsb-compare';
import type { SeriesOfRun } from '../../../reports/run-model';
import { SpecError } from '../../spec-checks';
import { defineFamily, type ReportContext } from '../family';
import { runYcsb } from './runner';
import { YCSB_SECTIONS } from './section';
import { isObject } from '../../../engine/util/is-object';

/** The report's view of a ycsb summary. */
export interface YcsbView {
  summaries: YcsbSummary[];
  series: SeriesOfRun[];
}

/** A summary's `series` field, checked (absent: none). */
export function seriesOfSummary(s: Record<string, unknown>): SeriesOfRun[] {
  const series = s.series ?? [];
  if (!Array.isArray(series) || !series.every((x) => isObject(x) && typeof x.link === 'string' && Array.isArray(x.points))) throw new Error('series must be a list of { link, repetition, points }');
  return series as SeriesOfRun[];
}

function ycsbTables(view: YcsbView, ctx: ReportContext): ReportTable[] {
  const rows = view.summaries.map((s) => [
    linkLabelIn(ctx.links, s.link),
    String(s.n),
    meanWithCi(s.opsPerSec, 0),
    meanWithCi(s.latencyMs.p50, 2),
    meanWithCi(s.latencyMs.p95, 2),
    meanWithCi(s.latencyMs.p99, 2),
    formatNumber(s.latencyMs.max, 2),
    formatNumber(s.errors),
    meanWithCi(s.clientCpuMsPerKop, 1),
    meanWithCi(s.nodesCpuMsPerKop, 1),
  ]);
  return [
    reportTable(
      'Per link',
      [
        ['link', false],
        ['n', true],
        ['ops/s (mean ± 95% CI)', true],
        ['p50 ms', true],
        ['p95 ms', true],
        ['p99 ms', true],
        ['max ms', true],
        ['errors', true],
        ['client CPU ms per 1000 ops', true],
        ['nodes CPU ms per 1000 ops', true],
      ],
      rows,
      'Percentiles are per repetition, then averaged with their 95% CI.',
    ),
  ];
}


export const ycsbFamily = defineFamily<YcsbView>({
  name: 'ycsb',
  kinds: ['ycsb'],
  sections: YCSB_SECTIONS,
  checkSpec(spec) {
    if (!spec.ycsb) throw new SpecError('ycsb: a ycsb workload needs the ycsb section');
    if (spec.modes.some((m) => m !== 'client')) throw new SpecError('modes: YCSB workloads are point operations through the client; use ["client"]');
  },
  prepare: async () => undefined,
  plannedWork: (spec) => ({ label: 'measure', total: (spec.warmup + spec.repetitions) * spec.links.length * spec.ycsb!.operations }),
  async run(spec, backend, { writer, log, load, tick, publishSummary }) {
    const samples = await runYcsb(spec, backend, {
      log,
      onOps: tick,
      onSample: (s) => writer.appendSample({ link: s.link, repetition: s.repetition, operations: s.operations, errors: s.errors, durationMs: s.durationMs, opsPerSec: s.opsPerSec, p50Ms: s.latency.p50Ms, p95Ms: s.latency.p95Ms, p99Ms: s.latency.p99Ms, maxMs: s.latency.maxMs, readP99Ms: s.perOp.read.p99Ms, updateP99Ms: s.perOp.update.p99Ms, clientWireInBytes: s.clientWireInBytes, clientWireOutBytes: s.clientWireOutBytes, clientCpuUs: s.clientCpuUs, nodesCpuUs: s.nodesCpuUs }),
    });
    const summary = summarizeYcsb(samples);
    publishSummary({ load, ycsb: summary, series: samples.map((s) => ({ link: s.link, repetition: s.repetition, points: s.series })) }, () => printYcsbSummary(summary));
    return { failure: null };
  },
  report: {
    view(s) {
      if (!Array.isArray(s.ycsb) || !s.ycsb.every((y) => isObject(y) && typeof y.link === 'string' && isObject(y.opsPerSec))) throw new Error('ycsb must be a list of per-link summaries');
      return { summaries: s.ycsb as unknown as YcsbSummary[], series: seriesOfSummary(s) };
    },
    recognizes: (s) => 'ycsb' in s,
    linkNames: (view) => view.summaries.map((y) => y.link),
    charts: (view, ctx) => perSecondCharts(view.series, ctx, 'operations'),
    tables: ycsbTables,
    verdict: () => ({ state: 'none', text: 'YCSB compares no modes: there is no answer checksum to agree on.', mismatches: [] }),
    compare: ycsbCompare,
  },
});
