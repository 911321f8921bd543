/**
 * The regression dataset (for the `ml-train` workload): rows with `d` features x ~ U(-1, 1)^d, a
 * linear target `y = w*·x + b* + N(0, noise²)` and a logistic label `label = 1 with probability
 * sigmoid(w*·x + b*)` (a Bernoulli draw, so the logistic model is exactly right and its maximum
 * likelihood estimate tends to w*, b*). The true weights come from the seed alone (not the row
 * count), so every size of a dataset shares them. Records of `regressionSchema(d)` (f0..f{d-1} f64,
 * y f64, label bool) under keys `row:<9-digit id>`, so `[row:, row;)` covers them; same seed →
 * same bytes.
 */
import { RecordCodec, type DataRecord, type Schema } from '../../engine/plugin-api';
import { SeededRandom } from '../../engine/util/seeded-random';
import { syntheticKey } from './synthetic';

export interface RegressionOptions {
  rows: number;
  seed?: number;
  /** Feature columns (d). */
  features?: number;
  /** Standard deviation of the Gaussian noise on the linear target `y`. */
  noise?: number;
  /** Minimum bytes per value (records are padded up to it). */
  valueBytes?: number;
}

export interface RegressionTruth {
  weights: number[];
  bias: number;
}

export const DEFAULT_FEATURES = 8;
export const DEFAULT_NOISE = 0.1;
export const DEFAULT_SEED = 42;

/** Column names of the features, f0..f{d-1}. */
export function featureNames(features: number): string[] {
  return Array.from({ length: features }, (_, i) => `f${i}`);
}

/** The record layout for `features` feature columns. */
export function regressionSchema(features: number): Schema {
  if (!Number.isInteger(features) || features < 1) throw new RangeError(`features must be a positive integer, got ${features}`);
  return {
    name: 'regression',
    columns: [...featureNames(features).map((name) => ({ name, type: 'f64' as const })), { name: 'y', type: 'f64' }, { name: 'label', type: 'bool' }],
  };
}

/** The true weights w* ~ U(-2, 2)^d and bias b* ~ U(-0.5, 0.5), drawn from their own stream of the seed. */
export function regressionTruth(seed: number, features: number): RegressionTruth {
  const random = new SeededRandom((seed ^ 0x5eed_1234) >>> 0);
  const weights = Array.from({ length: features }, () => random.next() * 4 - 2);
  return { weights, bias: random.next() - 0.5 };
}

/** A standard normal deviate (Box–Muller, one of the pair). */
function gaussian(random: SeededRandom): number {
  const u = 1 - random.next(); // (0, 1]: log(0) is -inf
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Row `id`'s record; draws d + 3 numbers from `random`. */
export function regressionRecord(random: SeededRandom, truth: RegressionTruth, noise: number): DataRecord {
  const record: DataRecord = {};
  let z = truth.bias;
  for (let j = 0; j < truth.weights.length; j++) {
    const x = random.next() * 2 - 1;
    record[`f${j}`] = x;
    z += truth.weights[j]! * x;
  }
  record.y = z + noise * gaussian(random);
  record.label = random.next() < 1 / (1 + Math.exp(-z));
  return record;
}

/** Rows in key order (ids 0..rows-1). */
export function* regressionRows(options: RegressionOptions): Generator<{ key: Buffer; value: Buffer }> {
  const seed = options.seed ?? DEFAULT_SEED;
  const features = options.features ?? DEFAULT_FEATURES;
  const noise = options.noise ?? DEFAULT_NOISE;
  const codec = new RecordCodec(regressionSchema(features));
  const truth = regressionTruth(seed, features);
  const random = new SeededRandom(seed);
  for (let id = 0; id < options.rows; id++) {
    const value = codec.encode(regressionRecord(random, truth, noise), options.valueBytes ?? 0);
    yield { key: syntheticKey(id), value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
  }
}

/** What to expect of a model fitted to this dataset (for the ml-train checks). */
export interface ModelGeometry {
  /** Standard error of the fitted parameters (L2 norm over weights and bias) on `rows` rows. */
  expectedError: number;
  /**
   * Smallest eigenvalue of the mean loss's Hessian at the optimum (strong convexity μ): a model
   * whose mean gradient has norm g lies within about g / μ of the optimum.
   */
  curvature: number;
}

/**
 * - linear: x ~ U(-1,1)^d (variance 1/3, uncorrelated) and the bias column give the Hessian
 *   E[x̃x̃'] = diag(1/3, …, 1/3, 1) (x̃ = (x, 1)), so μ = 1/3, and least squares has covariance
 *   noise²/n · diag(3, …, 3, 1): E‖ŵ − w*‖² ≈ noise² (3d + 1) / n;
 * - logistic: the Hessian at w* is the Fisher information I = E[p(1−p) x̃x̃'] (computed here by
 *   Monte Carlo over 20 000 draws of the generator's distribution), μ its smallest eigenvalue, and
 *   the MLE's covariance is I⁻¹/n: E‖ŵ − w*‖² ≈ tr(I⁻¹) / n.
 */
export function modelGeometry(task: 'linear' | 'logistic', options: { rows: number; seed: number; features: number; noise: number }): ModelGeometry {
  const d = options.features;
  if (task === 'linear') return { expectedError: options.noise * Math.sqrt((3 * d + 1) / options.rows), curvature: 1 / 3 };
  const truth = regressionTruth(options.seed, d);
  const random = new SeededRandom((options.seed ^ 0x0f15_4e12) >>> 0);
  const k = d + 1;
  const info = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const draws = 20_000;
  const x = new Float64Array(k);
  for (let s = 0; s < draws; s++) {
    let z = truth.bias;
    for (let j = 0; j < d; j++) {
      x[j] = random.next() * 2 - 1;
      z += truth.weights[j]! * x[j]!;
    }
    x[d] = 1;
    const p = 1 / (1 + Math.exp(-z));
    const w = (p * (1 - p)) / draws;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) info[a]![b]! += w * x[a]! * x[b]!;
  }
  const inverse = invertMatrix(info);
  let trace = 0;
  for (let a = 0; a < k; a++) trace += inverse[a]![a]!;
  // The largest eigenvalue of I⁻¹ (power iteration) is 1 / the smallest of I.
  let v = new Array<number>(k).fill(1);
  let lambda = 0;
  for (let it = 0; it < 500; it++) {
    const next = inverse.map((row) => row.reduce((t, a, j) => t + a * v[j]!, 0));
    const norm = Math.hypot(...next);
    v = next.map((c) => c / norm);
    lambda = norm;
  }
  return { expectedError: Math.sqrt(trace / options.rows), curvature: 1 / lambda };
}

/** Solves A x = b by Gaussian elimination with partial pivoting (A is k×k). */
export function solveLinear(a: number[][], b: number[]): number[] {
  const k = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (m[pivot]![col] === 0) throw new RangeError('singular matrix');
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    const p = m[col]!;
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const row = m[r]!;
      const f = row[col]! / p[col]!;
      if (f !== 0) for (let c = col; c <= k; c++) row[c]! -= f * p[c]!;
    }
  }
  return m.map((row, i) => row[k]! / row[i]!);
}

/** The inverse of a k×k matrix. */
export function invertMatrix(a: number[][]): number[][] {
  const k = a.length;
  const columns = Array.from({ length: k }, (_, j) => solveLinear(a, Array.from({ length: k }, (_, i) => (i === j ? 1 : 0))));
  return Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => columns[j]![i]!));
}
