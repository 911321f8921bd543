import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STEADY_AFTER, STEADY_MAX_CALLS, untilSteadyTogether } from './steady';

/** One timer alone: untilSteadyTogether's rounds are its calls. */
const untilSteady = async (timeOne: () => Promise<number>, maxCalls?: number, after?: number): Promise<number> => (await untilSteadyTogether([timeOne], maxCalls, after))[0]!;

/** Runs untilSteady over scripted times; how many it took and what it returned. */
async function over(times: number[], after = 0): Promise<{ calls: number; ms: number }> {
  let calls = 0;
  const ms = await untilSteady(async () => times[calls++ % times.length]!, undefined, after);
  return { calls, ms: Math.round(ms * 100) / 100 };
}

test('the warm-up measured after a load runs until the times settle, and gives the mean of the settled ones', async () => {
  assert.deepEqual(await over([389, 147, 179, 291, 199, 146, 109, 120, 124, 114, 112, 109]), { calls: 10, ms: 119.33 });
  assert.deepEqual(await over([335, 127, 124, 158, 133, 121, 105, 110, 105, 112, 110, 108]), { calls: 10, ms: 109 });
});

test('times that are steady from the start stop after one more call than the window', async () => {
  assert.deepEqual(await over([100, 101, 99, 100, 102]), { calls: 4, ms: 100 });
});

test('times still falling are not steady: a window must not beat the fastest before it', async () => {
  assert.deepEqual(await over([300, 250, 200, 160, 130, 110, 105, 104, 106, 105, 104]), { calls: 10, ms: 105 });
});

test('times that never settle stop at the cap with the mean of the last ones', async () => {
  assert.deepEqual(await over([100, 200]), { calls: STEADY_MAX_CALLS, ms: 166.67 });
});

test('the calls after the steady window count in the mean, slow ones included: the window is a quiet stretch by construction', async () => {
  // Steady at call 4 (101, 99, 100); four more, one of them caught in a slow spell of the host.
  assert.deepEqual(await over([100, 101, 99, 100, 150, 102, 98, 105, 500], 4), { calls: 8, ms: 107.86 });
  assert.equal(STEADY_AFTER, 4, 'the default');
  // The cap still holds: at most maxCalls all told.
  let calls = 0;
  await untilSteady(async () => [100, 101, 99][calls++ % 3]!, 6, 10);
  assert.equal(calls, 6);
});

test('calls compared with each other are taken in turn, until both are steady in the same round, then `after` rounds more', async () => {
  const order: string[] = [];
  const scripted = (name: string, times: number[]) => {
    let i = 0;
    return async (): Promise<number> => {
      order.push(name);
      return times[i++]!;
    };
  };
  // a is steady from round 4 on; b only from round 7 (at round 6 its window still beat the fastest
  // before it by more than 5%); then 2 rounds more: rounds 5-9 count for both.
  const means = await untilSteadyTogether([scripted('a', [100, 101, 99, 100, 100, 102, 98, 100, 101, 500]), scripted('b', [300, 250, 200, 150, 151, 149, 150, 148, 152, 500])], 20, 2);
  assert.deepEqual(order, Array.from({ length: 9 }, () => ['a', 'b']).flat());
  assert.deepEqual(means.map((m) => Math.round(m * 100) / 100), [100.2, 150]);
});
