/**
 * `loopback`, the default network: every process on 127.0.0.1, and a link profile emulated in user
 * space on the client's own node connections (one token bucket per direction plus a delay,
 * ../driver/network/link.ts). Shaping is per socket, so `use()` has nothing to do, and two clients
 * on different profiles can be open at once.
 */
import { EmulatedLink } from '../driver/network/link';
import { netemNeeds, parseLinkProfile, type LinkProfile } from '../driver/network/link-profile';
import { NetworkError, type LinkHandle, type Network, type NetworkKind, type NetworkReport, type ProcessHost } from './network';

const LOOPBACK_HOST: ProcessHost = { host: '127.0.0.1', commandPrefix: [] };

/** A client's handle for a profile: `unlimited` wraps nothing; any other profile one EmulatedLink. */
export function userSpaceLink(profileSpec: string): LinkHandle {
  const profile = parseLinkProfile(profileSpec);
  const use = async (): Promise<void> => undefined;
  if (profile.bandwidthBitsPerSec === null && profile.rttMs === 0) return { name: profile.name, use, close: () => undefined };
  const link = new EmulatedLink(profile);
  return { name: profile.name, wrapSocket: (socket) => link.wrap(socket), use, close: () => link.close() };
}

/**
 * The user-space link sits above TCP: it sees the byte stream after the kernel has reassembled it
 * in order, so it cannot drop a segment (nothing it withholds is retransmitted, it would just be
 * lost data), and varying the delay of whole reads in order is not jitter — a late read holds
 * back every later one, and TCP's RTT estimate and ACK clock never see the variation. A profile
 * asking for either would be mislabelled, so it is refused (exit 2) before the run starts.
 */
function refuseJitterAndLoss(links: readonly LinkProfile[]): void {
  const list = netemNeeds(links);
  if (list === null) return;
  throw new NetworkError(
    `network.kind=loopback: link ${list}: jitter and loss need the kernel's netem qdisc; user space cannot drop or jitter TCP segments, it only sees the byte stream above them. ` +
      'Use network.kind=netns (as root) on a kernel with netem, or take jitter= and loss= out of the profile.',
    true,
  );
}

class LoopbackNetwork implements Network {
  readonly kind = 'loopback';
  readonly concurrentLinks = true;

  processHost(): ProcessHost {
    return LOOPBACK_HOST;
  }

  link(profile: string): LinkHandle {
    return userSpaceLink(profile);
  }

  /**
   * Measures nothing: the user-space link keeps its rate exactly in virtual time and is measured
   * by workloads/driver/network/link.test.ts; checking it at every start would cost seconds on
   * runs whose links nobody changed.
   */
  async verify(): Promise<[]> {
    return [];
  }

  report(): NetworkReport {
    return {
      kind: this.kind,
      mechanisms: {
        rate: 'user-space token bucket on the client’s node connections',
        delay: 'user-space delay on the client’s node connections',
        jitter: 'none: the user-space link cannot jitter TCP segments (a profile with jitter is refused)',
        loss: 'none: the user-space link cannot drop TCP segments (a profile with loss is refused)',
      },
      hosts: { placement: LOOPBACK_HOST.host, nodes: LOOPBACK_HOST.host, client: LOOPBACK_HOST.host },
      details: {},
      checks: [],
    };
  }

  async close(): Promise<void> {}
}

export const loopbackKind: NetworkKind = {
  name: 'loopback',
  description: 'every process on 127.0.0.1; link profiles emulated in user space on the client’s sockets (the default)',
  allowsExternalCluster: true,
  checkAvailable: refuseJitterAndLoss,
  runClient: () => 'here',
  open: () => new LoopbackNetwork(),
  leftovers: () => [],
};
