import { RecordCodec, SAMPLE_SCHEMA, compilePredicate, definePlugin, type Condition, type Schema } from '../engine/plugin-api';

export interface AggregateRequest {
  schema: Schema;
  /** The numeric column to aggregate. */
  column: string;
  /** Group by this column (any type); one group when absent. */
  groupBy?: string;
  /** With a numeric `groupBy`: group by its value modulo this (sweeps the number of groups). */
  groupModulo?: number;
  /** Only rows matching all conditions. */
  where?: Condition[];
}

/** Mergeable per-group state: count, mean and M2 (Chan et al.), so stddev stays accurate. */
export interface GroupState {
  n: number;
  mean: number;
  m2: number;
  sum: number;
  min: number;
  max: number;
}

export interface GroupResult {
  group: string;
  count: number;
  sum: number;
  avg: number;
  min: number;
  max: number;
  /** Sample standard deviation (n - 1); 0 for a single row. */
  stddev: number;
}

function combine(a: GroupState, b: GroupState): GroupState {
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  return { n, mean: a.mean + (delta * b.n) / n, m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n, sum: a.sum + b.sum, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}

/** count, sum, avg, min, max and stddev of a column, optionally per group. */
export default definePlugin({
  name: 'aggregate',
  version: '1.1.0',
  apiVersion: 1,
  description: 'count/sum/avg/min/max/stddev of a numeric column, optionally grouped by another column.',
  async handle(request: AggregateRequest, ctx): Promise<Record<string, GroupState>> {
    const codec = new RecordCodec(request.schema);
    const value = codec.numberAccessor(request.column);
    const column = request.groupBy ? codec.accessor(request.groupBy) : undefined;
    const modulo = request.groupModulo;
    const group = column && modulo ? (b: Uint8Array) => Math.floor(Number(column(b))) % modulo : column;
    const matches = compilePredicate(codec, request.where);
    const groups = new Map<string, GroupState>();
    const visitor = (_key: Uint8Array, row: Uint8Array): void => {
      if (!matches(row)) return;
      const key = group ? String(group(row)) : '';
      const x = value(row);
      const g = groups.get(key);
      if (!g) {
        groups.set(key, { n: 1, mean: x, m2: 0, sum: x, min: x, max: x });
        return;
      }
      // Welford's update.
      g.n++;
      const delta = x - g.mean;
      g.mean += delta / g.n;
      g.m2 += delta * (x - g.mean);
      g.sum += x;
      if (x < g.min) g.min = x;
      if (x > g.max) g.max = x;
    };
    for (const range of ctx.ranges) await ctx.storage.visit(range, visitor);
    return Object.fromEntries(groups);
  },
  merge(parts: Array<Record<string, GroupState>>): GroupResult[] {
    const total = new Map<string, GroupState>();
    for (const part of parts) {
      for (const [key, state] of Object.entries(part)) {
        const seen = total.get(key);
        total.set(key, seen ? combine(seen, state) : state);
      }
    }
    return [...total]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([group, s]) => ({ group, count: s.n, sum: s.sum, avg: s.mean, min: s.min, max: s.max, stddev: s.n > 1 ? Math.sqrt(s.m2 / (s.n - 1)) : 0 }));
  },
  cost: {
    // One group: the same scan with the smallest result; a group per row: the largest.
    scanOnly: ({ groupBy: _groupBy, groupModulo: _groupModulo, ...oneGroup }) => oneGroup,
    resultHeavy: ({ schema, column }) => (schema.columns.some((c) => c.name === 'id') ? { schema, column, groupBy: 'id' } : null),
    partialItems: (partial, request) => {
      const groups = Object.values(partial);
      return { items: groups.length, scaling: 'distinct', frequencies: groups.map((g) => g.n), ...(request.groupModulo ? { upperBound: request.groupModulo } : {}) };
    },
    rowsReturned: (result) => result.length,
    rowsMatched: (result) => result.reduce((n, g) => n + g.count, 0),
  },
  examples: [
    { name: 'amount overall', request: { schema: SAMPLE_SCHEMA, column: 'amount' } },
    { name: 'amount by category', request: { schema: SAMPLE_SCHEMA, column: 'amount', groupBy: 'category' } },
    { name: 'quantity by flag where amount > 250', request: { schema: SAMPLE_SCHEMA, column: 'quantity', groupBy: 'flag', where: [{ column: 'amount', op: '>', value: 250 }] } },
    { name: 'amount by id modulo 97', request: { schema: SAMPLE_SCHEMA, column: 'amount', groupBy: 'id', groupModulo: 97 } },
  ],
});
