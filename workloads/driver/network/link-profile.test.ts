/**
 * Jitter and loss in link profiles: both spec forms, canonical names that read back as the same
 * profile, presets unchanged, and every invalid combination a LinkSpecError saying what is wrong.
 * (Rates and RTTs alone: link.test.ts "link specs".)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LINK_PRESETS, LinkSpecError, needsNetem, parseLinkProfile } from './link-profile';

test('the string form takes jitter=<ms> and loss=<percent> after the rate, in any order, with units as rtt', () => {
  assert.deepEqual(parseLinkProfile('100mbit:rtt=2:jitter=0.5:loss=0.1'), { name: '100mbit:rtt=2:jitter=0.5:loss=0.1', bandwidthBitsPerSec: 100e6, rttMs: 2, jitterMs: 0.5, lossPercent: 0.1 });
  assert.equal(parseLinkProfile('100mbit:loss=0.1%:jitter=500us:rtt=2').name, '100mbit:rtt=2:jitter=0.5:loss=0.1', 'canonical order, units folded');
  // A preset keeps its RTT, so jitter on it needs no rtt= and the name leaves the RTT out.
  assert.deepEqual(parseLinkProfile('1gbit:jitter=0.2'), { name: '1gbit:jitter=0.2', bandwidthBitsPerSec: 1e9, rttMs: 0.5, jitterMs: 0.2, lossPercent: 0 });
  assert.deepEqual(parseLinkProfile('unlimited:loss=1'), { name: 'unlimited:loss=1', bandwidthBitsPerSec: null, rttMs: 0, jitterMs: 0, lossPercent: 1 });
  assert.equal(parseLinkProfile('250mbit:loss=0').name, '250mbit', 'zero loss is no loss');
});

test('canonical names read back as the same profile (also a preset rate with another RTT)', () => {
  for (const spec of ['100mbit:rtt=2:jitter=0.5:loss=0.1', '1gbit:jitter=0.2', '1gbit:rtt=0', '1gbit:rtt=0:loss=2', 'unlimited:loss=1', 'unlimited:rtt=20:jitter=5', '250mbit:loss=0.01', '100mbit']) {
    const profile = parseLinkProfile(spec);
    assert.deepEqual(parseLinkProfile(profile.name), profile, `${spec} → ${profile.name}`);
  }
  // "1gbit" alone means the preset's 0.5 ms, so a 1 Gbit/s link without RTT must say rtt=0.
  assert.equal(parseLinkProfile('1gbit:rtt=0').name, '1gbit:rtt=0');
});

test('the object form takes jitterMs and lossPercent; a LinkProfile parses to itself', () => {
  assert.deepEqual(parseLinkProfile({ bandwidth: '100mbit', rttMs: 2, jitterMs: 0.5, lossPercent: 0.1 }), parseLinkProfile('100mbit:rtt=2:jitter=0.5:loss=0.1'));
  const named = parseLinkProfile({ bandwidth: '1gbit', lossPercent: 0.5, name: 'lossy' });
  assert.deepEqual(named, { name: 'lossy', bandwidthBitsPerSec: 1e9, rttMs: 0.5, jitterMs: 0, lossPercent: 0.5 });
  assert.deepEqual(parseLinkProfile(named), named);
});

test('presets are unchanged: no jitter, no loss, and they need no netem', () => {
  assert.deepEqual(
    Object.values(LINK_PRESETS).map((p) => [p.name, p.bandwidthBitsPerSec, p.rttMs, needsNetem(p)]),
    [
      ['unlimited', null, 0, false],
      ['10gbit', 10e9, 0.2, false],
      ['1gbit', 1e9, 0.5, false],
      ['100mbit', 100e6, 1, false],
    ],
  );
  assert.equal(needsNetem(parseLinkProfile('100mbit:rtt=2')), false);
  assert.equal(needsNetem(parseLinkProfile('100mbit:loss=0.1')), true);
  assert.equal(needsNetem(parseLinkProfile('100mbit:jitter=0.1')), true);
});

test('bad jitter and loss fail with a LinkSpecError that says what is wrong', () => {
  const bad: Array<[unknown, RegExp]> = [
    ['100mbit:rtt=2:jitter=-1', /link spec "100mbit:rtt=2:jitter=-1": jitter must be a number of milliseconds between 0 and 60000/],
    ['100mbit:rtt=2:jitter=x', /jitter "x" must be a number of milliseconds, e.g. jitter=2/],
    ['250mbit:jitter=0.5', /jitter needs an rtt to vary .*e\.g\. "100mbit:rtt=2:jitter=0.5"/],
    ['unlimited:jitter=1', /jitter needs an rtt to vary/],
    ['100mbit:rtt=2:jitter=3', /jitter 3 ms exceeds rtt 2 ms \(each direction's delay, rtt\/2 ± jitter\/2, would go below zero\)/],
    ['100mbit:loss=-0.1', /loss must be a percentage of packets dropped per direction, at least 0/],
    ['100mbit:loss=101', /loss 101% must be below 100/],
    ['100mbit:loss=100', /loss 100% must be below 100 \(a link that drops every packet carries nothing\)/],
    ['100mbit:loss=lots', /loss "lots" must be a percentage, e.g. loss=0.1/],
    ['100mbit:loss=1:loss=2', /option "loss" is given twice/],
    [{ bandwidth: '250mbit', jitterMs: 1 }, /jitter needs an rtt to vary/],
    [{ bandwidth: '100mbit', lossPercent: 150 }, /loss 150% must be below 100/],
    [{ bandwidth: '100mbit', lossPercent: '1' }, /loss must be a percentage/],
    [{ bandwidth: '100mbit', jitter: 1 }, /unknown field "jitter" \(fields: bandwidth, rttMs, jitterMs, lossPercent, name\)/],
  ];
  for (const [spec, message] of bad) {
    assert.throws(() => parseLinkProfile(spec), (err: unknown) => err instanceof LinkSpecError && message.test(err.message), `spec ${JSON.stringify(spec)}`);
  }
});
