import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsCount, RECOUNT_SPACING, uncountedRegion, type RegionSize } from './region-size';

const POLICY = { splitKeys: 100_000, splitBytes: 64 << 20 };

/** A region counted at `countedAt` with a scan of `countMs`, holding `keys` rows, with `writesSince` writes since. */
function counted(keys: number, writesSince: number, countedAt = 1_000, countMs = 25): RegionSize {
  return { ...uncountedRegion(), counted: true, keys, bytes: keys * 100, writesSince, bytesWrittenSince: writesSince * 100, countedAt, countMs };
}

test('a region is counted once after it appears', () => {
  assert.equal(needsCount(uncountedRegion(), POLICY, 0), true);
});

test('a region under the threshold is not counted again, however many writes it saw', () => {
  assert.equal(needsCount(counted(10_000, 80_000), POLICY, 1e9), false);
});

test('a region that may be over the threshold is counted after a quarter of the threshold in new writes', () => {
  assert.equal(needsCount(counted(77_000, 24_999), POLICY, 1e9), false, 'over the threshold by the estimate, but too few new writes');
  assert.equal(needsCount(counted(77_000, 25_000), POLICY, 1e9), true);
});

test('a hot region is counted again no sooner than RECOUNT_SPACING times its last scan', () => {
  // A 77k-row region whose scan took 25 ms, overwritten on one key at 250k writes/s: by the estimate
  // it is over the threshold on every heartbeat.
  const size = counted(77_000, 125_000, 1_000, 25);
  assert.equal(needsCount(size, POLICY, 1_000 + RECOUNT_SPACING * 25 - 1), false);
  assert.equal(needsCount(size, POLICY, 1_000 + RECOUNT_SPACING * 25), true);
});
