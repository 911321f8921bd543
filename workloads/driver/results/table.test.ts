import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNumber, formatTable } from './table';

test('numbers are right-aligned, text left-aligned, under a header and a rule', () => {
  const rows = [
    { mode: 'pushdown', p99Ms: 1.234, bytes: 1200 },
    { mode: 'client', p99Ms: 123.456, bytes: 12_345_678 },
  ];
  assert.equal(
    formatTable(rows, ['mode', 'p99Ms', 'bytes']),
    ['mode      p99Ms       bytes', '--------  -----  ----------', 'pushdown   1.23       1,200', 'client    123.5  12,345,678'].join('\n'),
  );
});

test('columns take labels, alignment, decimals and custom formats; missing values show as -', () => {
  const rows: Array<{ name: string; ratio: number | null; ok: boolean }> = [
    { name: 'a', ratio: 0.5, ok: true },
    { name: 'b', ratio: null, ok: false },
  ];
  const text = formatTable(rows, [
    { key: 'name', label: 'NAME', align: 'right' },
    { key: 'ratio', label: 'ratio', decimals: 3 },
    { key: 'ok', format: (v) => (v ? 'yes' : 'no') },
  ]);
  assert.equal(text, ['NAME  ratio  ok', '----  -----  ---', '   a  0.500  yes', '   b      -  no'].join('\n'));
});

test('formatNumber chooses decimals by magnitude and names non-finite values', () => {
  assert.equal(formatNumber(1234567), '1,234,567');
  assert.equal(formatNumber(1234.567), '1,234.6');
  assert.equal(formatNumber(12.3456), '12.35');
  assert.equal(formatNumber(0.012345), '0.0123');
  assert.equal(formatNumber(NaN), '-');
  assert.equal(formatNumber(Infinity), 'inf');
  assert.equal(formatNumber(2, 2), '2.00');
});

test('a table without rows is its header and rule', () => {
  assert.equal(formatTable<{ a: number }>([], ['a']), 'a\n-');
});
