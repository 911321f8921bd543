import { RecordCodec, SAMPLE_SCHEMA, compilePredicate, definePlugin, type Condition, type PluginContext, type Schema } from '../engine/plugin-api';

/**
 * One full-batch gradient evaluation of a linear or logistic regression model at given weights.
 * The client keeps the weights and steps them once per epoch (gradient descent):
 *   w ← w − learningRate · gradient / n,   b ← b − learningRate · gradientBias / n.
 * With `local`, each region also trains a copy of the model itself (local SGD / model averaging):
 * `local.epochs` passes of mini-batch gradient descent over its own rows, from the request's
 * weights, and the merge averages the regions' models weighted by their rows. A round is then one
 * call per region instead of one per epoch. Unlike the gradient sums, the averaged model depends on
 * how the rows are split into regions (as local SGD does by design), so it has no conformance
 * example (whose answers must not depend on the split); workloads/families/ml-train/local-sgd.test.ts
 * checks it against full-batch descent.
 */
export interface SgdRequest {
  schema: Schema;
  /** Numeric feature columns (f64, i32, u32 or bool), in the order of `weights`. */
  features: string[];
  /** The target column: any number for `linear`; 0/1 (or a bool column) for `logistic`. Ignored when `labelWhere` is given. */
  target: string;
  /** Logistic: the label is 1 for rows matching all these conditions, else 0 (e.g. delay >= 15), instead of `target`. */
  labelWhere?: Condition[];
  /** Feature scaling: each feature is used as (x − offset[j]) · factor[j] (e.g. standardisation: offset = mean, factor = 1/stddev). */
  scale?: { offset: number[]; factor: number[] };
  task: 'linear' | 'logistic';
  weights: number[];
  bias: number;
  /** L2 penalty (l2/2)·‖w‖² on the weights (not the bias) added to the mean loss; default 0. */
  l2?: number;
  /** Local SGD: train in each region too, and merge the regions' models (see above). */
  local?: LocalSgd;
}

/** Local training in a region: `epochs` passes over its rows in key order, in mini-batches of `batchRows`. */
export interface LocalSgd {
  epochs: number;
  batchRows: number;
  /** Step per mini-batch: w ← w − learningRate · (mean gradient of the batch + l2 · w). */
  learningRate: number;
}

/** A model: weights per feature and a bias. */
export interface SgdModel {
  weights: number[];
  bias: number;
}

/** Per-region sums (mergeable by addition). */
export interface SgdPartial {
  n: number;
  /** Σ over rows of ∂loss/∂w. */
  gradient: number[];
  /** Σ over rows of ∂loss/∂b. */
  gradientBias: number;
  /** Σ over rows of the loss: r²/2 (linear) or the log-loss (logistic). */
  loss: number;
  /** Rows whose predicted class (sigmoid ≥ 0.5) equals the label; 0 for linear. */
  correct: number;
  /** With `local`: the region's model after its local epochs. */
  local?: SgdModel;
}

export interface SgdResult {
  /** Rows seen. */
  n: number;
  /**
   * Σ over rows of ∂loss/∂w, plus n·l2·w: `gradient / n` is the gradient of the mean regularised
   * loss (what a descent step uses).
   */
  gradient: number[];
  /** Σ over rows of ∂loss/∂b (the bias is not regularised). */
  gradientBias: number;
  /** Mean loss per row plus (l2/2)·‖w‖² (0 when n = 0). */
  loss: number;
  /** Logistic: fraction of rows classified correctly; linear: null. */
  accuracy: number | null;
  /** With `local`: the regions' local models averaged, weighted by their rows (the next round's model). */
  averaged?: SgdModel;
}

function check(request: SgdRequest): void {
  if (request.task !== 'linear' && request.task !== 'logistic') throw new Error(`sgd: task must be 'linear' or 'logistic', got ${JSON.stringify(request.task)}`);
  if (!Array.isArray(request.features) || request.features.length === 0) throw new Error('sgd: features must name at least one numeric column');
  if (!Array.isArray(request.weights) || request.weights.length !== request.features.length) {
    throw new Error(`sgd: weights must have one number per feature (${request.features.length}), got ${Array.isArray(request.weights) ? request.weights.length : JSON.stringify(request.weights)}`);
  }
  for (const w of [...request.weights, request.bias]) if (typeof w !== 'number' || !Number.isFinite(w)) throw new Error(`sgd: weights and bias must be finite numbers, got ${String(w)}`);
  if (request.labelWhere !== undefined && request.task !== 'logistic') throw new Error('sgd: labelWhere defines a 0/1 label: it needs task logistic');
  const local = request.local;
  if (local !== undefined) {
    const positiveInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
    if (!positiveInt(local.epochs) || !positiveInt(local.batchRows) || !(typeof local.learningRate === 'number' && local.learningRate > 0 && Number.isFinite(local.learningRate))) {
      throw new Error(`sgd: local needs epochs and batchRows (integers > 0) and a learningRate > 0, got ${JSON.stringify(local)}`);
    }
  }
  const scale = request.scale;
  if (scale !== undefined) {
    const d = request.features.length;
    const ok = (xs: unknown): boolean => Array.isArray(xs) && xs.length === d && xs.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!ok(scale.offset) || !ok(scale.factor)) throw new Error(`sgd: scale.offset and scale.factor must each hold ${d} finite numbers (one per feature)`);
  }
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * A region's rows decoded once: the scaled features row by row (x[i·d + j]) and the labels, as the
 * gradient loop reads them. Kept in ctx.state across a session's calls, so later epochs skip the
 * scan and the decoding (the per-row cost of the old loop) and only do the arithmetic.
 */
interface DecodedRows {
  n: number;
  x: Float64Array;
  t: Float64Array;
}

/** Everything besides the region's rows that the decoded columns depend on (the state key). */
function decodingKey(request: SgdRequest): string {
  const { schema, features, target, labelWhere, scale, task } = request;
  return `sgd.rows:${JSON.stringify({ schema, features, target, labelWhere, scale, task })}`;
}

/** Scans the call's ranges once and decodes features (scaled) and labels into typed arrays. */
async function decodeRows(request: SgdRequest, ctx: PluginContext): Promise<DecodedRows> {
  const codec = new RecordCodec(request.schema);
  const readers = request.features.map((f) => codec.numberAccessor(f));
  const labelled = request.labelWhere ? compilePredicate(codec, request.labelWhere) : undefined;
  const readTarget = labelled ? (v: Uint8Array): number => (labelled(v) ? 1 : 0) : codec.numberAccessor(request.target);
  const d = readers.length;
  const offset = Float64Array.from(request.scale?.offset ?? new Array<number>(d).fill(0));
  const factor = Float64Array.from(request.scale?.factor ?? new Array<number>(d).fill(1));
  const logistic = request.task === 'logistic';
  let x = new Float64Array(1024 * d);
  let t = new Float64Array(1024);
  let n = 0;
  const visitor = (_key: Uint8Array, v: Uint8Array): void => {
    if (n === t.length) {
      const grownX = new Float64Array(2 * t.length * d);
      grownX.set(x);
      x = grownX;
      const grownT = new Float64Array(2 * t.length);
      grownT.set(t);
      t = grownT;
    }
    const base = n * d;
    for (let j = 0; j < d; j++) x[base + j] = (Number(readers[j]!(v)) - offset[j]!) * factor[j]!; // Number(): bool columns read as true/false
    const label = Number(readTarget(v));
    if (logistic && label !== 0 && label !== 1) throw new Error(`sgd: logistic regression needs a 0/1 target, column '${request.target}' holds ${label}`);
    t[n] = label;
    n++;
  };
  for (const range of ctx.ranges) await ctx.storage.visit(range, visitor);
  // Exact-size copies: state is charged by its bytes, and spare capacity would be held for the session.
  return { n, x: x.slice(0, n * d), t: t.slice(0, n) };
}

/** Gradient, loss and correct predictions over decoded rows at the request's weights. */
function gradientSums(request: SgdRequest, rows: DecodedRows): SgdPartial {
  const d = request.features.length;
  const { n, x, t } = rows;
  const w = Float64Array.from(request.weights);
  const g = new Float64Array(d);
  const bias = request.bias;
  const logistic = request.task === 'logistic';
  let gb = 0;
  let loss = 0;
  let correct = 0;
  // The same operations in the same order as summing while scanning, so the sums are bit-identical
  // whether the rows come from state, a fresh scan in-node, or the wire.
  for (let i = 0; i < n; i++) {
    const base = i * d;
    let z = bias;
    for (let j = 0; j < d; j++) z += w[j]! * x[base + j]!;
    const label = t[i]!;
    let r: number;
    if (logistic) {
      loss += softplus(z) - label * z;
      r = sigmoid(z) - label;
      if ((z >= 0 ? 1 : 0) === label) correct++;
    } else {
      r = z - label;
      loss += 0.5 * r * r;
    }
    gb += r;
    for (let j = 0; j < d; j++) g[j]! += r * x[base + j]!;
  }
  return { n, gradient: Array.from(g), gradientBias: gb, loss, correct };
}

/**
 * Local epochs of mini-batch gradient descent over a region's rows, from the request's model: rows
 * in key order (deterministic, so both modes and every repetition train the same), each batch's
 * mean gradient plus the L2 term.
 */
function trainLocally(request: SgdRequest, local: LocalSgd, rows: DecodedRows): SgdModel {
  const d = request.features.length;
  const { n, x, t } = rows;
  const w = Float64Array.from(request.weights);
  let bias = request.bias;
  const g = new Float64Array(d);
  const logistic = request.task === 'logistic';
  const l2 = request.l2 ?? 0;
  for (let epoch = 0; epoch < local.epochs; epoch++) {
    for (let start = 0; start < n; start += local.batchRows) {
      const end = Math.min(n, start + local.batchRows);
      g.fill(0);
      let gb = 0;
      for (let i = start; i < end; i++) {
        const base = i * d;
        let z = bias;
        for (let j = 0; j < d; j++) z += w[j]! * x[base + j]!;
        const r = logistic ? sigmoid(z) - t[i]! : z - t[i]!;
        gb += r;
        for (let j = 0; j < d; j++) g[j]! += r * x[base + j]!;
      }
      const m = end - start;
      for (let j = 0; j < d; j++) w[j] = w[j]! - local.learningRate * (g[j]! / m + l2 * w[j]!);
      bias -= local.learningRate * (gb / m);
    }
  }
  return { weights: Array.from(w), bias };
}

/** The regions' local models averaged, weighted by their rows (regions without rows do not count). */
function averageModels(parts: SgdPartial[], request: SgdRequest): SgdModel {
  const d = request.features.length;
  const weights = new Array<number>(d).fill(0);
  let bias = 0;
  let n = 0;
  for (const p of parts) {
    if (!p.local || p.n === 0) continue;
    n += p.n;
    bias += p.n * p.local.bias;
    for (let j = 0; j < d; j++) weights[j]! += p.n * p.local.weights[j]!;
  }
  if (n === 0) return { weights: [...request.weights], bias: request.bias };
  return { weights: weights.map((w) => w / n), bias: bias / n };
}

/** Linear (squared error) or logistic (log-loss) regression: per-region gradient sums, merged per epoch. */
export default definePlugin({
  name: 'sgd',
  version: '1.3.0',
  apiVersion: 1,
  description: 'Gradient of linear (MSE/2) or logistic (log-loss) regression at given weights: per-region sums of gradient, loss and correct predictions. In a session the decoded rows stay in ctx.state between epochs.',
  async handle(request: SgdRequest, ctx): Promise<SgdPartial> {
    check(request);
    const key = decodingKey(request);
    let rows = ctx.state.get<DecodedRows>(key);
    if (!rows) {
      rows = await decodeRows(request, ctx);
      ctx.state.set(key, rows, rows.x.byteLength + rows.t.byteLength);
    }
    const sums = gradientSums(request, rows);
    return request.local && rows.n > 0 ? { ...sums, local: trainLocally(request, request.local, rows) } : sums;
  },
  merge(parts: SgdPartial[], request: SgdRequest): SgdResult {
    const d = request.features.length;
    const gradient = new Array<number>(d).fill(0);
    let n = 0;
    let gradientBias = 0;
    let loss = 0;
    let correct = 0;
    for (const p of parts) {
      n += p.n;
      gradientBias += p.gradientBias;
      loss += p.loss;
      correct += p.correct;
      for (let j = 0; j < d; j++) gradient[j]! += p.gradient[j]!;
    }
    const l2 = request.l2 ?? 0;
    let norm2 = 0;
    for (let j = 0; j < d; j++) {
      const wj = request.weights[j]!;
      norm2 += wj * wj;
      if (l2 !== 0) gradient[j]! += n * l2 * wj;
    }
    return {
      n,
      gradient,
      gradientBias,
      loss: n > 0 ? loss / n + (l2 / 2) * norm2 : 0,
      accuracy: request.task === 'logistic' ? (n > 0 ? correct / n : 0) : null,
      ...(request.local ? { averaged: averageModels(parts, request) } : {}),
    };
  },
  examples: [
    { name: 'linear: amount ~ amount, quantity', request: { schema: SAMPLE_SCHEMA, features: ['amount', 'quantity'], target: 'amount', task: 'linear', weights: [0.5, 2], bias: 1 } },
    { name: 'logistic: flag ~ amount, quantity with l2', request: { schema: SAMPLE_SCHEMA, features: ['amount', 'quantity'], target: 'flag', task: 'logistic', weights: [0.002, -0.1], bias: -0.5, l2: 0.01 } },
    {
      name: 'logistic on scaled features: amount > 500 ~ quantity, flag',
      request: { schema: SAMPLE_SCHEMA, features: ['quantity', 'flag'], target: 'amount', labelWhere: [{ column: 'amount', op: '>', value: 500 }], scale: { offset: [4.5, 0.33], factor: [0.35, 2.1] }, task: 'logistic', weights: [0.3, -0.2], bias: 0.1 },
    },
  ],
});
