/**
 * Spawned by store-recovery.test.ts: opens a NodeStore, makes a deterministic series of writes
 * (churnOps), reports each acknowledgement on stdout, then either closes cleanly or SIGKILLs itself
 * with LMDB unsynced since its last checkpoint.
 *
 * argv: <dir> <kill|close>
 */
import { NodeStore } from './store';
import { churnOps, CHURN_ROWS, rowKey, rowValue } from './recovery-ops';

async function main(): Promise<void> {
  const [dir, ending] = process.argv.slice(2);
  if (!dir || (ending !== 'kill' && ending !== 'close')) throw new Error('usage: recovery-child <dir> <kill|close>');
  // No timed checkpoint during the run: the crash must restore the one taken after loading.
  const store = NodeStore.open(dir, { checkpoint: { maxIntervalMs: 3_600_000 } });
  await store.ready();
  await store.putMany(Array.from({ length: CHURN_ROWS }, (_, i) => ({ key: rowKey(i), value: rowValue(i, 0) })));
  await store.checkpoint();
  // A second checkpoint: the churn is then logged into the reused file of the segment that holds the
  // load, so replay must stop at the churn's frames, before that file's older ones.
  await store.checkpoint();
  const ops = churnOps(7);
  // Ten writes in flight at a time: they form groups as a node's concurrent clients would.
  for (let at = 0; at < ops.length; at += 10) {
    await Promise.all(
      ops.slice(at, at + 10).map(async (op) => {
        if (op.kind === 'putMany') await store.putMany(op.rows);
        else if (op.kind === 'removeMany') await store.removeMany(op.keys);
        else if (op.kind === 'clearRange') await store.clearRange(op.range);
        else await store.putMeta(op.name, op.value);
      }),
    );
    const stats = store.persistenceStats()!;
    process.stdout.write(`${JSON.stringify({ acked: Math.min(at + 10, ops.length), groups: stats.groups, inlineSyncs: stats.inlineSyncs })}\n`);
  }
  if (ending === 'close') {
    await store.close();
    process.exit(0);
  }
  process.kill(process.pid, 'SIGKILL');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
