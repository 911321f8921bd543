import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PluginRunner } from '../../backends/backend';
import { checkedCall } from './checked-call';

/** A runner whose answer streams `rows` at field `rows` in two batches, with `count` beside them. */
function streaming(rows: Array<[string, string]>): PluginRunner {
  return {
    async run(call: { onRows?: (rows: unknown[]) => void }) {
      call.onRows?.(rows.slice(0, 1));
      call.onRows?.(rows.slice(1));
      return { result: { count: rows.length, rows: new Array(rows.length) }, streamed: { field: 'rows', rows: rows.length, consumerMs: 0, consumerCpuUs: 0 } };
    },
  } as unknown as PluginRunner;
}

const CALL = { plugin: 'filter', request: {}, start: '', end: '', mode: 'pushdown' as const };

test('digest checks every streamed row; count checks their number, which the timed calls need only', async () => {
  const a = streaming([['k1', 'v1'], ['k2', 'v2']]);
  const b = streaming([['k1', 'v1'], ['k2', 'XX']]);
  const [aDigest, bDigest] = [await checkedCall(a, CALL, 'digest'), await checkedCall(b, CALL, 'digest')];
  assert.notEqual(aDigest.checksum, bDigest.checksum, 'a different row changes the digest');
  const [aCount, bCount] = [await checkedCall(a, CALL, 'count'), await checkedCall(b, CALL, 'count')];
  assert.equal(aCount.checksum, bCount.checksum, 'count sees the number of rows only');
  assert.notEqual((await checkedCall(streaming([['k1', 'v1']]), CALL, 'count')).checksum, aCount.checksum, 'a missing row changes the count');
});
