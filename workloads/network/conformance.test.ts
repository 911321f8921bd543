/**
 * The network seam's shared conformance suite, run against every registered kind: its client side
 * reaches a node's host through any profile, a shaped profile verifies within tolerance (or the
 * kind does not verify at all), the manifest part names the kind and its mechanisms, and nothing
 * is left on the machine afterwards. A kind this machine cannot run (netns without root) is
 * skipped with the reason.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseLinkProfile } from '../driver/network/link-profile';
import { exerciseNetwork, type ConformanceResult } from './conformance-fixture';
import type { NetworkKind } from './network';
import { networkKinds } from './registry';
import { RATE_TOLERANCE } from './verify';

const REPO = path.resolve(__dirname, '..', '..');
const PROFILES = ['100mbit'];

function unavailable(check: () => void): string | false {
  try {
    check();
    return false;
  } catch (err) {
    return `not runnable on this machine: ${(err as Error).message}`;
  }
}

/** The fixture run where the kind puts its client side. */
async function runOnClientSide(kind: NetworkKind): Promise<ConformanceResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'copbench-network-'));
  const out = path.join(dir, 'result.json');
  try {
    const argv = [process.execPath, '--require', path.join(REPO, 'engine/runtime/register.js'), path.join(__dirname, 'conformance-fixture.ts'), kind.name, out, ...PROFILES];
    const where = kind.runClient({ argv, nodes: 1, log: () => undefined });
    if (where === 'here') return await exerciseNetwork(kind.name, PROFILES);
    assert.equal(await where, 0, 'the client side exits 0');
    return JSON.parse(readFileSync(out, 'utf8')) as ConformanceResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const kind of networkKinds()) {
  describe(`network ${kind.name}`, { skip: unavailable(() => kind.checkAvailable(PROFILES.map((p) => parseLinkProfile(p)))) }, () => {
    test('the client side reaches a node host through every profile, verifies it, reports the kind, and leaves nothing behind', { timeout: 120_000 }, async () => {
      const result = await runOnClientSide(kind);
      assert.ok(result.hosts.placement && result.hosts.node1, 'every process has an address');
      assert.deepEqual(Object.keys(result.echoMs).sort(), ['100mbit', 'unlimited']);
      // 100mbit carries a 1 ms RTT preset on every kind.
      assert.ok(result.echoMs['100mbit']! >= 0.9, `100mbit adds its RTT (echo ${result.echoMs['100mbit']} ms)`);
      assert.equal(result.report.kind, kind.name);
      assert.ok(result.report.mechanisms.rate && result.report.mechanisms.delay && result.report.mechanisms.jitter && result.report.mechanisms.loss, 'the manifest says which mechanism shaped what');
      assert.ok(result.checks.length === 0 || result.checks.length === PROFILES.length, 'verify checks every profile or none');
      for (const check of result.checks) {
        assert.ok(check.ok, `${check.profile}: ${check.problem}`);
        for (const measured of [check.measuredDownBitsPerSec, check.measuredUpBitsPerSec]) assert.ok(Math.abs(measured / check.configuredBitsPerSec! - 1) <= RATE_TOLERANCE, `${check.profile}: ${measured} bit/s`);
      }
      assert.deepEqual(result.report.checks, result.checks, 'the report carries the checks');
      assert.deepEqual(kind.leftovers(), [], 'nothing left on the machine');
    });
  });
}

test('every kind has a unique name and a description', () => {
  const names = networkKinds().map((k) => k.name);
  assert.equal(new Set(names).size, names.length);
  for (const k of networkKinds()) assert.ok(k.description.length > 10, k.name);
});
