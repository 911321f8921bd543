/**
 * The network seam: where the harness's processes sit and what lies between the client and the
 * nodes. A spec's `network.kind` names a NetworkKind (registry.ts); the driver, the session and the
 * workload families only talk to these interfaces, never to a kind by name.
 *
 * - `loopback` (the default): every process on 127.0.0.1; a link profile is emulated in user space
 *   on the client's own sockets (rate and delay, workloads/driver/network/link.ts).
 * - `netns`: placement, every node and the client each in a network namespace of their own, joined
 *   by a bridge; link rates are shaped by the kernel (tc tbf); delay, jitter and loss by netem
 *   where the kernel has it, else the delay by the user-space link (and jitter and loss refused).
 */
import type net from 'node:net';
import type { SocketLike } from '../../engine/client/connection';
import type { LinkProfile } from '../driver/network/link-profile';

/** Where one process of the embedded cluster runs: the address it binds and how it is started. */
export interface ProcessHost {
  /** The address the process binds and advertises (e.g. 127.0.0.1 or 10.213.0.11). */
  host: string;
  /** Command words put before `node …` (e.g. ["ip", "netns", "exec", "copbench-…-n1"]); empty: run as is. */
  commandPrefix: string[];
}

export type ProcessRole = 'placement' | 'node';

/** One link profile as the client uses it. */
export interface LinkHandle {
  /** The profile's name as in the spec's `links` (e.g. "100mbit"). */
  name: string;
  /** Wraps each node connection of a client that uses this link (user-space shaping); absent: raw sockets. */
  wrapSocket?: (socket: net.Socket) => SocketLike;
  /**
   * Makes this profile the one the network carries now. Kernel shaping is one qdisc per interface,
   * so a run over several profiles calls this before each phase; loopback shapes per socket and
   * does nothing here.
   */
  use(): Promise<void>;
  close(): void;
}

/** Takes any shaping off a network (its `unlimited` profile in use; a loopback network shapes nothing). */
export async function unshape(network: Network): Promise<void> {
  const link = network.link('unlimited');
  await link.use();
  link.close();
}

/** Which mechanism shaped what, as the manifest records it. */
export interface ShapingMechanisms {
  /** e.g. "user-space token bucket (client sockets)" or "kernel: tc tbf on every host's link". */
  rate: string;
  /** e.g. "kernel: tc netem delay …" or "user-space delay (client sockets)"; says why when netem was not used. */
  delay: string;
  /** e.g. "kernel: tc netem jitter …", or "none" and why. */
  jitter: string;
  /** e.g. "kernel: tc netem loss random …", or "none" and why. */
  loss: string;
}

/** What the start-of-run check measured for one profile. */
export interface LinkCheck {
  profile: string;
  /** Configured rate per direction, bits/s (null: unlimited). */
  configuredBitsPerSec: number | null;
  /** TCP goodput of a bulk transfer nodes → client (download) and client → nodes (upload), bits/s. */
  measuredDownBitsPerSec: number;
  measuredUpBitsPerSec: number;
  /** Configured added RTT (ms), jitter (ms) and loss per direction (%); jitter and loss are not measured. */
  configuredRttMs: number;
  configuredJitterMs: number;
  configuredLossPercent: number;
  /**
   * Median ping-pong RTT on a raw socket over the unshaped network (the path with nothing added,
   * measured once before the profiles) and through the link as the client uses it.
   */
  kernelRttMs: number;
  measuredRttMs: number;
  /** What the rate was held to, e.g. "±10%", or only an upper bound when loss or jitter lower TCP's goodput (and why). */
  rateCheck: string;
  /** Within tolerance (rate see rateCheck; RTT see docs/networks.md). */
  ok: boolean;
  /** Why not, when not ok. */
  problem: string | null;
}

/** The network part of manifest.json. */
export interface NetworkReport {
  kind: string;
  mechanisms: ShapingMechanisms;
  /** Address per process (placement, node<i>, client). */
  hosts: Record<string, string>;
  /** Kind-specific facts (namespace names, subnet, probes of the kernel). */
  details: Record<string, unknown>;
  /** The start-of-run checks, one per profile (empty when the kind does not verify). */
  checks: LinkCheck[];
}

/** An open network, inside the process that runs the client side. */
export interface Network {
  readonly kind: string;
  /**
   * Whether clients on different profiles can measure at the same time (shaping per socket:
   * loopback). False when the network carries one profile at a time (kernel qdiscs: netns).
   */
  readonly concurrentLinks: boolean;
  /** Where the embedded cluster's process runs (node ids from 1). */
  processHost(role: ProcessRole, id: number): ProcessHost;
  /** The client's handle for a link profile (throws LinkSpecError on a bad profile). */
  link(profile: string): LinkHandle;
  /** Measures every profile; throws NetworkError when one is off by more than the tolerance. */
  verify(profiles: string[], log: (line: string) => void): Promise<LinkCheck[]>;
  /** For the manifest (the checks made so far included). */
  report(): NetworkReport;
  /** Removes shaping; the hosts themselves belong to whoever created them (see NetworkKind.runClient). */
  close(): Promise<void>;
}

/** What runs the client side: this process, or `argv` as a child inside the network's client host. */
export interface ClientCommand {
  /** The command of this very process (process.execPath and its arguments). */
  argv: string[];
  /** Storage nodes the run starts (a host each). */
  nodes: number;
  log(line: string): void;
}

/** A registered network kind. */
export interface NetworkKind {
  readonly name: string;
  readonly description: string;
  /** Whether a run may use this kind against a running cluster (`--cluster`) instead of starting its own. */
  readonly allowsExternalCluster: boolean;
  /**
   * Throws NetworkError with `usage: true` when this machine cannot run the kind with these link
   * profiles (permission, tools, jitter or loss without netem). Runs before anything starts.
   */
  checkAvailable(links: readonly LinkProfile[]): void;
  /**
   * Loopback: 'here' (the client runs in this process). netns: 'here' when this process already is
   * the client inside the namespaces; otherwise builds the hosts, runs `command` inside the client
   * host as a child process, removes every host after it ends (also on SIGINT/SIGTERM) and
   * resolves to its exit code.
   */
  runClient(command: ClientCommand): 'here' | Promise<number>;
  /** The network of this run, from inside the client side (after runClient said 'here'). */
  open(): Network;
  /** What this kind has left on the machine (e.g. copbench namespaces); [] when clean. For tests and doctors. */
  leftovers(): string[];
}

/** A network that cannot be built or does not behave as configured. `usage`: the user must change something (exit 2). */
export class NetworkError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
    this.name = 'NetworkError';
  }
}
