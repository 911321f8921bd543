import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HIGHEST_TRACKABLE_US, LatencyRecorder } from './latency';

/** |actual − expected| within a relative tolerance (HdrHistogram with 3 digits: 0.1%). */
function near(actual: number, expected: number, relative = 0.001): void {
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * relative, `${actual} is not within ${relative * 100}% of ${expected}`);
}

test('summary of 1..1000 ms gives exact count/min/mean/max and percentiles within 0.1%', () => {
  const r = new LatencyRecorder();
  for (let i = 1; i <= 1000; i++) r.recordMs(i);
  const s = r.summary();
  assert.equal(s.count, 1000);
  assert.equal(s.minMs, 1);
  assert.equal(s.maxMs, 1000);
  assert.equal(s.meanMs, 500.5);
  near(s.p50Ms, 500);
  near(s.p95Ms, 950);
  near(s.p99Ms, 990);
  near(s.p999Ms, 999);
});

test('microsecond resolution: sub-millisecond values keep three significant digits', () => {
  const r = new LatencyRecorder();
  r.recordUs(123.4);
  r.recordMs(0.0456);
  const s = r.summary();
  assert.equal(s.minMs, 0.046);
  assert.equal(s.maxMs, 0.123);
  assert.equal(s.p50Ms, 0.046);
});

test('an empty recorder reports count 0 and NaN elsewhere', () => {
  const s = new LatencyRecorder().summary();
  assert.equal(s.count, 0);
  for (const v of [s.minMs, s.meanMs, s.p50Ms, s.p99Ms, s.maxMs]) assert.ok(Number.isNaN(v));
});

test('values above one hour are clamped and counted; negative values are refused', () => {
  const r = new LatencyRecorder();
  r.recordMs(2 * 3600 * 1000);
  assert.equal(r.clampedCount, 1);
  assert.equal(r.summary().maxMs, HIGHEST_TRACKABLE_US / 1000);
  assert.throws(() => r.recordMs(-1), RangeError);
  assert.throws(() => r.recordUs(NaN), RangeError);
});

test('merge combines counts, extremes and percentiles', () => {
  const a = new LatencyRecorder();
  const b = new LatencyRecorder({ compact: true });
  for (let i = 0; i < 99; i++) a.recordMs(1);
  b.recordMs(100);
  a.merge(b);
  const s = a.summary();
  assert.equal(s.count, 100);
  assert.equal(s.maxMs, 100);
  assert.equal(s.minMs, 1);
  near(s.meanMs, (99 + 100) / 100);
  near(s.p99Ms, 1);
  near(s.p999Ms, 100);
});

test('reset forgets everything', () => {
  const r = new LatencyRecorder();
  r.recordMs(5);
  r.reset();
  assert.equal(r.count, 0);
  r.recordMs(2);
  assert.equal(r.summary().maxMs, 2);
});

test('the encoded histogram decodes to the same percentiles', () => {
  const r = new LatencyRecorder();
  for (let i = 1; i <= 500; i++) r.recordUs(i * 37);
  const back = LatencyRecorder.decodeHistogram(r.encodeHistogram());
  const [s, t] = [r.summary(), back.summary()];
  assert.equal(t.count, s.count);
  assert.equal(t.p99Ms, s.p99Ms);
  near(t.maxMs, s.maxMs);
  near(t.minMs, s.minMs);
  near(t.meanMs, s.meanMs);
});
