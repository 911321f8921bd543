import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerChecksum, rowsDigestedChecksum, RowsDigest, streamedChecksum } from './checksum';

test('equal answers have equal checksums, whatever the key order and byte-string type', () => {
  const a = { count: 3, rows: [[Buffer.from('k1'), new Uint8Array([1, 2])]], groups: { b: 1, a: 2 } };
  const b = { groups: { a: 2, b: 1 }, rows: [[new Uint8Array(Buffer.from('k1')), Buffer.from([1, 2])]], count: 3 };
  assert.equal(answerChecksum(a), answerChecksum(b));
});

test('numbers agree to 12 significant digits, and no further', () => {
  assert.equal(answerChecksum({ sum: 0.1 + 0.2 }), answerChecksum({ sum: 0.3 }));
  assert.notEqual(answerChecksum({ sum: 0.3 }), answerChecksum({ sum: 0.30000001 }));
});

test('any real difference shows', () => {
  const base = { rows: [[Buffer.from('k1'), Buffer.from('v1')]], n: 1 };
  const variants: unknown[] = [
    { rows: [[Buffer.from('k1'), Buffer.from('v2')]], n: 1 },
    { rows: [[Buffer.from('k1v1')]], n: 1 },
    { rows: [[Buffer.from('k1'), Buffer.from('v1')]], n: 2 },
    { rows: [[Buffer.from('k1'), Buffer.from('v1')]], n: '1' },
    { rows: [[Buffer.from('k1'), Buffer.from('v1')]], n: 1, extra: null },
    { rows: [], n: 1 },
    [base],
  ];
  const digests = new Set([answerChecksum(base), ...variants.map(answerChecksum)]);
  assert.equal(digests.size, variants.length + 1);
});

test('null, undefined, booleans, NaN and infinities are told apart', () => {
  const values = [null, undefined, true, false, NaN, Infinity, -Infinity, 0, '', []];
  assert.equal(new Set(values.map(answerChecksum)).size, values.length);
});

test('the digest is that of the unstaged byte stream: checksums did not change with the staging buffer', () => {
  // Computed by the implementation that hashed every tag and byte string on its own.
  const answer = { count: 2, rows: [[Buffer.from('k1'), Buffer.from('v1')], [Buffer.from('k2'), Buffer.alloc(5000, 7)]], note: 'x'.repeat(5000), n: [1.5, -0, NaN, 2n, null, undefined, true] };
  assert.equal(answerChecksum(answer), '60559cff0574eaef');
});

test('an answer whose rows streamed in, in any batches, checksums as the whole answer does', () => {
  const rows = Array.from({ length: 1000 }, (_, i) => [Buffer.from(`key${i}`), Buffer.alloc(i % 300, i)]);
  const whole = { count: 1000, rows };
  const digest = new RowsDigest();
  for (let i = 0; i < rows.length; i += 137) digest.add(rows.slice(i, i + 137));
  // The streamed answer's own rows field (here: holes of the right length) does not count.
  assert.equal(streamedChecksum({ count: 1000, rows: new Array(1000) }, 'rows', digest), rowsDigestedChecksum(whole, 'rows'));
});

test('streamed rows in another order, or other rows, checksum differently', () => {
  const rows = [[Buffer.from('a'), Buffer.from('1')], [Buffer.from('b'), Buffer.from('2')]];
  const base = rowsDigestedChecksum({ count: 2, rows }, 'rows');
  assert.notEqual(rowsDigestedChecksum({ count: 2, rows: [...rows].reverse() }, 'rows'), base);
  assert.notEqual(rowsDigestedChecksum({ count: 2, rows: rows.slice(1) }, 'rows'), base);
  assert.notEqual(rowsDigestedChecksum({ count: 3, rows }, 'rows'), base);
});
