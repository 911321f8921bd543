/**
 * What the start-of-run check holds a rate to: ±10% on a plain profile; only the upper bound under
 * loss or jitter, which lower TCP's goodput by an amount the profile does not fix. (The checks
 * themselves run on the kernel: netns/netns.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLinkProfile } from '../driver/network/link-profile';
import { rateBounds } from './verify';

test('a plain profile is held to ±10%, one with loss or jitter only to at most 10% above its rate, unlimited to nothing', () => {
  assert.deepEqual(rateBounds(parseLinkProfile('100mbit:rtt=2')), { lowerBound: true, description: '±10% of the rate' });
  const lossy = rateBounds(parseLinkProfile('100mbit:loss=0.1'));
  assert.equal(lossy.lowerBound, false);
  assert.match(lossy.description, /^at most 10% above the rate, no lower bound: with loss 0\.1% TCP's goodput falls below the rate/);
  assert.match(rateBounds(parseLinkProfile('100mbit:rtt=2:jitter=0.5:loss=1')).description, /with loss 1% and jitter 0\.5 ms/);
  assert.equal(rateBounds(parseLinkProfile('1gbit:jitter=0.1')).lowerBound, false);
  assert.deepEqual(rateBounds(parseLinkProfile('unlimited:rtt=2')), { lowerBound: false, description: 'none: unlimited' });
});
