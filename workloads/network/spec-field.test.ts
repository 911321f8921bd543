/**
 * The spec's `network` field and link profiles: loopback by default, any registered kind by name,
 * and a bad value a SpecError naming the field (the CLI turns it into exit 2).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSpec, SpecError } from '../spec';
import { DEFAULT_NETWORK_KIND, networkKind, networkKindNames } from './registry';

test('a spec without network runs on loopback; -p network.kind=netns selects netns', () => {
  assert.equal(DEFAULT_NETWORK_KIND, 'loopback');
  assert.deepEqual(loadSpec('filter', [], 'ci').network, { kind: 'loopback' });
  assert.deepEqual(loadSpec('filter', ['network.kind=netns'], 'ci').network, { kind: 'netns' });
  assert.deepEqual(networkKindNames(), ['loopback', 'netns']);
  assert.equal(networkKind('netns').name, 'netns');
});

test('an unknown network kind, an unknown network field, a bad link profile are SpecErrors naming the field', () => {
  assert.throws(() => loadSpec('filter', ['network.kind=wifi'], 'ci'), (e: Error) => e instanceof SpecError && /^network\.kind: must be one of loopback, netns, got "wifi"/.test(e.message));
  assert.throws(() => loadSpec('filter', ['network.rate=1'], 'ci'), (e: Error) => e instanceof SpecError && /^network\.rate: unknown field/.test(e.message));
  assert.throws(() => loadSpec('filter', ['links=unlimited,fast'], 'ci'), (e: Error) => e instanceof SpecError && /^links\[1\]: link spec "fast"/.test(e.message));
  assert.throws(() => loadSpec('filter', ['links=0mbit'], 'ci'), (e: Error) => e instanceof SpecError && /^links\[0\]: .*a rate must be positive/.test(e.message));
  assert.throws(() => loadSpec('filter', ['links=-100mbit'], 'ci'), (e: Error) => e instanceof SpecError && /^links\[0\]: .*a rate must be positive/.test(e.message));
  assert.throws(() => networkKind('wifi'), SpecError);
});
