/**
 * The hosts of a netns run: a switch namespace holding a bridge, and one namespace per host
 * (client, placement, node 1..N), each joined to the bridge by a veth pair and given an address on
 * the run's private subnet. Nothing is created in the caller's own namespace, so removing the
 * run's namespaces removes everything (veths, bridge and qdiscs go with them).
 */
import { attempt, ip, listNamespaces, namespacePids } from './commands';
import { netemMissing } from './netem';
import { addressWithPrefix, BRIDGE_DEVICE, HOST_DEVICE, hostAddress, hostNamespace, ownerOf, SUBNET, switchNamespace, switchPort, type HostName } from './names';

export interface TopologyHost {
  name: HostName;
  namespace: string;
  address: string;
  /** The host's end of its veth pair (inside `namespace`). */
  device: string;
  /** The switch's end (inside the switch namespace, a port of the bridge). */
  switchPort: string;
}

/** What the client side needs to know about the hosts (passed to it as JSON in its environment). */
export interface Topology {
  runId: number;
  subnet: string;
  switchNamespace: string;
  bridge: string;
  hosts: TopologyHost[];
  /** Whether the kernel has the netem qdisc (probed when the topology was built). */
  netemAvailable: boolean;
}

/** The hosts of a run with `nodes` storage nodes. */
export function planTopology(runId: number, nodes: number): Topology {
  const names: HostName[] = ['client', 'placement', ...Array.from({ length: nodes }, (_, i) => `node${i + 1}` as HostName)];
  return {
    runId,
    subnet: SUBNET,
    switchNamespace: switchNamespace(runId),
    bridge: BRIDGE_DEVICE,
    hosts: names.map((name) => ({ name, namespace: hostNamespace(runId, name), address: hostAddress(name), device: HOST_DEVICE, switchPort: switchPort(name) })),
    netemAvailable: false,
  };
}

/** Creates the run's namespaces, bridge and veths; on any failure removes what it made and throws. */
export function createTopology(runId: number, nodes: number): Topology {
  const topology = planTopology(runId, nodes);
  const sw = topology.switchNamespace;
  try {
    ip('netns', 'add', sw);
    ip('-n', sw, 'link', 'set', 'lo', 'up');
    ip('-n', sw, 'link', 'add', BRIDGE_DEVICE, 'type', 'bridge');
    ip('-n', sw, 'link', 'set', BRIDGE_DEVICE, 'up');
    for (const host of topology.hosts) {
      ip('netns', 'add', host.namespace);
      // Both ends are created directly in their namespaces: nothing appears in ours, even briefly.
      ip('link', 'add', 'name', host.device, 'netns', host.namespace, 'type', 'veth', 'peer', 'name', host.switchPort, 'netns', sw);
      ip('-n', sw, 'link', 'set', host.switchPort, 'master', BRIDGE_DEVICE, 'up');
      ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
      ip('-n', host.namespace, 'addr', 'add', addressWithPrefix(host.address), 'dev', host.device);
      ip('-n', host.namespace, 'link', 'set', host.device, 'up');
    }
    topology.netemAvailable = netemMissing() === null;
  } catch (err) {
    destroyNamespaces(namespacesOf(topology));
    throw err;
  }
  return topology;
}

/** Host namespaces first, the switch last. */
export const namespacesOf = (topology: Topology): string[] => [...topology.hosts.map((h) => h.namespace), topology.switchNamespace];

/**
 * Kills what still runs in each namespace (by pid: processes of this run only, since the
 * namespace is this run's) and deletes it. Never throws: returns the problems, one line each.
 */
export function destroyNamespaces(namespaces: string[]): string[] {
  const existing = new Set(safeList());
  const problems: string[] = [];
  for (const ns of namespaces) {
    if (ownerOf(ns) === null) {
      problems.push(`refusing to touch namespace ${ns}: not a copbench name`);
      continue;
    }
    if (!existing.has(ns)) continue;
    let pids: number[] = [];
    const listed = attempt(() => (pids = namespacePids(ns)));
    if (listed) problems.push(listed);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* exited meanwhile */
      }
    }
    const deleted = attempt(() => ip('netns', 'del', ns));
    if (deleted) problems.push(deleted);
  }
  return problems;
}

function safeList(): string[] {
  try {
    return listNamespaces();
  } catch {
    return [];
  }
}

/** Every copbench namespace on the machine (any run). */
export function copbenchNamespaces(): string[] {
  return safeList().filter((ns) => ownerOf(ns) !== null);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the namespaces of runs whose owner process is gone (a run killed with kill -9, or a
 * crashed one). A live run's namespaces are left alone. Returns what it removed and the problems.
 */
export function removeStaleNamespaces(): { removed: string[]; problems: string[] } {
  const stale = copbenchNamespaces().filter((ns) => !alive(ownerOf(ns)!));
  return { removed: stale, problems: destroyNamespaces(stale) };
}
