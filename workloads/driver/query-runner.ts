/**
 * Runs a query workload (filter, aggregate, noop): a short cost-model calibration, then for every
 * sweep point and link profile, warm-up calls and measured repetitions of one coprocessor call
 * each. Modes alternate within a repetition (and swap order every other one) so slow drift hits
 * all alike. `adaptive` asks the cost model which of pushdown and client it expects to be faster
 * and runs that. Every call records latency, the model's prediction, wire bytes, CPU of the client
 * and of every node (from their counters), rows scanned and returned, and the answer's checksum;
 * measured calls also go into a per-second series per link (calls/s and p99).
 */
import { performance } from 'node:perf_hooks';
import { Coprocessor, type CoprocessorMode } from '../../engine/client/coprocessor';
import type { ClusterClient } from '../../engine/client/cluster-client';
import { queryKind, type SweepValue } from '../kinds';
import { SpecError, type WorkloadSpec } from '../spec';
import { answerChecksum } from './checksum';
import { diffNodeStats, sampleNodes, sumOverNodes } from './metrics/node-stats';
import { TimeSeries } from './metrics/timeseries';
import { Session } from './session';
import { linkFor, type LinkHandle } from './links';
import { CostModel, type CostModelReport } from './cost-model/calibrate';
import type { PredictedMode } from './cost-model/model';

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
  /** Rows the query selected (filter: matches; aggregate: rows aggregated); -1 when the kind does not say. */
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
}

const QUERY_MODES: QueryMode[] = ['pushdown', 'client', 'adaptive'];

/** Calls per second and p99 per second of one link's measured calls (YCSB's series shape). */
export interface QuerySeries {
  link: string;
  /** -1: the series spans every repetition (calls of all points and modes, in run order). */
  repetition: number;
  points: Array<{ tSec: number; opsPerSec: number; p99Ms: number }>;
}

/** How many calls the run makes (warm-up included), for progress bars. */
export function plannedQueryCalls(spec: WorkloadSpec): number {
  const points = spec.sweep ? spec.sweep.values.length : 1;
  const warmed = spec.modes.filter((m) => m !== 'adaptive').length;
  return spec.links.length * points * (warmed * spec.warmup + spec.modes.length * spec.repetitions);
}

/** Peak resident memory seen: the client's own peak, and each node's RSS at call boundaries. */
export interface PeakRss {
  clientBytes: number;
  nodesBytes: Record<string, number>;
}

export interface QueryRunResult {
  samples: QuerySample[];
  peakRss: PeakRss;
  costModel: CostModelReport;
  series: QuerySeries[];
}

export async function runQueries(spec: WorkloadSpec, session: Session, hooks: QueryRunHooks): Promise<QueryRunResult> {
  const kind = queryKind(spec);
  for (const mode of spec.modes) {
    if (!QUERY_MODES.includes(mode as QueryMode)) throw new SpecError(`modes: '${mode}' is not available for ${spec.kind} workloads (available: ${QUERY_MODES.join(', ')})`);
  }
  const modes = spec.modes as QueryMode[];
  const points: Array<SweepValue | undefined> = spec.sweep ? spec.sweep.values : [undefined];
  const range = Session.datasetRange();
  const samples: QuerySample[] = [];
  const peakRss: PeakRss = { clientBytes: 0, nodesBytes: {} };
  const notePeaks = (nodes: Array<{ id: number; rssBytes: number }>): void => {
    for (const n of nodes) peakRss.nodesBytes[`node${n.id}`] = Math.max(peakRss.nodesBytes[`node${n.id}`] ?? 0, n.rssBytes);
  };
  // One client per link, all open for the whole run: sweep points are the outer loop and links the
  // inner one, so warm-up and slow drift hit every link alike instead of favouring the later ones.
  const lanes: Array<{ link: LinkHandle; client: ClusterClient; coprocessor: Coprocessor }> = [];
  const series = new Map<string, TimeSeries>();
  let model: CostModel;
  let measureEnd = 0;
  try {
    for (const linkSpec of spec.links) {
      const link = linkFor(linkSpec);
      const client = await session.client(link.wrapSocket);
      lanes.push({ link, client, coprocessor: new Coprocessor(client) });
    }
    model = await CostModel.calibrate({ spec, kind, session, links: lanes.map((l) => ({ name: l.link.name, client: l.client })), log: hooks.log });
    const measureStart = performance.now();
    for (const { link } of lanes) series.set(link.name, new TimeSeries({ startMs: measureStart }));
    for (const point of points) {
      const request = kind.request(spec, point);
      for (const { link, coprocessor } of lanes) {
        const plan = await model.plan(link.name, point === undefined ? '' : String(point), request);
        const call = async (mode: QueryMode, repetition: number): Promise<QuerySample> => {
          const chosenMode: PredictedMode = mode === 'adaptive' ? plan.cheaper : mode;
          const nodes = await session.nodes();
          const before = await sampleNodes(nodes);
          const outcome = await coprocessor.run<unknown, unknown>({ plugin: kind.plugin, request, start: range.start, end: range.end, mode: chosenMode, concurrency: spec.concurrency });
          if (repetition >= 0) series.get(link.name)!.record(performance.now(), outcome.wallMs);
          const after = await sampleNodes(nodes);
          notePeaks(after);
          const nodeDelta = diffNodeStats(before, after);
          hooks.onCall?.();
          return {
            link: link.name,
            parameter: spec.sweep?.parameter ?? '',
            point: point === undefined ? '' : String(point),
            mode,
            chosenMode,
            repetition,
            latencyMs: outcome.wallMs,
            predictedMs: plan.predictedMs[chosenMode],
            rowsScanned: outcome.totals.rowsScanned,
            rowsReturned: kind.rowsReturned(outcome.result),
            rowsMatched: kind.rowsMatched ? kind.rowsMatched(outcome.result) : -1,
            regions: outcome.regions.length,
            clientWireInBytes: outcome.wireBytesIn,
            clientWireOutBytes: outcome.wireBytesOut,
            clientCpuUs: outcome.clientCpuUs,
            nodesCpuUs: sumOverNodes(nodeDelta, (n) => n.cpuUserUs + n.cpuSysUs),
            pluginCpuUs: chosenMode === 'pushdown' ? outcome.totals.pluginCpuUs : 0,
            nodesNetInBytes: sumOverNodes(nodeDelta, (n) => n.netInBytes),
            nodesNetOutBytes: sumOverNodes(nodeDelta, (n) => n.netOutBytes),
            checksum: answerChecksum(outcome.result),
            byNode: nodeDelta.map((n) => ({ id: n.id, cpuUs: n.cpuUserUs + n.cpuSysUs, netInBytes: n.netInBytes, netOutBytes: n.netOutBytes })),
          };
        };
        // adaptive runs pushdown or client, which the warm-up has just warmed: it needs none of its own.
        for (let w = 0; w < spec.warmup; w++) for (const mode of modes) if (mode !== 'adaptive') await call(mode, -1 - w);
        for (let rep = 0; rep < spec.repetitions; rep++) {
          const order = rep % 2 === 0 ? modes : [...modes].reverse();
          for (const mode of order) {
            const sample = await call(mode, rep);
            samples.push(sample);
            hooks.onSample(sample);
          }
        }
      }
    }
    measureEnd = performance.now();
  } finally {
    for (const { link, client } of lanes) {
      client.close();
      link.close();
    }
  }
  peakRss.clientBytes = process.resourceUsage().maxRSS * 1024;
  return {
    samples,
    peakRss,
    costModel: model.report(),
    series: [...series].map(([link, s]) => ({ link, repetition: -1, points: s.points(measureEnd).map((p) => ({ tSec: p.tSec, opsPerSec: p.opsPerSec, p99Ms: p.p99Ms })) })),
  };
}

