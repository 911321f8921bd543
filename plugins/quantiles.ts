import { RecordCodec, SAMPLE_SCHEMA, compilePredicate, definePlugin, type Condition, type Schema } from '../engine/plugin-api';

/**
 * quantiles: approximate quantiles of a numeric column with a mergeable DDSketch-style sketch
 * (Masson, Rim, Lee: "DDSketch", VLDB 2019).
 *
 * Why it is interesting for pushdown: exact quantiles need every value in one place (client mode
 * pulls every row); the sketch needs a few hundred bucket counts per region whatever the row count,
 * and merging sketches is adding counts, so pushdown ships kilobytes instead of the data.
 *
 * The sketch. gamma = (1 + alpha) / (1 − alpha). A value x with |x| ≥ ZERO_THRESHOLD (1e-12) goes
 * into bucket i = ceil(log(|x|) / log(gamma)) (which holds |x| in (gamma^(i−1), gamma^i]) of the
 * positive store (x > 0) or the mirrored negative store (x < 0); smaller |x| go to the zero count.
 * A bucket stands for the value 2·gamma^i / (gamma + 1) (negated in the negative store), which is
 * within relative error alpha of every value of the bucket. Merging adds counts, so the answer does
 * not depend on how rows are split into regions (min, max and counts are exact). NaN and ±Infinity
 * are not sketched (counted in `ignored`). A `bool` column reads as 0/1.
 *
 * The guarantee. Let x(0) ≤ … ≤ x(n−1) be the n sketched values in ascending order. For quantile q
 * the answer is for the order statistic x(r), r = floor(q·(n − 1)) (0-based rank). The returned
 * value v satisfies |v − x(r)| ≤ alpha·|x(r)| when |x(r)| ≥ 1e-12 (up to floating-point rounding of
 * the logarithm at bucket edges, ~1e-15 relative), and |v − x(r)| < 1e-12 otherwise. r = 0 and
 * r = n − 1 return the exact min and max; other answers are clamped into [min, max].
 */
export interface QuantilesRequest {
  schema: Schema;
  /** Numeric column (f64, i32, u32 or bool). */
  column: string;
  /** Quantiles in [0, 1]; default [0.5, 0.9, 0.99]. */
  quantiles?: number[];
  /** Relative accuracy in [1e-4, 0.5]; default 0.01. */
  alpha?: number;
  /** Only rows matching all these conditions. */
  where?: Condition[];
}

/**
 * One store of the sketch, compact for the wire: bucket indexes ascending and delta-encoded (the
 * first absolute, then differences, mostly 1), with their counts.
 */
export interface BucketStore {
  index: number[];
  count: number[];
}

export interface QuantilesPartial {
  /** Values sketched (zero + both stores). */
  n: number;
  zero: number;
  positive: BucketStore;
  negative: BucketStore;
  /** Exact extremes; null when n = 0. */
  min: number | null;
  max: number | null;
  /** Matching rows whose value was NaN or infinite. */
  ignored: number;
}

export interface QuantilesResult {
  /** Values sketched. */
  count: number;
  alpha: number;
  /** `value` is null when no value was sketched. */
  quantiles: Array<{ q: number; value: number | null }>;
  min: number | null;
  max: number | null;
  ignored: number;
}

export const DEFAULT_QUANTILES = [0.5, 0.9, 0.99];
export const DEFAULT_ALPHA = 0.01;
/** |x| below this counts as zero. */
export const ZERO_THRESHOLD = 1e-12;
/** Widest span of bucket indexes counted in a dense array (more: a Map). */
const MAX_DENSE_SPAN = 1 << 16;

function check(request: QuantilesRequest): { alpha: number; quantiles: number[] } {
  const alpha = request.alpha ?? DEFAULT_ALPHA;
  if (typeof alpha !== 'number' || !(alpha >= 1e-4 && alpha <= 0.5)) throw new Error(`quantiles: alpha must be a number in [0.0001, 0.5], got ${JSON.stringify(request.alpha)}`);
  const quantiles = request.quantiles ?? DEFAULT_QUANTILES;
  if (!Array.isArray(quantiles) || quantiles.length === 0) throw new Error(`quantiles: quantiles must be a non-empty list of numbers in [0, 1], got ${JSON.stringify(request.quantiles)}`);
  for (const q of quantiles) if (typeof q !== 'number' || !(q >= 0 && q <= 1)) throw new Error(`quantiles: each quantile must be a number in [0, 1], got ${JSON.stringify(q)}`);
  if (typeof request.column !== 'string') throw new Error(`quantiles: column must name a numeric column, got ${JSON.stringify(request.column)}`);
  return { alpha, quantiles };
}

/**
 * Bucket counts while scanning: a dense array over the span of indexes seen (a slot per bucket, the
 * fast path: cheaper than a Map lookup per row), or a Map once the span passes MAX_DENSE_SPAN
 * (values over very many orders of magnitude at a small alpha), so memory stays bounded.
 */
class CountingStore {
  private counts: number[] = [];
  private offset = 0;
  private sparse: Map<number, number> | null = null;

  add(i: number): void {
    const slot = i - this.offset;
    if (slot >= 0 && slot < this.counts.length) {
      this.counts[slot]!++;
      return;
    }
    this.addSlow(i);
  }

  private addSlow(i: number): void {
    if (this.sparse) {
      this.sparse.set(i, (this.sparse.get(i) ?? 0) + 1);
      return;
    }
    if (this.counts.length === 0) {
      this.offset = i;
      this.counts = [1];
      return;
    }
    const lo = Math.min(i, this.offset);
    const hi = Math.max(i, this.offset + this.counts.length - 1);
    if (hi - lo + 1 > MAX_DENSE_SPAN) {
      this.sparse = this.toMap();
      this.counts = []; // every later add takes the slow path to the Map
      this.sparse.set(i, (this.sparse.get(i) ?? 0) + 1);
      return;
    }
    if (i < this.offset) {
      // Grow downwards at least by doubling, so values arriving in descending order cost O(1) each.
      const grow = Math.max(this.offset - i, this.counts.length);
      this.counts = [...new Array<number>(grow).fill(0), ...this.counts];
      this.offset -= grow;
    } else while (this.offset + this.counts.length <= i) this.counts.push(0);
    this.counts[i - this.offset]!++;
  }

  private toMap(): Map<number, number> {
    const map = new Map<number, number>();
    this.counts.forEach((c, slot) => c > 0 && map.set(slot + this.offset, c));
    return map;
  }

  total(): number {
    let n = 0;
    for (const c of this.sparse ? this.sparse.values() : this.counts) n += c;
    return n;
  }

  /** Occupied buckets, ascending, delta-encoded. */
  encode(): BucketStore {
    const map = this.sparse ?? this.toMap();
    const sorted = [...map.keys()].sort((a, b) => a - b);
    return { index: sorted.map((key, i) => (i === 0 ? key : key - sorted[i - 1]!)), count: sorted.map((key) => map.get(key)!) };
  }
}

function addStore(into: Map<number, number>, store: BucketStore): void {
  let key = 0;
  for (let i = 0; i < store.index.length; i++) {
    key = i === 0 ? store.index[0]! : key + store.index[i]!;
    into.set(key, (into.get(key) ?? 0) + store.count[i]!);
  }
}

/** The bucket (a sketch store and its buckets' value) holding rank r, ascending by value. */
function valueAtRank(r: number, zero: number, positive: Map<number, number>, negative: Map<number, number>, gamma: number): number {
  const represent = (i: number): number => (2 * Math.pow(gamma, i)) / (gamma + 1);
  let seen = 0;
  // Negative values ascending: the largest |x| (highest bucket index) first.
  for (const i of [...negative.keys()].sort((a, b) => b - a)) {
    seen += negative.get(i)!;
    if (r < seen) return -represent(i);
  }
  seen += zero;
  if (r < seen) return 0;
  for (const i of [...positive.keys()].sort((a, b) => a - b)) {
    seen += positive.get(i)!;
    if (r < seen) return represent(i);
  }
  throw new Error(`quantiles: rank ${r} is past the sketch's ${seen} values`);
}

/** Approximate quantiles with a relative-error guarantee (DDSketch), mergeable across regions. */
export default definePlugin({
  name: 'quantiles',
  version: '1.0.0',
  apiVersion: 1,
  description: 'Approximate quantiles of a numeric column (DDSketch: relative error ≤ alpha), exact min/max; per-region sketches merged by adding bucket counts.',
  async handle(request: QuantilesRequest, ctx): Promise<QuantilesPartial> {
    const { alpha } = check(request);
    const codec = new RecordCodec(request.schema);
    const read = codec.numberAccessor(request.column);
    const matches = compilePredicate(codec, request.where);
    const logGamma = Math.log((1 + alpha) / (1 - alpha));
    const positive = new CountingStore();
    const negative = new CountingStore();
    let zero = 0;
    let ignored = 0;
    let min = Infinity;
    let max = -Infinity;
    const visitor = (_key: Uint8Array, value: Uint8Array): void => {
      if (!matches(value)) return;
      const x = read(value);
      if (!Number.isFinite(x)) {
        ignored++;
        return;
      }
      if (x < min) min = x;
      if (x > max) max = x;
      if (x >= ZERO_THRESHOLD) positive.add(Math.ceil(Math.log(x) / logGamma));
      else if (x <= -ZERO_THRESHOLD) negative.add(Math.ceil(Math.log(-x) / logGamma));
      else zero++;
    };
    for (const range of ctx.ranges) await ctx.storage.visit(range, visitor);
    const n = zero + positive.total() + negative.total();
    return { n, zero, positive: positive.encode(), negative: negative.encode(), min: n > 0 ? min : null, max: n > 0 ? max : null, ignored };
  },
  merge(parts: QuantilesPartial[], request: QuantilesRequest): QuantilesResult {
    const { alpha, quantiles } = check(request);
    const gamma = (1 + alpha) / (1 - alpha);
    const positive = new Map<number, number>();
    const negative = new Map<number, number>();
    let n = 0;
    let zero = 0;
    let ignored = 0;
    let min: number | null = null;
    let max: number | null = null;
    for (const part of parts) {
      n += part.n;
      zero += part.zero;
      ignored += part.ignored;
      addStore(positive, part.positive);
      addStore(negative, part.negative);
      if (part.min !== null && (min === null || part.min < min)) min = part.min;
      if (part.max !== null && (max === null || part.max > max)) max = part.max;
    }
    const answer = (q: number): number | null => {
      if (n === 0 || min === null || max === null) return null;
      const r = Math.floor(q * (n - 1));
      if (r <= 0) return min;
      if (r >= n - 1) return max;
      return Math.min(max, Math.max(min, valueAtRank(r, zero, positive, negative, gamma)));
    };
    return { count: n, alpha, quantiles: quantiles.map((q) => ({ q, value: answer(q) })), min, max, ignored };
  },
  cost: {
    // The partial is a sketch of a few hundred buckets whatever the rows: the request is already scan-only.
    scanOnly: (request) => request,
    resultHeavy: () => null,
    // One entry per occupied bucket: distinct values (buckets), with the rows in each.
    partialItems: (partial) => ({ items: partial.positive.count.length + partial.negative.count.length, scaling: 'distinct', frequencies: [...partial.positive.count, ...partial.negative.count] }),
    rowsReturned: (result) => result.quantiles.length,
    rowsMatched: (result) => result.count + result.ignored,
  },
  examples: [
    { name: 'median, p90, p99 of amount', request: { schema: SAMPLE_SCHEMA, column: 'amount' } },
    { name: 'quartiles of quantity (integers, zeros) at alpha 0.001', request: { schema: SAMPLE_SCHEMA, column: 'quantity', quantiles: [0, 0.25, 0.5, 0.75, 1], alpha: 0.001 } },
    { name: 'deciles of amount in category c7 with flag, alpha 0.05', request: { schema: SAMPLE_SCHEMA, column: 'amount', quantiles: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], alpha: 0.05, where: [{ column: 'category', op: '==', value: 'c7' }, { column: 'flag', op: '==', value: true }] } },
    { name: 'nothing matches', request: { schema: SAMPLE_SCHEMA, column: 'id', where: [{ column: 'amount', op: '<', value: -1 }] } },
  ],
});
