/**
 * RESP2 (the Redis serialization protocol): an incremental reader that survives any chunking of the
 * byte stream, and a writer that builds replies into one buffer. Nodes and the placement service
 * speak it, so `redis-cli` and `redis-benchmark` work against them.
 */

// The global `Buffer` is an accessor in Node 20: each use in a hot path was a getter call
// (`get node:internal/bootstrap/node` in the node's profile under pipelined GET).
import { Buffer } from 'node:buffer';

/** An error reply (`-CODE message`). Kept distinct from simple strings so callers can branch on it. */
export class RespError {
  constructor(readonly message: string) {}
  /** The first word of the message, e.g. `MOVED`, `EPOCH`, `ERR`. */
  get code(): string {
    const space = this.message.indexOf(' ');
    return space < 0 ? this.message : this.message.slice(0, space);
  }
}

/** A decoded RESP2 value. Bulk strings stay binary (Buffer); simple strings are text. */
export type RespValue = string | number | Buffer | null | RespError | RespValue[];

/** Thrown for bytes that are not RESP: the connection cannot be resynchronised and must close. */
export class RespProtocolError extends Error {
  readonly code = 'PROTOCOL';
}

export interface RespReaderLimits {
  /** Largest bulk string accepted ($n). */
  maxBulkBytes: number;
  /** Largest array accepted (*n). */
  maxArrayLength: number;
  /** Longest header or inline line without CRLF. */
  maxLineBytes: number;
  /** Deepest array nesting. */
  maxDepth: number;
  /**
   * Largest request in all (`request` mode; replies are not capped): without it a request of many
   * maximal bulks would be buffered whole. Refused as soon as a declared length would pass it.
   */
  maxRequestBytes: number;
}

export const DEFAULT_READER_LIMITS: RespReaderLimits = {
  maxBulkBytes: 64 * 1024 * 1024,
  maxArrayLength: 1024 * 1024,
  maxLineBytes: 64 * 1024,
  maxDepth: 32,
  maxRequestBytes: 512 * 1024 * 1024,
};

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);
const INCOMPLETE = Symbol('incomplete');
/** A `$` or `*` header: type byte, up to 16 digits of a safe integer length, CRLF. */
const MAX_HEADER_BYTES = 19;
/** Values up to this size are copied into a RespWriter byte by byte: cheaper than a call to TypedArray#set. */
const SMALL_COPY_BYTES = 32;
/** Outputs up to this size are copied out of a RespWriter (Buffer.allocUnsafe pools below 4 KiB). */
const SMALL_TAKE_BYTES = 4096;

interface OpenArray {
  items: RespValue[];
  left: number;
}

/**
 * Incremental RESP2 reader. `push` bytes as they arrive, then call `next` until it returns
 * `undefined`. A partially received array keeps its decoded prefix, so a large reply arriving in
 * many chunks is parsed once, not re-parsed per chunk.
 *
 * In `request` mode (servers) a top-level value must be an array of bulk strings or an inline
 * command line, and the result is `Buffer[]`.
 */
export class RespReader {
  private buf: Buffer = EMPTY;
  /** `buf`'s ArrayBuffer and offset in it, read once per buffer: wholeRequest makes its arguments from them. */
  private bufMemory: ArrayBufferLike = EMPTY.buffer;
  private bufMemoryOffset = 0;
  private pos = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes that must be buffered past `pos` before parsing can make progress. */
  private needBytes = 1;
  private stack: OpenArray[] = [];
  private readonly limits: RespReaderLimits;
  /** Bytes of the top-level request read so far (its completed parts). */
  private requestBytes = 0;

  constructor(private readonly mode: 'request' | 'reply', limits: Partial<RespReaderLimits> = {}) {
    this.limits = { ...DEFAULT_READER_LIMITS, ...limits };
  }

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /** Bytes received but not yet consumed by a complete value. */
  get bufferedBytes(): number {
    return this.buf.length - this.pos + this.pendingBytes;
  }

  /** The next complete value, or `undefined` when more bytes are needed. Throws RespProtocolError. */
  next(): RespValue | undefined {
    for (;;) {
      if (this.bufferedBytes < this.needBytes) return undefined;
      this.compact();
      if (this.mode === 'request' && this.stack.length === 0 && this.buf[this.pos] === 0x2a /* '*' */) {
        const args = this.wholeRequest();
        if (args) {
          this.needBytes = 1;
          return args;
        }
      }
      for (;;) {
        const start = this.pos;
        const value = this.stack.length === 0 && this.mode === 'request' ? this.readRequest() : this.readValue();
        if (value === INCOMPLETE) {
          this.pos = start;
          this.checkRequestSize(this.needBytes);
          break; // the value may continue in a pending chunk: the outer loop decides
        }
        this.requestBytes += this.pos - start;
        this.checkRequestSize(0);
        this.needBytes = 1;
        const done = this.completeValue(value);
        if (done !== INCOMPLETE) {
          this.requestBytes = 0;
          return done;
        }
        if (this.pos >= this.buf.length) break;
      }
      if (this.pendingBytes === 0) return undefined;
    }
  }

  /** Throws when the request read so far plus `more` bytes it still needs is over maxRequestBytes. */
  private checkRequestSize(more: number): void {
    if (this.mode === 'request' && this.requestBytes + more > this.limits.maxRequestBytes) {
      throw new RespProtocolError(`Protocol error: request of more than ${this.limits.maxRequestBytes} bytes`);
    }
  }

  /**
   * Makes `buf` the next bytes to parse. A chunk that starts on a value boundary becomes `buf` as
   * it is (values are views of it); only a value straddling two chunks is copied, exactly (a bulk's
   * declared length; a header line up to its LF), so parsing is back on the chunk right after it.
   * Concatenating the unparsed tail with every new chunk
   * instead copied each 64 KiB socket chunk once more: a client fetching 1 GiB allocated 2 GiB of
   * ArrayBuffers, and its RSS followed the garbage V8 had not yet collected.
   */
  private compact(): void {
    if (this.pending.length === 0) return;
    const rest = this.buf.subarray(this.pos);
    this.pos = 0;
    if (rest.length === 0) {
      this.setBuf(this.pending.shift()!);
      this.pendingBytes -= this.buf.length;
      return;
    }
    let take = this.needBytes - rest.length;
    if (take <= 1) {
      // An unfinished line: its length is unknown until its LF.
      const lf = this.pending[0]!.indexOf(LF);
      take = lf < 0 ? this.pending[0]!.length : lf + 1;
    }
    take = Math.min(take, this.pendingBytes);
    const parts: Buffer[] = [rest];
    while (take > 0) {
      const chunk = this.pending[0]!;
      if (chunk.length <= take) {
        this.pending.shift();
        parts.push(chunk);
        take -= chunk.length;
        this.pendingBytes -= chunk.length;
      } else {
        parts.push(chunk.subarray(0, take));
        this.pending[0] = chunk.subarray(take);
        this.pendingBytes -= take;
        take = 0;
      }
    }
    this.setBuf(Buffer.concat(parts));
  }

  private setBuf(buf: Buffer): void {
    this.buf = buf;
    this.bufMemory = buf.buffer;
    this.bufMemoryOffset = buf.byteOffset;
  }

  /** Attach a finished value to the innermost open array; returns the top-level value once complete. */
  private completeValue(value: RespValue | OpenArray): RespValue | typeof INCOMPLETE {
    let current: RespValue | OpenArray = value;
    for (;;) {
      if (isOpenArray(current)) {
        if (current.left > 0) {
          if (this.stack.length >= this.limits.maxDepth) throw new RespProtocolError('Protocol error: nesting too deep');
          this.stack.push(current);
          return INCOMPLETE;
        }
        current = current.items;
      }
      const parent = this.stack[this.stack.length - 1];
      if (!parent) return current as RespValue;
      parent.items.push(current as RespValue);
      parent.left--;
      if (parent.left > 0) return INCOMPLETE;
      this.stack.pop();
      current = parent.items;
    }
  }

  private readLine(): string | typeof INCOMPLETE {
    const end = this.buf.indexOf(LF, this.pos);
    if (end < 0) {
      if (this.buf.length - this.pos > this.limits.maxLineBytes) throw new RespProtocolError('Protocol error: line too long');
      this.needBytes = this.buf.length - this.pos + 1;
      return INCOMPLETE;
    }
    if (end - this.pos > this.limits.maxLineBytes) throw new RespProtocolError('Protocol error: line too long');
    const lineEnd = end > this.pos && this.buf[end - 1] === CR ? end - 1 : end;
    const line = this.buf.toString('latin1', this.pos, lineEnd);
    this.pos = end + 1;
    return line;
  }

  /** The signed decimal of a `$` or `*` header line (the type byte already consumed), as readLine + readInteger would. */
  private readSizeLine(): number | typeof INCOMPLETE {
    const buf = this.buf;
    const start = this.pos;
    const end = buf.indexOf(LF, start);
    if (end < 0 || end - start > this.limits.maxLineBytes) {
      // Let readLine report the incomplete or over-long line exactly as for other types.
      const line = this.readLine();
      return line === INCOMPLETE ? INCOMPLETE : this.readInteger(line, buf[start - 1] === 0x24 ? 'bulk length' : 'multibulk length');
    }
    const lineEnd = end > start && buf[end - 1] === CR ? end - 1 : end;
    const n = decimalAt(buf, start, lineEnd);
    if (n !== n) return this.readInteger(buf.toString('latin1', start, lineEnd), buf[start - 1] === 0x24 ? 'bulk length' : 'multibulk length');
    this.pos = end + 1;
    return n;
  }

  /**
   * A request `*N\r\n` + N × `$len\r\n<bytes>\r\n` that is already buffered whole (most are),
   * parsed in one pass without the incremental machinery: the node's GET profile at -P 16 showed
   * next/completeValue/readValue/isOpenArray at ~9% of its time. Anything else (incomplete,
   * malformed, over a limit, an empty or null array) returns undefined and goes through the
   * incremental parser, which accepts or refuses it exactly as before.
   */
  private wholeRequest(): Buffer[] | undefined {
    const buf = this.buf;
    const limits = this.limits;
    let lf = headerEnd(buf, this.pos + 1, limits.maxLineBytes);
    if (lf < 0) return undefined;
    const count = decimalAt(buf, this.pos + 1, lf - 1);
    if (!(count >= 1 && count <= limits.maxArrayLength)) return undefined;
    let p = lf + 1;
    const args: Buffer[] = new Array<Buffer>(count);
    for (let i = 0; i < count; i++) {
      if (buf[p] !== 0x24 /* '$' */) return undefined;
      lf = headerEnd(buf, p + 1, limits.maxLineBytes);
      if (lf < 0) return undefined;
      const length = decimalAt(buf, p + 1, lf - 1);
      if (!(length >= 0 && length <= limits.maxBulkBytes)) return undefined;
      const dataEnd = lf + 1 + length;
      if (dataEnd + 2 > buf.length || buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) return undefined;
      // Buffer.from(memory, offset, length) is a view like subarray, without subarray's per-call
      // `buffer` getter (a C++ builtin: JSTypedArray::GetBuffer showed in the node's GET profile).
      args[i] = Buffer.from(this.bufMemory, this.bufMemoryOffset + lf + 1, length);
      p = dataEnd + 2;
    }
    if (p - this.pos > limits.maxRequestBytes) return undefined;
    this.pos = p;
    return args;
  }

  private readInteger(line: string, what: string): number {
    if (!/^-?\d{1,18}$/.test(line)) throw new RespProtocolError(`Protocol error: invalid ${what} '${line.slice(0, 32)}'`);
    return Number(line);
  }

  private readRequest(): RespValue | OpenArray | typeof INCOMPLETE {
    if (this.buf[this.pos] === 0x2a /* '*' */) {
      const header = this.readValue();
      if (header === INCOMPLETE || isOpenArray(header)) return header;
      if (header === null) return [];
      throw new RespProtocolError('Protocol error: expected an array of bulk strings');
    }
    if (this.stack.length === 0 && this.buf[this.pos] !== undefined && '+-:$'.includes(String.fromCharCode(this.buf[this.pos]!))) {
      throw new RespProtocolError("Protocol error: expected '*' or an inline command");
    }
    const line = this.readLine();
    if (line === INCOMPLETE) return INCOMPLETE;
    // Inline command (telnet style): space-separated words. Empty lines are ignored by returning [].
    const words = line.split(' ').filter((w) => w.length > 0);
    return words.map((w) => Buffer.from(w, 'latin1'));
  }

  private readValue(): RespValue | OpenArray | typeof INCOMPLETE {
    if (this.pos >= this.buf.length) {
      this.needBytes = 1;
      return INCOMPLETE;
    }
    const type = this.buf[this.pos]!;
    const headerStart = this.pos;
    this.pos++;
    // Bulk and array headers (all of a request, most of a reply) are parsed from the bytes: making
    // a string of every header and matching it with a regex showed in the node's GET/SET profile.
    const sized = type === 0x24 /* '$' */ || type === 0x2a; /* '*' */
    const line = sized ? this.readSizeLine() : this.readLine();
    if (line === INCOMPLETE) {
      this.pos = headerStart;
      this.needBytes += 1;
      return INCOMPLETE;
    }
    const inRequestArray = this.mode === 'request';
    switch (type) {
      case 0x24 /* '$' */: {
        const length = line as number;
        if (length === -1 && !inRequestArray) return null;
        if (length < 0) throw new RespProtocolError('Protocol error: invalid bulk length');
        if (length > this.limits.maxBulkBytes) throw new RespProtocolError(`Protocol error: bulk length ${length} over the limit of ${this.limits.maxBulkBytes}`);
        if (this.buf.length - this.pos < length + 2) {
          this.needBytes = this.pos - headerStart + length + 2;
          this.pos = headerStart;
          return INCOMPLETE;
        }
        const data = this.buf.subarray(this.pos, this.pos + length);
        if (this.buf[this.pos + length] !== CR || this.buf[this.pos + length + 1] !== LF) {
          throw new RespProtocolError('Protocol error: bulk string not followed by CRLF');
        }
        this.pos += length + 2;
        return data;
      }
      case 0x2a /* '*' */: {
        const length = line as number;
        if (length === -1 && !inRequestArray) return null;
        if (length < 0) throw new RespProtocolError('Protocol error: invalid multibulk length');
        if (length > this.limits.maxArrayLength) throw new RespProtocolError(`Protocol error: array of ${length} over the limit of ${this.limits.maxArrayLength}`);
        if (inRequestArray && this.stack.length > 0) throw new RespProtocolError('Protocol error: nested arrays in a request');
        return { items: [], left: length };
      }
      default:
        if (inRequestArray) throw new RespProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(type)}'`);
        switch (type) {
          case 0x2b /* '+' */:
            return line as string;
          case 0x2d /* '-' */:
            return new RespError(line as string);
          case 0x3a /* ':' */:
            return this.readInteger(line as string, 'integer');
          default:
            throw new RespProtocolError(`Protocol error: unknown type byte 0x${type.toString(16)}`);
        }
    }
  }
}

/**
 * The index of the LF ending the header line of digits that starts at `start` (`123\r\n`), or -1
 * when the line is not all digits, longer than `maxLineBytes` or not yet buffered whole (callers
 * then take the incremental path, which accepts or refuses it). A header is a few bytes:
 * scanning it here is cheaper than Buffer#indexOf's native call, which showed per request in the
 * node's profile under pipelined GET.
 */
function headerEnd(buf: Buffer, start: number, maxLineBytes: number): number {
  const limit = Math.min(buf.length - 1, start + 19);
  let i = start;
  while (i < limit) {
    const b = buf[i]!;
    if (b === CR) return buf[i + 1] === LF && i + 1 - start <= maxLineBytes ? i + 1 : -1;
    if (b < 0x30 || b > 0x39) return -1;
    i++;
  }
  return -1;
}

/** The signed decimal in `buf[start, end)` (at most 18 digits, as readInteger accepts), or NaN. */
export function decimalAt(buf: Buffer, start: number, end: number): number {
  let i = start;
  const negative = i < end && buf[i] === 0x2d; /* '-' */
  if (negative) i++;
  if (end - i < 1 || end - i > 18) return NaN;
  let n = 0;
  for (; i < end; i++) {
    const digit = buf[i]! - 0x30;
    if (digit < 0 || digit > 9) return NaN;
    n = n * 10 + digit;
  }
  return negative ? -n : n;
}

function isOpenArray(v: unknown): v is OpenArray {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Buffer) && !(v instanceof RespError);
}

/**
 * Builds RESP2 output into one growing buffer, so a reply with thousands of elements is one write.
 */
export class RespWriter {
  private buf: Buffer;
  private len = 0;

  /**
   * `initial`: how many bytes to allocate up front, or a buffer to write into (the caller may reuse
   * it once the bytes taken from it are written out; a writer that outgrows it moves to a new one).
   */
  constructor(initial: number | Buffer = 0) {
    this.buf = typeof initial !== 'number' ? initial : initial > 0 ? Buffer.allocUnsafe(initial) : EMPTY;
  }

  get length(): number {
    return this.len;
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = Math.max(16 * 1024, this.buf.length * 2);
    while (size < this.len + extra) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }

  private ascii(text: string): void {
    this.ensure(text.length);
    this.len += this.buf.write(text, this.len, 'latin1');
  }

  simple(text: string): this {
    this.line(0x2b /* '+' */, text);
    return this;
  }

  error(message: string): this {
    this.line(0x2d /* '-' */, message);
    return this;
  }

  /**
   * `<type><text>\r\n`, text in latin1 with any byte that would be CR or LF written as a space (it
   * would end the line early). Character by character: a regex replace and a template string per
   * `+OK` showed in the node's profile under pipelined SET.
   */
  private line(type: number, text: string): void {
    this.ensure(text.length + 3);
    const buf = this.buf;
    let at = this.len;
    buf[at++] = type;
    for (let i = 0; i < text.length; i++) {
      const byte = text.charCodeAt(i) & 0xff;
      buf[at++] = byte === CR || byte === LF ? 0x20 : byte;
    }
    buf[at++] = CR;
    buf[at++] = LF;
    this.len = at;
  }

  integer(n: number): this {
    this.ascii(`:${Math.trunc(n)}\r\n`);
    return this;
  }

  bulk(data: Buffer | Uint8Array | string | null): this {
    if (data === null) {
      this.ascii('$-1\r\n');
      return this;
    }
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.ensure(bytes.length + MAX_HEADER_BYTES + 2);
    this.sizeHeader(0x24 /* '$' */, bytes.length);
    const buf = this.buf;
    let at = this.len;
    if (bytes.length <= SMALL_COPY_BYTES) {
      for (let i = 0; i < bytes.length; i++) buf[at + i] = bytes[i]!;
    } else {
      buf.set(bytes, at);
    }
    at += bytes.length;
    buf[at++] = CR;
    buf[at++] = LF;
    this.len = at;
    return this;
  }

  arrayHeader(count: number | null): this {
    if (count === null) {
      this.ascii('*-1\r\n');
      return this;
    }
    this.ensure(MAX_HEADER_BYTES);
    this.sizeHeader(0x2a /* '*' */, count);
    return this;
  }

  /**
   * `<type><count>\r\n` written digit by digit (room for it already ensured): a template string
   * per header plus a latin1 write showed as ~4% of the node's time under pipelined GET.
   */
  private sizeHeader(type: number, count: number): void {
    const buf = this.buf;
    let at = this.len;
    buf[at++] = type;
    if (count < 10) {
      buf[at++] = 0x30 + count;
    } else {
      let digits = 1;
      for (let rest = count; rest >= 10; rest = Math.floor(rest / 10)) digits++;
      at += digits;
      for (let i = at - 1, rest = count; i >= at - digits; i--, rest = Math.floor(rest / 10)) buf[i] = 0x30 + (rest % 10);
    }
    buf[at++] = CR;
    buf[at++] = LF;
    this.len = at;
  }

  /** Writes any RespValue; strings become simple strings. */
  value(v: RespValue): this {
    // A bulk first: it is what a read answers.
    if (v instanceof Buffer) return this.bulk(v);
    if (v === null) return this.bulk(null);
    if (typeof v === 'string') return this.simple(v);
    if (typeof v === 'number') return this.integer(v);
    if (v instanceof RespError) return this.error(v.message);
    this.arrayHeader(v.length);
    for (const item of v) this.value(item);
    return this;
  }

  /** A request: an array of bulk strings. */
  command(args: ReadonlyArray<Buffer | Uint8Array | string>): this {
    this.arrayHeader(args.length);
    for (const a of args) this.bulk(a);
    return this;
  }

  /**
   * Returns the written bytes and resets the writer. Small outputs (a point reply, a GET request)
   * are copied into an exact-size buffer from Node's pool and the writer keeps its buffer for the
   * next command: handing the buffer over made every small reply cost a fresh 16 KiB allocation,
   * which the node's GET/SET profile showed as GC time. Larger outputs are handed over copy-free
   * and the next write starts a fresh buffer, so `out` stays valid while a socket still holds it.
   */
  take(): Buffer {
    if (this.len <= SMALL_TAKE_BYTES) {
      const out = Buffer.allocUnsafe(this.len);
      this.buf.copy(out, 0, 0, this.len);
      this.len = 0;
      return out;
    }
    const out = this.buf.subarray(0, this.len);
    this.buf = EMPTY;
    this.len = 0;
    return out;
  }
}

/** Encodes one request as a standalone buffer. */
export function encodeCommand(args: ReadonlyArray<Buffer | Uint8Array | string>): Buffer {
  return new RespWriter(256).command(args).take();
}
