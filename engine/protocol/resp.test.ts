/**
 * RespReader / RespWriter: every RESP2 value type round-trips, any chunking of the byte stream gives
 * the same values, and malformed or oversized input fails with RespProtocolError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_READER_LIMITS, RespError, RespProtocolError, RespReader, RespWriter, encodeCommand, type RespValue } from './resp';
import { prng } from '../util/seeded-random';

/** Feeds `chunks` one at a time, draining the reader after each, and returns every value read. */
function readAll(mode: 'request' | 'reply', chunks: Iterable<Buffer>): RespValue[] {
  const reader = new RespReader(mode);
  const values: RespValue[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let v = reader.next(); v !== undefined; v = reader.next()) values.push(v);
  }
  assert.equal(reader.bufferedBytes, 0, 'bytes left over after the last value');
  return values;
}

function* byteByByte(bytes: Buffer): Iterable<Buffer> {
  for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
}

function* randomChunks(bytes: Buffer, rand: () => number, maxChunk: number): Iterable<Buffer> {
  let pos = 0;
  while (pos < bytes.length) {
    const n = 1 + Math.floor(rand() * maxChunk);
    // Copy, so the reader cannot rely on chunks being views of one contiguous buffer.
    yield Buffer.from(bytes.subarray(pos, pos + n));
    pos += n;
  }
}

function* fixedChunks(bytes: Buffer, size: number): Iterable<Buffer> {
  for (let pos = 0; pos < bytes.length; pos += size) yield bytes.subarray(pos, pos + size);
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** One of each reply type, including the awkward ones (binary, empty, null, nested, CRLF inside a bulk). */
const REPLY_VALUES: RespValue[] = [
  'OK',
  'simple string with spaces and latin1 \u00e9\u00ff',
  '',
  new RespError('ERR something went wrong'),
  new RespError('MOVED 3 127.0.0.1:7001'),
  0,
  1,
  -1,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  Buffer.from('hello'),
  Buffer.alloc(0),
  ALL_BYTES,
  Buffer.from('line1\r\nline2\r\n'),
  Buffer.from('\r\n'),
  null,
  [],
  [Buffer.from('a'), 1, 'x', null, new RespError('ERR inner')],
  [[[]], [[Buffer.from('deep')]], [], [null, [1, [2, [3, [ALL_BYTES]]]]]],
];

/** The encoded form of every value in REPLY_VALUES, plus a null array, back to back. */
function encodedReplies(): { bytes: Buffer; expected: RespValue[] } {
  const w = new RespWriter();
  for (const v of REPLY_VALUES) w.value(v);
  w.arrayHeader(null); // *-1 decodes as null, like a null bulk
  w.arrayHeader(2).bulk(null).arrayHeader(null);
  return { bytes: w.take(), expected: [...REPLY_VALUES, null, [null, null]] };
}

test('reply mode: every value type round-trips through RespWriter and RespReader', () => {
  for (const v of REPLY_VALUES) {
    const bytes = new RespWriter().value(v).take();
    assert.deepStrictEqual(readAll('reply', [bytes]), [v], `value ${JSON.stringify(v)}`);
  }
});

test('reply mode: the exact wire bytes of each type match RESP2', () => {
  assert.equal(new RespWriter().simple('OK').take().toString('latin1'), '+OK\r\n');
  assert.equal(new RespWriter().error('ERR x').take().toString('latin1'), '-ERR x\r\n');
  assert.equal(new RespWriter().integer(-42).take().toString('latin1'), ':-42\r\n');
  assert.equal(new RespWriter().bulk('abc').take().toString('latin1'), '$3\r\nabc\r\n');
  assert.equal(new RespWriter().bulk(Buffer.alloc(0)).take().toString('latin1'), '$0\r\n\r\n');
  assert.equal(new RespWriter().bulk(null).take().toString('latin1'), '$-1\r\n');
  assert.equal(new RespWriter().arrayHeader(null).take().toString('latin1'), '*-1\r\n');
  assert.equal(new RespWriter().value([1, Buffer.from('a')]).take().toString('latin1'), '*2\r\n:1\r\n$1\r\na\r\n');
  assert.equal(encodeCommand(['GET', 'k']).toString('latin1'), '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
});

test('reply mode: a simple string or error with CR/LF in it cannot break the framing', () => {
  const bytes = new RespWriter().simple('a\r\nb').error('ERR c\nd').integer(7).take();
  assert.deepStrictEqual(readAll('reply', [bytes]), ['a  b', new RespError('ERR c d'), 7]);
});

test('reply mode: a null array and a null bulk both decode as null', () => {
  assert.deepStrictEqual(readAll('reply', [Buffer.from('*-1\r\n$-1\r\n*1\r\n*-1\r\n')]), [null, null, [null]]);
});

test('reply mode: every value survives being fed one byte at a time', () => {
  const { bytes, expected } = encodedReplies();
  assert.deepStrictEqual(readAll('reply', byteByByte(bytes)), expected);
});

test('reply mode: every value survives random chunkings (seeded)', () => {
  const { bytes, expected } = encodedReplies();
  for (let seed = 1; seed <= 200; seed++) {
    const rand = prng(seed);
    const maxChunk = 1 + Math.floor(rand() * 64);
    assert.deepStrictEqual(readAll('reply', randomChunks(bytes, rand, maxChunk)), expected, `seed ${seed}, max chunk ${maxChunk}`);
  }
});

test('reply mode: random nested values round-trip under random chunkings (seeded)', () => {
  const rand = prng(0xc0ffee);
  const randomValue = (depth: number): RespValue => {
    const kind = Math.floor(rand() * (depth < 4 ? 7 : 6));
    switch (kind) {
      case 0:
        return `s${Math.floor(rand() * 1e6)}`;
      case 1:
        return new RespError(`ERR e${Math.floor(rand() * 1e6)}`);
      case 2:
        return Math.floor((rand() - 0.5) * 2e12);
      case 3:
        return Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
      case 4:
        return Buffer.alloc(0);
      case 5:
        return null;
      default:
        return Array.from({ length: Math.floor(rand() * 6) }, () => randomValue(depth + 1));
    }
  };
  for (let round = 0; round < 50; round++) {
    const values = Array.from({ length: 20 }, () => randomValue(0));
    const w = new RespWriter();
    for (const v of values) w.value(v);
    const bytes = w.take();
    assert.deepStrictEqual(readAll('reply', randomChunks(bytes, rand, 1 + Math.floor(rand() * 200))), values, `round ${round}`);
  }
});

test('request mode: arrays of bulk strings parse to Buffer[] (binary-safe)', () => {
  const bytes = Buffer.concat([encodeCommand(['SET', 'key', ALL_BYTES]), encodeCommand(['SET', 'empty', Buffer.alloc(0)]), encodeCommand(['PING'])]);
  assert.deepStrictEqual(readAll('request', [bytes]), [
    [Buffer.from('SET'), Buffer.from('key'), ALL_BYTES],
    [Buffer.from('SET'), Buffer.from('empty'), Buffer.alloc(0)],
    [Buffer.from('PING')],
  ]);
});

test('request mode: inline commands split on spaces; CRLF or bare LF ends them; an empty line is an empty request', () => {
  const values = readAll('request', [Buffer.from('PING\r\nSET  k   v\r\nGET k\n\r\n*0\r\n')]);
  assert.deepStrictEqual(values, [[Buffer.from('PING')], [Buffer.from('SET'), Buffer.from('k'), Buffer.from('v')], [Buffer.from('GET'), Buffer.from('k')], [], []]);
});

test('request mode: every request survives one-byte and random chunkings (seeded)', () => {
  const bytes = Buffer.concat([
    encodeCommand(['SET', 'k', ALL_BYTES]),
    Buffer.from('GET k\r\n'),
    encodeCommand(['MSET', 'a', '1', 'b', Buffer.alloc(0)]),
    Buffer.from('PING\n'),
    encodeCommand(['DEL', 'a', 'b']),
  ]);
  const expected = [
    [Buffer.from('SET'), Buffer.from('k'), ALL_BYTES],
    [Buffer.from('GET'), Buffer.from('k')],
    [Buffer.from('MSET'), Buffer.from('a'), Buffer.from('1'), Buffer.from('b'), Buffer.alloc(0)],
    [Buffer.from('PING')],
    [Buffer.from('DEL'), Buffer.from('a'), Buffer.from('b')],
  ];
  assert.deepStrictEqual(readAll('request', byteByByte(bytes)), expected);
  for (let seed = 1; seed <= 200; seed++) {
    const rand = prng(seed);
    assert.deepStrictEqual(readAll('request', randomChunks(bytes, rand, 1 + Math.floor(rand() * 40))), expected, `seed ${seed}`);
  }
});

test('request mode: pipelined requests in one chunk come out in order', () => {
  const n = 1000;
  const bytes = Buffer.concat(Array.from({ length: n }, (_, i) => (i % 3 === 2 ? Buffer.from(`GET key${i}\r\n`) : encodeCommand(['SET', `key${i}`, `value${i}`]))));
  const values = readAll('request', [bytes]) as Buffer[][];
  assert.equal(values.length, n);
  values.forEach((args, i) => {
    assert.equal(args[1]!.toString(), `key${i}`);
    if (i % 3 !== 2) assert.equal(args[2]!.toString(), `value${i}`);
  });
});

test('a large array (20 000 bulks) fed in 64 KiB chunks parses once, only when complete', () => {
  const count = 20_000;
  const w = new RespWriter();
  w.arrayHeader(count);
  for (let i = 0; i < count; i++) w.bulk(Buffer.alloc(i % 251, i % 256));
  const bytes = w.take();
  assert.ok(bytes.length > 20 * 64 * 1024, `payload of ${bytes.length} bytes spans many chunks`);
  for (const mode of ['reply', 'request'] as const) {
    const reader = new RespReader(mode);
    let result: RespValue | undefined;
    let chunks = 0;
    for (const chunk of fixedChunks(bytes, 64 * 1024)) {
      chunks++;
      reader.push(chunk);
      const v = reader.next();
      if (v !== undefined) {
        assert.equal(result, undefined, 'only one value');
        result = v;
      }
    }
    assert.ok(Array.isArray(result), `${mode}: array parsed after ${chunks} chunks`);
    const items = result as Buffer[];
    assert.equal(items.length, count);
    items.forEach((b, i) => assert.ok(b.equals(Buffer.alloc(i % 251, i % 256)), `${mode}: item ${i}`));
    assert.equal(reader.next(), undefined);
    assert.equal(reader.bufferedBytes, 0);
  }
});

test('reply mode: bulks of a large array stay views of the received chunks; only values straddling two chunks are copied', () => {
  const count = 2000;
  const w = new RespWriter();
  w.arrayHeader(count);
  for (let i = 0; i < count; i++) w.bulk(Buffer.alloc(1000, i % 256));
  const bytes = w.take();
  const chunks = [...fixedChunks(bytes, 64 * 1024)].map((c) => Buffer.from(c)); // each its own ArrayBuffer, as from a socket
  const reader = new RespReader('reply');
  let result: RespValue | undefined;
  for (const chunk of chunks) {
    reader.push(chunk);
    result = reader.next() ?? result;
  }
  const items = result as Buffer[];
  assert.equal(items.length, count);
  items.forEach((b, i) => assert.ok(b.equals(Buffer.alloc(1000, i % 256)), `item ${i}`));
  const chunkBuffers = new Set(chunks.map((c) => c.buffer));
  const views = items.filter((b) => chunkBuffers.has(b.buffer as ArrayBuffer)).length;
  // One bulk per chunk boundary straddles it and is copied; every other is a view.
  assert.ok(views >= count - (chunks.length - 1), `${views} of ${count} bulks are views of a chunk (${chunks.length} chunks)`);
});

/** Pushes `input` (whole, then byte by byte) and expects a RespProtocolError matching `message`. */
function assertProtocolError(mode: 'request' | 'reply', input: string | Buffer, message: RegExp, limits = {}): void {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const whole = new RespReader(mode, limits);
  whole.push(bytes);
  assert.throws(
    () => {
      while (whole.next() !== undefined);
    },
    (err: unknown) => err instanceof RespProtocolError && err.code === 'PROTOCOL' && message.test(err.message),
    `${mode} ${JSON.stringify(bytes.toString('latin1').slice(0, 60))} in one chunk`,
  );
  if (bytes.length > 2000) return;
  const split = new RespReader(mode, limits);
  assert.throws(
    () => {
      for (const b of byteByByte(bytes)) {
        split.push(b);
        while (split.next() !== undefined);
      }
    },
    (err: unknown) => err instanceof RespProtocolError && message.test(err.message),
    `${mode} ${JSON.stringify(bytes.toString('latin1').slice(0, 60))} byte by byte`,
  );
}

test('limits: a bulk length over maxBulkBytes is rejected from its header, before any data', () => {
  const over = DEFAULT_READER_LIMITS.maxBulkBytes + 1;
  assertProtocolError('reply', `$${over}\r\n`, /bulk length .* over the limit/);
  assertProtocolError('request', `*2\r\n$3\r\nGET\r\n$${over}\r\n`, /bulk length .* over the limit/);
  assertProtocolError('request', '*2\r\n$3\r\nGET\r\n$999999999999\r\n', /bulk length .* over the limit/);
  assertProtocolError('reply', '$11\r\n', /over the limit/, { maxBulkBytes: 10 });
  // Exactly at the limit is fine.
  assert.deepStrictEqual(readAll('reply', [Buffer.from('$10\r\n0123456789\r\n')]), [Buffer.from('0123456789')]);
});

test('limits: an array length over maxArrayLength is rejected', () => {
  const over = DEFAULT_READER_LIMITS.maxArrayLength + 1;
  assertProtocolError('reply', `*${over}\r\n`, /array of .* over the limit/);
  assertProtocolError('request', `*${over}\r\n`, /array of .* over the limit/);
  assertProtocolError('reply', '*1\r\n*4\r\n', /over the limit/, { maxArrayLength: 3 });
});

test('limits: a line longer than maxLineBytes without CRLF is rejected', () => {
  const long = 'a'.repeat(DEFAULT_READER_LIMITS.maxLineBytes + 10);
  assertProtocolError('request', long, /line too long/); // inline command
  assertProtocolError('reply', `+${long}`, /line too long/);
  assertProtocolError('request', `*1\r\n$${'1'.repeat(DEFAULT_READER_LIMITS.maxLineBytes + 10)}`, /line too long|invalid bulk length/);
  // Fed in small pieces, the reader gives up once the limit is passed rather than buffering forever.
  const reader = new RespReader('request');
  assert.throws(() => {
    for (let i = 0; i < 100; i++) {
      reader.push(Buffer.alloc(1024, 0x61));
      reader.next();
    }
  }, RespProtocolError);
});

test('limits: arrays nested deeper than maxDepth are rejected', () => {
  assertProtocolError('reply', '*1\r\n'.repeat(DEFAULT_READER_LIMITS.maxDepth + 2), /nesting too deep/);
  assert.deepStrictEqual(readAll('reply', [Buffer.from('*1\r\n*1\r\n:1\r\n')]), [[[1]]]);
});

test('negative or garbage lengths and integers are rejected', () => {
  for (const mode of ['reply', 'request'] as const) {
    const prefix = mode === 'request' ? '*1\r\n' : '';
    assertProtocolError(mode, `${prefix}$-2\r\n`, /invalid bulk length/);
    assertProtocolError(mode, `${prefix}$abc\r\n`, /invalid bulk length/);
    assertProtocolError(mode, `${prefix}$\r\n`, /invalid bulk length/);
    assertProtocolError(mode, `${prefix}$1.5\r\n`, /invalid bulk length/);
    assertProtocolError(mode, `${prefix}$ 3\r\n`, /invalid bulk length/);
    assertProtocolError(mode, '*-5\r\n', /invalid multibulk length/);
    assertProtocolError(mode, '*x\r\n', /invalid multibulk length/);
    assertProtocolError(mode, '*99999999999999999999\r\n', /invalid multibulk length/);
  }
  assertProtocolError('reply', ':12a\r\n', /invalid integer/);
  assertProtocolError('reply', ':\r\n', /invalid integer/);
  // A null bulk is not a valid request argument, and a null array is not a request.
  assertProtocolError('request', '*1\r\n$-1\r\n', /invalid bulk length/);
  assertProtocolError('request', '*-1\r\n', /invalid multibulk length/);
});

test('a bulk string not followed by CRLF is rejected', () => {
  for (const mode of ['reply', 'request'] as const) {
    const prefix = mode === 'request' ? '*1\r\n' : '';
    assertProtocolError(mode, `${prefix}$3\r\nabcXY`, /not followed by CRLF/);
    assertProtocolError(mode, `${prefix}$3\r\nabc\rX`, /not followed by CRLF/);
    assertProtocolError(mode, `${prefix}$3\r\nabcd\r\n`, /not followed by CRLF/);
    // A short bulk is only incomplete until the bytes that follow it arrive.
    assertProtocolError(mode, `${prefix}$3\r\nab\r\n*1\r\n`, /not followed by CRLF/);
    const waiting = new RespReader(mode);
    waiting.push(Buffer.from(`${prefix}$3\r\nab\r\n`));
    assert.equal(waiting.next(), undefined);
  }
});

test('request mode: a type byte other than * (top level) or $ (inside an array) is rejected', () => {
  for (const t of ['+OK\r\n', '-ERR x\r\n', ':1\r\n', '$3\r\nGET\r\n']) assertProtocolError('request', t, /expected '\*' or an inline command/);
  for (const t of ['+OK\r\n', '-ERR x\r\n', ':1\r\n', '*1\r\n$1\r\na\r\n', 'GET\r\n']) assertProtocolError('request', `*2\r\n$3\r\nGET\r\n${t}`, /expected '\$'|nested arrays/);
  assertProtocolError('reply', '?what\r\n', /unknown type byte 0x3f/);
  assertProtocolError('reply', '\x00\r\n', /unknown type byte 0x0/);
});

test('values before a protocol error are still returned in order', () => {
  const reader = new RespReader('request');
  reader.push(Buffer.concat([encodeCommand(['SET', 'a', '1']), Buffer.from('PING\r\n'), Buffer.from('*1\r\n:5\r\n')]));
  assert.deepStrictEqual(reader.next(), [Buffer.from('SET'), Buffer.from('a'), Buffer.from('1')]);
  assert.deepStrictEqual(reader.next(), [Buffer.from('PING')]);
  assert.throws(() => reader.next(), RespProtocolError);
});

test('RespWriter: take() resets the writer and earlier buffers stay intact', () => {
  const w = new RespWriter(4);
  w.bulk(ALL_BYTES);
  const first = w.take();
  assert.equal(w.length, 0);
  w.bulk(Buffer.alloc(100_000, 7));
  const second = w.take();
  assert.deepStrictEqual(readAll('reply', [first]), [ALL_BYTES]);
  assert.deepStrictEqual(readAll('reply', [second]), [Buffer.alloc(100_000, 7)]);
  assert.equal(new RespWriter().take().length, 0);
});

test('RespWriter: bulk and array headers carry the exact decimal length at every digit count', () => {
  for (const n of [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65_535, 65_536, 1_000_000, 12_345_678]) {
    assert.equal(new RespWriter().bulk(Buffer.alloc(n, 0x61)).take().subarray(0, String(n).length + 3).toString('latin1'), `$${n}\r\n`, `bulk of ${n}`);
    assert.equal(new RespWriter().arrayHeader(n).take().toString('latin1'), `*${n}\r\n`, `array of ${n}`);
  }
  assert.equal(new RespWriter().arrayHeader(Number.MAX_SAFE_INTEGER).take().toString('latin1'), `*${Number.MAX_SAFE_INTEGER}\r\n`);
});

test('request mode: headers with signs, spaces, 19+ digits or a bare LF take the incremental path and fail or parse as before', () => {
  assertProtocolError('request', '*+1\r\n$1\r\na\r\n', /invalid multibulk length/);
  assertProtocolError('request', '*1\r\n$+1\r\na\r\n', /invalid bulk length/);
  assertProtocolError('request', '*1 \r\n$1\r\na\r\n', /invalid multibulk length/);
  assertProtocolError('request', `*1\r\n$${'1'.repeat(19)}\r\n`, /invalid bulk length/);
  // 18 digits is the most readInteger accepts: over maxBulkBytes, refused from the header.
  assertProtocolError('request', `*1\r\n$${'9'.repeat(18)}\r\n`, /over the limit/);
  // A header ended by a bare LF is accepted by the incremental parser (as before the fast path).
  assert.deepStrictEqual(readAll('request', [Buffer.from('*2\n$3\nGET\r\n$001\r\nk\r\n')]), [[Buffer.from('GET'), Buffer.from('k')]]);
  // The CR of a header arriving alone leaves the request incomplete, not refused.
  const reader = new RespReader('request');
  reader.push(Buffer.from('*1\r\n$12\r'));
  assert.equal(reader.next(), undefined);
  reader.push(Buffer.from('\nhello world!\r\n'));
  assert.deepStrictEqual(reader.next(), [Buffer.from('hello world!')]);
});

test('RespWriter: a character whose latin1 byte would be CR or LF cannot break the framing either', () => {
  const bytes = new RespWriter().simple('a\u010db\u010ac').error('ERR \u020d').take();
  assert.equal(bytes.toString('latin1'), '+a b c\r\n-ERR  \r\n');
});
