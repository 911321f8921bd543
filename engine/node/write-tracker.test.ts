/** WriteTracker: settled() waits for the writes tracked before it (fulfilled or rejected), not for later ones. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteTracker } from './write-tracker';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Whether `p` has settled after the microtasks queued so far have run. */
async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  return settled;
}

test('settled() resolves at once with nothing in flight', async () => {
  assert.equal(await isSettled(new WriteTracker().settled()), true);
});

test('settled() waits for every earlier write, rejected ones included, and not for later writes', async () => {
  const tracker = new WriteTracker();
  const a = deferred();
  const b = deferred();
  tracker.track(a.promise);
  tracker.track(b.promise);
  const waiting = tracker.settled();
  const later = deferred();
  tracker.track(later.promise);
  a.resolve();
  assert.equal(await isSettled(waiting), false, 'b is still in flight');
  b.reject(new Error('write failed'));
  assert.equal(await isSettled(waiting), true, 'later writes are not waited for');
  later.resolve();
});

test('a later settled() also waits for writes of earlier generations still in flight', async () => {
  const tracker = new WriteTracker();
  const first = deferred();
  tracker.track(first.promise);
  const one = tracker.settled();
  const second = deferred();
  tracker.track(second.promise);
  const two = tracker.settled();
  second.resolve();
  assert.equal(await isSettled(two), false, 'first is still in flight');
  first.resolve();
  assert.equal(await isSettled(one), true);
  assert.equal(await isSettled(two), true);
});

test('track returns the write itself', async () => {
  const tracker = new WriteTracker();
  const write = Promise.resolve(42);
  assert.equal(tracker.track(write), write);
  assert.equal(await write, 42);
});

test('inFlight counts begun and tracked writes until they settle, across generations', async () => {
  const tracker = new WriteTracker();
  const a = deferred();
  tracker.track(a.promise);
  const settleB = tracker.begin();
  assert.equal(tracker.inFlight, 2);
  const waiting = tracker.settled();
  const c = deferred();
  tracker.track(c.promise);
  assert.equal(tracker.inFlight, 3);
  a.reject(new Error('failed writes settle too'));
  settleB();
  await waiting;
  assert.equal(tracker.inFlight, 1);
  c.resolve();
  await tracker.settled();
  assert.equal(tracker.inFlight, 0);
});
