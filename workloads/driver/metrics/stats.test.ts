import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linearFit, meanWithCI, meanWithCI95, normalQuantile, studentTQuantile } from './stats';

function close(actual: number, expected: number, tolerance: number): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
}

test('t quantiles match published tables (two-sided 95% and 99%)', () => {
  const table95: Array<[number, number]> = [
    [1, 12.706],
    [2, 4.303],
    [3, 3.182],
    [4, 2.776],
    [5, 2.571],
    [9, 2.262],
    [10, 2.228],
    [20, 2.086],
    [30, 2.042],
    [60, 2.0],
    [120, 1.98],
  ];
  for (const [df, t] of table95) close(studentTQuantile(0.975, df), t, 0.0006);
  close(studentTQuantile(0.995, 1), 63.657, 0.0006);
  close(studentTQuantile(0.995, 10), 3.169, 0.0006);
  close(studentTQuantile(0.95, 7), 1.895, 0.0006);
});

test('t quantiles tend to the normal one for large df, continuously across the series switch', () => {
  close(studentTQuantile(0.975, Infinity), 1.959964, 1e-6);
  close(studentTQuantile(0.975, 1_000_000), 1.959966, 1e-6);
  // df = 1000 uses the exact CDF, 1001 the expansion: they agree to well under 1e-6.
  close(studentTQuantile(0.975, 1000), 1.962339, 1e-6);
  close(studentTQuantile(0.975, 1001), 1.962337, 1e-6);
  assert.equal(studentTQuantile(0.5, 3), 0);
  close(studentTQuantile(0.025, 4), -2.776445, 1e-6);
  assert.throws(() => studentTQuantile(0.975, 0), RangeError);
  assert.throws(() => studentTQuantile(1, 5), RangeError);
});

test('the normal quantile is exact to many digits', () => {
  close(normalQuantile(0.975), 1.959963984540054, 1e-12);
  close(normalQuantile(0.8413447460685429), 1, 1e-12);
  close(normalQuantile(1e-10), -6.361340902404056, 1e-9);
});

test('meanWithCI95 of five values uses t(0.975, 4)', () => {
  const r = meanWithCI95([10, 12, 11, 13, 14]);
  assert.equal(r.n, 5);
  assert.equal(r.mean, 12);
  close(r.stddev, Math.sqrt(2.5), 1e-12);
  close(r.halfWidth, (2.776445 * Math.sqrt(2.5)) / Math.sqrt(5), 1e-5);
  close(r.ciLow, 12 - r.halfWidth, 1e-12);
  close(r.ciHigh, 12 + r.halfWidth, 1e-12);
});

test('one value gives its mean with an unbounded interval; no values give NaN', () => {
  assert.deepEqual(meanWithCI95([7]), { n: 1, mean: 7, stddev: NaN, ciLow: -Infinity, ciHigh: Infinity, halfWidth: Infinity });
  const empty = meanWithCI95([]);
  assert.equal(empty.n, 0);
  assert.ok(Number.isNaN(empty.mean) && Number.isNaN(empty.ciLow));
  assert.throws(() => meanWithCI95([1, NaN]), RangeError);
});

test('identical values give a zero-width interval; other confidences widen or narrow it', () => {
  const r = meanWithCI95([3, 3, 3]);
  assert.equal(r.halfWidth, 0);
  const values = [1, 2, 3, 4, 5, 6];
  assert.ok(meanWithCI(values, 0.99).halfWidth > meanWithCI95(values).halfWidth);
  assert.ok(meanWithCI(values, 0.9).halfWidth < meanWithCI95(values).halfWidth);
});

test('linearFit recovers an exact line and scores a noisy one', () => {
  const exact = linearFit([0, 1, 2, 3], [1, 3, 5, 7]);
  assert.deepEqual(exact, { slope: 2, intercept: 1, r2: 1 });
  const noisy = linearFit([1, 2, 3, 4, 5], [2.1, 3.9, 6.2, 7.8, 10.1]);
  close(noisy.slope, 1.99, 1e-9);
  close(noisy.intercept, 0.05, 1e-9);
  assert.ok(noisy.r2 > 0.99 && noisy.r2 < 1);
  assert.deepEqual(linearFit([1, 2, 3], [4, 4, 4]), { slope: 0, intercept: 4, r2: 1 });
});

test('linearFit refuses mismatched or too few points and gives NaN for a vertical line', () => {
  assert.throws(() => linearFit([1, 2], [1]), RangeError);
  assert.throws(() => linearFit([1], [1]), RangeError);
  const vertical = linearFit([2, 2, 2], [1, 2, 3]);
  assert.ok(Number.isNaN(vertical.slope) && Number.isNaN(vertical.r2));
});
