/**
 * Speedup charts' confidence intervals: each speedup's 95% CI (Fieller, over paired repetitions,
 * from summary.json's comparisons) as an error bar, and a ring around the points whose CI contains
 * 1 ("no measurable difference"). The bars live on the chart's log axis, so unbounded or very wide
 * intervals are cut at its edges instead of stretching it until every line is flat.
 */
import type { QueryPointSummary, SpeedupCI } from '../../workloads/driver/summarize';
import type { QueryView } from '../../workloads/families/query/report';

/** The fields a speedup row adds for its CI. */
export interface SpeedupCiFields {
  /** The error bar's ends as drawn (inside the axis domain; equal to the speedup without a CI). */
  ciLowDrawn: number;
  ciHighDrawn: number;
  /** For the tooltip: `1.40–1.66`, `unbounded` or `-` (runs before speedup CIs). */
  ci95: string;
  /** faster / slower / no measurable difference (empty for runs before speedup CIs). */
  verdict: string;
}

/** The speedup CI over the client mode of a point's mode, when the summary has it. */
export function speedupCiOf(view: QueryView, p: QueryPointSummary): SpeedupCI | undefined {
  return view.comparisons.find((c) => c.link === p.link && c.point === p.point)?.speedups?.[p.mode];
}

/** How far beyond the speedups themselves CIs may widen the axis (then they are cut). */
const CI_REACH = 3;

/** The log y domain of a speedup chart: the speedups, 1, and their CIs up to CI_REACH beyond them. */
export function speedupDomain(rows: ReadonlyArray<{ speedup: number; ci?: SpeedupCI }>): [number, number] {
  const speedups = rows.map((r) => r.speedup);
  const lo = Math.min(...speedups, 1);
  const hi = Math.max(...speedups, 1);
  const lows = rows.flatMap((r) => (r.ci?.ciLow != null && r.ci.ciLow > 0 ? [r.ci.ciLow] : []));
  const highs = rows.flatMap((r) => (r.ci?.ciHigh != null ? [r.ci.ciHigh] : []));
  const low = Math.max(Math.min(lo, ...lows), lo / CI_REACH);
  const high = Math.min(Math.max(hi, ...highs), hi * CI_REACH);
  return [Math.min(low / 1.3, 0.5), Math.max(high * 1.3, 2)];
}

/** A row's CI fields, its bar cut to the domain (an unbounded side reaches the edge). */
export function speedupCiFields(speedup: number, ci: SpeedupCI | undefined, domain: [number, number]): SpeedupCiFields {
  if (!ci) return { ciLowDrawn: speedup, ciHighDrawn: speedup, ci95: '-', verdict: '' };
  const low = ci.ciLow === null || !(ci.ciLow > domain[0]) ? domain[0] : ci.ciLow;
  const high = ci.ciHigh === null || ci.ciHigh > domain[1] ? domain[1] : ci.ciHigh;
  const ci95 = ci.ciLow === null || ci.ciHigh === null ? 'unbounded' : `${ci.ciLow.toFixed(2)}–${ci.ciHigh.toFixed(2)}`;
  return { ciLowDrawn: low, ciHighDrawn: high, ci95, verdict: ci.verdict };
}

/** True when a CI reaches past the domain (or is unbounded), so its bar is cut. */
export function ciCut(ci: SpeedupCI | undefined, domain: [number, number]): boolean {
  if (!ci) return false;
  return ci.ciLow === null || ci.ciHigh === null || ci.ciLow < domain[0] || ci.ciHigh > domain[1];
}

/** Tooltip entries of the CI fields. */
export const SPEEDUP_CI_TOOLTIP = [
  { field: 'ci95', title: 'speedup 95% CI' },
  { field: 'verdict', title: 'vs client' },
];

/**
 * Layers drawn under a speedup line: the CI as a rule per point, and a ring around the points
 * with no measurable difference. `x`, `color` and `y` (title and scale, shared so the layers
 * keep one axis and its title) are the line's.
 */
export function speedupCiLayers(x: Record<string, unknown>, color: Record<string, unknown>, y: { title: unknown; scale: Record<string, unknown> }): Array<Record<string, unknown>> {
  return [
    { mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.7, clip: true }, encoding: { x, y: { field: 'ciLowDrawn', type: 'quantitative', ...y }, y2: { field: 'ciHighDrawn' }, color } },
    // A ring on every point, of size 0 where the CI excludes 1: a filter that left a facet's layer
    // empty made Vega warn "Infinite extent" on every run where one mode had no such point.
    {
      mark: { type: 'point', filled: false, strokeWidth: 1.5, clip: true },
      encoding: { x, y: { field: 'speedup', type: 'quantitative', ...y }, color, size: { condition: { test: "datum.verdict === 'no measurable difference'", value: 200 }, value: 0 } },
    },
  ];
}

/** The subtitle line that explains the bars and rings. */
export function speedupCiNote(cut: boolean): string {
  return `Bars: 95% CI of the speedup (Fieller, paired repetitions)${cut ? ', cut at the axis' : ''}; ringed: no measurable difference (the CI contains 1).`;
}
