/**
 * The `ml-train` workload's trainer: linear or logistic regression by full-batch gradient descent over the
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
import type { LocalSgd, SgdRequest, SgdResult } from '../../../plugins/sgd';
import type { BackendClient, PluginRunner } from '../../backends/backend';

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
  /** Stop once an epoch lowers the loss by less than this (0: run every epoch); see settled(). */
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

/** Called after each epoch (see Trainer.train). */
export type EpochHook = (epoch: EpochRecord) => void | Promise<void>;

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

  /**
   * Trains from zero weights until `epochs` or the loss settles; calls `onEpoch` after each epoch.
   * A hook that returns a promise is awaited before the next epoch (tests change the cluster there:
   * a split or a move between two epochs); its time counts in the training's, not in an epoch's.
   */
  async train(mode: MlMode, options: TrainOptions, onEpoch?: EpochHook): Promise<TrainingResult> {
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

  private async trainInSession(mode: MlMode, session: string | undefined, options: TrainOptions, onEpoch?: EpochHook): Promise<TrainingResult> {
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
      const pending = onEpoch?.(step.record);
      if (pending) await pending;
      if (settled(epochs, options.tolerance)) {
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

/**
 * Whether training has stopped making progress: the last epoch's loss is less than `tolerance`
 * below the one before (0: never). Full-batch descent lowers the loss every epoch (checkEpoch fails
 * a rise), so there this is |Δloss| < tolerance. Local SGD's loss turns up near the point its fixed
 * local step settles on, a little above the optimum; waiting for |Δloss| < tolerance there would
 * run rounds that only make the model worse, and count them in its training time.
 */
export function settled(epochs: Array<Pick<EpochRecord, 'loss'>>, tolerance: number): boolean {
  const [previous, last] = epochs.slice(-2);
  return tolerance > 0 && previous !== undefined && last !== undefined && previous.loss - last.loss < tolerance;
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

export function localOf(options: TrainOptions): LocalSgd {
  if (!options.local) throw new Error('ml-train local-sgd: no local training given (ml.local)');
  return options.local;
}
