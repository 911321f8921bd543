/**
 * Query workload kinds: how a spec and one sweep point become a plugin request, and how many rows
 * an answer carries back. Specs are data; this is the only code a query kind needs.
 */
import type { Schema } from '../engine/plugin-api';
import type { PartialItems } from './driver/cost-model/selectivity-estimate';
import { datasetSchema } from './datasets/catalog';
import { SpecError, type WorkloadSpec } from './spec';

export type SweepValue = number | string;

export interface QueryKind {
  plugin: string;
  /** Sweep parameters this kind understands (a dataset may take only some of them). */
  sweepParameters: string[];
  request(spec: WorkloadSpec, point: SweepValue | undefined): unknown;
  rowsReturned(result: unknown): number;
  /** Rows the query selected (before grouping); rowsMatched / rowsScanned is the actual selectivity. */
  rowsMatched?(result: unknown): number;
  /** Whether a call reads the rows of its range (the cost model's "rows to scan"). */
  scansRows: boolean;
  /**
   * Cost-model calibration: the same work per row with the smallest result (filter: count only;
   * aggregate: one group), to time the scan itself. Null when the kind scans nothing.
   */
  scanOnlyRequest(request: unknown): unknown | null;
  /**
   * Cost-model calibration: the same work with a result as large as the kind makes it (filter:
   * every row; aggregate: a group per row), to time the result path per byte. Null when the kind
   * has no such request.
   */
  resultHeavyRequest(request: unknown): unknown | null;
  /** Cost-model estimates: what of a per-region partial grows with the data (see selectivity-estimate.ts). */
  partialItems(partial: unknown, request: unknown): PartialItems;
}

/** The sweep parameter a point belongs to (the spec's, else the given default). */
const parameterOf = (spec: WorkloadSpec, fallback: string): string => spec.sweep?.parameter ?? fallback;

function checkColumn(schema: Schema, field: string, column: string, numeric: boolean): string {
  const found = schema.columns.find((c) => c.name === column);
  if (!found) throw new SpecError(`${field}: the ${schema.name} dataset has no column '${column}' (columns: ${schema.columns.map((c) => c.name).join(', ')})`);
  if (numeric && found.type === 'string') throw new SpecError(`${field}: column '${column}' of the ${schema.name} dataset is not numeric`);
  return column;
}

/** Synthetic `amount` is uniform in [0, 1000), so `amount < s * 1000` keeps a fraction s of rows. */
const AMOUNT_RANGE = 1000;

/**
 * filter — synthetic: sweep `selectivity` s, predicate `amount < s * 1000`. flights: sweep
 * `delayThreshold` t (minutes), predicate `delay > t`; its selectivity is whatever the real delay
 * distribution gives (see the summary's `selectivity`). `request.output`: rows (default) or count.
 */
const filter: QueryKind = {
  plugin: 'filter',
  sweepParameters: ['selectivity', 'delayThreshold'],
  request(spec, point) {
    const output = spec.request.output ?? 'rows';
    if (output !== 'rows' && output !== 'count') throw new SpecError(`request.output: must be rows or count, got ${JSON.stringify(output)}`);
    const schema = datasetSchema(spec.dataset);
    if (spec.dataset.kind === 'flights') {
      const parameter = parameterOf(spec, 'delayThreshold');
      if (parameter !== 'delayThreshold') throw new SpecError(`sweep.parameter: a filter on the flights dataset sweeps delayThreshold (minutes; predicate delay > threshold), got '${parameter}'`);
      const threshold = Number(point ?? spec.request.delayThreshold ?? 0);
      if (!Number.isFinite(threshold)) throw new SpecError(`sweep.values: delayThreshold must be a number of minutes, got ${JSON.stringify(point ?? spec.request.delayThreshold)}`);
      const column = String(spec.request.column ?? 'delay');
      if (column !== 'delay') throw new SpecError(`request.column: the flights delay sweep filters on 'delay', got '${column}'`);
      return { schema, where: [{ column, op: '>', value: threshold }], output };
    }
    if (spec.dataset.kind !== 'synthetic') throw new SpecError(`dataset.kind: filter runs on the synthetic or flights dataset, got '${spec.dataset.kind}'`);
    const parameter = parameterOf(spec, 'selectivity');
    if (parameter !== 'selectivity') throw new SpecError(`sweep.parameter: a filter on the synthetic dataset sweeps selectivity, got '${parameter}'`);
    const selectivity = point === undefined ? Number(spec.request.selectivity ?? 0.01) : Number(point);
    if (!(selectivity >= 0 && selectivity <= 1)) throw new SpecError(`sweep.values: selectivity must be within [0, 1], got ${point}`);
    const column = String(spec.request.column ?? 'amount');
    if (column !== 'amount') throw new SpecError(`request.column: the synthetic selectivity sweep filters on 'amount', got '${column}'`);
    return { schema, where: [{ column, op: '<', value: selectivity * AMOUNT_RANGE }], output };
  },
  rowsReturned: (result) => {
    const r = result as { count: number; rows?: unknown[] };
    return r.rows ? r.rows.length : 1;
  },
  rowsMatched: (result) => (result as { count: number }).count,
  scansRows: true,
  scanOnlyRequest: (request) => ({ ...(request as object), output: 'count' }),
  resultHeavyRequest: (request) => ({ ...(request as object), where: [], output: 'rows' }),
  partialItems: (partial) => ({ items: (partial as { rows?: unknown[] }).rows?.length ?? 0, scaling: 'linear' }),
};

/**
 * aggregate — count/sum/avg/min/max/stddev of `request.column` (default: synthetic amount, flights
 * delay), grouped by `request.groupBy`. Sweeps: `groups` n groups by `groupBy` (default id) modulo
 * n; `groupBy` a column name per point (`none`: one group), e.g. flights weekday (7), hour (24),
 * origin (~230 airports, skewed), distance (~1 600 values).
 */
const aggregate: QueryKind = {
  plugin: 'aggregate',
  sweepParameters: ['groups', 'groupBy'],
  request(spec, point) {
    const schema = datasetSchema(spec.dataset);
    const column = checkColumn(schema, 'request.column', String(spec.request.column ?? (spec.dataset.kind === 'flights' ? 'delay' : 'amount')), true);
    const groupBy = spec.request.groupBy === undefined ? undefined : checkColumn(schema, 'request.groupBy', String(spec.request.groupBy), false);
    if (point === undefined) return { schema, column, ...(groupBy ? { groupBy } : {}) };
    if (parameterOf(spec, 'groups') === 'groupBy') {
      const by = String(point);
      if (by === 'none' || by === '') return { schema, column };
      return { schema, column, groupBy: checkColumn(schema, 'sweep.values', by, false) };
    }
    const groups = Number(point);
    if (!Number.isInteger(groups) || groups < 1) throw new SpecError(`sweep.values: groups must be a positive integer, got ${point}`);
    return { schema, column, groupBy: checkColumn(schema, 'request.groupBy', groupBy ?? 'id', true), groupModulo: groups };
  },
  rowsReturned: (result) => (result as unknown[]).length,
  rowsMatched: (result) => (result as Array<{ count: number }>).reduce((n, g) => n + g.count, 0),
  scansRows: true,
  scanOnlyRequest: (request) => {
    const { groupBy: _groupBy, groupModulo: _groupModulo, ...oneGroup } = request as { groupBy?: string; groupModulo?: number };
    return oneGroup;
  },
  resultHeavyRequest: (request) => {
    const { schema, column } = request as { schema: Schema; column: string };
    return schema.columns.some((c) => c.name === 'id') ? { schema, column, groupBy: 'id' } : null;
  },
  partialItems: (partial, request) => {
    const groups = Object.values(partial as Record<string, { n: number }>);
    const modulo = (request as { groupModulo?: number }).groupModulo;
    return { items: groups.length, scaling: 'distinct', frequencies: groups.map((g) => g.n), ...(modulo ? { upperBound: modulo } : {}) };
  },
};

const noop: QueryKind = {
  plugin: 'noop',
  sweepParameters: [],
  request: () => ({}),
  rowsReturned: () => 0,
  scansRows: false,
  scanOnlyRequest: () => null,
  resultHeavyRequest: () => null,
  partialItems: () => ({ items: 0, scaling: 'linear' }),
};

export const QUERY_KINDS: Record<string, QueryKind> = { filter, aggregate, noop };

/** The kind of a query workload; checks its sweep parameter. */
export function queryKind(spec: WorkloadSpec): QueryKind {
  const kind = QUERY_KINDS[spec.kind];
  if (!kind) throw new SpecError(`kind: '${spec.kind}' is not a query workload`);
  if (spec.sweep && !kind.sweepParameters.includes(spec.sweep.parameter)) {
    throw new SpecError(`sweep.parameter: '${spec.sweep.parameter}' is not a parameter of ${spec.kind} (known: ${kind.sweepParameters.join(', ') || 'none'})`);
  }
  // Build every point's request now, so a bad value or a dataset mismatch fails before measuring.
  for (const point of spec.sweep ? spec.sweep.values : [undefined]) kind.request(spec, point);
  return kind;
}
