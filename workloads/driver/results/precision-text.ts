/**
 * How precision and speedups read in the console table and the report's tables, worded once so
 * both say the same: a speedup with its 95% CI, who won (or "no measurable difference"), the
 * half-width a point reached, and the cap it stopped at.
 */
import type { SpeedupCI } from '../summarize';
import type { StopReason } from '../metrics/sequential';
import { relativeError } from '../cost-model/model';

/** `1.52× (1.40–1.66)`; `1.52× (CI unbounded)` when too few or too noisy repetitions bound it. */
export function speedupText(ci: SpeedupCI, times = '×'): string {
  const ratio = `${ci.ratio.toFixed(2)}${times}`;
  if (ci.ciLow === null || ci.ciHigh === null) return `${ratio} (CI unbounded)`;
  return `${ratio} (${bound(ci.ciLow)}–${bound(ci.ciHigh)})`;
}

/** A CI bound with 2 decimals, or 3 where 2 would print 1.00 for a bound that is not 1 (which side of 1 it is on is the verdict). */
function bound(value: number): string {
  const text = value.toFixed(2);
  return text === '1.00' && value !== 1 ? value.toFixed(3) : text;
}

/**
 * Who won, read from the interval: `above` when the whole CI is above 1 (the numerator's mode was
 * slower), `below` when it is below 1, else "no measurable difference".
 */
export function winnerText(ci: SpeedupCI, above: string, below: string): string {
  if (ci.verdict === 'faster') return `${above} faster`;
  if (ci.verdict === 'slower') return `${below} faster`;
  return 'no measurable difference';
}

/** `±3.1%`: the 95% CI half-width of a mean as a fraction of it; '-' when there is none (n < 2 or an older run). */
export function halfWidthText(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '-';
  return `±${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`;
}

/** Empty when the point reached its precision (or the run did not record it); else which cap it stopped at. */
export function stopText(stoppedBy: StopReason | null | undefined): string {
  if (stoppedBy === 'maxRepetitions') return 'cap: maxRepetitions';
  if (stoppedBy === 'maxSeconds') return 'cap: maxSeconds';
  return '';
}

/** `1.05× (0.99–1.12) vs pushdown: no measurable difference`: adaptive against the faster fixed mode. */
export function adaptiveVsBestText(vsBest: SpeedupCI & { best: string }, times = '×'): string {
  return `${speedupText(vsBest, times)} vs ${vsBest.best}: ${winnerText(vsBest, 'adaptive', vsBest.best)}`;
}

/** `+12%` / `-3%`; empty for null. */
export function signedPercent(fraction: number | null): string {
  if (fraction === null) return '';
  return `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(0)}%`;
}

/** `2.50× (+12%)`: the cost model's speedup and its error against the measured one (when there is one). */
export function predictedSpeedupText(predicted: number, measured: number | undefined, times = '×'): string {
  const error = measured === undefined ? null : relativeError(predicted, measured);
  return `${predicted.toFixed(2)}${times}${error === null ? '' : ` (${signedPercent(error)})`}`;
}
