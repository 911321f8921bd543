/**
 * `netns`: placement, every node and the client each in a network namespace of their own, with an
 * address on a private subnet, joined by a bridge; link rates shaped by the kernel (tc tbf on every
 * host's link), so the client's TCP connections meet a real bottleneck (congestion window, queueing).
 * Where the kernel has netem, it carries the profile's delay, jitter and loss too (qdisc-plan.ts);
 * where it does not, the delay comes from the user-space link on the client's sockets and jitter
 * and loss are refused before the run starts (netem.ts). The manifest says which it was.
 */
import { EmulatedLink } from '../../driver/network/link';
import { needsNetem, parseLinkProfile, type LinkProfile } from '../../driver/network/link-profile';
import { NetworkError, type LinkCheck, type LinkHandle, type Network, type NetworkKind, type NetworkReport, type ProcessHost, type ProcessRole } from '../network';
import { checkLink, formatCheck, pathRtt, startPeer } from '../verify';
import { netnsMechanisms } from './mechanisms';
import { netemMissing, refuseWithoutNetem } from './netem';
import { checkNetnsPermission } from './privilege';
import { kernelDelays } from './qdisc-plan';
import { Shaper } from './shaping';
import { exitWithSupervisor, superviseClient, SUPERVISOR_ENV, TOPOLOGY_ENV } from './supervisor';
import { copbenchNamespaces, type Topology, type TopologyHost } from './topology';

class NetnsNetwork implements Network {
  readonly kind = 'netns';
  readonly concurrentLinks = false;
  private readonly shaper: Shaper;
  private readonly checks: LinkCheck[] = [];
  /** Every profile this network has been asked for, by name (for the manifest's mechanisms). */
  private readonly profiles = new Map<string, LinkProfile>();

  constructor(private readonly topology: Topology) {
    this.shaper = new Shaper(topology, topology.netemAvailable);
  }

  private host(name: string): TopologyHost {
    const host = this.topology.hosts.find((h) => h.name === name);
    if (!host) throw new NetworkError(`netns: no host ${name} in this run's topology (hosts: ${this.topology.hosts.map((h) => h.name).join(', ')})`);
    return host;
  }

  processHost(role: ProcessRole, id: number): ProcessHost {
    const host = this.host(role === 'placement' ? 'placement' : `node${id}`);
    return { host: host.address, commandPrefix: ['ip', 'netns', 'exec', host.namespace] };
  }

  link(profileSpec: string): LinkHandle {
    const profile = parseLinkProfile(profileSpec);
    this.profiles.set(profile.name, profile);
    // Without netem the delay is the user-space link's, with the rate left to the kernel. With
    // netem the kernel delays every packet already: a user-space delay on top would double it.
    const userSpaceDelay = profile.rttMs > 0 && !kernelDelays(profile, this.topology.netemAvailable);
    const delay = userSpaceDelay ? new EmulatedLink({ name: profile.name, bandwidthBitsPerSec: null, rttMs: profile.rttMs }) : undefined;
    return {
      name: profile.name,
      wrapSocket: delay ? (socket) => delay.wrap(socket) : undefined,
      use: async () => this.shaper.apply(profile),
      close: () => delay?.close(),
    };
  }

  async verify(profiles: string[], log: (line: string) => void): Promise<LinkCheck[]> {
    const peer = await startPeer(this.processHost('node', 1));
    const checks: LinkCheck[] = [];
    try {
      // The path with nothing added, once: with netem a raw socket carries the profile's delay too.
      this.shaper.apply(null);
      const pathRttMs = await pathRtt(peer);
      for (const spec of profiles) {
        const link = this.link(spec);
        try {
          await link.use();
          const check = await checkLink(peer, link, parseLinkProfile(spec), pathRttMs);
          log(`netns: link check ${formatCheck(check)}`);
          checks.push(check);
        } finally {
          link.close();
        }
      }
    } finally {
      peer.close();
      this.shaper.apply(null);
    }
    this.checks.push(...checks);
    const bad = checks.filter((c) => !c.ok);
    if (bad.length > 0) throw new NetworkError(`netns: link profile(s) not as configured, refusing to measure on them: ${bad.map((c) => `${c.profile}: ${c.problem}`).join('; ')}`);
    return checks;
  }

  report(): NetworkReport {
    const t = this.topology;
    return {
      kind: this.kind,
      mechanisms: netnsMechanisms([...this.profiles.values()], t.netemAvailable),
      hosts: Object.fromEntries(t.hosts.map((h) => [h.name, h.address])),
      details: { subnet: t.subnet, switchNamespace: t.switchNamespace, bridge: t.bridge, namespaces: Object.fromEntries(t.hosts.map((h) => [h.name, h.namespace])), netemAvailable: t.netemAvailable },
      checks: [...this.checks],
    };
  }

  async close(): Promise<void> {
    this.shaper.apply(null);
  }
}

/** The topology this process was started inside (null: not a netns client side). */
function insideTopology(): Topology | null {
  const json = process.env[TOPOLOGY_ENV];
  return json ? (JSON.parse(json) as Topology) : null;
}

export const netnsKind: NetworkKind = {
  name: 'netns',
  description: 'placement, nodes and client each in a network namespace (10.213.0.0/24 over a bridge); link rates shaped by the kernel (tc tbf), delay, jitter and loss by netem where the kernel has it; needs root',
  // Its hosts are namespaces it builds itself; a cluster elsewhere would bypass the shaped links.
  allowsExternalCluster: false,
  checkAvailable(links) {
    checkNetnsPermission();
    // Probed only when a profile needs it: the probe costs a process.
    if (links.some(needsNetem)) refuseWithoutNetem(links, netemMissing());
  },
  runClient(command) {
    if (insideTopology()) {
      exitWithSupervisor(Number(process.env[SUPERVISOR_ENV]));
      return 'here';
    }
    return superviseClient(command);
  },
  open() {
    const topology = insideTopology();
    if (!topology) throw new NetworkError('netns: this process was not started inside a netns run (runClient starts the client side there)');
    return new NetnsNetwork(topology);
  },
  leftovers: copbenchNamespaces,
};
