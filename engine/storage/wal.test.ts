/**
 * The write-ahead log's frames and segment files: round trips of every mutation kind, a torn or
 * corrupt tail (a crash mid-append) ending the log without losing the frames before it, and a reused
 * segment file whose older frames are never replayed.
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
  const { frames, validBytes, tail } = decodeFrames(Buffer.concat([encodeFrame(EVERY_KIND, 3), encodeFrame([EVERY_KIND[2]!], 3)]), 3);
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0], EVERY_KIND);
  assert.deepEqual(frames[1], [EVERY_KIND[2]]);
  assert.equal(validBytes, encodeFrame(EVERY_KIND, 3).length + encodeFrame([EVERY_KIND[2]!], 3).length);
  assert.equal(tail, 'none');
});

test('decoding stops at a truncated frame and at a frame whose checksum fails', () => {
  const first = encodeFrame(EVERY_KIND, 1);
  const second = encodeFrame([{ kind: 'put', key: Buffer.from('k'), value: Buffer.from('v') }], 1);
  for (let cut = 1; cut < second.length; cut += 3) {
    const torn = decodeFrames(Buffer.concat([first, second.subarray(0, cut)]), 1);
    assert.equal(torn.frames.length, 1, `cut at ${cut}`);
    assert.equal(torn.validBytes, first.length);
    assert.equal(torn.tail, cut < 12 ? 'fragment' : 'torn', `cut at ${cut}`);
  }
  for (const at of [0, 8, second.length - 1]) {
    const flipped = Buffer.from(second);
    flipped[at]! ^= 0x40;
    const corrupt = decodeFrames(Buffer.concat([first, flipped, encodeFrame(EVERY_KIND, 1)]), 1);
    assert.equal(corrupt.frames.length, 1, `flipped byte ${at}`);
    assert.equal(corrupt.validBytes, first.length);
    assert.equal(corrupt.tail, 'torn');
  }
});

test("another segment's frames, or zeros, end a segment as a stale tail", () => {
  const mine = encodeFrame(EVERY_KIND, 5);
  for (const after of [encodeFrame(EVERY_KIND, 4), Buffer.alloc(64)]) {
    const decoded = decodeFrames(Buffer.concat([mine, after]), 5);
    assert.equal(decoded.frames.length, 1);
    assert.equal(decoded.validBytes, mine.length);
    assert.equal(decoded.tail, 'stale');
  }
});

const fileOf = (dir: string, seq: number): string => path.join(dir, `wal-${String(seq).padStart(16, '0')}.log`);
const putOf = (key: string): Mutation[] => [{ kind: 'put', key: Buffer.from(key), value: Buffer.alloc(1) }];

test('replay applies frames in order across segments, from the requested segment on', () => {
  withDir((dir) => {
    const wal = new WalSegments(dir);
    const seen: string[] = [];
    const first = wal.startNewSegment();
    wal.append(putOf('a'));
    const second = wal.startNewSegment();
    wal.append(putOf('b'));
    wal.append(putOf('c'));
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
    const seq = wal.startNewSegment();
    const kept = wal.append(putOf('kept'));
    const torn = encodeFrame(putOf('torn'), seq).subarray(0, 20);
    appendFileSync(fileOf(dir, seq), torn);
    const later = wal.startNewSegment();
    const laterBytes = wal.append(putOf('later'));
    wal.close();
    const replayed = new WalSegments(dir).replay(0, () => undefined);
    assert.equal(replayed.frames, 1);
    assert.equal(replayed.tornBytes, torn.length + laterBytes);
    assert.equal(statSync(fileOf(dir, seq)).size, kept);
    assert.deepEqual(new WalSegments(dir).segments(), [seq]);
    assert.ok(later > seq);
    // A second replay finds a clean log.
    assert.deepEqual(new WalSegments(dir).replay(0, () => undefined), { frames: 1, mutations: 1, tornBytes: 0 });
  });
});

test("a dropped segment's file is reused by the next segment, and its older frames are never replayed", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'copbench-wal-'));
  try {
    const wal = new WalSegments(dir);
    const old = wal.startNewSegment();
    for (let i = 0; i < 50; i++) wal.append(putOf(`old-${i}`));
    const oldSize = statSync(fileOf(dir, old)).size;
    const middle = wal.startNewSegment();
    wal.append(putOf('middle'));
    await wal.dropBefore(middle);
    assert.deepEqual(wal.segments(), [middle]);
    const reused = wal.startNewSegment();
    wal.append(putOf('new'));
    await new Promise<void>((resolve, reject) => wal.sync((err) => (err ? reject(err) : resolve())));
    wal.close();
    // The old file, renamed: same size, the new frame over the start of the old ones.
    assert.equal(statSync(fileOf(dir, reused)).size, oldSize);
    const seen: string[] = [];
    const replayed = new WalSegments(dir).replay(0, (frame) => seen.push(...frame.map((m) => (m.kind === 'put' ? m.key.toString() : m.kind))));
    assert.deepEqual(seen, ['middle', 'new']);
    assert.deepEqual(replayed, { frames: 2, mutations: 2, tornBytes: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
