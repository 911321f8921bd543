import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, Progress, type ProgressStream } from './progress';

/** A stream that keeps what is written, and a clock the test moves. */
function fixture(tty: boolean, columns = 100): { stream: ProgressStream & { out: string[] }; clock: { ms: number }; now: () => number } {
  const out: string[] = [];
  const clock = { ms: 0 };
  return { stream: { out, isTTY: tty, columns, write: (t: string) => out.push(t) }, clock, now: () => clock.ms };
}

test('on a TTY one line is redrawn in place with bar, count, %, rate and ETA', () => {
  const { stream, clock, now } = fixture(true);
  const p = new Progress('load', 1000, { stream, now });
  clock.ms = 1000;
  p.tick(250);
  assert.equal(stream.out.length, 1);
  const line = stream.out[0]!;
  assert.ok(line.startsWith('\rload ['), line);
  assert.match(line, /250\/1,000 25%/);
  assert.match(line, /250\/s/);
  assert.match(line, /ETA 0:03/);
  assert.ok(line.endsWith('\x1b[K'));
  assert.ok(!line.includes('\n'));
});

test('on a TTY redraws happen at most every 100 ms', () => {
  const { stream, clock, now } = fixture(true);
  const p = new Progress('x', 10_000, { stream, now });
  for (let i = 0; i < 1000; i++) {
    clock.ms += 1;
    p.tick();
  }
  // 1000 ticks over 1 s: the first draw and one per 100 ms after it.
  assert.ok(stream.out.length >= 9 && stream.out.length <= 11, `${stream.out.length} draws`);
  p.done();
  assert.match(stream.out.at(-1)!, /^\rx: done, 1,000 in 1\.0 s \(1,000\/s\)\x1b\[K\n$/);
});

test('without a TTY, plain lines come every 10% or every 2 s, not per tick', () => {
  const { stream, clock, now } = fixture(false);
  const p = new Progress('measure', 100, { stream, now });
  for (let i = 0; i < 100; i++) {
    clock.ms += 10;
    p.tick();
  }
  // Ten deciles crossed in 1 s; no time-based lines.
  assert.equal(stream.out.length, 10);
  assert.ok(stream.out.every((l) => l.startsWith('measure: ') && l.endsWith('\n') && !l.includes('\r')));
  assert.match(stream.out[0]!, /^measure: 10\/100 10%/);
  const slow = fixture(false);
  const q = new Progress('slow', 1_000_000, { stream: slow.stream, now: slow.now });
  for (let i = 0; i < 100; i++) {
    slow.clock.ms += 100;
    q.tick();
  }
  // 10 s, far from 10%: one line per 2 s.
  assert.equal(slow.stream.out.length, 5);
});

test('update sets the count; done prints once; an unknown total shows count and rate only', () => {
  const { stream, clock, now } = fixture(false);
  const p = new Progress('rows', 0, { stream, now });
  clock.ms = 2000;
  p.update(500);
  assert.equal(stream.out[0], 'rows: 500  250/s\n');
  p.done();
  p.done();
  p.tick();
  assert.equal(stream.out.length, 2);
  assert.equal(stream.out[1], 'rows: done, 500 in 2.0 s (250/s)\n');
});

test('the line fits a narrow terminal', () => {
  const { stream, clock, now } = fixture(true, 30);
  const p = new Progress('a-long-label', 100, { stream, now });
  clock.ms = 500;
  p.tick(10);
  const visible = stream.out[0]!.replace('\r', '').replace('\x1b[K', '');
  assert.ok(visible.length <= 29, visible);
});

test('formatDuration prints m:ss and h:mm:ss', () => {
  assert.equal(formatDuration(7), '0:07');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(Infinity), '?');
});
