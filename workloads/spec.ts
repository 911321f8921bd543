/**
 * Workload specs: JSON files in workloads/specs/, validated field by field (an unknown field or a
 * bad value is an error naming the field), with YCSB-style `-p key=value` overrides on any field
 * (dotted paths; lists as comma-separated values).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { FLIGHTS_TOTAL_ROWS } from './datasets/flights';

export type Mode = 'pushdown' | 'client' | 'client-cached' | 'adaptive';
export type WorkloadKindName = 'filter' | 'aggregate' | 'noop' | 'ycsb' | 'ml-train';

export interface ClusterSpec {
  nodes: number;
  splitKeys: number;
  splitBytes: number;
  /** Plugin worker threads per node. */
  coprWorkers: number;
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

/** ml-train: full-batch gradient descent (the task, `linear` or `logistic`, and `l2` sit in `request`). */
export interface MlSpec {
  /** Epochs at most (one full pass over the data each). */
  epochs: number;
  /** Step size: w ← w − learningRate · (mean gradient). */
  learningRate: number;
  /** Stop early once the mean loss changes by less than this between two epochs (0: never). */
  tolerance: number;
}

export interface SweepSpec {
  /** Which request parameter the sweep varies (the kind documents its parameters). */
  parameter: string;
  values: Array<number | string>;
}

export interface YcsbSpec {
  /** Fractions of reads, updates, inserts (sum to 1). */
  readProportion: number;
  updateProportion: number;
  insertProportion: number;
  /** Zipfian skew of key popularity (YCSB's default 0.99). */
  zipfianTheta: number;
  /** Operations per repetition. */
  operations: number;
  /** Concurrent clients (closed loop) when `targetOpsPerSec` is 0, else the in-flight cap. */
  clients: number;
  /** Open-loop target rate; 0 = as fast as possible (closed loop). */
  targetOpsPerSec: number;
}

export interface WorkloadSpec {
  name: string;
  description: string;
  kind: WorkloadKindName;
  cluster: ClusterSpec;
  dataset: DatasetSpec;
  modes: Mode[];
  /** Kind-specific request fields (e.g. filter: output, column). */
  request: Record<string, unknown>;
  sweep: SweepSpec | null;
  /** Link profiles between the client and the nodes, e.g. "unlimited", "1gbit", "100mbit:rtt=2". */
  links: string[];
  warmup: number;
  repetitions: number;
  /** Regions a coprocessor call processes at once. */
  concurrency: number;
  ycsb: YcsbSpec | null;
  /** ml-train's training parameters; may be left out (null) by other kinds. */
  ml: MlSpec | null;
  /** Named override sets, e.g. `ci` (tiny, for tests) — chosen with `--size <name>`. */
  sizes: Record<string, Record<string, unknown>>;
}

// ---- validation -------------------------------------------------------------------------------

type Check = (value: unknown, field: string) => unknown;

export class SpecError extends Error {}

const fail = (field: string, why: string): never => {
  throw new SpecError(`${field}: ${why}`);
};

const int = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v, f) => {
  if (typeof v !== 'number' || !Number.isInteger(v)) return fail(f, `expected an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) return fail(f, `must be between ${min} and ${max}, got ${v}`);
  return v;
};
const num = (min: number, max: number): Check => (v, f) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return fail(f, `expected a number, got ${JSON.stringify(v)}`);
  if (v < min || v > max) return fail(f, `must be between ${min} and ${max}, got ${v}`);
  return v;
};
const str: Check = (v, f) => (typeof v === 'string' && v.length > 0 ? v : fail(f, `expected a non-empty string, got ${JSON.stringify(v)}`));
const oneOf = (...allowed: string[]): Check => (v, f) => (typeof v === 'string' && allowed.includes(v) ? v : fail(f, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`));
const list = (item: Check, minItems = 1): Check => (v, f) => {
  if (!Array.isArray(v)) return fail(f, `expected a list, got ${JSON.stringify(v)}`);
  if (v.length < minItems) return fail(f, `needs at least ${minItems} item(s)`);
  return v.map((x, i) => item(x, `${f}[${i}]`));
};
const scalar: Check = (v, f) => (typeof v === 'number' || typeof v === 'string' ? v : fail(f, `expected a number or string, got ${JSON.stringify(v)}`));
const anyObject: Check = (v, f) => (v && typeof v === 'object' && !Array.isArray(v) ? v : fail(f, 'expected an object'));
const nullable = (inner: Check): Check => (v, f) => (v === null ? null : inner(v, f));
/** A field that may be left out of the JSON; it then validates as null. */
const optionalNullable = (inner: Check): Check => Object.assign(nullable(inner), { optional: true });

type Shape = { [field: string]: Check | Shape };

const object = (shape: Shape): Check => (v, f) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return fail(f, 'expected an object');
  const input = v as Record<string, unknown>;
  for (const key of Object.keys(input)) if (!(key in shape)) fail(f ? `${f}.${key}` : key, `unknown field (known: ${Object.keys(shape).join(', ')})`);
  const out: Record<string, unknown> = {};
  for (const [key, check] of Object.entries(shape)) {
    const field = f ? `${f}.${key}` : key;
    if (!(key in input)) {
      if (typeof check === 'function' && (check as { optional?: boolean }).optional) {
        out[key] = null;
        continue;
      }
      fail(field, 'missing');
    }
    out[key] = typeof check === 'function' ? check(input[key], field) : object(check)(input[key], field);
  }
  return out;
};

const SPEC_SHAPE: Shape = {
  name: str,
  description: str,
  kind: oneOf('filter', 'aggregate', 'noop', 'ycsb', 'ml-train'),
  cluster: { nodes: int(1, 64), splitKeys: int(100), splitBytes: int(1024), coprWorkers: int(1, 64) },
  dataset: (v, f) =>
    object(
      (v as { kind?: unknown } | null)?.kind === 'regression'
        ? { kind: oneOf('regression'), rows: int(1), valueBytes: int(0, 1024 * 1024), seed: int(0), features: int(1, 1024), noise: num(0, 1e6) }
        : (v as { kind?: unknown } | null)?.kind === 'flights'
          ? { kind: oneOf('flights'), rows: int(1, FLIGHTS_TOTAL_ROWS), valueBytes: optionalNullable(int(0, 1024 * 1024)), seed: optionalNullable(int(0)), categories: optionalNullable(int(1, 1_000_000)) }
          : { kind: oneOf('synthetic', 'regression', 'flights'), rows: int(1), valueBytes: int(0, 1024 * 1024), seed: int(0), categories: int(1, 1_000_000) },
    )(v, f),
  modes: list(oneOf('pushdown', 'client', 'client-cached', 'adaptive')),
  request: anyObject,
  sweep: nullable(object({ parameter: str, values: list(scalar) })),
  links: list(str),
  warmup: int(0, 1000),
  repetitions: int(1, 100_000),
  concurrency: int(1, 1024),
  ycsb: nullable(
    object({
      readProportion: num(0, 1),
      updateProportion: num(0, 1),
      insertProportion: num(0, 1),
      zipfianTheta: num(0, 0.9999),
      operations: int(1),
      clients: int(1, 10_000),
      targetOpsPerSec: num(0, 1e9),
    }),
  ),
  ml: optionalNullable(object({ epochs: int(1, 1_000_000), learningRate: num(1e-12, 1e6), tolerance: num(0, 1e9) })),
  sizes: anyObject,
};

/** Validates a parsed spec; throws SpecError naming the first bad field. */
export function validateSpec(raw: unknown): WorkloadSpec {
  const spec = object(SPEC_SHAPE)(raw, '') as WorkloadSpec;
  if (spec.ycsb) {
    const sum = spec.ycsb.readProportion + spec.ycsb.updateProportion + spec.ycsb.insertProportion;
    if (Math.abs(sum - 1) > 1e-9) fail('ycsb', `read/update/insert proportions must sum to 1, got ${sum}`);
  }
  if (spec.kind === 'ycsb' && !spec.ycsb) fail('ycsb', 'a ycsb workload needs the ycsb section');
  if (spec.kind === 'ml-train' && !spec.ml) fail('ml', 'an ml-train workload needs the ml section (epochs, learningRate, tolerance)');
  if (spec.kind === 'ml-train' && spec.dataset.kind !== 'regression' && spec.dataset.kind !== 'flights') fail('dataset.kind', `an ml-train workload trains on the regression or flights dataset, got '${spec.dataset.kind}'`);
  if (new Set(spec.modes).size !== spec.modes.length) fail('modes', 'lists a mode twice');
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
  const file = nameOrPath.endsWith('.json') ? nameOrPath : path.join(dir, `${nameOrPath}.json`);
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
