/**
 * The report side of the query family: the typed view of its summary.json, its tables, charts
 * and verdict.
 */
import { formatNumber } from '../../driver/results/table';
import type { RepetitionPolicy } from '../../driver/metrics/sequential';
import { adaptiveVsBestText, halfWidthText, predictedSpeedupText, speedupText, stopText, winnerText } from '../../driver/results/precision-text';
import type { ChecksumVerdict, ModeComparison, QueryPointSummary } from '../../driver/summarize';
import type { CostModelReport } from '../../driver/cost-model/calibrate';
import { checksumVerdict, formatBytes, linkLabelIn, meanWithCi, reportTable, type ReportTable } from '../../../reports/tables';
import { predictedLatencyMs, queryCharts } from '../../../reports/specs/query-charts';
import { queryCompare } from '../../../reports/specs/query-compare';
import type { SeriesOfRun } from '../../../reports/run-model';
import type { FamilyReport, ReportContext } from '../family';
import { seriesOfSummary } from '../ycsb';
import { isObject } from '../../../engine/util/is-object';

/** The summary of a query workload (any plugin; filter, aggregate, noop). */
export interface QueryView {
  points: QueryPointSummary[];
  comparisons: ModeComparison[];
  verdict: ChecksumVerdict;
  /** Per-second series per link (empty for runs made before the driver recorded them). */
  series: SeriesOfRun[];
  /** The cost model's report (null for older runs). */
  costModel: CostModelReport | null;
  /** How points repeated (null for runs before sequential repetitions). */
  repetitions: RepetitionPolicy | null;
}

/** True when a report view is a query view (for query-only helpers such as the crossover tables). */
export function isQueryView(view: unknown): view is QueryView {
  return isObject(view) && Array.isArray(view.points) && Array.isArray(view.comparisons);
}

function queryTables(view: QueryView, ctx: ReportContext): ReportTable[] {
  const parameter = view.points[0]?.parameter || 'point';
  const hasPrediction = view.points.some((p) => predictedLatencyMs(p) !== null);
  const header: Array<[string, boolean]> = [
    ['link', false],
    [parameter, true],
    ['mode', false],
    ['n', true],
    ['latency ms (mean ± 95% CI)', true],
    ['± % of mean', true],
    ['stopped at', false],
    ['p50 ms', true],
    ['p99 ms', true],
    ...(hasPrediction ? ([['predicted ms', true]] as Array<[string, boolean]>) : []),
    ['wire in', true],
    ['wire out', true],
    ['client CPU ms', true],
    ['nodes CPU ms', true],
    ['rows scanned', true],
    ['rows returned', true],
    ['checksum', false],
  ];
  const rows = view.points.map((p) => {
    const predicted = predictedLatencyMs(p);
    return [
      linkLabelIn(ctx.links, p.link),
      p.point || '-',
      p.mode,
      String(p.n),
      meanWithCi(p.latencyMs, 2),
      halfWidthText(p.latencyHalfWidthFraction),
      stopText(p.stoppedBy) || (p.stoppedBy === 'precision' ? 'precision' : '-'),
      formatNumber(p.latencyMs.p50, 2),
      formatNumber(p.latencyMs.p99, 2),
      ...(hasPrediction ? [predicted === null ? '-' : formatNumber(predicted, 2)] : []),
      formatBytes(p.clientWireInBytes.mean),
      formatBytes(p.clientWireOutBytes.mean),
      meanWithCi(p.clientCpuMs, 1),
      meanWithCi(p.nodesCpuMs, 1),
      formatNumber(p.rowsScanned),
      formatNumber(p.rowsReturned),
      p.checksum,
    ];
  });
  const showVsBest = view.comparisons.some((c) => c.adaptiveVsBest);
  const showPredicted = view.comparisons.some((c) => c.predictedSpeedup);
  const comparisons = view.comparisons.map((c) => {
    const push = c.speedups?.pushdown;
    const vsBest = c.adaptiveVsBest;
    return [
      linkLabelIn(ctx.links, c.link),
      c.point || '-',
      push ? speedupText(push) : c.speedup === null ? '-' : `${c.speedup.toFixed(2)}×`,
      push ? winnerText(push, 'pushdown', 'client') : '-',
      ...(showVsBest ? [vsBest ? adaptiveVsBestText(vsBest) : '-'] : []),
      ...(showPredicted ? [c.predictedSpeedup ? predictedSpeedupText(c.predictedSpeedup, push?.ratio) : '-'] : []),
      c.wireBytesRatio === null ? '-' : `${formatNumber(c.wireBytesRatio)}×`,
      c.checksumsAgree ? 'yes' : 'NO',
    ];
  });
  return [
    reportTable('Per point and mode', header, rows, `Means over the repetitions with the half-width of their 95% confidence interval (Student t), also as a share of the mean; ${policyText(view.repetitions)}; p50/p99 over all repetitions; wire bytes as seen by the client's sockets.`),
    reportTable(
      'Pushdown vs client',
      [
        ['link', false],
        [parameter, true],
        ['speedup (client ms / pushdown ms, 95% CI)', true],
        ['verdict', false],
        ...(showVsBest ? ([['adaptive: faster fixed mode ms / adaptive ms (95% CI)', true]] as Array<[string, boolean]>) : []),
        ...(showPredicted ? ([["cost model's speedup (its error)", true]] as Array<[string, boolean]>) : []),
        ['wire bytes (client / pushdown)', true],
        ['answers agree', false],
      ],
      comparisons,
      `Speedup > 1: pushdown answered faster. The CI is Fieller's, over the repetitions as pairs (each repetition runs every mode once); a CI that contains 1 is no measurable difference.${showPredicted ? " The cost model's speedup is its client prediction over its pushdown prediction: what adaptive's choice rests on." : ''}`,
    ),
    ...coarserTable(view),
  ];
}

/** How the points repeated, in words. */
function policyText(policy: RepetitionPolicy | null): string {
  if (!policy) return 'a fixed number of repetitions per point';
  return `each point and link repeated at least ${policy.minRepetitions} times, then until that share was at most ${(policy.precision * 100).toFixed(1)}% or it stopped at the cap named (maxRepetitions ${policy.maxRepetitions}, maxSeconds ${policy.maxSeconds})`;
}

/** The plugin's missing cost hints, when it left some out: the predictions above are coarser. */
function coarserTable(view: QueryView): ReportTable[] {
  const lines = view.costModel?.coarser ?? [];
  if (lines.length === 0) return [];
  return [reportTable('Cost model: coarser predictions', [['what the plugin did not say, and what calibration did instead', false]], lines.map((l) => [l]), 'Add the hints (cost in definePlugin, see CostHints in engine/plugin-api.ts) for the adaptive mode to decide on firmer predictions.')];
}


export const queryReport: FamilyReport<QueryView> = {
  view(s) {
    const { points, comparisons, verdict } = s;
    if (!Array.isArray(points) || !points.every((p) => isObject(p) && typeof p.mode === 'string' && typeof p.link === 'string' && isObject(p.latencyMs))) throw new Error('points must be a list of per-point summaries with link, mode and latencyMs');
    if (!Array.isArray(comparisons)) throw new Error('comparisons must be a list');
    if (!isObject(verdict) || typeof verdict.agree !== 'boolean') throw new Error('verdict.agree must be true or false');
    const costModel = isObject(s.costModel) ? (s.costModel as unknown as CostModelReport) : null;
    const repetitions = isObject(s.repetitions) ? (s.repetitions as unknown as RepetitionPolicy) : null;
    return { points: points as unknown as QueryPointSummary[], comparisons: comparisons as ModeComparison[], verdict: verdict as unknown as ChecksumVerdict, series: seriesOfSummary(s), costModel, repetitions };
  },
  recognizes: (s) => 'points' in s,
  linkNames: (view) => view.points.map((p) => p.link),
  charts: (view, ctx) => queryCharts(view, ctx),
  tables: queryTables,
  verdict: (view) => checksumVerdict(view.verdict, 'Checksums agree: every mode returned the same answer at every point, so the comparison is valid.'),
  compare: queryCompare,
};
