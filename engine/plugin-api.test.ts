/**
 * The plugin API: RecordCodec (every column type, several string columns, padding, schema
 * validation, accessors), compilePredicate, compareBytes/inRange and definePlugin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_VERSION,
  RecordCodec,
  SAMPLE_SCHEMA,
  compareBytes,
  compilePredicate,
  definePlugin,
  inRange,
  utf8,
  type Column,
  type Condition,
  type DataRecord,
  type Schema,
  packBytes,
  unpackBytes,
} from './plugin-api';

const ALL_TYPES: Schema = {
  name: 'all',
  columns: [
    { name: 'f', type: 'f64' },
    { name: 'i', type: 'i32' },
    { name: 'u', type: 'u32' },
    { name: 'b', type: 'bool' },
    { name: 's', type: 'string' },
  ],
};

const THREE_STRINGS: Schema = {
  name: 'three',
  columns: [
    { name: 'first', type: 'string' },
    { name: 'n', type: 'i32' },
    { name: 'second', type: 'string' },
    { name: 'flag', type: 'bool' },
    { name: 'third', type: 'string' },
  ],
};

function roundTrip(schema: Schema, record: DataRecord, padToBytes = 0): DataRecord {
  const codec = new RecordCodec(schema);
  return codec.decode(codec.encode(record, padToBytes));
}

// ---- RecordCodec round trips ----------------------------------------------------------------

test('RecordCodec round-trips a record with every column type', () => {
  const record = { f: 3.25, i: 7, u: 9, b: true, s: 'hello' };
  assert.deepEqual(roundTrip(ALL_TYPES, record), record);
});

test('RecordCodec round-trips negative and extreme i32 values', () => {
  for (const i of [-1, -123456, -2147483648, 2147483647, 0]) {
    assert.equal(roundTrip(ALL_TYPES, { f: 0, i, u: 0, b: false, s: '' }).i, i);
  }
});

test('RecordCodec round-trips large u32 values (above the i32 range)', () => {
  for (const u of [2147483648, 3000000000, 4294967295]) {
    assert.equal(roundTrip(ALL_TYPES, { f: 0, i: 0, u, b: false, s: '' }).u, u);
  }
});

test('RecordCodec round-trips f64 NaN, +/-Infinity, -0 and tiny/huge values', () => {
  for (const f of [NaN, Infinity, -Infinity, -0, Number.MIN_VALUE, Number.MAX_VALUE, -1.5e-300, 0.1 + 0.2]) {
    const got = roundTrip(ALL_TYPES, { f, i: 0, u: 0, b: false, s: '' }).f;
    assert.ok(Object.is(got, f), `expected ${String(f)}, got ${String(got)}`);
  }
});

test('RecordCodec round-trips bool true and false', () => {
  assert.equal(roundTrip(ALL_TYPES, { f: 0, i: 0, u: 0, b: true, s: '' }).b, true);
  assert.equal(roundTrip(ALL_TYPES, { f: 0, i: 0, u: 0, b: false, s: '' }).b, false);
});

test('RecordCodec round-trips empty, unicode and long strings', () => {
  const long = 'x'.repeat(65535);
  for (const s of ['', 'é€😀 中文 \u0000 nul', long]) {
    assert.equal(roundTrip(ALL_TYPES, { f: 0, i: 0, u: 0, b: false, s }).s, s);
  }
});

test('RecordCodec refuses a string column longer than 65535 UTF-8 bytes', () => {
  const codec = new RecordCodec(ALL_TYPES);
  assert.throws(() => codec.encode({ f: 0, i: 0, u: 0, b: false, s: 'x'.repeat(65536) }), /65535/);
  // Multi-byte characters count in bytes, not characters.
  assert.throws(() => codec.encode({ f: 0, i: 0, u: 0, b: false, s: '€'.repeat(30000) }), /65535/);
});

test('RecordCodec round-trips a record with several string columns', () => {
  const record = { first: 'alpha', n: -5, second: '', flag: true, third: 'γάμμα 😀' };
  assert.deepEqual(roundTrip(THREE_STRINGS, record), record);
});

test('RecordCodec accessors of the 2nd and 3rd string columns read the right string', () => {
  const codec = new RecordCodec(THREE_STRINGS);
  const bytes = codec.encode({ first: 'one', n: 1, second: 'two-two', flag: false, third: 'three 3' });
  assert.equal(codec.accessor('first')(bytes), 'one');
  assert.equal(codec.accessor('second')(bytes), 'two-two');
  assert.equal(codec.accessor('third')(bytes), 'three 3');
  assert.equal(codec.read(bytes, 'third'), 'three 3');
  assert.equal(codec.accessor('n')(bytes), 1);
});

test('RecordCodec encodes missing columns as zero, false and empty string', () => {
  assert.deepEqual(roundTrip(ALL_TYPES, {}), { f: 0, i: 0, u: 0, b: false, s: '' });
});

test('RecordCodec padding gives at least the requested size and decodes the same', () => {
  const codec = new RecordCodec(THREE_STRINGS);
  const record = { first: 'a', n: 42, second: 'bb', flag: true, third: 'ccc' };
  const plain = codec.encode(record);
  for (const pad of [0, plain.length - 1, plain.length, plain.length + 1, 1000]) {
    const padded = codec.encode(record, pad);
    assert.ok(padded.length >= pad, `size ${padded.length} < ${pad}`);
    assert.equal(padded.length, Math.max(pad, plain.length));
    assert.deepEqual(codec.decode(padded), record);
  }
});

test('RecordCodec reads a record stored inside a larger buffer (non-zero byteOffset)', () => {
  const codec = new RecordCodec(ALL_TYPES);
  const record = { f: -2.5, i: -9, u: 4000000000, b: true, s: 'offset' };
  const bytes = codec.encode(record);
  const host = new Uint8Array(bytes.length + 13);
  host.set(bytes, 7);
  assert.deepEqual(codec.decode(host.subarray(7, 7 + bytes.length)), record);
});

test('RecordCodec rejects a schema with a duplicate column', () => {
  const columns: Column[] = [
    { name: 'a', type: 'i32' },
    { name: 'a', type: 'string' },
  ];
  assert.throws(() => new RecordCodec({ name: 'dup', columns }), /duplicate column a/);
});

test('RecordCodec rejects an unknown column type', () => {
  for (const type of ['u64', 'int', 'toString', 'constructor']) {
    const columns = [{ name: 'x', type }] as unknown as Column[];
    assert.throws(() => new RecordCodec({ name: 'bad', columns }), /unknown column type/, `type ${type}`);
  }
});

test('RecordCodec accessor for a missing column throws a message listing the columns', () => {
  const codec = new RecordCodec(SAMPLE_SCHEMA);
  assert.throws(
    () => codec.accessor('price'),
    (err: Error) => {
      assert.match(err.message, /no column 'price'/);
      assert.match(err.message, /id, amount, quantity, flag, category/);
      return true;
    },
  );
});

test('RecordCodec numberAccessor reads numeric columns and rejects string columns', () => {
  const codec = new RecordCodec(ALL_TYPES);
  const bytes = codec.encode({ f: 1.5, i: -3, u: 7, b: true, s: 'x' });
  assert.equal(codec.numberAccessor('f')(bytes), 1.5);
  assert.equal(codec.numberAccessor('i')(bytes), -3);
  assert.equal(codec.numberAccessor('u')(bytes), 7);
  assert.throws(() => codec.numberAccessor('s'), /no numeric column 's'/);
  assert.throws(() => codec.numberAccessor('missing'), /no numeric column 'missing'/);
});

// ---- compilePredicate -----------------------------------------------------------------------

const codec = new RecordCodec(ALL_TYPES);
const rows = [-2, 0, 5, 10].map((i) => codec.encode({ f: i / 2, i, u: 0, b: i > 0, s: `s${i}` }));
const matching = (conditions: Condition[]): number[] => {
  const p = compilePredicate(codec, conditions);
  return rows.filter(p).map((b) => codec.read(b, 'i') as number);
};

test('compilePredicate < keeps values strictly below', () => {
  assert.deepEqual(matching([{ column: 'i', op: '<', value: 5 }]), [-2, 0]);
});

test('compilePredicate <= keeps values below or equal', () => {
  assert.deepEqual(matching([{ column: 'i', op: '<=', value: 5 }]), [-2, 0, 5]);
});

test('compilePredicate > keeps values strictly above', () => {
  assert.deepEqual(matching([{ column: 'i', op: '>', value: 0 }]), [5, 10]);
});

test('compilePredicate >= keeps values above or equal', () => {
  assert.deepEqual(matching([{ column: 'i', op: '>=', value: 0 }]), [0, 5, 10]);
});

test('compilePredicate == matches numbers, strings and booleans exactly', () => {
  assert.deepEqual(matching([{ column: 'i', op: '==', value: 5 }]), [5]);
  assert.deepEqual(matching([{ column: 's', op: '==', value: 's10' }]), [10]);
  assert.deepEqual(matching([{ column: 'b', op: '==', value: false }]), [-2, 0]);
  assert.deepEqual(matching([{ column: 'f', op: '==', value: 2.5 }]), [5]);
});

test('compilePredicate != excludes the value', () => {
  assert.deepEqual(matching([{ column: 'i', op: '!=', value: 5 }]), [-2, 0, 10]);
  assert.deepEqual(matching([{ column: 's', op: '!=', value: 's0' }]), [-2, 5, 10]);
});

test('compilePredicate of several conditions is their conjunction', () => {
  assert.deepEqual(
    matching([
      { column: 'i', op: '>', value: -2 },
      { column: 'f', op: '<', value: 5 },
      { column: 'b', op: '==', value: true },
    ]),
    [5],
  );
  assert.deepEqual(
    matching([
      { column: 'i', op: '>', value: 5 },
      { column: 'i', op: '<', value: 5 },
    ]),
    [],
  );
});

test('compilePredicate of an empty or omitted list is always true', () => {
  assert.deepEqual(matching([]), [-2, 0, 5, 10]);
  const p = compilePredicate(codec);
  assert.equal(rows.every(p), true);
});

test('compilePredicate rejects an unknown operator', () => {
  const bad = [{ column: 'i', op: '=~', value: 1 }] as unknown as Condition[];
  assert.throws(() => compilePredicate(codec, bad), /unknown operator '=~'/);
});

test('compilePredicate rejects a condition on a missing column', () => {
  assert.throws(() => compilePredicate(codec, [{ column: 'nope', op: '==', value: 1 }]), /no column 'nope'/);
});

// ---- keys -----------------------------------------------------------------------------------

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

test('compareBytes orders byte-wise, shorter prefix first', () => {
  assert.equal(compareBytes(b(1, 2), b(1, 2)), 0);
  assert.equal(compareBytes(b(), b()), 0);
  assert.ok(compareBytes(b(1), b(2)) < 0);
  assert.ok(compareBytes(b(2), b(1)) > 0);
  assert.ok(compareBytes(b(1), b(1, 0)) < 0);
  assert.ok(compareBytes(b(), b(0)) < 0);
  assert.ok(compareBytes(b(0xff), b(0x00, 0xff)) > 0);
  assert.ok(compareBytes(b(0x7f), b(0x80)) < 0, 'bytes compare unsigned');
});

test('inRange is half-open: start included, end excluded', () => {
  const r = { start: utf8('b'), end: utf8('d') };
  assert.equal(inRange(utf8('a'), r), false);
  assert.equal(inRange(utf8('b'), r), true);
  assert.equal(inRange(utf8('c\xff'), r), true);
  assert.equal(inRange(utf8('czzz'), r), true);
  assert.equal(inRange(utf8('d'), r), false);
  assert.equal(inRange(utf8('d\0'), r), false);
});

test('inRange with an empty end reaches to the end of the keyspace', () => {
  const r = { start: utf8('m'), end: new Uint8Array(0) };
  assert.equal(inRange(utf8('l'), r), false);
  assert.equal(inRange(utf8('m'), r), true);
  assert.equal(inRange(b(0xff, 0xff, 0xff), r), true);
  const all = { start: new Uint8Array(0), end: new Uint8Array(0) };
  assert.equal(inRange(b(0), all), true);
});

// ---- definePlugin ---------------------------------------------------------------------------

test('definePlugin returns a frozen, marked copy of the definition', () => {
  const definition = {
    name: 'demo',
    version: '1.0.0',
    apiVersion: API_VERSION,
    handle: (): number => 1,
    merge: (parts: number[]): number => parts.length,
  };
  const plugin = definePlugin(definition);
  assert.ok(Object.isFrozen(plugin));
  assert.equal(plugin.__copbenchPlugin, true);
  assert.equal(plugin.name, 'demo');
  assert.notEqual(plugin as unknown, definition);
  assert.throws(() => {
    (plugin as { name: string }).name = 'changed';
  }, TypeError);
  assert.equal(plugin.name, 'demo');
});

test('packBytes/unpackBytes: byte strings round-trip, with one length when all are alike and a list otherwise', () => {
  const same = [Buffer.from('row:000000001'), Buffer.from('row:000000002')];
  const packedSame = packBytes(same);
  assert.equal(packedSame.lengths, 13);
  assert.deepEqual(unpackBytes(packedSame, 2).map((b) => Buffer.from(b).toString()), ['row:000000001', 'row:000000002']);
  assert.deepEqual(unpackBytes(packedSame, 1).map((b) => Buffer.from(b).toString()), ['row:000000001']);
  const mixed = packBytes([new Uint8Array([1]), new Uint8Array([]), new Uint8Array([2, 3])]);
  assert.deepEqual(mixed.lengths, [1, 0, 2]);
  assert.deepEqual(unpackBytes(mixed).map((b) => [...b]), [[1], [], [2, 3]]);
  assert.deepEqual(unpackBytes(packBytes([])), []);
});

test('numberAccessor reads a bool column as 0/1, as documented', () => {
  const codec = new RecordCodec(SAMPLE_SCHEMA);
  const read = codec.numberAccessor('flag');
  assert.equal(read(codec.encode({ id: 1, amount: 2, quantity: 3, flag: true, category: 'c1' })), 1);
  assert.equal(read(codec.encode({ id: 1, amount: 2, quantity: 3, flag: false, category: 'c1' })), 0);
});
