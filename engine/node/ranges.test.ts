/**
 * subtractRanges: the parts of a set of half-open key ranges not covered by another set, where an
 * empty `end` is +infinity and an empty `start` is the smallest key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subtractRanges } from './ranges';
import type { KeyRange } from '../storage/store';
import { prng } from '../util/seeded-random';

const k = (s: string): Buffer => Buffer.from(s, 'latin1');
const r = (start: string, end: string): KeyRange => ({ start: k(start), end: k(end) });
/** Ranges as [start, end] latin1 string pairs, for readable assertions. */
const show = (ranges: KeyRange[]): Array<[string, string]> => ranges.map((x) => [x.start.toString('latin1'), x.end.toString('latin1')]);
/** Sorted by start so the assertion does not depend on the output order. */
const sorted = (ranges: KeyRange[]): Array<[string, string]> => show([...ranges].sort((a, b) => Buffer.compare(a.start, b.start)));

test('a disjoint cut leaves the range unchanged', () => {
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('a', 'b')])), [['c', 'f']]);
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('g', 'h')])), [['c', 'f']]);
  // Touching ends do not overlap: [c,f) minus [f,h) and minus [a,c).
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('f', 'h')])), [['c', 'f']]);
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('a', 'c')])), [['c', 'f']]);
});

test('a cut containing the range removes it entirely', () => {
  assert.deepEqual(subtractRanges([r('c', 'f')], [r('a', 'z')]), []);
  assert.deepEqual(subtractRanges([r('c', 'f')], [r('c', 'f')]), []);
  assert.deepEqual(subtractRanges([r('c', 'f')], [r('', '')]), []);
});

test('a cut overlapping the left part keeps the right part', () => {
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('a', 'd')])), [['d', 'f']]);
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('c', 'd')])), [['d', 'f']]);
});

test('a cut overlapping the right part keeps the left part', () => {
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('e', 'z')])), [['c', 'e']]);
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('e', 'f')])), [['c', 'e']]);
});

test('a cut in the middle produces two pieces', () => {
  assert.deepEqual(sorted(subtractRanges([r('c', 'f')], [r('d', 'e')])), [
    ['c', 'd'],
    ['e', 'f'],
  ]);
  // Binary keys that share a prefix.
  assert.deepEqual(sorted(subtractRanges([r('a', 'b')], [r('a\x00', 'a\xff')])), [
    ['a', 'a\x00'],
    ['a\xff', 'b'],
  ]);
});

test('an empty end is +infinity in the range and in the cut', () => {
  // Infinite range, finite cut in the middle: the right piece stays infinite.
  assert.deepEqual(sorted(subtractRanges([r('c', '')], [r('d', 'e')])), [
    ['c', 'd'],
    ['e', ''],
  ]);
  // Infinite cut: everything from its start is gone.
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('d', '')])), [['c', 'd']]);
  assert.deepEqual(show(subtractRanges([r('c', '')], [r('d', '')])), [['c', 'd']]);
  assert.deepEqual(subtractRanges([r('c', '')], [r('a', '')]), []);
  // A finite cut entirely before an infinite range does not touch it.
  assert.deepEqual(show(subtractRanges([r('c', '')], [r('a', 'b')])), [['c', '']]);
  // A finite range before an infinite cut is untouched.
  assert.deepEqual(show(subtractRanges([r('a', 'b')], [r('c', '')])), [['a', 'b']]);
});

test('an empty start is -infinity in the range and in the cut', () => {
  assert.deepEqual(show(subtractRanges([r('', 'f')], [r('', 'c')])), [['c', 'f']]);
  assert.deepEqual(sorted(subtractRanges([r('', '')], [r('c', 'd')])), [
    ['', 'c'],
    ['d', ''],
  ]);
  assert.deepEqual(show(subtractRanges([r('', '')], [r('', 'c')])), [['c', '']]);
  assert.deepEqual(show(subtractRanges([r('', '')], [r('c', '')])), [['', 'c']]);
  assert.deepEqual(subtractRanges([r('', '')], [r('', '')]), []);
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('', 'a')])), [['c', 'f']]);
});

test('multiple cuts and multiple ranges combine', () => {
  const out = subtractRanges(
    [r('a', 'h'), r('m', 'p'), r('x', '')],
    [r('b', 'c'), r('d', 'e'), r('g', 'n'), r('o', 'o\x00'), r('y', 'z')],
  );
  assert.deepEqual(sorted(out), [
    ['a', 'b'],
    ['c', 'd'],
    ['e', 'g'],
    ['n', 'o'],
    ['o\x00', 'p'],
    ['x', 'y'],
    ['z', ''],
  ]);
  // Order of the cuts does not change the result.
  const reversed = subtractRanges(
    [r('a', 'h'), r('m', 'p'), r('x', '')],
    [r('y', 'z'), r('o', 'o\x00'), r('g', 'n'), r('d', 'e'), r('b', 'c')],
  );
  assert.deepEqual(sorted(reversed), sorted(out));
});

test('no cuts returns the input ranges, and no ranges returns nothing', () => {
  assert.deepEqual(show(subtractRanges([r('a', 'b'), r('c', '')], [])), [
    ['a', 'b'],
    ['c', ''],
  ]);
  assert.deepEqual(subtractRanges([], [r('a', 'b')]), []);
});

test('the result never contains empty ranges', () => {
  // Empty input ranges are dropped, and cuts that meet exactly leave nothing behind.
  assert.deepEqual(subtractRanges([r('c', 'c')], []), []);
  assert.deepEqual(subtractRanges([r('c', 'f')], [r('c', 'd'), r('d', 'e'), r('e', 'f')]), []);
  assert.deepEqual(show(subtractRanges([r('c', 'f')], [r('c', 'c')])), [['c', 'f']]);
});

test('the input arrays are not modified', () => {
  const from = [r('a', 'z')];
  const minus = [r('c', 'd')];
  subtractRanges(from, minus);
  assert.deepEqual(show(from), [['a', 'z']]);
  assert.deepEqual(show(minus), [['c', 'd']]);
});

// ---- randomized property test ----

/** Small alphabet including the extreme bytes, so prefixes and 0x00/0xff edges are common. */
const ALPHABET = [0x00, 0x01, 0x61, 0x62, 0xfe, 0xff];

/** Every key of 1-2 bytes over the alphabet, in byte order. Points outside this universe are never tested. */
const UNIVERSE: Buffer[] = (() => {
  const keys: Buffer[] = [];
  for (const a of ALPHABET) {
    keys.push(Buffer.from([a]));
    for (const b of ALPHABET) keys.push(Buffer.from([a, b]));
  }
  return keys.sort(Buffer.compare);
})();

function contains(range: KeyRange, key: Buffer): boolean {
  return Buffer.compare(key, range.start) >= 0 && (range.end.length === 0 || Buffer.compare(key, range.end) < 0);
}

/** start <= end, or end = +infinity. */
function wellFormed(range: KeyRange): boolean {
  return range.end.length === 0 || Buffer.compare(range.start, range.end) <= 0;
}

function randomBound(rand: () => number, emptyChance: number): Buffer {
  if (rand() < emptyChance) return Buffer.alloc(0);
  const len = rand() < 0.5 ? 1 : 2;
  return Buffer.from(Array.from({ length: len }, () => ALPHABET[Math.floor(rand() * ALPHABET.length)]!));
}

function randomRange(rand: () => number): KeyRange {
  // Occasionally produce empty or inverted finite ranges too; they cover no keys.
  return { start: randomBound(rand, 0.15), end: randomBound(rand, 0.2) };
}

test('random ranges: result covers exactly the keys in from and not in minus, with no empty or overlapping pieces', () => {
  const rand = prng(0xc0ffee);
  let checkedOverlap = 0;
  for (let iter = 0; iter < 2000; iter++) {
    const from = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => randomRange(rand));
    const minus = Array.from({ length: Math.floor(rand() * 4) }, () => randomRange(rand));
    const out = subtractRanges(from, minus);
    const ctx = () => `iteration ${iter}: from=${JSON.stringify(from.map((x) => [x.start.toString('hex'), x.end.toString('hex')]))} minus=${JSON.stringify(minus.map((x) => [x.start.toString('hex'), x.end.toString('hex')]))} out=${JSON.stringify(out.map((x) => [x.start.toString('hex'), x.end.toString('hex')]))}`;
    for (const p of out) {
      assert.ok(p.end.length === 0 || Buffer.compare(p.start, p.end) < 0, `empty piece in ${ctx()}`);
    }
    for (const key of UNIVERSE) {
      const expected = from.some((x) => contains(x, key)) && !minus.some((x) => contains(x, key));
      const covering = out.filter((x) => contains(x, key)).length;
      assert.equal(covering > 0, expected, `key ${key.toString('hex')} in ${ctx()}`);
      // Pieces of a single input range never overlap each other. (Inverted cuts, end < start, are not
      // well-formed ranges and can leave overlapping pieces; the cluster map never produces them.)
      if (from.length === 1 && minus.every(wellFormed)) assert.ok(covering <= 1, `key ${key.toString('hex')} covered twice in ${ctx()}`);
    }
    if (from.length === 1 && minus.every(wellFormed)) checkedOverlap++;
    // The empty key (the smallest key) is only covered by a range starting at the empty key.
    const emptyKey = Buffer.alloc(0);
    const expectEmpty = from.some((x) => contains(x, emptyKey)) && !minus.some((x) => contains(x, emptyKey));
    assert.equal(
      out.some((x) => contains(x, emptyKey)),
      expectEmpty,
      `empty key in ${ctx()}`,
    );
  }
  assert.ok(checkedOverlap > 200, `only ${checkedOverlap} iterations checked for overlapping pieces`);
});
