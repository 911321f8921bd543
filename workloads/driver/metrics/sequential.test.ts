import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../engine/util/seeded-random';
import { relativeHalfWidth, repeatUntilPrecise, stopReason, type RepetitionPolicy } from './sequential';

/**
 * A synthetic timer: each round "runs" two modes whose latencies are `base × (1 ± noise)` and
 * advances a fake clock by their sum, so the time cap sees the time the calls took.
 */
function syntheticTimer(seed: number, noise: number, base = { pushdown: 20, client: 50 }) {
  const random = new SeededRandom(seed);
  let clockMs = 0;
  const round = async (): Promise<Record<string, number>> => {
    const values: Record<string, number> = {};
    for (const [mode, ms] of Object.entries(base)) {
      values[mode] = ms * (1 + noise * (2 * random.next() - 1));
      clockMs += values[mode]!;
    }
    return values;
  };
  return { round, now: () => clockMs };
}

const POLICY: RepetitionPolicy = { minRepetitions: 3, maxRepetitions: 30, maxSeconds: 60, precision: 0.05 };

test('a low-noise timer stops at the precision, after the minimum and before the caps', async () => {
  const timer = syntheticTimer(1, 0.03);
  const outcome = await repeatUntilPrecise(POLICY, timer.round, timer.now);
  assert.equal(outcome.stoppedBy, 'precision');
  assert.ok(outcome.repetitions >= POLICY.minRepetitions && outcome.repetitions < POLICY.maxRepetitions, `stopped after ${outcome.repetitions}`);
  for (const [mode, rel] of Object.entries(outcome.relativeHalfWidth)) assert.ok(rel <= POLICY.precision, `${mode}: ±${(rel * 100).toFixed(1)}%`);
});

test('it stops as soon as the precision is met: one round fewer would not have met it', async () => {
  const timer = syntheticTimer(7, 0.1);
  const kept: Record<string, number[]> = { pushdown: [], client: [] };
  const outcome = await repeatUntilPrecise(POLICY, async () => {
    const v = await timer.round();
    for (const k of Object.keys(kept)) kept[k]!.push(v[k]!);
    return v;
  }, timer.now);
  assert.equal(outcome.stoppedBy, 'precision');
  assert.ok(outcome.repetitions > POLICY.minRepetitions, 'noise 10% needs more than the minimum');
  const before = Object.values(kept).map((vs) => vs.slice(0, -1));
  assert.ok(before.some((vs) => relativeHalfWidth(vs) > POLICY.precision), 'the round before was not yet precise');
});

test('a noisy timer stops at maxRepetitions, and says so', async () => {
  const timer = syntheticTimer(2, 0.9);
  const outcome = await repeatUntilPrecise({ ...POLICY, maxRepetitions: 8 }, timer.round, timer.now);
  assert.equal(outcome.stoppedBy, 'maxRepetitions');
  assert.equal(outcome.repetitions, 8);
  assert.ok(Object.values(outcome.relativeHalfWidth).some((rel) => rel > POLICY.precision));
});

test('a noisy, slow timer stops at maxSeconds without starting a round it expects to overrun', async () => {
  const timer = syntheticTimer(3, 0.9, { pushdown: 200, client: 500 });
  const outcome = await repeatUntilPrecise({ ...POLICY, maxSeconds: 5 }, timer.round, timer.now);
  assert.equal(outcome.stoppedBy, 'maxSeconds');
  assert.ok(outcome.repetitions >= POLICY.minRepetitions && outcome.repetitions < POLICY.maxRepetitions);
  // Rounds take 0.7 s ± 90%: the run ends within one round of the cap.
  assert.ok(outcome.elapsedMs <= 5000 + 1330, `took ${outcome.elapsedMs} ms`);
});

test('the minimum is always made, even past the time cap', async () => {
  const timer = syntheticTimer(4, 0.5, { pushdown: 2000, client: 2000 });
  const outcome = await repeatUntilPrecise({ ...POLICY, minRepetitions: 4, maxSeconds: 1 }, timer.round, timer.now);
  assert.equal(outcome.repetitions, 4);
  assert.equal(outcome.stoppedBy, 'maxSeconds');
});

test('minimum = maximum runs exactly that many rounds (the ci sizes); precise data still reports precision', () => {
  const fixed: RepetitionPolicy = { minRepetitions: 2, maxRepetitions: 2, maxSeconds: 60, precision: 0.05 };
  assert.equal(stopReason(fixed, 1, 10, [[10]]), null);
  assert.equal(stopReason(fixed, 2, 20, [[10, 30]]), 'maxRepetitions');
  assert.equal(stopReason(fixed, 2, 20, [[10, 10]]), 'precision');
});

test('relative half-width: Infinity below two values, 0 for identical values', () => {
  assert.equal(relativeHalfWidth([5]), Infinity);
  assert.equal(relativeHalfWidth([5, 5, 5]), 0);
  // n = 2, values 9 and 11: t(0.975, 1) = 12.706, s = √2, half-width = 12.706 · √2 / √2 = 12.706 → 127% of 10.
  assert.ok(Math.abs(relativeHalfWidth([9, 11]) - 1.2706) < 1e-3);
});

test('a round that leaves out a series is an error, and so is a policy that cannot run', async () => {
  let i = 0;
  await assert.rejects(repeatUntilPrecise(POLICY, async (): Promise<Record<string, number>> => (i++ === 0 ? { a: 1, b: 2 } : { a: 1 }), () => 0), /no value for series 'b'/);
  await assert.rejects(repeatUntilPrecise({ ...POLICY, maxRepetitions: 2 }, async () => ({ a: 1 }), () => 0), /maxRepetitions/);
});
