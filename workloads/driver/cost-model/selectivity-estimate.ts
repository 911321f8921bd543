/**
 * Expected result size of a query, estimated the way an optimizer uses sampled statistics: the
 * plugin's own `handle` runs in-process on a small uniform random sample of rows (pulled once
 * during calibration), per region, and each region's partial is scaled up to the region's size.
 * Never from the measured answer of the query itself.
 *
 * How a partial scales with the rows behind it depends on what it holds:
 * - `linear` items (matching rows of a filter): items ≈ sample items × region rows / sample rows,
 *   capped by any known upper bound (e.g. k of a top-k, a limit);
 * - `distinct` items (groups of an aggregate): the number of distinct groups in the region is
 *   estimated from the sample's group frequencies with the bias-corrected Chao1 estimator
 *   (d + f1(f1−1) / (2(f2+1)); d distinct seen, f1 seen once, f2 seen twice), capped by the region's
 *   rows and by any known upper bound (e.g. a group-by modulo);
 * - a partial without items (a count, a single group) keeps its sampled size.
 * Bytes scale with items: region bytes ≈ sampled partial bytes × estimated items / sampled items.
 */
import type { PartialGrowth } from '../../../engine/plugin-api';

/** One region's sample. */
export interface RegionSample {
  /** Sampled rows that fell in the region. */
  sampleRows: number;
  /** Estimated rows in the whole region. */
  regionRows: number;
  /** Packed bytes of the region's partial on the sample. */
  partBytes: number;
  /** What the plugin's `partialItems` hint says about the region's partial. */
  items: PartialGrowth;
}

/** Bias-corrected Chao1 estimate of the distinct values behind sampled frequencies. */
export function chao1(frequencies: number[]): number {
  let f1 = 0;
  let f2 = 0;
  for (const f of frequencies) {
    if (f === 1) f1++;
    else if (f === 2) f2++;
  }
  return frequencies.length + (f1 * (f1 - 1)) / (2 * (f2 + 1));
}

/** Estimated items of a region's whole partial. */
export function estimateRegionItems(sample: RegionSample): number {
  const { items, scaling, frequencies, upperBound } = sample.items;
  if (items === 0 || sample.sampleRows === 0) return 0;
  if (scaling === 'linear') return Math.min(items * (sample.regionRows / sample.sampleRows), upperBound ?? Infinity);
  const estimate = frequencies && frequencies.length > 0 ? chao1(frequencies) : items;
  return Math.max(items, Math.min(estimate, sample.regionRows, upperBound ?? Infinity));
}

/** Estimated packed bytes of a region's whole partial. */
export function estimateRegionBytes(sample: RegionSample): number {
  if (sample.items.items === 0) return sample.partBytes;
  return sample.partBytes * (estimateRegionItems(sample) / sample.items.items);
}

/** Estimated bytes of all partials together (what pushdown sends back). */
export function estimateResultBytes(samples: RegionSample[]): number {
  return samples.reduce((total, s) => total + estimateRegionBytes(s), 0);
}

/**
 * Spreads `totalRows` over regions in proportion to the sample rows that fell in each (a uniform
 * sample: each region's share of the sample estimates its share of the rows).
 */
export function regionRowsFromSample(sampleRowsPerRegion: number[], totalRows: number): number[] {
  const sampled = sampleRowsPerRegion.reduce((a, b) => a + b, 0);
  if (sampled === 0) return sampleRowsPerRegion.map(() => totalRows / Math.max(1, sampleRowsPerRegion.length));
  return sampleRowsPerRegion.map((n) => (totalRows * n) / sampled);
}

/** `count` distinct integers in [0, n), drawn uniformly without replacement from `random` (Floyd's algorithm). */
export function sampleIds(n: number, count: number, random: () => number): number[] {
  const k = Math.min(n, count);
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = Math.floor(random() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}
