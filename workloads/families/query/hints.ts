/**
 * A plugin's cost hints (plugin-api.ts `cost`) with the harness's defaults filled in, and a note
 * for every hint the plugin left out: the cost model's predictions are coarser without them, and
 * the summary and report say so.
 */
import type { PartialGrowth, Plugin } from '../../../engine/plugin-api';

export interface ResolvedHints {
  scansRows: boolean;
  /** A request with the same per-row work and the smallest result; null: none (nothing to time). */
  scanOnly(request: unknown): unknown | null;
  /** A request with the largest result; null: none (the result path is timed on msgpack instead). */
  resultHeavy(request: unknown): unknown | null;
  partialItems(partial: unknown, request: unknown): PartialGrowth;
  rowsReturned(result: unknown): number;
  /** null when the plugin does not say which rows it selected. */
  rowsMatched(result: unknown): number | null;
  /** One line per missing hint: what the harness does instead. */
  coarser: string[];
}

/** The default row count of an answer: an array's length, an object's `rows` array, else 1 (null: 0). */
function defaultRowsReturned(result: unknown): number {
  if (result === null || result === undefined) return 0;
  if (Array.isArray(result)) return result.length;
  const rows = (result as { rows?: unknown }).rows;
  return Array.isArray(rows) ? rows.length : 1;
}

export function resolveHints(plugin: Plugin): ResolvedHints {
  const cost = plugin.cost ?? {};
  const coarser: string[] = [];
  const scansRows = cost.scansRows ?? true;
  if (scansRows && !cost.scanOnly) coarser.push('no scanOnly hint: the scan rate is timed on the request itself, result path included');
  if (scansRows && !cost.resultHeavy) coarser.push('no resultHeavy hint: the result path rate comes from msgpack of sampled rows, not from the plugin');
  if (scansRows && !cost.partialItems) coarser.push("no partialItems hint: each region's result is assumed as large as on the row sample (it does not grow with the region)");
  return {
    scansRows,
    scanOnly: (request) => (cost.scanOnly ? (cost.scanOnly as (r: unknown) => unknown)(request) : request),
    resultHeavy: (request) => (cost.resultHeavy ? (cost.resultHeavy as (r: unknown) => unknown)(request) : null),
    partialItems: (partial, request) => (cost.partialItems ? (cost.partialItems as (p: unknown, r: unknown) => PartialGrowth)(partial, request) : { items: 0, scaling: 'linear' }),
    rowsReturned: (result) => (cost.rowsReturned ? (cost.rowsReturned as (r: unknown) => number)(result) : defaultRowsReturned(result)),
    rowsMatched: (result) => (cost.rowsMatched ? (cost.rowsMatched as (r: unknown) => number)(result) : null),
    coarser,
  };
}
