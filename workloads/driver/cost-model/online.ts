/**
 * Online correction for `adaptive`: the cost model is calibrated once, on an idle cluster, and is
 * off where the calibration does not see what a real call does (one wave of regions measured
 * without overlap; client and nodes sharing the cores). Adaptive therefore also learns from the
 * calls it has already made, and only from those (never from the fixed modes' calls beside it,
 * which a real client would not have):
 *
 * - At a point, a mode's estimate is the running mean of the latencies adaptive measured running
 *   it there; a mode not run there yet is estimated as the model's prediction times that mode's
 *   correction factor on the link: the running mean of measured / predicted over every call
 *   adaptive made in that mode on that link (1 before any). So one point's lesson carries to the next.
 * - Each call runs the mode with the lower estimate.
 * - A close call is checked: once adaptive has run one mode PROBE_AFTER times at a point without
 *   trying the other, and the other's estimate is within PROBE_MARGIN of it, the next call runs the
 *   other mode once. Then both are measured and the means decide.
 * The running means weigh the newest latency by WEIGHT, so a change in costs mid-run shows within a
 * few calls.
 */
import type { PredictedMode } from './model';

/** Weight of the newest measurement in the running means. */
export const WEIGHT = 0.5;
/** Calls in one mode at a point before a close other mode is tried once. */
export const PROBE_AFTER = 2;
/** How close (relative) the other mode's estimate must be to be tried. */
export const PROBE_MARGIN = 0.25;

const MODES: readonly PredictedMode[] = ['pushdown', 'client'];

interface PointState {
  /** Running mean of measured latency per mode, at this point. */
  measuredMs: Partial<Record<PredictedMode, number>>;
  /** Calls per mode at this point. */
  calls: Record<PredictedMode, number>;
}

export class OnlineCorrection {
  private readonly factors = new Map<string, number>();
  private readonly points = new Map<string, PointState>();

  /** The mode the next adaptive call at (link, point) runs, given the model's predictions there. */
  choose(link: string, point: string, predictedMs: Record<PredictedMode, number>): PredictedMode {
    const state = this.state(link, point);
    const estimate = (m: PredictedMode): number => state.measuredMs[m] ?? predictedMs[m] * this.factor(link, m);
    const [best, other] = estimate('pushdown') <= estimate('client') ? (['pushdown', 'client'] as const) : (['client', 'pushdown'] as const);
    const untried = state.calls[other] === 0;
    if (untried && state.calls[best] >= PROBE_AFTER && estimate(other) <= estimate(best) * (1 + PROBE_MARGIN)) return other;
    return best;
  }

  /** What adaptive's call at (link, point) measured in `mode`, against the model's prediction for it. */
  observe(link: string, point: string, mode: PredictedMode, predictedMs: number, latencyMs: number): void {
    const state = this.state(link, point);
    state.measuredMs[mode] = mean(state.measuredMs[mode], latencyMs);
    state.calls[mode]++;
    if (predictedMs > 0 && Number.isFinite(predictedMs)) this.factors.set(`${link}\u0000${mode}`, mean(this.factors.get(`${link}\u0000${mode}`), latencyMs / predictedMs));
  }

  /** measured / predicted for `mode` on `link`, as learned so far (1 before any call). */
  factor(link: string, mode: PredictedMode): number {
    return this.factors.get(`${link}\u0000${mode}`) ?? 1;
  }

  private state(link: string, point: string): PointState {
    const key = `${link}\u0000${point}`;
    let state = this.points.get(key);
    if (!state) {
      state = { measuredMs: {}, calls: Object.fromEntries(MODES.map((m) => [m, 0])) as Record<PredictedMode, number> };
      this.points.set(key, state);
    }
    return state;
  }
}

function mean(old: number | undefined, sample: number): number {
  return old === undefined ? sample : old + WEIGHT * (sample - old);
}
