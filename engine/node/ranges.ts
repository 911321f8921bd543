/** Set arithmetic on half-open key ranges (`end` empty = +infinity). */
import type { KeyRange } from '../storage/store';

function endCompare(a: Buffer, b: Buffer): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return Buffer.compare(a, b);
}

/** The parts of `from` not covered by any range of `minus`. */
export function subtractRanges(from: ReadonlyArray<KeyRange>, minus: ReadonlyArray<KeyRange>): KeyRange[] {
  let pieces: KeyRange[] = from.map((r) => ({ start: r.start, end: r.end }));
  for (const cut of minus) {
    const next: KeyRange[] = [];
    for (const p of pieces) {
      // No overlap: p ends before cut starts, or p starts at/after cut ends.
      if (p.end.length > 0 && Buffer.compare(p.end, cut.start) <= 0) {
        next.push(p);
        continue;
      }
      if (cut.end.length > 0 && Buffer.compare(p.start, cut.end) >= 0) {
        next.push(p);
        continue;
      }
      if (Buffer.compare(p.start, cut.start) < 0) next.push({ start: p.start, end: cut.start });
      if (cut.end.length > 0 && endCompare(p.end, cut.end) > 0) next.push({ start: cut.end, end: p.end });
    }
    pieces = next;
  }
  return pieces.filter((p) => p.end.length === 0 || Buffer.compare(p.start, p.end) < 0);
}
