/**
 * What the netns manifest says shaped each part of its links: the same decisions as the qdisc plan
 * (./qdisc-plan.ts) and the user-space delay (./index.ts), in words, with each profile's values
 * where they differ between profiles.
 */
import type { LinkProfile } from '../../driver/network/link-profile';
import type { ShapingMechanisms } from '../network';
import { kernelDelays, tbfParameters } from './qdisc-plan';

const HOST_END = "on each host's end of its veth, so each direction once";

/** "a: x; b: y" over the profiles where `value` says something. */
function perProfile(profiles: readonly LinkProfile[], value: (p: LinkProfile) => string | null): string {
  return profiles.flatMap((p) => {
    const v = value(p);
    return v === null ? [] : [`${p.name}: ${v}`];
  }).join('; ');
}

/** The mechanisms of a netns network carrying `profiles`, on a kernel with or without netem. */
export function netnsMechanisms(profiles: readonly LinkProfile[], netem: boolean): ShapingMechanisms {
  const tbf = tbfParameters(1e9);
  const rate = `kernel: tc tbf at the profile's rate on both ends of every host's veth (burst max(32 KiB, 1 ms at the rate), latency ${tbf.latencyMs} ms)${netem ? ", as the child of netem on the host's end" : ''}`;
  const delayed = profiles.filter((p) => p.rttMs > 0);
  const jittered = profiles.filter((p) => p.jitterMs > 0);
  const lossy = profiles.filter((p) => p.lossPercent > 0);
  if (!netem) {
    return {
      rate,
      delay: `user-space delay of rtt/2 per direction on the client’s node connections (this kernel has no netem)${delayed.length > 0 ? ` (${perProfile(delayed, (p) => `${p.rttMs / 2} ms`)})` : ''}`,
      // refuseWithoutNetem stops such a run before it starts; this is what a manifest of one that ran says.
      jitter: 'none: this kernel has no netem, and the user-space link cannot jitter TCP segments (a profile with jitter is refused)',
      loss: 'none: this kernel has no netem, and the user-space link cannot drop TCP segments (a profile with loss is refused)',
    };
  }
  return {
    rate,
    delay:
      delayed.length === 0
        ? 'none: no profile has an rtt'
        : `kernel: tc netem delay rtt/2 ${HOST_END}; the user-space link adds none (${perProfile(delayed, (p) => (kernelDelays(p, netem) ? `delay ${p.rttMs / 2} ms` : null))})`,
    jitter:
      jittered.length === 0
        ? 'none: no profile has jitter'
        : `kernel: tc netem jitter ± jitter/2, uniform, ${HOST_END}; packets whose delays cross are reordered (${perProfile(jittered, (p) => `delay ${p.rttMs / 2} ms ± ${p.jitterMs / 2} ms`)})`,
    loss: lossy.length === 0 ? 'none: no profile has loss' : `kernel: tc netem loss random ${HOST_END}, not measured at start (${perProfile(lossy, (p) => `loss ${p.lossPercent}% per direction`)})`,
  };
}
