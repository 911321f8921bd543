/**
 * The tc commands a link profile becomes, with and without netem (pure: runs anywhere, and is the
 * only test of the netem path on a kernel without netem), what the manifest says shaped what, and
 * the refusal of jitter and loss when the kernel lacks netem.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLinkProfile } from '../../driver/network/link-profile';
import { NetworkError } from '../network';
import { netnsMechanisms } from './mechanisms';
import { refuseWithoutNetem } from './netem';
import { kernelDelays, netemLimit, planQdiscs } from './qdisc-plan';

const P = parseLinkProfile;
const TBF_100M = ['tbf', 'rate', '100000000bit', 'burst', '32768', 'latency', '10ms'];

test('without netem: tbf at the rate on both ends, nothing for unlimited, and the delay left to user space', () => {
  for (const end of ['host', 'switch'] as const) {
    assert.deepEqual(planQdiscs(P('100mbit:rtt=2'), end, 'copbench0', false), [['qdisc', 'add', 'dev', 'copbench0', 'root', ...TBF_100M]]);
    assert.deepEqual(planQdiscs(P('unlimited:rtt=20'), end, 'copbench0', false), []);
  }
  assert.deepEqual(planQdiscs(P('1gbit'), 'switch', 'copbench-c', false), [['qdisc', 'add', 'dev', 'copbench-c', 'root', 'tbf', 'rate', '1000000000bit', 'burst', '125000', 'latency', '10ms']]);
  assert.equal(kernelDelays(P('100mbit:rtt=2'), false), false, 'the user-space link adds the delay');
});

test('without netem, jitter or loss cannot be planned (a usage error: the run should have been refused)', () => {
  for (const spec of ['100mbit:loss=0.1', '100mbit:rtt=2:jitter=0.5']) {
    assert.throws(() => planQdiscs(P(spec), 'switch', 'copbench-c', false), (e: unknown) => e instanceof NetworkError && e.usage && /need the netem qdisc, which this kernel lacks/.test(e.message), spec);
  }
});

test('with netem: the host end gets a netem root (handle 1:) with delay rtt/2, jitter/2 and the loss, and tbf as its child at 1:1', () => {
  assert.deepEqual(planQdiscs(P('100mbit:rtt=2:jitter=0.5:loss=0.1'), 'host', 'copbench0', true), [
    ['qdisc', 'add', 'dev', 'copbench0', 'root', 'handle', '1:', 'netem', 'limit', '1000', 'delay', '1000us', '250us', 'loss', 'random', '0.1%'],
    ['qdisc', 'add', 'dev', 'copbench0', 'parent', '1:1', 'handle', '10:', ...TBF_100M],
  ]);
  // Each direction crosses one host end, so only the host end delays: the switch port keeps a lone tbf.
  assert.deepEqual(planQdiscs(P('100mbit:rtt=2:jitter=0.5:loss=0.1'), 'switch', 'copbench-n1', true), [['qdisc', 'add', 'dev', 'copbench-n1', 'root', ...TBF_100M]]);
  assert.equal(kernelDelays(P('100mbit:rtt=2'), true), true, 'no user-space delay on top');
});

test('with netem: only the words a profile needs; unlimited gets netem alone; nothing to add gives plain tbf or nothing', () => {
  assert.deepEqual(planQdiscs(P('1gbit'), 'host', 'd', true)[0], ['qdisc', 'add', 'dev', 'd', 'root', 'handle', '1:', 'netem', 'limit', '1000', 'delay', '250us']);
  assert.deepEqual(planQdiscs(P('1gbit:rtt=0:loss=1'), 'host', 'd', true)[0], ['qdisc', 'add', 'dev', 'd', 'root', 'handle', '1:', 'netem', 'limit', '1000', 'loss', 'random', '1%']);
  assert.deepEqual(planQdiscs(P('unlimited:rtt=20'), 'host', 'd', true), [['qdisc', 'add', 'dev', 'd', 'root', 'handle', '1:', 'netem', 'limit', String(netemLimit(P('unlimited:rtt=20'))), 'delay', '10000us']]);
  assert.deepEqual(planQdiscs(P('250mbit'), 'host', 'd', true), [['qdisc', 'add', 'dev', 'd', 'root', 'tbf', 'rate', '250000000bit', 'burst', '32768', 'latency', '10ms']]);
  assert.deepEqual(planQdiscs(P('unlimited'), 'host', 'd', true), []);
  assert.equal(kernelDelays(P('250mbit'), true), false);
});

test("netem's queue holds twice the packets in flight over the longest delay, never below its default 1000", () => {
  assert.equal(netemLimit(P('100mbit:rtt=2')), 1000);
  // 1 Gbit/s, one way up to (100 + 20) / 2 = 60 ms: 7.5 MB = 5000 frames, twice that.
  assert.equal(netemLimit(P('1gbit:rtt=100:jitter=20')), 10_000);
});

test('the manifest says which mechanism shaped what: kernel netem delay, jitter, loss with their values, or the user-space delay', () => {
  const profiles = ['100mbit', '100mbit:rtt=2:jitter=0.5:loss=0.1'].map(P);
  const kernel = netnsMechanisms(profiles, true);
  assert.match(kernel.rate, /^kernel: tc tbf .*both ends .*child of netem/);
  assert.match(kernel.delay, /^kernel: tc netem delay rtt\/2 .*the user-space link adds none \(100mbit: delay 0\.5 ms; 100mbit:rtt=2:jitter=0\.5:loss=0\.1: delay 1 ms\)/);
  assert.match(kernel.jitter, /^kernel: tc netem jitter ± jitter\/2, uniform.*reordered \(100mbit:rtt=2:jitter=0\.5:loss=0\.1: delay 1 ms ± 0\.25 ms\)/);
  assert.match(kernel.loss, /^kernel: tc netem loss random .*\(100mbit:rtt=2:jitter=0\.5:loss=0\.1: loss 0\.1% per direction\)/);
  assert.equal(netnsMechanisms([P('100mbit')], true).loss, 'none: no profile has loss');
  const userSpace = netnsMechanisms([P('100mbit'), P('1gbit')], false);
  assert.match(userSpace.rate, /^kernel: tc tbf /);
  assert.doesNotMatch(userSpace.rate, /netem/);
  assert.equal(userSpace.delay, 'user-space delay of rtt/2 per direction on the client’s node connections (this kernel has no netem) (100mbit: 0.5 ms; 1gbit: 0.25 ms)');
  assert.match(userSpace.jitter, /^none: this kernel has no netem/);
  assert.match(userSpace.loss, /^none: this kernel has no netem/);
});

test('jitter or loss without netem is a usage error naming each profile and what it asks for; with netem, or without either, nothing is refused', () => {
  const why = 'unshare --net tc qdisc add dev lo root netem delay 1ms: Error: Specified qdisc kind is unknown.';
  const profiles = ['100mbit', '100mbit:loss=0.1', '1gbit:jitter=0.2:loss=1'].map(P);
  assert.throws(
    () => refuseWithoutNetem(profiles, why),
    (e: unknown) =>
      e instanceof NetworkError &&
      e.usage &&
      e.message.startsWith('network.kind=netns: link 100mbit:loss=0.1 (loss), 1gbit:jitter=0.2:loss=1 (jitter and loss): jitter and loss need the kernel\'s netem qdisc, which this kernel lacks (unshare --net tc qdisc add dev lo root netem delay 1ms: Error: Specified qdisc kind is unknown.).') &&
      /Run on a kernel with netem .*or take jitter= and loss= out of the profile/.test(e.message),
  );
  refuseWithoutNetem(profiles, null);
  refuseWithoutNetem([P('100mbit:rtt=2')], why);
});
