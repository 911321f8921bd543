/**
 * Runs one async step per work unit with at most `concurrency` in flight, and returns the results
 * in unit order whatever order they finished in: merge sees partials in key order in both paths.
 */
import type { WorkUnit } from './layout';

export async function mapUnits<T>(units: readonly WorkUnit[], concurrency: number, step: (unit: WorkUnit) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(units.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < units.length) {
      const at = next++;
      results[at] = await step(units[at]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, units.length)) }, worker));
  return results;
}
