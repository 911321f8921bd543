/**
 * The `ml-train` workload: linear or logistic regression by full-batch gradient descent over the
 * regression dataset, with the `sgd` plugin computing the gradient each epoch, in three modes:
 *
 * - `pushdown`: each epoch is one coprocessor call; every node sums the gradient over its regions'
 *   rows next to the data and sends back d + 4 numbers per region. The calls of one training share
 *   a session, so each node's plugin worker decodes its regions' rows in the first epoch and keeps
 *   them (ctx.state) for the later ones, as an in-database trainer keeps its partition in memory;
 * - `client`: each epoch runs the same plugin client-side, pulling every row over the wire again;
 * - `client-cached`: client mode with a session: the first epoch pulls every row and the plugin
 *   keeps the decoded rows in this process (the Coprocessor's state, under the client's memory
 *   budget), so later epochs compute from them without the wire. The same mechanism as pushdown's,
 *   on the other side of the link.
 *
 * The client keeps the weights and steps them after every epoch: w ← w − lr · gradient / n. Every
 * mode evaluates the same per-region sums, in the same row order, merged in the same region order,
 * so the training is deterministic and all modes end with the same weights (checked, the run fails
 * if they differ). Per epoch it records loss, accuracy, gradient norm, wall time, wire bytes and
 * client CPU; per training run the nodes' CPU and bytes (INFO counters).
 */
import { randomBytes } from 'node:crypto';
import type { Condition, Schema } from '../../../engine/plugin-api';
import { FLIGHTS_SCHEMA } from '../../datasets/flights';
import { flightsMlRequest, prepareFlightsTraining, type FlightsPreparation } from './ml-flights';
import type { LocalSgd, SgdRequest, SgdResult } from '../../../plugins/sgd';
import { DEFAULT_FEATURES, DEFAULT_NOISE, featureNames, modelGeometry, regressionSchema, regressionTruth, type ModelGeometry, type RegressionTruth } from '../../datasets/regression';
import { SpecError } from '../../spec-checks';
import type { WorkloadSpec } from '../../spec';
import { diffNodeStats, sumOverNodes } from '../../driver/metrics/node-stats';
import { meanWithCI95 } from '../../driver/metrics/stats';
import { pairedRatioCI, ratioVerdict, type RatioCI, type RatioVerdict } from '../../driver/metrics/ratio';
import type { Backend, BackendClient, PluginRunner } from '../../backends/backend';
import { datasetRange } from '../../datasets/catalog';
import { backendKind } from '../../backends/registry';
import type { MeanCI } from '../../driver/summarize';

export type MlMode = 'pushdown' | 'client' | 'client-cached' | 'local-sgd';
export const ML_MODES: MlMode[] = ['pushdown', 'client', 'client-cached', 'local-sgd'];
/** The modes that run full-batch gradient descent, and must therefore end with identical weights. */
export const FULL_BATCH_MODES: readonly MlMode[] = ['pushdown', 'client', 'client-cached'];
/** local-sgd's final loss may be at most this much (relative) above the full-batch modes'. */
export const LOCAL_SGD_LOSS_TOLERANCE = 0.01;
export type MlTask = 'linear' | 'logistic';

/**
 * Final weights of two modes may differ by at most this, relative to max(1, |w|). The computation
 * is deterministic (same sums in the same order), so in practice they are bit-identical; the
 * tolerance only allows for a region split between two modes' runs regrouping the sums.
 */
export const WEIGHT_AGREEMENT_TOLERANCE = 1e-9;

/** What one training needs. */
export interface TrainOptions {
  task: MlTask;
  l2: number;
  schema: Schema;
  features: string[];
  target: string;
  learningRate: number;
  epochs: number;
  /** Stop once |loss − previous loss| < tolerance (0: run every epoch). */
  tolerance: number;
  /** Record when the loss first falls to this (null: not measured); training goes on to the tolerance. */
  targetLoss: number | null;
  /** Regions processed at once (coprocessor calls and the cached mode's pull). */
  concurrency: number;
  range: { start: Buffer; end: Buffer };
  /** Logistic label from conditions instead of the target column (flights: delay >= 15). */
  labelWhere?: Condition[];
  /** Feature scaling the sgd plugin applies (flights: standardisation). */
  scale?: { offset: number[]; factor: number[] };
  /** The local-sgd mode's local training (ml.local); null when the run has no local-sgd mode. */
  local?: LocalSgd | null;
}

/** One epoch: the loss etc. are evaluated at the weights the epoch starts with. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number | null;
  /** ‖(gradient, gradientBias) / n‖₂ at the epoch's weights. */
  gradientNorm: number;
  epochMs: number;
  /** Since the training started (client-cached: the pull included). */
  elapsedMs: number;
  clientWireInBytes: number;
  clientWireOutBytes: number;
  clientCpuUs: number;
  /**
   * CPU of the plugin's handle: the nodes' worker threads (pushdown) or this process (client
   * modes). Client mode times each region with the process clock while up to `concurrency`
   * regions run at once, so there it over-counts (see Coprocessor's RegionCallStats).
   */
  pluginCpuUs: number;
  rowsScanned: number;
}

export interface TrainingResult {
  mode: MlMode;
  epochs: EpochRecord[];
  weights: number[];
  bias: number;
  stoppedBy: 'tolerance' | 'epochs';
  /** The first epoch whose loss was at most the target, and the wall time to its end; null: none did (or no target). */
  target: { epoch: number; elapsedMs: number } | null;
  /** Rows per epoch (n). */
  rows: number;
  /** client-cached: the first epoch, which pulls and decodes every row (also inside epoch 1's numbers); 0 otherwise. */
  pullMs: number;
  pullWireInBytes: number;
  totalMs: number;
  clientWireInBytes: number;
  clientWireOutBytes: number;
  clientCpuUs: number;
}

/** A training run as the workload records it. */
export interface TrainingRun extends TrainingResult {
  link: string;
  repetition: number;
  nodesCpuUs: number;
  nodesNetInBytes: number;
  nodesNetOutBytes: number;
}


/** Trains on one client; the same object serves every mode. */
export class Trainer {
  private readonly coprocessor: PluginRunner;
  private trainings = 0;
  private evictionsAtStart = 0;

  /** A backend client made with the client's budget for client-cached rows (Backend.client's options). */
  constructor(private readonly client: BackendClient) {
    this.coprocessor = client.coprocessor;
  }

  /** Trains from zero weights until `epochs` or the loss settles; calls `onEpoch` after each epoch. */
  async train(mode: MlMode, options: TrainOptions, onEpoch?: (epoch: EpochRecord) => void): Promise<TrainingResult> {
    // One session per training: each training decodes the rows once, as a fresh trainer would.
    const session = mode === 'client' ? undefined : `ml-${mode}-${++this.trainings}-${randomBytes(4).toString('hex')}`;
    if (!session) return this.trainInSession(mode, session, options, onEpoch);
    let result: TrainingResult;
    try {
      result = await this.trainInSession(mode, session, options, onEpoch);
    } catch (err) {
      // The training's own error is the one to report: free this process's state and leave the
      // nodes' to their quota's eviction.
      this.coprocessor.state.dropSession(session);
      throw err;
    }
    // Outside the training's time and bytes, as a trainer would free its cache after finishing.
    await this.coprocessor.endSession(session);
    return result;
  }

  /**
   * client-cached means the rows are pulled once: rows evicted under the client's budget would be
   * pulled again, and the mode would quietly measure something else. Fail instead.
   */
  private checkNothingEvicted(epoch: number): void {
    const evicted = this.coprocessor.state.counters.evictions - this.evictionsAtStart;
    if (evicted === 0) return;
    const budgetMb = this.coprocessor.state.quotaBytes / (1024 * 1024);
    throw new Error(
      `ml-train client-cached: the decoded rows outgrew the client's memory budget (client.memoryBudgetMb ${budgetMb} MiB; ${evicted} region(s) evicted by epoch ${epoch}), so they would be pulled again; ` +
        'raise client.memoryBudgetMb, leave client-cached out (-p modes=pushdown,client), or train on fewer rows',
    );
  }

  private async trainInSession(mode: MlMode, session: string | undefined, options: TrainOptions, onEpoch?: (epoch: EpochRecord) => void): Promise<TrainingResult> {
    let model: Model = { weights: new Array<number>(options.features.length).fill(0), bias: 0 };
    const epochs: EpochRecord[] = [];
    const started = process.hrtime.bigint();
    const wire0 = this.client.wireBytes();
    const cpu0 = process.cpuUsage();
    this.evictionsAtStart = this.coprocessor.state.counters.evictions;
    let stoppedBy: TrainingResult['stoppedBy'] = 'epochs';
    let target: TrainingResult['target'] = null;
    let rows = 0;
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const step = await this.epoch(mode, session, options, model, epoch, epochs.at(-1), started);
      model = step.next;
      rows = step.rows;
      epochs.push(step.record);
      if (!target && options.targetLoss !== null && step.record.loss <= options.targetLoss) target = { epoch, elapsedMs: step.record.elapsedMs };
      onEpoch?.(step.record);
      const previous = epochs[epochs.length - 2];
      if (previous && Math.abs(previous.loss - step.record.loss) < options.tolerance) {
        stoppedBy = 'tolerance';
        break;
      }
    }
    const wire = this.client.wireBytes();
    const cpu = process.cpuUsage(cpu0);
    // client-cached pulls and decodes every row in epoch 1 (its numbers include the pull).
    const pull = mode === 'client-cached' ? epochs[0] : undefined;
    return {
      mode,
      epochs,
      weights: model.weights,
      bias: model.bias,
      stoppedBy,
      target,
      rows,
      pullMs: pull?.epochMs ?? 0,
      pullWireInBytes: pull?.clientWireInBytes ?? 0,
      totalMs: Number(process.hrtime.bigint() - started) / 1e6,
      clientWireInBytes: wire.in - wire0.in,
      clientWireOutBytes: wire.out - wire0.out,
      clientCpuUs: cpu.user + cpu.system,
    };
  }

  /** One epoch: the sums at `model` over every row (one sgd call), checked, and the next model. */
  private async epoch(mode: MlMode, session: string | undefined, options: TrainOptions, model: Model, epoch: number, last: EpochRecord | undefined, started: bigint): Promise<{ next: Model; rows: number; record: EpochRecord }> {
    const t0 = process.hrtime.bigint();
    const w0 = this.client.wireBytes();
    const c0 = process.cpuUsage();
    const outcome = await this.coprocessor.run<SgdRequest, SgdResult>({
      plugin: 'sgd',
      request: sgdRequest(mode, options, model),
      start: options.range.start,
      end: options.range.end,
      mode: mode === 'pushdown' || mode === 'local-sgd' ? 'pushdown' : 'client',
      concurrency: options.concurrency,
      ...(session ? { session } : {}),
    });
    if (mode === 'client-cached') this.checkNothingEvicted(epoch);
    const result = outcome.result;
    checkEpoch(mode, result, epoch, last, options);
    const step = nextModel(mode, result, model, options.learningRate);
    const now = process.hrtime.bigint();
    const w1 = this.client.wireBytes();
    const c1 = process.cpuUsage(c0);
    const record: EpochRecord = {
      epoch,
      loss: result.loss,
      accuracy: result.accuracy,
      gradientNorm: step.gradientNorm,
      epochMs: Number(now - t0) / 1e6,
      elapsedMs: Number(now - started) / 1e6,
      clientWireInBytes: w1.in - w0.in,
      clientWireOutBytes: w1.out - w0.out,
      clientCpuUs: c1.user + c1.system,
      pluginCpuUs: outcome.totals.pluginCpuUs,
      rowsScanned: outcome.totals.rowsScanned,
    };
    return { next: step.next, rows: result.n, record };
  }
}

/** The weights and bias a training carries from epoch to epoch. */
interface Model {
  weights: number[];
  bias: number;
}

/** The sgd request of one epoch at `model`. */
function sgdRequest(mode: MlMode, options: TrainOptions, model: Model): SgdRequest {
  return {
    schema: options.schema,
    features: options.features,
    target: options.target,
    task: options.task,
    weights: model.weights,
    bias: model.bias,
    ...(options.l2 ? { l2: options.l2 } : {}),
    ...(options.labelWhere ? { labelWhere: options.labelWhere } : {}),
    ...(options.scale ? { scale: options.scale } : {}),
    ...(mode === 'local-sgd' ? { local: localOf(options) } : {}),
  };
}

/** Fails an epoch whose sums cannot be trained on: no rows, a non-finite loss, or (full batch) a rising loss. */
function checkEpoch(mode: MlMode, result: SgdResult, epoch: number, last: EpochRecord | undefined, options: TrainOptions): void {
  if (result.n === 0) throw new Error(`ml-train: no rows in the dataset range (mode ${mode}); is the regression dataset loaded?`);
  if (!Number.isFinite(result.loss)) throw new Error(`ml-train diverged in mode ${mode}: the loss is ${result.loss} at epoch ${epoch}; lower ml.learningRate (now ${options.learningRate})`);
  // With a step below 2/L (L: the largest curvature of the mean loss) every gradient step
  // lowers a convex loss; a rise beyond rounding means the step is too large and the weights
  // run away. The computation is deterministic, so every mode would do the same: stop now.
  if (mode !== 'local-sgd' && last && result.loss > last.loss * (1 + 1e-6)) {
    throw new Error(`ml-train diverges in mode ${mode}: the loss rose from ${last.loss} to ${result.loss} at epoch ${epoch}; lower ml.learningRate (now ${options.learningRate}; linear regression on this dataset needs < 2, logistic < 8)`);
  }
}

/** The next model: a full-batch gradient step, or (local-sgd) the regions' averaged local models. */
function nextModel(mode: MlMode, result: SgdResult, model: Model, learningRate: number): { next: Model; gradientNorm: number } {
  const meanGradient = result.gradient.map((g) => g / result.n);
  const meanGradientBias = result.gradientBias / result.n;
  const gradientNorm = Math.hypot(...meanGradient, meanGradientBias);
  if (mode === 'local-sgd') {
    if (!result.averaged) throw new Error('ml-train local-sgd: the sgd plugin returned no averaged model (it needs sgd >= 1.3.0)');
    return { next: { weights: result.averaged.weights, bias: result.averaged.bias }, gradientNorm };
  }
  return { next: { weights: model.weights.map((w, j) => w - learningRate * meanGradient[j]!), bias: model.bias - learningRate * meanGradientBias }, gradientNorm };
}

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
        learningRate: spec.ml.learningRate,
        epochs: spec.ml.epochs,
        tolerance: spec.ml.tolerance,
        targetLoss: spec.ml.targetLoss ?? null,
        local: spec.ml.local ?? null,
        concurrency: spec.concurrency,
        range: datasetRange(),
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
      learningRate: spec.ml.learningRate,
      epochs: spec.ml.epochs,
      tolerance: spec.ml.tolerance,
      targetLoss: spec.ml.targetLoss ?? null,
      local: spec.ml.local ?? null,
      concurrency: spec.concurrency,
      range: datasetRange(),
    },
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

/** Epochs the run makes at most (warm-up included), for progress bars. */
export function plannedMlEpochs(spec: WorkloadSpec): number {
  return spec.links.length * spec.modes.length * (spec.warmup + spec.repetitions * (spec.ml?.epochs ?? 0));
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
  peakRss.clientBytes = process.resourceUsage().maxRSS * 1024;
  return { runs, peakRss, flights };
}


// ---- summary --------------------------------------------------------------------------------

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

function localOf(options: TrainOptions): LocalSgd {
  if (!options.local) throw new Error('ml-train local-sgd: no local training given (ml.local)');
  return options.local;
}
