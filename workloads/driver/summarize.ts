/**
 * Turns measured samples into the run summary: per (link, sweep point, mode) means with 95%
 * confidence intervals, latency percentiles and how the repetitions stopped; per (link, point) the
 * speedups over the client mode with 95% CIs (paired by repetition) and the wire-byte ratio; and
 * the checksum verdict (all modes must give the same answer).
 */
import { LatencyRecorder } from './metrics/latency';
import { meanWithCI95 } from './metrics/stats';
import { pairedRatioCI, ratioVerdict, type RatioVerdict } from './metrics/ratio';
import { relativeHalfWidth, type StopReason } from './metrics/sequential';
import type { AnswerCheckResult, PointStop, QuerySample } from '../families/query/runner';
import type { YcsbSample } from '../families/ycsb/runner';
import type { MeanBounds as MeanCI } from './metrics/stats';

/** A summary's mean with its 95% interval. */
export type { MeanCI };

export interface QueryPointSummary {
  link: string;
  parameter: string;
  point: string;
  mode: string;
  n: number;
  latencyMs: MeanCI & { p50: number; p95: number; p99: number; max: number };
  /** The mean latency's 95% CI half-width as a fraction of the mean (null below 2 repetitions; absent in older runs). */
  latencyHalfWidthFraction?: number | null;
  /** Why the point stopped repeating: its precision was met, or the cap it hit (null: not recorded; absent in older runs). */
  stoppedBy?: StopReason | null;
  rowsScannedPerSec: MeanCI;
  clientWireInBytes: MeanCI;
  clientWireOutBytes: MeanCI;
  clientCpuMs: MeanCI;
  nodesCpuMs: MeanCI;
  pluginCpuMs: MeanCI;
  rowsScanned: number;
  rowsReturned: number;
  /** Actual selectivity: rows the query selected / rows scanned (null when the kind does not report matches). */
  selectivity: number | null;
  regions: number;
  checksum: string;
  /**
   * The cost model's predicted latency (mean over the point's calls, ms): for pushdown and client
   * the prediction for that mode, for adaptive the prediction of the mode it chose. Null without a
   * model.
   */
  predictedLatencyMs: number | null;
  /** adaptive only: how many calls ran each mode. */
  chosenModes?: Record<string, number>;
}

/**
 * A speedup (a ratio of mean latencies, > 1: the mode in the numerator's place is slower) with its
 * 95% confidence interval by Fieller's method over the repetitions' pairs (metrics/ratio.ts).
 */
export interface SpeedupCI {
  /** Pairs (repetitions) it rests on. */
  n: number;
  ratio: number;
  /** Null: unbounded (too few or too noisy repetitions to bound the ratio). */
  ciLow: number | null;
  ciHigh: number | null;
  /** faster (the whole CI above 1), slower (below 1), or no measurable difference (the CI contains 1). */
  verdict: RatioVerdict;
}

export interface ModeComparison {
  link: string;
  point: string;
  /** Mean client-mode latency / mean pushdown latency (> 1: pushdown is faster). */
  speedup: number | null;
  /** Per mode other than client (pushdown, adaptive): client latency / its latency, with a CI; faster: that mode beat the client (absent in older runs). */
  speedups?: Record<string, SpeedupCI>;
  /** The faster fixed mode's latency / adaptive's (> 1: adaptive beat it); null without adaptive, pushdown and client. */
  adaptiveVsBest?: (SpeedupCI & { best: string }) | null;
  /**
   * The cost model's client prediction / its pushdown prediction: the speedup it expected (null
   * without both). What adaptive's choice rests on; a host running slower or faster than at
   * calibration moves both predictions' errors alike and leaves this one.
   */
  predictedSpeedup?: number | null;
  /** Client-mode wire bytes in / pushdown wire bytes in. */
  wireBytesRatio: number | null;
  checksumsAgree: boolean;
}

export interface ChecksumVerdict {
  agree: boolean;
  mismatches: string[];
}

export interface QuerySummary {
  points: QueryPointSummary[];
  comparisons: ModeComparison[];
  verdict: ChecksumVerdict;
}

const ci = (values: number[]): MeanCI => {
  const r = meanWithCI95(values);
  return { mean: r.mean, ciLow: r.ciLow, ciHigh: r.ciHigh };
};

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/**
 * The summary form of a ratio CI of latencies: JSON has no Infinity, so an unbounded side is null;
 * a ratio of latencies cannot be negative, so a lower bound below 0 (a noisy numerator) reads 0,
 * which covers every ratio the interval did.
 */
function speedupCi(numerator: number[], denominator: number[]): SpeedupCI {
  const ci = pairedRatioCI(numerator, denominator);
  return { n: ci.n, ratio: ci.ratio, ciLow: ci.bounded ? Math.max(0, ci.ciLow) : null, ciHigh: ci.bounded ? ci.ciHigh : null, verdict: ratioVerdict(ci) };
}

/** Latencies of one mode by repetition. */
function latencyByRepetition(group: QuerySample[], mode: string): Map<number, number> {
  return new Map(group.filter((s) => s.mode === mode).map((s) => [s.repetition, s.latencyMs]));
}

/** `numerator` mode's latency / `denominator` mode's, over the repetitions both made; null when fewer than one pair. */
function pairedSpeedup(group: QuerySample[], numerator: string, denominator: string): SpeedupCI | null {
  const top = latencyByRepetition(group, numerator);
  const bottom = latencyByRepetition(group, denominator);
  const reps = [...top.keys()].filter((r) => bottom.has(r)).sort((a, b) => a - b);
  if (reps.length === 0) return null;
  return speedupCi(reps.map((r) => top.get(r)!), reps.map((r) => bottom.get(r)!));
}

/** Speedups over the client mode of every other mode, and adaptive against the faster fixed mode. */
function speedupsOf(group: QuerySample[]): Pick<ModeComparison, 'speedups' | 'adaptiveVsBest'> {
  const modes = [...new Set(group.map((s) => s.mode))];
  const speedups: Record<string, SpeedupCI> = {};
  if (modes.includes('client')) {
    for (const mode of modes.filter((m) => m !== 'client')) {
      const ci = pairedSpeedup(group, 'client', mode);
      if (ci) speedups[mode] = ci;
    }
  }
  let adaptiveVsBest: ModeComparison['adaptiveVsBest'] = null;
  if (modes.includes('adaptive') && modes.includes('pushdown') && modes.includes('client')) {
    const meanOf = (mode: string): number => {
      const ls = [...latencyByRepetition(group, mode).values()];
      return ls.reduce((t, v) => t + v, 0) / ls.length;
    };
    // The faster fixed mode is picked from the same repetitions: the bar adaptive must meet.
    const best = meanOf('pushdown') <= meanOf('client') ? 'pushdown' : 'client';
    const ci = pairedSpeedup(group, best, 'adaptive');
    adaptiveVsBest = ci ? { ...ci, best } : null;
  }
  return { speedups, adaptiveVsBest };
}

/**
 * Summarizes a query run's samples into points, comparisons and the verdict; `stops` (from the
 * runner) says how each point's repetitions ended. Answers must agree per link and point twice
 * over: the timed calls' checksums (streamed rows counted) across every mode, and the untimed
 * check calls' (`answerChecks`: every streamed row digested) across the fixed modes.
 */
export function summarizeQueries(samples: QuerySample[], stops: PointStop[] = [], answerChecks: AnswerCheckResult[] = []): QuerySummary {
  const points: QueryPointSummary[] = [];
  for (const group of groupBy(samples, (s) => `${s.link}\u0000${s.point}\u0000${s.mode}`).values()) {
    const first = group[0]!;
    const relative = relativeHalfWidth(group.map((s) => s.latencyMs));
    const latency = new LatencyRecorder();
    for (const s of group) latency.recordMs(s.latencyMs);
    const l = latency.summary();
    points.push({
      link: first.link,
      parameter: first.parameter,
      point: first.point,
      mode: first.mode,
      n: group.length,
      latencyMs: { ...ci(group.map((s) => s.latencyMs)), p50: l.p50Ms, p95: l.p95Ms, p99: l.p99Ms, max: l.maxMs },
      latencyHalfWidthFraction: Number.isFinite(relative) ? relative : null,
      stoppedBy: stops.find((st) => st.link === first.link && st.point === first.point)?.stoppedBy ?? null,
      rowsScannedPerSec: ci(group.map((s) => (s.rowsScanned / Math.max(s.latencyMs, 1e-6)) * 1000)),
      clientWireInBytes: ci(group.map((s) => s.clientWireInBytes)),
      clientWireOutBytes: ci(group.map((s) => s.clientWireOutBytes)),
      clientCpuMs: ci(group.map((s) => s.clientCpuUs / 1000)),
      nodesCpuMs: ci(group.map((s) => s.nodesCpuUs / 1000)),
      pluginCpuMs: ci(group.map((s) => s.pluginCpuUs / 1000)),
      rowsScanned: first.rowsScanned,
      rowsReturned: first.rowsReturned,
      selectivity: first.rowsMatched >= 0 && first.rowsScanned > 0 ? first.rowsMatched / first.rowsScanned : null,
      regions: first.regions,
      checksum: first.checksum,
      predictedLatencyMs: group.every((s) => s.predictedMs !== null) ? group.reduce((t, s) => t + s.predictedMs!, 0) / group.length : null,
      ...(first.mode === 'adaptive' ? { chosenModes: countBy(group, (s) => s.chosenMode) } : {}),
    });
  }
  const comparisons: ModeComparison[] = [];
  const mismatches: string[] = [];
  for (const group of groupBy(samples, (s) => `${s.link}\u0000${s.point}`).values()) {
    const checksums = new Set(group.map((s) => s.checksum));
    const where = `link ${group[0]!.link}${group[0]!.parameter ? `, ${group[0]!.parameter} ${group[0]!.point}` : ''}`;
    if (checksums.size > 1) {
      const byMode = [...groupBy(group, (s) => s.mode)].map(([mode, ss]) => `${mode}: ${[...new Set(ss.map((s) => s.checksum))].join('/')}`);
      mismatches.push(`${where}: answers differ (${byMode.join('; ')})`);
    }
    const checks = answerChecks.filter((c) => c.link === group[0]!.link && c.point === group[0]!.point);
    const checked = new Set(checks.map((c) => c.checksum));
    if (checked.size > 1) mismatches.push(`${where}: the check calls' answers differ, every row digested (${checks.map((c) => `${c.mode}: ${c.checksum}`).join('; ')})`);
    const mean = (mode: string, pick: (s: QuerySample) => number): number | undefined => {
      const ss = group.filter((s) => s.mode === mode);
      return ss.length ? ss.reduce((t, s) => t + pick(s), 0) / ss.length : undefined;
    };
    const pushLatency = mean('pushdown', (s) => s.latencyMs);
    const clientLatency = mean('client', (s) => s.latencyMs);
    const predicted = (mode: string): number | undefined => (group.some((s) => s.mode === mode && s.predictedMs === null) ? undefined : mean(mode, (s) => s.predictedMs!));
    const [pushPredicted, clientPredicted] = [predicted('pushdown'), predicted('client')];
    const pushBytes = mean('pushdown', (s) => s.clientWireInBytes);
    const clientBytes = mean('client', (s) => s.clientWireInBytes);
    comparisons.push({
      link: group[0]!.link,
      point: group[0]!.point,
      speedup: pushLatency && clientLatency ? clientLatency / pushLatency : null,
      ...speedupsOf(group),
      predictedSpeedup: pushPredicted && clientPredicted ? clientPredicted / pushPredicted : null,
      wireBytesRatio: pushBytes && clientBytes ? clientBytes / pushBytes : null,
      checksumsAgree: checksums.size === 1 && checked.size <= 1,
    });
  }
  return { points, comparisons, verdict: { agree: mismatches.length === 0, mismatches } };
}

export interface YcsbSummary {
  link: string;
  n: number;
  opsPerSec: MeanCI;
  latencyMs: { p50: MeanCI; p95: MeanCI; p99: MeanCI; max: number };
  errors: number;
  clientCpuMsPerKop: MeanCI;
  nodesCpuMsPerKop: MeanCI;
}

export function summarizeYcsb(samples: YcsbSample[]): YcsbSummary[] {
  return [...groupBy(samples, (s) => s.link).values()].map((group) => ({
    link: group[0]!.link,
    n: group.length,
    opsPerSec: ci(group.map((s) => s.opsPerSec)),
    latencyMs: {
      p50: ci(group.map((s) => s.latency.p50Ms)),
      p95: ci(group.map((s) => s.latency.p95Ms)),
      p99: ci(group.map((s) => s.latency.p99Ms)),
      max: Math.max(...group.map((s) => s.latency.maxMs)),
    },
    errors: group.reduce((t, s) => t + s.errors, 0),
    clientCpuMsPerKop: ci(group.map((s) => s.clientCpuUs / Math.max(1, s.operations))),
    nodesCpuMsPerKop: ci(group.map((s) => s.nodesCpuUs / Math.max(1, s.operations))),
  }));
}
