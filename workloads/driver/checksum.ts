/**
 * Answer checksums: pushdown and client answers must be equal. Numbers are rounded to 12
 * significant digits first, so two exact computations that merge partials in another grouping
 * (e.g. after a region split) still agree, while any real difference shows.
 */
import { createHash } from 'node:crypto';
import { pack } from 'msgpackr';

function canonical(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Number(value.toPrecision(12)) : String(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A short hex digest of an answer. */
export function answerChecksum(result: unknown): string {
  return createHash('sha256').update(pack(canonical(result))).digest('hex').slice(0, 16);
}
