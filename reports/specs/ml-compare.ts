/**
 * ml-train runs compared: total training time and time to the target loss per mode, a bar per run
 * (with its 95% CI), and the per-mode numbers of every run side by side.
 */
import type { ComparedRun, CompareContext, FamilyComparison } from '../../workloads/families/family';
import type { MlView } from '../../workloads/families/ml-train';
import type { MlModeSummary } from '../../workloads/families/ml-train/ml-summary';
import type { MeanCI } from '../../workloads/driver/summarize';
import { formatNumber } from '../../workloads/driver/results/table';
import { sortModes } from '../modes';
import { formatBytes, meanWithCi, reportTable } from '../tables';
import { assembleSpec, chartTitle, ciAxisTop, type ChartSpec } from './common';
import { labelOf, linkUnion, runBars, shortLines } from './compare-common';
import type { LinkInfo } from '../links';

type MlRun = ComparedRun<MlView>;

/** A time per mode (seconds), a bar per run; null when no run has it. */
function timeBars(runs: readonly MlRun[], links: readonly LinkInfo[], ctx: CompareContext, pick: (m: MlModeSummary) => MeanCI | null, what: { id: string; name: string; subtitle: string; caption: string }): ChartSpec | null {
  const labels = runs.map((r) => r.label);
  const values = runs.flatMap((r) =>
    r.view.ml.modes.flatMap((m) => {
      const t = pick(m);
      if (!t) return [];
      return [{ run: r.label, link: labelOf(links, m.link), mode: m.mode, sec: t.mean / 1000, ciLowSec: Math.max(0, t.ciLow / 1000), ciHighSec: Number.isFinite(t.ciHigh) ? t.ciHigh / 1000 : t.mean / 1000, epochs: m.epochs, n: m.n }];
    }),
  );
  if (values.length === 0) return null;
  const axis = ciAxisTop(values.map((v) => v.sec), values.map((v) => v.ciHighSec));
  const linkSort = links.map((l) => l.label).filter((l) => values.some((v) => v.link === l));
  const inner = runBars({
    labels,
    xField: 'mode',
    xSort: sortModes(values.map((v) => v.mode)),
    xTitle: null,
    meanField: 'sec',
    ciLowField: 'ciLowSec',
    ciHighField: 'ciHighSec',
    yTitle: `${what.name} (s)`,
    yScale: { domain: [0, axis.top], nice: false },
    tooltip: [{ field: 'run' }, { field: 'mode' }, { field: 'link' }, { field: 'sec', title: 'mean s', format: '.2f' }, { field: 'epochs' }, { field: 'n' }],
  });
  const title = chartTitle(`${ctx.workload}: ${what.name} per mode, run by run`, shortLines([`${what.subtitle}; a bar per run, line: 95% CI${axis.clipped ? ' (cut at the top of the axis)' : ''}.`]));
  const spec = assembleSpec(title, values, inner, linkSort.length > 1 ? { column: { field: 'link', type: 'nominal', title: 'link', sort: linkSort } } : null);
  return { id: what.id, title: `${what.name[0]!.toUpperCase()}${what.name.slice(1)}, run by run`, caption: what.caption, spec };
}

/** The ml-train family's comparison: the FamilyReport.compare hook. */
export function mlCompare(runs: ReadonlyArray<MlRun>, ctx: CompareContext): FamilyComparison {
  const links = linkUnion(runs.map((r) => r.ctx.links));
  const targets = [...new Set(runs.map((r) => r.view.ml.targetLoss))];
  const charts = [
    timeBars(runs, links, ctx, (m) => m.trainMs, { id: 'compare-training-time', name: 'time to train', subtitle: 'Whole training (client-cached: the pull included), mean over the runs\' repetitions', caption: 'The total cost of each way to train in each run; shorter is better.' }),
    timeBars(runs, links, ctx, (m) => m.timeToTargetMs, { id: 'compare-time-to-target', name: 'time to target loss', subtitle: `Wall time until the loss first reached ml.targetLoss (${targets.map((t) => (t === null ? 'none' : String(t))).join(' / ')}); a mode that missed it in a repetition has no bar`, caption: 'Time to accuracy: how soon each mode had a model as good as the target, in each run.' }),
  ].filter((c): c is ChartSpec => c !== null);
  const modes = sortModes(runs.flatMap((r) => r.view.ml.modes.map((m) => m.mode)));
  const rows: string[][] = [];
  for (const link of links)
    for (const mode of modes)
      for (const r of runs) {
        const m = r.view.ml.modes.find((x) => x.link === link.name && x.mode === mode);
        if (!m) continue;
        rows.push([link.label, mode, r.label, String(m.n), String(m.epochs), formatNumber(m.finalLoss), meanWithCi(m.trainMs, 1), m.timeToTargetMs ? meanWithCi(m.timeToTargetMs, 1) : r.view.ml.targetLoss === null ? '-' : `missed ${m.missedTarget}/${m.n}`, formatBytes(m.clientWireInBytes.mean), meanWithCi(m.clientCpuMs, 1), meanWithCi(m.nodesCpuMs, 1), m.speedupVsClient === null ? '-' : `${m.speedupVsClient.toFixed(2)}×`]);
      }
  const table = reportTable(
    'Training per mode and run',
    [['link', false], ['mode', false], ['run', false], ['n', true], ['epochs', true], ['final loss', true], ['train ms (mean ± 95% CI)', true], ['time to target ms', true], ['wire in', true], ['client CPU ms', true], ['nodes CPU ms', true], ['vs client', true]],
    rows,
    'Each run\'s own numbers (its report.html has the loss curves); "vs client": the client mode\'s training time / this mode\'s in the same run.',
  );
  const notes = targets.length > 1 ? [`The runs trained to different target losses (${targets.join(', ')}): their times to target are not the same measure.`] : [];
  return { charts, tables: [table], notes };
}
