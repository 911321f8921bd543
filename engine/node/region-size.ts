/**
 * A node's estimate of each region's size, which placement uses to decide splits: an exact count
 * from a scan of the region, plus the writes seen since (an overwrite counts as a new row until the
 * next count), and when the region must be counted again.
 */
import type { SplitPolicy } from '../placement/cluster-map';

export interface RegionSize {
  counted: boolean;
  keys: number;
  bytes: number;
  writesSince: number;
  bytesWrittenSince: number;
  /** Split keys (hex) proposed for this region at its current epoch. */
  splitKeys?: string[];
  /** When the last count's scan ended (performance.now() ms) and how long it took (ms). */
  countedAt: number;
  countMs: number;
}

export function uncountedRegion(): RegionSize {
  return { counted: false, keys: 0, bytes: 0, writesSince: 0, bytesWrittenSince: 0, countedAt: 0, countMs: 0 };
}

/**
 * A region is counted again at most once per this many times its last count took, so counts use at
 * most ~1% of the node's main thread. Under redis-benchmark SET -P 16 on one hot key, a 77k-row
 * region was rescanned on every heartbeat (the overwrites looked like new rows), ~10% of the
 * node's main thread in its CPU profile; with a spacing of 20 (~5%), perf still put the counts of
 * an 80k-row region at ~1.7 µs per SET under SET -c 50.
 */
export const RECOUNT_SPACING = 100;

/** True when the estimate may be over the split threshold: the region is then counted exactly. */
export function overThreshold(size: RegionSize, policy: SplitPolicy): boolean {
  return size.keys + size.writesSince > policy.splitKeys || size.bytes + size.bytesWrittenSince > policy.splitBytes;
}

/**
 * Whether to scan the region now: once after it appears, then only while it may be over the
 * threshold, after a meaningful amount of new writes (a quarter of the threshold, so a region that
 * stays oversized — a split pending, or auto-split off — is not rescanned on every beat), and no
 * sooner than RECOUNT_SPACING times the last scan's duration.
 */
export function needsCount(size: RegionSize, policy: SplitPolicy, now: number): boolean {
  if (!size.counted) return true;
  const enoughNewWrites = size.writesSince * 4 >= policy.splitKeys || size.bytesWrittenSince * 4 >= policy.splitBytes;
  return overThreshold(size, policy) && enoughNewWrites && now - size.countedAt >= RECOUNT_SPACING * size.countMs;
}
