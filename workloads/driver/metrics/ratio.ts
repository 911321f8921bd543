/**
 * The ratio of two means with a confidence interval, for paired measurements (a speedup: client
 * latency / pushdown latency, repetition by repetition). Fieller's method: the interval is every R
 * for which the paired differences x_i − R·y_i have a mean a t-test cannot tell from 0. It uses
 * the pairing (the covariance of x and y), so drift that slows both modes of a repetition alike
 * narrows the interval instead of widening it, needs no resampling (no RNG, the same answer every
 * time), and is exact for normal pairs at any n, where a bootstrap under-covers at 3–10 pairs.
 */
import { pairedMoments, studentTQuantile } from './stats';

/** A ratio of means with its confidence interval; unbounded when the denominator's mean is not surely away from 0 (or n < 2). */
export interface RatioCI {
  /** Pairs used. */
  n: number;
  /** mean(x) / mean(y). */
  ratio: number;
  /** −Infinity when unbounded (null once written to JSON). */
  ciLow: number;
  /** +Infinity when unbounded (null once written to JSON). */
  ciHigh: number;
  /** False when the interval is not a finite range (too few pairs or too much noise in y). */
  bounded: boolean;
}

/** How a speedup's interval reads: a side won, or the interval contains 1. */
export type RatioVerdict = 'faster' | 'slower' | 'no measurable difference';

/**
 * Fieller's interval for mean(x) / mean(y) over pairs (x_i, y_i), at `confidence` (e.g. 0.95).
 * Solves (x̄ − R·ȳ)² ≤ t² · (s_xx − 2R·s_xy + R²·s_yy) / n for R, with t from Student's t on n − 1
 * degrees of freedom: a quadratic A·R² + B·R + C ≤ 0 that is a finite interval exactly when A > 0.
 */
export function pairedRatioCI(x: ReadonlyArray<number>, y: ReadonlyArray<number>, confidence = 0.95): RatioCI {
  if (x.length !== y.length) throw new RangeError(`paired samples differ in length (${x.length} vs ${y.length})`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  for (const v of [...x, ...y]) if (!Number.isFinite(v)) throw new RangeError(`cannot take a ratio of a non-finite value (${v})`);
  const n = x.length;
  const { mx, my, sxx, syy, sxy } = pairedMoments(x, y);
  const ratio = mx / my;
  const unbounded: RatioCI = { n, ratio, ciLow: -Infinity, ciHigh: Infinity, bounded: false };
  if (n < 2) return unbounded;
  // Variances of the means: sample (co)variances (n − 1) divided by n.
  const scale = studentTQuantile(1 - (1 - confidence) / 2, n - 1) ** 2 / (n * (n - 1));
  const a = my * my - scale * syy;
  const b = -2 * (mx * my - scale * sxy);
  const c = mx * mx - scale * sxx;
  if (!(a > 0)) return unbounded;
  // A > 0 and the quadratic is ≤ 0 at R = x̄/ȳ, so the discriminant is ≥ 0 (up to rounding).
  const root = Math.sqrt(Math.max(0, b * b - 4 * a * c));
  return { n, ratio, ciLow: (-b - root) / (2 * a), ciHigh: (-b + root) / (2 * a), bounded: true };
}

/** 'faster' when the whole interval is above 1, 'slower' when below, else 'no measurable difference'. */
export function ratioVerdict(ci: Pick<RatioCI, 'ciLow' | 'ciHigh' | 'bounded'>): RatioVerdict {
  if (ci.bounded && ci.ciLow > 1) return 'faster';
  if (ci.bounded && ci.ciHigh < 1) return 'slower';
  return 'no measurable difference';
}
