import { RecordCodec, SAMPLE_SCHEMA, compilePredicate, copyBytes, definePlugin, type Condition, type Schema } from '../engine/plugin-api';

export interface FilterRequest {
  schema: Schema;
  /** Conditions on record columns, all of which must hold. */
  where: Condition[];
  /** `count`: only how many rows match; `rows`: the matching rows themselves (default). */
  output?: 'count' | 'rows';
  /** Keep at most this many rows (in key order). */
  limit?: number;
}

type FilterPartial = { count: number; rows?: Array<[Uint8Array, Uint8Array]> };

export interface FilterResult {
  count: number;
  rows?: Array<[Uint8Array, Uint8Array]>;
}

/** Returns the rows (or the number of rows) whose record matches every condition. */
export default definePlugin({
  name: 'filter',
  version: '1.0.0',
  apiVersion: 1,
  description: 'Rows whose record columns satisfy a conjunction of comparisons.',
  async handle(request: FilterRequest, ctx): Promise<FilterPartial> {
    const matches = compilePredicate(new RecordCodec(request.schema), request.where);
    const keepRows = request.output !== 'count';
    const limit = request.limit ?? Infinity;
    const rows: Array<[Uint8Array, Uint8Array]> = [];
    let count = 0;
    // visit, not scan: rows are views, and only the matching ones are copied.
    const visitor = (key: Uint8Array, value: Uint8Array): void => {
      if (!matches(value)) return;
      count++;
      if (keepRows && rows.length < limit) rows.push([copyBytes(key), copyBytes(value)]);
    };
    for (const range of ctx.ranges) await ctx.storage.visit(range, visitor);
    return keepRows ? { count, rows } : { count };
  },
  merge(parts: FilterPartial[], request: FilterRequest): FilterResult {
    const count = parts.reduce((n, p) => n + p.count, 0);
    if (request.output === 'count') return { count };
    const rows = parts.flatMap((p) => p.rows ?? []);
    return { count, rows: request.limit === undefined ? rows : rows.slice(0, request.limit) };
  },
  // Without a limit, merge concatenates the regions' rows: they can be taken as they arrive.
  streamRows: (request) => (request.output === 'count' || request.limit !== undefined ? null : { field: 'rows', rows: (p) => p.rows ?? [], rest: (p) => ({ count: p.count }) }),
  cost: {
    // The same scan and predicate with the smallest result, and with every row kept.
    scanOnly: (request) => ({ ...request, output: 'count' as const }),
    resultHeavy: (request) => ({ ...request, where: [], output: 'rows' as const }),
    partialItems: (partial) => ({ items: partial.rows?.length ?? 0, scaling: 'linear' }),
    rowsReturned: (result) => (result.rows ? result.rows.length : 1),
    rowsMatched: (result) => result.count,
  },
  examples: [
    { name: 'count amount > 500', request: { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: 500 }], output: 'count' } },
    { name: 'rows of category c3 with flag', request: { schema: SAMPLE_SCHEMA, where: [{ column: 'category', op: '==', value: 'c3' }, { column: 'flag', op: '==', value: true }] } },
    { name: 'first 50 rows with quantity <= 2', request: { schema: SAMPLE_SCHEMA, where: [{ column: 'quantity', op: '<=', value: 2 }], limit: 50 } },
    { name: 'nothing matches', request: { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '<', value: -1 }], output: 'count' } },
  ],
});
