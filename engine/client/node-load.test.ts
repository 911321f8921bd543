import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeLoadTracker, pushBackWhenBusy, WAIT_HALF_LIFE_MS } from './node-load';
import type { NodeCallStats } from '../node/coprocessor-host';
import type { RegionInfo } from '../placement/cluster-map';

const stats = (over: Partial<NodeCallStats>): NodeCallStats => ({ rowsScanned: 0, bytesScanned: 0, rowsWritten: 0, cpuUs: 0, runUs: 10_000, queueUs: 0, handoffUs: 0, nodeUs: 10_000, busyWorkers: 0, queuedCalls: 0, workers: 2, ...over });
const region = (nodeId: number): RegionInfo => ({ id: 1, epoch: 1, start: Buffer.alloc(0), end: Buffer.alloc(0), nodeId }) as unknown as RegionInfo;

test('an idle node adds no expected wait; an unknown node neither', () => {
  const load = new NodeLoadTracker(() => 0);
  load.observe(1, stats({}));
  assert.equal(load.expectedWaitMs(1), 0);
  assert.equal(load.expectedWaitMs(2), 0);
});

test('the expected wait is the larger of the measured mean wait and the reported backlog', () => {
  const load = new NodeLoadTracker(() => 0);
  // Every worker busy, 3 queued, 10 ms per call over 2 workers: (3 + 1) × 10 / 2 = 20 ms.
  load.observe(1, stats({ busyWorkers: 2, queuedCalls: 3, queueUs: 5_000 }));
  assert.equal(load.expectedWaitMs(1), 20);
  // A measured wait longer than the backlog suggests wins.
  load.observe(2, stats({ queueUs: 50_000 }));
  assert.equal(load.expectedWaitMs(2), 50);
});

test('what is known of a node fades: the wait halves every half-life without news', () => {
  let now = 0;
  const load = new NodeLoadTracker(() => now);
  load.observe(1, stats({ queueUs: 40_000 }));
  now = WAIT_HALF_LIFE_MS;
  assert.equal(load.expectedWaitMs(1), 20);
  now = 3 * WAIT_HALF_LIFE_MS;
  assert.equal(load.expectedWaitMs(1), 5);
});

test('a busy refusal marks every worker busy with a full queue', () => {
  const load = new NodeLoadTracker(() => 0);
  load.observe(1, stats({ runUs: 8_000 }));
  load.observeRefusal(1);
  assert.equal(load.expectedWaitMs(1), ((2 + 1) * 8) / 2);
});

test('pushBackWhenBusy pushes a region back only when pulling it up beats pushing it down plus the wait', () => {
  const load = new NodeLoadTracker(() => 0);
  const rule = pushBackWhenBusy(load, { pushdownMs: 10, clientMs: 30 });
  assert.equal(rule(region(1)), false, 'idle: pushdown (10) beats client (30)');
  load.observe(1, stats({ queueUs: 15_000 }));
  assert.equal(rule(region(1)), false, '10 + 15 < 30: still push');
  load.observe(1, stats({ queueUs: 60_000 })); // running mean: 15 + 0.3 × 45 = 28.5 ms
  assert.equal(rule(region(1)), true, '10 + 28.5 > 30: pull up');
  assert.equal(rule(region(2)), false, 'another, idle node still gets pushdown');
  assert.equal(pushBackWhenBusy(load, { pushdownMs: 30, clientMs: 10 })(region(2)), true, 'where client is cheaper anyway, every region goes client-side');
});
