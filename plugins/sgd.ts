import { RecordCodec, SAMPLE_SCHEMA, compilePredicate, definePlugin, type Condition, type PluginContext, type Schema } from '../engine/plugin-api';

/**
 * One full-batch gradient evaluation of a linear or logistic regression model at given weights.
 * The client keeps the weights and steps them once per epoch (gradient descent):
 *   w ← w − learningRate · gradient / n,   b ← b − learningRate · gradientBias / n.
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
}

function check(request: SgdRequest): void {
  if (request.task !== 'linear' && request.task !== 'logistic') throw new Error(`sgd: task must be 'linear' or 'logistic', got ${JSON.stringify(request.task)}`);
  if (!Array.isArray(request.features) || request.features.length === 0) throw new Error('sgd: features must name at least one numeric column');
  if (!Array.isArray(request.weights) || request.weights.length !== request.features.length) {
    throw new Error(`sgd: weights must have one number per feature (${request.features.length}), got ${Array.isArray(request.weights) ? request.weights.length : JSON.stringify(request.weights)}`);
  }
  for (const w of [...request.weights, request.bias]) if (typeof w !== 'number' || !Number.isFinite(w)) throw new Error(`sgd: weights and bias must be finite numbers, got ${String(w)}`);
  if (request.labelWhere !== undefined && request.task !== 'logistic') throw new Error('sgd: labelWhere defines a 0/1 label: it needs task logistic');
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
  for (const range of ctx.ranges) {
    for await (const batch of ctx.storage.scan(range)) {
      if (n + batch.length > t.length) {
        const capacity = Math.max(2 * t.length, n + batch.length);
        const grownX = new Float64Array(capacity * d);
        grownX.set(x);
        x = grownX;
        const grownT = new Float64Array(capacity);
        grownT.set(t);
        t = grownT;
      }
      for (const row of batch) {
        const v = row.value;
        const base = n * d;
        for (let j = 0; j < d; j++) x[base + j] = (Number(readers[j]!(v)) - offset[j]!) * factor[j]!; // Number(): bool columns read as true/false
        const label = Number(readTarget(v));
        if (logistic && label !== 0 && label !== 1) throw new Error(`sgd: logistic regression needs a 0/1 target, column '${request.target}' holds ${label}`);
        t[n] = label;
        n++;
      }
    }
  }
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

/** Linear (squared error) or logistic (log-loss) regression: per-region gradient sums, merged per epoch. */
export default definePlugin({
  name: 'sgd',
  version: '1.2.0',
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
    return gradientSums(request, rows);
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
