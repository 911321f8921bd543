import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoadAbortedError, runClosedLoop, runOpenLoop } from './load';

/** Blocks the event loop for `ms` (a GC pause, a synchronous hiccup). */
function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* spin */
  }
}

test('closed loop keeps exactly `concurrency` operations in flight and runs each index once', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const seen: number[] = [];
  const result = await runClosedLoop({
    concurrency: 4,
    maxOps: 120,
    op: async (i) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      seen.push(i);
      await sleep(1 + (i % 3));
      inFlight--;
    },
  });
  assert.equal(maxInFlight, 4);
  assert.equal(result.ops, 120);
  assert.equal(result.errors, 0);
  assert.equal(result.stoppedBy, 'maxOps');
  assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 120 }, (_, i) => i));
  assert.equal(result.latency.count, 120);
  // Node timers may fire up to ~1 ms early relative to performance.now() (they use the loop's cached time).
  assert.ok(result.latency.maxMs >= 2, `max ${result.latency.maxMs} ms is below the op's 3 ms sleep`);
  assert.ok(result.opsPerSec > 0 && Math.abs(result.opsPerSec - result.ops / (result.durationMs / 1000)) < 1e-9);
});

test('closed loop bounded by time stops starting operations after durationMs', async () => {
  const result = await runClosedLoop({ concurrency: 2, durationMs: 150, op: () => sleep(5) });
  assert.equal(result.stoppedBy, 'duration');
  assert.ok(result.durationMs >= 150 && result.durationMs < 400, `duration ${result.durationMs} ms`);
  // 2 workers × 150 ms / ~5-6 ms per op.
  assert.ok(result.ops >= 30 && result.ops <= 62, `${result.ops} ops`);
  const points = result.timeSeries.points();
  assert.equal(points.reduce((t, p) => t + p.ops, 0), result.ops);
});

test('failed operations are counted with their first distinct messages, not thrown', async () => {
  const result = await runClosedLoop({
    concurrency: 3,
    maxOps: 30,
    maxErrorMessages: 2,
    op: async (i) => {
      if (i % 3 === 0) throw new Error(`boom ${i % 2}`);
      if (i === 1) throw Object.assign(new Error('node down'), { code: 'UNAVAILABLE' });
    },
  });
  assert.equal(result.errors, 11);
  assert.equal(result.ops, 19);
  assert.equal(result.latency.count, 19);
  assert.equal(result.errorMessages.length, 2);
  assert.deepEqual(result.errorMessages, ['boom 0', 'UNAVAILABLE: node down']);
});

test('stopOnError rejects with the first error after the in-flight operations finish', async () => {
  let started = 0;
  let finished = 0;
  const run = runClosedLoop({
    concurrency: 2,
    maxOps: 1000,
    stopOnError: true,
    op: async (i) => {
      started++;
      await sleep(2);
      finished++;
      if (i === 10) throw new Error('disk full');
    },
  });
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof LoadAbortedError);
    assert.equal(err.code, 'LOAD_ABORTED');
    assert.match(err.message, /disk full/);
    assert.equal((err.cause as Error).message, 'disk full');
    assert.equal(err.result.errors, 1);
    assert.equal(err.result.stoppedBy, 'error');
    return true;
  });
  assert.ok(started <= 13, `${started} operations started`);
  assert.equal(finished, started);
});

test('a load without a bound, or with a bad concurrency or rate, is refused', async () => {
  await assert.rejects(runClosedLoop({ concurrency: 1, op: async () => {} }), RangeError);
  await assert.rejects(runClosedLoop({ concurrency: 0, maxOps: 1, op: async () => {} }), RangeError);
  await assert.rejects(runOpenLoop({ targetOpsPerSec: 0, maxOps: 1, op: async () => {} }), RangeError);
});

test('an abort signal stops a closed loop', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const result = await runClosedLoop({ concurrency: 1, signal: controller.signal, op: () => sleep(2) });
  assert.equal(result.stoppedBy, 'signal');
  assert.ok(result.ops > 5 && result.durationMs < 200);
});

test('open loop issues operations at the target rate', async () => {
  const startTimes: number[] = [];
  const result = await runOpenLoop({
    targetOpsPerSec: 200,
    maxOps: 100,
    op: async () => {
      startTimes.push(performance.now());
      await sleep(1);
    },
  });
  assert.equal(result.ops, 100);
  assert.equal(result.stoppedBy, 'maxOps');
  // 100 ops 5 ms apart: the last is due at 495 ms, and none starts early. (Upper bounds are loose:
  // a busy CI machine delays timers, and the loop then catches up.)
  assert.ok(result.durationMs >= 495 && result.durationMs < 1500, `duration ${result.durationMs} ms`);
  assert.ok(result.opsPerSec <= 202 && result.opsPerSec > 60, `${result.opsPerSec} ops/s`);
  const spanMs = startTimes[99]! - startTimes[0]!;
  assert.ok(spanMs >= 480, `starts spread over only ${spanMs} ms`);
  const gaps = startTimes.slice(1).map((t, i) => t - startTimes[i]!).sort((a, b) => a - b);
  const medianGapMs = gaps[Math.floor(gaps.length / 2)]!;
  assert.ok(medianGapMs > 3.5 && medianGapMs < 6.5, `median gap between starts ${medianGapMs} ms`);
});

test('open loop bounded by time starts exactly the operations due before durationMs', async () => {
  const result = await runOpenLoop({ targetOpsPerSec: 100, durationMs: 300, op: async () => {} });
  assert.equal(result.stoppedBy, 'duration');
  assert.equal(result.ops, 30);
});

test('open loop: an event-loop stall shows in the intended-time p99, not in the naive service-time p99', async () => {
  // The stall blocks the whole process (like a GC pause) 100 ms into the run, between operations.
  const stall = setTimeout(() => blockEventLoop(150), 100);
  const result = await runOpenLoop({ targetOpsPerSec: 2000, maxOps: 1200, op: () => Promise.resolve() });
  clearTimeout(stall);
  assert.equal(result.ops, 1200);
  // ~300 operations were due during the stall and each waited up to 150 ms to start.
  assert.ok(result.latency.p99Ms > 100, `intended-time p99 ${result.latency.p99Ms} ms should show the 150 ms stall`);
  assert.ok(result.latency.maxMs >= 145, `max ${result.latency.maxMs}`);
  // The naive measurement (start → end) sees no slow operation at all.
  assert.ok(result.serviceLatency.p99Ms < 20, `service-time p99 ${result.serviceLatency.p99Ms} ms`);
  assert.ok(result.startLag.p99Ms > 100, `start lag p99 ${result.startLag.p99Ms} ms`);
});

test('open loop: operations waiting for an in-flight slot are charged the wait', async () => {
  const result = await runOpenLoop({
    targetOpsPerSec: 1000,
    maxOps: 500,
    maxInFlight: 1,
    op: async (i) => {
      if (i === 100) await sleep(200);
    },
  });
  assert.equal(result.ops, 500);
  // 200 operations were due during the 200 ms op; with one slot they queued behind it.
  assert.ok(result.latency.p99Ms > 150, `intended-time p99 ${result.latency.p99Ms} ms`);
  assert.ok(result.serviceLatency.p99Ms < 20, `service-time p99 ${result.serviceLatency.p99Ms} ms`);
  // The time series shows the stall too.
  const worst = Math.max(...result.timeSeries.points().map((p) => (Number.isNaN(p.p99Ms) ? 0 : p.p99Ms)));
  assert.ok(worst > 150, `worst interval p99 ${worst} ms`);
});
