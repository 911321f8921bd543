/**
 * Charts of ml-train runs: loss against wall time and against epoch per mode (from samples.csv,
 * one row per epoch), and training time per mode (from summary.json).
 */
import type { SampleRow } from '../../workloads/driver/results/writer';
import type { LinkInfo } from '../links';
import { modeColorScale, sortModes } from '../modes';
import type { MlView } from '../../workloads/families/ml-train';
import { assembleSpec, axisTitle, yAxisTitle, ciAxisTop, chartTitle, clampLow, logDomain, measureScale, modeBarsWithCi, PANEL, SINGLE_WIDTH, spansDecades, type ChartSpec } from './common';

/** What the ML charts need besides the summary. */
export interface MlChartContext {
  workload: string;
  links: LinkInfo[];
  /** samples.csv rows (one per epoch of each training run). */
  samples: SampleRow[];
}

/** One epoch of one training run, as charts use it. */
export interface EpochPoint {
  link: string;
  mode: string;
  repetition: number;
  epoch: number;
  loss: number;
  elapsedSec: number;
}

/** The epochs in samples.csv with a positive loss (log axes cannot show 0). */
export function epochPoints(samples: SampleRow[], links: LinkInfo[]): EpochPoint[] {
  const label = (name: string): string => links.find((l) => l.name === name)?.label ?? name;
  return samples.flatMap((s) => {
    const { link, mode, repetition, epoch, loss, elapsedMs } = s;
    if (typeof mode !== 'string' || typeof epoch !== 'number' || typeof loss !== 'number' || typeof elapsedMs !== 'number' || !(loss > 0)) return [];
    return [{ link: label(String(link)), mode, repetition: typeof repetition === 'number' ? repetition : 0, epoch, loss, elapsedSec: elapsedMs / 1000 }];
  });
}

/** A dashed rule at the target loss (one per facet: the data is reduced to a row per link first). */
function targetRule(targetLoss: number): object {
  return {
    transform: [{ aggregate: [{ op: 'count', as: 'epochs' }], groupby: ['link'] }],
    mark: { type: 'rule', strokeDash: [6, 4], color: '#555', clip: true },
    encoding: { y: { datum: targetLoss }, tooltip: { value: `target loss ${targetLoss} (ml.targetLoss)` } },
  };
}

function lossChart(points: EpochPoint[], ctx: MlChartContext, by: 'time' | 'epoch', targetLoss: number | null): ChartSpec | null {
  if (points.length === 0) return null;
  const modes = sortModes(points.map((p) => p.mode));
  const lossLog = spansDecades(points.map((p) => p.loss));
  const lossDomain = logDomain(points.map((p) => p.loss));
  const xField = by === 'time' ? 'elapsedSec' : 'epoch';
  const timeLog = by === 'time' && spansDecades(points.map((p) => p.elapsedSec));
  // local-sgd's x is a round (one call per region, each training ml.local.epochs local passes), not one full-batch epoch.
  const rounds = modes.includes('local-sgd');
  const xTitle = by === 'time' ? axisTitle('wall time since training started (s)', timeLog) : rounds ? 'epoch (local-sgd: round)' : 'epoch';
  const links = [...new Set(points.map((p) => p.link))];
  const encoding = {
    x: { field: xField, type: 'quantitative', title: xTitle, scale: timeLog ? { type: 'log' } : { zero: by === 'epoch' ? false : true } },
    y: { field: 'loss', type: 'quantitative', title: yAxisTitle('training loss', lossLog), scale: lossLog ? { type: 'log', domain: [lossDomain.floor, lossDomain.ceiling], nice: false } : { zero: false } },
    color: { field: 'mode', type: 'nominal', title: 'mode', scale: modeColorScale(modes) },
    detail: { field: 'repetition', type: 'nominal' },
    tooltip: [{ field: 'mode' }, { field: 'repetition' }, { field: 'epoch' }, { field: 'loss', format: '.4g' }, { field: 'elapsedSec', title: 'elapsed s', format: '.2f' }],
  };
  // By epoch the full-batch modes' lines coincide (same model): one layer per mode, the first mode
  // widest and underneath, so every mode stays visible. local-sgd trains another way (its own
  // curve, over rounds): drawn thin on top.
  const fullBatch = modes.filter((m) => m !== 'local-sgd');
  const widthOf = (mode: string): number => (mode === 'local-sgd' ? 2 : Math.max(1.5, 7 - 2.5 * fullBatch.indexOf(mode)));
  const marks: { layer: object[] } =
    by === 'epoch'
      ? { layer: [...fullBatch, ...(rounds ? ['local-sgd'] : [])].map((mode) => ({ transform: [{ filter: { field: 'mode', equal: mode } }], mark: { type: 'line', strokeWidth: widthOf(mode), opacity: 0.9 }, encoding })) }
      : { layer: [{ mark: { type: 'line', strokeWidth: 2, opacity: 0.9 }, encoding }] };
  if (targetLoss !== null) marks.layer.push(targetRule(targetLoss));
  const inner = { width: links.length > 1 ? PANEL.width : SINGLE_WIDTH, height: PANEL.height, ...marks };
  const subtitle =
    by === 'time'
      ? `One line per training run (repetition); the mode whose line drops first reaches a given loss soonest${targetLoss === null ? '' : ' (dashed: the target loss of time to accuracy)'}.`
      : epochSubtitle(fullBatch, rounds);
  const title = chartTitle(`${ctx.workload}: loss vs ${by === 'time' ? 'wall time' : 'epoch'}`, subtitle);
  const spec = assembleSpec(title, points, inner, links.length > 1 ? { column: { field: 'link', type: 'nominal', title: 'link', sort: ctx.links.map((l) => l.label) } } : null);
  return by === 'time'
    ? { id: 'loss-vs-time', title: 'Loss vs wall time', caption: 'How fast each mode trains: pushdown ships gradients, client ships rows every epoch, client-cached ships rows once (all three the same model); local-sgd trains in each region and averages the models once a round.', spec }
    : { id: 'loss-vs-epoch', title: rounds ? 'Loss vs epoch (local-sgd: round)' : 'Loss vs epoch', caption: `Convergence per epoch, identical across the full-batch modes (they must agree on the model)${rounds ? "; local-sgd's per round (another algorithm, checked by its final loss)" : ''}.`, spec };
}

/** What the loss-vs-epoch chart shows: the full-batch modes coincide; local-sgd, when present, has its own curve over rounds. */
function epochSubtitle(fullBatch: string[], rounds: boolean): string {
  const same =
    fullBatch.length === 0
      ? 'No full-batch mode'
      : fullBatch.length > 1
      ? `${fullBatch.join(', ')} compute the same gradients, so their curves coincide (drawn nested, first mode widest): they differ in time, not in progress per epoch`
      : `${fullBatch.join(', ')}: one full-batch gradient step per epoch`;
  return rounds ? `${same}. local-sgd's x is a round (one call per region, local mini-batch passes, the models averaged), so its curve is its own.` : `${same}.`;
}

/** Training time per mode (mean with 95% CI), one panel per link. */
export function trainingTime(view: MlView, ctx: MlChartContext): ChartSpec | null {
  const modes = view.ml.modes;
  if (modes.length === 0) return null;
  const order = sortModes(modes.map((m) => m.mode));
  const label = (name: string): string => ctx.links.find((l) => l.name === name)?.label ?? name;
  const y = measureScale(modes.map((m) => m.trainMs.mean / 1000));
  const values = modes.map((m) => ({ link: label(m.link), mode: m.mode, trainSec: m.trainMs.mean / 1000, ciLowSec: clampLow(m.trainMs.ciLow / 1000, y.floor, y.log), ciHighSec: m.trainMs.ciHigh / 1000, epochs: m.epochs, speedup: m.speedupVsClient }));
  const axis = ciAxisTop(values.map((v) => v.trainSec), values.map((v) => v.ciHighSec));
  const inner = modeBarsWithCi({
    modes: order,
    meanField: 'trainSec',
    ciLowField: 'ciLowSec',
    ciHighField: 'ciHighSec',
    yTitle: yAxisTitle('training time (s)', y.log),
    yScale: y.log ? y.scale : { domain: [0, axis.top], nice: false },
    tooltip: [{ field: 'mode' }, { field: 'trainSec', title: 'mean s', format: '.2f' }, { field: 'epochs' }, { field: 'speedup', title: 'speedup vs client', format: '.2f' }],
  });
  const n = [...new Set(modes.map((m) => m.n))].join('/');
  const title = chartTitle(`${ctx.workload}: time to train`, `Whole training (client-cached: the pull included), mean of n=${n} runs; line: 95% CI${y.log || axis.clipped ? ', cut at the axis' : ''}.`);
  const spec = assembleSpec(title, values, inner, ctx.links.length > 1 ? { column: { field: 'link', type: 'nominal', title: 'link', sort: ctx.links.map((l) => l.label) } } : null);
  return { id: 'training-time', title: 'Time to train', caption: 'The total cost of each way to train; shorter is better.', spec };
}

/** Every ML chart that applies, in report order. */
export function mlCharts(view: MlView, ctx: MlChartContext): ChartSpec[] {
  const points = epochPoints(ctx.samples, ctx.links);
  const target = view.ml.targetLoss ?? null; // summaries written before time to accuracy have none
  return [lossChart(points, ctx, 'time', target), lossChart(points, ctx, 'epoch', target), trainingTime(view, ctx)].filter((c): c is ChartSpec => c !== null);
}
