/**
 * Checks a chart is readable, the way the render tests run them over every shipped spec's report:
 * it renders without a vega or vega-lite warning, no log scale draws values ≤ 0, and a chart whose
 * x axis is the sweep spreads its points over at least half the plot's width when it has 3 or more
 * distinct x values.
 */
import { pointSpreads, renderSvg } from './render';
import type { ChartSpec } from './specs/common';
import { isObject } from '../engine/util/is-object';

/** The least share of a plot's width the points of a sweep chart must span. */
export const MIN_SPREAD = 0.5;

/** Every object in a spec (depth first), with the data rows in scope at it. */
function* withData(node: unknown, rows: Array<Record<string, unknown>> = []): Generator<[Record<string, unknown>, Array<Record<string, unknown>>]> {
  if (Array.isArray(node)) {
    for (const child of node) yield* withData(child, rows);
    return;
  }
  if (!isObject(node)) return;
  const own = isObject(node.data) && Array.isArray(node.data.values) ? (node.data.values as Array<Record<string, unknown>>) : rows;
  yield [node, own];
  for (const [key, child] of Object.entries(node)) if (key !== 'data') yield* withData(child, own);
}

/** Fields drawn on a log scale that hold values ≤ 0 in the chart's data. */
export function logScaleProblems(chart: ChartSpec): string[] {
  const problems: string[] = [];
  for (const [node, rows] of withData(chart.spec)) {
    const encoding = node.encoding;
    if (!isObject(encoding)) continue;
    for (const [channel, enc] of Object.entries(encoding)) {
      if (!isObject(enc) || !isObject(enc.scale) || enc.scale.type !== 'log' || typeof enc.field !== 'string') continue;
      const field = enc.field;
      const bad = rows.filter((r) => typeof r[field] === 'number' && !((r[field] as number) > 0));
      if (bad.length > 0) problems.push(`${channel} (${field}) is a log scale over values ≤ 0: ${bad.slice(0, 3).map((r) => r[field]).join(', ')}`);
    }
  }
  return problems;
}

/** What is wrong with a chart (empty: nothing). */
export async function chartProblems(chart: ChartSpec): Promise<string[]> {
  const { warnings } = await renderSvg(chart.spec);
  const problems = [...warnings.map((w) => `vega warning: ${w}`), ...logScaleProblems(chart)];
  if (chart.xIsSweep) {
    for (const spread of await pointSpreads(chart.spec)) {
      if (spread < MIN_SPREAD) problems.push(`points span ${(spread * 100).toFixed(0)}% of the plot's width (at least ${MIN_SPREAD * 100}% expected)`);
    }
  }
  return problems.map((p) => `${chart.id}: ${p}`);
}
