/**
 * Charts of query workloads (filter, aggregate, noop, …) from summary.json's per-point summaries:
 * latency and wire bytes against the sweep, CPU split, speedup against link bandwidth, noop
 * overhead, and the cost model's predictions against measurements.
 */
import type { QueryPointSummary } from '../../workloads/driver/summarize';
import type { LinkInfo } from '../links';
import { modeColorScale, modeDashEncoding, sortModes } from '../modes';
import type { QueryView } from '../../workloads/families/query/report';
import { perSecondCharts } from './per-second-charts';
import { ciCut, SPEEDUP_CI_TOOLTIP, speedupCiFields, speedupCiLayers, speedupCiNote, speedupCiOf, speedupDomain } from './speedup-ci';
import { assembleSpec, axisTitle, yAxisTitle, ciAxisTop, BYTES_FORMAT, CHART_CONFIG, chartTitle, clampLow, logDomain, measureScale, modeBarsWithCi, PANEL, SINGLE_WIDTH, spansDecades, VEGA_LITE_SCHEMA, type ChartSpec, type TopLevelSpec } from './common';

/** What the query charts need besides the summary. */
export interface QueryChartContext {
  workload: string;
  /** The run's links, slowest first. */
  links: LinkInfo[];
}

/** The sweep value of a point as a number, or null for a point that is not numeric (noop: ""). */
export function sweepValue(p: QueryPointSummary): number | null {
  if (p.point.trim() === '') return null;
  const v = Number(p.point);
  return Number.isFinite(v) ? v : null;
}

/** The cost model's prediction for a point, when the summary has one (older runs do not). */
export function predictedLatencyMs(p: QueryPointSummary): number | null {
  const v = (p as unknown as Record<string, unknown>).predictedLatencyMs;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const linkLabel = (ctx: QueryChartContext, name: string): string => ctx.links.find((l) => l.name === name)?.label ?? name;
/** Link labels in axis/facet order (slowest first), limited to links present in `names`. */
const linkOrder = (ctx: QueryChartContext, names: Iterable<string>): string[] => {
  const present = new Set(names);
  const known = ctx.links.filter((l) => present.has(l.name)).map((l) => l.label);
  const unknown = [...present].filter((n) => !ctx.links.some((l) => l.name === n));
  return [...known, ...unknown];
};

/**
 * What a chart draws on its x axis: the swept parameter, or the selectivity each point measured.
 * `name` goes into titles and chart ids; `value` is a point's x; `encoding` the Vega-Lite x channel.
 */
export interface XAxis {
  name: string;
  value(p: QueryPointSummary): number | string;
  encoding: Record<string, unknown>;
  /** Distinct x values drawn. */
  distinct: number;
}

/**
 * A quantitative x axis over `values`: log when every value is > 0 and they span decades; symlog
 * (linear near 0, log beyond the smallest positive value) when 0 is among decades of positive
 * values; linear otherwise. The title says which.
 */
function numericAxis(title: string, values: number[], format: string): Record<string, unknown> {
  const positive = values.filter((v) => v > 0);
  if (values.every((v) => v > 0) && spansDecades(values)) return { field: 'x', type: 'quantitative', title: axisTitle(title, true), scale: { type: 'log' }, axis: { format } };
  if (values.every((v) => v >= 0) && spansDecades(positive)) {
    return { field: 'x', type: 'quantitative', title: `${title}, symlog scale`, scale: { type: 'symlog', constant: Math.min(...positive) }, axis: { format, values: [0, ...[...new Set(positive)].sort((a, b) => a - b)] } };
  }
  // Values that span decades but include negatives stay linear: say so, a reader may expect log.
  const linearTitle = spansDecades(positive) ? `${title}, linear scale` : title;
  return { field: 'x', type: 'quantitative', title: linearTitle, scale: { type: 'linear', zero: false }, axis: { format } };
}

/**
 * The sweep as an x axis: numbers on a quantitative axis; anything else (a column list, a group-by
 * column) as ordered categories, fewest answer rows (e.g. groups) first, then in sweep order.
 */
export function sweepAxis(points: QueryPointSummary[]): XAxis {
  const parameter = points[0]?.parameter || 'point';
  const distinct = new Set(points.map((p) => p.point)).size;
  const numbers = points.map(sweepValue);
  if (numbers.every((v) => v !== null)) {
    const isShare = parameter === 'selectivity';
    return { name: parameter, value: (p) => sweepValue(p)!, encoding: numericAxis(isShare ? 'selectivity (share of rows matched)' : parameter, numbers as number[], isShare ? '~%' : '~s'), distinct };
  }
  const sweepOrder = [...new Set(points.map((p) => p.point))];
  const rowsAt = (point: string): number => Math.max(...points.filter((p) => p.point === point).map((p) => p.rowsReturned));
  const order = [...sweepOrder].sort((a, b) => rowsAt(a) - rowsAt(b) || sweepOrder.indexOf(a) - sweepOrder.indexOf(b));
  const encoding = { field: 'x', type: 'ordinal', title: `${parameter} (fewest answer rows first)`, sort: order, axis: { labelAngle: order.some((o) => o.length > 8) ? -30 : 0, labelLimit: 160 } };
  return { name: parameter, value: (p) => p.point, encoding, distinct };
}

/**
 * The measured selectivity (rows selected / rows scanned, from the plugin's rowsMatched) as an x
 * axis, when the sweep is over something else and the points selected different shares of rows;
 * null otherwise. Real data (a delay threshold) can then sit next to the synthetic selectivity sweep.
 */
export function measuredSelectivityAxis(points: QueryPointSummary[]): XAxis | null {
  if (points.length === 0 || points[0]!.parameter === 'selectivity') return null;
  if (points.some((p) => p.selectivity === null || !Number.isFinite(p.selectivity))) return null;
  const values = points.map((p) => p.selectivity!);
  const distinct = new Set(values.map((v) => v.toPrecision(6))).size;
  if (distinct < 2) return null;
  return { name: 'measured selectivity', value: (p) => p.selectivity!, encoding: numericAxis('measured selectivity (share of rows matched)', values, '~%'), distinct };
}

/** Distinct sweep points in axis order: ascending numbers, or categories as sweepAxis orders them. */
export function pointOrder(points: QueryPointSummary[]): string[] {
  const distinct = [...new Set(points.map((p) => p.point))];
  if (distinct.every((p) => p.trim() !== '' && Number.isFinite(Number(p)))) return distinct.sort((a, b) => Number(a) - Number(b));
  return (sweepAxis(points).encoding.sort as string[] | undefined) ?? distinct;
}

/** Points of a swept run (every point has a sweep parameter). */
function sweptPoints(view: QueryView): QueryPointSummary[] {
  return view.points.filter((p) => p.parameter !== '');
}

/** Latency per mode against the sweep (or another x axis), mean with its 95% CI band; one panel per link. */
export function latencyVsSweep(view: QueryView, ctx: QueryChartContext, xAxis?: XAxis): ChartSpec | null {
  const points = sweptPoints(view);
  const x = xAxis ?? sweepAxis(points);
  if (x.distinct < 2) return null;
  const parameter = x.name;
  const measure = measureScale(points.map((p) => p.latencyMs.mean));
  // On a linear axis, bands of a few repetitions can dwarf the means: cut them at 3× the largest mean.
  const axis = ciAxisTop(points.map((p) => p.latencyMs.mean), points.map((p) => p.latencyMs.ciHigh));
  const y = measure.log ? measure : { ...measure, scale: { domain: [0, axis.top], nice: false } };
  const cut = measure.log || axis.clipped;
  const n = [...new Set(points.map((p) => p.n))].join('/');
  const values = points.map((p) => ({
    link: linkLabel(ctx, p.link),
    mode: p.mode,
    x: x.value(p),
    latencyMs: p.latencyMs.mean,
    ciLowMs: clampLow(p.latencyMs.ciLow, y.floor, y.log),
    ciHighMs: Number.isFinite(p.latencyMs.ciHigh) ? p.latencyMs.ciHigh : p.latencyMs.mean,
    p99Ms: p.latencyMs.p99,
  }));
  const color = { field: 'mode', type: 'nominal', title: 'mode', scale: modeColorScale(points.map((p) => p.mode)) } as const;
  const xEnc = x.encoding;
  const spec: TopLevelSpec = {
    $schema: VEGA_LITE_SCHEMA,
    title: chartTitle(`${ctx.workload}: query latency vs ${parameter}`, [`Mean of n=${n} repetitions per point; band: 95% confidence interval of the mean${cut ? ' (cut at the axis)' : ''}.`]),
    config: CHART_CONFIG,
    data: { values },
    facet: { column: { field: 'link', type: 'nominal', title: 'link', sort: linkOrder(ctx, points.map((p) => p.link)) } },
    spec: {
      width: PANEL.width,
      height: PANEL.height,
      encoding: { x: xEnc },
      layer: [
        { mark: { type: 'errorband', opacity: 0.18, clip: true }, encoding: { y: { field: 'ciLowMs', type: 'quantitative', title: yAxisTitle('latency per query (ms)', y.log), scale: y.scale }, y2: { field: 'ciHighMs' }, color } },
        {
          mark: { type: 'line', point: { size: 45 }, strokeWidth: 2, clip: true },
          encoding: {
            y: { field: 'latencyMs', type: 'quantitative' },
            // An explicit legend (in a faceted layer vega-lite otherwise draws none), its symbols opaque (not the band's 0.18).
            color: { ...color, legend: { encode: { symbols: { update: { opacity: { value: 1 } } } } } },
            strokeDash: modeDashEncoding(points.map((p) => p.mode)),
            tooltip: [
              { field: 'mode' },
              { field: 'x', title: parameter },
              { field: 'latencyMs', title: 'mean ms', format: '.2f' },
              { field: 'ciLowMs', title: 'CI low ms', format: '.2f' },
              { field: 'ciHighMs', title: 'CI high ms', format: '.2f' },
              { field: 'p99Ms', title: 'p99 ms', format: '.2f' },
            ],
          },
        },
      ],
    },
  } as TopLevelSpec;
  return { id: `latency-vs-${slug(parameter)}`, title: `Latency vs ${parameter}`, caption: `Where the pushdown line is below the client line, pushing the ${ctx.workload} down to the nodes answers faster on that link.`, spec, xIsSweep: true };
}

/** True when a mode's value at a point differs by more than 5% between links. */
function differsByLink(points: QueryPointSummary[], pick: (p: QueryPointSummary) => number): boolean {
  const groups = new Map<string, number[]>();
  for (const p of points) {
    const key = `${p.mode}\u0000${p.point}`;
    groups.set(key, [...(groups.get(key) ?? []), pick(p)]);
  }
  return [...groups.values()].some((vs) => Math.max(...vs) > 1.05 * Math.min(...vs));
}

/** Bytes the client received per query, per mode, against the sweep (or another x axis). */
export function wireBytesVsSweep(view: QueryView, ctx: QueryChartContext, xAxis?: XAxis): ChartSpec | null {
  const all = sweptPoints(view);
  const x = xAxis ?? sweepAxis(all);
  if (x.distinct < 2) return null;
  const parameter = x.name;
  // Bytes do not depend on the link unless a mode chooses by link (adaptive): then one panel per link.
  const perLink = ctx.links.length > 1 && differsByLink(all, (p) => p.clientWireInBytes.mean);
  const firstLink = ctx.links[0]?.name ?? all[0]!.link;
  const points = perLink ? all : all.filter((p) => p.link === firstLink);
  const y = measureScale(points.map((p) => p.clientWireInBytes.mean));
  const values = points.map((p) => ({ link: linkLabel(ctx, p.link), mode: p.mode, x: x.value(p), bytesIn: p.clientWireInBytes.mean, bytesOut: p.clientWireOutBytes.mean, rowsReturned: p.rowsReturned }));
  const layerSpec = {
    width: perLink ? PANEL.width : SINGLE_WIDTH,
    height: PANEL.height,
    mark: { type: 'line', point: { size: 45 }, strokeWidth: 2 },
    encoding: {
      x: x.encoding,
      y: { field: 'bytesIn', type: 'quantitative', title: yAxisTitle('bytes to client per query', y.log), scale: y.scale, axis: { format: BYTES_FORMAT } },
      color: { field: 'mode', type: 'nominal', title: 'mode', scale: modeColorScale(points.map((p) => p.mode)) },
      strokeDash: modeDashEncoding(points.map((p) => p.mode)),
      tooltip: [{ field: 'mode' }, { field: 'x', title: parameter }, { field: 'bytesIn', title: 'bytes in', format: ',.0f' }, { field: 'bytesOut', title: 'bytes out', format: ',.0f' }, { field: 'rowsReturned', title: 'rows returned', format: ',' }],
    },
  };
  const subtitle = perLink ? 'Socket bytes from the nodes to the client, mean per query; one panel per link.' : `Socket bytes from the nodes to the client, mean per query (the same on every link; shown: ${linkLabel(ctx, firstLink)}).`;
  const spec = assembleSpec(chartTitle(`${ctx.workload}: wire bytes vs ${parameter}`, subtitle), values, layerSpec, perLink ? { column: { field: 'link', type: 'nominal', title: 'link', sort: linkOrder(ctx, points.map((p) => p.link)) } } : null);
  return { id: `wire-bytes-vs-${slug(parameter)}`, title: `Wire bytes vs ${parameter}`, caption: 'The gap between the lines is the traffic pushdown saves: the client mode moves every scanned row, pushdown only the answer.', spec, xIsSweep: true };
}

/** CPU time per query spent in the client process and in the storage nodes, per mode. */
export function cpuSplit(view: QueryView, ctx: QueryChartContext): ChartSpec | null {
  if (view.points.length === 0) return null;
  const modes = sortModes(view.points.map((p) => p.mode));
  const pointsOrder = pointOrder(view.points);
  const parameter = view.points[0]!.parameter;
  const values = view.points.flatMap((p) => {
    const common = { link: linkLabel(ctx, p.link), mode: p.mode, point: parameter ? `${parameter} ${p.point}` : 'all' };
    return [
      { ...common, where: 'client process', cpuMs: Math.max(0, p.clientCpuMs.mean), order: 0 },
      { ...common, where: 'storage nodes', cpuMs: Math.max(0, p.nodesCpuMs.mean), order: 1 },
    ];
  });
  const manyPoints = pointsOrder.length > 1;
  const manyLinks = ctx.links.length > 1;
  const facet: Record<string, unknown> = {};
  if (manyPoints) facet.column = { field: 'point', type: 'ordinal', title: null, sort: pointsOrder.map((pt) => `${parameter} ${pt}`) };
  if (manyLinks) facet.row = { field: 'link', type: 'nominal', title: 'link', sort: linkOrder(ctx, view.points.map((p) => p.link)) };
  const cellWidth = Math.max(90, Math.min(PANEL.width, 60 * modes.length));
  const inner = {
    width: manyPoints ? cellWidth : Math.max(cellWidth, 200),
    height: manyLinks ? 180 : PANEL.height,
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'mode', type: 'nominal', title: null, sort: modes, axis: { labelAngle: -30 } },
      y: { field: 'cpuMs', type: 'quantitative', title: 'CPU per query (ms)', stack: 'zero' },
      color: { field: 'where', type: 'nominal', title: 'CPU spent in', scale: { domain: ['client process', 'storage nodes'], range: ['#4d4d4d', '#b8b8b8'] } },
      order: { field: 'order' },
      tooltip: [{ field: 'mode' }, { field: 'point' }, { field: 'where' }, { field: 'cpuMs', title: 'CPU ms', format: '.1f' }],
    },
  };
  const title = chartTitle(`${ctx.workload}: CPU split, client vs storage nodes`, 'User + system CPU per query, mean over repetitions; nodes: all node processes together (plugin workers included).');
  const spec = assembleSpec(title, values, inner, manyPoints || manyLinks ? facet : null, manyPoints || manyLinks ? { resolve: { scale: { y: 'shared' } } } : {});
  return { id: 'cpu-split', title: 'CPU split: client vs nodes', caption: 'Pushdown moves the work (and its CPU) from the client to the storage nodes; the client mode also pays for decoding every row it fetched.', spec };
}

/**
 * Speedup of each mode over the client mode (client latency / mode latency) against link
 * bandwidth, one line per sweep point: where a line crosses 1, the winner changes.
 */
export function speedupVsBandwidth(view: QueryView, ctx: QueryChartContext): ChartSpec | null {
  const linksPresent = new Set(view.points.map((p) => p.link));
  if (linksPresent.size < 2) return null;
  const clientLatency = new Map(view.points.filter((p) => p.mode === 'client').map((p) => [`${p.link}\u0000${p.point}`, p.latencyMs.mean]));
  if (clientLatency.size === 0) return null;
  const parameter = view.points[0]!.parameter;
  const measured = view.points
    .filter((p) => p.mode !== 'client' && p.mode !== 'client-cached')
    .flatMap((p) => {
      const client = clientLatency.get(`${p.link}\u0000${p.point}`);
      if (client === undefined || !(p.latencyMs.mean > 0)) return [];
      return [{ p, client, speedup: client / p.latencyMs.mean, ci: speedupCiOf(view, p) }];
    });
  if (measured.length === 0) return null;
  const domain = speedupDomain(measured);
  const rows = measured.map(({ p, client, speedup, ci }) => ({ link: linkLabel(ctx, p.link), mode: p.mode, point: parameter ? `${p.point}` : 'all', pointValue: sweepValue(p) ?? 0, speedup, clientMs: client, modeMs: p.latencyMs.mean, ...speedupCiFields(speedup, ci, domain) }));
  const cut = measured.some((m) => ciCut(m.ci, domain));
  const pointSort = parameter ? pointOrder(view.points).filter((pt) => rows.some((r) => r.point === pt)) : ['all'];
  const modes = sortModes(rows.map((r) => r.mode));
  const linkSort = linkOrder(ctx, linksPresent);
  const x = { field: 'link', type: 'ordinal', title: 'link bandwidth (per direction), slowest first', sort: linkSort, axis: { labelAngle: 0, labelExpr: "split(datum.label, ', ')" } };
  const color = { field: 'point', type: 'ordinal', title: parameter || 'point', sort: pointSort, scale: { scheme: 'viridis' } };
  const y = { title: yAxisTitle('speedup over client (×)', true), scale: { type: 'log', domain, nice: false } };
  const inner = {
    width: Math.max(modes.length > 1 ? PANEL.width : SINGLE_WIDTH, 160 * linkSort.length),
    height: PANEL.height,
    layer: [
      ...speedupCiLayers(x, color, y),
      {
        mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: 'speedup', type: 'quantitative', ...y },
          color,
          tooltip: [{ field: 'mode' }, { field: 'link' }, { field: 'point', title: parameter || 'point' }, { field: 'speedup', format: '.2f' }, ...SPEEDUP_CI_TOOLTIP, { field: 'clientMs', title: 'client ms', format: '.1f' }, { field: 'modeMs', title: 'this mode ms', format: '.1f' }],
        },
      },
      { data: { values: [{ one: 1 }] }, mark: { type: 'rule', strokeDash: [5, 4], color: '#333333' }, encoding: { y: { field: 'one', type: 'quantitative' } } },
    ],
  };
  const title = chartTitle(`${ctx.workload}: speedup vs link bandwidth`, [`Client-mode latency / ${modes.join(' or ')} latency, means at each link; one line per ${parameter || 'point'}.`, 'Dashed: break-even; above it the mode beats the client mode, below it the client mode wins.', speedupCiNote(cut)]);
  const spec = assembleSpec(title, rows, inner, modes.length > 1 ? { column: { field: 'mode', type: 'nominal', title: 'mode', sort: modes } } : null);
  return { id: 'speedup-vs-bandwidth', title: 'Speedup vs link bandwidth', caption: 'The slower the link, the more fetching rows costs the client mode: a line that crosses the break-even rule marks the bandwidth where the winner changes.', spec };
}

/**
 * Speedup of each mode over the client mode (client latency / mode latency) against the sweep, one
 * line per link: above the dashed rule the mode beats fetching the rows.
 */
export function speedupVsSweep(view: QueryView, ctx: QueryChartContext): ChartSpec | null {
  const points = sweptPoints(view);
  const x = sweepAxis(points);
  if (x.distinct < 2) return null;
  const client = new Map(points.filter((p) => p.mode === 'client').map((p) => [`${p.link}\u0000${p.point}`, p]));
  const measured = points
    .filter((p) => p.mode !== 'client' && p.mode !== 'client-cached')
    .flatMap((p) => {
      const c = client.get(`${p.link}\u0000${p.point}`);
      if (!c || !(p.latencyMs.mean > 0)) return [];
      return [{ p, clientMs: c.latencyMs.mean, speedup: c.latencyMs.mean / p.latencyMs.mean, ci: speedupCiOf(view, p) }];
    });
  if (measured.length === 0) return null;
  const domain = speedupDomain(measured);
  const rows = measured.map(({ p, clientMs, speedup, ci }) => ({ link: linkLabel(ctx, p.link), mode: p.mode, x: x.value(p), speedup, clientMs, modeMs: p.latencyMs.mean, ...speedupCiFields(speedup, ci, domain) }));
  const cut = measured.some((m) => ciCut(m.ci, domain));
  const modes = sortModes(rows.map((r) => r.mode));
  const links = linkOrder(ctx, points.map((p) => p.link));
  const color = { field: 'link', type: 'ordinal', title: 'link', sort: links, scale: { scheme: 'viridis' } };
  const y = { title: yAxisTitle('speedup over client (×)', true), scale: { type: 'log', domain, nice: false } };
  const inner = {
    width: modes.length > 1 ? PANEL.width : SINGLE_WIDTH,
    height: PANEL.height,
    layer: [
      ...speedupCiLayers(x.encoding, color, y),
      {
        mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
        encoding: {
          x: x.encoding,
          y: { field: 'speedup', type: 'quantitative', ...y },
          color,
          tooltip: [{ field: 'mode' }, { field: 'link' }, { field: 'x', title: x.name }, { field: 'speedup', format: '.2f' }, ...SPEEDUP_CI_TOOLTIP, { field: 'clientMs', title: 'client ms', format: '.1f' }, { field: 'modeMs', title: 'this mode ms', format: '.1f' }],
        },
      },
      { data: { values: [{ one: 1 }] }, mark: { type: 'rule', strokeDash: [5, 4], color: '#333333' }, encoding: { y: { field: 'one', type: 'quantitative' } } },
    ],
  };
  const title = chartTitle(`${ctx.workload}: speedup vs ${x.name}`, [`Client-mode latency / ${modes.join(' or ')} latency, means at each point; one line per link.`, 'Dashed: break-even; above it the mode beats the client mode, below it the client mode wins.', speedupCiNote(cut)]);
  const spec = assembleSpec(title, rows, inner, modes.length > 1 ? { column: { field: 'mode', type: 'nominal', title: 'mode', sort: modes } } : null);
  return { id: `speedup-vs-${slug(x.name)}`, title: `Speedup vs ${x.name}`, caption: `Where a line is above the dashed rule, pushing the ${ctx.workload} down beats fetching the rows at that ${x.name} on that link.`, spec, xIsSweep: true };
}

/** The no-op plugin's latency per call in each mode: the framework's fixed cost. */
export function noopOverhead(view: QueryView, ctx: QueryChartContext): ChartSpec | null {
  const points = view.points;
  if (points.length === 0) return null;
  const modes = sortModes(points.map((p) => p.mode));
  const values = points.map((p) => ({ link: linkLabel(ctx, p.link), mode: p.mode, latencyMs: p.latencyMs.mean, ciLowMs: Math.max(0, p.latencyMs.ciLow), ciHighMs: p.latencyMs.ciHigh, p50Ms: p.latencyMs.p50, p99Ms: p.latencyMs.p99, regions: p.regions }));
  const axis = ciAxisTop(points.map((p) => p.latencyMs.mean), points.map((p) => p.latencyMs.ciHigh));
  const inner = modeBarsWithCi({
    modes,
    meanField: 'latencyMs',
    ciLowField: 'ciLowMs',
    ciHighField: 'ciHighMs',
    yTitle: 'latency per call (ms)',
    yScale: { domain: [0, axis.top], nice: false },
    tooltip: [{ field: 'mode' }, { field: 'latencyMs', title: 'mean ms', format: '.3f' }, { field: 'p50Ms', title: 'p50 ms', format: '.3f' }, { field: 'p99Ms', title: 'p99 ms', format: '.3f' }, { field: 'regions' }],
  });
  const title = chartTitle(`${ctx.workload}: framework overhead per call`, `Mean latency of a call that runs a plugin doing nothing on every region; line: 95% CI${axis.clipped ? ' (cut at the top of the axis)' : ''}.`);
  const spec = assembleSpec(title, values, inner, ctx.links.length > 1 ? { column: { field: 'link', type: 'nominal', title: 'link', sort: linkOrder(ctx, points.map((p) => p.link)) } } : null);
  return { id: 'noop-overhead', title: 'No-op overhead', caption: 'What a coprocessor call costs before the plugin does any work: fan-out to every region, the worker hand-off and the merge.', spec };
}

/** The cost model's predicted latency against the measured mean, per mode and link; null when the summary has no predictions. */
export function predictedVsMeasured(view: QueryView, ctx: QueryChartContext): ChartSpec | null {
  const rows = view.points.flatMap((p) => {
    const predicted = predictedLatencyMs(p);
    return predicted === null || !(predicted > 0) ? [] : [{ link: linkLabel(ctx, p.link), mode: p.mode, point: p.point, predictedMs: predicted, measuredMs: p.latencyMs.mean, ratio: p.latencyMs.mean / predicted }];
  });
  if (rows.length === 0) return null;
  const all = rows.flatMap((r) => [r.predictedMs, r.measuredMs]).filter((v) => v > 0);
  const log = spansDecades(all);
  const { floor: lo, ceiling } = logDomain(all);
  const hi = log ? ceiling : Math.max(...all) * 1.1;
  const scale = log ? { type: 'log', domain: [lo, hi], nice: false } : { type: 'linear', domain: [0, hi] };
  const parameter = view.points[0]!.parameter || 'point';
  const spec = {
    $schema: VEGA_LITE_SCHEMA,
    title: chartTitle(`${ctx.workload}: cost model, predicted vs measured latency`, 'Each mark: one mode at one link and sweep point; on the dashed line the prediction is exact.'),
    config: CHART_CONFIG,
    width: PANEL.width,
    height: PANEL.width,
    layer: [
      { data: { values: [{ v: log ? lo : 0 }, { v: hi }] }, mark: { type: 'line', strokeDash: [5, 4], color: '#777777' }, encoding: { x: { field: 'v', type: 'quantitative', scale }, y: { field: 'v', type: 'quantitative', scale } } },
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
        encoding: {
          x: { field: 'predictedMs', type: 'quantitative', title: axisTitle('predicted latency (ms)', log), scale },
          y: { field: 'measuredMs', type: 'quantitative', title: yAxisTitle('measured mean latency (ms)', log), scale },
          color: { field: 'mode', type: 'nominal', title: 'mode', scale: modeColorScale(rows.map((r) => r.mode)) },
          shape: { field: 'link', type: 'nominal', title: 'link', sort: linkOrder(ctx, view.points.map((p) => p.link)) },
          tooltip: [{ field: 'mode' }, { field: 'link' }, { field: 'point', title: parameter }, { field: 'predictedMs', title: 'predicted ms', format: '.2f' }, { field: 'measuredMs', title: 'measured ms', format: '.2f' }, { field: 'ratio', title: 'measured / predicted', format: '.2f' }],
        },
      },
    ],
  } as TopLevelSpec;
  return { id: 'predicted-vs-measured', title: 'Cost model: predicted vs measured', caption: 'Marks above the line: the model was optimistic; below: pessimistic. The adaptive mode picks by these predictions.', spec };
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'point';
}

/** Every query chart that applies to this run, in report order. */
export function queryCharts(view: QueryView, ctx: QueryChartContext): ChartSpec[] {
  const swept = sweptPoints(view);
  const selectivity = measuredSelectivityAxis(swept);
  const charts = swept.length > 0
    ? [
        wireBytesVsSweep(view, ctx),
        latencyVsSweep(view, ctx),
        speedupVsSweep(view, ctx),
        // A sweep over something else than the selectivity (a delay threshold, k): also against the share of rows it selected.
        ...(selectivity ? [wireBytesVsSweep(view, ctx, selectivity), latencyVsSweep(view, ctx, selectivity)] : []),
        speedupVsBandwidth(view, ctx),
        cpuSplit(view, ctx),
        predictedVsMeasured(view, ctx),
      ]
    : [noopOverhead(view, ctx), speedupVsBandwidth(view, ctx), cpuSplit(view, ctx), predictedVsMeasured(view, ctx)];
  return [...charts.filter((c): c is ChartSpec => c !== null), ...perSecondCharts(view.series, ctx, 'calls')];
}
