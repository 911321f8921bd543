/**
 * Statistics for repetitions: the mean with its Student-t confidence interval, the t quantile it
 * needs (simple-statistics has none), a least-squares line; median and quantile from
 * simple-statistics (engine/util/statistics.ts).
 */
import { simpleStatistics } from '../../../engine/util/statistics';

export { median, quantile } from '../../../engine/util/statistics';

const { mean: sampleMean, sampleStandardDeviation } = simpleStatistics;

/** A mean with its confidence interval. */
export interface MeanCI {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 denominator); NaN for n < 2. */
  stddev: number;
  ciLow: number;
  ciHigh: number;
  /** Half the interval's width: mean ± halfWidth. */
  halfWidth: number;
}

/** A mean and its interval, as summaries store them. */
export type MeanBounds = Pick<MeanCI, 'mean' | 'ciLow' | 'ciHigh'>;

function polynomial(coefficients: ReadonlyArray<number>, x: number): number {
  let value = 0;
  for (let i = coefficients.length - 1; i >= 0; i--) value = value * x + coefficients[i]!;
  return value;
}

/**
 * The standard normal quantile (the z with Φ(z) = p), by Wichura's algorithm AS 241 (PPND16),
 * accurate to about 1e-16. (simple-statistics' probit is only good to about 3 decimals.)
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1), got ${p}`);
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q * polynomial([3.387132872796366608, 133.14166789178437745, 1971.5909503065514427, 13731.693765509461125, 45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727], r)) /
      polynomial([1, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077, 21213.794301586595867, 39307.89580009271061, 28729.085735721942674, 5226.495278852545925], r)
    );
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let z: number;
  if (r <= 5) {
    r -= 1.6;
    z =
      polynomial([1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055, 3.64784832476320460504, 1.27045825245236838258, 0.24178072517745061177, 0.0227238449892691845833, 7.7454501427834140764e-4], r) /
      polynomial([1, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455, 0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4, 1.05075007164441684324e-9], r);
  } else {
    r -= 5;
    z =
      polynomial([6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358, 0.29656057182850489123, 0.026532189526576123093, 0.0012426609473880784386, 2.71155556874348757815e-5, 2.01033439929228813265e-7], r) /
      polynomial([1, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525, 7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7, 2.04426310338993978564e-15], r);
  }
  return q < 0 ? -z : z;
}

/**
 * P(|T| <= t) for Student's t with an integer number of degrees of freedom, exactly, by the finite
 * series of Abramowitz & Stegun 26.7.3 (odd df) and 26.7.4 (even df).
 */
function twoSidedCdf(t: number, df: number): number {
  const theta = Math.atan(Math.abs(t) / Math.sqrt(df));
  const c2 = Math.cos(theta) ** 2;
  const s = Math.sin(theta);
  if (df % 2 === 1) {
    if (df === 1) return (2 * theta) / Math.PI;
    // cosθ · (1 + 2/3 c² + (2·4)/(3·5) c⁴ + … up to c^(df−3))
    let term = 1;
    let sum = 1;
    for (let k = 2; k <= df - 3; k += 2) {
      term *= (k / (k + 1)) * c2;
      sum += term;
    }
    return (2 / Math.PI) * (theta + s * Math.cos(theta) * sum);
  }
  // sinθ · (1 + 1/2 c² + (1·3)/(2·4) c⁴ + … up to c^(df−2))
  let term = 1;
  let sum = 1;
  for (let k = 1; k <= df - 3; k += 2) {
    term *= (k / (k + 1)) * c2;
    sum += term;
  }
  return s * sum;
}

/** Above this, the Cornish–Fisher expansion around the normal quantile is exact to ~1e-12. */
const SERIES_MAX_DF = 1000;

/**
 * The quantile of Student's t distribution: the t with P(T <= t) = p, for df degrees of freedom
 * (an integer >= 1, or Infinity for the normal distribution). E.g. studentTQuantile(0.975, 4) ≈ 2.776.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1), got ${p}`);
  if (!(df === Infinity || (Number.isInteger(df) && df >= 1))) throw new RangeError(`df must be an integer >= 1 or Infinity, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  const z = normalQuantile(p);
  if (df === Infinity) return z;
  if (df > SERIES_MAX_DF) {
    // Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5).
    const z3 = z ** 3;
    const z5 = z ** 5;
    const z7 = z ** 7;
    const z9 = z ** 9;
    return (
      z +
      (z3 + z) / (4 * df) +
      (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) +
      (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3) +
      (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * df ** 4)
    );
  }
  // Solve P(|T| <= t) = 2p − 1 by bisection on the exact CDF.
  const target = 2 * p - 1;
  let low = 0;
  let high = Math.max(1, z);
  while (twoSidedCdf(high, df) < target) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-12 * high; i++) {
    const mid = (low + high) / 2;
    if (twoSidedCdf(mid, df) < target) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/**
 * Mean of `values` with a two-sided confidence interval from Student's t with n − 1 degrees of
 * freedom (`confidence` e.g. 0.95). n = 1: the mean is the value, stddev is NaN and the interval is
 * (−Infinity, +Infinity) — one repetition says nothing about spread. n = 0: everything is NaN.
 * Non-finite values throw a RangeError.
 */
export function meanWithCI(values: ReadonlyArray<number>, confidence: number): MeanCI {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`cannot average a non-finite value (${v})`);
  const n = values.length;
  if (n === 0) return { n: 0, mean: NaN, stddev: NaN, ciLow: NaN, ciHigh: NaN, halfWidth: NaN };
  const mean = sampleMean(values as number[]);
  if (n === 1) return { n, mean, stddev: NaN, ciLow: -Infinity, ciHigh: Infinity, halfWidth: Infinity };
  const stddev = sampleStandardDeviation(values as number[]);
  const halfWidth = (studentTQuantile(1 - (1 - confidence) / 2, n - 1) * stddev) / Math.sqrt(n);
  return { n, mean, stddev, ciLow: mean - halfWidth, ciHigh: mean + halfWidth, halfWidth };
}

/** `meanWithCI(values, 0.95)`: the mean with its 95% confidence interval. */
export function meanWithCI95(values: ReadonlyArray<number>): MeanCI {
  return meanWithCI(values, 0.95);
}

/** A least-squares line y = slope · x + intercept and its coefficient of determination. */
export interface LinearFit {
  slope: number;
  intercept: number;
  /** 1 − SSres/SStot; 1 when every y is equal and fitted exactly. */
  r2: number;
}

/** Means of paired samples and their centred sums of squares and cross-products (Σdx², Σdy², Σdx·dy), for Fieller's ratio CI. */
export function pairedMoments(xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): { mx: number; my: number; sxx: number; syy: number; sxy: number } {
  const mx = sampleMean(xs as number[]);
  const my = sampleMean(ys as number[]);
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  return { mx, my, sxx, syy, sxy };
}

/**
 * Ordinary least squares of ys on xs (e.g. latency vs. selectivity, bytes vs. rows), by
 * simple-statistics' linearRegression and rSquared. Needs equal lengths and at least 2 points;
 * when every x is equal the slope is undefined and everything is NaN; when every y is equal the
 * line is flat and fits exactly (R² 1).
 */
export function linearFit(xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): LinearFit {
  if (xs.length !== ys.length) throw new RangeError(`xs and ys differ in length (${xs.length} vs ${ys.length})`);
  if (xs.length < 2) throw new RangeError(`a line needs at least 2 points, got ${xs.length}`);
  if (xs.every((x) => x === xs[0])) return { slope: NaN, intercept: NaN, r2: NaN };
  const points = xs.map((x, i): [number, number] => [x, ys[i]!]);
  const { m: slope, b: intercept } = simpleStatistics.linearRegression(points);
  if (ys.every((y) => y === ys[0])) return { slope, intercept, r2: 1 };
  return { slope, intercept, r2: simpleStatistics.rSquared(points, simpleStatistics.linearRegressionLine({ m: slope, b: intercept })) };
}
