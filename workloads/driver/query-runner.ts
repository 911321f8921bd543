/**
 * Runs a query workload (filter, aggregate, noop): for every link profile, sweep point and mode,
 * warm-up calls and then measured repetitions of one coprocessor call each. Modes alternate within
 * a repetition (and swap order every other one) so slow drift hits both alike. Every call records
 * latency, wire bytes, CPU of the client and of every node (from their counters), rows scanned and
 * returned, and the answer's checksum.
 */
import { Coprocessor, type CoprocessorMode } from '../../engine/client/coprocessor';
import type { ClusterClient } from '../../engine/client/cluster-client';
import { queryKind, type SweepValue } from '../kinds';
import { SpecError, type WorkloadSpec } from '../spec';
import { answerChecksum } from './checksum';
import { diffNodeStats, sampleNodes, sumOverNodes } from './metrics/node-stats';
import { Session } from './session';
import { linkFor, type LinkHandle } from './links';

/** One measured call. */
export interface QuerySample {
  link: string;
  parameter: string;
  point: string;
  mode: CoprocessorMode;
  repetition: number;
  latencyMs: number;
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

const QUERY_MODES: CoprocessorMode[] = ['pushdown', 'client'];

/** How many calls the run makes (warm-up included), for progress bars. */
export function plannedQueryCalls(spec: WorkloadSpec): number {
  const points = spec.sweep ? spec.sweep.values.length : 1;
  return spec.links.length * points * spec.modes.length * (spec.warmup + spec.repetitions);
}

/** Peak resident memory seen: the client's own peak, and each node's RSS at call boundaries. */
export interface PeakRss {
  clientBytes: number;
  nodesBytes: Record<string, number>;
}

export async function runQueries(spec: WorkloadSpec, session: Session, hooks: QueryRunHooks): Promise<{ samples: QuerySample[]; peakRss: PeakRss }> {
  const kind = queryKind(spec);
  for (const mode of spec.modes) {
    if (!QUERY_MODES.includes(mode as CoprocessorMode)) throw new SpecError(`modes: '${mode}' is not available for ${spec.kind} workloads yet (available: ${QUERY_MODES.join(', ')})`);
  }
  const modes = spec.modes as CoprocessorMode[];
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
  try {
    for (const linkSpec of spec.links) {
      const link = linkFor(linkSpec);
      const client = await session.client(link.wrapSocket);
      lanes.push({ link, client, coprocessor: new Coprocessor(client) });
    }
    for (const point of points) {
      const request = kind.request(spec, point);
      for (const { link, coprocessor } of lanes) {
        const call = async (mode: CoprocessorMode, repetition: number): Promise<QuerySample> => {
          const nodes = await session.nodes();
          const before = await sampleNodes(nodes);
          const outcome = await coprocessor.run<unknown, unknown>({ plugin: kind.plugin, request, start: range.start, end: range.end, mode, concurrency: spec.concurrency });
          const after = await sampleNodes(nodes);
          notePeaks(after);
          const nodeDelta = diffNodeStats(before, after);
          hooks.onCall?.();
          return {
            link: link.name,
            parameter: spec.sweep?.parameter ?? '',
            point: point === undefined ? '' : String(point),
            mode,
            repetition,
            latencyMs: outcome.wallMs,
            rowsScanned: outcome.totals.rowsScanned,
            rowsReturned: kind.rowsReturned(outcome.result),
            rowsMatched: kind.rowsMatched ? kind.rowsMatched(outcome.result) : -1,
            regions: outcome.regions.length,
            clientWireInBytes: outcome.wireBytesIn,
            clientWireOutBytes: outcome.wireBytesOut,
            clientCpuUs: outcome.clientCpuUs,
            nodesCpuUs: sumOverNodes(nodeDelta, (n) => n.cpuUserUs + n.cpuSysUs),
            pluginCpuUs: mode === 'pushdown' ? outcome.totals.pluginCpuUs : 0,
            nodesNetInBytes: sumOverNodes(nodeDelta, (n) => n.netInBytes),
            nodesNetOutBytes: sumOverNodes(nodeDelta, (n) => n.netOutBytes),
            checksum: answerChecksum(outcome.result),
            byNode: nodeDelta.map((n) => ({ id: n.id, cpuUs: n.cpuUserUs + n.cpuSysUs, netInBytes: n.netInBytes, netOutBytes: n.netOutBytes })),
          };
        };
        for (let w = 0; w < spec.warmup; w++) for (const mode of modes) await call(mode, -1 - w);
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
  } finally {
    for (const { link, client } of lanes) {
      client.close();
      link.close();
    }
  }
  peakRss.clientBytes = process.resourceUsage().maxRSS * 1024;
  return { samples, peakRss };
}

