import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STEADY_MAX_CALLS, untilSteady } from './steady';

/** Runs untilSteady over scripted times; how many it took and what it returned. */
async function over(times: number[]): Promise<{ calls: number; ms: number }> {
  let calls = 0;
  const ms = await untilSteady(async () => times[calls++ % times.length]!);
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
