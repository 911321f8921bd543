/**
 * Query runs compared (filter, aggregate, any plugin): latency against the sweep per mode and
 * speedup over the client mode per link, one line per run; speedup against bandwidth when the runs
 * measured several links; the per-point numbers of every run side by side, and where the runs'
 * speedups disagree (the winner differs, or their 95% CIs do not overlap).
 */
import type { QueryPointSummary, SpeedupCI } from '../../workloads/driver/summarize';
import type { ComparedRun, CompareContext, FamilyComparison } from '../../workloads/families/family';
import type { QueryView } from '../../workloads/families/query/report';
import { formatNumber } from '../../workloads/driver/results/table';
import { speedupText } from '../../workloads/driver/results/precision-text';
import type { LinkInfo } from '../links';
import { sortModes } from '../modes';
import { formatBytes, meanWithCi, reportTable, type ReportTable } from '../tables';
import { assembleSpec, chartTitle, ciAxisTop, clampLow, measureScale, yAxisTitle, type ChartSpec } from './common';
import { labelOf, linkUnion, RUN_LINE_LEGEND, runBars, runColorEncoding, runDashEncoding, shortLines } from './compare-common';
import { pointOrder, sweepAxis, type XAxis } from './query-charts';
import { ciCut, SPEEDUP_CI_TOOLTIP, speedupCiFields, speedupCiLayers, speedupCiNote, speedupCiOf, speedupDomain } from './speedup-ci';

type QueryRun = ComparedRun<QueryView>;

/**
 * The sweep axis of a comparison panel: the run charts' axis with its title's parenthesis left out
 * ("selectivity, log scale"), as the panels are narrower and a title wider than its panel collides
 * with the next one's.
 */
function compactSweepAxis(points: QueryPointSummary[]): XAxis {
  const x = sweepAxis(points);
  const title = x.encoding.title;
  return { ...x, encoding: { ...x.encoding, title: typeof title === 'string' ? title.replace(/ \([^)]*\)/, '') : title } };
}

/** A panel of a comparison chart: smaller than a run chart's, as there are modes × links of them. */
const CELL = { width: 280, height: 200 } as const;

/** Modes whose speedup over the client mode is drawn (the client's own is 1; client-cached is a client). */
const isSpedUp = (mode: string): boolean => mode !== 'client' && mode !== 'client-cached';

/** One point of one run, with what the charts and tables need around it. */
interface RunPoint {
  run: string;
  p: QueryPointSummary;
  view: QueryView;
}

/** One speedup over the client mode, of one mode at one point of one run. */
interface RunSpeedup extends RunPoint {
  clientMs: number;
  speedup: number;
  ci: SpeedupCI | undefined;
}

function runPoints(runs: readonly QueryRun[], swept: boolean): RunPoint[] {
  return runs.flatMap((r) => r.view.points.filter((p) => (p.parameter !== '') === swept).map((p) => ({ run: r.label, p, view: r.view })));
}

function speedupsOf(points: readonly RunPoint[]): RunSpeedup[] {
  const client = new Map(points.filter((t) => t.p.mode === 'client').map((t) => [`${t.run}\u0000${t.p.link}\u0000${t.p.point}`, t.p.latencyMs.mean]));
  return points.flatMap((t) => {
    const clientMs = client.get(`${t.run}\u0000${t.p.link}\u0000${t.p.point}`);
    if (!isSpedUp(t.p.mode) || clientMs === undefined || !(t.p.latencyMs.mean > 0)) return [];
    return [{ ...t, clientMs, speedup: clientMs / t.p.latencyMs.mean, ci: speedupCiOf(t.view, t.p) }];
  });
}

/** The facet of a per-mode, per-link chart: a column per `column` value, a row per link when there are several. */
function modeLinkFacet(columnField: string, columnSort: readonly string[], linkSort: readonly string[]): Record<string, unknown> {
  return {
    column: { field: columnField, type: 'nominal', title: columnField, sort: [...columnSort] },
    ...(linkSort.length > 1 ? { row: { field: 'link', type: 'nominal', title: 'link', sort: [...linkSort] } } : {}),
  };
}

/** Latency per mode against the sweep, one line (colour and dash) per run, its 95% CI as a band; a panel per mode and link. */
export function latencyCompare(runs: readonly QueryRun[], labels: readonly string[], links: readonly LinkInfo[], ctx: CompareContext): ChartSpec | null {
  const points = runPoints(runs, true);
  if (points.length === 0 || new Set(points.map((t) => t.p.parameter)).size > 1) return null;
  const x = compactSweepAxis(points.map((t) => t.p));
  if (x.distinct < 2) return null;
  const measure = measureScale(points.map((t) => t.p.latencyMs.mean));
  const axis = ciAxisTop(points.map((t) => t.p.latencyMs.mean), points.map((t) => t.p.latencyMs.ciHigh));
  const y = measure.log ? measure : { ...measure, scale: { domain: [0, axis.top], nice: false } };
  const values = points.map(({ run, p }) => ({
    run,
    link: labelOf(links, p.link),
    mode: p.mode,
    x: x.value(p),
    latencyMs: p.latencyMs.mean,
    ciLowMs: clampLow(p.latencyMs.ciLow, y.floor, y.log),
    ciHighMs: Number.isFinite(p.latencyMs.ciHigh) ? p.latencyMs.ciHigh : p.latencyMs.mean,
    n: p.n,
  }));
  const modes = sortModes(points.map((t) => t.p.mode));
  const linkSort = links.map((l) => l.label).filter((l) => values.some((v) => v.link === l));
  const inner = {
    ...CELL,
    encoding: { x: x.encoding },
    layer: [
      { mark: { type: 'errorband', opacity: 0.15, clip: true }, encoding: { y: { field: 'ciLowMs', type: 'quantitative', title: yAxisTitle('latency per query (ms)', y.log), scale: y.scale }, y2: { field: 'ciHighMs' }, color: runColorEncoding(labels) } },
      {
        mark: { type: 'line', point: { size: 40 }, strokeWidth: 2, clip: true },
        encoding: {
          y: { field: 'latencyMs', type: 'quantitative' },
          // An explicit legend: in a faceted layer vega-lite otherwise draws none.
          color: runColorEncoding(labels, RUN_LINE_LEGEND),
          strokeDash: runDashEncoding(labels),
          tooltip: [{ field: 'run' }, { field: 'mode' }, { field: 'x', title: x.name }, { field: 'latencyMs', title: 'mean ms', format: '.2f' }, { field: 'ciLowMs', title: 'CI low ms', format: '.2f' }, { field: 'ciHighMs', title: 'CI high ms', format: '.2f' }, { field: 'n' }],
        },
      },
    ],
  };
  const title = chartTitle(`${ctx.workload}: latency vs ${x.name}, run by run`, shortLines([`A panel per mode${linkSort.length > 1 ? ' and link' : ''}, a line per run (colour and dash); mean per point; band: 95% CI of the mean${measure.log || axis.clipped ? ' (cut at the axis)' : ''}.`]));
  const spec = assembleSpec(title, values, inner, modeLinkFacet('mode', modes, linkSort));
  return { id: `compare-latency-vs-${slug(x.name)}`, title: `Latency vs ${x.name}, run by run`, caption: 'Where two runs\' lines part in a panel, that mode ran at a different speed in them; bands that do not overlap are a measured difference.', spec, xIsSweep: true };
}

/** Speedup of each mode over the client mode against the sweep, one line per run; a panel per link (and mode). */
export function speedupCompare(runs: readonly QueryRun[], labels: readonly string[], links: readonly LinkInfo[], ctx: CompareContext): ChartSpec | null {
  const points = runPoints(runs, true);
  if (points.length === 0 || new Set(points.map((t) => t.p.parameter)).size > 1) return null;
  const x = compactSweepAxis(points.map((t) => t.p));
  if (x.distinct < 2) return null;
  const measured = speedupsOf(points);
  if (measured.length === 0) return null;
  const domain = speedupDomain(measured);
  const rows = measured.map((m) => ({ run: m.run, link: labelOf(links, m.p.link), mode: m.p.mode, x: x.value(m.p), speedup: m.speedup, clientMs: m.clientMs, modeMs: m.p.latencyMs.mean, ...speedupCiFields(m.speedup, m.ci, domain) }));
  const modes = sortModes(rows.map((r) => r.mode));
  const linkSort = links.map((l) => l.label).filter((l) => rows.some((r) => r.link === l));
  const y = { title: yAxisTitle('speedup over client (×)', true), scale: { type: 'log', domain, nice: false } };
  const inner = {
    ...CELL,
    layer: [
      ...speedupCiLayers(x.encoding, runColorEncoding(labels), y),
      {
        mark: { type: 'line', point: { size: 45 }, strokeWidth: 2 },
        encoding: {
          x: x.encoding,
          y: { field: 'speedup', type: 'quantitative', ...y },
          color: runColorEncoding(labels, RUN_LINE_LEGEND),
          strokeDash: runDashEncoding(labels),
          tooltip: [{ field: 'run' }, { field: 'mode' }, { field: 'link' }, { field: 'x', title: x.name }, { field: 'speedup', format: '.2f' }, ...SPEEDUP_CI_TOOLTIP, { field: 'clientMs', title: 'client ms', format: '.1f' }, { field: 'modeMs', title: 'this mode ms', format: '.1f' }],
        },
      },
      { data: { values: [{ one: 1 }] }, mark: { type: 'rule', strokeDash: [5, 4], color: '#333333' }, encoding: { y: { field: 'one', type: 'quantitative' } } },
    ],
  };
  const title = chartTitle(`${ctx.workload}: speedup vs ${x.name}, run by run`, shortLines([`Client-mode latency / ${modes.join(' or ')} latency in each run; a line per run, a panel per link${modes.length > 1 ? ' and mode' : ''}.`, 'Dashed: break-even; where runs fall on opposite sides of it, they disagree on the winner.', speedupCiNote(measured.some((m) => ciCut(m.ci, domain)))]));
  // Links are the columns here (the question is "does the speedup hold on this link in every run"), modes the rows.
  const facet = { column: { field: 'link', type: 'nominal', title: 'link', sort: linkSort }, ...(modes.length > 1 ? { row: { field: 'mode', type: 'nominal', title: 'mode', sort: modes } } : {}) };
  const spec = assembleSpec(title, rows, inner, facet);
  return { id: `compare-speedup-vs-${slug(x.name)}`, title: `Speedup vs ${x.name}, run by run`, caption: 'The same speedup measured in each run: lines that cross the dashed rule on opposite sides are runs that disagree on who wins.', spec, xIsSweep: true };
}

/**
 * Speedup of pushdown (else the first mode that has one) over the client mode against link
 * bandwidth, one line per run, a panel per sweep point: e.g. user-space shaped links against
 * kernel-shaped ones on the same axis.
 */
export function speedupVsBandwidthCompare(runs: readonly QueryRun[], labels: readonly string[], links: readonly LinkInfo[], ctx: CompareContext): ChartSpec | null {
  const all = runs.flatMap((r) => r.view.points.map((p) => ({ run: r.label, p, view: r.view })));
  if (new Set(all.map((t) => t.p.link)).size < 2) return null;
  const measured = speedupsOf(all);
  const mode = measured.some((m) => m.p.mode === 'pushdown') ? 'pushdown' : sortModes(measured.map((m) => m.p.mode))[0];
  const shown = measured.filter((m) => m.p.mode === mode);
  if (shown.length === 0) return null;
  const parameter = shown[0]!.p.parameter;
  const pointLabel = (p: QueryPointSummary): string => (p.parameter ? `${p.parameter} ${p.point}` : 'all');
  const pointSort = pointOrder(shown.map((m) => m.p)).map((pt) => (parameter ? `${parameter} ${pt}` : 'all'));
  const domain = speedupDomain(shown);
  const rows = shown.map((m) => ({ run: m.run, link: labelOf(links, m.p.link), point: pointLabel(m.p), mode: m.p.mode, speedup: m.speedup, clientMs: m.clientMs, modeMs: m.p.latencyMs.mean, ...speedupCiFields(m.speedup, m.ci, domain) }));
  const linkSort = links.map((l) => l.label).filter((l) => rows.some((r) => r.link === l));
  const x = { field: 'link', type: 'ordinal', title: 'link bandwidth (per direction), slowest first', sort: linkSort, axis: { labelAngle: 0, labelExpr: "split(datum.label, ', ')" } };
  const y = { title: yAxisTitle(`${mode} speedup over client (×)`, true), scale: { type: 'log', domain, nice: false } };
  const inner = {
    width: Math.max(CELL.width, 110 * linkSort.length),
    height: CELL.height,
    layer: [
      ...speedupCiLayers(x, runColorEncoding(labels), y),
      {
        mark: { type: 'line', point: { size: 45 }, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: 'speedup', type: 'quantitative', ...y },
          color: runColorEncoding(labels, RUN_LINE_LEGEND),
          strokeDash: runDashEncoding(labels),
          tooltip: [{ field: 'run' }, { field: 'link' }, { field: 'point' }, { field: 'speedup', format: '.2f' }, ...SPEEDUP_CI_TOOLTIP, { field: 'clientMs', title: 'client ms', format: '.1f' }, { field: 'modeMs', title: `${mode} ms`, format: '.1f' }],
        },
      },
      { data: { values: [{ one: 1 }] }, mark: { type: 'rule', strokeDash: [5, 4], color: '#333333' }, encoding: { y: { field: 'one', type: 'quantitative' } } },
    ],
  };
  const title = chartTitle(`${ctx.workload}: ${mode} speedup vs link bandwidth, run by run`, shortLines([`Client-mode latency / ${mode} latency at each link; a line per run${pointSort.length > 1 ? `, a panel per ${parameter}` : ''}.`, 'Dashed: break-even; where the runs\' lines cross it at different links, they disagree on the bandwidth where the winner changes.', speedupCiNote(shown.some((m) => ciCut(m.ci, domain)))]));
  // A wrapped facet (3 a row): a sweep of many points stays within the page's width.
  const wrap = pointSort.length > 1;
  const spec = assembleSpec(title, rows, inner, wrap ? { field: 'point', type: 'ordinal', title: null, sort: pointSort } : null, wrap ? { columns: 3 } : {});
  return { id: 'compare-speedup-vs-bandwidth', title: 'Speedup vs link bandwidth, run by run', caption: 'Each run\'s speedup at each link: where the lines part, the runs disagree on what the link costs.', spec };
}

/** Runs without a sweep (noop): latency per mode, a bar per run, a panel per link. */
export function latencyBarsCompare(runs: readonly QueryRun[], labels: readonly string[], links: readonly LinkInfo[], ctx: CompareContext): ChartSpec | null {
  const points = runPoints(runs, false);
  if (points.length === 0) return null;
  const values = points.map(({ run, p }) => ({ run, link: labelOf(links, p.link), mode: p.mode, latencyMs: p.latencyMs.mean, ciLowMs: Math.max(0, p.latencyMs.ciLow), ciHighMs: Number.isFinite(p.latencyMs.ciHigh) ? p.latencyMs.ciHigh : p.latencyMs.mean, p99Ms: p.latencyMs.p99 }));
  const axis = ciAxisTop(values.map((v) => v.latencyMs), values.map((v) => v.ciHighMs));
  const modes = sortModes(values.map((v) => v.mode));
  const linkSort = links.map((l) => l.label).filter((l) => values.some((v) => v.link === l));
  const inner = runBars({
    labels,
    xField: 'mode',
    xSort: modes,
    xTitle: null,
    meanField: 'latencyMs',
    ciLowField: 'ciLowMs',
    ciHighField: 'ciHighMs',
    yTitle: 'latency per call (ms)',
    yScale: { domain: [0, axis.top], nice: false },
    tooltip: [{ field: 'run' }, { field: 'mode' }, { field: 'link' }, { field: 'latencyMs', title: 'mean ms', format: '.3f' }, { field: 'p99Ms', title: 'p99 ms', format: '.3f' }],
  });
  const title = chartTitle(`${ctx.workload}: latency per mode, run by run`, `Mean latency per call, a bar per run; line: 95% CI${axis.clipped ? ' (cut at the top of the axis)' : ''}.`);
  const spec = assembleSpec(title, values, inner, linkSort.length > 1 ? { column: { field: 'link', type: 'nominal', title: 'link', sort: linkSort } } : null);
  return { id: 'compare-latency-per-mode', title: 'Latency per mode, run by run', caption: 'The same call in each run: bars of one mode that differ beyond their CI lines are a measured difference.', spec };
}

/**
 * Whether the runs' speedups of `mode` over the client mode at one link and point agree, in words
 * (the table's last column). They disagree when one run measured the mode faster and another
 * slower, or when two runs' 95% CIs do not overlap; one run measuring a winner where another
 * measured no difference is weaker evidence, said but not counted as a disagreement.
 */
export function speedupAgreement(mode: string, entries: ReadonlyArray<{ label: string; speedup: number; ci: SpeedupCI | undefined } | null>): { disagree: boolean; text: string } {
  const present = entries.filter((e): e is NonNullable<typeof e> => e !== null);
  if (present.length < 2) return { disagree: false, text: 'measured in one run only' };
  const withCi = present.filter((e): e is typeof e & { ci: SpeedupCI } => e.ci !== undefined);
  if (withCi.length === present.length) {
    const faster = withCi.filter((e) => e.ci.verdict === 'faster').map((e) => e.label);
    const slower = withCi.filter((e) => e.ci.verdict === 'slower').map((e) => e.label);
    const none = withCi.filter((e) => e.ci.verdict === 'no measurable difference').map((e) => e.label);
    if (faster.length && slower.length) return { disagree: true, text: `DISAGREE: the winner differs (${mode} faster in ${faster.join(', ')}; client faster in ${slower.join(', ')})` };
    const bounded = withCi.filter((e) => e.ci.ciLow !== null && e.ci.ciHigh !== null);
    for (const a of bounded) for (const b of bounded) if (a !== b && a.ci.ciHigh! < b.ci.ciLow!) return { disagree: true, text: `DISAGREE: the speedups differ (95% CIs do not overlap: ${a.label} below ${b.label})` };
    if (none.length === present.length) return { disagree: false, text: 'agree: no measurable difference in any run' };
    if (faster.length === present.length) return { disagree: false, text: `agree: ${mode} faster in every run` };
    if (slower.length === present.length) return { disagree: false, text: 'agree: client faster in every run' };
    const winner = faster.length ? `${mode} faster in ${faster.join(', ')}` : `client faster in ${slower.join(', ')}`;
    return { disagree: false, text: `${winner}; no measurable difference in ${none.join(', ')}` };
  }
  // Runs before speedup CIs: only the point estimates can be compared.
  const sides = new Set(present.map((e) => Math.sign(Math.log(e.speedup))));
  return sides.has(1) && sides.has(-1) ? { disagree: true, text: 'DISAGREE (means only, no CI): the winner differs' } : { disagree: false, text: 'agree (means only, no CI)' };
}

/** Every run's numbers at each link, point and mode, and the speedups run by run with where they disagree. */
function compareTables(runs: readonly QueryRun[], labels: readonly string[], links: readonly LinkInfo[]): { tables: ReportTable[]; notes: string[] } {
  const all = runs.flatMap((r) => r.view.points.map((p) => ({ run: r.label, p, view: r.view })));
  if (all.length === 0) return { tables: [], notes: [] };
  const parameter = all.find((t) => t.p.parameter)?.p.parameter || 'point';
  const linkNames = links.map((l) => l.name);
  const points = pointOrder(all.map((t) => t.p));
  const modes = sortModes(all.map((t) => t.p.mode));
  const at = (run: string, link: string, point: string, mode: string) => all.find((t) => t.run === run && t.p.link === link && t.p.point === point && t.p.mode === mode);
  const perPoint: string[][] = [];
  for (const link of linkNames)
    for (const point of points)
      for (const mode of modes)
        for (const run of labels) {
          const t = at(run, link, point, mode);
          if (!t) continue;
          const p = t.p;
          perPoint.push([labelOf(links, link), point || '-', mode, run, String(p.n), meanWithCi(p.latencyMs, 2), formatNumber(p.latencyMs.p99, 2), formatBytes(p.clientWireInBytes.mean), meanWithCi(p.clientCpuMs, 1), meanWithCi(p.nodesCpuMs, 1), formatNumber(p.rowsReturned)]);
        }
  const speedups = speedupsOf(all);
  const speedupRows: string[][] = [];
  const disagreements: string[] = [];
  for (const link of linkNames)
    for (const point of points)
      for (const mode of modes.filter(isSpedUp)) {
        const entries = labels.map((label) => {
          const s = speedups.find((m) => m.run === label && m.p.link === link && m.p.point === point && m.p.mode === mode);
          return s ? { label, speedup: s.speedup, ci: s.ci } : null;
        });
        if (entries.every((e) => e === null)) continue;
        const agreement = speedupAgreement(mode, entries);
        const where = `${labelOf(links, link)}${point ? `, ${parameter} ${point}` : ''}, ${mode}`;
        if (agreement.disagree) disagreements.push(`${where}: ${agreement.text.replace(/^DISAGREE[^:]*: /, '')}`);
        speedupRows.push([labelOf(links, link), point || '-', mode, ...entries.map((e) => (e === null ? '-' : e.ci ? speedupText(e.ci) : `${e.speedup.toFixed(2)}×`)), agreement.text]);
      }
  const total = speedupRows.length;
  const notes = total === 0 ? [] : disagreements.length === 0 ? [`The runs agree on the speedup over the client mode at all ${total} measured link/point/mode combinations (no winner flips, no non-overlapping 95% CIs).`] : [`The runs disagree at ${disagreements.length} of ${total} link/point/mode combinations:`, ...disagreements];
  return {
    notes,
    tables: [
      reportTable(
        'Speedup over the client mode, run by run',
        [['link', false], [parameter, true], ['mode', false], ...labels.map((l): [string, boolean] => [`speedup: ${l}`, true]), ['do the runs agree?', false]],
        speedupRows,
        "Client-mode latency / this mode's, with Fieller's 95% CI over paired repetitions. DISAGREE: one run measured this mode faster and another slower, or the runs' CIs do not overlap.",
      ),
      reportTable(
        'Per point, mode and run',
        [['link', false], [parameter, true], ['mode', false], ['run', false], ['n', true], ['latency ms (mean ± 95% CI)', true], ['p99 ms', true], ['client wire in', true], ['client CPU ms', true], ['nodes CPU ms', true], ['rows returned', true]],
        perPoint,
        "Each run's own numbers (its report.html has the rest); wire bytes as the client's sockets saw them, CPU per query.",
      ),
    ],
  };
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'point';
}

/** The query family's comparison: the FamilyReport.compare hook. */
export function queryCompare(runs: ReadonlyArray<QueryRun>, ctx: CompareContext): FamilyComparison {
  const labels = runs.map((r) => r.label);
  const links = linkUnion(runs.map((r) => r.ctx.links));
  const parameters = [...new Set(runs.flatMap((r) => r.view.points.map((p) => p.parameter).filter(Boolean)))];
  const charts = [latencyCompare(runs, labels, links, ctx), speedupCompare(runs, labels, links, ctx), latencyBarsCompare(runs, labels, links, ctx), speedupVsBandwidthCompare(runs, labels, links, ctx)].filter((c): c is ChartSpec => c !== null);
  const { tables, notes } = compareTables(runs, labels, links);
  const sweepNote = parameters.length > 1 ? [`The runs sweep different parameters (${parameters.join(', ')}): no chart against the sweep; the tables list each run's points.`] : [];
  return { charts, tables, notes: [...sweepNote, ...notes] };
}
