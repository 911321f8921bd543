/**
 * Kernel shaping of a link profile: a tbf qdisc at the profile's rate on both ends of every
 * host's veth (the host's egress is its upload, the switch port's egress its download), so each
 * host has a link of that rate in each direction, as on a switch whose ports all run at it.
 * Node-to-node traffic (region moves) crosses the same links.
 */
import { tc } from './commands';
import type { Topology } from './topology';

/** tbf parameters for a rate; burst and queue are why the measured TCP goodput is ~96% of it. */
export interface TbfParameters {
  rateBitsPerSec: number;
  /** Bucket depth: at least 32 KiB (a few full-size segments), else 1 ms at the rate. */
  burstBytes: number;
  /** Longest a packet may wait in the queue before it is dropped. */
  latencyMs: number;
}

export function tbfParameters(rateBitsPerSec: number): TbfParameters {
  return { rateBitsPerSec, burstBytes: Math.max(32 * 1024, Math.round(rateBitsPerSec / 8 / 1000)), latencyMs: 10 };
}

/** The rate every link is shaped to now (null: none). */
export class Shaper {
  private current: number | null = null;

  constructor(private readonly topology: Topology) {}

  get rateBitsPerSec(): number | null {
    return this.current;
  }

  /** Shapes every link to `rateBitsPerSec`, or removes the shaping (null); nothing when already so. */
  apply(rateBitsPerSec: number | null): void {
    if (rateBitsPerSec === this.current) return;
    for (const [ns, dev] of this.interfaces()) {
      if (rateBitsPerSec === null) tc('-n', ns, 'qdisc', 'del', 'dev', dev, 'root');
      else {
        const p = tbfParameters(rateBitsPerSec);
        tc('-n', ns, 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${p.rateBitsPerSec}bit`, 'burst', String(p.burstBytes), 'latency', `${p.latencyMs}ms`);
      }
    }
    this.current = rateBitsPerSec;
  }

  private interfaces(): Array<[string, string]> {
    return this.topology.hosts.flatMap((h): Array<[string, string]> => [
      [h.namespace, h.device],
      [this.topology.switchNamespace, h.switchPort],
    ]);
  }
}
