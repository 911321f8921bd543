import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReusableBuffers } from './reusable-buffers';

test('returned buffers are handed out again, up to `keep` of them, each once', () => {
  const pool = new ReusableBuffers(1024, 2);
  const [a, b, c] = [pool.take(), pool.take(), pool.take()];
  assert.equal(a.length, 1024);
  assert.notEqual(a, b);
  pool.give(a);
  pool.give(a); // twice: still kept once
  pool.give(b);
  pool.give(c); // over `keep`: dropped
  pool.give(Buffer.alloc(10)); // not one of ours by size: dropped
  const again = new Set([pool.take(), pool.take()]);
  assert.deepEqual(again, new Set([a, b]));
  const fresh = pool.take();
  assert.ok(fresh !== a && fresh !== b && fresh !== c && fresh.length === 1024);
});
