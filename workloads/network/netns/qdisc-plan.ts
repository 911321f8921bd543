/**
 * The qdiscs a link profile puts on the two ends of a host's veth, as `tc` argument lists: a pure
 * plan, so that the netem path — which the kernel this was built on lacks — is unit-tested, and
 * shaping.ts only runs what it says.
 *
 * - Rate: tbf at the profile's rate on both ends (the host end's egress is the host's upload, the
 *   switch port's egress its download), with or without netem.
 * - With netem, delay, jitter and loss go on the **host end only**: every packet between two hosts
 *   leaves exactly one host end (its sender's) and one switch port, so each direction meets netem
 *   once and gets delay rtt/2 (the RTT is rtt), jitter ± jitter/2 (the RTT stays within rtt ±
 *   jitter) and the loss (the profile's loss is per direction). The netem qdisc is the root with
 *   handle 1: and the tbf its child at parent 1:1 ("netem delay … then a rate"): packets are
 *   delayed, then paced, and tbf's 10 ms queue bound still applies after the delay.
 * - Without netem, only the tbf qdiscs; the delay is the user-space link's (netns/index.ts), and
 *   jitter and loss cannot be had (refused before the run starts; planning them throws).
 *
 * netem words follow tc-netem(8): `delay TIME [JITTER]` (times in the `us` unit here, so no
 * rounding to ms), `loss random PERCENT`, `limit PACKETS`. No `distribution` is given: tc loads a
 * distribution table only for that option (q_netem.c), and without a table the kernel draws the
 * jitter uniformly within ±JITTER (sch_netem.c tabledist: "default uniform distribution"), which
 * is what the profile's "± jitter/2 per direction" means (the man page's "default is Normal"
 * describes neither).
 * netem releases packets by the time each is due, so two whose jittered delays cross leave in the
 * other order: that is netem's jitter, and TCP sees it as reordering.
 */
import { needsNetem, type LinkProfile } from '../../driver/network/link-profile';
import { NetworkError } from '../network';

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

/** The two ends of a host's veth pair. */
export type VethEnd = 'host' | 'switch';

/** The fields of a profile that decide its qdiscs. */
export type ShapedProfile = Pick<LinkProfile, 'name' | 'bandwidthBitsPerSec' | 'rttMs' | 'jitterMs' | 'lossPercent'>;

/** netem's default queue (tc-netem(8) `limit`), which a long delay at a high rate overflows. */
const NETEM_DEFAULT_LIMIT = 1000;
/** Packet size for counting packets in flight (full-size frames; GSO only makes them fewer). */
const FRAME_BYTES = 1500;
/** The rate netem's queue is sized for when the profile sets none: above the ~9 Gbit/s two namespaces moved here. */
const UNLIMITED_RATE_FOR_LIMIT = 40e9;

/**
 * netem holds every packet for its delay: twice the packets in flight over the longest delay at the
 * rate (a full-size frame each), at least netem's default, so the queue never drops what the
 * profile did not ask to lose.
 */
export function netemLimit(profile: ShapedProfile): number {
  const bitsPerSec = profile.bandwidthBitsPerSec ?? UNLIMITED_RATE_FOR_LIMIT;
  const longestDelayMs = (profile.rttMs + profile.jitterMs) / 2;
  return Math.max(NETEM_DEFAULT_LIMIT, Math.ceil((2 * bitsPerSec * longestDelayMs) / 1000 / 8 / FRAME_BYTES));
}

const micros = (ms: number): string => `${Math.round(ms * 1000)}us`;

/** The netem words after `netem` (empty: nothing for netem to do). */
export function netemWords(profile: ShapedProfile): string[] {
  const words: string[] = [];
  if (profile.rttMs > 0) {
    words.push('delay', micros(profile.rttMs / 2));
    if (profile.jitterMs > 0) words.push(micros(profile.jitterMs / 2));
  }
  if (profile.lossPercent > 0) words.push('loss', 'random', `${profile.lossPercent}%`);
  return words.length === 0 ? [] : ['limit', String(netemLimit(profile)), ...words];
}

function tbfWords(rateBitsPerSec: number): string[] {
  const p = tbfParameters(rateBitsPerSec);
  return ['tbf', 'rate', `${p.rateBitsPerSec}bit`, 'burst', String(p.burstBytes), 'latency', `${p.latencyMs}ms`];
}

/**
 * The `tc` argument lists (after `-n <namespace>`) that shape `device`, one veth end, for
 * `profile`, onto a device that has no qdisc of ours; [] when this end is left unshaped. Throws
 * a usage NetworkError for jitter or loss without netem: the caller should have refused it.
 */
export function planQdiscs(profile: ShapedProfile, end: VethEnd, device: string, netem: boolean): string[][] {
  if (!netem && needsNetem(profile)) throw new NetworkError(`link ${profile.name}: jitter and loss need the netem qdisc, which this kernel lacks`, true);
  const rate = profile.bandwidthBitsPerSec;
  const impairments = netem && end === 'host' ? netemWords(profile) : [];
  if (impairments.length === 0) return rate === null ? [] : [['qdisc', 'add', 'dev', device, 'root', ...tbfWords(rate)]];
  const root = ['qdisc', 'add', 'dev', device, 'root', 'handle', '1:', 'netem', ...impairments];
  return rate === null ? [root] : [root, ['qdisc', 'add', 'dev', device, 'parent', '1:1', 'handle', '10:', ...tbfWords(rate)]];
}

/** Whether the kernel carries the profile's delay (netem): then the user-space link must add none. */
export const kernelDelays = (profile: Pick<LinkProfile, 'rttMs'>, netem: boolean): boolean => netem && profile.rttMs > 0;
