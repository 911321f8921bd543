/**
 * Whether this process may build namespaces: `ip netns add` needs CAP_SYS_ADMIN (it mounts the
 * namespace under /run/netns) and the links and qdiscs need CAP_NET_ADMIN. Root normally has
 * both; a root shell with capabilities dropped (a container, setpriv) does not, so the check
 * reads the effective capabilities instead of the uid.
 */
import { readFileSync } from 'node:fs';
import { NetworkError } from '../network';

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

/** The effective capability mask of this process (Linux), or null when it cannot be read. */
function effectiveCapabilities(): bigint | null {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : null;
  } catch {
    return null;
  }
}

/** The missing capabilities by name ([] when both are there). */
export function missingCapabilities(caps = effectiveCapabilities()): string[] {
  if (caps === null) return ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'];
  const missing: string[] = [];
  if (((caps >> CAP_NET_ADMIN) & 1n) === 0n) missing.push('CAP_NET_ADMIN');
  if (((caps >> CAP_SYS_ADMIN) & 1n) === 0n) missing.push('CAP_SYS_ADMIN');
  return missing;
}

/** Throws a usage NetworkError (exit 2) naming what is missing. */
export function checkNetnsPermission(): void {
  if (process.platform !== 'linux') throw new NetworkError(`network.kind=netns needs Linux network namespaces; this is ${process.platform}. Use network.kind=loopback (the default).`, true);
  const missing = missingCapabilities();
  if (missing.length > 0) {
    const who = typeof process.getuid === 'function' && process.getuid() !== 0 ? `this process runs as uid ${process.getuid()}, not root` : 'this root process has had capabilities dropped';
    throw new NetworkError(
      `network.kind=netns needs permission to create network namespaces and shape links (${missing.join(' and ')} missing: ${who}). Run as root (e.g. sudo npm run workload …), or use network.kind=loopback (the default).`,
      true,
    );
  }
}

/** Why netns cannot run here (the permission error's message), or false when it can: a test's skip reason. */
export function netnsUnavailable(): string | false {
  try {
    checkNetnsPermission();
    return false;
  } catch (err) {
    return (err as Error).message;
  }
}
