/**
 * The client's RESP2 reply reader. Unlike the protocol's RespReader (whose values are views of the
 * socket chunks they arrived in), it keeps nothing that refers to the bytes it is fed: bulk strings
 * are copied out as they arrive (small ones into 16 KiB slabs shared with their neighbours, as
 * Node's Buffer pool shares 8 KiB; larger ones into buffers of their exact size), and an unfinished
 * header line into a small carry buffer. So a connection can read its socket into one reused buffer
 * (no allocation per read), and a value the caller keeps holds at most 16 KiB besides its own
 * bytes, not the 64 KiB socket chunk it arrived in.
 *
 * What it holds between calls is bounded by the reply being read: its decoded prefix, one bulk
 * being filled, and at most one header line (≤ maxLineBytes).
 */
import { DEFAULT_READER_LIMITS, RespError, RespProtocolError, decimalAt, type RespReaderLimits, type RespValue } from '../protocol/resp';

const CR = 13;
const LF = 10;
/**
 * Small bulks that arrive whole are copied a slab at a time (one allocation and one copy per slab,
 * not per value) and handed out as views of it, so a value the caller keeps holds at most a slab.
 * Bulks over half a slab get a buffer of their own. Measured on 1000-byte rows: Buffer.allocUnsafe
 * + copy per value cost ~490 ns per row in a parse micro-benchmark (RespReader's views: ~200), 8 KiB
 * slabs ~360 and 0.90-0.99x the old client's scan rows/s in paired runs; 16 KiB slabs 0.94-1.04x.
 */
const SLAB_BYTES = 16 * 1024;

interface OpenArray {
  items: RespValue[];
  left: number;
}

export class ReplyReader {
  private readonly limits: Omit<RespReaderLimits, 'maxRequestBytes'>;
  private readonly stack: OpenArray[] = [];
  /** An unfinished header line (type byte included) carried over to the next chunk. */
  private line = Buffer.alloc(0);
  private lineLength = 0;
  /** The bulk string being filled, and how many of its bytes have arrived. */
  private bulk: Buffer | undefined;
  private bulkFilled = 0;
  /** Bytes of the CRLF after a filled bulk still to come (the bulk completes after them). */
  private trailerLeft = 0;
  /** The slab copied from the chunk being fed, and which bytes of that chunk it holds. */
  private slab = Buffer.alloc(0);
  private slabChunk: Buffer | undefined;
  private slabFrom = 0;
  private slabTo = 0;
  /** The `onHead` of the feed in progress (see feed). */
  private onHead: ((first: RespValue) => void) | undefined;

  constructor(limits: Partial<Omit<RespReaderLimits, 'maxRequestBytes'>> = {}) {
    this.limits = { ...DEFAULT_READER_LIMITS, ...limits };
  }

  /**
   * Parses `chunk` whole and calls `onValue` with every top-level reply it completes, in order.
   * `chunk` may be reused by the caller as soon as this returns. Throws RespProtocolError on bytes
   * that are not RESP (the connection cannot be resynchronised).
   *
   * `onHead` is called with the first item of a top-level array as soon as that item is complete,
   * before the rest of the array has arrived: a scan reply leads with its continuation cursor, so
   * the next request can be sent while this one is still being read.
   */
  feed(chunk: Buffer, onValue: (value: RespValue) => void, onHead?: (first: RespValue) => void): void {
    this.slabChunk = undefined;
    this.onHead = onHead;
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      if (this.bulk !== undefined) {
        p = this.fillBulk(chunk, p, onValue);
        continue;
      }
      if (this.lineLength === 0 && chunk[p] === 0x24 /* '$' */) {
        const after = this.wholeBulk(chunk, p, onValue);
        if (after > 0) {
          p = after;
          continue;
        }
      }
      const lf = chunk.indexOf(LF, p);
      if (lf < 0 || this.lineLength > 0) {
        const end = lf < 0 ? n : lf + 1;
        this.carryLine(chunk, p, end);
        p = end;
        if (lf < 0) break;
        const line = this.line.subarray(0, this.lineLength);
        this.lineLength = 0;
        this.header(line, 0, line.length - 1, onValue);
        continue;
      }
      p = this.header(chunk, p, lf, onValue, true);
    }
  }

  /**
   * One header line `buf[start, lf]` (type byte first, LF at `lf`). When `inline` (the line is in
   * the fed chunk, not the carry), a bulk that follows whole is taken at once; returns the position
   * after what was consumed.
   */
  private header(buf: Buffer, start: number, lf: number, onValue: (value: RespValue) => void, inline = false): number {
    if (lf - start > this.limits.maxLineBytes) throw new RespProtocolError('Protocol error: line too long');
    const lineEnd = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
    const type = buf[start]!;
    let next = lf + 1;
    switch (type) {
      case 0x24 /* '$' */: {
        const length = this.size(buf, start + 1, lineEnd, 'bulk length');
        if (length === -1) {
          this.complete(null, onValue);
          break;
        }
        if (length < 0) throw new RespProtocolError('Protocol error: invalid bulk length');
        if (length > this.limits.maxBulkBytes) throw new RespProtocolError(`Protocol error: bulk length ${length} over the limit of ${this.limits.maxBulkBytes}`);
        if (inline && next + length + 2 <= buf.length) {
          // Whole in this chunk, but its header was not one wholeBulk takes (a line ending in a bare
          // LF): copied out the same way.
          const end = next + length;
          if (buf[end] !== CR || buf[end + 1] !== LF) throw new RespProtocolError('Protocol error: bulk string not followed by CRLF');
          this.complete(this.copyOut(buf, next, end), onValue);
          return end + 2;
        }
        this.bulk = Buffer.allocUnsafe(length);
        this.bulkFilled = 0;
        this.trailerLeft = 2;
        break;
      }
      case 0x2a /* '*' */: {
        const length = this.size(buf, start + 1, lineEnd, 'multibulk length');
        if (length === -1) {
          this.complete(null, onValue);
          break;
        }
        if (length < 0) throw new RespProtocolError('Protocol error: invalid multibulk length');
        if (length > this.limits.maxArrayLength) throw new RespProtocolError(`Protocol error: array of ${length} over the limit of ${this.limits.maxArrayLength}`);
        if (length === 0) {
          this.complete([], onValue);
          break;
        }
        if (this.stack.length >= this.limits.maxDepth) throw new RespProtocolError('Protocol error: nesting too deep');
        this.stack.push({ items: [], left: length });
        break;
      }
      case 0x2b /* '+' */:
        this.complete(buf.toString('latin1', start + 1, lineEnd), onValue);
        break;
      case 0x2d /* '-' */:
        this.complete(new RespError(buf.toString('latin1', start + 1, lineEnd)), onValue);
        break;
      case 0x3a /* ':' */:
        this.complete(this.size(buf, start + 1, lineEnd, 'integer'), onValue);
        break;
      default:
        throw new RespProtocolError(`Protocol error: unknown type byte 0x${type.toString(16)}`);
    }
    return next;
  }

  /**
   * A bulk string `$<len>\r\n<bytes>\r\n` that starts at `p` and lies whole in `chunk` (most of a
   * scan reply): its header parsed here without a native indexOf, its bytes copied; returns the
   * position after it, or -1 to leave anything else (incomplete, negative, malformed, over the
   * limit) to the general path, which decodes or refuses it.
   */
  private wholeBulk(chunk: Buffer, p: number, onValue: (value: RespValue) => void): number {
    let i = p + 1;
    let length = 0;
    for (let digits = 0; ; digits++, i++) {
      const c = chunk[i];
      if (c === CR) {
        if (digits === 0) return -1;
        break;
      }
      if (c === undefined || c < 0x30 || c > 0x39 || digits === 18) return -1;
      length = length * 10 + (c - 0x30);
    }
    const start = i + 2;
    const end = start + length;
    if (chunk[i + 1] !== LF || length > this.limits.maxBulkBytes || end + 2 > chunk.length || chunk[end] !== CR || chunk[end + 1] !== LF) return -1;
    this.complete(this.copyOut(chunk, start, end), onValue);
    return end + 2;
  }

  /** `chunk[start, end)` as bytes of its own: a view of the current slab (copied as needed), or a buffer of its exact size. */
  private copyOut(chunk: Buffer, start: number, end: number): Buffer {
    if (end - start > SLAB_BYTES / 2) {
      const data = Buffer.allocUnsafeSlow(end - start);
      chunk.copy(data, 0, start, end);
      return data;
    }
    if (this.slabChunk !== chunk || start < this.slabFrom || end > this.slabTo) {
      const to = Math.min(chunk.length, start + SLAB_BYTES);
      this.slab = Buffer.allocUnsafeSlow(to - start);
      chunk.copy(this.slab, 0, start, to);
      this.slabChunk = chunk;
      this.slabFrom = start;
      this.slabTo = to;
    }
    return this.slab.subarray(start - this.slabFrom, end - this.slabFrom);
  }

  /** Copies what `chunk` has of the bulk being filled, then its CRLF; returns the next position. */
  private fillBulk(chunk: Buffer, p: number, onValue: (value: RespValue) => void): number {
    const bulk = this.bulk!;
    if (this.bulkFilled < bulk.length) {
      const take = Math.min(bulk.length - this.bulkFilled, chunk.length - p);
      chunk.copy(bulk, this.bulkFilled, p, p + take);
      this.bulkFilled += take;
      p += take;
    }
    while (this.bulkFilled === bulk.length && this.trailerLeft > 0 && p < chunk.length) {
      if (chunk[p] !== (this.trailerLeft === 2 ? CR : LF)) throw new RespProtocolError('Protocol error: bulk string not followed by CRLF');
      this.trailerLeft--;
      p++;
    }
    if (this.trailerLeft === 0) {
      this.bulk = undefined;
      this.complete(bulk, onValue);
    }
    return p;
  }

  /** Appends `chunk[start, end)` to the carried header line. */
  private carryLine(chunk: Buffer, start: number, end: number): void {
    const length = this.lineLength + end - start;
    if (length > this.limits.maxLineBytes + 2) throw new RespProtocolError('Protocol error: line too long');
    if (length > this.line.length) {
      const grown = Buffer.allocUnsafe(Math.max(length, 2 * this.line.length, 64));
      this.line.copy(grown, 0, 0, this.lineLength);
      this.line = grown;
    }
    chunk.copy(this.line, this.lineLength, start, end);
    this.lineLength = length;
  }

  /** The signed decimal in `buf[start, end)`, at most 18 digits (as RespReader accepts). */
  private size(buf: Buffer, start: number, end: number, what: string): number {
    const n = decimalAt(buf, start, end);
    if (Number.isNaN(n)) throw new RespProtocolError(`Protocol error: invalid ${what} '${buf.toString('latin1', start, Math.min(end, start + 32))}'`);
    return n;
  }

  /** Attaches a finished value to the innermost open array; hands over top-level replies. */
  private complete(value: RespValue, onValue: (value: RespValue) => void): void {
    let current = value;
    for (;;) {
      const parent = this.stack[this.stack.length - 1];
      if (!parent) {
        onValue(current);
        return;
      }
      parent.items.push(current);
      if (parent.items.length === 1 && this.stack.length === 1) this.onHead?.(current);
      if (--parent.left > 0) return;
      this.stack.pop();
      current = parent.items;
    }
  }
}
