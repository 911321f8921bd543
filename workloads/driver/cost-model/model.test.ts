import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addedRttMs, cheaperMode, predictClient, predictPushdown, relativeError, unhiddenShare, waves, wireMs, type Calibration } from './model';

/** Round numbers so every term can be checked by hand. */
const CAL: Calibration = {
  regions: 8,
  concurrency: 4,
  rttMs: { unlimited: 0.5, slow: 2.5 },
  unshapedRttMs: 0.5,
  linkBytesPerSec: { unlimited: null, slow: 1_000_000 },
  pushdownOverheadMs: 10,
  clientOverheadMs: 4,
  nodeScanRowsPerSec: 1_000_000,
  clientPullRowsPerSec: 200_000,
  wireBytesPerRow: 100,
  clientHandleRowsPerSec: 1_000_000,
  pushdownResultBytesPerSec: 100_000_000,
  clientResultBytesPerSec: 50_000_000,
  scanBatchRows: 1000,
  clientWireUnhidden: {},
};

test('waves and added RTT', () => {
  assert.equal(waves(8, 4), 2);
  assert.equal(waves(9, 4), 3);
  assert.equal(waves(3, 4), 1);
  assert.equal(waves(0, 4), 1);
  assert.equal(addedRttMs(CAL, 'unlimited'), 0);
  assert.equal(addedRttMs(CAL, 'slow'), 2);
  assert.equal(addedRttMs(CAL, 'unknown-link'), 0);
  assert.equal(addedRttMs({ ...CAL, rttMs: { fast: 0.2 } }, 'fast'), 0, 'never negative');
  assert.equal(wireMs(CAL, 'unlimited', 1e9), 0);
  assert.equal(wireMs(CAL, 'slow', 500_000), 500);
});

test('pushdown: overhead + scan + the slower of the result path and the result on the wire (scan and result path add up)', () => {
  const shape = { rows: 100_000, regions: 8, concurrency: 4, resultBytes: 1_000_000, answerBytes: 0 };
  const unlimited = predictPushdown(CAL, 'unlimited', shape);
  assert.deepEqual(unlimited.terms, { overhead: 10, scan: 100, result: 10, resultWire: 0 });
  assert.equal(unlimited.totalMs, 120);
  const heavy = predictPushdown(CAL, 'unlimited', { ...shape, resultBytes: 50_000_000 });
  assert.equal(heavy.terms.result, 500);
  assert.equal(heavy.totalMs, 610, 'the result path comes on top of the scan');
  const slow = predictPushdown(CAL, 'slow', shape);
  // 2 waves × 2 ms added RTT; 1 MB at 1 MB/s outlasts the result path it overlaps, after the scan.
  assert.deepEqual(slow.terms, { overhead: 14, scan: 100, result: 10, resultWire: 1000 });
  assert.equal(slow.totalMs, 1114);
  const small = predictPushdown(CAL, 'slow', { ...shape, resultBytes: 50_000 });
  assert.equal(small.terms.resultWire, 50);
  assert.equal(small.totalMs, 14 + 100 + 50);
});

test("the answer's bytes go through the result path in both modes, but not over the wire", () => {
  const shape = { rows: 100_000, regions: 8, concurrency: 4, resultBytes: 1_000_000, answerBytes: 0 };
  const merged = { ...shape, answerBytes: 4_000_000 };
  assert.equal(predictPushdown(CAL, 'unlimited', merged).terms.result, 50, '5 MB at the 100 MB/s result path');
  assert.equal(predictPushdown(CAL, 'slow', merged).terms.resultWire, predictPushdown(CAL, 'slow', shape).terms.resultWire, 'only partials cross the link');
  assert.equal(predictClient(CAL, 'unlimited', merged).terms.result, predictClient(CAL, 'unlimited', { ...shape, resultBytes: 5_000_000 }).terms.result);
  assert.equal(predictClient(CAL, 'slow', merged).terms.dataWire, predictClient(CAL, 'slow', shape).terms.dataWire);
});

test('pushdown overhead scales with the waves of regions', () => {
  const twice = predictPushdown(CAL, 'unlimited', { rows: 0, regions: 16, concurrency: 4, resultBytes: 0, answerBytes: 0 });
  assert.equal(twice.terms.overhead, 20);
  assert.equal(twice.totalMs, 20);
});

test('client: overhead + the largest of client CPU, data wire and batch round trips', () => {
  const shape = { rows: 100_000, regions: 8, concurrency: 4, resultBytes: 1_000_000, answerBytes: 0 };
  const unlimited = predictClient(CAL, 'unlimited', shape);
  // pull 500 ms + handle 100 ms + result path 20 ms of CPU; no wire or RTT cost on the unlimited link.
  assert.deepEqual(unlimited.terms, { overhead: 4, pull: 500, handle: 100, result: 20, dataWire: 0, batchRoundTrips: 0, unhidden: 0 });
  assert.equal(unlimited.totalMs, 624);
  const slow = predictClient(CAL, 'slow', shape);
  // 10 MB of rows at 1 MB/s dominates; (100 + 8) batches × 2 ms / 4 streams = 54 ms.
  assert.equal(slow.terms.dataWire, 10_000);
  assert.equal(slow.terms.batchRoundTrips, 54);
  assert.equal(slow.terms.overhead, 8);
  assert.equal(slow.totalMs, 10_008);
});

test('client: the measured unhidden share of the smaller of CPU and wire adds to the larger, and is recovered from a measured call', () => {
  const shape = { rows: 100_000, regions: 8, concurrency: 4, resultBytes: 1_000_000, answerBytes: 0 };
  // CPU 620 ms hides under 10 000 ms of wire, except the quarter the link's calibration call did not hide.
  const cal: Calibration = { ...CAL, clientWireUnhidden: { slow: 0.25 } };
  const slow = predictClient(cal, 'slow', shape);
  assert.equal(slow.terms.unhidden, 155);
  assert.equal(slow.totalMs, 10_008 + 155);
  assert.equal(predictClient(cal, 'unlimited', shape).terms.unhidden, 0, 'no wire, nothing to hide behind');
  assert.equal(unhiddenShare(CAL, 'slow', shape, 10_008 + 155), 0.25);
  assert.equal(unhiddenShare(CAL, 'slow', shape, 9_000), 0, 'faster than max(CPU, wire): nothing unhidden');
  assert.equal(unhiddenShare(CAL, 'slow', shape, 20_000), 1, 'at most all of it');
  assert.equal(unhiddenShare(CAL, 'unlimited', shape, 2_000), 0, 'an unlimited link has no wire time');
});

test('client: RTT-bound when the link is fast but far', () => {
  const far: Calibration = { ...CAL, rttMs: { far: 100.5 }, linkBytesPerSec: { far: null } };
  const p = predictClient(far, 'far', { rows: 100_000, regions: 8, concurrency: 4, resultBytes: 0, answerBytes: 0 });
  assert.equal(p.terms.batchRoundTrips, (108 * 100) / 4);
  assert.equal(p.totalMs, 4 + 2 * 100 + 2700);
});

test('a workload that scans nothing costs only the overhead', () => {
  const noScan: Calibration = { ...CAL, nodeScanRowsPerSec: null, clientPullRowsPerSec: null, wireBytesPerRow: null, clientHandleRowsPerSec: null };
  const shape = { rows: 0, regions: 8, concurrency: 4, resultBytes: 0, answerBytes: 0 };
  assert.equal(predictPushdown(noScan, 'unlimited', shape).totalMs, 10);
  assert.equal(predictClient(noScan, 'unlimited', shape).totalMs, 4);
});

test('cheaperMode: pushdown when the result is small or the link slow; client when the result is the data and the link free', () => {
  const small = { rows: 100_000, regions: 8, concurrency: 4, resultBytes: 1000, answerBytes: 0 };
  assert.equal(cheaperMode(CAL, 'slow', small).mode, 'pushdown');
  // Client-side CPU is cheap here and the pushdown result costs as much as the data.
  const cheapClient: Calibration = { ...CAL, clientPullRowsPerSec: 10_000_000, clientHandleRowsPerSec: 10_000_000, nodeScanRowsPerSec: 100_000 };
  const all = { rows: 100_000, regions: 8, concurrency: 4, resultBytes: 10_000_000, answerBytes: 0 };
  const choice = cheaperMode(cheapClient, 'unlimited', all);
  assert.equal(choice.mode, 'client');
  assert.ok(choice.client.totalMs < choice.pushdown.totalMs);
});

test('relativeError', () => {
  assert.equal(relativeError(150, 100), 0.5);
  assert.equal(relativeError(50, 100), -0.5);
  assert.equal(relativeError(null, 100), null);
  assert.equal(relativeError(10, 0), null);
});
