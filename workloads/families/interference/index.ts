/**
 * The interference family: what pushdown costs other tenants. A point tenant (YCSB-style reads and
 * updates, zipfian, open loop) runs beside an analytic stream (any query workload) swept over its
 * rate, in each mode and with `none` as the baseline; see runner.ts.
 */
import { formatNumber, formatTable } from '../../driver/results/table';
import { checksumVerdict, meanWithCi, reportTable, type ReportTable } from '../../../reports/tables';
import { interferenceCharts } from '../../../reports/specs/interference-charts';
import { SpecError } from '../../spec-checks';
import { defineFamily } from '../family';
import { checkQueryPlugin } from '../query/prepare';
import { backendKind } from '../../backends/registry';
import { queryWorkload } from '../query/requests';
import { analyticSpec, INTERFERENCE_MODES, plannedPhases, runInterference, type InterferenceMode } from './runner';
import { INTERFERENCE_SECTIONS } from './section';
import { summarizeInterference, type InterferencePoint, type InterferenceSummary } from './summary';
import { isObject } from '../../../engine/util/is-object';
const ms = (ci: { mean: number; ciLow: number; ciHigh: number }, digits = 2): string => meanWithCi(ci, digits);

function rows(points: InterferencePoint[]): string[][] {
  return points.map((p) => [
    formatNumber(p.rate),
    p.mode,
    String(p.n),
    ms(p.pointP50Ms),
    ms(p.pointP99Ms),
    ms(p.pointP999Ms),
    p.p99VsNone === null ? '-' : `${p.p99VsNone.toFixed(2)}×`,
    meanWithCi(p.pointOpsPerSec, 0),
    p.mode === 'none' ? '-' : meanWithCi(p.analyticCallsPerSec, 2),
    p.analyticMeanMs ? ms(p.analyticMeanMs, 1) : '-',
    meanWithCi(p.nodesCpuMsPerSec, 0),
    p.chosenModes ? [...Object.entries(p.chosenModes).map(([m, n]) => `${m} ×${n}`), ...(p.regionsPushedBack ? [`${formatNumber(p.regionsPushedBack)} regions pushed back`] : [])].join(', ') : '',
    p.mode === 'none' ? '-' : `${formatNumber(p.analyticErrors)} / ${formatNumber(p.regionsSpilled ?? 0)}`,
  ]);
}

const COLUMNS: Array<[string, boolean]> = [
  ['analytic calls/s due', true],
  ['analytic mode', false],
  ['n', true],
  ['point p50 ms', true],
  ['point p99 ms', true],
  ['point p99.9 ms', true],
  ['p99 / none', true],
  ['point ops/s', true],
  ['analytic calls/s done', true],
  ['analytic ms', true],
  ['nodes CPU ms/s', true],
  ['adaptive chose', false],
  ['analytic errors / regions spilled', true],
];

function print(summary: InterferenceSummary): void {
  const table = rows(summary.points).map((r) => Object.fromEntries(COLUMNS.map(([c], i) => [c, r[i]!])));
  process.stdout.write(`\n${formatTable(table, COLUMNS.map(([c]) => c))}\n`);
  process.stdout.write(`point tenant: ${summary.targetPointOpsPerSec} ops/s due, open loop (latency from intended starts); means ± 95% CI over repetitions; p99 / none = mean p99 over the none baseline's at the same rate.\n`);
}

export const interferenceFamily = defineFamily<InterferenceSummary>({
  name: 'interference',
  kinds: ['interference'],
  sections: INTERFERENCE_SECTIONS,
  checkSpec(spec) {
    if (!spec.interference) throw new SpecError('interference: an interference workload needs the interference section (point tenant and analytic stream)');
    for (const mode of spec.modes) if (!INTERFERENCE_MODES.includes(mode as InterferenceMode)) throw new SpecError(`modes: '${mode}' is not an interference mode (modes: ${INTERFERENCE_MODES.join(', ')})`);
    if (spec.links.length !== 1) throw new SpecError('links: an interference workload runs on one link profile');
    const provides = backendKind(spec.backend.kind).provides;
    if (!provides.placement || !provides.adaptive) throw new SpecError(`backend.kind: an interference workload needs a backend whose point tenant can run in its own process (a copbench placement) and a cost model for adaptive; ${spec.backend.kind} has ${provides.placement ? 'no cost model' : 'no copbench placement'}`);
    if (spec.sweep && spec.sweep.parameter !== 'analyticRate') throw new SpecError(`sweep.parameter: an interference workload sweeps analyticRate (analytic calls per second), got '${spec.sweep.parameter}'`);
    for (const v of spec.sweep?.values ?? []) if (typeof v !== 'number' || !(v > 0)) throw new SpecError(`sweep.values: analytic rates are calls per second > 0, got ${JSON.stringify(v)}`);
    try {
      queryWorkload(analyticSpec(spec));
    } catch (err) {
      if (err instanceof SpecError) throw new SpecError(`interference.analytic: ${err.message}`);
      throw err;
    }
  },
  async prepare(spec, env) {
    try {
      await checkQueryPlugin(analyticSpec(spec), env);
    } catch (err) {
      if (err instanceof SpecError) throw new SpecError(`interference.analytic: ${err.message}`);
      throw err;
    }
  },
  plannedWork: (spec) => ({ label: 'measure (phases)', total: plannedPhases(spec) }),
  async run(spec, backend, { writer, log, load, tick, publishSummary }) {
    const { samples, costModel } = await runInterference(spec, backend, {
      log,
      onPhase: () => tick(1),
      onSample: ({ checksums, ...row }) => writer.appendSample({ ...row, checksums: checksums.join(' ') }),
    });
    const summary = summarizeInterference(samples, spec.interference!.pointOpsPerSec);
    publishSummary({ load, ...summary, costModel }, () => print(summary));
    if (!summary.verdict.agree) return { failure: `ANSWERS DIFFER between modes — the comparison is invalid:\n  ${summary.verdict.mismatches.join('\n  ')}` };
    log('checksums: every analytic call of every mode returned the same answer');
    return { failure: null };
  },
  report: {
    view(s) {
      if (!Array.isArray(s.points) || !s.points.every((p) => isObject(p) && typeof p.rate === 'number' && isObject(p.pointP99Ms))) throw new Error('points must be a list of per-rate summaries with rate and pointP99Ms');
      if (!isObject(s.verdict) || typeof s.verdict.agree !== 'boolean') throw new Error('verdict.agree must be true or false');
      return s as unknown as InterferenceSummary;
    },
    recognizes: (s) => 'targetPointOpsPerSec' in s,
    linkNames: () => [],
    charts: (view, ctx) => interferenceCharts(view.points, ctx.workload),
    tables: (view): ReportTable[] => [reportTable(`Point tenant (${view.targetPointOpsPerSec} ops/s due) beside the analytic stream`, COLUMNS, rows(view.points), 'Means over the repetitions ± the half-width of their 95% confidence interval; point latency from intended starts (open loop); none = the point tenant alone.')],
    verdict: (view) => checksumVerdict(view.verdict, 'Checksums agree: every analytic call returned the same answer in every mode, so the comparison is valid.'),
  },
});
