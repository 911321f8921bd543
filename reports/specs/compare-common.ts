/**
 * What comparison charts share: one colour and one dash per run (by label), and the links of
 * several runs as one axis. Runs get colours of their own, apart from the mode palette, since a
 * comparison chart's panels are per mode and its lines per run.
 */
import { sortLinks, type LinkInfo } from '../links';
import type { BarsWithCi } from './common';

// Paul Tol's "muted" scheme (colour-blind safe), none of them a mode colour.
const RUN_COLORS = ['#332288', '#44AA99', '#CC6677', '#999933', '#882255', '#88CCEE', '#117733', '#DDCC77', '#AA4499'];
// The dash tells runs apart in a grey print too: solid, dashed, dotted, dash-dot, …
const RUN_DASHES: number[][] = [[1, 0], [7, 4], [2, 3], [9, 3, 2, 3], [4, 2], [12, 4]];

/** Vega-Lite colour scale for the runs, in run order (the legend lists them in the order given). */
export function runColorScale(labels: readonly string[]): { domain: string[]; range: string[] } {
  return { domain: [...labels], range: labels.map((_, i) => RUN_COLORS[i % RUN_COLORS.length]!) };
}

/** The `color` channel of a comparison chart: field `run`. */
export function runColorEncoding(labels: readonly string[], legend: Record<string, unknown> = { labelLimit: RUN_LABEL_LIMIT }): Record<string, unknown> {
  return { field: 'run', type: 'nominal', title: 'run', sort: [...labels], scale: runColorScale(labels), legend };
}

/** Width a run's label may take in a legend (px): labels are several `field=value`s, and cut ones cannot be told apart. */
const RUN_LABEL_LIMIT = 600;

/**
 * The legend of a comparison's line charts, below the panels (a row of facets is already wide):
 * line symbols, so the dash shows, and opaque (not a CI band's transparency).
 */
export const RUN_LINE_LEGEND = { orient: 'bottom', direction: 'vertical', symbolType: 'stroke', symbolSize: 500, symbolStrokeWidth: 2.5, labelLimit: RUN_LABEL_LIMIT, encode: { symbols: { update: { opacity: { value: 1 } } } } } as const;

/**
 * Subtitle lines short enough for the chart's width: vega measures text without a canvas here and
 * overestimates it, so one long line makes the whole chart (and its PNG) wider than its panels.
 * Splits each line at "; " and ", " boundaries into lines of at most `max` characters.
 */
export function shortLines(lines: readonly string[], max = 80): string[] {
  return lines.flatMap((line) => {
    const out: string[] = [];
    let current = '';
    for (const part of line.split(/(?<=[;,:] )/)) {
      if (current && (current + part).length > max) {
        out.push(current.trimEnd());
        current = '';
      }
      current += part;
    }
    if (current) out.push(current.trimEnd());
    return out;
  });
}

/** The `strokeDash` channel: one dash per run, sharing the colour legend (same field and title). */
export function runDashEncoding(labels: readonly string[]): Record<string, unknown> {
  return { field: 'run', type: 'nominal', title: 'run', sort: [...labels], scale: { domain: [...labels], range: labels.map((_, i) => RUN_DASHES[i % RUN_DASHES.length]!) } };
}

/** The links of several runs by name, slowest first (the first run that knows a link labels it). */
export function linkUnion(linkLists: ReadonlyArray<readonly LinkInfo[]>): LinkInfo[] {
  const byName = new Map<string, LinkInfo>();
  for (const links of linkLists) for (const l of links) if (!byName.has(l.name)) byName.set(l.name, l);
  return sortLinks([...byName.values()]);
}

/** A link's label in a list of links (its name when absent). */
export const labelOf = (links: readonly LinkInfo[], name: string): string => links.find((l) => l.name === name)?.label ?? name;

/** What runBars draws: per category on x (a mode, a link), a bar per run (mean) with its 95% CI as a rule. */
export interface RunBarsOptions extends BarsWithCi {
  labels: readonly string[];
  /** Row field of the category, its order, and the axis title (null: none). */
  xField: string;
  xSort: readonly string[];
  xTitle: string | null;
}

/** One panel of grouped bars: categories on x, the runs side by side in each (colour per run). */
export function runBars(o: RunBarsOptions): Record<string, unknown> {
  const xOffset = { field: 'run', type: 'nominal', sort: [...o.labels], scale: { domain: [...o.labels] } };
  return {
    width: Math.max(300, 40 * o.labels.length * o.xSort.length + 60),
    height: 240,
    encoding: { x: { field: o.xField, type: 'nominal', title: o.xTitle, sort: [...o.xSort], axis: { labelAngle: 0, labelLimit: 180 } }, xOffset },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          y: { field: o.meanField, type: 'quantitative', title: o.yTitle, ...(o.yScale ? { scale: o.yScale } : {}) },
          color: runColorEncoding(o.labels),
          tooltip: o.tooltip,
        },
      },
      { mark: { type: 'rule', strokeWidth: 1.5, color: '#222222', clip: true }, encoding: { y: { field: o.ciLowField, type: 'quantitative' }, y2: { field: o.ciHighField } } },
    ],
  };
}
