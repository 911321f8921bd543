/** The console summary printed at the end of a run (stdout), from the same summary as summary.json. */
import { formatTable } from './results/table';
import type { QuerySummary, YcsbSummary } from './summarize';
import type { MlSummary } from '../families/ml-train/ml-summary';
import type { CostModelReport } from './cost-model/calibrate';
import { relativeError } from './cost-model/model';
import type { RepetitionPolicy } from './metrics/sequential';
import { adaptiveVsBestText, halfWidthText, predictedSpeedupText, signedPercent, speedupText, stopText, winnerText } from './results/precision-text';

const out = (text: string): void => void process.stdout.write(`${text}\n`);

/** `12.3 ±0.4` (mean and the 95% CI half-width). */
function meanPm(mean: number, low: number, high: number, digits = 1): string {
  if (!Number.isFinite(high - low)) return mean.toFixed(digits);
  return `${mean.toFixed(digits)} ±${((high - low) / 2).toFixed(digits)}`;
}

function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

/** `12.3%`, with enough digits to tell small selectivities apart. */
function percent(fraction: number): string {
  const pct = fraction * 100;
  if (pct >= 10) return `${pct.toFixed(1) === '100.0' && fraction < 1 ? pct.toFixed(3) : pct.toFixed(1)}%`;
  return `${pct >= 0.1 ? pct.toFixed(2) : pct.toPrecision(2)}%`;
}

/**
 * The second table's columns (after link, point and mode): what a call did, and the cost model.
 * `selectivity` (the share of rows matched) is there unless it is the sweep's parameter (filter),
 * whose point column then shows it in both tables.
 */
const WORK_COLUMNS: ReadonlySet<string> = new Set(['p99 ms', 'rows/s', 'wire in', 'client cpu ms', 'nodes cpu ms', 'rows back', 'selectivity', 'predicted ms', 'error', 'predicted speedup']);

export function printQuerySummary(summary: QuerySummary, costModel?: CostModelReport, policy?: RepetitionPolicy): void {
  // The actual selectivity is shown when some query selects less than every row (filters).
  const showSelectivity = summary.points.some((p) => p.selectivity !== null && p.selectivity < 1);
  // The mode adaptive chose, when the run has an adaptive mode.
  const showChoices = summary.points.some((p) => p.chosenModes);
  const showVsBest = summary.comparisons.some((c) => c.adaptiveVsBest);
  const rows = summary.points.map((p) => {
    const comparison = summary.comparisons.find((c) => c.link === p.link && c.point === p.point);
    const speedup = comparison?.speedups?.[p.mode];
    const vsBest = p.mode === 'adaptive' ? comparison?.adaptiveVsBest : null;
    return {
      link: p.link,
      [p.parameter || 'point']: p.point || '-',
      mode: p.mode,
      n: p.n,
      'latency ms (95% CI)': meanPm(p.latencyMs.mean, p.latencyMs.ciLow, p.latencyMs.ciHigh),
      '±%': halfWidthText(p.latencyHalfWidthFraction),
      stop: stopText(p.stoppedBy),
      'p99 ms': p.latencyMs.p99,
      'rows/s': Math.round(p.rowsScannedPerSec.mean),
      'wire in': bytes(p.clientWireInBytes.mean),
      'client cpu ms': p.clientCpuMs.mean,
      'nodes cpu ms': p.nodesCpuMs.mean,
      'rows back': p.rowsReturned,
      ...(showSelectivity ? { selectivity: p.selectivity === null ? '' : percent(p.selectivity) } : {}),
      'speedup (95% CI)': speedup ? speedupText(speedup, 'x') : '',
      'vs client': speedup ? winnerText(speedup, p.mode, 'client') : '',
      ...(showVsBest ? { 'vs best fixed (95% CI)': vsBest ? adaptiveVsBestText(vsBest, 'x') : '' } : {}),
      'predicted ms': p.predictedLatencyMs === null ? '' : p.predictedLatencyMs.toFixed(1),
      'error': signedPercent(relativeError(p.predictedLatencyMs, p.latencyMs.mean)),
      'predicted speedup': p.mode === 'pushdown' && comparison?.predictedSpeedup ? predictedSpeedupText(comparison.predictedSpeedup, speedup?.ratio, 'x') : '',
      ...(showChoices ? { chose: p.chosenModes ? Object.entries(p.chosenModes).map(([m, n]) => `${m}${Object.keys(p.chosenModes!).length > 1 ? ` ×${n}` : ''}`).join(', ') : '' } : {}),
    };
  });
  // Two tables, each narrow enough for a terminal: the latencies and what they compare to, then
  // what the calls did (bytes, CPU, rows) beside what the model predicted; both keyed by link, point and mode.
  type Column = keyof (typeof rows)[number] & string;
  const columns = rows.length > 0 ? (Object.keys(rows[0]!) as Column[]) : [];
  const keyColumns = columns.slice(0, 3);
  const isWork = (c: Column): boolean => WORK_COLUMNS.has(c) && !keyColumns.includes(c);
  out('');
  out(formatTable(rows, columns.filter((c) => !isWork(c))));
  out('');
  out(formatTable(rows, columns.filter((c) => keyColumns.includes(c) || isWork(c))));
  out('\n±% = half-width of the 95% t-interval of the mean latency, as a share of it; stop: the cap a point hit before reaching that precision (empty: it did).');
  if (policy) out(`repetitions per point and link: at least ${policy.minRepetitions}, then until ±${(policy.precision * 100).toFixed(1)}% or ${policy.maxRepetitions} repetitions or ${policy.maxSeconds} s.`);
  out('speedup = mean client-mode latency / this mode\'s at the same link and point (> 1: this mode wins), 95% CI by Fieller\'s method over the paired repetitions; a CI that contains 1 is "no measurable difference".');
  if (showVsBest) out('vs best fixed = mean latency of the faster of pushdown and client / adaptive\'s (> 1: adaptive was faster), the same way.');
  out('predicted = the cost model (calibrated at the start of the run; adaptive: the prediction of the mode it chose); error = (predicted - measured) / measured.');
  out("predicted speedup = the model's client / pushdown predictions (its error against the measured speedup): what adaptive's choice rests on; a host slower or faster than at calibration moves both latency errors alike and leaves it.");
  if (costModel) printCostModel(costModel);
}

/** The calibration numbers, one line each, with their units. */
function printCostModel(report: CostModelReport): void {
  const c = report.calibration;
  const rate = (v: number | null, unit: string): string => (v === null ? '-' : `${Math.round(v).toLocaleString('en-US')} ${unit}`);
  const links = Object.keys(c.rttMs)
    .map((l) => `${l} ${c.rttMs[l]!.toFixed(2)} ms${c.linkBytesPerSec[l] ? ` ${(c.linkBytesPerSec[l]! / 1e6).toFixed(1)} MB/s` : ''}`)
    .join(', ');
  out(
    `cost model (calibration ${(report.calibrationMs / 1000).toFixed(1)} s, ${c.regions} regions, concurrency ${c.concurrency}, sample ${report.sampleRows} rows): ` +
      `overhead ${c.pushdownOverheadMs.toFixed(1)} ms pushdown / ${c.clientOverheadMs.toFixed(1)} ms client; node scan ${rate(c.nodeScanRowsPerSec, 'rows/s')}; ` +
      `client pull ${rate(c.clientPullRowsPerSec, 'rows/s')} (${c.wireBytesPerRow === null ? '-' : c.wireBytesPerRow.toFixed(0)} B/row); client handle ${rate(c.clientHandleRowsPerSec, 'rows/s')}; ` +
      `result path ${(c.pushdownResultBytesPerSec / 1e6).toFixed(0)} MB/s pushdown / ${(c.clientResultBytesPerSec / 1e6).toFixed(0)} MB/s client; RTT unshaped ${c.unshapedRttMs.toFixed(2)} ms; links: ${links}`,
  );
}

export function printYcsbSummary(summary: YcsbSummary[]): void {
  const rows = summary.map((s) => ({
    link: s.link,
    n: s.n,
    'ops/s (95% CI)': meanPm(s.opsPerSec.mean, s.opsPerSec.ciLow, s.opsPerSec.ciHigh, 0),
    'p50 ms': s.latencyMs.p50.mean,
    'p95 ms': s.latencyMs.p95.mean,
    'p99 ms': s.latencyMs.p99.mean,
    'max ms': s.latencyMs.max,
    errors: s.errors,
    'client cpu ms/kop': s.clientCpuMsPerKop.mean,
    'nodes cpu ms/kop': s.nodesCpuMsPerKop.mean,
  }));
  out('');
  out(formatTable(rows, Object.keys(rows[0] ?? {}) as Array<keyof (typeof rows)[number] & string>));
}

export function printMlSummary(summary: MlSummary): void {
  const rows = summary.modes.map((m) => ({
    link: m.link,
    mode: m.mode,
    n: m.n,
    epochs: m.epochs,
    'final loss': m.finalLoss.toPrecision(6),
    ...(summary.task === 'logistic' ? { accuracy: m.finalAccuracy === null ? '-' : `${(m.finalAccuracy * 100).toFixed(2)}%` } : {}),
    'train ms (95% CI)': meanPm(m.trainMs.mean, m.trainMs.ciLow, m.trainMs.ciHigh),
    'epoch 1 ms': m.firstEpochMs.mean,
    'later epoch ms': m.laterEpochMs ? m.laterEpochMs.mean : NaN,
    'wire in': bytes(m.clientWireInBytes.mean),
    'epoch 1 in': bytes(m.firstEpochWireInBytes.mean),
    'later epoch in': m.laterEpochWireInBytes ? bytes(m.laterEpochWireInBytes.mean) : '-',
    'client cpu ms': m.clientCpuMs.mean,
    'nodes cpu ms': m.nodesCpuMs.mean,
    'plugin cpu ms/epoch': m.pluginCpuMsPerEpoch.mean,
    'vs client': m.speedupVsClient ? `${m.speedupVsClient.toFixed(2)}x` : '',
    ...(summary.targetLoss === null
      ? {}
      : {
          'to target ms (95% CI)': m.timeToTargetMs ? meanPm(m.timeToTargetMs.mean, m.timeToTargetMs.ciLow, m.timeToTargetMs.ciHigh) : `missed ${m.missedTarget}/${m.n}`,
          'epochs to target': m.epochsToTarget ?? '-',
          'to target vs client': m.speedupToTargetVsClient ? `${m.speedupToTargetVsClient.toFixed(2)}x` : '',
        }),
  }));
  const c = summary.checks;
  out('');
  out(`${summary.task} regression, ${summary.features} features, ${summary.rows} rows, learning rate ${summary.learningRate}, at most ${summary.maxEpochs} epochs (stop when an epoch lowers the loss by < ${summary.tolerance})`);
  out(formatTable(rows, Object.keys(rows[0] ?? {}) as Array<keyof (typeof rows)[number] & string>));
  out("\nvs client = mean client-mode training time / this mode's (> 1: faster than pulling the rows every epoch). Epoch 1 of client-cached includes the pull.\nplugin cpu: the nodes' worker threads (pushdown) or this process (client modes; in client mode regions run concurrently, so it over-counts).");
  if (summary.targetLoss !== null) out(`time to target: wall time until the loss first reached ${summary.targetLoss} (ml.targetLoss), to the end of that epoch; client-cached includes its pull.`);
  out(`converged: ${c.converged ? 'yes' : 'no (stopped at the epoch limit)'}; final mean-gradient norm ${c.finalGradientNorm.toExponential(2)}`);
  out(`modes agree: ${c.modesAgree ? 'yes' : 'NO'} (max relative weight difference ${c.maxWeightDiffBetweenModes.toExponential(2)}, tolerance ${c.weightAgreementTolerance})`);
  if (c.distanceToTrueWeights !== null && c.expectedStatisticalError !== null) {
    out(
      `distance to the true weights: ${c.distanceToTrueWeights.toPrecision(3)} (standard error ${c.expectedStatisticalError.toPrecision(3)}${c.trueWeightsTolerance === null ? '; not checked: l2 > 0 biases the fit' : `, tolerance ${c.trueWeightsTolerance.toPrecision(3)}: ${c.nearTrueWeights ? 'ok' : 'TOO FAR'}`})`,
    );
  }
  if (summary.data && c.baselineAccuracy !== null) {
    const d = summary.data;
    const accuracy = summary.modes[0]?.finalAccuracy;
    out(`label: ${d.label.map((l) => `${l.column} ${l.op} ${String(l.value)}`).join(' and ')} (${(d.positiveFraction * 100).toFixed(1)}% of rows); features standardised: ${d.features.map((f, i) => `${f} (mean ${d.mean[i]!.toPrecision(4)}, sd ${d.stddev[i]!.toPrecision(4)})`).join(', ')}`);
    out(`accuracy ${accuracy === null || accuracy === undefined ? '-' : `${(accuracy * 100).toFixed(2)}%`} vs majority-class baseline ${(c.baselineAccuracy * 100).toFixed(2)}%: ${c.beatsBaseline ? 'beats it' : 'DOES NOT beat it'}`);
    out(`model (standardised features): ${d.features.map((f, i) => `${f} ${summary.model.weights[i]!.toFixed(4)}`).join(', ')}, bias ${summary.model.bias.toFixed(4)}`);
  }
}
