/**
 * Every name the netns network creates carries the `copbench` prefix, and namespaces also carry
 * the id (pid) of the run that owns them: cleanup touches only names of this shape, and a later
 * start can tell a killed run's namespaces (owner gone) from a live run's.
 */

export const PREFIX = 'copbench';

/** The private subnet of every run. Each run has its own switch namespace, so runs never share it. */
export const SUBNET = '10.213.0.0/24';
const SUBNET_BASE = '10.213.0.';
const PREFIX_LENGTH = 24;

/** A host of the topology: the client, placement, or node <i>. */
export type HostName = 'client' | 'placement' | `node${number}`;

/** Namespace of the bridge that joins the hosts (the "switch"). */
export const switchNamespace = (runId: number): string => `${PREFIX}-${runId}-sw`;

/** A host's namespace: copbench-<run>-client, copbench-<run>-pd, copbench-<run>-n<i>. */
export function hostNamespace(runId: number, host: HostName): string {
  const short = host === 'client' ? 'client' : host === 'placement' ? 'pd' : `n${host.slice(4)}`;
  return `${PREFIX}-${runId}-${short}`;
}

/** A host's address: placement .2, client .3, node i .(10 + i). */
export function hostAddress(host: HostName): string {
  const last = host === 'placement' ? 2 : host === 'client' ? 3 : 10 + Number(host.slice(4));
  return `${SUBNET_BASE}${last}`;
}

export const addressWithPrefix = (address: string): string => `${address}/${PREFIX_LENGTH}`;

/** The interface inside a host namespace (names are per namespace, so every host can use the same). */
export const HOST_DEVICE = `${PREFIX}0`;
/** The bridge, inside the switch namespace. */
export const BRIDGE_DEVICE = `${PREFIX}-br`;
/** The switch side of a host's veth pair (≤ 15 characters: IFNAMSIZ). */
export function switchPort(host: HostName): string {
  return host === 'client' ? `${PREFIX}-c` : host === 'placement' ? `${PREFIX}-pd` : `${PREFIX}-n${host.slice(4)}`;
}

/** The owning run of a namespace name, or null when the name is not one of ours. */
export function ownerOf(namespace: string): number | null {
  const m = /^copbench-(\d+)-(sw|client|pd|n\d+)$/.exec(namespace);
  return m ? Number(m[1]) : null;
}
