/**
 * The ml-train summary: per link and mode the training and epoch times with CIs, time to the
 * target loss, wire bytes and CPU; whether every mode ended with the same model; how the model
 * compares with the truth or the majority-class baseline; and the verdict on the in-database
 * claim (speedups with Fieller CIs over paired repetitions).
 */
import { modelGeometry, type ModelGeometry, type RegressionTruth } from '../../datasets/regression';
import type { WorkloadSpec } from '../../spec';
import { meanWithCI95 } from '../../driver/metrics/stats';
import { pairedRatioCI, ratioVerdict, type RatioCI, type RatioVerdict } from '../../driver/metrics/ratio';
import type { MeanCI } from '../../driver/summarize';
import type { Condition } from '../../../engine/plugin-api';
import type { FlightsPreparation } from './ml-flights';
import { FULL_BATCH_MODES, LOCAL_SGD_LOSS_TOLERANCE, WEIGHT_AGREEMENT_TOLERANCE, type EpochRecord, type MlMode, type MlTask, type TrainingRun } from './ml-trainer';
import { mlSettings, type MlSettings } from './ml-runner';

export type { MeanCI };

const ci = (values: number[]): MeanCI => {
  const r = meanWithCI95(values);
  return { mean: r.mean, ciLow: r.ciLow, ciHigh: r.ciHigh };
};

export interface MlModeSummary {
  link: string;
  mode: MlMode;
  /** Training runs (repetitions). */
  n: number;
  epochs: number;
  stoppedBy: 'tolerance' | 'epochs';
  finalLoss: number;
  finalAccuracy: number | null;
  /** Whole training (client-cached: the pull included). */
  trainMs: MeanCI;
  firstEpochMs: MeanCI;
  /** Mean time of epochs 2… (one value per run). */
  laterEpochMs: MeanCI | null;
  /** client-cached: the pull. */
  pullMs: MeanCI | null;
  clientWireInBytes: MeanCI;
  firstEpochWireInBytes: MeanCI;
  /** Mean wire bytes in per epoch after the first. */
  laterEpochWireInBytes: MeanCI | null;
  clientCpuMs: MeanCI;
  nodesCpuMs: MeanCI;
  /** Mean plugin CPU per epoch (see EpochRecord.pluginCpuUs). */
  pluginCpuMsPerEpoch: MeanCI;
  /** Mean client-mode training time / this mode's (> 1: this mode is faster than client). */
  speedupVsClient: number | null;
  /** Time to accuracy: wall time until the loss first reached the target (null: no target, or a run never reached it). */
  timeToTargetMs: MeanCI | null;
  /** The epoch that reached the target (the same in every run: the modes train the same model). */
  epochsToTarget: number | null;
  /** Runs of this mode that never reached the target. */
  missedTarget: number;
  /** Mean client-mode time to target / this mode's. */
  speedupToTargetVsClient: number | null;
}

/**
 * The claim under test, per link: an in-database mode (pushdown, local-sgd) against a client mode
 * (client, client-cached), by time to the target loss (whole training time without a target).
 * `speedup` = the client mode's time / the in-database mode's, with Fieller's 95% CI over the
 * repetitions paired (the modes of one repetition run back to back).
 */
export interface ClaimVerdict {
  link: string;
  inDatabase: MlMode;
  against: MlMode;
  measure: 'time to target' | 'training time';
  speedup: RatioCI;
  /** faster: the in-database mode is faster (the CI lies above 1); slower; or no measurable difference. */
  verdict: RatioVerdict;
}

export interface MlChecks {
  /** Every training run stopped because the loss settled (not at the epoch limit). */
  converged: boolean;
  /** Largest |Δ| between any run's final weights/bias and the first run's, relative to max(1, |w|). */
  maxWeightDiffBetweenModes: number;
  weightAgreementTolerance: number;
  modesAgree: boolean;
  /** ‖(w, b) − (w*, b*)‖₂ of the final model; null on real data (no true weights). */
  distanceToTrueWeights: number | null;
  /** The fitted parameters' standard error for this noise, n and d (see modelGeometry); null on real data. */
  expectedStatisticalError: number | null;
  /**
   * 5 × expectedStatisticalError + 2 × (1/μ + learningRate) × (last mean-gradient norm): the
   * statistical error of the exact optimum plus how far the model can still be from that optimum
   * (‖w − ŵ‖ ≤ ‖∇‖/μ at the last evaluated weights, plus the last step). Null when l2 > 0 (the fit
   * is biased on purpose).
   */
  trueWeightsTolerance: number | null;
  nearTrueWeights: boolean | null;
  /** ‖mean gradient‖ at the start of the last epoch. */
  finalGradientNorm: number;
  /** Real data (flights): accuracy of always predicting the majority class; null otherwise. */
  baselineAccuracy: number | null;
  /** Real data: the final model's accuracy beats that baseline; null otherwise. */
  beatsBaseline: boolean | null;
}

export interface MlSummary {
  task: MlTask;
  l2: number;
  features: number;
  rows: number;
  learningRate: number;
  maxEpochs: number;
  tolerance: number;
  /** ml.targetLoss (null: time to accuracy not measured). */
  targetLoss: number | null;
  truth: RegressionTruth | null;
  /** flights: the feature names, their means and standard deviations (the scaling), the label's positive fraction. */
  data: { features: string[]; mean: number[]; stddev: number[]; positiveFraction: number; label: Condition[] } | null;
  model: { weights: number[]; bias: number };
  modes: MlModeSummary[];
  checks: MlChecks;
  /** As query workloads report it: every mode's answer (final model) agrees. */
  verdict: { agree: boolean; mismatches: string[] };
  /** The in-database speedups, per link, with CIs (absent in runs before it was reported). */
  claim?: ClaimVerdict[];
}

/** Time to the target loss over one mode's runs; a mean only when every run reached it. */
function timeToTarget(group: TrainingRun[]): Pick<MlModeSummary, 'timeToTargetMs' | 'epochsToTarget' | 'missedTarget'> {
  const reached = group.flatMap((r) => (r.target ? [r.target] : []));
  const missedTarget = group.length - reached.length;
  if (reached.length === 0 || missedTarget > 0) return { timeToTargetMs: null, epochsToTarget: null, missedTarget };
  return { timeToTargetMs: ci(reached.map((t) => t.elapsedMs)), epochsToTarget: reached[0]!.epoch, missedTarget };
}

/**
 * Whether every run agrees with the reference run `first` (a full-batch one): full-batch runs end
 * with the same weights after as many epochs; local-sgd, which trains another way, within
 * LOCAL_SGD_LOSS_TOLERANCE of the reference's final loss.
 */
function modelAgreement(runs: TrainingRun[], first: TrainingRun): { maxDiff: number; mismatches: string[] } {
  const mismatches: string[] = [];
  let maxDiff = 0;
  const referenceLoss = first.epochs.at(-1)?.loss ?? NaN;
  const ref = [...first.weights, first.bias];
  for (const run of runs) {
    if (!FULL_BATCH_MODES.includes(run.mode)) {
      const loss = run.epochs.at(-1)?.loss ?? NaN;
      if (!((loss - referenceLoss) / referenceLoss <= LOCAL_SGD_LOSS_TOLERANCE)) {
        mismatches.push(`${run.link} ${run.mode} rep ${run.repetition}: final loss ${loss} is more than ${LOCAL_SGD_LOSS_TOLERANCE * 100}% above the full-batch ${referenceLoss} (${first.link} ${first.mode} rep ${first.repetition})`);
      }
      continue;
    }
    let diff = 0;
    [...run.weights, run.bias].forEach((p, i) => (diff = Math.max(diff, Math.abs(p - ref[i]!) / Math.max(1, Math.abs(ref[i]!)))));
    maxDiff = Math.max(maxDiff, diff);
    if (!(diff <= WEIGHT_AGREEMENT_TOLERANCE) || run.epochs.length !== first.epochs.length) {
      mismatches.push(`${run.link} ${run.mode} rep ${run.repetition}: ${run.epochs.length} epochs, weights differ from ${first.link} ${first.mode} rep ${first.repetition} (${first.epochs.length} epochs) by ${diff.toExponential(2)} (tolerance ${WEIGHT_AGREEMENT_TOLERANCE})`);
    }
  }
  return { maxDiff, mismatches };
}

/** One (link, mode)'s runs as the summary table shows them (speedups filled in by modeSummaries). */
function modeSummary(group: TrainingRun[]): MlModeSummary {
  const r0 = group[0]!;
  const later = group.filter((r) => r.epochs.length > 1);
  const laterMean = (r: TrainingRun, pick: (e: EpochRecord) => number): number => r.epochs.slice(1).reduce((t, e) => t + pick(e), 0) / (r.epochs.length - 1);
  const last = r0.epochs.at(-1)!;
  return {
    link: r0.link,
    mode: r0.mode,
    n: group.length,
    epochs: r0.epochs.length,
    stoppedBy: r0.stoppedBy,
    finalLoss: last.loss,
    finalAccuracy: last.accuracy,
    trainMs: ci(group.map((r) => r.totalMs)),
    firstEpochMs: ci(group.map((r) => r.epochs[0]!.epochMs)),
    laterEpochMs: later.length ? ci(later.map((r) => laterMean(r, (e) => e.epochMs))) : null,
    pullMs: r0.mode === 'client-cached' ? ci(group.map((r) => r.pullMs)) : null,
    clientWireInBytes: ci(group.map((r) => r.clientWireInBytes)),
    firstEpochWireInBytes: ci(group.map((r) => r.epochs[0]!.clientWireInBytes)),
    laterEpochWireInBytes: later.length ? ci(later.map((r) => laterMean(r, (e) => e.clientWireInBytes))) : null,
    clientCpuMs: ci(group.map((r) => r.clientCpuUs / 1000)),
    nodesCpuMs: ci(group.map((r) => r.nodesCpuUs / 1000)),
    pluginCpuMsPerEpoch: ci(group.map((r) => r.epochs.reduce((t, e) => t + e.pluginCpuUs, 0) / r.epochs.length / 1000)),
    speedupVsClient: null,
    ...timeToTarget(group),
    speedupToTargetVsClient: null,
  };
}

/** Per (link, mode), in run order, with each mode's speedup over client mode on the same link. */
function modeSummaries(runs: TrainingRun[]): MlModeSummary[] {
  const groups = new Map<string, TrainingRun[]>();
  for (const run of runs) {
    const key = `${run.link}\u0000${run.mode}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const modes = [...groups.values()].map(modeSummary);
  for (const m of modes) {
    const client = modes.find((c) => c.link === m.link && c.mode === 'client');
    m.speedupVsClient = client && m.mode !== 'client' ? client.trainMs.mean / m.trainMs.mean : null;
    m.speedupToTargetVsClient = client?.timeToTargetMs && m.timeToTargetMs && m.mode !== 'client' ? client.timeToTargetMs.mean / m.timeToTargetMs.mean : null;
  }
  return modes;
}

/** How the reference run's model compares with the truth (regression data) or the majority-class baseline (real data). */
function modelChecks(settings: MlSettings, first: TrainingRun, geo: ModelGeometry | null, flights: FlightsPreparation | null | undefined): Pick<MlChecks, 'distanceToTrueWeights' | 'expectedStatisticalError' | 'trueWeightsTolerance' | 'nearTrueWeights' | 'finalGradientNorm' | 'baselineAccuracy' | 'beatsBaseline'> {
  const truth = settings.truth;
  const truthParams = truth ? [...truth.weights, truth.bias] : null;
  const distance = truthParams ? Math.hypot(...[...first.weights, first.bias].map((p, i) => p - truthParams[i]!)) : null;
  const finalGradientNorm = first.epochs.at(-1)?.gradientNorm ?? NaN;
  // Strong convexity: the weights the last gradient was taken at lie within ‖∇‖/μ of the optimum;
  // the final weights are one step (lr · ‖∇‖) from those.
  const trueWeightsTolerance = settings.l2 > 0 || !geo ? null : 5 * geo.expectedError + 2 * (1 / geo.curvature + settings.options.learningRate) * finalGradientNorm;
  const finalAccuracy = first.epochs.at(-1)?.accuracy ?? null;
  return {
    distanceToTrueWeights: distance,
    expectedStatisticalError: geo ? geo.expectedError : null,
    trueWeightsTolerance,
    nearTrueWeights: trueWeightsTolerance === null || distance === null ? null : distance <= trueWeightsTolerance,
    finalGradientNorm,
    baselineAccuracy: flights ? flights.baselineAccuracy : null,
    beatsBaseline: flights && finalAccuracy !== null ? finalAccuracy > flights.baselineAccuracy : null,
  };
}

/** `flights`: what prepareFlightsTraining found (needed for flights specs: the baseline accuracy). */
export function summarizeMl(spec: WorkloadSpec, runs: TrainingRun[], geometry?: ModelGeometry, flights?: FlightsPreparation | null): MlSummary {
  const settings = mlSettings(spec);
  // The reference is a full-batch run: local-sgd's model is not the same by design (checked by its loss).
  const first = runs.find((r) => FULL_BATCH_MODES.includes(r.mode)) ?? runs[0];
  if (!first) throw new Error('ml-train: no training runs to summarize');
  const truth = settings.truth;
  if (!truth && !flights) throw new Error('ml-train on real data: summarizeMl needs the data preparation (baseline accuracy)');
  const geo = truth ? (geometry ?? modelGeometry(settings.task, { rows: first.rows, seed: spec.dataset.seed, features: settings.features, noise: settings.noise })) : null;
  const { maxDiff, mismatches } = modelAgreement(runs, first);
  const modesAgree = mismatches.length === 0;
  return {
    task: settings.task,
    l2: settings.l2,
    features: settings.features,
    rows: first.rows,
    learningRate: settings.options.learningRate,
    maxEpochs: settings.options.epochs,
    tolerance: settings.options.tolerance,
    targetLoss: settings.options.targetLoss,
    truth,
    data: flights ? { features: settings.options.features, mean: flights.mean, stddev: flights.stddev, positiveFraction: flights.positiveFraction, label: settings.options.labelWhere ?? [] } : null,
    model: { weights: first.weights, bias: first.bias },
    modes: modeSummaries(runs),
    checks: {
      // Full-batch descent settles to the tolerance; local SGD with a fixed step hovers near the optimum.
      converged: runs.filter((r) => FULL_BATCH_MODES.includes(r.mode)).every((r) => r.stoppedBy === 'tolerance'),
      maxWeightDiffBetweenModes: maxDiff,
      weightAgreementTolerance: WEIGHT_AGREEMENT_TOLERANCE,
      modesAgree,
      ...modelChecks(settings, first, geo, flights),
    },
    verdict: { agree: modesAgree, mismatches },
    claim: claimVerdicts(runs, settings.options.targetLoss !== null),
  };
}

function claimVerdicts(runs: TrainingRun[], byTarget: boolean): ClaimVerdict[] {
  const measure = (r: TrainingRun): number | null => (byTarget ? (r.target?.elapsedMs ?? null) : r.totalMs);
  const out: ClaimVerdict[] = [];
  for (const link of [...new Set(runs.map((r) => r.link))]) {
    const of = (mode: MlMode): Map<number, number> => new Map(runs.filter((r) => r.link === link && r.mode === mode && measure(r) !== null).map((r) => [r.repetition, measure(r)!]));
    for (const inDatabase of ['pushdown', 'local-sgd'] as const) {
      for (const against of ['client', 'client-cached'] as const) {
        const mine = of(inDatabase);
        const theirs = of(against);
        const reps = [...mine.keys()].filter((rep) => theirs.has(rep));
        if (reps.length === 0) continue;
        const speedup = pairedRatioCI(reps.map((rep) => theirs.get(rep)!), reps.map((rep) => mine.get(rep)!));
        out.push({ link, inDatabase, against, measure: byTarget ? 'time to target' : 'training time', speedup, verdict: ratioVerdict(speedup) });
      }
    }
  }
  return out;
}

/** One line per claim verdict, e.g. "100mbit: local-sgd vs client-cached, time to target: 4.94× (3.1–7.9) faster". */
export function claimLines(claims: ClaimVerdict[]): string[] {
  const bound = (v: number | null): string => (v === null || !Number.isFinite(v) ? '∞' : v.toFixed(2));
  return claims.map((c) => {
    const ci = c.speedup.bounded ? `95% CI ${bound(Math.max(0, c.speedup.ciLow))}–${bound(c.speedup.ciHigh)}` : 'CI unbounded';
    const words = c.verdict === 'faster' ? `${c.inDatabase} faster` : c.verdict === 'slower' ? `${c.against} faster` : 'no measurable difference';
    return `${c.link}: ${c.inDatabase} vs ${c.against}, ${c.measure}: ${c.speedup.ratio.toFixed(2)}× (${ci}): ${words}`;
  });
}
