import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeSeries } from './timeseries';

test('operations fall into the interval of their completion time', () => {
  const ts = new TimeSeries({ intervalMs: 1000, startMs: 10_000 });
  for (let i = 0; i < 100; i++) ts.record(10_000 + i, 1);
  for (let i = 0; i < 50; i++) ts.record(11_500, i === 49 ? 200 : 2);
  ts.recordError(11_600);
  const points = ts.points();
  assert.equal(points.length, 2);
  assert.deepEqual(points.map((p) => [p.tSec, p.ops, p.errors, p.opsPerSec]), [
    [0, 100, 0, 100],
    [1, 50, 1, 50],
  ]);
  assert.equal(points[0]!.p99Ms, 1);
  assert.ok(Math.abs(points[1]!.p99Ms - 200) < 0.2, `p99 ${points[1]!.p99Ms}`);
});

test('an interval without operations shows as zero ops and NaN p99 (a stall is visible)', () => {
  const ts = new TimeSeries({ intervalMs: 500, startMs: 0 });
  ts.record(100, 1);
  ts.record(1600, 1);
  const points = ts.points();
  assert.deepEqual(points.map((p) => p.tSec), [0, 0.5, 1, 1.5]);
  assert.deepEqual(points.map((p) => p.ops), [1, 0, 0, 1]);
  assert.ok(Number.isNaN(points[1]!.p99Ms));
  assert.equal(points[0]!.opsPerSec, 2);
});

test('points(endMs) runs to the end and rates the partial last interval by its covered time', () => {
  const ts = new TimeSeries({ intervalMs: 1000, startMs: 0 });
  ts.record(500, 1);
  ts.record(1100, 1);
  const points = ts.points(1250);
  assert.equal(points.length, 2);
  assert.equal(points[1]!.opsPerSec, 4);
  assert.equal(ts.points(3500).length, 4);
});
