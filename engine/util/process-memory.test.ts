/**
 * processMemory reads /proc/<pid>/status; ownPeakRssBytes is this process's own high-water mark, not
 * getrusage's (which a spawned process inherits from its parent on Linux).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ownPeakRssBytes, processMemory } from './process-memory';

const MIB = 1024 * 1024;

test('processMemory reads this process: RSS, its peak, anonymous and file-backed parts', () => {
  const m = processMemory(process.pid);
  assert.ok(m, 'this process is in /proc');
  assert.ok(m.rssBytes > MIB && m.peakRssBytes >= m.rssBytes, JSON.stringify(m));
  assert.ok(Math.abs(m.anonRssBytes + m.fileRssBytes - m.rssBytes) < 0.05 * m.rssBytes, JSON.stringify(m));
});

test("a spawned process's own peak RSS leaves out the parent it was forked from", () => {
  // A parent holding 400 MiB: on Linux the child's getrusage maxRSS starts from it, its own peak does not.
  const held = Buffer.alloc(400 * MIB, 1);
  const script = `const { ownPeakRssBytes } = require(${JSON.stringify(require.resolve('./process-memory'))});
    process.stdout.write(JSON.stringify({ own: ownPeakRssBytes(), maxRss: process.resourceUsage().maxRSS * 1024 }));`;
  const child = JSON.parse(execFileSync(process.execPath, ['--require', require.resolve('../runtime/register.js'), '-e', script], { encoding: 'utf8' })) as { own: number; maxRss: number };
  assert.ok(held.length === 400 * MIB);
  assert.ok(child.own < 200 * MIB, `own peak ${(child.own / MIB).toFixed(0)} MiB (maxRSS said ${(child.maxRss / MIB).toFixed(0)} MiB)`);
  assert.ok(ownPeakRssBytes() >= held.length, 'and this process counts what it holds');
});
