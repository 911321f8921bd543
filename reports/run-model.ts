/**
 * A run as reports read it: the files (via the driver's results reader), the workload family that
 * wrote it (summary.json's `family`), and that family's typed view of the summary, checked enough
 * that a chart never silently draws from a wrong-shaped file.
 */
import path from 'node:path';
import { readRun, RunReadError, type RunData } from '../workloads/driver/results/reader';
import { familyForKind, familyNamed, familyOfSummary, knownFamilies } from '../workloads/families/registry';
import type { ReportContext, WorkloadFamily } from '../workloads/families/family';
import { linkInfo, sortLinks, type LinkInfo } from './links';
import { isObject } from '../engine/util/is-object';
import type { PerSecondPoint } from '../workloads/driver/metrics/timeseries';


/** A per-second series: YCSB's per repetition, a query workload's per link (repetition -1: the whole run). */
export interface SeriesOfRun {
  link: string;
  repetition: number;
  points: PerSecondPoint[];
}

/** A loaded run: files, its family, the family's typed view (null without a summary) and its links (slowest first). */
export interface LoadedRun {
  data: RunData;
  /** The family that wrote the run (from summary.json, else the manifest's spec kind); null when unknown. */
  family: WorkloadFamily | null;
  /** The family's view of summary.json; null for a run without summary (failed or still running). */
  view: unknown;
  links: LinkInfo[];
  /** The workload kind from the summary or the manifest's spec (e.g. "filter", "plugin", "ycsb"). */
  workloadKind: string;
}

function bad(run: RunData, what: string): RunReadError {
  return new RunReadError('BAD_FILE', `${path.join(run.dir, 'summary.json')}: ${what} (was it written by this version of the workload driver?)`);
}

/** The family of a run: summary.json's `family`, else its shape (older runs), else the spec's kind. */
function familyOf(run: RunData): WorkloadFamily | null {
  const s = run.summary;
  if (s && typeof s.family === 'string') {
    const named = familyNamed(s.family);
    if (!named) throw bad(run, `family '${s.family}' is not one this version knows (${knownFamilies().join(', ')})`);
    return named;
  }
  if (s) {
    const byShape = familyOfSummary(s);
    if (!byShape) throw bad(run, `it names no family and has the shape of none (${knownFamilies().join(', ')})`);
    return byShape;
  }
  const spec = isObject(run.manifest.spec) ? run.manifest.spec : {};
  try {
    return typeof spec.kind === 'string' ? familyForKind(spec.kind) : null;
  } catch {
    return null;
  }
}

function linksOf(run: RunData, family: WorkloadFamily | null, view: unknown): LinkInfo[] {
  const spec = isObject(run.manifest.spec) ? run.manifest.spec : {};
  const specLinks = Array.isArray(spec.links) ? spec.links : [];
  const names = new Set<string>();
  if (family && view !== null) family.report.linkNames(view).forEach((n) => names.add(n));
  else for (const l of specLinks) names.add(typeof l === 'string' ? l : String((l as { name?: unknown })?.name ?? ''));
  return sortLinks([...names].filter(Boolean).map((n) => linkInfo(n, specLinks)));
}

/** Wraps already-read run files (see readRun) with their family and typed view. */
export function loadedFrom(data: RunData): LoadedRun {
  const family = familyOf(data);
  let view: unknown = null;
  if (data.summary && family) {
    try {
      view = family.report.view(data.summary, path.join(data.dir, 'summary.json'));
    } catch (err) {
      throw err instanceof RunReadError ? err : bad(data, (err as Error).message);
    }
  }
  const spec = isObject(data.manifest.spec) ? data.manifest.spec : {};
  const workloadKind = String(data.summary?.kind ?? spec.kind ?? 'unknown');
  return { data, family, view, links: linksOf(data, family, view), workloadKind };
}

/** What family-specific report code gets besides the view. */
export function reportContext(run: LoadedRun): ReportContext {
  return { workload: run.data.workload, links: run.links, samples: run.data.samples };
}

/**
 * Loads a run folder (or a workload's `latest`). Throws RunReadError: NOT_A_RUN for a folder that
 * is not a run, BAD_FILE for a file that does not parse or has the wrong shape.
 */
export function loadRun(dir: string): LoadedRun {
  return loadedFrom(readRun(dir));
}
