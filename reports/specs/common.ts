/**
 * What every chart shares: the chart record, the look (fonts, sizes, title style), the rule for
 * log scales, and number formats with units.
 */
/** A Vega-Lite spec (vega-lite is ESM-only: its types are imported in ESM resolution mode). */
export type TopLevelSpec = import('vega-lite', { with: { 'resolution-mode': 'import' } }).TopLevelSpec;

import { modeColorScale } from '../modes';

/** One chart of a report: a stable id (file names), a title and the Vega-Lite spec. */
export interface ChartSpec {
  /** File-name-safe id, e.g. "latency-vs-selectivity". */
  id: string;
  title: string;
  /** One sentence under the chart: what it answers. */
  caption: string;
  spec: TopLevelSpec;
  /** True when the x axis is the run's sweep (or a measure of it): its marks must spread across the plot. */
  xIsSweep?: boolean;
}

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Width and height of one panel (a facet cell or a single chart), in px. */
export const PANEL = { width: 380, height: 260 } as const;

/** Width of a chart that is a single panel (no facets): wider, since nothing sits beside it. */
export const SINGLE_WIDTH = 520;

/**
 * The shared look. DejaVu Sans first: it is what the PNG renderer finds on Debian, and server-side
 * text measurement estimates widths for it closely enough that labels do not collide.
 */
export const CHART_CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  background: 'white',
  padding: 12,
  title: { fontSize: 15, subtitleFontSize: 11, subtitleColor: '#555555', anchor: 'start', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, titlePadding: 8, gridColor: '#e6e6e6' },
  header: { labelFontSize: 12, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, symbolStrokeWidth: 2, labelLimit: 260 },
  view: { stroke: '#cccccc' },
} as const;

/** Max/min ratio from which an axis is drawn log: about one and a half decades. */
export const LOG_SCALE_RATIO = 30;

/** True when positive values span decades (max/min ≥ LOG_SCALE_RATIO): the axis should be log. */
export function spansDecades(values: readonly number[]): boolean {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  if (positive.length < 2) return false;
  return Math.max(...positive) / Math.min(...positive) >= LOG_SCALE_RATIO;
}

/**
 * A y scale for positive measurements: log when they span decades (with an explicit lower bound
 * so error bands can be clipped to it), linear from zero otherwise.
 */
export function measureScale(values: readonly number[]): { log: boolean; floor: number; scale: { type: 'log'; domain: [number, number]; nice: false } | { zero: true } } {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  if (!spansDecades(positive)) return { log: false, floor: 0, scale: { zero: true } };
  const { floor, ceiling } = logDomain(positive);
  return { log: true, floor, scale: { type: 'log', domain: [floor, ceiling], nice: false } };
}

/**
 * Whole decades around positive values, for a log axis: an explicit domain keeps every mark
 * inside the plot (Vega's automatic log domain can stop short of the largest value when the lower
 * bound is pinned) and gives CI bands a floor to clip to.
 */
export function logDomain(positive: readonly number[]): { floor: number; ceiling: number } {
  const lo = Math.min(...positive);
  const hi = Math.max(...positive);
  return { floor: 10 ** Math.floor(Math.log10(lo / 1.2)), ceiling: 10 ** Math.ceil(Math.log10(hi * 1.2)) };
}

/** Appends ", log scale" to an axis title when the scale is log. */
export const axisTitle = (title: string, log: boolean): string => (log ? `${title}, log scale` : title);

/**
 * A y-axis title: "(log scale)" goes on a second line, since a rotated title longer than the plot
 * makes Vega pad the whole chart above and below.
 */
export const yAxisTitle = (title: string, log: boolean): string | string[] => (log ? [title, '(log scale)'] : title);

/** A CI bound ready to draw: finite, and not below the axis floor (log axes cannot show ≤ 0). */
export function clampLow(value: number, floor: number, log: boolean): number {
  if (!Number.isFinite(value)) return log ? floor : 0;
  return log ? Math.max(value, floor) : Math.max(value, 0);
}

/** A title with an optional subtitle, as Vega-Lite takes it. */
export function chartTitle(text: string, subtitle?: string | string[]): { text: string; subtitle?: string | string[] } {
  return subtitle ? { text, subtitle } : { text };
}

/** SI-prefixed bytes for axes ("1.2MB"); Vega's "~s" drops trailing zeros. */
export const BYTES_FORMAT = '~s';

/**
 * A whole spec from a chart's parts: data inline (so the .vl.json opens on its own in the Vega
 * editor), one panel, or one panel per facet value when `facet` is given.
 */
export function assembleSpec(title: ReturnType<typeof chartTitle>, values: readonly object[], inner: Record<string, unknown>, facet?: Record<string, unknown> | null, extra: Record<string, unknown> = {}): TopLevelSpec {
  const base = { $schema: VEGA_LITE_SCHEMA, title, config: CHART_CONFIG, data: { values } };
  return (facet ? { ...base, facet, spec: inner, ...extra } : { ...base, ...inner, ...extra }) as TopLevelSpec;
}

/** The y side of a bar chart with CIs: row fields of the mean and of the CI bounds, axis and tooltip. */
export interface BarsWithCi {
  meanField: string;
  ciLowField: string;
  ciHighField: string;
  yTitle: string | string[];
  yScale?: Record<string, unknown>;
  tooltip: Array<Record<string, unknown>>;
}

/** What modeBarsWithCi draws: a bar per mode (mean) with its CI as a rule. */
export interface ModeBarsOptions extends BarsWithCi {
  modes: string[];
}

/**
 * The top of a bar chart's axis: CIs of a few repetitions can be many times the mean (Student t
 * with n = 2 is 12.7), and drawn whole they would flatten every bar. Tops beyond 3× the largest
 * mean are cut there; `clipped` says whether any was.
 */
export function ciAxisTop(means: readonly number[], highs: readonly number[]): { top: number; clipped: boolean } {
  const maxMean = Math.max(0, ...means.filter(Number.isFinite));
  const maxHigh = Math.max(maxMean, ...highs.filter(Number.isFinite));
  const top = Math.min(maxHigh, 3 * maxMean) * 1.08;
  return { top: top > 0 ? top : 1, clipped: maxHigh > 3 * maxMean };
}

/** One panel of bars, one per mode in its fixed colour, each with a 95% CI rule. */
export function modeBarsWithCi(o: ModeBarsOptions): Record<string, unknown> {
  const layer = [
    {
      mark: { type: 'bar', width: { band: 0.6 } },
      encoding: {
        y: { field: o.meanField, type: 'quantitative', title: o.yTitle, ...(o.yScale ? { scale: o.yScale } : {}) },
        color: { field: 'mode', type: 'nominal', title: 'mode', scale: modeColorScale(o.modes), legend: null },
        tooltip: o.tooltip,
      },
    },
    { mark: { type: 'rule', strokeWidth: 1.5, color: '#222222', clip: true }, encoding: { y: { field: o.ciLowField, type: 'quantitative' }, y2: { field: o.ciHighField } } },
  ];
  return {
    width: Math.max(340, 100 * o.modes.length),
    height: PANEL.height,
    encoding: { x: { field: 'mode', type: 'nominal', title: null, sort: o.modes, axis: { labelAngle: 0 } } },
    layer,
  };
}
