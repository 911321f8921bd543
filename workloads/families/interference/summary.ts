/** Per (analytic rate, mode): means with 95% CIs over the repetitions, and the answers' verdict. */
import { meanWithCI95 } from '../../driver/metrics/stats';
import type { ChecksumVerdict, MeanCI } from '../../driver/summarize';
import type { InterferenceSample } from './runner';

export interface InterferencePoint {
  /** Analytic calls per second the stream was due to make. */
  rate: number;
  mode: string;
  n: number;
  pointP50Ms: MeanCI;
  pointP99Ms: MeanCI;
  pointP999Ms: MeanCI;
  pointOpsPerSec: MeanCI;
  pointErrors: number;
  /** Completed analytic calls per second (0 under `none`). */
  analyticCallsPerSec: MeanCI;
  /** Mean analytic latency from intended start, over the repetitions' means (null under `none`). */
  analyticMeanMs: MeanCI | null;
  analyticErrors: number;
  nodesCpuMsPerSec: MeanCI;
  /** adaptive: calls per mode it ran. */
  chosenModes: Record<string, number> | null;
  /** Regions busy nodes refused that ran client-side instead, over all repetitions. */
  regionsSpilled: number;
  /** adaptive: regions it pushed back to the client because of their node's load, over all repetitions (absent in older runs). */
  regionsPushedBack?: number;
  /** Mean point p99 / the `none` baseline's at the same rate (null without a baseline). */
  p99VsNone: number | null;
}

export interface InterferenceSummary {
  targetPointOpsPerSec: number;
  points: InterferencePoint[];
  verdict: ChecksumVerdict;
}

export function summarizeInterference(samples: InterferenceSample[], targetPointOpsPerSec: number): InterferenceSummary {
  const groups = new Map<string, InterferenceSample[]>();
  for (const s of samples) groups.set(`${s.rate}\u0000${s.mode}`, [...(groups.get(`${s.rate}\u0000${s.mode}`) ?? []), s]);
  const points: InterferencePoint[] = [...groups.values()].map((g) => {
    const first = g[0]!;
    const analytic = first.mode !== 'none';
    const chosen = first.mode === 'adaptive' ? { pushdown: g.reduce((n, s) => n + s.chosenPushdown, 0), client: g.reduce((n, s) => n + s.chosenClient, 0) } : null;
    return {
      rate: first.rate,
      mode: first.mode,
      n: g.length,
      pointP50Ms: meanWithCI95(g.map((s) => s.pointP50Ms)),
      pointP99Ms: meanWithCI95(g.map((s) => s.pointP99Ms)),
      pointP999Ms: meanWithCI95(g.map((s) => s.pointP999Ms)),
      pointOpsPerSec: meanWithCI95(g.map((s) => s.pointOpsPerSec)),
      pointErrors: g.reduce((n, s) => n + s.pointErrors, 0),
      analyticCallsPerSec: meanWithCI95(g.map((s) => s.analyticCallsPerSec)),
      analyticMeanMs: analytic ? meanWithCI95(g.map((s) => s.analyticMeanMs).filter(Number.isFinite)) : null,
      analyticErrors: g.reduce((n, s) => n + s.analyticErrors, 0),
      nodesCpuMsPerSec: meanWithCI95(g.map((s) => s.nodesCpuUs / 1000 / (s.durationMs / 1000))),
      chosenModes: chosen ? Object.fromEntries(Object.entries(chosen).filter(([, n]) => n > 0)) : null,
      regionsSpilled: g.reduce((n, s) => n + s.regionsSpilled, 0),
      regionsPushedBack: g.reduce((n, s) => n + (s.regionsPushedBack ?? 0), 0),
      p99VsNone: null,
    };
  });
  for (const p of points) {
    const none = points.find((q) => q.rate === p.rate && q.mode === 'none');
    p.p99VsNone = none && none.pointP99Ms.mean > 0 ? p.pointP99Ms.mean / none.pointP99Ms.mean : null;
  }
  // The data never changes (updates write the loaded values back): every analytic answer must be the same.
  const byMode = new Map<string, Set<string>>();
  for (const s of samples) for (const c of s.checksums) byMode.set(s.mode, (byMode.get(s.mode) ?? new Set()).add(c));
  const all = new Set([...byMode.values()].flatMap((set) => [...set]));
  const mismatches = all.size > 1 ? [...byMode].map(([mode, set]) => `${mode}: ${[...set].join(', ')}`) : [];
  return { targetPointOpsPerSec, points, verdict: { agree: all.size <= 1, mismatches } };
}
