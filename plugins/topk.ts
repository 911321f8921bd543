import { RecordCodec, SAMPLE_SCHEMA, compareBytes, compilePredicate, copyBytes, definePlugin, packBytes, unpackBytes, type Condition, type PackedBytes, type Schema } from '../engine/plugin-api';

/**
 * top-k: the k rows with the largest (`desc`, default) or smallest (`asc`) value of a numeric
 * column, optionally among the rows matching `where`.
 *
 * Why it is interesting for pushdown: every row is read, but each region sends back at most k rows
 * however many it holds, so the answer's size is set by k, not by the data. A small k ships almost
 * nothing (pushdown wins by the whole data volume); a k near the row count ships everything and
 * adds a heap's work on the node (the client-side pull is then nearly as cheap).
 *
 * Order: by value, then by key in byte order (ascending, in both directions), so ties are broken
 * the same way whatever the partition into regions: a region keeps its own best k (a bounded heap),
 * and the merge keeps the best k of the union, which is the best k overall. Rows whose value is NaN
 * are never ranked (they still count as matched). A `bool` column ranks as 0/1.
 */
export interface TopkRequest {
  schema: Schema;
  /** Numeric column to rank by (f64, i32, u32 or bool). */
  column: string;
  /** How many rows to keep: a positive integer ≤ 1 000 000. */
  k: number;
  /** Only rows matching all these conditions. */
  where?: Condition[];
  /** `desc` (default): largest values first; `asc`: smallest first. */
  order?: 'desc' | 'asc';
}

/** The best rows, best first; `values[i]` is `rows[i]`'s column value. */
export interface TopkResult {
  /** Rows that matched `where` (all rows without it), before keeping the best k. */
  matched: number;
  rows: Array<[key: Uint8Array, value: Uint8Array]>;
  values: number[];
}

/**
 * What a region sends: its best rows, best first, with keys and record values each packed into
 * one buffer (PackedBytes): msgpack handles two buffers instead of two per row, which for large k
 * is most of the partial's cost.
 */
export interface TopkPartial {
  matched: number;
  keys: PackedBytes;
  valueBytes: PackedBytes;
  values: number[];
}

export const MAX_K = 1_000_000;

function check(request: TopkRequest): void {
  const { k, order } = request;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K) throw new Error(`topk: k must be an integer from 1 to ${MAX_K}, got ${JSON.stringify(k)}`);
  if (order !== undefined && order !== 'desc' && order !== 'asc') throw new Error(`topk: order must be 'desc' or 'asc', got ${JSON.stringify(order)}`);
  if (typeof request.column !== 'string') throw new Error(`topk: column must name a numeric column, got ${JSON.stringify(request.column)}`);
}

/**
 * A bounded min-heap of the best k rows so far, scored so that larger is better (the value, or its
 * negation for `asc`: negation is exact, so the value is recovered bit for bit). The root is the
 * worst kept row: a new row replaces it only when better, so once the heap is full most rows cost
 * one comparison. (A 2k buffer pruned by quickselect measured slower at every k.)
 */
class BoundedHeap {
  private readonly scores: number[] = [];
  private readonly keys: Uint8Array[] = [];
  private readonly values: Uint8Array[] = [];

  constructor(private readonly k: number) {}

  /** True when row a (score sa, key ka) ranks worse than row b: a lower score, or the same and a higher key. */
  private static worse(sa: number, ka: Uint8Array, sb: number, kb: Uint8Array): boolean {
    return sa < sb || (sa === sb && compareBytes(ka, kb) > 0);
  }

  offer(score: number, key: Uint8Array, value: Uint8Array): void {
    const n = this.scores.length;
    if (n < this.k) {
      // Rows are only collected until there are k of them; the heap is built once, in O(k).
      this.scores.push(score);
      this.keys.push(copyBytes(key));
      this.values.push(copyBytes(value));
      if (n + 1 === this.k) for (let i = (this.k >> 1) - 1; i >= 0; i--) this.siftDown(i);
      return;
    }
    // The common case: no better than the worst kept row.
    if (BoundedHeap.worse(score, key, this.scores[0]!, this.keys[0]!)) return;
    this.scores[0] = score;
    this.keys[0] = copyBytes(key);
    this.values[0] = copyBytes(value);
    this.siftDown(0);
  }

  private swap(i: number, j: number): void {
    const s = this.scores[i]!;
    this.scores[i] = this.scores[j]!;
    this.scores[j] = s;
    const key = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = key;
    const v = this.values[i]!;
    this.values[i] = this.values[j]!;
    this.values[j] = v;
  }

  /** Moves row i down to its place in the heap of the first n rows. */
  private siftDown(i: number, n = this.scores.length): void {
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && BoundedHeap.worse(this.scores[right]!, this.keys[right]!, this.scores[left]!, this.keys[left]!)) child = right;
      if (!BoundedHeap.worse(this.scores[child]!, this.keys[child]!, this.scores[i]!, this.keys[i]!)) break;
      this.swap(i, child);
      i = child;
    }
  }

  /**
   * The kept rows, best first: parallel lists of scores, keys and record values. Heap sort: the
   * root (the worst) goes to the end, repeatedly: cheaper than Array.sort with a comparator closure.
   */
  best(): { scores: number[]; keys: Uint8Array[]; values: Uint8Array[] } {
    const n = this.scores.length;
    if (n < this.k) for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i); // never filled: not a heap yet
    for (let end = n - 1; end > 0; end--) {
      this.swap(0, end);
      this.siftDown(0, end);
    }
    return { scores: this.scores, keys: this.keys, values: this.values };
  }
}

/** Merges two best-first lists into the best `k` of both (the lists are sorted the same way). */
function mergeTwo(a: TopkResult, b: TopkResult, k: number, sign: number): TopkResult {
  const rows: TopkResult['rows'] = [];
  const values: number[] = [];
  let i = 0;
  let j = 0;
  while (rows.length < k && (i < a.rows.length || j < b.rows.length)) {
    let takeA: boolean;
    if (i >= a.rows.length) takeA = false;
    else if (j >= b.rows.length) takeA = true;
    else {
      const sa = sign * a.values[i]!;
      const sb = sign * b.values[j]!;
      takeA = sa > sb || (sa === sb && compareBytes(a.rows[i]![0], b.rows[j]![0]) <= 0);
    }
    if (takeA) {
      rows.push(a.rows[i]!);
      values.push(a.values[i++]!);
    } else {
      rows.push(b.rows[j]!);
      values.push(b.values[j++]!);
    }
  }
  return { matched: a.matched + b.matched, rows, values };
}

function decodePartial(part: TopkPartial): TopkResult {
  const n = part.values.length;
  const keys = unpackBytes(part.keys, n);
  const values = unpackBytes(part.valueBytes, n);
  return { matched: part.matched, rows: keys.map((key, i) => [key, values[i]!]), values: part.values };
}

/** The k best rows by a numeric column (ties by key), per region then merged. */
export default definePlugin({
  name: 'topk',
  version: '1.0.0',
  apiVersion: 1,
  description: 'The k rows with the largest (or smallest) value of a numeric column, ties broken by key; a bounded heap per region.',
  async handle(request: TopkRequest, ctx): Promise<TopkPartial> {
    check(request);
    const codec = new RecordCodec(request.schema);
    const read = codec.numberAccessor(request.column);
    const matches = compilePredicate(codec, request.where);
    const sign = request.order === 'asc' ? -1 : 1;
    const top = new BoundedHeap(request.k);
    let matched = 0;
    const visitor = (key: Uint8Array, value: Uint8Array): void => {
      if (!matches(value)) return;
      matched++;
      const score = sign * read(value);
      if (score === score) top.offer(score, key, value); // NaN is never ranked
    };
    for (const range of ctx.ranges) await ctx.storage.visit(range, visitor);
    const best = top.best();
    return { matched, keys: packBytes(best.keys), valueBytes: packBytes(best.values), values: best.scores.map((score) => sign * score) };
  },
  merge(parts: TopkPartial[], request: TopkRequest): TopkResult {
    const sign = request.order === 'asc' ? -1 : 1;
    return parts.reduce((acc: TopkResult, part) => mergeTwo(acc, decodePartial(part), request.k, sign), { matched: 0, rows: [], values: [] });
  },
  cost: {
    // k = 1: the same scan and predicate with one row per region; a large k over every row: the largest result.
    scanOnly: (request) => ({ ...request, k: 1 }),
    resultHeavy: ({ where: _where, ...request }) => ({ ...request, k: Math.max(request.k, 100_000) }),
    // A region keeps one row per matching row until it has k: linear growth, capped at k. A partial
    // that already holds k rows on the sample holds k on the whole region too: fixed size (items 0).
    partialItems: (partial, request) => (partial.values.length >= request.k ? { items: 0, scaling: 'linear' } : { items: partial.values.length, scaling: 'linear', upperBound: request.k }),
    rowsReturned: (result) => result.rows.length,
    rowsMatched: (result) => result.matched,
  },
  examples: [
    { name: 'top 10 by amount', request: { schema: SAMPLE_SCHEMA, column: 'amount', k: 10 } },
    { name: 'bottom 25 by quantity (many ties, broken by key)', request: { schema: SAMPLE_SCHEMA, column: 'quantity', k: 25, order: 'asc' } },
    { name: 'top 500 by id among category c3 with flag', request: { schema: SAMPLE_SCHEMA, column: 'id', k: 500, where: [{ column: 'category', op: '==', value: 'c3' }, { column: 'flag', op: '==', value: true }] } },
    { name: 'k larger than the matching rows', request: { schema: SAMPLE_SCHEMA, column: 'amount', k: 5000, where: [{ column: 'amount', op: '<', value: 100 }] } },
    { name: 'top 3 by flag (bool as 0/1)', request: { schema: SAMPLE_SCHEMA, column: 'flag', k: 3 } },
  ],
});
