/**
 * Labels for compared runs: what tells each run apart, read from the manifests. The backend first
 * (copbench against Redis is the comparison a reader most needs named); with one backend, the
 * fields that differ (the network kind, the commit, the size, any spec field); nothing differing,
 * the run ids.
 */
import { isObject } from '../engine/util/is-object';

/** The backend a run without a `backend` spec field ran on (every run before backends were selectable). */
export const DEFAULT_BACKEND = 'copbench';

/** At most this many fields make a label; the runs table on the page lists every differing field. */
const MAX_LABEL_FIELDS = 3;
/** Values longer than this are cut in labels (an array of sweep values, a long description). */
const MAX_VALUE_CHARS = 28;

/** What the labels read from a run. */
export interface LabelSource {
  runId: string;
  manifest: Record<string, unknown>;
}

/** A field whose value is not the same in every run, with each run's value as text (in run order). */
export interface DifferingField {
  field: string;
  values: string[];
  /** True when the runs' `size` presets set this field: it differs because the size does, and labels leave it out. */
  fromSize: boolean;
}

/** The labels of compared runs and what they were made of. */
export interface RunLabels {
  /** One per run, in run order, all distinct. */
  labels: string[];
  /** backend: the runs' backends differ; fields: the same backend, labelled by differing fields; run-id: nothing differs. */
  basis: 'backend' | 'fields' | 'run-id';
  differing: DifferingField[];
}

/**
 * A run's backend: the spec's `backend.kind` (a string `backend` is read too, in case the field
 * settles on that shape); absent, copbench.
 */
export function backendOf(manifest: Record<string, unknown>): string {
  const backend = isObject(manifest.spec) ? manifest.spec.backend : undefined;
  if (typeof backend === 'string' && backend) return backend;
  if (isObject(backend) && typeof backend.kind === 'string' && backend.kind) return backend.kind;
  return DEFAULT_BACKEND;
}

// Spec fields that never describe what ran: prose, and the table of size presets (the run's `size` says which applied).
const IGNORED_SPEC_FIELDS = new Set(['description', 'sizes']);

function valueText(value: unknown): string {
  if (value === undefined) return '-';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Leaves of a spec object as dotted paths (arrays are one value: a sweep's values are one setting). */
function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (!prefix && IGNORED_SPEC_FIELDS.has(k)) continue;
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
  } else out.set(prefix, valueText(value));
}

/**
 * Everything that can tell a run apart, field → value text, most telling first: the backend, the
 * network as it was measured (the manifest's, not the spec's request), the commit, the size, the
 * cluster, then every spec field in spec order. The start time and run id are left out: they
 * always differ.
 */
export function runIdentity(manifest: Record<string, unknown>): Map<string, string> {
  const spec = isObject(manifest.spec) ? manifest.spec : {};
  const network = isObject(manifest.network) ? manifest.network : isObject(spec.network) ? spec.network : {};
  const fields = new Map<string, string>([
    ['backend', backendOf(manifest)],
    ['network.kind', valueText(network.kind)],
    ['gitCommit', typeof manifest.gitCommit === 'string' ? manifest.gitCommit.slice(0, 8) : '-'],
    ['size', manifest.size ? String(manifest.size) : 'default'],
    ['cluster', valueText(manifest.cluster)],
  ]);
  const specFields = new Map<string, string>();
  flatten(spec, '', specFields);
  for (const [k, v] of specFields) {
    // backend.kind and network.kind are the first entries above; other backend/network settings are spec fields like any.
    if (k === 'backend.kind' || k === 'backend' || k === 'network.kind') continue;
    if (!fields.has(k)) fields.set(k, v);
  }
  return fields;
}

/** Fields the runs' size presets set (spec.sizes[size]), unless a run overrode them with -p. */
function sizeFields(sources: readonly LabelSource[]): Set<string> {
  const set = new Set<string>();
  const overridden = new Set<string>();
  for (const { manifest } of sources) {
    const spec = isObject(manifest.spec) ? manifest.spec : {};
    const preset = typeof manifest.size === 'string' && isObject(spec.sizes) ? spec.sizes[manifest.size] : undefined;
    if (isObject(preset)) Object.keys(preset).forEach((k) => set.add(k));
    if (Array.isArray(manifest.overrides)) for (const o of manifest.overrides) if (typeof o === 'string') overridden.add(o.split('=')[0]!);
  }
  for (const k of overridden) set.delete(k);
  return set;
}

/** The fields whose values are not all equal, in identity order. */
export function differingFields(sources: readonly LabelSource[]): DifferingField[] {
  const identities = sources.map((s) => runIdentity(s.manifest));
  const names: string[] = [];
  for (const id of identities) for (const k of id.keys()) if (!names.includes(k)) names.push(k);
  const bySize = new Set<string>();
  const sizeDiffers = new Set(identities.map((id) => id.get('size'))).size > 1;
  if (sizeDiffers) sizeFields(sources).forEach((k) => bySize.add(k));
  return names
    .map((field) => ({ field, values: identities.map((id) => id.get(field) ?? '-'), fromSize: bySize.has(field) }))
    .filter((f) => new Set(f.values).size > 1);
}

const cut = (text: string): string => (text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text);

/** Appends the run id to labels that are still equal to another run's. */
function distinct(labels: string[], sources: readonly LabelSource[]): string[] {
  return labels.map((l, i) => (labels.indexOf(l) !== labels.lastIndexOf(l) ? `${l} (${sources[i]!.runId})` : l));
}

/** The label of each run (see the file comment for the rule). */
export function runLabels(sources: readonly LabelSource[]): RunLabels {
  const differing = differingFields(sources);
  const backends = sources.map((s) => backendOf(s.manifest));
  const others = differing.filter((f) => f.field !== 'backend' && !f.fromSize);
  const fieldsText = (i: number, fields: readonly DifferingField[]): string =>
    fields
      .slice(0, MAX_LABEL_FIELDS)
      .map((f) => `${f.field}=${cut(f.values[i]!)}`)
      .join(', ');
  if (new Set(backends).size > 1) {
    // The backend alone, unless two runs share one: then what else tells those apart.
    const labels = backends.map((b, i) => (backends.indexOf(b) === backends.lastIndexOf(b) || others.length === 0 ? b : `${b}, ${fieldsText(i, others)}`));
    return { labels: distinct(labels, sources), basis: 'backend', differing };
  }
  // Fields set by differing sizes are named by `size` itself; use them only when nothing else differs.
  const fields = others.length ? others : differing;
  if (fields.length === 0) return { labels: distinct(sources.map((s) => s.runId), sources), basis: 'run-id', differing };
  return { labels: distinct(sources.map((_, i) => fieldsText(i, fields)), sources), basis: 'fields', differing };
}
