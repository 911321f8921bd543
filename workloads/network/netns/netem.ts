/**
 * Whether this kernel has the netem qdisc, and the refusal of profiles that need it when it does
 * not. The probe adds a netem qdisc to the loopback device of a throwaway network namespace
 * (`unshare --net`), which ends with the tc process: it leaves nothing behind, so it can run
 * before a run builds anything (the spec is checked before anything starts).
 */
import { netemNeeds, type LinkProfile } from '../../driver/network/link-profile';
import { NetworkError } from '../network';
import { attempt, unshareNet } from './commands';

let probed: { missing: string | null } | undefined;

/** null when the kernel has netem; else why not (the probe's error). Probed once per process. */
export function netemMissing(): string | null {
  probed ??= { missing: attempt(() => unshareNet('tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms')) };
  return probed.missing;
}

/**
 * Throws a usage NetworkError (exit 2) naming every profile with jitter or loss when netem is
 * missing (`missing`: the probe's error, null when the kernel has netem). Rate and RTT need no
 * netem: the delay then comes from the user-space link.
 */
export function refuseWithoutNetem(profiles: readonly LinkProfile[], missing: string | null): void {
  if (missing === null) return;
  const list = netemNeeds(profiles);
  if (list === null) return;
  throw new NetworkError(
    `network.kind=netns: link ${list}: jitter and loss need the kernel's netem qdisc, which this kernel lacks (${missing.trim()}). ` +
      'Run on a kernel with netem (CONFIG_NET_SCH_NETEM; where it is a module, modprobe sch_netem), or take jitter= and loss= out of the profile: rate and rtt work without netem (the delay is then the user-space link\'s).',
    true,
  );
}
