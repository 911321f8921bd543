/**
 * Query workload kinds: how a spec and one sweep point become a plugin request, and how many rows
 * an answer carries back. Specs are data; this is the only code a query kind needs.
 */
import { SAMPLE_SCHEMA } from '../engine/plugin-api';
import { SpecError, type WorkloadSpec } from './spec';

export type SweepValue = number | string;

export interface QueryKind {
  plugin: string;
  /** Sweep parameters this kind understands. */
  sweepParameters: string[];
  request(spec: WorkloadSpec, point: SweepValue | undefined): unknown;
  rowsReturned(result: unknown): number;
}

/** Synthetic `amount` is uniform in [0, 1000), so `amount < s * 1000` keeps a fraction s of rows. */
const AMOUNT_RANGE = 1000;

const filter: QueryKind = {
  plugin: 'filter',
  sweepParameters: ['selectivity'],
  request(spec, point) {
    const selectivity = point === undefined ? Number(spec.request.selectivity ?? 0.01) : Number(point);
    if (!(selectivity >= 0 && selectivity <= 1)) throw new SpecError(`sweep.values: selectivity must be within [0, 1], got ${point}`);
    const column = String(spec.request.column ?? 'amount');
    if (column !== 'amount') throw new SpecError(`request.column: the synthetic selectivity sweep filters on 'amount', got '${column}'`);
    const output = spec.request.output ?? 'rows';
    if (output !== 'rows' && output !== 'count') throw new SpecError(`request.output: must be rows or count, got ${JSON.stringify(output)}`);
    return { schema: SAMPLE_SCHEMA, where: [{ column, op: '<', value: selectivity * AMOUNT_RANGE }], output };
  },
  rowsReturned: (result) => {
    const r = result as { count: number; rows?: unknown[] };
    return r.rows ? r.rows.length : 1;
  },
};

const aggregate: QueryKind = {
  plugin: 'aggregate',
  sweepParameters: ['groups'],
  request(spec, point) {
    const column = String(spec.request.column ?? 'amount');
    const groupBy = spec.request.groupBy === undefined ? undefined : String(spec.request.groupBy);
    if (point === undefined) return { schema: SAMPLE_SCHEMA, column, ...(groupBy ? { groupBy } : {}) };
    const groups = Number(point);
    if (!Number.isInteger(groups) || groups < 1) throw new SpecError(`sweep.values: groups must be a positive integer, got ${point}`);
    return { schema: SAMPLE_SCHEMA, column, groupBy: groupBy ?? 'id', groupModulo: groups };
  },
  rowsReturned: (result) => (result as unknown[]).length,
};

const noop: QueryKind = {
  plugin: 'noop',
  sweepParameters: [],
  request: () => ({}),
  rowsReturned: () => 0,
};

export const QUERY_KINDS: Record<string, QueryKind> = { filter, aggregate, noop };

/** The kind of a query workload; checks its sweep parameter. */
export function queryKind(spec: WorkloadSpec): QueryKind {
  const kind = QUERY_KINDS[spec.kind];
  if (!kind) throw new SpecError(`kind: '${spec.kind}' is not a query workload`);
  if (spec.sweep && !kind.sweepParameters.includes(spec.sweep.parameter)) {
    throw new SpecError(`sweep.parameter: '${spec.sweep.parameter}' is not a parameter of ${spec.kind} (known: ${kind.sweepParameters.join(', ') || 'none'})`);
  }
  return kind;
}
