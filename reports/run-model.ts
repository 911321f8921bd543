/**
 * A run as reports read it: the files (via the driver's results reader) plus a typed view of the
 * summary by kind, checked enough that a chart never silently draws from a wrong-shaped file.
 */
import path from 'node:path';
import { readRun, RunReadError, type RunData } from '../workloads/driver/results/reader';
import type { ChecksumVerdict, ModeComparison, QueryPointSummary, YcsbSummary } from '../workloads/driver/summarize';
import type { MlSummary } from '../workloads/driver/ml-runner';
import { linkInfo, sortLinks, type LinkInfo } from './links';

/** One per-second point of a YCSB repetition. */
export interface YcsbSeriesPoint {
  tSec: number;
  opsPerSec: number;
  p99Ms: number;
}

/** A per-second series: YCSB's per repetition, a query workload's per link (repetition -1: the whole run). */
export interface SeriesOfRun {
  link: string;
  repetition: number;
  points: YcsbSeriesPoint[];
}

/** The summary of a query workload (filter, aggregate, noop, …). */
export interface QueryView {
  kind: 'query';
  points: QueryPointSummary[];
  comparisons: ModeComparison[];
  verdict: ChecksumVerdict;
  /** Per-second series per link (empty for runs made before the driver recorded them). */
  series: SeriesOfRun[];
}

/** The summary of a YCSB workload. */
export interface YcsbView {
  kind: 'ycsb';
  summaries: YcsbSummary[];
  series: SeriesOfRun[];
}

/** The summary of an ml-train workload. */
export interface MlView {
  kind: 'ml-train';
  ml: MlSummary;
  verdict: ChecksumVerdict;
}

/** A run without summary.json (it failed or is still running). */
export interface IncompleteView {
  kind: 'incomplete';
}

export type RunView = QueryView | YcsbView | MlView | IncompleteView;

/** A loaded run: files, typed summary view and the links it measured (slowest first). */
export interface LoadedRun {
  data: RunData;
  view: RunView;
  links: LinkInfo[];
  /** The workload kind from the summary or the manifest's spec (e.g. "filter", "ycsb"). */
  workloadKind: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(run: RunData, what: string): RunReadError {
  return new RunReadError('BAD_FILE', `${path.join(run.dir, 'summary.json')}: ${what} (was it written by this version of the workload driver?)`);
}

/** A summary's `series` field, checked (absent: none). */
function seriesOf(run: RunData, s: Record<string, unknown>): SeriesOfRun[] {
  const series = s.series ?? [];
  if (!Array.isArray(series) || !series.every((x) => isObject(x) && typeof x.link === 'string' && Array.isArray(x.points))) throw bad(run, 'series must be a list of { link, repetition, points }');
  return series as SeriesOfRun[];
}

function queryView(run: RunData, s: Record<string, unknown>): QueryView {
  const { points, comparisons, verdict } = s;
  if (!Array.isArray(points) || !points.every((p) => isObject(p) && typeof p.mode === 'string' && typeof p.link === 'string' && isObject(p.latencyMs))) throw bad(run, 'points must be a list of per-point summaries with link, mode and latencyMs');
  if (!Array.isArray(comparisons)) throw bad(run, 'comparisons must be a list');
  if (!isObject(verdict) || typeof verdict.agree !== 'boolean') throw bad(run, 'verdict.agree must be true or false');
  return { kind: 'query', points: points as unknown as QueryPointSummary[], comparisons: comparisons as ModeComparison[], verdict: verdict as unknown as ChecksumVerdict, series: seriesOf(run, s) };
}

function ycsbView(run: RunData, s: Record<string, unknown>): YcsbView {
  if (!Array.isArray(s.ycsb) || !s.ycsb.every((y) => isObject(y) && typeof y.link === 'string' && isObject(y.opsPerSec))) throw bad(run, 'ycsb must be a list of per-link summaries');
  return { kind: 'ycsb', summaries: s.ycsb as unknown as YcsbSummary[], series: seriesOf(run, s) };
}

function mlView(run: RunData, s: Record<string, unknown>): MlView {
  const ml = s.ml;
  if (!isObject(ml) || !Array.isArray(ml.modes)) throw bad(run, 'ml.modes must be a list of per-mode summaries');
  const verdict = isObject(s.verdict) ? s.verdict : ml.verdict;
  if (!isObject(verdict) || typeof verdict.agree !== 'boolean') throw bad(run, 'verdict.agree must be true or false');
  return { kind: 'ml-train', ml: ml as unknown as MlSummary, verdict: verdict as unknown as ChecksumVerdict };
}

/** The typed view of a run's summary (its shape decides: points, ycsb or ml). */
export function viewOf(run: RunData): RunView {
  const s = run.summary;
  if (!s) return { kind: 'incomplete' };
  if ('points' in s) return queryView(run, s);
  if ('ycsb' in s) return ycsbView(run, s);
  if ('ml' in s) return mlView(run, s);
  throw bad(run, 'it has none of points, ycsb or ml');
}

function linksOf(run: RunData, view: RunView): LinkInfo[] {
  const spec = isObject(run.manifest.spec) ? run.manifest.spec : {};
  const specLinks = Array.isArray(spec.links) ? spec.links : [];
  const names = new Set<string>();
  if (view.kind === 'query') view.points.forEach((p) => names.add(p.link));
  else if (view.kind === 'ycsb') view.summaries.forEach((y) => names.add(y.link));
  else if (view.kind === 'ml-train') view.ml.modes.forEach((m) => names.add(m.link));
  else for (const l of specLinks) names.add(typeof l === 'string' ? l : String((l as { name?: unknown })?.name ?? ''));
  return sortLinks([...names].filter(Boolean).map((n) => linkInfo(n, specLinks)));
}

/** Wraps already-read run files (see readRun) with their typed view. */
export function loadedFrom(data: RunData): LoadedRun {
  const view = viewOf(data);
  const spec = isObject(data.manifest.spec) ? data.manifest.spec : {};
  const workloadKind = String(data.summary?.kind ?? spec.kind ?? 'unknown');
  return { data, view, links: linksOf(data, view), workloadKind };
}

/**
 * Loads a run folder (or a workload's `latest`). Throws RunReadError: NOT_A_RUN for a folder that
 * is not a run, BAD_FILE for a file that does not parse or has the wrong shape.
 */
export function loadRun(dir: string): LoadedRun {
  return loadedFrom(readRun(dir));
}
