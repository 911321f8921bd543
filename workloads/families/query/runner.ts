/**
 * Runs a query workload (any plugin; the filter, aggregate and noop presets): a short cost-model
 * calibration, then for every sweep point and link profile, warm-up calls and measured repetitions
 * of one coprocessor call each. Modes alternate within a repetition (and swap order every other
 * one) so slow drift hits all alike; a point repeats until its means are precise or a cap is
 * reached (repetitions.ts). `adaptive` runs the mode the cost model expects to be faster, as
 * corrected by what its own earlier calls measured (cost-model/online.ts). Every call records
 * latency, the model's prediction, wire bytes, CPU of the client and of every node (from their
 * counters), rows scanned and returned, and the answer's checksum; measured calls also go into a
 * per-second series per link (calls/s and p99).
 */
import { performance } from 'node:perf_hooks';
import type { CoprocessorCall, CoprocessorMode } from '../../../engine/client/coprocessor';
import { SpecError } from '../../spec-checks';
import type { DatasetSpec, WorkloadSpec } from '../../spec';
import { diffNodeStats, sumOverNodes } from '../../driver/metrics/node-stats';
import { ownPeakRssBytes } from '../../../engine/util/process-memory';
import { TimeSeries, type PerSecondPoint } from '../../driver/metrics/timeseries';
import type { Backend, BackendClient, LoadReport } from '../../backends/backend';
import { datasetRange } from '../../datasets/catalog';
import type { LinkHandle } from '../../network/network';
import { OnlineCorrection } from '../../driver/cost-model/online';
import type { CostModel, CostModelReport } from '../../driver/cost-model/calibrate';
import type { PredictedMode } from '../../driver/cost-model/model';
import { datasetFingerprint } from '../../datasets/fingerprint';
import { repeatUntilPrecise, type RepetitionPolicy, type StopReason } from '../../driver/metrics/sequential';
import { checkedCall, type CheckedCall } from './checked-call';
import { resolveHints, type ResolvedHints } from './hints';
import { repetitionPolicy } from './repetitions';
import { queryWorkload, type QueryWorkload, type SweepValue } from './requests';

/** What a query sample's mode can be: a coprocessor mode, or `adaptive` (the model picks one per call). */
export type QueryMode = CoprocessorMode | 'adaptive';

/** One measured call. */
export interface QuerySample {
  link: string;
  parameter: string;
  point: string;
  mode: QueryMode;
  /** The mode that ran: the sample's mode, or the one `adaptive` chose. */
  chosenMode: CoprocessorMode;
  repetition: number;
  latencyMs: number;
  /** The cost model's prediction for the mode that ran (null without a model). */
  predictedMs: number | null;
  rowsScanned: number;
  rowsReturned: number;
  /** Rows the query selected (filter: matches; aggregate: rows aggregated); -1 when the plugin does not say. */
  rowsMatched: number;
  regions: number;
  clientWireInBytes: number;
  clientWireOutBytes: number;
  clientCpuUs: number;
  nodesCpuUs: number;
  pluginCpuUs: number;
  nodesNetInBytes: number;
  nodesNetOutBytes: number;
  checksum: string;
  /** The node columns above, per node. */
  byNode: NodeBreakdown[];
}

export interface NodeBreakdown {
  id: number;
  cpuUs: number;
  netInBytes: number;
  netOutBytes: number;
}

/** Per-node columns for samples.csv (`node<id>CpuUs`, `node<id>NetInBytes`, `node<id>NetOutBytes`), for a fixed list of node ids. */
export function nodeColumns(byNode: NodeBreakdown[], nodeIds: number[]): Record<string, number | null> {
  const columns: Record<string, number | null> = {};
  for (const id of nodeIds) {
    const n = byNode.find((b) => b.id === id);
    columns[`node${id}CpuUs`] = n ? n.cpuUs : null;
    columns[`node${id}NetInBytes`] = n ? n.netInBytes : null;
    columns[`node${id}NetOutBytes`] = n ? n.netOutBytes : null;
  }
  return columns;
}

export interface QueryRunHooks {
  onSample(sample: QuerySample): void;
  onCall?(): void;
  log(line: string): void;
  /** Called before the run loads a point's dataset (sweeps over `dataset.…`): rows to load. */
  onLoadProgress?(loaded: number, total: number): void;
  /** Called when a call fails, before the error goes on: what the points every link finished measured. */
  onStopped?(finished: QueryRunResult, err: unknown): void;
}

export const QUERY_MODES: readonly QueryMode[] = ['pushdown', 'client', 'adaptive'];

/** Calls per second and p99 per second of one link's measured calls (YCSB's series shape). */
export interface QuerySeries {
  link: string;
  /** -1: the series spans every repetition (calls of all points and modes, in run order). */
  repetition: number;
  points: PerSecondPoint[];
}

/**
 * How many calls the run makes at most (warm-up included), for progress bars: every point at
 * maxRepetitions, so the bar ends early when points are precise sooner and the ETA is an upper bound.
 */
export function plannedQueryCalls(spec: WorkloadSpec): number {
  const points = spec.sweep ? spec.sweep.values.length : 1;
  const warmed = spec.modes.filter((m) => m !== 'adaptive').length;
  return spec.links.length * points * (warmed * spec.warmup + spec.modes.length * repetitionPolicy(spec).maxRepetitions);
}

/** How the repetitions of one point on one link ended (every mode of it made the same number). */
export interface PointStop {
  link: string;
  point: string;
  repetitions: number;
  stoppedBy: StopReason;
  /** Wall time of the point's repetitions (warm-up excluded). */
  elapsedMs: number;
}

/** Peak resident memory seen: the client's own peak, and each node's RSS at call boundaries. */
export interface PeakRss {
  clientBytes: number;
  nodesBytes: Record<string, number>;
}

/** One untimed check call: its answer's checksum with every streamed row digested (checked-call.ts). */
export interface AnswerCheckResult {
  link: string;
  point: string;
  mode: PredictedMode;
  checksum: string;
}

export interface QueryRunResult {
  samples: QuerySample[];
  peakRss: PeakRss;
  /** The cost model of the run (of the last dataset, when the sweep changes the dataset); null: the backend has none (no adaptive). */
  costModel: CostModelReport | null;
  series: QuerySeries[];
  /** Per point and link, how many repetitions it made and why it stopped. */
  stops: PointStop[];
  /** Per point, link and fixed mode, the checksum of its untimed check call (every row digested). */
  answerChecks: AnswerCheckResult[];
  /** The datasets the run loaded itself (sweeps over `dataset.…`), in point order; empty otherwise. */
  loads: Array<{ point: string } & LoadReport>;
}

/** The dataset a run has loaded (its fingerprint) and the model calibrated on it (null: the backend has none). */
interface Loaded {
  fingerprint: string;
  model: CostModel | null;
}

/**
 * The spec's modes this backend runs: `adaptive` needs the backend's cost model, and a backend
 * without one (Redis) runs the fixed modes only, saying so, rather than failing the whole run.
 */
function queryModes(spec: WorkloadSpec, backend: Backend, log: (line: string) => void): QueryMode[] {
  const modes = spec.modes as QueryMode[];
  if (!modes.includes('adaptive') || backend.calibrate) return modes;
  log(`adaptive needs a cost model, which the ${backend.kind} backend does not have: running ${modes.filter((m) => m !== 'adaptive').join(', ')} only`);
  return modes.filter((m) => m !== 'adaptive');
}

export async function runQueries(spec: WorkloadSpec, backend: Backend, hooks: QueryRunHooks): Promise<QueryRunResult> {
  for (const mode of spec.modes) {
    if (!QUERY_MODES.includes(mode as QueryMode)) throw new SpecError(`modes: '${mode}' is not available for ${spec.kind} workloads (available: ${QUERY_MODES.join(', ')})`);
  }
  const run = new QueryRun(spec, backend, hooks);
  let measureEnd = 0;
  try {
    await run.openLanes();
    const { points } = run.workload;
    await run.prepare(points[0]);
    const measureStart = performance.now();
    for (const { link } of run.lanes) run.series.set(link.name, new TimeSeries({ startMs: measureStart }));
    // Sweep points are the outer loop and links the inner one, so warm-up and slow drift hit every
    // link alike instead of favouring the later ones.
    for (const point of points) {
      await run.prepare(point);
      for (const lane of run.lanes) await run.measure(point, lane);
    }
    measureEnd = performance.now();
  } catch (err) {
    hooks.onStopped?.(run.finishedResult(performance.now()), err);
    throw err;
  } finally {
    run.closeLanes();
  }
  return run.result(measureEnd);
}

/** One client per link, open for the whole run. */
interface Lane {
  link: LinkHandle;
  client: BackendClient;
}

/** The state of one query run: its lanes, the loaded dataset and model, and what it measured. */
class QueryRun {
  readonly workload: QueryWorkload;
  readonly lanes: Lane[] = [];
  readonly series = new Map<string, TimeSeries>();
  private readonly modes: QueryMode[];
  /** The modes that are not adaptive: the ones checked and warmed up per point. */
  private readonly fixedModes: PredictedMode[];
  private readonly policy: RepetitionPolicy;
  private readonly samples: QuerySample[] = [];
  private readonly stops: PointStop[] = [];
  private readonly answerChecks: AnswerCheckResult[] = [];
  private readonly loads: QueryRunResult['loads'] = [];
  private readonly peakRss: PeakRss = { clientBytes: 0, nodesBytes: {} };
  // adaptive's feedback loop: what its own calls measured corrects the model (cost-model/online.ts).
  private readonly online = new OnlineCorrection();
  private hints: ResolvedHints | null = null;
  private loaded: Loaded | null = null;

  constructor(
    private readonly spec: WorkloadSpec,
    private readonly backend: Backend,
    private readonly hooks: QueryRunHooks,
  ) {
    this.workload = queryWorkload(spec);
    this.modes = queryModes(spec, backend, hooks.log);
    this.fixedModes = this.modes.filter((m): m is PredictedMode => m !== 'adaptive');
    this.policy = repetitionPolicy(spec);
  }

  async openLanes(): Promise<void> {
    for (const linkSpec of this.spec.links) {
      const link = this.backend.link(linkSpec);
      this.lanes.push({ link, client: await this.backend.client(link.wrapSocket) });
    }
    const plugin = await this.lanes[0]!.client.coprocessor.loadPlugin(this.workload.plugin, this.workload.version);
    this.hints = resolveHints(plugin.plugin);
    for (const line of this.hints.coarser) this.hooks.log(`cost model: ${this.workload.plugin} gives ${line}`);
  }

  closeLanes(): void {
    for (const { link, client } of this.lanes) {
      client.close();
      link.close();
    }
  }

  /** Loads a point's dataset when the sweep is over the dataset (else the driver loaded it), and calibrates on it. */
  async prepare(point: SweepValue | undefined): Promise<void> {
    const { workload, backend, hooks } = this;
    const dataset: DatasetSpec = workload.dataset(point);
    const fingerprint = datasetFingerprint(dataset);
    if (this.loaded && this.loaded.fingerprint === fingerprint) return;
    const pointSpec: WorkloadSpec = { ...this.spec, dataset };
    if (workload.sweepsDataset) {
      const load = await backend.ensureDataset(pointSpec, { log: hooks.log, onLoadProgress: hooks.onLoadProgress });
      this.loads.push({ point: point === undefined ? '' : String(point), ...load });
      const layout = await backend.settle(hooks.log);
      hooks.log(`${workload.parameter}=${point}: ${load.skipped ? 'dataset already loaded' : `loaded ${load.rows} rows in ${(load.loadMs / 1000).toFixed(1)} s`}; ${layout.pieces} ${layout.pieceName}`);
    }
    // Every mode's call gets the model's prediction beside its measurement (the model's error is a result too).
    const model = backend.calibrate ? await backend.calibrate({ spec: pointSpec, plugin: { name: workload.plugin, version: workload.version, hints: this.hints!, firstRequest: workload.request(point) }, links: this.lanes.map((l) => ({ name: l.link.name, client: l.client, use: () => l.link.use() })), log: hooks.log }) : null;
    this.loaded = { fingerprint, model };
  }

  /** Warm-up, then rounds of every mode once until the point is precise or a cap is reached. */
  async measure(point: SweepValue | undefined, lane: Lane): Promise<void> {
    const pointKey = point === undefined ? '' : String(point);
    const request = this.workload.request(point);
    // Kernel-shaped networks carry one profile at a time: this lane's, from here on.
    await lane.link.use();
    const model = this.loaded!.model;
    const plan = model ? await model.plan(lane.link.name, pointKey, request) : null;
    const call = (mode: QueryMode, repetition: number): Promise<QuerySample> => this.call({ lane, pointKey, request, plan }, mode, repetition);
    // The answer check: one untimed call per fixed mode digests every row of its answer; the timed
    // calls only count streamed rows (why: checked-call.ts). It warms the mode up as well.
    for (const mode of this.fixedModes) this.answerChecks.push({ link: lane.link.name, point: pointKey, mode, checksum: (await checkedCall(lane.client.coprocessor, this.callOf(request, mode), 'digest')).checksum });
    // adaptive runs pushdown or client, which the warm-up has just warmed: it needs none of its own.
    for (let w = 0; w < this.spec.warmup; w++) for (const mode of this.fixedModes) await call(mode, -1 - w);
    // One round = every mode once; the stopping rule judges each mode's mean latency.
    const outcome = await repeatUntilPrecise(this.policy, async (rep) => {
      const latencies: Record<string, number> = {};
      for (const mode of rep % 2 === 0 ? this.modes : [...this.modes].reverse()) {
        const sample = await call(mode, rep);
        this.samples.push(sample);
        this.hooks.onSample(sample);
        latencies[mode] = sample.latencyMs;
      }
      return latencies;
    }, () => performance.now());
    this.stops.push({ link: lane.link.name, point: pointKey, repetitions: outcome.repetitions, stoppedBy: outcome.stoppedBy, elapsedMs: outcome.elapsedMs });
  }

  /** One call with its node counters around it; repetition < 0: warm-up (not in the per-second series). */
  private async call(at: { lane: Lane; pointKey: string; request: unknown; plan: { predictedMs: Record<PredictedMode, number> } | null }, mode: QueryMode, repetition: number): Promise<QuerySample> {
    const { lane, pointKey, request, plan } = at;
    const link = lane.link.name;
    const chosenMode: PredictedMode = mode === 'adaptive' ? this.online.choose(link, pointKey, plan!.predictedMs) : mode;
    const before = await this.backend.sampleNodes();
    const { outcome, checksum } = await checkedCall(lane.client.coprocessor, this.callOf(request, chosenMode), 'count');
    if (repetition >= 0) this.series.get(link)!.record(performance.now(), outcome.wallMs);
    if (mode === 'adaptive') this.online.observe(link, pointKey, chosenMode, plan!.predictedMs[chosenMode], outcome.wallMs);
    const after = await this.backend.sampleNodes();
    this.notePeaks(after);
    this.hooks.onCall?.();
    return this.sample({ link, pointKey, mode, chosenMode, repetition, predictedMs: plan ? plan.predictedMs[chosenMode] : null }, outcome, checksum, diffNodeStats(before, after));
  }

  /** The call a point makes in `mode`, over the whole dataset. */
  private callOf(request: unknown, mode: PredictedMode): Omit<CoprocessorCall<unknown>, 'onRows'> {
    const range = datasetRange();
    return { plugin: this.workload.plugin, version: this.workload.version, request, start: range.start, end: range.end, mode, concurrency: this.spec.concurrency };
  }

  private sample(what: Pick<QuerySample, 'link' | 'mode' | 'chosenMode' | 'repetition' | 'predictedMs'> & { pointKey: string }, outcome: CheckedCall['outcome'], checksum: string, nodeDelta: ReturnType<typeof diffNodeStats>): QuerySample {
    const hints = this.hints!;
    return {
      link: what.link,
      parameter: this.workload.parameter,
      point: what.pointKey,
      mode: what.mode,
      chosenMode: what.chosenMode,
      repetition: what.repetition,
      latencyMs: outcome.wallMs,
      predictedMs: what.predictedMs,
      rowsScanned: outcome.totals.rowsScanned,
      rowsReturned: hints.rowsReturned(outcome.result),
      rowsMatched: hints.rowsMatched(outcome.result) ?? -1,
      regions: outcome.regions.length,
      clientWireInBytes: outcome.wireBytesIn,
      clientWireOutBytes: outcome.wireBytesOut,
      clientCpuUs: outcome.clientCpuUs,
      nodesCpuUs: sumOverNodes(nodeDelta, (n) => n.cpuUserUs + n.cpuSysUs),
      pluginCpuUs: what.chosenMode === 'pushdown' ? outcome.totals.pluginCpuUs : 0,
      nodesNetInBytes: sumOverNodes(nodeDelta, (n) => n.netInBytes),
      nodesNetOutBytes: sumOverNodes(nodeDelta, (n) => n.netOutBytes),
      checksum,
      byNode: nodeDelta.map((n) => ({ id: n.id, cpuUs: n.cpuUserUs + n.cpuSysUs, netInBytes: n.netInBytes, netOutBytes: n.netOutBytes })),
    };
  }

  private notePeaks(nodes: Array<{ id: number; rssBytes: number }>): void {
    for (const n of nodes) this.peakRss.nodesBytes[`node${n.id}`] = Math.max(this.peakRss.nodesBytes[`node${n.id}`] ?? 0, n.rssBytes);
  }

  result(measureEnd: number): QueryRunResult {
    this.peakRss.clientBytes = ownPeakRssBytes();
    return {
      samples: this.samples,
      peakRss: this.peakRss,
      costModel: this.loaded?.model?.report() ?? null,
      stops: this.stops,
      answerChecks: this.answerChecks,
      series: [...this.series].map(([link, s]) => ({ link, repetition: -1, points: s.points(measureEnd).map((p) => ({ tSec: p.tSec, opsPerSec: p.opsPerSec, p99Ms: p.p99Ms })) })),
      loads: this.loads,
    };
  }

  /** The result of the points every link finished (a run an error stopped still has these: points are the outer loop). */
  finishedResult(measureEnd: number): QueryRunResult {
    const all = this.result(measureEnd);
    const links = new Map<string, number>();
    for (const stop of all.stops) links.set(stop.point, (links.get(stop.point) ?? 0) + 1);
    const finished = (x: { point: string }): boolean => links.get(x.point) === this.lanes.length;
    return { ...all, samples: all.samples.filter(finished), stops: all.stops.filter(finished), answerChecks: all.answerChecks.filter(finished) };
  }
}
