/**
 * The summary tables of a report, as plain cells (strings), so the HTML report and the notebooks
 * show the same numbers the same way.
 */
import { formatNumber } from '../workloads/driver/results/table';
import type { MeanCI } from '../workloads/driver/summarize';
import type { LoadedRun, MlView, QueryView, YcsbView } from './run-model';
import { predictedLatencyMs } from './specs/query-charts';

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

function table(title: string, header: Array<[string, boolean]>, rows: string[][], note?: string): ReportTable {
  return { title, ...(note ? { note } : {}), columns: header.map(([c]) => c), numeric: header.map(([, n]) => n), rows };
}

const linkLabel = (run: LoadedRun, name: string): string => run.links.find((l) => l.name === name)?.label ?? name;

function queryTables(run: LoadedRun, view: QueryView): ReportTable[] {
  const parameter = view.points[0]?.parameter || 'point';
  const hasPrediction = view.points.some((p) => predictedLatencyMs(p) !== null);
  const header: Array<[string, boolean]> = [
    ['link', false],
    [parameter, true],
    ['mode', false],
    ['n', true],
    ['latency ms (mean ± 95% CI)', true],
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
      linkLabel(run, p.link),
      p.point || '-',
      p.mode,
      String(p.n),
      meanWithCi(p.latencyMs, 2),
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
  const comparisons = view.comparisons.map((c) => [linkLabel(run, c.link), c.point || '-', c.speedup === null ? '-' : `${c.speedup.toFixed(2)}×`, c.wireBytesRatio === null ? '-' : `${formatNumber(c.wireBytesRatio)}×`, c.checksumsAgree ? 'yes' : 'NO']);
  return [
    table('Per point and mode', header, rows, 'Means over the repetitions with the half-width of their 95% confidence interval (Student t); p50/p99 over all repetitions; wire bytes as seen by the client\'s sockets.'),
    table(
      'Pushdown vs client',
      [
        ['link', false],
        [parameter, true],
        ['speedup (client ms / pushdown ms)', true],
        ['wire bytes (client / pushdown)', true],
        ['answers agree', false],
      ],
      comparisons,
      'Speedup > 1: pushdown answered faster.',
    ),
  ];
}

function ycsbTables(run: LoadedRun, view: YcsbView): ReportTable[] {
  const rows = view.summaries.map((s) => [
    linkLabel(run, s.link),
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
    table(
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

function mlTables(run: LoadedRun, view: MlView): ReportTable[] {
  const ml = view.ml;
  const rows = ml.modes.map((m) => [
    linkLabel(run, m.link),
    m.mode,
    String(m.n),
    String(m.epochs),
    m.stoppedBy,
    formatNumber(m.finalLoss),
    meanWithCi(m.trainMs, 1),
    meanWithCi(m.firstEpochMs, 1),
    m.laterEpochMs ? meanWithCi(m.laterEpochMs, 1) : '-',
    formatBytes(m.clientWireInBytes.mean),
    meanWithCi(m.clientCpuMs, 1),
    meanWithCi(m.nodesCpuMs, 1),
    m.speedupVsClient === null ? '-' : `${m.speedupVsClient.toFixed(2)}×`,
  ]);
  const checks = ml.checks;
  return [
    table(
      `Training per mode (${ml.task} regression, ${formatNumber(ml.features)} features, ${formatNumber(ml.rows)} rows, learning rate ${ml.learningRate})`,
      [
        ['link', false],
        ['mode', false],
        ['n', true],
        ['epochs', true],
        ['stopped by', false],
        ['final loss', true],
        ['train ms (mean ± 95% CI)', true],
        ['epoch 1 ms', true],
        ['later epoch ms', true],
        ['wire in', true],
        ['client CPU ms', true],
        ['nodes CPU ms', true],
        ['vs client', true],
      ],
      rows,
      `Converged: ${checks.converged ? 'yes' : 'no'}; modes agree on the model: ${checks.modesAgree ? 'yes' : 'NO'} (max relative weight difference ${checks.maxWeightDiffBetweenModes.toExponential(2)}); distance to the true weights ${checks.distanceToTrueWeights === null ? "- (real data: no true weights)" : formatNumber(checks.distanceToTrueWeights)}.`,
    ),
  ];
}

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
  return rows.length ? table('Run', [['what', false], ['value', true]], rows) : null;
}

/** Every table of a run's report, in report order. */
export function tablesForRun(run: LoadedRun): ReportTable[] {
  const facts = runFactsTable(run);
  const byKind = run.view.kind === 'query' ? queryTables(run, run.view) : run.view.kind === 'ycsb' ? ycsbTables(run, run.view) : run.view.kind === 'ml-train' ? mlTables(run, run.view) : [];
  return facts ? [...byKind, facts] : byKind;
}

/** The checksum verdict of a run: whether every mode gave the same answer. */
export interface Verdict {
  state: 'agree' | 'differ' | 'none';
  text: string;
  mismatches: string[];
}

/** The run's verdict, worded for a reader. */
export function verdictOf(run: LoadedRun): Verdict {
  const v = run.view;
  if (v.kind === 'incomplete') return { state: 'none', text: 'No summary: the run did not finish (see the manifest and the console output).', mismatches: [] };
  if (v.kind === 'ycsb') return { state: 'none', text: 'YCSB compares no modes: there is no answer checksum to agree on.', mismatches: [] };
  if (v.verdict.agree) return { state: 'agree', text: v.kind === 'ml-train' ? 'Every mode and repetition trained the same model: the comparison is valid.' : 'Checksums agree: every mode returned the same answer at every point, so the comparison is valid.', mismatches: [] };
  return { state: 'differ', text: 'MODES DISAGREE: the answers differ between modes, so the timings compare different work and the comparison is invalid.', mismatches: v.verdict.mismatches };
}
