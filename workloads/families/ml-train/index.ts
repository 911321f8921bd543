/**
 * The ml-train family: linear or logistic regression trained by full-batch gradient descent with
 * the sgd plugin, per mode (pushdown: per-region gradients in the nodes; client: rows fetched
 * every epoch; client-cached: rows fetched once) and link; every mode must end with the same model.
 */
import { formatNumber } from '../../driver/results/table';
import { printMlSummary } from '../../driver/print-summary';
import { formatBytes, meanWithCi, linkLabelIn, reportTable, checksumVerdict, type ReportTable } from '../../../reports/tables';
import { mlCharts } from '../../../reports/specs/ml-charts';
import { mlCompare } from '../../../reports/specs/ml-compare';
import type { ChecksumVerdict } from '../../driver/summarize';
import { fail, SpecError } from '../../spec-checks';
import { defineFamily, type ReportContext } from '../family';
import { epochBudget, mlSettings, plannedMlEpochs, pushdownRefusal, runMlTraining, type MlSettings } from './ml-runner';
import { claimLines, summarizeMl, type MlSummary } from './ml-summary';
import { LOCAL_SGD_LOSS_TOLERANCE } from './ml-trainer';
import type { WorkloadSpec } from '../../spec';
import { ML_SECTIONS } from './section';
import { checkDeployedPlugins } from '../query/prepare';
import { isObject } from '../../../engine/util/is-object';

/** The report's view of an ml-train summary. */
export interface MlView {
  ml: MlSummary;
  verdict: ChecksumVerdict;
}

function mlTables(view: MlView, ctx: ReportContext): ReportTable[] {
  const ml = view.ml;
  const rows = ml.modes.map((m) => [
    linkLabelIn(ctx.links, m.link),
    m.mode,
    String(m.n),
    String(m.epochs),
    m.stoppedBy,
    formatNumber(m.finalLoss),
    meanWithCi(m.trainMs, 1),
    meanWithCi(m.firstEpochMs, 1),
    m.laterEpochMs ? meanWithCi(m.laterEpochMs, 1) : '-',
    formatBytes(m.clientWireInBytes.mean),
    meanWithCi(m.clientCpuMs, 1),
    meanWithCi(m.nodesCpuMs, 1),
    m.speedupVsClient === null ? '-' : `${m.speedupVsClient.toFixed(2)}×`,
    ...(ml.targetLoss === null ? [] : [m.timeToTargetMs ? meanWithCi(m.timeToTargetMs, 1) : `missed ${m.missedTarget}/${m.n}`, m.speedupToTargetVsClient === null ? '-' : `${m.speedupToTargetVsClient.toFixed(2)}×`]),
  ]);
  const checks = ml.checks;
  const claim = claimLines(ml.claim ?? []);
  return [
    ...(claim.length === 0
      ? []
      : [reportTable('The claim: in-database training against the client', [['per link: in-database mode vs client mode, measure: speedup (95% CI): verdict', false]], claim.map((l) => [l]), "Speedup = the client mode's time / the in-database mode's (> 1: in-database is faster), Fieller's 95% CI over the repetitions paired; the verdict says 'no measurable difference' when the CI contains 1.")]),
    reportTable(
      `Training per mode (${ml.task} regression, ${formatNumber(ml.features)} features, ${formatNumber(ml.rows)} rows, learning rate ${ml.learningRate})`,
      [
        ['link', false],
        ['mode', false],
        ['n', true],
        ['epochs', true],
        ['stopped by', false],
        ['final loss', true],
        ['train ms (mean ± 95% CI)', true],
        ['epoch 1 ms', true],
        ['later epoch ms', true],
        ['wire in', true],
        ['client CPU ms', true],
        ['nodes CPU ms', true],
        ['vs client', true],
        ...(ml.targetLoss === null ? [] : ([[`time to loss ≤ ${ml.targetLoss} ms`, true], ['to target vs client', true]] as Array<[string, boolean]>)),
      ],
      rows,
      `Converged: ${checks.converged ? 'yes' : 'no'}; modes agree on the model: ${checks.modesAgree ? 'yes' : 'NO'} (max relative weight difference ${checks.maxWeightDiffBetweenModes.toExponential(2)}); distance to the true weights ${checks.distanceToTrueWeights === null ? "- (real data: no true weights)" : formatNumber(checks.distanceToTrueWeights)}.`,
    ),
  ];
}


/** pushdown needs the backend to run sgd's requests in its nodes exactly (Redis: its Lua twin); local-sgd is left out where it cannot (runnableMlModes). */
function checkPushdownOnBackend(spec: WorkloadSpec, settings: MlSettings): void {
  if (!spec.modes.includes('pushdown')) return;
  const why = pushdownRefusal(spec, settings, 'pushdown');
  if (why) throw new SpecError(`modes: pushdown cannot run on backend.kind=${spec.backend.kind}: ${why}`);
}

export const mlTrainFamily = defineFamily<MlView>({
  name: 'ml-train',
  kinds: ['ml-train'],
  sections: ML_SECTIONS,
  checkSpec(spec) {
    if (!spec.ml) fail('ml', 'an ml-train workload needs the ml section (epochs, learningRate, tolerance)');
    if (spec.dataset.kind !== 'regression' && spec.dataset.kind !== 'flights') throw new SpecError(`dataset.kind: an ml-train workload trains on the regression or flights dataset, got '${spec.dataset.kind}'`);
  },
  async prepare(spec, env) {
    const settings = mlSettings(spec); // a bad ml-train request fails before anything starts
    checkPushdownOnBackend(spec, settings);
    // Training calls sgd; on flights, aggregate (feature scaling) and filter (label counts) too.
    await checkDeployedPlugins(spec.dataset.kind === 'flights' ? ['sgd', 'aggregate', 'filter'] : ['sgd'], env);
  },
  plannedWork: (spec) => ({ label: 'measure (epoch budget)', total: plannedMlEpochs(spec) }),
  async run(spec, backend, { writer, log, load, tick, publishSummary }) {
    const { runs, peakRss, flights } = await runMlTraining(spec, backend, {
      log,
      onEpoch: (run, e) => {
        tick(1);
        writer.appendSample({ link: run.link, mode: run.mode, repetition: run.repetition, epoch: e.epoch, loss: e.loss, accuracy: e.accuracy, gradientNorm: e.gradientNorm, epochMs: e.epochMs, elapsedMs: e.elapsedMs, clientWireInBytes: e.clientWireInBytes, clientWireOutBytes: e.clientWireOutBytes, clientCpuUs: e.clientCpuUs, pluginCpuUs: e.pluginCpuUs, rowsScanned: e.rowsScanned });
      },
      // The epochs a training did not need (it reached the tolerance) count as done.
      onRun: (run) => tick(Math.max(0, epochBudget(spec) - run.epochs.length)),
    });
    const ml = summarizeMl(spec, runs, undefined, flights);
    const trainings = runs.map((r) => ({ link: r.link, mode: r.mode, repetition: r.repetition, epochs: r.epochs.length, stoppedBy: r.stoppedBy, rows: r.rows, totalMs: r.totalMs, pullMs: r.pullMs, pullWireInBytes: r.pullWireInBytes, clientWireInBytes: r.clientWireInBytes, clientWireOutBytes: r.clientWireOutBytes, clientCpuUs: r.clientCpuUs, nodesCpuUs: r.nodesCpuUs, nodesNetInBytes: r.nodesNetInBytes, nodesNetOutBytes: r.nodesNetOutBytes, weights: r.weights, bias: r.bias }));
    publishSummary({ load, peakRss, ml, trainings, verdict: ml.verdict }, () => printMlSummary(ml));
    if (!ml.verdict.agree) return { failure: `MODES DISAGREE — the final models differ, the comparison is invalid:\n  ${ml.verdict.mismatches.join('\n  ')}` };
    log(`models: every full-batch mode and repetition ended with the same weights (max relative difference ${ml.checks.maxWeightDiffBetweenModes.toExponential(2)})${spec.modes.includes('local-sgd') ? `; local-sgd within ${LOCAL_SGD_LOSS_TOLERANCE * 100}% of their final loss` : ''}`);
    const claim = claimLines(ml.claim ?? []);
    if (claim.length > 0) process.stdout.write(`\nthe claim (in-database speedup = client mode's time / in-database mode's, Fieller 95% CI over paired repetitions):\n${claim.map((l) => `  ${l}`).join('\n')}\n`);
    if (ml.checks.nearTrueWeights === false) log(`warning: the model is ${ml.checks.distanceToTrueWeights?.toPrecision(3)} from the true weights, beyond the expected ${ml.checks.trueWeightsTolerance?.toPrecision(3)}: more epochs or another learning rate?`);
    return { failure: null };
  },
  report: {
    view(s) {
      const ml = s.ml;
      if (!isObject(ml) || !Array.isArray(ml.modes)) throw new Error('ml.modes must be a list of per-mode summaries');
      const verdict = isObject(s.verdict) ? s.verdict : ml.verdict;
      if (!isObject(verdict) || typeof verdict.agree !== 'boolean') throw new Error('verdict.agree must be true or false');
      return { ml: ml as unknown as MlSummary, verdict: verdict as unknown as ChecksumVerdict };
    },
    recognizes: (s) => 'ml' in s,
    linkNames: (view) => view.ml.modes.map((m) => m.link),
    charts: (view, ctx) => mlCharts(view, ctx),
    tables: mlTables,
    verdict: (view) => checksumVerdict(view.verdict, 'Every mode and repetition trained the same model: the comparison is valid.'),
    compare: mlCompare,
  },
});
