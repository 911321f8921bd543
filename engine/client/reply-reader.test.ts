/**
 * ReplyReader: decodes what RespReader decodes (reply mode) under any chunking, keeps no reference
 * to the bytes it was fed (the connection reuses one read buffer), and refuses what RespReader
 * refuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_READER_LIMITS, RespError, RespProtocolError, RespReader, RespWriter, type RespValue } from '../protocol/resp';
import { prng } from '../util/seeded-random';
import { ReplyReader } from './reply-reader';

/**
 * Feeds `bytes` in chunks of random sizes (1 … maxChunk) through ONE scratch buffer that is
 * overwritten with garbage after each feed, as a socket read buffer is reused.
 */
function readReused(bytes: Buffer, chunkSize: () => number): RespValue[] {
  const reader = new ReplyReader();
  const values: RespValue[] = [];
  const scratch = Buffer.alloc(bytes.length);
  for (let pos = 0; pos < bytes.length; ) {
    const n = Math.min(chunkSize(), bytes.length - pos);
    bytes.copy(scratch, 0, pos, pos + n);
    reader.feed(scratch.subarray(0, n), (v) => values.push(v));
    scratch.fill(0xee);
    pos += n;
  }
  return values;
}

function readWithRespReader(bytes: Buffer): RespValue[] {
  const reader = new RespReader('reply');
  reader.push(bytes);
  const values: RespValue[] = [];
  for (let v = reader.next(); v !== undefined; v = reader.next()) values.push(v);
  return values;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

const AWKWARD: RespValue[] = [
  'OK',
  'latin1 \u00e9\u00ff',
  '',
  new RespError('MOVED 3 127.0.0.1:7001'),
  0,
  -1,
  Number.MAX_SAFE_INTEGER,
  Buffer.alloc(0),
  ALL_BYTES,
  Buffer.from('line1\r\nline2\r\n'),
  null,
  [],
  [[[]], [[Buffer.from('deep')]], [null, [1, [2, [ALL_BYTES]]]]],
  // A SCANRANGE-like reply: next cursor + a flat key/value list bigger than one read.
  [Buffer.from('k999'), Array.from({ length: 400 }, (_, i) => Buffer.alloc(i % 2 ? 1000 : 12, i))],
];

test('every value type decodes as RespReader decodes it, one byte at a time and in 64 KiB reads', () => {
  const w = new RespWriter();
  for (const v of AWKWARD) w.value(v);
  w.arrayHeader(null);
  const bytes = w.take();
  const expected = readWithRespReader(bytes);
  assert.deepStrictEqual(expected, [...AWKWARD, null]);
  assert.deepStrictEqual(readReused(bytes, () => 1), expected);
  assert.deepStrictEqual(readReused(bytes, () => 64 * 1024), expected);
});

test('random sequences of replies decode under random chunkings through a reused buffer (seeded)', () => {
  const rand = prng(0x5eed);
  const pick = (): RespValue => {
    // Half of them a bulk of a random size (up to ~3 reads of 1 KiB), half one of the awkward values.
    if (rand() < 0.5) return Buffer.alloc(Math.floor(rand() * 3000), Math.floor(rand() * 256));
    return AWKWARD[Math.floor(rand() * AWKWARD.length)]!;
  };
  for (let round = 0; round < 50; round++) {
    const values = Array.from({ length: 20 }, () => (rand() < 0.2 ? [pick(), [pick(), pick()]] : pick()));
    const w = new RespWriter();
    for (const v of values) w.value(v);
    const maxChunk = 1 + Math.floor(rand() * 1024);
    assert.deepStrictEqual(readReused(w.take(), () => 1 + Math.floor(rand() * maxChunk)), values, `round ${round}, max chunk ${maxChunk}`);
  }
});

test('bulk strings are copies, not views of the bytes fed; a kept one holds at most 16 KiB besides its own bytes', () => {
  const w = new RespWriter();
  w.value([Buffer.from('key'), Buffer.alloc(1000, 7), Buffer.alloc(9000, 8)]);
  const encoded = w.take();
  // Buffer.alloc never comes from Node's pool, so its ArrayBuffer is this input's alone.
  const bytes = Buffer.alloc(encoded.length);
  encoded.copy(bytes);
  const reader = new ReplyReader();
  let got: RespValue | undefined;
  reader.feed(bytes, (v) => (got = v));
  const [key, value, large] = got as Buffer[];
  assert.deepStrictEqual([key!.length, value!.length, large!.length], [3, 1000, 9000]);
  for (const b of [key!, value!, large!]) assert.notEqual(b.buffer, bytes.buffer, 'a value shares the fed buffer');
  for (const b of [key!, value!]) assert.ok(b.buffer.byteLength <= 16 * 1024, `a ${b.length}-byte value holds ${b.buffer.byteLength} bytes`);
  assert.equal(large!.buffer.byteLength, 9000, 'a bulk over half a slab has a buffer of its exact size');
  bytes.fill(0);
  assert.deepStrictEqual(got, [Buffer.from('key'), Buffer.alloc(1000, 7), Buffer.alloc(9000, 8)]);
});

test('a value straddling two reads is not delivered until its last byte, then once', () => {
  const reader = new ReplyReader();
  const values: RespValue[] = [];
  reader.feed(Buffer.from('*2\r\n$5\r\nhel'), (v) => values.push(v));
  assert.equal(values.length, 0);
  reader.feed(Buffer.from('lo\r'), (v) => values.push(v));
  reader.feed(Buffer.from('\n:4'), (v) => values.push(v));
  assert.equal(values.length, 0);
  reader.feed(Buffer.from('2\r\n+OK\r\n'), (v) => values.push(v));
  assert.deepStrictEqual(values, [[Buffer.from('hello'), 42], 'OK']);
});

/** Asserts that `input` fails with a RespProtocolError matching `message`, whole and byte by byte. */
function assertRefused(input: string, message: RegExp, limits = {}): void {
  const bytes = Buffer.from(input, 'latin1');
  for (const chunk of [bytes.length, 1]) {
    const reader = new ReplyReader(limits);
    assert.throws(
      () => {
        for (let p = 0; p < bytes.length; p += chunk) reader.feed(bytes.subarray(p, p + chunk), () => undefined);
      },
      (err: unknown) => err instanceof RespProtocolError && message.test(err.message),
      `${JSON.stringify(input.slice(0, 60))} in chunks of ${chunk}`,
    );
  }
}

test('malformed or oversized replies are refused as RespReader refuses them', () => {
  assertRefused(`$${DEFAULT_READER_LIMITS.maxBulkBytes + 1}\r\n`, /bulk length .* over the limit/);
  assertRefused('$11\r\n', /over the limit/, { maxBulkBytes: 10 });
  assertRefused(`*${DEFAULT_READER_LIMITS.maxArrayLength + 1}\r\n`, /array of .* over the limit/);
  assertRefused(`+${'a'.repeat(DEFAULT_READER_LIMITS.maxLineBytes + 10)}`, /line too long/);
  assertRefused('*1\r\n'.repeat(DEFAULT_READER_LIMITS.maxDepth + 2), /nesting too deep/);
  assertRefused('$-2\r\n', /invalid bulk length/);
  assertRefused('$abc\r\n', /invalid bulk length/);
  assertRefused('$ 3\r\n', /invalid bulk length/);
  assertRefused('*-5\r\n', /invalid multibulk length/);
  assertRefused('*99999999999999999999\r\n', /invalid multibulk length/);
  assertRefused(':12a\r\n', /invalid integer/);
  assertRefused(':\r\n', /invalid integer/);
  assertRefused('$3\r\nabcXY', /not followed by CRLF/);
  assertRefused('$3\r\nabc\rX', /not followed by CRLF/);
  assertRefused('$3\r\nab\r\n*1\r\n', /not followed by CRLF/);
  assertRefused('?what\r\n', /unknown type byte/);
});

test('onHead reports the first item of each top-level array before the array completes, once', () => {
  const cursor = Buffer.from('next-cursor');
  const rows = Array.from({ length: 200 }, (_, i) => Buffer.alloc(500, i));
  const w = new RespWriter();
  w.value([cursor, rows]).value('OK').value([[Buffer.from('inner'), 1], 2]).value([]);
  const bytes = w.take();
  const reader = new ReplyReader();
  const events: string[] = [];
  const heads: RespValue[] = [];
  for (let pos = 0; pos < bytes.length; pos += 4096) {
    reader.feed(
      bytes.subarray(pos, pos + 4096),
      (v) => events.push(`value@${pos}`),
      (first) => {
        heads.push(first);
        events.push(`head@${pos}`);
      },
    );
  }
  // The scan-like reply's head arrives in the first read; the reply itself only after ~100 KiB.
  assert.equal(events[0], 'head@0');
  assert.ok(events.indexOf('value@0') === -1, 'the first reply cannot complete in the first read');
  // Nested arrays report only the top-level first item; empty arrays and non-arrays have no head.
  assert.deepStrictEqual(heads, [cursor, [Buffer.from('inner'), 1]]);
  assert.equal(events.filter((e) => e.startsWith('value')).length, 4);
});

test('header lines ending in a bare LF decode as RespReader decodes them, whole and byte by byte', () => {
  const bytes = Buffer.from('*3\n$5\nhello\r\n$0\n\r\n:7\n+OK\n', 'latin1');
  const expected = readWithRespReader(bytes);
  assert.deepStrictEqual(expected, [[Buffer.from('hello'), Buffer.alloc(0), 7], 'OK']);
  assert.deepStrictEqual(readReused(bytes, () => bytes.length), expected);
  assert.deepStrictEqual(readReused(bytes, () => 1), expected);
});
