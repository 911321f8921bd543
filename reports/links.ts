/**
 * Links as charts need them: their bandwidth (for ordering and for the crossover axis) and a label
 * with units, from the same parser the driver uses.
 */
import { parseLinkProfile, type LinkProfile } from '../workloads/driver/network/link-profile';

/** A link of a run: its name as recorded in summary.json, and its profile when it parses. */
export interface LinkInfo {
  name: string;
  /** Per direction; null = unlimited (loopback). */
  bandwidthBitsPerSec: number | null;
  rttMs: number;
  /** For axes and headers, e.g. "100 Mbit/s, rtt 1 ms" or "unlimited (loopback)". */
  label: string;
}

function rateLabel(bitsPerSec: number): string {
  const units: Array<[number, string]> = [
    [1e12, 'Tbit/s'],
    [1e9, 'Gbit/s'],
    [1e6, 'Mbit/s'],
    [1e3, 'kbit/s'],
  ];
  for (const [scale, unit] of units) if (bitsPerSec >= scale) return `${+(bitsPerSec / scale).toPrecision(3)} ${unit}`;
  return `${bitsPerSec} bit/s`;
}

/**
 * Describes the link named `name`. The run's spec may define links as objects with their own
 * names; those are found in `specLinks` (the manifest's spec.links). An unparseable name is kept
 * with unknown (null) bandwidth rather than failing the report.
 */
export function linkInfo(name: string, specLinks: readonly unknown[] = []): LinkInfo {
  let profile: LinkProfile | undefined;
  for (const candidate of specLinks) {
    try {
      const p = parseLinkProfile(candidate);
      if (p.name === name || (typeof candidate === 'object' && candidate !== null && (candidate as { name?: unknown }).name === name)) profile = p;
    } catch {
      // An invalid link in an old manifest: the name alone still labels it.
    }
  }
  if (!profile) {
    try {
      profile = parseLinkProfile(name);
    } catch {
      return { name, bandwidthBitsPerSec: null, rttMs: 0, label: name };
    }
  }
  const bw = profile.bandwidthBitsPerSec;
  const rate = bw === null ? 'unlimited (loopback)' : rateLabel(bw);
  const extras = [profile.rttMs > 0 && `rtt ${profile.rttMs} ms`, profile.jitterMs > 0 && `jitter ${profile.jitterMs} ms`, profile.lossPercent > 0 && `loss ${profile.lossPercent}%`].filter(Boolean);
  return { name, bandwidthBitsPerSec: bw, rttMs: profile.rttMs, label: [rate, ...extras].join(', ') };
}

/** Links ordered slowest first, unlimited last (the order of a bandwidth axis). */
export function sortLinks(links: readonly LinkInfo[]): LinkInfo[] {
  const key = (l: LinkInfo): number => l.bandwidthBitsPerSec ?? Number.POSITIVE_INFINITY;
  return [...links].sort((a, b) => key(a) - key(b) || a.name.localeCompare(b.name));
}
