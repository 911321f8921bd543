/**
 * simple-statistics, for the whole tree: its median and quantile, and the module itself for the
 * rest. It ships a CommonJS build, but its package is "type": "module", so TypeScript refuses a
 * static import from CommonJS; require the CommonJS build and type it from the declarations.
 */
export const simpleStatistics = require('simple-statistics') as typeof import('simple-statistics', { with: { 'resolution-mode': 'import' } });

/** The median (the mean of the middle two for an even count); the input is not reordered. */
export function median(values: ReadonlyArray<number>): number {
  return simpleStatistics.median([...values]);
}

/** The q-quantile (0..1) of `values`, as simple-statistics computes it; the input is not reordered. */
export function quantile(values: ReadonlyArray<number>, q: number): number {
  return simpleStatistics.quantile([...values], q);
}
