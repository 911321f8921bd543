/**
 * Redis runs one script at a time: a pushdown call that holds its node past busy-reply-threshold
 * makes the node answer every other client BUSY. The runner stops such a call with FUNCTION KILL
 * and fails it with an error that says what to change; the node keeps serving, and the same
 * request in short slices runs. What a long call does to a point read on the same node is
 * recorded here too: it waits, then gets BUSY.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RespConnection } from '../../../engine/client/connection';
import { RespError } from '../../../engine/protocol/resp';
import { SAMPLE_SCHEMA } from '../../../engine/plugin-api';
import { syntheticRows } from '../../datasets/synthetic';
import filter, { type FilterRequest } from '../../../plugins/filter';
import { RedisClusterClient } from './cluster-client';
import { loadFunctions } from './functions';
import { planLayout, workUnits } from './layout';
import { RedisCluster } from './launcher';
import { loadRedisRows } from './loader';
import { BusyThresholdError, runPushdown } from './pushdown';

const ROWS = 200_000;
/** Far below what one Lua call over every row takes (~0.7 µs a row: ~140 ms). */
const THRESHOLD_MS = 30;
const request: FilterRequest = { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: 500 }], output: 'count' };

let cluster: RedisCluster;
let client: RedisClusterClient;

before(async () => {
  cluster = await RedisCluster.start({ nodes: 3 });
  client = await RedisClusterClient.connect(cluster.addresses);
  await loadRedisRows(client, syntheticRows({ rows: ROWS, seed: 5, valueBytes: 0 }), { totalRows: ROWS, buckets: 1 });
  await loadFunctions(client);
  for (const p of client.primaries) await client.callNode(p.address, ['CONFIG', 'SET', 'busy-reply-threshold', String(THRESHOLD_MS)]);
});

after(async () => {
  client?.close();
  await cluster?.stop();
});

test('a call past busy-reply-threshold is killed with a clear error; the node keeps serving; short slices run', { timeout: 60_000 }, async () => {
  const layout = planLayout(ROWS, 1);
  const [whole] = workUnits(layout, ROWS);
  const node = client.ownerOf(whole!.slot);
  const [host, port] = [node.slice(0, node.lastIndexOf(':')), Number(node.slice(node.lastIndexOf(':') + 1))];
  const reader = new RespConnection({ host, port, requestTimeoutMs: 10_000 });
  try {
    await reader.call(['PING']);
    const long = runPushdown(client, filter, request, [whole!], { busyThresholdMs: THRESHOLD_MS });
    // A point read on the same node while the call runs: it waits, and past the threshold gets BUSY.
    await new Promise((r) => setTimeout(r, 5));
    const started = process.hrtime.bigint();
    const pointRead = await reader.send(['GET', 'some-key']);
    const waitedMs = Number(process.hrtime.bigint() - started) / 1e6;
    await assert.rejects(long, (err: Error) => err instanceof BusyThresholdError && /busy-reply-threshold of 30 ms/.test(err.message) && /backend\.sliceRows/.test(err.message));
    assert.ok(pointRead instanceof RespError && pointRead.code === 'BUSY', `the point read got ${String(pointRead)}`);
    assert.ok(waitedMs >= THRESHOLD_MS - 10, `the point read waited for the threshold (${waitedMs.toFixed(1)} ms)`);
    assert.equal(String(await reader.call(['PING'])), 'PONG', 'the node serves again');
  } finally {
    reader.close();
  }
  const sliced = await runPushdown(client, filter, request, workUnits(layout, 5000), { busyThresholdMs: THRESHOLD_MS });
  assert.ok((sliced.result as { count: number }).count > 0.45 * ROWS && (sliced.result as { count: number }).count < 0.55 * ROWS);
});
