import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cellValue, csvField, csvHeaderField, csvLine, parseCsv, type CsvValue } from './csv';

test('strings are quoted with doubled quotes; numbers, booleans and null are bare', () => {
  assert.equal(csvLine(['a', 'say "hi", then go', 12, -0.5, true, null, '']), '"a","say ""hi"", then go",12,-0.5,true,,""');
  assert.equal(csvField(NaN), 'NaN');
  assert.equal(csvField(-Infinity), '-Infinity');
  assert.throws(() => csvField(undefined as unknown as CsvValue), TypeError);
});

test('header names are bare unless they need quoting', () => {
  assert.equal(csvHeaderField('latencyMs'), 'latencyMs');
  assert.equal(csvHeaderField('a,b'), '"a,b"');
  assert.equal(csvHeaderField(' padded'), '" padded"');
});

test('every value reads back with its type, including line breaks, commas and number-like strings', () => {
  const values: CsvValue[] = ['multi\nline\r\ntext', 'a,b', '"quoted"', '12', 'true', '', 0, 3.25e-7, 1e21, Number.MAX_SAFE_INTEGER, false, null, NaN, Infinity];
  const text = `${csvLine(values)}\r\n${csvLine(['x', 1, null, 2, true, 'y', 1, 2, 3, 4, true, 'z', 0, -Infinity])}\n`;
  const rows = parseCsv(text);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0]!.map(cellValue), values);
  assert.equal(rows[1]![13] && cellValue(rows[1]![13]), -Infinity);
});

test('bare text that is not a number stays a string (hand-edited files)', () => {
  const [row] = parseCsv('hello,0x10, 7 ,1e3,-.5\n');
  assert.deepEqual(row!.map(cellValue), ['hello', '0x10', ' 7 ', 1000, -0.5]);
});

test('a final line break is optional and empty text has no rows', () => {
  assert.deepEqual(parseCsv('a,b').map((r) => r.map(cellValue)), [['a', 'b']]);
  assert.deepEqual(parseCsv(''), []);
});

test('malformed quoting is reported with its line', () => {
  assert.throws(() => parseCsv('a,b\n"open,1\n'), /unterminated quoted field starting on line 2/);
  assert.throws(() => parseCsv('"a"x,1\n'), /after a closing quote on line 1/);
  assert.throws(() => parseCsv('a"b,1\n'), /quote inside an unquoted field on line 1/);
});
