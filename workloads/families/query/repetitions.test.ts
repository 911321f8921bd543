import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSpec, SpecError } from '../../spec';
import { DEFAULT_MAX_REPETITIONS, DEFAULT_MAX_SECONDS, DEFAULT_PRECISION, repetitionPolicy } from './repetitions';

test('specs without the fields take the defaults; repetitions is the minimum', () => {
  const policy = repetitionPolicy(loadSpec('filter'));
  assert.deepEqual(policy, { minRepetitions: 3, maxRepetitions: DEFAULT_MAX_REPETITIONS, maxSeconds: DEFAULT_MAX_SECONDS, precision: DEFAULT_PRECISION });
});

test('a spec whose repetitions exceed the default cap keeps them (noop: 50)', () => {
  assert.equal(repetitionPolicy(loadSpec('noop')).maxRepetitions, 50);
  assert.equal(repetitionPolicy(loadSpec('filter', ['repetitions=20'])).maxRepetitions, 20);
});

test('the ci sizes of the shipped query specs make exactly their repetitions, as before', () => {
  for (const name of ['filter', 'aggregate', 'noop', 'topk', 'project']) {
    const policy = repetitionPolicy(loadSpec(name, [], 'ci'));
    assert.equal(policy.maxRepetitions, policy.minRepetitions, name);
  }
});

test('given fields are used', () => {
  assert.deepEqual(repetitionPolicy(loadSpec('filter', ['precision=0.02', 'maxRepetitions=30', 'maxSeconds=5.5'])), { minRepetitions: 3, maxRepetitions: 30, maxSeconds: 5.5, precision: 0.02 });
});

test('bad values are SpecErrors naming the field', () => {
  const cases: Array<[string, RegExp]> = [
    ['precision=0', /^precision: must be above 0/],
    ['precision=1.5', /^precision: must be between 0 and 1, got 1.5/],
    ['precision=tight', /^precision: expected a number/],
    ['maxRepetitions=0', /^maxRepetitions: must be between 1 and/],
    ['maxRepetitions=2.5', /^maxRepetitions: expected an integer/],
    ['maxRepetitions=2', /^maxRepetitions: must be at least repetitions \(3, the minimum\), got 2/],
    ['maxSeconds=0', /^maxSeconds: must be above 0 seconds/],
    ['maxSeconds=-1', /^maxSeconds: must be between 0 and 86400/],
  ];
  for (const [override, message] of cases) assert.throws(() => loadSpec('filter', [override]), (err: unknown) => err instanceof SpecError && message.test(err.message), override);
});
