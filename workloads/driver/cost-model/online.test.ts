import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnlineCorrection, PROBE_AFTER } from './online';
import type { PredictedMode } from './model';

/** Runs `calls` adaptive calls at one point against simulated costs; returns the modes it ran. */
function simulate(online: OnlineCorrection, predictedMs: Record<PredictedMode, number>, actualMs: (mode: PredictedMode, call: number) => number, calls: number, point = 'p'): PredictedMode[] {
  const ran: PredictedMode[] = [];
  for (let i = 0; i < calls; i++) {
    const mode = online.choose('link', point, predictedMs);
    online.observe('link', point, mode, predictedMs[mode], actualMs(mode, i));
    ran.push(mode);
  }
  return ran;
}

test('it switches mode on a simulated cluster whose costs change mid-run', () => {
  const online = new OnlineCorrection();
  // Pushdown costs 10 ms until call 10, then 40 ms (say, the nodes got busy); client stays at 20.
  const ran = simulate(online, { pushdown: 10, client: 20 }, (m, i) => (m === 'client' ? 20 : i < 10 ? 10 : 40), 30);
  assert.deepEqual(ran.slice(0, 10), new Array(10).fill('pushdown'), 'pushdown while it is faster');
  const switchedAt = ran.indexOf('client', 10);
  assert.ok(switchedAt >= 10 && switchedAt <= 12, `switched within 2 calls of the change (at ${switchedAt})`);
  assert.deepEqual(ran.slice(switchedAt), new Array(30 - switchedAt).fill('client'), 'and stays on client');
});

test('a close call the model got wrong is corrected after one probe', () => {
  const online = new OnlineCorrection();
  // The model expects client (90) to beat pushdown (100), but pushdown takes 80 and client 95.
  const ran = simulate(online, { pushdown: 100, client: 90 }, (m) => (m === 'pushdown' ? 80 : 95), 12);
  assert.deepEqual(ran.slice(0, PROBE_AFTER), new Array(PROBE_AFTER).fill('client'), 'first the model');
  assert.equal(ran[PROBE_AFTER], 'pushdown', 'then one probe of the close other mode');
  assert.deepEqual(ran.slice(PROBE_AFTER + 1), new Array(12 - PROBE_AFTER - 1).fill('pushdown'), 'then the faster one');
});

test('a mode much slower than predicted is left at once, with no probe needed', () => {
  const online = new OnlineCorrection();
  const ran = simulate(online, { pushdown: 50, client: 200 }, (m) => (m === 'pushdown' ? 400 : 210), 6);
  assert.deepEqual(ran, ['pushdown', 'client', 'client', 'client', 'client', 'client']);
});

test('a far-apart choice the model got right is never probed', () => {
  const online = new OnlineCorrection();
  const ran = simulate(online, { pushdown: 10, client: 100 }, (m) => (m === 'pushdown' ? 11 : 100), 20);
  assert.deepEqual(ran, new Array(20).fill('pushdown'));
});

test("the model's bias learned at one point carries to the next", () => {
  const online = new OnlineCorrection();
  // The model over-predicts pushdown by 1.5× everywhere. At the first point, it learns so.
  simulate(online, { pushdown: 30, client: 100 }, (m) => (m === 'pushdown' ? 20 : 100), 5, 'first');
  assert.ok(Math.abs(online.factor('link', 'pushdown') - 2 / 3) < 0.01, `factor ${online.factor('link', 'pushdown')}`);
  // At the next point the raw model says client (105 < 120); corrected, pushdown (80) wins from the first call.
  const ran = simulate(online, { pushdown: 120, client: 105 }, (m) => (m === 'pushdown' ? 80 : 105), 5, 'second');
  assert.deepEqual(ran, new Array(5).fill('pushdown'));
});
