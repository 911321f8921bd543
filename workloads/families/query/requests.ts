/**
 * How a query spec and one sweep point become a plugin request. Two ways, registered by kind:
 * - `plugin`: any plugin; the spec's `request` is the template (plus the dataset's `schema` when it
 *   has none), and the sweep sets any field of the request or the dataset by its dotted path
 *   (`request.k`, `request.where.0.value`, `dataset.rows`);
 * - the presets `filter`, `aggregate` and `noop`: built-in studies whose sweep parameters are
 *   derived (a filter's `selectivity` becomes a predicate), kept so their specs and results read
 *   as before. Everything else about them (row counts, cost hints) comes from their plugins.
 */
import type { Schema } from '../../../engine/plugin-api';
import { datasetSchema } from '../../datasets/catalog';
import { SpecError } from '../../spec-checks';
import type { DatasetSpec, WorkloadSpec } from '../../spec';

export type SweepValue = number | string;

/** What a query workload runs: one plugin, and per sweep point its request and dataset. */
export interface QueryWorkload {
  plugin: string;
  /** Semver range of the plugin's version. */
  version: string;
  /** The swept parameter ('' without a sweep). */
  parameter: string;
  points: Array<SweepValue | undefined>;
  request(point: SweepValue | undefined): unknown;
  /** True when the sweep is over `dataset.…`: every point loads its own dataset. */
  sweepsDataset: boolean;
  /** The dataset a point runs on (differs between points only when the sweep is over `dataset.…`). */
  dataset(point: SweepValue | undefined): DatasetSpec;
}

/** A kind's way of building requests. */
interface RequestBuilder {
  /** The plugin a spec of this kind runs. */
  plugin(spec: WorkloadSpec): string;
  /** Sweep parameters this kind understands; null: any dotted path into request or dataset. */
  sweepParameters: string[] | null;
  request(spec: WorkloadSpec, point: SweepValue | undefined): unknown;
}

const parameterOf = (spec: WorkloadSpec, fallback: string): string => spec.sweep?.parameter ?? fallback;

function checkColumn(schema: Schema, field: string, column: string, numeric: boolean): string {
  const found = schema.columns.find((c) => c.name === column);
  if (!found) throw new SpecError(`${field}: the ${schema.name} dataset has no column '${column}' (columns: ${schema.columns.map((c) => c.name).join(', ')})`);
  if (numeric && found.type === 'string') throw new SpecError(`${field}: column '${column}' of the ${schema.name} dataset is not numeric`);
  return column;
}

// ---- kind `plugin`: dotted paths ---------------------------------------------------------------

const isContainer = (v: unknown): v is Record<string, unknown> | unknown[] => typeof v === 'object' && v !== null && !(v instanceof Uint8Array);

/** The fields one level below `value` (for error messages). */
function fieldsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((_, i) => String(i));
  return isContainer(value) ? Object.keys(value) : [];
}

/** Whether `path` (dot-separated) names an existing field of `root`; on failure, where it stopped. */
function resolvePath(root: unknown, path: string[]): { ok: true } | { ok: false; at: string[]; known: string[] } {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    if (!isContainer(node) || !Object.hasOwn(node, path[i]!)) return { ok: false, at: path.slice(0, i), known: fieldsOf(node) };
    node = (node as Record<string, unknown>)[path[i]!];
  }
  return { ok: true };
}

/** A copy of `root` with the field at `path` set to `value`. */
function withPath<T>(root: T, path: string[], value: unknown): T {
  const copy = structuredClone(root) as unknown as Record<string, unknown>;
  let node = copy;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
  return copy as unknown as T;
}

/** The request template of a plugin spec: the spec's request, with the dataset's schema unless it has one. */
export function requestTemplate(spec: WorkloadSpec, dataset: DatasetSpec = spec.dataset): Record<string, unknown> {
  const request = structuredClone(spec.request);
  if (!('schema' in request)) request.schema = datasetSchema(dataset);
  return request;
}

/** Splits a `plugin` spec's sweep parameter into where it points and the path, checked against the spec. */
function sweepTarget(spec: WorkloadSpec): { where: 'request' | 'dataset'; path: string[] } | null {
  if (!spec.sweep) return null;
  const parameter = spec.sweep.parameter;
  const [head, ...path] = parameter.split('.');
  const request = requestTemplate(spec);
  const hint = `request fields: ${fieldsOf(request).join(', ') || 'none'}; dataset fields: ${fieldsOf(spec.dataset).filter((k) => spec.dataset[k as keyof DatasetSpec] !== undefined).join(', ')}`;
  if ((head !== 'request' && head !== 'dataset') || path.length === 0) {
    throw new SpecError(`sweep.parameter: '${parameter}' is in neither the request nor the dataset: name a field as request.<field> or dataset.<field> (${hint})`);
  }
  if (head === 'dataset' && path.length === 1 && path[0] === 'kind') throw new SpecError('sweep.parameter: dataset.kind cannot be swept (run one spec per dataset)');
  const found = resolvePath(head === 'request' ? request : spec.dataset, path);
  if (!found.ok) {
    const prefix = [head, ...found.at].join('.');
    throw new SpecError(`sweep.parameter: '${parameter}' is in neither the request nor the dataset: ${prefix} has no field '${path[found.at.length]}' (${head === 'request' && found.at.length === 0 ? hint : `fields of ${prefix}: ${found.known.join(', ') || 'none'}`})`);
  }
  return { where: head, path };
}

const pluginBuilder: RequestBuilder = {
  plugin(spec) {
    if (!spec.plugin) throw new SpecError("plugin: a workload of kind 'plugin' names its plugin (e.g. \"plugin\": \"topk\")");
    return spec.plugin;
  },
  sweepParameters: null,
  request(spec, point) {
    const target = sweepTarget(spec);
    const dataset = target?.where === 'dataset' && point !== undefined ? withPath(spec.dataset, target.path, point) : spec.dataset;
    const request = requestTemplate(spec, dataset);
    return target?.where === 'request' && point !== undefined ? withPath(request, target.path, point) : request;
  },
};

// ---- presets ------------------------------------------------------------------------------------

/** Synthetic `amount` is uniform in [0, 1000), so `amount < s * 1000` keeps a fraction s of rows. */
const AMOUNT_RANGE = 1000;

/**
 * filter — synthetic: sweep `selectivity` s, predicate `amount < s * 1000`. flights: sweep
 * `delayThreshold` t (minutes), predicate `delay > t`; its selectivity is whatever the real delay
 * distribution gives (see the summary's `selectivity`). `request.output`: rows (default) or count.
 */
const filter: RequestBuilder = {
  plugin: () => 'filter',
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
};

/**
 * aggregate — count/sum/avg/min/max/stddev of `request.column` (default: synthetic amount, flights
 * delay), grouped by `request.groupBy`. Sweeps: `groups` n groups by `groupBy` (default id) modulo
 * n; `groupBy` a column name per point (`none`: one group), e.g. flights weekday (7), hour (24),
 * origin (~230 airports, skewed), distance (~1 600 values).
 */
const aggregate: RequestBuilder = {
  plugin: () => 'aggregate',
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
};

/** noop — the framework's own cost per call (no sweep). */
const noop: RequestBuilder = {
  plugin: () => 'noop',
  sweepParameters: [],
  request: () => ({}),
};

/** Request builders by spec kind. */
const BUILDERS: Record<string, RequestBuilder> = { plugin: pluginBuilder, filter, aggregate, noop };

/** The spec kinds the query family runs. */
export const QUERY_KINDS = Object.keys(BUILDERS);

/**
 * The query workload of a spec, checked: its plugin, its sweep parameter, and every point's
 * request built once now, so a bad value or a dataset mismatch fails before anything starts.
 */
export function queryWorkload(spec: WorkloadSpec): QueryWorkload {
  const builder = BUILDERS[spec.kind];
  if (!builder) throw new SpecError(`kind: '${spec.kind}' is not a query workload (query kinds: ${QUERY_KINDS.join(', ')})`);
  if (builder !== pluginBuilder && (spec.plugin !== null || spec.version !== null)) throw new SpecError(`plugin: a '${spec.kind}' workload runs the ${builder.plugin(spec)} plugin; use kind 'plugin' to name another`);
  if (spec.sweep && builder.sweepParameters && !builder.sweepParameters.includes(spec.sweep.parameter)) {
    throw new SpecError(`sweep.parameter: '${spec.sweep.parameter}' is not a parameter of ${spec.kind} (known: ${builder.sweepParameters.join(', ') || 'none'})`);
  }
  const plugin = builder.plugin(spec);
  const points: Array<SweepValue | undefined> = spec.sweep ? spec.sweep.values : [undefined];
  const target = builder === pluginBuilder ? sweepTarget(spec) : null;
  for (const point of points) builder.request(spec, point);
  return {
    plugin,
    version: spec.version ?? '*',
    parameter: spec.sweep?.parameter ?? '',
    points,
    sweepsDataset: target?.where === 'dataset',
    request: (point) => builder.request(spec, point),
    dataset: (point) => (target?.where === 'dataset' && point !== undefined ? withPath(spec.dataset, target.path, point) : spec.dataset),
  };
}
