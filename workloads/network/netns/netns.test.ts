/**
 * The netns kind's own parts on the real kernel (root only; skipped otherwise with the reason):
 * the topology's hosts and addresses, tbf on both ends of every link, the 100mbit and 1gbit
 * profiles measured within ±10%, and cleanup that removes a killed run's namespaces and only
 * copbench ones.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { parseLinkProfile } from '../../driver/network/link-profile';
import { ip, tc } from './commands';
import { missingCapabilities, netnsUnavailable } from './privilege';
import { Shaper } from './shaping';
import { netemMissing } from './netem';
import { copbenchNamespaces, createTopology, destroyNamespaces, namespacesOf, removeStaleNamespaces } from './topology';
import { NetworkError } from '../network';
import { netnsKind } from '.';


/** A pid that certainly belongs to no live process: a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

test('without CAP_NET_ADMIN/CAP_SYS_ADMIN the permission check names what is missing', () => {
  assert.deepEqual(missingCapabilities(0n), ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN']);
  assert.deepEqual(missingCapabilities((1n << 12n) | (1n << 21n)), []);
});

describe('netns on this kernel', { skip: netnsUnavailable() }, () => {
  test('a topology has one namespace per host with distinct addresses on 10.213.0.0/24, and a stale one is removed at the next start', () => {
    const topology = createTopology(deadPid(), 3);
    try {
      const addresses = topology.hosts.map((h) => h.address);
      assert.equal(new Set(addresses).size, 5, 'client, placement and 3 nodes');
      for (const host of topology.hosts) {
        assert.match(host.namespace, /^copbench-\d+-/);
        assert.match(ip('-n', host.namespace, '-4', 'addr', 'show', 'dev', host.device), new RegExp(`inet ${host.address.replace(/\./g, '\\.')}/24`));
      }
      assert.ok(copbenchNamespaces().includes(topology.switchNamespace));
    } finally {
      // The owner pid is dead: exactly what a kill -9 leaves; the next start's sweep removes it.
      const { removed, problems } = removeStaleNamespaces();
      assert.deepEqual(problems, []);
      assert.deepEqual(removed.sort(), namespacesOf(topology).sort());
    }
    assert.deepEqual(copbenchNamespaces(), []);
  });

  test('shaping puts tbf at the rate on both ends of every link and takes it off again', () => {
    const topology = createTopology(deadPid(), 1);
    try {
      const shaper = new Shaper(topology, topology.netemAvailable);
      shaper.apply(parseLinkProfile('100mbit'));
      for (const h of topology.hosts) {
        assert.match(tc('-n', h.namespace, 'qdisc', 'show', 'dev', h.device), /tbf .*rate 100Mbit/);
        assert.match(tc('-n', topology.switchNamespace, 'qdisc', 'show', 'dev', h.switchPort), /tbf .*rate 100Mbit/);
      }
      shaper.apply(parseLinkProfile('1gbit'));
      assert.match(tc('-n', topology.switchNamespace, 'qdisc', 'show', 'dev', topology.hosts[0]!.switchPort), /rate 1Gbit/);
      shaper.apply(null);
      for (const h of topology.hosts) assert.doesNotMatch(tc('-n', h.namespace, 'qdisc', 'show', 'dev', h.device), /tbf/);
    } finally {
      assert.deepEqual(destroyNamespaces(namespacesOf(topology)), []);
    }
  });

  test('without netem (this kernel): the probe says why, a topology records it, and jitter or loss is refused before anything is built', { skip: netemMissing() === null && 'this kernel has netem' }, () => {
    assert.match(netemMissing()!, /netem/);
    for (const spec of ['100mbit:loss=0.1', '100mbit:rtt=2:jitter=0.5']) {
      assert.throws(() => netnsKind.checkAvailable([parseLinkProfile(spec)]), (e: unknown) => e instanceof NetworkError && e.usage && /need the kernel's netem qdisc, which this kernel lacks/.test(e.message), spec);
    }
    netnsKind.checkAvailable([parseLinkProfile('100mbit:rtt=2')]);
    assert.deepEqual(copbenchNamespaces(), [], 'the probe leaves no namespace');
    const topology = createTopology(deadPid(), 1);
    try {
      assert.equal(topology.netemAvailable, false);
    } finally {
      assert.deepEqual(destroyNamespaces(namespacesOf(topology)), []);
    }
  });

  test('with netem, a profile with rtt, jitter and loss puts netem on each host end with tbf under it, and tbf alone on the switch ports', { skip: netemMissing() !== null && `this kernel has no netem (${netemMissing()})` }, () => {
    const topology = createTopology(deadPid(), 1);
    try {
      assert.equal(topology.netemAvailable, true);
      const shaper = new Shaper(topology, true);
      shaper.apply(parseLinkProfile('100mbit:rtt=2:jitter=0.5:loss=0.1'));
      for (const h of topology.hosts) {
        const host = tc('-n', h.namespace, 'qdisc', 'show', 'dev', h.device);
        assert.match(host, /netem 1: root .*delay 1ms\s+250us.*loss 0\.1%/s);
        assert.match(host, /tbf 10: parent 1:1 .*rate 100Mbit/);
        assert.doesNotMatch(tc('-n', topology.switchNamespace, 'qdisc', 'show', 'dev', h.switchPort), /netem/);
      }
      shaper.apply(parseLinkProfile('1gbit:rtt=0'));
      assert.doesNotMatch(tc('-n', topology.hosts[0]!.namespace, 'qdisc', 'show', 'dev', topology.hosts[0]!.device), /netem/, 'the netem tree is deleted, not left under a new root');
      shaper.apply(null);
    } finally {
      assert.deepEqual(destroyNamespaces(namespacesOf(topology)), []);
    }
  });

  test('cleanup touches only copbench names', () => {
    assert.deepEqual(destroyNamespaces(['not-ours']), ['refusing to touch namespace not-ours: not a copbench name']);
  });

  test('the 100mbit and 1gbit profiles measure within ±10% between namespaces, and the run leaves no copbench namespace', { timeout: 120_000 }, async () => {
    const code = await (netnsKind.runClient({
      argv: [process.execPath, '--require', require.resolve('../../../engine/runtime/register.js'), require.resolve('./verify-fixture.ts'), '100mbit', '1gbit'],
      nodes: 1,
      log: () => undefined,
    }) as Promise<number>);
    assert.equal(code, 0, 'the 100mbit and 1gbit checks passed inside the namespaces (their lines are in the test output)');
    assert.deepEqual(copbenchNamespaces(), []);
  });

  test('a profile the kernel cannot deliver is refused with the measured figures', { timeout: 120_000 }, async () => {
    // 40gbit: far above what two namespaces move on this machine, so the check must refuse it.
    const code = await (netnsKind.runClient({
      argv: [process.execPath, '--require', require.resolve('../../../engine/runtime/register.js'), require.resolve('./verify-fixture.ts'), '40gbit'],
      nodes: 1,
      log: () => undefined,
    }) as Promise<number>);
    assert.equal(code, 3, 'the fixture exits 3 on a NetworkError');
    assert.deepEqual(copbenchNamespaces(), []);
  });
});
