/**
 * How many times a query point repeats: the spec's `repetitions` is the minimum, then the point
 * repeats until its latency means are precise (`precision`) or a cap (`maxRepetitions`,
 * `maxSeconds`) is reached. The spec fields may be left out (null); this resolves them to the
 * policy the runner follows and the summary records.
 */
import { fail, int, num, optionalNullable } from '../../spec-checks';
import type { WorkloadSpec } from '../../spec';
import type { RepetitionPolicy } from '../../driver/metrics/sequential';

/** ±5% of the mean: small enough to tell a 10% speedup from noise, reachable in ~10 repetitions at a few % noise. */
export const DEFAULT_PRECISION = 0.05;
/** A cap that bounds a noisy point to ~3× the calls of the old fixed 3 repetitions. */
export const DEFAULT_MAX_REPETITIONS = 10;
/** Per point and link: a default study (12 such units) stays bounded even when every point is noisy. */
export const DEFAULT_MAX_SECONDS = 60;

/** A fraction of the mean in (0, 1]. */
const fraction = num(0, 1).gt(0, { error: 'must be above 0 (a fraction of the mean, e.g. 0.05 for ±5%)' });

/** A number of seconds above 0 and at most a day. */
const seconds = num(0, 86_400).gt(0, { error: 'must be above 0 seconds' });

/** The spec fields the query family adds (top level, beside `repetitions`); null or left out: the defaults. */
export const REPETITION_SECTIONS = {
  precision: optionalNullable(fraction).describe(`query workloads: target 95% CI half-width of a point's mean latency, as a fraction of it (null: ${DEFAULT_PRECISION})`),
  maxRepetitions: optionalNullable(int(1, 100_000)).describe(`query workloads: at most this many repetitions per point and link (null: max(${DEFAULT_MAX_REPETITIONS}, repetitions))`),
  maxSeconds: optionalNullable(seconds).describe(`query workloads: no new repetition of a point and link past this many seconds of them (null: ${DEFAULT_MAX_SECONDS})`),
};

/**
 * The policy of a query spec. A left-out maxRepetitions is the default or `repetitions`, whichever
 * is larger, so specs written before these fields (e.g. noop's 50 repetitions) stay valid; a given
 * one below `repetitions` is a SpecError naming it.
 */
export function repetitionPolicy(spec: WorkloadSpec): RepetitionPolicy {
  const maxRepetitions = spec.maxRepetitions ?? Math.max(DEFAULT_MAX_REPETITIONS, spec.repetitions);
  if (maxRepetitions < spec.repetitions) fail('maxRepetitions', `must be at least repetitions (${spec.repetitions}, the minimum), got ${maxRepetitions}`);
  return { minRepetitions: spec.repetitions, maxRepetitions, maxSeconds: spec.maxSeconds ?? DEFAULT_MAX_SECONDS, precision: spec.precision ?? DEFAULT_PRECISION };
}
