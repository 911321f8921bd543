/**
 * `npm run workload filter -- --size ci -p network.kind=netns` end to end, as a user runs it:
 * placement and 3 nodes in namespaces of their own with distinct addresses, the client inside its
 * own, every profile verified and recorded in the manifest, equal checksums, and no copbench
 * namespace afterwards — also after a run was killed with kill -9, stopped with SIGTERM or with
 * Ctrl-C, and a clear exit 2 without permission. Root only (skipped otherwise, with the reason),
 * except the bad link profiles, which are refused before any permission matters, and loss or
 * jitter on loopback. Loss or jitter on netns is refused (exit 2) only where the kernel lacks netem.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { namespacePids } from '../workloads/network/netns/commands';
import { ownerOf } from '../workloads/network/netns/names';
import { netemMissing } from '../workloads/network/netns/netem';
import { netnsUnavailable } from '../workloads/network/netns/privilege';
import { copbenchNamespaces, destroyNamespaces } from '../workloads/network/netns/topology';

const REPO = path.resolve(__dirname, '..');
const out = mkdtempSync(path.join(os.tmpdir(), 'copbench-netns-results-'));
after(() => rmSync(out, { recursive: true, force: true }));

const CLI = ['--require', path.join(REPO, 'engine/runtime/register.js'), path.join(REPO, 'workloads/driver/cli.ts')];
const RUN = ['filter', '--size', 'ci', '-p', 'network.kind=netns', '--out', out];


function workload(args: string[], prefix: string[] = [], timeoutMs = 180_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const words = [...prefix, process.execPath, ...CLI, ...args];
  return new Promise((resolve) => {
    execFile(words[0]!, words.slice(1), { cwd: REPO, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function until(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs started by startAndSignal, so that a failing test leaves none of their processes or namespaces. */
const signalled: Array<{ child: ChildProcess; group: boolean }> = [];
after(() => {
  for (const { child, group } of signalled) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(group ? -child.pid! : child.pid!, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  const ours = new Set(signalled.map(({ child }) => child.pid));
  destroyNamespaces(copbenchNamespaces().filter((ns) => ours.has(ownerOf(ns) ?? -1)));
});

/** The pids in a namespace, or none when it does not exist (yet, or any more). */
function pidsIn(namespace: string): number[] {
  try {
    return namespacePids(namespace);
  } catch {
    return [];
  }
}

/**
 * Starts a netns run, waits until its namespaces exist, and sends `signal` to the harness. With
 * `group`, the run gets its own process group and the signal goes to all of it once placement runs
 * in its namespace, as Ctrl-C in a terminal does: the harness, its client side and the cluster's
 * processes all get it at once. Resolves to the exit code and the pids that ran in the namespaces.
 */
async function startAndSignal(signal: NodeJS.Signals, group = false): Promise<{ code: number | null; pids: number[] }> {
  const child = spawn(process.execPath, [...CLI, ...RUN], { cwd: REPO, stdio: 'ignore', detached: group });
  signalled.push({ child, group });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))));
  const mine = (): string[] => copbenchNamespaces().filter((ns) => ownerOf(ns) === child.pid);
  await until('the run’s namespaces', () => mine().length > 0);
  if (group) await until('placement in its namespace', () => pidsIn(`copbench-${child.pid}-pd`).length > 0, 60_000);
  else await new Promise((r) => setTimeout(r, 1500));
  const pids = mine().flatMap(pidsIn);
  process.kill(group ? -child.pid! : child.pid!, signal);
  return { code: await exited, pids };
}

/** Whether a process still runs: a zombie has ended (its reaper, pid 1 of a container, may be slow). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('netns workload end to end', { skip: netnsUnavailable() }, () => {
  test('after a run killed with kill -9, the next netns filter run cleans up, exits 0 with equal checksums and leaves no copbench namespace', { timeout: 240_000 }, async () => {
    await startAndSignal('SIGKILL');
    // kill -9 leaves the namespaces (and the client side notices its parent is gone and stops).
    const r = await workload(RUN);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr.slice(-3000)}`);
    assert.match(r.stderr, /netns: removed \d+ namespace\(s\) an earlier run left/);
    assert.match(r.stdout + r.stderr, /checksums: the answers of pushdown, client, adaptive are equal at every point/);
    const runs = readdirSync(path.join(out, 'filter')).filter((d) => d !== 'latest');
    const manifest = JSON.parse(readFileSync(path.join(out, 'filter', runs[0]!, 'manifest.json'), 'utf8'));
    const network = manifest.network;
    assert.equal(network.kind, 'netns');
    const addresses = ['placement', 'node1', 'node2', 'node3', 'client'].map((h) => network.hosts[h] as string);
    assert.equal(new Set(addresses).size, 5, 'placement, 3 nodes and the client each have their own address');
    for (const a of addresses) assert.match(a, /^10\.213\.0\.\d+$/);
    assert.deepEqual(network.checks.map((c: { profile: string }) => c.profile), manifest.spec.links);
    for (const c of network.checks) assert.ok(c.ok && c.measuredDownBitsPerSec > 0 && c.measuredRttMs > 0, JSON.stringify(c));
    assert.match(network.mechanisms.rate, /tc tbf/);
    // The presets' RTTs: netem's where the kernel has it, else the user-space link's.
    const netem = netemMissing() === null;
    assert.match(network.mechanisms.delay, netem ? /^kernel: tc netem delay rtt\/2/ : /^user-space delay .*\(this kernel has no netem\)/);
    assert.equal(network.details.netemAvailable, netem);
    assert.match(network.mechanisms.loss, netem ? /^none: no profile has loss/ : /^none: this kernel has no netem/);
    for (const c of network.checks) assert.equal(c.rateCheck, c.configuredBitsPerSec === null ? 'none: unlimited' : '±10% of the rate', c.profile);
    assert.deepEqual(copbenchNamespaces(), []);
  });

  test('SIGTERM stops a netns run and removes its namespaces', { timeout: 120_000 }, async () => {
    const { code } = await startAndSignal('SIGTERM');
    assert.equal(code, 143);
    assert.deepEqual(copbenchNamespaces(), []);
  });

  test('Ctrl-C (SIGINT to the process group) while the cluster runs stops a netns run: exit 130, its processes gone, no copbench namespace', { timeout: 120_000 }, async () => {
    const { code, pids } = await startAndSignal('SIGINT', true);
    assert.equal(code, 130);
    assert.ok(pids.length >= 2, `placement and the client side ran in the namespaces (pids ${pids.join(', ')})`);
    assert.deepEqual(pids.filter(running), [], 'processes of the run still running');
    assert.deepEqual(copbenchNamespaces(), []);
  });

  test('without permission (capabilities dropped) network.kind=netns exits 2 saying so; loopback is unaffected', { timeout: 120_000, skip: spawnSync('setpriv', ['--version']).status !== 0 && 'setpriv is not installed' }, async () => {
    const drop = ['setpriv', '--bounding-set=-all', '--inh-caps=-all'];
    const r = await workload(RUN, drop);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /network\.kind=netns needs permission .*CAP_NET_ADMIN/);
    const loopback = await workload(['noop', '--size', 'ci', '--out', out], drop);
    assert.equal(loopback.code, 0, loopback.stderr.slice(-2000));
    assert.deepEqual(copbenchNamespaces(), []);
  });
});

test('a bad link profile (unknown, zero, negative rate) exits 2 saying what is wrong, before anything starts or is written', { timeout: 60_000 }, async () => {
  const badOut = path.join(out, 'bad-links');
  const cases: Array<[string, RegExp]> = [
    ['links=unlimited,fast', /error: links\[1\]: link spec "fast": unknown profile "fast"; expected a preset \(unlimited, 10gbit, 1gbit, 100mbit\) or a rate such as "250mbit"/],
    ['links=0mbit', /error: links\[0\]: link spec "0mbit": a rate must be positive, at least 1kbit .*; for no limit write "unlimited"/],
    ['links=-100mbit', /error: links\[0\]: link spec "-100mbit": a rate must be positive/],
  ];
  // The spec is checked before the permission, so these hold with or without root.
  const runs = await Promise.all(cases.map(([links]) => workload(['filter', '--size', 'ci', '-p', 'network.kind=netns', '-p', links, '--out', badOut], [], 50_000)));
  runs.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i]![0]}: exit ${r.code}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stderr, cases[i]![1]);
  });
  assert.equal(existsSync(badOut), false, 'nothing written under results/');
});

test('loss or jitter on loopback exits 2 saying user space cannot give them and what to do, before anything starts or is written', { timeout: 60_000 }, async () => {
  const badOut = path.join(out, 'loopback-netem');
  const cases = ['links=100mbit:loss=0.1', 'links=unlimited,100mbit:rtt=2:jitter=0.5'];
  const runs = await Promise.all(cases.map((links) => workload(['filter', '--size', 'ci', '-p', links, '--out', badOut], [], 50_000)));
  runs.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i]}: exit ${r.code}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stderr, /error: network\.kind=loopback: link 100mbit:\S+ \((loss|jitter)\): jitter and loss need the kernel's netem qdisc; user space cannot drop or jitter TCP segments.* Use network\.kind=netns \(as root\) on a kernel with netem, or take jitter= and loss= out of the profile/);
  });
  assert.equal(existsSync(badOut), false, 'nothing written under results/');
});

describe('netns on a kernel without netem', { skip: netnsUnavailable() || (netemMissing() === null && 'this kernel has netem') }, () => {
  test('loss or jitter with network.kind=netns exits 2 saying netem is missing and what to do, before any namespace is built or anything written', { timeout: 60_000 }, async () => {
    const badOut = path.join(out, 'netns-netem');
    const cases: Array<[string, string]> = [
      ['links=100mbit:loss=0.1', '100mbit:loss=0.1 (loss)'],
      ['links=1gbit,100mbit:rtt=2:jitter=0.5:loss=0.1', '100mbit:rtt=2:jitter=0.5:loss=0.1 (jitter and loss)'],
    ];
    const runs = await Promise.all(cases.map(([links]) => workload(['filter', '--size', 'ci', '-p', 'network.kind=netns', '-p', links, '--out', badOut], [], 50_000)));
    runs.forEach((r, i) => {
      assert.equal(r.code, 2, `${cases[i]![0]}: exit ${r.code}\n${r.stderr.slice(-2000)}`);
      assert.ok(r.stderr.includes(`error: network.kind=netns: link ${cases[i]![1]}: jitter and loss need the kernel's netem qdisc, which this kernel lacks (`), r.stderr);
      assert.match(r.stderr, /Run on a kernel with netem \(CONFIG_NET_SCH_NETEM; where it is a module, modprobe sch_netem\), or take jitter= and loss= out of the profile/);
      assert.doesNotMatch(r.stderr, /netns: 10\.213|link check/, 'no host was built, no link measured');
    });
    assert.equal(existsSync(badOut), false, 'nothing written under results/');
    assert.deepEqual(copbenchNamespaces(), []);
  });
});
