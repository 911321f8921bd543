/**
 * YCSB runs compared: throughput and p99 latency per link, a bar per run (with its 95% CI over
 * the repetitions), and each run's per-link numbers side by side.
 */
import type { ComparedRun, CompareContext, FamilyComparison } from '../../workloads/families/family';
import type { YcsbView } from '../../workloads/families/ycsb';
import type { YcsbSummary, MeanCI } from '../../workloads/driver/summarize';
import { formatNumber } from '../../workloads/driver/results/table';
import { meanWithCi, reportTable } from '../tables';
import { assembleSpec, chartTitle, ciAxisTop, type ChartSpec } from './common';
import { labelOf, linkUnion, runBars, shortLines } from './compare-common';
import type { LinkInfo } from '../links';

type YcsbRun = ComparedRun<YcsbView>;

function perLinkBars(runs: readonly YcsbRun[], links: readonly LinkInfo[], ctx: CompareContext, pick: (s: YcsbSummary) => MeanCI, what: { id: string; title: string; yTitle: string; format: string; caption: string }): ChartSpec | null {
  const values = runs.flatMap((r) => r.view.summaries.map((s) => {
    const m = pick(s);
    return { run: r.label, link: labelOf(links, s.link), mean: m.mean, ciLow: Math.max(0, m.ciLow), ciHigh: Number.isFinite(m.ciHigh) ? m.ciHigh : m.mean, n: s.n };
  }));
  if (values.length === 0) return null;
  const axis = ciAxisTop(values.map((v) => v.mean), values.map((v) => v.ciHigh));
  const inner = runBars({
    labels: runs.map((r) => r.label),
    xField: 'link',
    xSort: links.map((l) => l.label).filter((l) => values.some((v) => v.link === l)),
    xTitle: 'link, slowest first',
    meanField: 'mean',
    ciLowField: 'ciLow',
    ciHighField: 'ciHigh',
    yTitle: what.yTitle,
    yScale: { domain: [0, axis.top], nice: false },
    tooltip: [{ field: 'run' }, { field: 'link' }, { field: 'mean', format: what.format }, { field: 'ciLow', title: 'CI low', format: what.format }, { field: 'ciHigh', title: 'CI high', format: what.format }, { field: 'n', title: 'repetitions' }],
  });
  const title = chartTitle(`${ctx.workload}: ${what.title}, run by run`, shortLines([`Mean over each run's repetitions, a bar per run; line: 95% CI${axis.clipped ? ' (cut at the top of the axis)' : ''}.`]));
  return { id: what.id, title: `${what.title[0]!.toUpperCase()}${what.title.slice(1)}, run by run`, caption: what.caption, spec: assembleSpec(title, values, inner) };
}

/** The ycsb family's comparison: the FamilyReport.compare hook. */
export function ycsbCompare(runs: ReadonlyArray<YcsbRun>, ctx: CompareContext): FamilyComparison {
  const links = linkUnion(runs.map((r) => r.ctx.links));
  const charts = [
    perLinkBars(runs, links, ctx, (s) => s.opsPerSec, { id: 'compare-throughput', title: 'throughput per link', yTitle: 'operations per second', format: ',.0f', caption: 'Higher is better: the runs side by side on each link.' }),
    perLinkBars(runs, links, ctx, (s) => s.latencyMs.p99, { id: 'compare-p99', title: 'p99 latency per link', yTitle: 'p99 latency (ms)', format: '.2f', caption: 'Lower is better: the tail each run saw on each link.' }),
  ].filter((c): c is ChartSpec => c !== null);
  const rows: string[][] = [];
  for (const link of links)
    for (const r of runs) {
      const s = r.view.summaries.find((x) => x.link === link.name);
      if (!s) continue;
      rows.push([link.label, r.label, String(s.n), meanWithCi(s.opsPerSec, 0), meanWithCi(s.latencyMs.p50, 2), meanWithCi(s.latencyMs.p99, 2), formatNumber(s.errors), meanWithCi(s.clientCpuMsPerKop, 1), meanWithCi(s.nodesCpuMsPerKop, 1)]);
    }
  const table = reportTable(
    'Per link and run',
    [['link', false], ['run', false], ['n', true], ['ops/s (mean ± 95% CI)', true], ['p50 ms', true], ['p99 ms', true], ['errors', true], ['client CPU ms per 1000 ops', true], ['nodes CPU ms per 1000 ops', true]],
    rows,
    'Percentiles per repetition, then averaged with their 95% CI.',
  );
  return { charts, tables: [table], notes: [] };
}
