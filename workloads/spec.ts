/**
 * Workload specs: JSON files in workloads/specs/, validated field by field (an unknown field or a
 * bad value is an error naming the field), with YCSB-style `-p key=value` overrides on any field
 * (dotted paths; lists as comma-separated values).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { FLIGHTS_TOTAL_ROWS } from './datasets/flights';
import { anyObject, type Check, fail, int, list, nullable, num, object, oneOf, optionalNullable, scalar, SpecError, str, withDefault, type Shape } from './spec-checks';
import { familyForKind, specKinds, specSections } from './families/registry';
import type { MlSpec } from './families/ml-train/section';
import type { YcsbSpec } from './families/ycsb/section';
import type { InterferenceSpec } from './families/interference/section';
import { DEFAULT_NETWORK_KIND, networkKindNames } from './network/registry';
import { backendKind, backendKindNames, DEFAULT_BACKEND_KIND } from './backends/registry';
import { LinkSpecError, parseLinkProfile } from './driver/network/link';

export { SpecError } from './spec-checks';
export type { InterferenceSpec, MlSpec, YcsbSpec };

/** How a call runs; `none` (interference only): no analytic stream, the baseline. */
export type Mode = 'pushdown' | 'client' | 'client-cached' | 'local-sgd' | 'adaptive' | 'none';

export interface ClusterSpec {
  nodes: number;
  splitKeys: number;
  splitBytes: number;
  /** Plugin worker threads per node. */
  coprWorkers: number;
  /** Admission control: coprocessor calls a node lets wait for a worker (more: COPR_BUSY); null: no bound. */
  coprMaxQueue: number | null;
  /** Priority: OS nice value of the plugin worker threads (0..19); null: 0, the point operations' own. */
  coprNice: number | null;
  /** Memory quota of one coprocessor call, MiB (over it: COPR_MEMORY); null: none. */
  coprCallMemoryMb: number | null;
  /** Memory quota of all running coprocessor calls on a node, MiB (used up: COPR_BUSY); null: none. */
  coprMemoryMb: number | null;
  /** Memory quota of plugin state kept across a session's calls on a node, MiB (LRU eviction; 0: none); null: the node's default (256). */
  coprStateMb: number | null;
}

/**
 * The dataset. `synthetic` (SAMPLE_SCHEMA records) has `categories`; `regression` (ml-train: d
 * feature columns, a linear target and a logistic label, see workloads/datasets/regression.ts) has
 * `features` and `noise` instead, and no `categories` (validated as absent; typed here so code
 * written for the synthetic dataset keeps compiling). `flights` (the real US flights of
 * vega-datasets, workloads/datasets/flights.ts) has `rows` = how many of the file's 3 000 000 rows
 * (in file order) to load; `valueBytes`, `seed` and `categories` may be given but do not apply to it
 * (validated when present, null when left out, ignored by the loader).
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

/** The workload client (the process running the driver). */
export interface ClientSpec {
  /**
   * What the client may hold of the data, MiB; null: no cap. ml-train's client-cached keeps the
   * decoded rows within it: a dataset that cannot fit is refused before the run starts (exit 2), and
   * a run whose rows outgrow it fails with an error naming this field.
   */
  memoryBudgetMb: number | null;
}

export interface SweepSpec {
  /** Which request parameter the sweep varies (the kind documents its parameters). */
  parameter: string;
  values: Array<number | string>;
}

export interface NetworkSpec {
  /** A registered network kind: `loopback` (user-space links) or `netns` (namespaces, kernel-shaped links). */
  kind: string;
}

/**
 * The store the workload runs against: a registered backend kind (`copbench`, the default, or
 * `redis-cluster`) and that kind's own options (workloads/backends/<kind>/index.ts; left-out
 * options are null: the kind's defaults).
 */
export interface BackendSpec {
  kind: string;
  [option: string]: string | number | null;
}

export interface WorkloadSpec {
  name: string;
  description: string;
  /** What runs: a kind registered by a workload family (`plugin`, `filter`, `ycsb`, `ml-train`, …). */
  kind: string;
  /** kind `plugin`: the plugin's name (a file in plugins/ or a plugin deployed to the cluster). */
  plugin: string | null;
  /** kind `plugin`: a semver range of the plugin's version (null: any). */
  version: string | null;
  cluster: ClusterSpec;
  client: ClientSpec;
  dataset: DatasetSpec;
  modes: Mode[];
  /** The request template (kind `plugin`: sent as is, plus the dataset's `schema`), or kind-specific fields. */
  request: Record<string, unknown>;
  sweep: SweepSpec | null;
  /** Link profiles between the client and the nodes, e.g. "unlimited", "1gbit", "100mbit:rtt=2". */
  links: string[];
  /** Where the processes sit and what shapes the links (workloads/network/); default loopback. */
  network: NetworkSpec;
  /** The store the workload runs against (workloads/backends/); default copbench. */
  backend: BackendSpec;
  warmup: number;
  /** Repetitions per point (query workloads: the minimum; they go on until `precision` or a cap). */
  repetitions: number;
  /** Query workloads: target 95% CI half-width of a point's mean latency, as a fraction of it (null: 0.05). */
  precision: number | null;
  /** Query workloads: at most this many repetitions per point (null: max(10, repetitions)). */
  maxRepetitions: number | null;
  /** Query workloads: no new repetition of a point and link past this many seconds of them (null: 60). */
  maxSeconds: number | null;
  /** Regions a coprocessor call processes at once. */
  concurrency: number;
  /** The ycsb family's section (null elsewhere). */
  ycsb: YcsbSpec | null;
  /** The ml-train family's section; may be left out (null) elsewhere. */
  ml: MlSpec | null;
  /** The interference family's section; may be left out (null) elsewhere. */
  interference: InterferenceSpec | null;
  /** Named override sets, e.g. `ci` (tiny, for tests) — chosen with `--size <name>`. */
  sizes: Record<string, Record<string, unknown>>;
}

// ---- validation -------------------------------------------------------------------------------

/** The cluster a spec gets when it names none: 3 nodes, regions split at 50 000 keys or 64 MiB, 2 plugin workers each. */
export const DEFAULT_CLUSTER = { nodes: 3, splitKeys: 50_000, splitBytes: 64 * 1024 * 1024, coprWorkers: 2 };

/** A link profile the links can carry (an unknown preset, a zero or negative rate: an error naming the field). */
const linkProfile: Check = (v, f) => {
  const name = str(v, f) as string;
  try {
    parseLinkProfile(name);
  } catch (err) {
    if (err instanceof LinkSpecError) fail(f, err.message);
    throw err;
  }
  return name;
};

/** The fields every spec has (cluster, concurrency and sizes may be left out); workload families add their sections (specSections()). */
const COMMON_SHAPE: Shape = {
  name: str,
  description: str,
  cluster: withDefault(
    object({ nodes: int(1, 64), splitKeys: int(100), splitBytes: int(1024), coprWorkers: int(1, 64), coprMaxQueue: optionalNullable(int(0, 1_000_000)), coprNice: optionalNullable(int(0, 19)), coprCallMemoryMb: optionalNullable(num(1, 1_000_000)), coprMemoryMb: optionalNullable(num(1, 1_000_000)), coprStateMb: optionalNullable(num(0, 1_000_000)) }),
    DEFAULT_CLUSTER,
  ),
  client: withDefault(object({ memoryBudgetMb: optionalNullable(num(0.001, 1_000_000_000)) }), { memoryBudgetMb: null }),
  dataset: (v, f) =>
    object(
      (v as { kind?: unknown } | null)?.kind === 'regression'
        ? { kind: oneOf('regression'), rows: int(1), valueBytes: int(0, 1024 * 1024), seed: int(0), features: int(1, 1024), noise: num(0, 1e6) }
        : (v as { kind?: unknown } | null)?.kind === 'flights'
          ? { kind: oneOf('flights'), rows: int(1, FLIGHTS_TOTAL_ROWS), valueBytes: optionalNullable(int(0, 1024 * 1024)), seed: optionalNullable(int(0)), categories: optionalNullable(int(1, 1_000_000)) }
          : { kind: oneOf('synthetic', 'regression', 'flights'), rows: int(1), valueBytes: int(0, 1024 * 1024), seed: int(0), categories: int(1, 1_000_000) },
    )(v, f),
  modes: list(oneOf('pushdown', 'client', 'client-cached', 'local-sgd', 'adaptive', 'none')),
  request: optionalNullable(anyObject),
  sweep: nullable(object({ parameter: str, values: list(scalar) })),
  links: list(linkProfile),
  network: withDefault(object({ kind: (v, f) => oneOf(...networkKindNames())(v, f) }), { kind: DEFAULT_NETWORK_KIND }),
  // The kind decides which other fields the section may have.
  backend: withDefault((v, f) => {
    const kind = (v as { kind?: unknown } | null)?.kind;
    const options = typeof kind === 'string' && backendKindNames().includes(kind) ? backendKind(kind).options : {};
    return object({ kind: oneOf(...backendKindNames()), ...options })(v, f);
  }, { kind: DEFAULT_BACKEND_KIND }),
  warmup: int(0, 1000),
  repetitions: int(1, 100_000),
  concurrency: withDefault(int(1, 1024), 4),
  sizes: withDefault(anyObject, {}),
};

/** Validates a parsed spec; throws SpecError naming the first bad field. */
export function validateSpec(raw: unknown): WorkloadSpec {
  const shape: Shape = { ...COMMON_SHAPE, kind: oneOf(...specKinds()), ...specSections() };
  const spec = object(shape)(raw, '') as WorkloadSpec;
  spec.request ??= {};
  if (new Set(spec.modes).size !== spec.modes.length) fail('modes', 'lists a mode twice');
  familyForKind(spec.kind).checkSpec(spec);
  backendKind(spec.backend.kind).checkSpec(spec);
  return spec;
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
