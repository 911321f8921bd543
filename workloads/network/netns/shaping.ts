/**
 * Kernel shaping of a link profile: runs the qdisc plan (./qdisc-plan.ts) on both ends of every
 * host's veth, so each host has a link of that profile in each direction, as on a switch whose
 * ports all run at it. Node-to-node traffic (region moves) crosses the same links.
 */
import type { LinkProfile } from '../../driver/network/link-profile';
import { tc } from './commands';
import { planQdiscs, type VethEnd } from './qdisc-plan';
import type { Topology } from './topology';

interface Interface {
  namespace: string;
  device: string;
  end: VethEnd;
}

/** Shapes every link to one profile at a time. */
export class Shaper {
  /** The commands run on each interface (by its index in interfaces()), [] where it is bare. */
  private applied: string[][][] = [];

  constructor(
    private readonly topology: Topology,
    /** Whether the kernel has netem (probed with the topology): delay, jitter and loss then go there. */
    private readonly netem: boolean,
  ) {}

  /**
   * Shapes every link to `profile`, or removes the shaping (null); nothing when already so. The
   * previous qdiscs are deleted first rather than changed in place: a netem root with a tbf child
   * and a lone tbf do not turn into each other with `tc qdisc replace`.
   */
  apply(profile: LinkProfile | null): void {
    const interfaces = this.interfaces();
    const plans = interfaces.map((i) => (profile === null ? [] : planQdiscs(profile, i.end, i.device, this.netem)));
    if (JSON.stringify(plans) === JSON.stringify(interfaces.map((_, n) => this.applied[n] ?? []))) return;
    interfaces.forEach((i, n) => {
      if ((this.applied[n] ?? []).length > 0) tc('-n', i.namespace, 'qdisc', 'del', 'dev', i.device, 'root');
      this.applied[n] = [];
    });
    interfaces.forEach((i, n) => {
      // Recorded before running, so a failure halfway is still deleted by the next apply.
      this.applied[n] = plans[n]!;
      for (const command of plans[n]!) tc('-n', i.namespace, ...command);
    });
  }

  private interfaces(): Interface[] {
    return this.topology.hosts.flatMap((h): Interface[] => [
      { namespace: h.namespace, device: h.device, end: 'host' },
      { namespace: this.topology.switchNamespace, device: h.switchPort, end: 'switch' },
    ]);
  }
}
