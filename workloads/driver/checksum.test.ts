import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerChecksum } from './checksum';

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
