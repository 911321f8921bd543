/**
 * Workload specs: JSON files in workloads/specs/, validated field by field (an unknown field or a
 * bad value is an error naming the field), with YCSB-style `-p key=value` overrides on any field
 * (dotted paths; lists as comma-separated values).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { FLIGHTS_TOTAL_ROWS } from './datasets/flights';
import { anyObject, byKind, int, kind, list, nullable, num, object, oneOf, optionalNullable, parseSpecValue, refine, scalar, section, SpecError, str, withDefault, type Assignable } from './spec-checks';
import { familyForKind, specKinds, specSections, type FamilySections } from './families/registry';
import type { MlSpec } from './families/ml-train/section';
import type { YcsbSpec } from './families/ycsb/section';
import type { InterferenceSpec } from './families/interference/section';
import { DEFAULT_NETWORK_KIND, networkKindNames } from './network/registry';
import { backendKind, backendKinds, DEFAULT_BACKEND_KIND } from './backends/registry';
import { LinkSpecError, parseLinkProfile } from './driver/network/link-profile';

export { SpecError } from './spec-checks';
export type { InterferenceSpec, MlSpec, YcsbSpec };

// ---- the schema --------------------------------------------------------------------------------
// One zod schema, assembled from the fields below and what the registries add (families' sections,
// network kinds, backend kinds and their options), validates specs, types them (WorkloadSpec) and
// is written out as workloads/spec.schema.json and the field reference in docs/workloads.md
// (`npm run spec-schema`, spec-docs.ts). The `.describe(...)` texts are those docs.

/** How a call runs; `none` (interference only): no analytic stream, the baseline. */
export const MODES = ['pushdown', 'client', 'client-cached', 'local-sgd', 'adaptive', 'none'] as const;
export type Mode = (typeof MODES)[number];

/** The cluster a spec gets when it names none: 3 nodes, regions split at 50 000 keys or 64 MiB, 2 plugin workers each. */
export const DEFAULT_CLUSTER = { nodes: 3, splitKeys: 50_000, splitBytes: 64 * 1024 * 1024, coprWorkers: 2 };

const cluster = object({
  nodes: withDefault(int(1, 64), DEFAULT_CLUSTER.nodes).describe('storage nodes'),
  splitKeys: withDefault(int(100), DEFAULT_CLUSTER.splitKeys).describe('split a region past this many keys'),
  splitBytes: withDefault(int(1024), DEFAULT_CLUSTER.splitBytes).describe('split a region past this many bytes'),
  coprWorkers: withDefault(int(1, 64), DEFAULT_CLUSTER.coprWorkers).describe('plugin worker threads per node'),
  coprMaxQueue: optionalNullable(int(0, 1_000_000)).describe('admission control: coprocessor calls a node lets wait for a worker (more are refused with `COPR_BUSY`); null: no bound'),
  coprNice: optionalNullable(int(0, 19)).describe("priority: OS nice value of the plugin worker threads; null: 0, the point operations' own"),
  coprCallMemoryMb: optionalNullable(num(1, 1_000_000)).describe('memory quota of one coprocessor call, MiB (over it: `COPR_MEMORY`); null: none'),
  coprMemoryMb: optionalNullable(num(1, 1_000_000)).describe('memory quota of all running coprocessor calls on a node, MiB (used up: `COPR_BUSY`); null: none'),
  coprStateMb: optionalNullable(num(0, 1_000_000)).describe("memory quota of plugin state kept across a session's calls on a node, MiB (LRU eviction; 0: none); null: the node's default (256)"),
});

export type ClusterSpec = z.output<typeof cluster>;

const client = object({
  memoryBudgetMb: optionalNullable(num(0.001, 1_000_000_000)).describe(
    "what the client may hold of the data, MiB; null: no cap. ml-train's client-cached keeps the decoded rows within it: a dataset that cannot fit is refused before the run starts (exit 2), and a run whose rows outgrow it fails with an error naming this field",
  ),
});

/** The workload client (the process running the driver). */
export type ClientSpec = z.output<typeof client>;

const rows = int(1).describe('rows to load');
const valueBytes = int(0, 1024 * 1024).describe('bytes per value (records are padded to it)');
const seed = int(0).describe("the generator's seed");
const datasets = byKind([
  object({ kind: kind('synthetic').describe('SAMPLE_SCHEMA records (workloads/datasets/synthetic.ts)'), rows, valueBytes, seed, categories: int(1, 1_000_000).describe('distinct categories') }),
  object({
    kind: kind('regression').describe('ml-train: d feature columns, a linear target and a logistic label (workloads/datasets/regression.ts)'),
    rows,
    valueBytes,
    seed,
    features: int(1, 1024).describe('feature columns f0..f{d-1}'),
    noise: num(0, 1e6).describe('standard deviation of the Gaussian noise on the linear target'),
  }),
  object({
    kind: kind('flights').describe('the real US flights of vega-datasets (workloads/datasets/flights.ts)'),
    rows: int(1, FLIGHTS_TOTAL_ROWS).describe(`how many of the file's ${FLIGHTS_TOTAL_ROWS.toLocaleString('en-US').replace(/,/g, ' ')} rows to load, in file order`),
    valueBytes: optionalNullable(int(0, 1024 * 1024)).describe('does not apply (validated when given, ignored by the loader)'),
    seed: optionalNullable(int(0)).describe('does not apply (validated when given, ignored by the loader)'),
    categories: optionalNullable(int(1, 1_000_000)).describe('does not apply (validated when given, ignored by the loader)'),
  }),
]);

/**
 * The dataset, as the code reads it. `synthetic` has `categories`; `regression` has `features` and
 * `noise` instead, and no `categories` (the schema refuses it; typed here so code written for the
 * synthetic dataset keeps compiling). `flights` has `rows` = how many of the file's 3 000 000 rows
 * to load; `valueBytes`, `seed` and `categories` are null there unless given, and ignored. Wider
 * than the schema's variants on purpose (one shape for the loaders); each variant fits it where it
 * has a field, which the compile-time check below holds to.
 */
export interface DatasetSpec {
  kind: 'synthetic' | 'regression' | 'flights';
  rows: number;
  valueBytes: number;
  seed: number;
  categories: number;
  /** regression: feature columns f0..f{d-1}. */
  features?: number;
  /** regression: standard deviation of the Gaussian noise on the linear target. */
  noise?: number;
}
type DatasetVariant = z.output<typeof datasets>;
export type SyntheticFit = Assignable<Extract<DatasetVariant, { kind: 'synthetic' }>, DatasetSpec>;
export type RegressionFit = Assignable<Extract<DatasetVariant, { kind: 'regression' }>, Omit<DatasetSpec, 'categories'>>;

/** A link profile the links can carry (an unknown preset, a zero or negative rate: an error naming the field). */
const linkProfile = refine(str, (name) => {
  try {
    parseLinkProfile(name);
    return null;
  } catch (err) {
    if (err instanceof LinkSpecError) return err.message;
    throw err;
  }
});

/**
 * The store the workload runs against: a registered backend kind (`copbench`, the default, or
 * `redis-cluster`) and that kind's own options (workloads/backends/<kind>/index.ts; left-out
 * options are null: the kind's defaults).
 */
export interface BackendSpec {
  kind: string;
  [option: string]: string | number | null;
}

/** `backend`: one variant per registered kind, its `kind` and its options (the kind decides which fields the section may have). */
function backendSchema(): z.ZodType<BackendSpec> {
  const [first, ...rest] = backendKinds().map((b) => object({ kind: kind(b.name).describe(b.description), ...b.options }));
  return byKind([first!, ...rest]);
}

/** The fields every spec has; workload families add theirs (specSections()). Built per call: the kinds come from the registries. */
function commonFields() {
  return {
    $schema: z.string().optional().describe("the JSON Schema editors check the spec against (`../spec.schema.json` in workloads/specs/: relative to the spec's folder); ignored by the harness"),
    name: str.describe('the workload\'s name (results go to `results/<name>/`)'),
    description: str.describe('one line, shown by `npm run workload -- --help`'),
    kind: oneOf(...(specKinds() as [string, ...string[]])).describe('what runs: a kind registered by a workload family (`plugin`, `filter`, `ycsb`, `ml-train`, …)'),
    cluster: section(cluster).describe('the cluster a run starts (ignored with `--placement`); left out, or given in part, it takes the defaults (3 nodes, regions split at 50 000 keys or 64 MiB, 2 plugin workers)'),
    client: section(client).describe('the workload client (the process running the driver)'),
    dataset: datasets.describe('the data loaded before measuring; `kind` decides which other fields it has'),
    modes: refine(list(oneOf(...MODES)), (modes) => (new Set(modes).size !== modes.length ? 'lists a mode twice' : null)).meta({ uniqueItems: true }).describe(
      'how calls run: `pushdown`, `client`, `adaptive` (query), `client-cached`, `local-sgd` (ml-train), `none` (interference: no analytic stream, the baseline); each at most once',
    ),
    request: anyObject
      .nullable()
      .optional()
      .transform((r) => r ?? {})
      .describe("the request template (kind `plugin`: sent as is, plus the dataset's `schema` when it has none), or kind-specific fields (filter: `column`, `output`); null or left out: {}"),
    sweep: nullable(
      object({
        parameter: str.describe("a preset's parameter (`selectivity`, `groups`, `delayThreshold`, `groupBy`, `analyticRate`) or a dotted path into the request or dataset (`request.k`, `request.where.0.value`, `dataset.rows`)"),
        values: list(scalar).describe('the values it takes, numbers or strings'),
      }),
    ).describe('what varies between the points of a run (null: one point)'),
    links: list(linkProfile).describe('link profiles between the client and the nodes: `<preset or rate>[:rtt=<ms>][:jitter=<ms>][:loss=<percent>]`, e.g. `unlimited`, `10gbit`, `1gbit`, `250mbit`, `100mbit`, `100mbit:rtt=2`, `1.5gbit:rtt=250us`, `100mbit:rtt=2:jitter=0.5:loss=0.1` (grammar below)'),
    network: section(object({ kind: withDefault(oneOf(...(networkKindNames() as [string, ...string[]])), DEFAULT_NETWORK_KIND).describe('a registered network kind: `loopback` (user-space links) or `netns` (namespaces, kernel-shaped links; root)') })).describe(
      'where the processes sit and what shapes the links (workloads/network/, docs/networks.md)',
    ),
    backend: backendSchema()
      .prefault({ kind: DEFAULT_BACKEND_KIND })
      .describe(`the store the workload runs against (workloads/backends/): a registered kind and its options; left out: ${DEFAULT_BACKEND_KIND}`),
    warmup: int(0, 1000).describe('unmeasured calls per point and link before measuring'),
    repetitions: int(1, 100_000).describe('repetitions per point (query workloads: the minimum; they go on until `precision` or a cap)'),
    concurrency: withDefault(int(1, 1024), 4).describe('regions a coprocessor call processes at once'),
    sizes: withDefault(z.record(z.string(), anyObject.describe('overrides by dotted path, as `-p` takes them'), { error: 'expected an object' }), {}).describe(
      'named override sets, e.g. `ci` (tiny, for tests) — `{ "ci": { "dataset.rows": 6000, … } }`, chosen with `--size <name>`',
    ),
  };
}

/** The whole spec's schema: the common fields, then the families' sections (in the registry's order). */
export function specSchema() {
  return object({ ...commonFields(), ...specSections() }).describe('A copbench workload spec (workloads/specs/*.json; docs/workloads.md).');
}

type ParsedSpec = z.output<z.ZodObject<ReturnType<typeof commonFields> & FamilySections>>;

/**
 * A validated spec: the schema's output (defaults filled in, left-out fields null), with `dataset`
 * as DatasetSpec (see there) and without `$schema` (an editor's hint, dropped).
 */
export type WorkloadSpec = Omit<ParsedSpec, '$schema' | 'dataset' | 'backend'> & { dataset: DatasetSpec; backend: BackendSpec };

/** What varies between a run's points: a request parameter (the kind documents its parameters) and its values. */
export type SweepSpec = NonNullable<WorkloadSpec['sweep']>;
/** Where the processes sit and what shapes the links: a registered network kind. */
export type NetworkSpec = WorkloadSpec['network'];

// The families' section types as the code around them names them.
export type FamilyTypesFit = Assignable<[WorkloadSpec['ycsb'], WorkloadSpec['ml'], WorkloadSpec['interference']], [YcsbSpec | null, MlSpec | null, InterferenceSpec | null]>;

// ---- validation -------------------------------------------------------------------------------

/** Validates a parsed spec; throws SpecError naming the first bad field. */
export function validateSpec(raw: unknown): WorkloadSpec {
  const { $schema: _editorHint, ...spec } = parseSpecValue(specSchema(), raw);
  const checked = spec as unknown as WorkloadSpec;
  familyForKind(checked.kind).checkSpec(checked);
  backendKind(checked.backend.kind).checkSpec(checked);
  return checked;
}

// ---- overrides ----------------------------------------------------------------------------------

/** Parses a `-p` value: JSON when it looks like JSON, a list when the field is a list, else number/boolean/string. */
function parseOverrideValue(text: string, current: unknown): unknown {
  const trimmed = text.trim();
  if (/^[[{"]/.test(trimmed) || trimmed === 'null') {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      throw new SpecError(`cannot parse JSON value ${text}`);
    }
  }
  const scalarOf = (t: string): unknown => {
    if (t === 'true') return true;
    if (t === 'false') return false;
    if (t !== '' && Number.isFinite(Number(t))) return Number(t);
    return t;
  };
  if (Array.isArray(current)) return trimmed === '' ? [] : trimmed.split(',').map((t) => scalarOf(t.trim()));
  return scalarOf(trimmed);
}

/** Applies `key=value` overrides (dotted paths) to a raw spec object, before validation. */
export function applyOverrides(raw: Record<string, unknown>, overrides: string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const entry of overrides) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new SpecError(`override '${entry}' must look like key=value (e.g. -p dataset.rows=100000)`);
    const pathParts = entry.slice(0, eq).split('.');
    let target: Record<string, unknown> = out;
    for (const part of pathParts.slice(0, -1)) {
      const next = target[part];
      if (next === null || next === undefined) target[part] = {};
      else if (typeof next !== 'object' || Array.isArray(next)) throw new SpecError(`override '${entry}': ${part} is not an object`);
      target = target[part] as Record<string, unknown>;
    }
    const last = pathParts[pathParts.length - 1]!;
    target[last] = parseOverrideValue(entry.slice(eq + 1), target[last]);
  }
  return out;
}

// ---- discovery ------------------------------------------------------------------------------------

export const SPECS_DIR = path.join(__dirname, 'specs');

export function specNames(dir = SPECS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Reads the raw JSON of workloads/specs/<name>.json (or a path to a .json file). */
export function readRawSpec(nameOrPath: string, dir = SPECS_DIR): Record<string, unknown> {
  // `npm run` starts scripts in the package's folder; a relative spec path means the caller's folder.
  const callerDir = process.env.INIT_CWD ?? process.cwd();
  const file = nameOrPath.endsWith('.json') ? path.resolve(callerDir, nameOrPath) : path.join(dir, `${nameOrPath}.json`);
  if (!existsSync(file)) throw new SpecError(`no workload '${nameOrPath}' (known: ${specNames(dir).join(', ') || 'none'})`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new SpecError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/** A named size's overrides as `key=value` strings (values JSON-encoded). */
export function sizeOverrides(raw: Record<string, unknown>, size: string): string[] {
  const sizes = (raw.sizes ?? {}) as Record<string, Record<string, unknown>>;
  const chosen = sizes[size];
  if (!chosen || typeof chosen !== 'object') throw new SpecError(`--size ${size}: this workload has sizes ${Object.keys(sizes).join(', ') || '(none)'}`);
  return Object.entries(chosen).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
}

/** Reads, applies a named size and then `-p` overrides, and validates. */
export function loadSpec(nameOrPath: string, overrides: string[] = [], size?: string, dir = SPECS_DIR): WorkloadSpec {
  const raw = readRawSpec(nameOrPath, dir);
  const all = [...(size ? sizeOverrides(raw, size) : []), ...overrides];
  return validateSpec(applyOverrides(raw, all));
}
