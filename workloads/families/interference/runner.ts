/**
 * Runs an interference workload: a point tenant (its own process, open loop at a fixed rate) and,
 * beside it, an analytic stream (any query workload, open loop at a swept rate) in each mode —
 * `none` (the baseline: no analytic stream), pushdown, client, adaptive. One phase per (rate,
 * repetition, mode), modes interleaved (order reversed every other repetition) so slow drift hits
 * all alike. Per phase: the tenant's latency percentiles (from intended starts) and achieved rate,
 * the analytic calls' latency and completed rate, the nodes' CPU, and every answer's checksum.
 */
import { Coprocessor, type CoprocessorMode } from '../../../engine/client/coprocessor';
import { pushBackWhenBusy } from '../../../engine/client/node-load';
import type { RegionInfo } from '../../../engine/placement/cluster-map';
import { CostModel, type CostModelReport } from '../../driver/cost-model/calibrate';
import { answerChecksum } from '../../driver/checksum';
import { runOpenLoop } from '../../driver/metrics/load';
import { diffNodeStats, sampleNodes, sumOverNodes } from '../../driver/metrics/node-stats';
import { copbenchOnly, type CopbenchBackend } from '../../backends/copbench/backend';
import type { Backend } from '../../backends/backend';
import { datasetRange } from '../../datasets/catalog';
import { SpecError } from '../../spec-checks';
import type { WorkloadSpec } from '../../spec';
import { resolveHints } from '../query/hints';
import { queryWorkload } from '../query/requests';
import type { InterferenceSpec } from './section';
import { PointTenant } from './tenant';

/** `none`: the point tenant alone (the baseline); otherwise the analytic stream's mode. */
export type InterferenceMode = 'none' | CoprocessorMode | 'adaptive';
export const INTERFERENCE_MODES: readonly InterferenceMode[] = ['none', 'pushdown', 'client', 'adaptive'];

/** One measured phase. */
export interface InterferenceSample {
  rate: number;
  mode: InterferenceMode;
  repetition: number;
  durationMs: number;
  pointOps: number;
  pointErrors: number;
  pointOpsPerSec: number;
  pointP50Ms: number;
  pointP99Ms: number;
  pointP999Ms: number;
  pointMaxMs: number;
  /** Analytic calls completed (0 under `none`). */
  analyticCalls: number;
  analyticErrors: number;
  analyticCallsPerSec: number;
  /** Mean latency of the analytic calls, from their intended start (NaN without calls). */
  analyticMeanMs: number;
  analyticP99Ms: number;
  /** adaptive: how many calls ran each mode. */
  chosenPushdown: number;
  chosenClient: number;
  /** Regions a busy node refused that ran client-side instead (analytic.onBusy 'client'). */
  regionsSpilled: number;
  /** adaptive: regions it pushed back to the client because their node's expected wait made pulling them up faster. */
  regionsPushedBack: number;
  nodesCpuUs: number;
  /** Distinct answer checksums of the phase's analytic calls. */
  checksums: string[];
}

export interface InterferenceRunHooks {
  onSample(sample: InterferenceSample): void;
  onPhase?(): void;
  log(line: string): void;
}

/** The analytic stream as a query spec (its own kind, plugin and request; one point), checked. */
export function analyticSpec(spec: WorkloadSpec): WorkloadSpec {
  const a = (spec.interference as InterferenceSpec | null)?.analytic;
  if (!a) throw new SpecError('interference: an interference workload needs the interference section');
  return { ...spec, kind: a.kind, plugin: a.plugin, version: a.version, request: a.request, sweep: a.point ? { parameter: a.point.parameter, values: [a.point.value] } : null, interference: null };
}

/** Phases the run measures (warm-up included), for progress bars. */
export function plannedPhases(spec: WorkloadSpec): number {
  const rates = spec.sweep ? spec.sweep.values.length : 1;
  return (spec.warmup > 0 ? spec.modes.length : 0) + rates * spec.repetitions * spec.modes.length;
}

/** What every phase of a run shares. */
interface PhaseContext {
  spec: WorkloadSpec;
  session: CopbenchBackend;
  tenant: PointTenant;
  coprocessor: Coprocessor;
  /** The analytic call: plugin, version and request. */
  call: { plugin: string; version: string; request: unknown };
  /** The mode the cost model expects to be faster on idle nodes (what adaptive runs). */
  cheaper: CoprocessorMode;
  /** adaptive, when it runs pushdown: which regions go client-side instead, given their nodes' load. */
  pushBack: (region: RegionInfo) => boolean;
  hooks: InterferenceRunHooks;
}

/** One phase: the tenant and (unless `none`) the analytic stream at `rate`, side by side for `durationMs`. */
async function runPhase(ctx: PhaseContext, rate: number, mode: InterferenceMode, repetition: number, durationMs: number, seed: number): Promise<InterferenceSample> {
  const s = ctx.spec.interference as InterferenceSpec;
  const range = datasetRange();
  const nodes = await ctx.session.nodes();
  const before = await sampleNodes(nodes);
  const checksums = new Set<string>();
  const chosen = { pushdown: 0, client: 0 };
  let spilled = 0;
  let pushedBack = 0;
  const analytic =
    mode === 'none'
      ? null
      : runOpenLoop({
          targetOpsPerSec: rate,
          durationMs,
          maxInFlight: s.analytic.maxInFlight,
          op: async () => {
            const run: CoprocessorMode = mode === 'adaptive' ? ctx.cheaper : mode;
            chosen[run]++;
            const pushBack = mode === 'adaptive' ? ctx.pushBack : undefined;
            const outcome = await ctx.coprocessor.run({ ...ctx.call, start: range.start, end: range.end, mode: run, concurrency: ctx.spec.concurrency, onBusy: s.analytic.onBusy ?? 'retry', pushBack });
            spilled += outcome.regions.filter((r) => r.ranClientSide && !r.pushedBack).length;
            pushedBack += outcome.regions.filter((r) => r.pushedBack).length;
            checksums.add(answerChecksum(outcome.result));
          },
        });
  const [points, calls] = await Promise.all([ctx.tenant.phase({ opsPerSec: s.pointOpsPerSec, durationMs, maxInFlight: s.pointMaxInFlight, seed }), analytic]);
  const after = await sampleNodes(nodes);
  ctx.hooks.onPhase?.();
  if (calls && calls.errors > 0) ctx.hooks.log(`warning: ${calls.errors} analytic calls failed at rate ${rate} (${mode}): ${calls.errorMessages.join('; ')}`);
  if (points.errors > 0) ctx.hooks.log(`warning: ${points.errors} point operations failed at rate ${rate} (${mode}): ${points.errorMessages.join('; ')}`);
  return {
    rate,
    mode,
    repetition,
    durationMs,
    pointOps: points.ops,
    pointErrors: points.errors,
    pointOpsPerSec: points.opsPerSec,
    pointP50Ms: points.latency.p50Ms,
    pointP99Ms: points.latency.p99Ms,
    pointP999Ms: points.latency.p999Ms,
    pointMaxMs: points.latency.maxMs,
    analyticCalls: calls?.ops ?? 0,
    analyticErrors: calls?.errors ?? 0,
    analyticCallsPerSec: calls ? calls.ops / (durationMs / 1000) : 0,
    analyticMeanMs: calls ? calls.latency.meanMs : NaN,
    analyticP99Ms: calls ? calls.latency.p99Ms : NaN,
    chosenPushdown: mode === 'adaptive' ? chosen.pushdown : 0,
    chosenClient: mode === 'adaptive' ? chosen.client : 0,
    regionsSpilled: spilled,
    regionsPushedBack: pushedBack,
    nodesCpuUs: sumOverNodes(diffNodeStats(before, after), (n) => n.cpuUserUs + n.cpuSysUs),
    checksums: [...checksums],
  };
}

export async function runInterference(spec: WorkloadSpec, backend: Backend, hooks: InterferenceRunHooks): Promise<{ samples: InterferenceSample[]; costModel: CostModelReport }> {
  const s = spec.interference as InterferenceSpec;
  const query = analyticSpec(spec);
  const workload = queryWorkload(query);
  const point = query.sweep ? query.sweep.values[0] : undefined;
  const request = workload.request(point);
  const rates = (spec.sweep?.values ?? [1]).map(Number);
  const modes = spec.modes as InterferenceMode[];
  const session = copbenchOnly(backend, 'the interference family');
  const link = session.link(spec.links[0]!);
  const client = await session.clusterClient(link.wrapSocket);
  const coprocessor = new Coprocessor(client);
  let tenant: PointTenant | undefined;
  try {
    const plugin = await coprocessor.loadPlugin(workload.plugin, workload.version);
    const hints = resolveHints(plugin.plugin);
    const model = await CostModel.calibrate({ spec: query, plugin: { name: workload.plugin, version: workload.version, hints, firstRequest: request }, session, links: [{ name: link.name, client, use: () => link.use() }], log: hooks.log });
    await link.use();
    const plan = await model.plan(link.name, point === undefined ? '' : String(point), request);
    hooks.log(`analytic stream: ${workload.plugin}@${workload.version} ${point === undefined ? '' : `${workload.parameter}=${point} `}— the cost model expects ${plan.cheaper} to be faster (pushdown ${plan.predictedMs.pushdown.toFixed(0)} ms, client ${plan.predictedMs.client.toFixed(0)} ms, when the nodes are otherwise idle)`);
    // Contention-aware adaptive (FlexPushdownDB's rule, engine/client/node-load.ts): per region,
    // the idle-node predictions of one wave of regions, against the wait its node is expected to add.
    const regions = (await client.getMap()).regions.length;
    const waves = Math.ceil(regions / Math.max(1, spec.concurrency));
    const pushBack = pushBackWhenBusy(coprocessor.load, { pushdownMs: plan.predictedMs.pushdown / waves, clientMs: plan.predictedMs.client / waves });
    tenant = await PointTenant.start({ placement: session.placement, dataset: spec.dataset, zipfianTheta: s.zipfianTheta, readProportion: s.readProportion });
    const ctx: PhaseContext = { spec, session, tenant, coprocessor, call: { plugin: workload.plugin, version: workload.version, request }, cheaper: plan.cheaper, pushBack, hooks };
    const samples: InterferenceSample[] = [];
    let seed = spec.dataset.seed * 1000;
    // Warm-up: one short phase per mode at the first rate (JIT, connections, worker threads), unrecorded.
    if (spec.warmup > 0) for (const mode of modes) await runPhase(ctx, rates[0]!, mode, -1, Math.min(2000, s.phaseSeconds * 1000), seed++);
    for (const rate of rates) {
      for (let rep = 0; rep < spec.repetitions; rep++) {
        const order = rep % 2 === 0 ? modes : [...modes].reverse();
        for (const mode of order) {
          const sample = await runPhase(ctx, rate, mode, rep, s.phaseSeconds * 1000, seed++);
          samples.push(sample);
          hooks.onSample(sample);
        }
      }
    }
    return { samples, costModel: model.report() };
  } finally {
    tenant?.stop();
    client.close();
    link.close();
  }
}
