/**
 * Warm-up until steady, for the calibration's long calls. A fixed count of warm-ups was not enough:
 * right after a load, a whole-range scan-only filter took 389, 147, 179, 291, 199, 146 ms and then
 * 109-124 ms (its plugin workers' code warming up), so two warm-ups and the fastest of three
 * calibrated the scan 1.7x too slow and the pushdown predictions +24% to +68% off.
 */

import { simpleStatistics } from '../../../engine/util/statistics';

/** The last this many times must agree before the calls count as steady. */
export const STEADY_WINDOW = 3;
/** Rounds at most, steady or not, by default. */
export const STEADY_MAX_CALLS = 20;
/** Rounds timed after the steady window by default, all counted in the mean (see untilSteadyTogether). */
export const STEADY_AFTER = 4;

/**
 * Times calls (each timer runs one and returns its time) in rounds, one call of each in turn, until
 * every one's last STEADY_WINDOW times lie within 10% of each other and none beats the fastest
 * before them by more than 5% in the same round, then `after` rounds more; returns each one's mean
 * of its window and those. Stops at `maxRounds` all told, steady or not, with the mean of the last
 * STEADY_WINDOW times.
 *
 * The mean, not the fastest: the model predicts the mean latency the measured points report, and
 * the fastest call predicted them 10-20% too fast (default filter run, 2026-12-07). The calls after
 * the window: a window of agreeing times is, on a host whose speed swings from one call to the next,
 * a quiet stretch by construction, and the window's mean alone predicted the sweep's pushdown means
 * 7-28% too fast at 9 of 12 low-selectivity points (the same run: quiet calls at 98-105 ms, the
 * points' means 108-149 ms); calls taken after it, whatever the host does then, are not selected.
 *
 * In turn: calls compared with each other (a mode's against another's) take a slow or fast spell
 * of the host alike, as the modes a point interleaves do; measured one after the other, the default
 * filter's calibrations predicted the pushdown speedup 21-49% too high at 11 of 12 points in one run
 * and within ±20% at 10-11 of 12 in others (2026-12-07 evening and night).
 */
export async function untilSteadyTogether(timers: ReadonlyArray<() => Promise<number>>, maxRounds = STEADY_MAX_CALLS, after = STEADY_AFTER): Promise<number[]> {
  const times: number[][] = timers.map(() => []);
  let steadyAt = -1;
  for (let round = 1; round <= maxRounds; round++) {
    for (const [i, timeOne] of timers.entries()) times[i]!.push(await timeOne());
    if (steadyAt >= 0) {
      if (round - steadyAt >= after) break;
    } else if (times.every(isSteady)) {
      steadyAt = round;
      if (after <= 0) break;
    }
  }
  return times.map((t) => simpleStatistics.mean(steadyAt >= 0 ? t.slice(steadyAt - STEADY_WINDOW) : t.slice(-STEADY_WINDOW)));
}

/** The last STEADY_WINDOW times agree within 10% and none beats the fastest before them by more than 5%. */
function isSteady(times: readonly number[]): boolean {
  if (times.length <= STEADY_WINDOW) return false;
  const recent = times.slice(-STEADY_WINDOW);
  const fastestBefore = Math.min(...times.slice(0, -STEADY_WINDOW));
  return Math.max(...recent) <= 1.1 * Math.min(...recent) && Math.min(...recent) >= 0.95 * fastestBefore;
}
