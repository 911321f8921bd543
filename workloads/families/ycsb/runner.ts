/**
 * YCSB-style point-operation mixes (workloads A, B, C) through the cluster client: zipfian keys over
 * the loaded rows, reads / updates / inserts in the spec's proportions, closed loop with N clients
 * or open loop at a target rate (latency then measured from each operation's intended start).
 * Puts the engine's basic speed on record next to the pushdown results.
 */
import { SeededRandom } from '../../../engine/util/seeded-random';
import { syntheticCodec, syntheticKey, syntheticRecord } from '../../datasets/synthetic';
import { SpecError } from '../../spec-checks';
import type { WorkloadSpec } from '../../spec';
import { LatencyRecorder, type LatencySummary } from '../../driver/metrics/latency';
import { runClosedLoop, runOpenLoop } from '../../driver/metrics/load';
import { diffNodeStats, sumOverNodes } from '../../driver/metrics/node-stats';
import { TimeSeries, type PerSecondPoint } from '../../driver/metrics/timeseries';
import type { Backend, BackendClient } from '../../backends/backend';
import { ScrambledZipfian } from '../../driver/zipfian';

export type YcsbOp = 'read' | 'update' | 'insert';

export interface YcsbSample {
  link: string;
  repetition: number;
  operations: number;
  errors: number;
  durationMs: number;
  opsPerSec: number;
  latency: LatencySummary;
  perOp: Record<YcsbOp, LatencySummary>;
  clientWireInBytes: number;
  clientWireOutBytes: number;
  clientCpuUs: number;
  nodesCpuUs: number;
  /** Ops and p99 per second. */
  series: PerSecondPoint[];
}

export interface YcsbHooks {
  onSample(sample: YcsbSample): void;
  onOps?(n: number): void;
  log(line: string): void;
}

export async function runYcsb(spec: WorkloadSpec, backend: Backend, hooks: YcsbHooks): Promise<YcsbSample[]> {
  const y = spec.ycsb;
  if (!y) throw new SpecError('ycsb: missing');
  if (spec.modes.some((m) => m !== 'client')) throw new SpecError(`modes: YCSB workloads are point operations through the client; use ["client"]`);
  const samples: YcsbSample[] = [];
  let nextInsertId = spec.dataset.rows;
  for (const linkSpec of spec.links) {
    const link = backend.link(linkSpec);
    await link.use();
    const client: BackendClient = await backend.client(link.wrapSocket);
    try {
      for (let rep = -spec.warmup; rep < spec.repetitions; rep++) {
        const random = new SeededRandom(spec.dataset.seed + 1000 + rep);
        const zipf = new ScrambledZipfian(spec.dataset.rows, y.zipfianTheta, new SeededRandom(spec.dataset.seed + 2000 + rep));
        const perOp: Record<YcsbOp, LatencyRecorder> = { read: new LatencyRecorder(), update: new LatencyRecorder(), insert: new LatencyRecorder() };
        const choose = (): YcsbOp => {
          const u = random.next();
          if (u < y.readProportion) return 'read';
          if (u < y.readProportion + y.updateProportion) return 'update';
          return 'insert';
        };
        const op = async (): Promise<void> => {
          const kind = choose();
          const started = process.hrtime.bigint();
          if (kind === 'read') {
            await client.get(syntheticKey(zipf.next()));
          } else {
            const id = kind === 'insert' ? nextInsertId++ : zipf.next();
            const value = syntheticCodec.encode(syntheticRecord(id, random, spec.dataset.categories), spec.dataset.valueBytes);
            await client.set(syntheticKey(id), Buffer.from(value.buffer, value.byteOffset, value.byteLength));
          }
          perOp[kind].recordUs(Number(process.hrtime.bigint() - started) / 1000);
          hooks.onOps?.(1);
        };
        const wire0 = client.wireBytes();
        const cpu0 = process.cpuUsage();
        const before = await backend.sampleNodes();
        const series = new TimeSeries();
        const result =
          y.targetOpsPerSec > 0
            ? await runOpenLoop({ targetOpsPerSec: y.targetOpsPerSec, maxOps: y.operations, maxInFlight: y.clients, op, timeSeries: series })
            : await runClosedLoop({ concurrency: y.clients, maxOps: y.operations, op, timeSeries: series });
        const after = await backend.sampleNodes();
        const cpu = process.cpuUsage(cpu0);
        const wire1 = client.wireBytes();
        if (rep < 0) continue;
        const sample: YcsbSample = {
          link: link.name,
          repetition: rep,
          operations: result.ops,
          errors: result.errors,
          durationMs: result.durationMs,
          opsPerSec: result.opsPerSec,
          latency: result.latency,
          perOp: { read: perOp.read.summary(), update: perOp.update.summary(), insert: perOp.insert.summary() },
          clientWireInBytes: wire1.in - wire0.in,
          clientWireOutBytes: wire1.out - wire0.out,
          clientCpuUs: cpu.user + cpu.system,
          nodesCpuUs: sumOverNodes(diffNodeStats(before, after), (n) => n.cpuUserUs + n.cpuSysUs),
          series: series.points().map((p) => ({ tSec: p.tSec, opsPerSec: p.opsPerSec, p99Ms: p.p99Ms })),
        };
        samples.push(sample);
        hooks.onSample(sample);
        if (result.errors > 0) hooks.log(`warning: ${result.errors} operations failed in repetition ${rep}`);
      }
    } finally {
      client.close();
      link.close();
    }
  }
  return samples;
}

