/**
 * The write-ahead log's frames and segment files: round trips of every mutation kind, and a torn or
 * corrupt tail (a crash mid-append) ending the log without losing the frames before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeFrames, encodeFrame, type Mutation } from './wal-frame';
import { WalSegments } from './wal-segments';

const EVERY_KIND: Mutation[] = [
  { kind: 'put', key: Buffer.from([0, 255, 10, 13]), value: Buffer.alloc(300, 7) },
  { kind: 'put', key: Buffer.from('empty'), value: Buffer.alloc(0) },
  { kind: 'remove', key: Buffer.from('gone') },
  { kind: 'removeRange', start: Buffer.from('a'), end: Buffer.alloc(0) },
  { kind: 'meta', name: 'nodeId', json: JSON.stringify({ id: 3, name: 'ünïcode' }) },
];

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'copbench-wal-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a frame round-trips every mutation kind', () => {
  const { frames, validBytes } = decodeFrames(Buffer.concat([encodeFrame(EVERY_KIND), encodeFrame([EVERY_KIND[2]!])]));
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0], EVERY_KIND);
  assert.deepEqual(frames[1], [EVERY_KIND[2]]);
  assert.equal(validBytes, encodeFrame(EVERY_KIND).length + encodeFrame([EVERY_KIND[2]!]).length);
});

test('decoding stops at a truncated frame and at a frame whose checksum fails', () => {
  const first = encodeFrame(EVERY_KIND);
  const second = encodeFrame([{ kind: 'put', key: Buffer.from('k'), value: Buffer.from('v') }]);
  for (let cut = 1; cut < second.length; cut += 3) {
    const torn = decodeFrames(Buffer.concat([first, second.subarray(0, cut)]));
    assert.equal(torn.frames.length, 1, `cut at ${cut}`);
    assert.equal(torn.validBytes, first.length);
  }
  const flipped = Buffer.from(second);
  flipped[flipped.length - 1]! ^= 0x40;
  const corrupt = decodeFrames(Buffer.concat([first, flipped, encodeFrame(EVERY_KIND)]));
  assert.equal(corrupt.frames.length, 1);
  assert.equal(corrupt.validBytes, first.length);
});

test('replay applies frames in order across segments, from the requested segment on', () => {
  withDir((dir) => {
    const wal = new WalSegments(dir);
    const seen: string[] = [];
    const put = (key: string): Buffer => encodeFrame([{ kind: 'put', key: Buffer.from(key), value: Buffer.alloc(1) }]);
    const first = wal.startNewSegment();
    wal.append(put('a'));
    const second = wal.startNewSegment();
    wal.append(put('b'));
    wal.append(put('c'));
    wal.close();
    assert.equal(second, first + 1);
    const replayed = new WalSegments(dir).replay(second, (frame) => seen.push(...frame.map((m) => (m.kind === 'put' ? m.key.toString() : m.kind))));
    assert.deepEqual(seen, ['b', 'c']);
    assert.deepEqual(replayed, { frames: 2, mutations: 2, tornBytes: 0 });
  });
});

test('a torn tail is cut off and later segments are dropped; the frames before it replay', () => {
  withDir((dir) => {
    const wal = new WalSegments(dir);
    const frame = encodeFrame([{ kind: 'put', key: Buffer.from('kept'), value: Buffer.from('v') }]);
    wal.startNewSegment();
    wal.append(frame);
    const garbage = Buffer.from('\x10\x00\x00\x00torn-frame', 'latin1');
    wal.append(garbage);
    wal.startNewSegment();
    wal.append(frame);
    wal.close();
    const segments = new WalSegments(dir).segments();
    const file = (seq: number): string => path.join(dir, `wal-${String(seq).padStart(16, '0')}.log`);
    const replayed = new WalSegments(dir).replay(0, () => undefined);
    assert.equal(replayed.frames, 1);
    assert.equal(replayed.tornBytes, garbage.length + frame.length);
    assert.equal(statSync(file(segments[0]!)).size, frame.length);
    assert.deepEqual(new WalSegments(dir).segments(), [segments[0]]);
    // A second replay finds a clean log.
    assert.deepEqual(new WalSegments(dir).replay(0, () => undefined), { frames: 1, mutations: 1, tornBytes: 0 });
  });
});

test('a new segment never reuses the number of an existing one', () => {
  withDir((dir) => {
    writeFileSync(path.join(dir, 'wal-0000000000000007.log'), '');
    appendFileSync(path.join(dir, 'unrelated.txt'), 'x');
    const wal = new WalSegments(dir);
    assert.equal(wal.startNewSegment(), 8);
    wal.close();
    assert.equal(readFileSync(path.join(dir, 'unrelated.txt'), 'utf8'), 'x');
  });
});
