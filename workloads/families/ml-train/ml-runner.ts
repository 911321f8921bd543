/**
 * The `ml-train` workload: its settings from the spec (checked before anything starts), and the run
 * that trains every mode on every link, repetitions interleaved (the trainer: ml-trainer.ts; the
 * summary and the verdict on the in-database claim: ml-summary.ts).
 */
import { FLIGHTS_SCHEMA } from '../../datasets/flights';
import { flightsMlRequest, prepareFlightsTraining, type FlightsPreparation } from './ml-flights';
import type { SgdRequest } from '../../../plugins/sgd';
import { ownPeakRssBytes } from '../../../engine/util/process-memory';
import { DEFAULT_FEATURES, DEFAULT_NOISE, featureNames, regressionSchema, regressionTruth, type RegressionTruth } from '../../datasets/regression';
import { SpecError } from '../../spec-checks';
import type { WorkloadSpec } from '../../spec';
import { diffNodeStats, sumOverNodes } from '../../driver/metrics/node-stats';
import type { Backend } from '../../backends/backend';
import { datasetRange } from '../../datasets/catalog';
import { backendKind } from '../../backends/registry';
import { FULL_BATCH_MODES, ML_MODES, Trainer, localOf, type MlMode, type MlTask, type TrainOptions, type TrainingRun, type EpochRecord } from './ml-trainer';

// ---- the workload -----------------------------------------------------------------------------

/**
 * The ml-train settings of a spec, checked. regression dataset — request: { task, l2 }; flights —
 * request: { task: logistic, l2, features, label } (see ml-flights.ts; no true weights to compare with).
 */
export interface MlSettings {
  task: MlTask;
  l2: number;
  features: number;
  noise: number;
  /** The generator's weights (regression dataset); null for real data. */
  truth: RegressionTruth | null;
  /** client.memoryBudgetMb: what client-cached may keep (null: no cap). */
  clientBudgetMb: number | null;
  options: Omit<TrainOptions, 'concurrency' | 'range'> & { concurrency: number; range: { start: Buffer; end: Buffer } };
}

export function mlSettings(spec: WorkloadSpec): MlSettings {
  if (spec.kind !== 'ml-train' || !spec.ml) throw new SpecError(`kind: '${spec.kind}' is not ml-train`);
  if (spec.dataset.kind !== 'regression' && spec.dataset.kind !== 'flights') throw new SpecError(`dataset.kind: ml-train needs the regression or flights dataset, got '${spec.dataset.kind}'`);
  if (spec.sweep) throw new SpecError('sweep: ml-train has no sweep parameter (set sweep to null; vary the run with -p instead)');
  const flights = spec.dataset.kind === 'flights';
  const known = flights ? ['task', 'l2', 'features', 'label'] : ['task', 'l2'];
  for (const key of Object.keys(spec.request)) if (!known.includes(key)) throw new SpecError(`request.${key}: unknown field (known: ${known.join(', ')})`);
  const task = spec.request.task ?? (flights ? 'logistic' : 'linear');
  if (task !== 'linear' && task !== 'logistic') throw new SpecError(`request.task: must be linear or logistic, got ${JSON.stringify(task)}`);
  if (flights && task !== 'logistic') throw new SpecError(`request.task: ml-train on flights classifies delayed or not: use logistic, got ${JSON.stringify(task)}`);
  const l2 = spec.request.l2 ?? 0;
  if (typeof l2 !== 'number' || !(l2 >= 0) || !Number.isFinite(l2)) throw new SpecError(`request.l2: expected a number >= 0, got ${JSON.stringify(l2)}`);
  for (const mode of spec.modes) if (!ML_MODES.includes(mode as MlMode)) throw new SpecError(`modes: '${mode}' is not available for ml-train (available: ${ML_MODES.join(', ')})`);
  if (spec.modes.includes('local-sgd') && !spec.ml.local) throw new SpecError('ml.local: the local-sgd mode needs its local training: { "epochs": 1, "batchRows": 64, "learningRate": 0.1 } (local passes per round, mini-batch rows, step)');
  if (!spec.modes.some((m) => (FULL_BATCH_MODES as readonly string[]).includes(m))) throw new SpecError('modes: ml-train needs at least one full-batch mode (pushdown, client or client-cached) to compare with');
  const clientBudgetMb = spec.client.memoryBudgetMb;
  if (flights) {
    const request = flightsMlRequest(spec);
    checkClientBudget(spec, request.features.length);
    return {
      clientBudgetMb,
      task,
      l2,
      features: request.features.length,
      noise: 0,
      truth: null,
      options: {
        task,
        l2,
        schema: FLIGHTS_SCHEMA,
        features: request.features,
        target: 'delay',
        labelWhere: request.labelWhere,
        ...trainingSchedule(spec.ml, spec.concurrency),
      },
    };
  }
  const features = spec.dataset.features ?? DEFAULT_FEATURES;
  const noise = spec.dataset.noise ?? DEFAULT_NOISE;
  checkClientBudget(spec, features);
  return {
    clientBudgetMb,
    task,
    l2,
    features,
    noise,
    truth: regressionTruth(spec.dataset.seed, features),
    options: {
      task,
      l2,
      schema: regressionSchema(features),
      features: featureNames(features),
      target: task === 'linear' ? 'y' : 'label',
      ...trainingSchedule(spec.ml, spec.concurrency),
    },
  };
}

/** The options every dataset trains with: the spec's ml schedule and concurrency, over the whole dataset. */
function trainingSchedule(ml: NonNullable<WorkloadSpec['ml']>, concurrency: number) {
  return {
    learningRate: ml.learningRate,
    epochs: ml.epochs,
    tolerance: ml.tolerance,
    targetLoss: ml.targetLoss ?? null,
    local: ml.local ?? null,
    concurrency,
    range: datasetRange(),
  };
}

/**
 * What client-cached keeps in the client: the sgd plugin's decoded rows, one f64 per feature and
 * one for the label per row (its typed arrays; the per-region overhead is negligible).
 */
export function clientCachedBytes(rows: number, features: number): number {
  return rows * (features + 1) * Float64Array.BYTES_PER_ELEMENT;
}

/** client-cached cannot keep a dataset larger than client.memoryBudgetMb: say so before the run starts. */
function checkClientBudget(spec: WorkloadSpec, features: number): void {
  const budgetMb = spec.client.memoryBudgetMb;
  if (budgetMb === null || !spec.modes.includes('client-cached')) return;
  const needMb = clientCachedBytes(spec.dataset.rows, features) / (1024 * 1024);
  if (needMb > budgetMb) {
    throw new SpecError(
      `client.memoryBudgetMb: client-cached would keep ${needMb.toFixed(1)} MiB of decoded rows in the client (${spec.dataset.rows} rows × ${features + 1} f64), over the budget of ${budgetMb} MiB; ` +
        `raise client.memoryBudgetMb, leave client-cached out (-p modes=pushdown,client), or train on fewer rows (dataset.rows)`,
    );
  }
}

export interface MlRunHooks {
  onEpoch?(run: { link: string; mode: MlMode; repetition: number }, epoch: EpochRecord): void;
  onRun?(run: TrainingRun): void;
  log(line: string): void;
}

/** Why the spec's backend cannot run `mode` (pushdown or local-sgd) for this training's requests; null: it can. */
export function pushdownRefusal(spec: WorkloadSpec, settings: MlSettings, mode: 'pushdown' | 'local-sgd'): string | null {
  const kind = backendKind(spec.backend.kind);
  if (!kind.pushdownRefusal) return null;
  const o = settings.options;
  const d = o.features.length;
  // What the trainer sends (trainInSession): flights runs carry their feature scaling.
  const request: SgdRequest = { schema: o.schema, features: o.features, target: o.target, task: o.task, weights: new Array<number>(d).fill(0), bias: 0, ...(o.l2 ? { l2: o.l2 } : {}), ...(o.labelWhere ? { labelWhere: o.labelWhere } : {}), ...(spec.dataset.kind === 'flights' ? { scale: { offset: new Array<number>(d).fill(0), factor: new Array<number>(d).fill(1) } } : {}), ...(mode === 'local-sgd' ? { local: localOf(o) } : {}) };
  return kind.pushdownRefusal('sgd', request);
}

/** The spec's modes the backend runs: local-sgd needs local training in the nodes, and is left out (saying so) where there is none. */
function runnableMlModes(spec: WorkloadSpec, settings: MlSettings, log: (line: string) => void): MlMode[] {
  const modes = spec.modes as MlMode[];
  const why = modes.includes('local-sgd') ? pushdownRefusal(spec, settings, 'local-sgd') : null;
  if (!why) return modes;
  log(`local-sgd left out on backend ${spec.backend.kind}: ${why}`);
  return modes.filter((m) => m !== 'local-sgd');
}

/** Epochs one measured training may make (`ml.epochs`): what a progress bar counts per training. */
export function epochBudget(spec: WorkloadSpec): number {
  return spec.ml?.epochs ?? 0;
}

/**
 * The measured trainings' epoch budgets together, for progress bars: a training that stops at the
 * tolerance counts its unused epochs when it ends, so the bar reaches its total and the ETA is an
 * upper bound. (The bar counted only epochs run and ended the default run at 534 of 1448.)
 */
export function plannedMlEpochs(spec: WorkloadSpec): number {
  return spec.links.length * spec.modes.length * spec.repetitions * epochBudget(spec);
}

/**
 * For every link: `warmup` one-epoch trainings per mode (discarded), then `repetitions` trainings
 * per mode from zero weights, modes interleaved (order reversed every other repetition).
 */
export async function runMlTraining(
  spec: WorkloadSpec,
  backend: Backend,
  hooks: MlRunHooks,
): Promise<{ runs: TrainingRun[]; peakRss: { clientBytes: number; nodesBytes: Record<string, number> }; flights: FlightsPreparation | null }> {
  const settings = mlSettings(spec);
  const modes = runnableMlModes(spec, settings, hooks.log);
  const runs: TrainingRun[] = [];
  const peakRss = { clientBytes: 0, nodesBytes: {} as Record<string, number> };
  let flights: FlightsPreparation | null = null;
  if (spec.dataset.kind === 'flights') {
    const client = await backend.client();
    try {
      flights = await prepareFlightsTraining(client, flightsMlRequest(spec), settings.options.range, spec.concurrency);
    } finally {
      client.close();
    }
    settings.options.scale = flights.scale;
    hooks.log(
      `flights: ${flights.rows} rows, ${(flights.positiveFraction * 100).toFixed(1)}% labelled 1 (${(settings.options.labelWhere ?? []).map((c) => `${c.column} ${c.op} ${String(c.value)}`).join(' and ')}; majority-class baseline accuracy ${(flights.baselineAccuracy * 100).toFixed(1)}%); ` +
        `features ${settings.options.features.map((f, i) => `${f} mean ${flights!.mean[i]!.toPrecision(4)} sd ${flights!.stddev[i]!.toPrecision(4)}`).join(', ')}`,
    );
  }
  if (settings.clientBudgetMb !== null) {
    const needMb = clientCachedBytes(spec.dataset.rows, settings.features) / (1024 * 1024);
    hooks.log(`client memory budget ${settings.clientBudgetMb} MiB; client-cached needs ${needMb.toFixed(1)} MiB for the decoded rows${needMb > settings.clientBudgetMb ? ': the data does not fit in the client, client-cached cannot run' : ''}`);
  }
  for (const linkSpec of spec.links) {
    const link = backend.link(linkSpec);
    await link.use();
    const budget = settings.clientBudgetMb;
    const client = await backend.client(link.wrapSocket, budget === null ? {} : { stateMb: budget, stateBudgetName: `client.memoryBudgetMb ${budget} MiB` });
    try {
      const trainer = new Trainer(client);
      for (let w = 0; w < spec.warmup; w++) for (const mode of modes) await trainer.train(mode, { ...settings.options, epochs: 1 });
      for (let repetition = 0; repetition < spec.repetitions; repetition++) {
        const order = repetition % 2 === 0 ? modes : [...modes].reverse();
        for (const mode of order) {
          const before = await backend.sampleNodes();
          const result = await trainer.train(mode, settings.options, (e) => hooks.onEpoch?.({ link: link.name, mode, repetition }, e));
          const after = await backend.sampleNodes();
          for (const n of after) peakRss.nodesBytes[`node${n.id}`] = Math.max(peakRss.nodesBytes[`node${n.id}`] ?? 0, n.rssBytes);
          const delta = diffNodeStats(before, after);
          const run: TrainingRun = {
            ...result,
            link: link.name,
            repetition,
            nodesCpuUs: sumOverNodes(delta, (n) => n.cpuUserUs + n.cpuSysUs),
            nodesNetInBytes: sumOverNodes(delta, (n) => n.netInBytes),
            nodesNetOutBytes: sumOverNodes(delta, (n) => n.netOutBytes),
          };
          runs.push(run);
          hooks.onRun?.(run);
          hooks.log(
            `${link.name} ${mode} rep ${repetition}: ${result.epochs.length} epochs (${result.stoppedBy}), loss ${result.epochs.at(-1)?.loss.toPrecision(6)}, ${(result.totalMs / 1000).toFixed(2)} s, ${(result.clientWireInBytes / 1e6).toFixed(1)} MB in`,
          );
        }
      }
    } finally {
      client.close();
      link.close();
    }
  }
  peakRss.clientBytes = ownPeakRssBytes();
  return { runs, peakRss, flights };
}
