/** The console summary printed at the end of a run (stdout), from the same summary as summary.json. */
import { formatTable } from './results/table';
import type { QuerySummary, YcsbSummary } from './summarize';
import type { MlSummary } from './ml-runner';

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

export function printQuerySummary(summary: QuerySummary): void {
  // The actual selectivity is shown when some query selects less than every row (filters).
  const showSelectivity = summary.points.some((p) => p.selectivity !== null && p.selectivity < 1);
  const rows = summary.points.map((p) => {
    const comparison = summary.comparisons.find((c) => c.link === p.link && c.point === p.point);
    return {
      link: p.link,
      [p.parameter || 'point']: p.point || '-',
      mode: p.mode,
      n: p.n,
      'latency ms (95% CI)': meanPm(p.latencyMs.mean, p.latencyMs.ciLow, p.latencyMs.ciHigh),
      'p99 ms': p.latencyMs.p99,
      'rows/s': Math.round(p.rowsScannedPerSec.mean),
      'wire in': bytes(p.clientWireInBytes.mean),
      'client cpu ms': p.clientCpuMs.mean,
      'nodes cpu ms': p.nodesCpuMs.mean,
      'rows back': p.rowsReturned,
      ...(showSelectivity ? { selectivity: p.selectivity === null ? '' : percent(p.selectivity) } : {}),
      speedup: p.mode === 'pushdown' && comparison?.speedup ? `${comparison.speedup.toFixed(2)}x` : '',
    };
  });
  const columns = rows.length > 0 ? (Object.keys(rows[0]!) as Array<keyof (typeof rows)[number] & string>) : [];
  out('');
  out(formatTable(rows, columns));
  out('\nspeedup = mean client-mode latency / mean pushdown latency at the same link and point (> 1: pushdown wins).');
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
  }));
  const c = summary.checks;
  out('');
  out(`${summary.task} regression, ${summary.features} features, ${summary.rows} rows, learning rate ${summary.learningRate}, at most ${summary.maxEpochs} epochs (stop when the loss changes < ${summary.tolerance})`);
  out(formatTable(rows, Object.keys(rows[0] ?? {}) as Array<keyof (typeof rows)[number] & string>));
  out("\nvs client = mean client-mode training time / this mode's (> 1: faster than pulling the rows every epoch). Epoch 1 of client-cached includes the pull.\nplugin cpu: the nodes' worker threads (pushdown) or this process (client modes; in client mode regions run concurrently, so it over-counts).");
  out(`converged: ${c.converged ? 'yes' : 'no (stopped at the epoch limit)'}; final mean-gradient norm ${c.finalGradientNorm.toExponential(2)}`);
  out(`modes agree: ${c.modesAgree ? 'yes' : 'NO'} (max relative weight difference ${c.maxWeightDiffBetweenModes.toExponential(2)}, tolerance ${c.weightAgreementTolerance})`);
  out(
    `distance to the true weights: ${c.distanceToTrueWeights.toPrecision(3)} (standard error ${c.expectedStatisticalError.toPrecision(3)}${c.trueWeightsTolerance === null ? '; not checked: l2 > 0 biases the fit' : `, tolerance ${c.trueWeightsTolerance.toPrecision(3)}: ${c.nearTrueWeights ? 'ok' : 'TOO FAR'}`})`,
  );
}
