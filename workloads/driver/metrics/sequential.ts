/**
 * Sequential repetitions: repeat a round of measurements (e.g. one call per mode) until every
 * series' mean is known to a relative precision, or a cap is reached. Pure: the clock and the
 * round are injected, so the stopping rule is tested on synthetic timers.
 *
 * The statistic is the two-sided 95% Student-t interval on the mean of the repetitions
 * (meanWithCI95): latencies of whole calls are means of many small costs, so their mean is close
 * to normal even at a few repetitions, the t quantile pays honestly for the few degrees of freedom
 * a short run has, and the mean is what speedups and the cost model compare.
 */
import { meanWithCI95 } from './stats';

/** When a point stops repeating. */
export interface RepetitionPolicy {
  /** Repetitions always made, whatever the precision or the clock say (the spec's `repetitions`). */
  minRepetitions: number;
  /** Never more repetitions than this (>= minRepetitions). */
  maxRepetitions: number;
  /** No round is started past this many seconds of repetitions, once minRepetitions are made. */
  maxSeconds: number;
  /** Target 95% CI half-width as a fraction of the mean (0.05: ±5%). */
  precision: number;
}

/** Why a point stopped: it reached the precision, or the cap it hit first. */
export type StopReason = 'precision' | 'maxRepetitions' | 'maxSeconds';

/** What a sequential run did. */
export interface SequentialOutcome {
  /** Rounds made (each series has this many values). */
  repetitions: number;
  stoppedBy: StopReason;
  /** Wall time of the rounds (ms, on the injected clock). */
  elapsedMs: number;
  /** Per series, the 95% CI half-width achieved as a fraction of its mean (Infinity below 2 values). */
  relativeHalfWidth: Record<string, number>;
}

/** Half-width of the 95% t interval on the mean of `values`, as a fraction of the mean (Infinity for n < 2; 0 when all are 0). */
export function relativeHalfWidth(values: ReadonlyArray<number>): number {
  const ci = meanWithCI95(values);
  if (!Number.isFinite(ci.halfWidth)) return Infinity;
  if (ci.halfWidth === 0) return 0;
  return ci.mean === 0 ? Infinity : ci.halfWidth / Math.abs(ci.mean);
}

/**
 * The stopping rule after `rounds` rounds: null to go on, else why to stop. Precision is judged on
 * every series (the point is only as precise as its least precise mode). The time cap looks one
 * round ahead: a round whose expected length (the mean so far) would end past maxSeconds is not
 * started, so a point overruns its budget by at most the noise of one round.
 */
export function stopReason(policy: RepetitionPolicy, rounds: number, elapsedMs: number, series: ReadonlyArray<ReadonlyArray<number>>): StopReason | null {
  if (rounds < policy.minRepetitions) return null;
  if (series.every((values) => relativeHalfWidth(values) <= policy.precision)) return 'precision';
  if (rounds >= policy.maxRepetitions) return 'maxRepetitions';
  const nextRoundEndsMs = elapsedMs + (rounds > 0 ? elapsedMs / rounds : 0);
  if (nextRoundEndsMs > policy.maxSeconds * 1000) return 'maxSeconds';
  return null;
}

/** A round's measurements, by series (e.g. latency in ms by mode). */
export type RoundValues = Readonly<Record<string, number>>;

/**
 * Runs `round(0)`, `round(1)`, … until the stopping rule says stop. Every round must return the
 * same series (a missing one is a bug in the caller, so it throws).
 */
export async function repeatUntilPrecise(policy: RepetitionPolicy, round: (repetition: number) => Promise<RoundValues>, now: () => number): Promise<SequentialOutcome> {
  checkPolicy(policy);
  const series = new Map<string, number[]>();
  const start = now();
  for (let rounds = 0; ; ) {
    const values = await round(rounds);
    if (rounds === 0) for (const name of Object.keys(values)) series.set(name, []);
    for (const [name, list] of series) {
      const v = values[name];
      if (v === undefined) throw new Error(`round ${rounds} returned no value for series '${name}'`);
      list.push(v);
    }
    rounds++;
    const elapsedMs = now() - start;
    const stoppedBy = stopReason(policy, rounds, elapsedMs, [...series.values()]);
    if (stoppedBy) {
      const relative = Object.fromEntries([...series].map(([name, list]) => [name, relativeHalfWidth(list)]));
      return { repetitions: rounds, stoppedBy, elapsedMs, relativeHalfWidth: relative };
    }
  }
}

/** A policy the loop can run: at least one repetition, a maximum not below the minimum, a positive precision. */
function checkPolicy(p: RepetitionPolicy): void {
  if (!(Number.isInteger(p.minRepetitions) && p.minRepetitions >= 1)) throw new RangeError(`minRepetitions must be an integer >= 1, got ${p.minRepetitions}`);
  if (!(Number.isInteger(p.maxRepetitions) && p.maxRepetitions >= p.minRepetitions)) throw new RangeError(`maxRepetitions must be an integer >= minRepetitions (${p.minRepetitions}), got ${p.maxRepetitions}`);
  if (!(p.maxSeconds > 0)) throw new RangeError(`maxSeconds must be > 0, got ${p.maxSeconds}`);
  if (!(p.precision > 0)) throw new RangeError(`precision must be > 0, got ${p.precision}`);
}
