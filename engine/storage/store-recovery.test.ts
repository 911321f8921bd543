/**
 * Crash recovery of NodeStore's write-ahead log: a child process loads rows, checkpoints, makes 400
 * acknowledged writes (overwrites, deletions, range deletions, metadata) and is SIGKILLed with LMDB
 * unsynced since the checkpoint. Reopening restores the checkpoint's meta pages and replays the log;
 * the store must hold exactly the acknowledged state. The churn rewrites most of LMDB's pages, so
 * this also shows that the checkpoint snapshot's pages were not reused while it was pinned: the
 * restore goes back to that snapshot on every open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NodeStore } from './store';
import { churnOps, expectedRows } from './recovery-ops';
import { decodeFrames, encodeFrame } from './wal-frame';

const REGISTER = path.join(__dirname, '..', 'runtime', 'register.js');
const CHILD = path.join(__dirname, 'recovery-child.ts');

/** Runs the child to its end; returns how many operations it reported acknowledged and how it ended. */
interface ChildProgress {
  acked: number;
  /** Commit groups, and how many of them synced on the main thread, when the last ack was reported. */
  groups: number;
  inlineSyncs: number;
}

function runChild(dir: string, ending: 'kill' | 'close'): Promise<ChildProgress & { signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', REGISTER, CHILD, dir, ending], { stdio: ['ignore', 'pipe', 'pipe'] });
    let progress: ChildProgress = { acked: 0, groups: 0, inlineSyncs: 0 };
    let stderr = '';
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) progress = JSON.parse(line) as ChildProgress;
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ ...progress, signal, code, stderr });
    });
  });
}

function assertHolds(store: NodeStore, expected: Map<string, Buffer>): void {
  let rows = 0;
  for (const row of store.scan({ start: Buffer.alloc(0), end: Buffer.alloc(0) })) {
    const want = expected.get(row.key.toString('hex'));
    assert.ok(want, `row ${row.key.toString()} should have been deleted`);
    assert.ok(want.equals(row.value), `row ${row.key.toString()} holds a stale or corrupt value`);
    rows++;
  }
  assert.equal(rows, expected.size, 'rows missing after recovery');
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'copbench-recovery-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const OPS = churnOps(7);
const EXPECTED = expectedRows(OPS);

test('every acknowledged write survives SIGKILL; reopening restores the checkpoint and replays the log', async () => {
  await withDir(async (dir) => {
    const run = await runChild(dir, 'kill');
    assert.equal(run.signal, 'SIGKILL', run.stderr);
    assert.equal(run.acked, OPS.length);
    assert.ok(run.inlineSyncs > 0 && run.inlineSyncs < run.groups, `both sync paths ran before the kill: ${run.inlineSyncs} of ${run.groups} groups inline`);
    const store = NodeStore.open(dir);
    try {
      assert.equal(store.recovery.restoredCheckpoint, true);
      assert.equal(store.recovery.frames > 0, true, 'the writes after the checkpoint come from the log');
      assert.equal(store.recovery.tornBytes, 0);
      assertHolds(store, EXPECTED);
      assert.deepEqual(store.getMeta('churn'), { n: 375 });
      // The recovered store takes writes, and a second crash-free reopen holds them.
      await store.put(Buffer.from('after'), Buffer.from('recovery'));
      const stats = store.persistenceStats()!;
      assert.equal(stats.writes, 1);
      assert.equal(stats.groups, 1);
      assert.ok(stats.checkpoints >= 1, 'the replayed log was checkpointed at open');
    } finally {
      await store.close();
    }
    const again = NodeStore.open(dir);
    try {
      assert.equal(again.recovery.frames, 0, 'a clean close leaves nothing to replay');
      assert.equal(again.get(Buffer.from('after'))?.toString(), 'recovery');
    } finally {
      await again.close();
    }
  });
});

test('a torn frame at the end of the log (a crash mid-append) is dropped and the rest recovers', async () => {
  await withDir(async (dir) => {
    const run = await runChild(dir, 'kill');
    assert.equal(run.signal, 'SIGKILL', run.stderr);
    const walDir = path.join(dir, 'wal');
    const newest = readdirSync(walDir).filter((name) => /^wal-\d+\.log$/.test(name)).sort().at(-1)!;
    const seq = Number(/\d+/.exec(newest)![0]);
    // The first bytes of a frame written right after the segment's last intact one (which may be
    // followed by a reused file's older frames: cut those off, as an append would have ended there).
    const file = path.join(walDir, newest);
    const { validBytes } = decodeFrames(readFileSync(file), seq);
    const torn = encodeFrame([{ kind: 'put', key: Buffer.from('never-acked'), value: Buffer.alloc(100) }], seq).subarray(0, 30);
    truncateSync(file, validBytes);
    appendFileSync(file, torn);
    const store = NodeStore.open(dir);
    try {
      assert.equal(store.recovery.tornBytes, torn.length);
      assert.equal(store.get(Buffer.from('never-acked')), undefined);
      assertHolds(store, EXPECTED);
    } finally {
      await store.close();
    }
  });
});

test('after a clean close nothing is replayed and every write is there', async () => {
  await withDir(async (dir) => {
    const run = await runChild(dir, 'close');
    assert.equal(run.code, 0, run.stderr);
    const store = NodeStore.open(dir);
    try {
      assert.equal(store.recovery.frames, 0);
      assertHolds(store, EXPECTED);
    } finally {
      await store.close();
    }
  });
});

test('a second store opened for writing on the same directory is refused', async () => {
  await withDir(async (dir) => {
    const store = NodeStore.open(dir);
    try {
      assert.throws(() => NodeStore.open(dir), /already open for writing/);
      assert.equal(NodeStore.openReader(dir).get(Buffer.from('x')), undefined);
    } finally {
      await store.close();
    }
  });
});
