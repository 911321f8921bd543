import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginStateStore, estimateBytes, type StateScope } from './state-store';
import { CoprError } from './sandbox/messages';

const RANGES = [{ start: new Uint8Array([1]), end: new Uint8Array([9]) }];
const scope = (over: Partial<StateScope> = {}): StateScope => ({ sha256: 'abc', session: 's1', regionId: 1, epoch: 1, dataVersion: 0, ranges: RANGES, ...over });

test('a value set in a session is found by the next call of the same scope', () => {
  const store = new PluginStateStore(1000, 'test quota');
  store.view(scope()).set('k', 'v', 10);
  assert.equal(store.view(scope()).get('k'), 'v');
  assert.deepEqual({ hits: store.counters.hits, sets: store.counters.sets }, { hits: 1, sets: 1 });
});

test('without a session nothing is kept', () => {
  const store = new PluginStateStore(1000, 'test quota');
  const state = store.view(undefined);
  assert.equal(state.enabled, false);
  state.set('k', 'v', 10);
  assert.equal(state.get('k'), undefined);
  assert.equal(store.heldBytes, 0);
});

test('other sessions, regions and plugin code do not see the state', () => {
  const store = new PluginStateStore(1000, 'test quota');
  store.view(scope()).set('k', 'v', 10);
  for (const other of [scope({ session: 's2' }), scope({ regionId: 2 }), scope({ sha256: 'def' })]) assert.equal(store.view(other).get('k'), undefined);
});

test('a call over other key ranges of the region does not see the state', () => {
  const store = new PluginStateStore(1000, 'test quota');
  store.view(scope()).set('k', 'v', 10);
  assert.equal(store.view(scope({ ranges: [{ start: new Uint8Array([1]), end: new Uint8Array([5]) }] })).get('k'), undefined);
});

test('a new epoch or data version of the region empties its scope', () => {
  const store = new PluginStateStore(1000, 'test quota');
  store.view(scope()).set('k', 'v', 10);
  assert.equal(store.view(scope({ epoch: 2 })).get('k'), undefined);
  assert.equal(store.heldBytes, 0);
  store.view(scope({ epoch: 2 })).set('k', 'v2', 10);
  assert.equal(store.view(scope({ epoch: 2, dataVersion: 5 })).get('k'), undefined);
  assert.equal(store.counters.invalidations, 2);
});

test('over the quota the least recently used entries are evicted', () => {
  const store = new PluginStateStore(100, 'test quota');
  store.view(scope({ regionId: 1 })).set('k', 1, 40);
  store.view(scope({ regionId: 2 })).set('k', 2, 40);
  store.view(scope({ regionId: 1 })).get('k'); // region 2's entry is now the oldest
  store.view(scope({ regionId: 3 })).set('k', 3, 40);
  assert.equal(store.view(scope({ regionId: 2 })).get('k'), undefined);
  assert.equal(store.view(scope({ regionId: 1 })).get('k'), 1);
  assert.equal(store.heldBytes, 80);
  assert.equal(store.counters.evictions, 1);
});

test('a value larger than the whole quota is refused with COPR_STATE_TOO_LARGE naming the quota', () => {
  const store = new PluginStateStore(100, '--copr-state-mb');
  const state = store.view(scope());
  assert.throws(() => state.set('big', 'x', 101), (err: unknown) => err instanceof CoprError && err.code === 'COPR_STATE_TOO_LARGE' && /--copr-state-mb/.test(err.message));
  assert.equal(store.heldBytes, 0);
  state.set('small', 'y', 50);
  assert.equal(state.get('small'), 'y');
});

test('dropSession frees every entry of that session only', () => {
  const store = new PluginStateStore(1000, 'test quota');
  store.view(scope({ session: 'a', regionId: 1 })).set('k', 1, 10);
  store.view(scope({ session: 'a', regionId: 2 })).set('k', 1, 10);
  store.view(scope({ session: 'b' })).set('k', 1, 10);
  store.dropSession('a');
  assert.equal(store.heldBytes, 10);
  assert.equal(store.view(scope({ session: 'b' })).get('k'), 1);
});

test('estimateBytes counts typed arrays by their length and walks objects', () => {
  assert.equal(estimateBytes(new Float64Array(100)), 800);
  assert.ok(estimateBytes({ x: new Float64Array(10), n: 3 }) >= 88);
});
