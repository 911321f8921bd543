/**
 * Link profiles: what a link between the client and the nodes is (a bandwidth and an RTT), its
 * presets, and the spec forms that name one ("100mbit:rtt=2", { bandwidth, rttMs }, a preset).
 * The user-space EmulatedLink (./link) and the kernel-shaped netns links both take these.
 */
/** A link between the client and the nodes. */
export interface LinkProfile {
  /** Display name: a preset name or the canonical spec (e.g. "100mbit:rtt=2"). */
  name: string;
  /** Per direction; null = unlimited. */
  bandwidthBitsPerSec: number | null;
  /** Added round-trip time (rtt/2 per direction); 0 = none. */
  rttMs: number;
}

/** Named links. `unlimited` shapes nothing (plain loopback). */
export const LINK_PRESETS = {
  unlimited: { name: 'unlimited', bandwidthBitsPerSec: null, rttMs: 0 },
  '10gbit': { name: '10gbit', bandwidthBitsPerSec: 10e9, rttMs: 0.2 },
  '1gbit': { name: '1gbit', bandwidthBitsPerSec: 1e9, rttMs: 0.5 },
  '100mbit': { name: '100mbit', bandwidthBitsPerSec: 100e6, rttMs: 1 },
} as const satisfies Record<string, LinkProfile>;

/** The names of LINK_PRESETS. */
export type LinkPresetName = keyof typeof LINK_PRESETS;

/** A link spec that cannot be parsed; the message names the problem and the accepted forms. */
export class LinkSpecError extends Error {
  readonly code = 'INVALID_LINK_SPEC';
  constructor(message: string) {
    super(message);
    this.name = 'LinkSpecError';
  }
}

/** The object form of a link spec (e.g. from a JSON workload spec). */
export interface LinkSpecObject {
  /** A rate such as "1gbit", a preset name, "unlimited", a number of bits/s, or null (unlimited). */
  bandwidth?: string | number | null;
  /** Same as a numeric `bandwidth` (the LinkProfile field name). */
  bandwidthBitsPerSec?: number | null;
  rttMs?: number;
  name?: string;
}

/** Strings (`"1gbit"`, `"100mbit:rtt=2"`, `"unlimited:rtt=20"`), objects, or a LinkProfile. */
export type LinkSpec = string | LinkSpecObject | LinkProfile;

const UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12 };
const UNIT_ORDER = ['tbit', 'gbit', 'mbit', 'kbit', 'bit'] as const;
const MIN_BANDWIDTH = 1e3;
const MAX_RTT_MS = 60_000;
const FORMS = 'expected a preset (unlimited, 10gbit, 1gbit, 100mbit) or a rate such as "250mbit", optionally followed by ":rtt=<ms>", e.g. "100mbit:rtt=2"';

const isPreset = (name: string): name is LinkPresetName => Object.prototype.hasOwnProperty.call(LINK_PRESETS, name);

/** Parses a rate: "100mbit", "1.5gbit", "1gbit/s", "unlimited" (null). Units are bits per second. */
export function parseBandwidth(text: string, context = 'bandwidth'): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'unlimited') return null;
  // The sign is matched so that "-100mbit" is told it is negative, not that it lacks a number.
  const m = /^(-?\d+(?:\.\d+)?)\s*([a-z]+)(?:\/s)?$/.exec(t);
  if (!m) throw new LinkSpecError(`${context} "${text}": expected a number and a unit in bits per second (bit, kbit, mbit, gbit, tbit), e.g. "100mbit", or "unlimited"`);
  const unit = UNITS[m[2]!];
  if (unit === undefined) {
    const bytesHint = /bps$|b\/s$|byte/.test(m[2]!) ? ' (byte-based and "bps" units are not accepted, to avoid a factor-8 mix-up: write mbit or gbit)' : '';
    throw new LinkSpecError(`${context} "${text}": unknown unit "${m[2]}"${bytesHint}; use bit, kbit, mbit, gbit or tbit, e.g. "100mbit"`);
  }
  return checkBandwidth(Number(m[1]) * unit, `${context} "${text}"`);
}

function checkBandwidth(bits: number, context: string): number {
  if (!Number.isFinite(bits)) throw new LinkSpecError(`${context}: the rate must be a finite number of bits per second`);
  // A zero rate would carry nothing (a user wanting no limit means "unlimited"); say so plainly.
  if (bits <= 0) throw new LinkSpecError(`${context}: a rate must be positive, at least 1kbit (≥ ${MIN_BANDWIDTH} bits per second); for no limit write "unlimited"`);
  if (bits < MIN_BANDWIDTH) throw new LinkSpecError(`${context}: the rate must be at least 1kbit (≥ ${MIN_BANDWIDTH} bits per second)`);
  return bits;
}

function checkRtt(ms: unknown, context: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_RTT_MS) throw new LinkSpecError(`${context}: rtt must be a number of milliseconds between 0 and ${MAX_RTT_MS}`);
  return ms;
}

/** Parses "2", "2ms", "250us", "0.5ms" to milliseconds. */
function parseRtt(text: string, context: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|us|µs|s)?$/.exec(text.trim().toLowerCase());
  if (!m) throw new LinkSpecError(`${context}: rtt "${text}" must be a number of milliseconds, e.g. rtt=2 or rtt=250us`);
  const value = Number(m[1]);
  const ms = m[2] === 'us' || m[2] === 'µs' ? value / 1000 : m[2] === 's' ? value * 1000 : value;
  return checkRtt(ms, context);
}

/** Formats a rate with the largest unit that divides it ("1gbit", "250mbit", "unlimited"). */
export function formatBandwidth(bits: number | null): string {
  if (bits === null) return 'unlimited';
  for (const unit of UNIT_ORDER) {
    const value = bits / UNITS[unit]!;
    if (Number.isInteger(value)) return `${value}${unit}`;
  }
  return `${bits}bit`;
}

/** The canonical spec of a profile: a preset name when it equals one, else "<rate>[:rtt=<ms>]". */
export function formatLinkSpec(profile: Pick<LinkProfile, 'bandwidthBitsPerSec' | 'rttMs'>): string {
  for (const preset of Object.values(LINK_PRESETS)) {
    if (preset.bandwidthBitsPerSec === profile.bandwidthBitsPerSec && preset.rttMs === profile.rttMs) return preset.name;
  }
  const rate = formatBandwidth(profile.bandwidthBitsPerSec);
  return profile.rttMs === 0 && profile.bandwidthBitsPerSec !== null ? rate : `${rate}:rtt=${profile.rttMs}`;
}

/**
 * Parses a link spec. A bare preset name keeps the preset's RTT (`"1gbit"` = 1 Gbit/s, 0.5 ms);
 * any other rate has no added RTT unless given (`"250mbit"` = 250 Mbit/s, 0 ms). Throws
 * LinkSpecError naming what is wrong.
 */
export function parseLinkProfile(spec: unknown): LinkProfile {
  if (typeof spec === 'string') return parseLinkString(spec);
  if (spec !== null && typeof spec === 'object' && !Array.isArray(spec)) return parseLinkObject(spec as Record<string, unknown>);
  throw new LinkSpecError(`link spec ${JSON.stringify(spec)}: ${FORMS}, or an object { "bandwidth": "1gbit", "rttMs": 1 }`);
}

function parseLinkString(spec: string): LinkProfile {
  const context = `link spec "${spec}"`;
  const [head = '', ...options] = spec.trim().split(/[:,]/);
  if (head.trim() === '') throw new LinkSpecError(`${context}: ${FORMS}`);
  const base = head.trim().toLowerCase();
  let bandwidth: number | null;
  let rttMs = 0;
  if (isPreset(base)) {
    bandwidth = LINK_PRESETS[base].bandwidthBitsPerSec;
    rttMs = LINK_PRESETS[base].rttMs;
  } else if (/^[a-z]/.test(base)) {
    // A word that is not a preset ("fast", "1gbit" misspelt as "gbit") is an unknown profile name.
    throw new LinkSpecError(`${context}: unknown profile "${head.trim()}"; ${FORMS}`);
  } else {
    bandwidth = parseBandwidth(head, 'link spec');
  }
  const seen = new Set<string>();
  for (const option of options) {
    const eq = option.indexOf('=');
    const key = (eq < 0 ? option : option.slice(0, eq)).trim().toLowerCase();
    if (eq < 0 || key === '') throw new LinkSpecError(`${context}: option "${option}" must be key=value, e.g. rtt=2`);
    if (seen.has(key)) throw new LinkSpecError(`${context}: option "${key}" is given twice`);
    seen.add(key);
    if (key === 'rtt' || key === 'rttms') rttMs = parseRtt(option.slice(eq + 1), context);
    else throw new LinkSpecError(`${context}: unknown option "${key}" (the only option is rtt=<ms>)`);
  }
  const profile = { bandwidthBitsPerSec: bandwidth, rttMs };
  return { name: options.length === 0 && isPreset(base) ? base : formatLinkSpec(profile), ...profile };
}

function parseLinkObject(spec: Record<string, unknown>): LinkProfile {
  const context = `link spec ${JSON.stringify(spec)}`;
  for (const key of Object.keys(spec)) {
    if (!['bandwidth', 'bandwidthBitsPerSec', 'rttMs', 'name'].includes(key)) throw new LinkSpecError(`${context}: unknown field "${key}" (fields: bandwidth, rttMs, name)`);
  }
  if ('bandwidth' in spec && 'bandwidthBitsPerSec' in spec) throw new LinkSpecError(`${context}: give either bandwidth or bandwidthBitsPerSec, not both`);
  const raw = 'bandwidth' in spec ? spec.bandwidth : spec.bandwidthBitsPerSec;
  if (raw === undefined) throw new LinkSpecError(`${context}: bandwidth is required (a rate such as "1gbit", a preset name, or "unlimited")`);
  let bandwidth: number | null;
  let rttMs = 0;
  if (raw === null) bandwidth = null;
  else if (typeof raw === 'number') bandwidth = checkBandwidth(raw, `${context}: bandwidth`);
  else if (typeof raw === 'string') {
    const base = raw.trim().toLowerCase();
    if (isPreset(base)) {
      bandwidth = LINK_PRESETS[base].bandwidthBitsPerSec;
      rttMs = LINK_PRESETS[base].rttMs;
    } else bandwidth = parseBandwidth(raw, `${context}: bandwidth`);
  } else throw new LinkSpecError(`${context}: bandwidth must be a string such as "1gbit", a number of bits per second, or null`);
  if (spec.rttMs !== undefined) rttMs = checkRtt(spec.rttMs, context);
  if (spec.name !== undefined && (typeof spec.name !== 'string' || spec.name.trim() === '')) throw new LinkSpecError(`${context}: name must be a non-empty string`);
  const profile = { bandwidthBitsPerSec: bandwidth, rttMs };
  return { name: (spec.name as string | undefined) ?? formatLinkSpec(profile), ...profile };
}
