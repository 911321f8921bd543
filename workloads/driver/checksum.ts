/**
 * Answer checksums: pushdown and client answers must be equal. Numbers are rounded to 12
 * significant digits first, so two exact computations that merge partials in another grouping
 * (e.g. after a region split) still agree, while any real difference shows; object keys are taken
 * in sorted order; byte strings count by their bytes.
 *
 * The answer is walked once and fed to the hash as it goes (a type tag, a length, the content;
 * byte strings straight from their memory), not turned into a canonical copy first: for a filter
 * that returns every row, a copy with each value in base64 held about as much again as the answer.
 */
import { createHash, type Hash } from 'node:crypto';

const TAG = { number: 0x6e, text: 0x73, bytes: 0x62, array: 0x61, object: 0x6f, true: 0x74, false: 0x66, null: 0x7a, undefined: 0x75, bigint: 0x69 } as const;

class CanonicalHash {
  private readonly hash: Hash = createHash('sha256');
  private readonly head = Buffer.alloc(9);

  add(value: unknown): void {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return this.text(TAG.text, String(value));
      this.head[0] = TAG.number;
      this.head.writeDoubleLE(Number(value.toPrecision(12)), 1);
      this.hash.update(this.head);
    } else if (typeof value === 'string') {
      this.text(TAG.text, value);
    } else if (value instanceof Uint8Array) {
      this.tagged(TAG.bytes, value.byteLength);
      this.hash.update(value);
    } else if (Array.isArray(value)) {
      this.tagged(TAG.array, value.length);
      for (const item of value) this.add(item);
    } else if (typeof value === 'bigint') {
      this.text(TAG.bigint, value.toString());
    } else if (value === null || value === undefined || typeof value === 'boolean') {
      this.tagged(value === null ? TAG.null : value === undefined ? TAG.undefined : value ? TAG.true : TAG.false, 0);
    } else if (typeof value === 'object') {
      const keys = Object.keys(value).sort();
      this.tagged(TAG.object, keys.length);
      for (const key of keys) {
        this.text(TAG.text, key);
        this.add((value as Record<string, unknown>)[key]);
      }
    } else {
      this.text(TAG.text, String(value));
    }
  }

  digest(): string {
    return this.hash.digest('hex').slice(0, 16);
  }

  private tagged(tag: number, length: number): void {
    this.head[0] = tag;
    this.head.writeUInt32LE(length, 1);
    this.hash.update(this.head.subarray(0, 5));
  }

  private text(tag: number, text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.tagged(tag, bytes.byteLength);
    this.hash.update(bytes);
  }
}

/** A short hex digest of an answer. */
export function answerChecksum(result: unknown): string {
  const hash = new CanonicalHash();
  hash.add(result);
  return hash.digest();
}
