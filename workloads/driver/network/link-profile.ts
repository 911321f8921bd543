/**
 * Link profiles: what a link between the client and the nodes is (a bandwidth, an RTT, and
 * optionally jitter and packet loss), its presets, and the spec forms that name one
 * ("100mbit:rtt=2:jitter=0.5:loss=0.1", { bandwidth, rttMs, jitterMs, lossPercent }, a preset).
 * The user-space EmulatedLink (./link) and the kernel-shaped netns links both take these; jitter
 * and loss only the kernel's netem can give (docs/networks.md).
 */
/** A link between the client and the nodes. */
export interface LinkProfile {
  /** Display name: a preset name or the canonical spec (e.g. "100mbit:rtt=2"). */
  name: string;
  /** Per direction; null = unlimited. */
  bandwidthBitsPerSec: number | null;
  /** Added round-trip time (rtt/2 per direction); 0 = none. */
  rttMs: number;
  /**
   * How far the RTT varies around rttMs, at most (each direction's delay varies by ± jitter/2);
   * 0 = none. Never more than rttMs, so no delay goes below zero.
   */
  jitterMs: number;
  /** Packets dropped per direction, percent (0 ≤ loss < 100); 0 = none. */
  lossPercent: number;
}

/** Named links. `unlimited` shapes nothing (plain loopback). */
export const LINK_PRESETS = {
  unlimited: { name: 'unlimited', bandwidthBitsPerSec: null, rttMs: 0, jitterMs: 0, lossPercent: 0 },
  '10gbit': { name: '10gbit', bandwidthBitsPerSec: 10e9, rttMs: 0.2, jitterMs: 0, lossPercent: 0 },
  '1gbit': { name: '1gbit', bandwidthBitsPerSec: 1e9, rttMs: 0.5, jitterMs: 0, lossPercent: 0 },
  '100mbit': { name: '100mbit', bandwidthBitsPerSec: 100e6, rttMs: 1, jitterMs: 0, lossPercent: 0 },
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
  /** Jitter in ms (needs rttMs > 0, at most rttMs). */
  jitterMs?: number;
  /** Packet loss per direction, percent. */
  lossPercent?: number;
  name?: string;
}

/** Strings (`"1gbit"`, `"100mbit:rtt=2"`, `"unlimited:rtt=20"`), objects, or a LinkProfile. */
export type LinkSpec = string | LinkSpecObject | LinkProfile;

const UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12 };
const UNIT_ORDER = ['tbit', 'gbit', 'mbit', 'kbit', 'bit'] as const;
const MIN_BANDWIDTH = 1e3;
const MAX_RTT_MS = 60_000;
const FORMS = 'expected a preset (unlimited, 10gbit, 1gbit, 100mbit) or a rate such as "250mbit", optionally followed by ":rtt=<ms>", ":jitter=<ms>", ":loss=<percent>", e.g. "100mbit:rtt=2" or "100mbit:rtt=2:jitter=0.5:loss=0.1"';
/** The string form's options, in canonical order. */
const OPTIONS = 'rtt=<ms>, jitter=<ms>, loss=<percent>';

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

/** A time option (`what`: rtt or jitter) in ms. */
function checkMs(ms: unknown, what: string, context: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_RTT_MS) throw new LinkSpecError(`${context}: ${what} must be a number of milliseconds between 0 and ${MAX_RTT_MS}`);
  return ms;
}

/** Parses "2", "2ms", "250us", "0.5ms" to milliseconds. */
function parseMs(text: string, what: string, context: string): number {
  // The sign is matched so that "-1" is told it is negative, not that it is no number.
  const m = /^(-?\d+(?:\.\d+)?)\s*(ms|us|µs|s)?$/.exec(text.trim().toLowerCase());
  if (!m) throw new LinkSpecError(`${context}: ${what} "${text}" must be a number of milliseconds, e.g. ${what}=2 or ${what}=250us`);
  const value = Number(m[1]);
  const ms = m[2] === 'us' || m[2] === 'µs' ? value / 1000 : m[2] === 's' ? value * 1000 : value;
  return checkMs(ms, what, context);
}

function checkLoss(percent: unknown, context: string): number {
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0) throw new LinkSpecError(`${context}: loss must be a percentage of packets dropped per direction, at least 0 (e.g. loss=0.1 for 0.1%)`);
  // 100% would carry nothing: not even the connection would open.
  if (percent >= 100) throw new LinkSpecError(`${context}: loss ${percent}% must be below 100 (a link that drops every packet carries nothing)`);
  return percent;
}

/** Parses "0.1" or "0.1%" to percent. */
function parseLoss(text: string, context: string): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*%?$/.exec(text.trim());
  if (!m) throw new LinkSpecError(`${context}: loss "${text}" must be a percentage, e.g. loss=0.1 (0.1% of packets per direction)`);
  return checkLoss(Number(m[1]), context);
}

/**
 * Jitter varies the delay the RTT adds, so it needs an RTT, and may not exceed it: each
 * direction's delay is rtt/2 ± jitter/2, which must not go below zero.
 */
function checkJitter(jitterMs: number, rttMs: number, context: string): void {
  if (jitterMs === 0) return;
  if (rttMs === 0) throw new LinkSpecError(`${context}: jitter needs an rtt to vary (jitter is how far the added RTT varies), e.g. "100mbit:rtt=2:jitter=0.5"`);
  if (jitterMs > rttMs) throw new LinkSpecError(`${context}: jitter ${jitterMs} ms exceeds rtt ${rttMs} ms (each direction's delay, rtt/2 ± jitter/2, would go below zero)`);
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

type ProfileFields = Omit<LinkProfile, 'name'>;

/**
 * The canonical spec of a profile: a preset name when it equals one, else
 * "<rate>[:rtt=<ms>][:jitter=<ms>][:loss=<percent>]". The rtt is left out only where the rate alone
 * reads back with that RTT (a preset's rate implies the preset's RTT, any other rate none).
 */
export function formatLinkSpec(profile: Pick<LinkProfile, 'bandwidthBitsPerSec' | 'rttMs'> & Partial<Pick<LinkProfile, 'jitterMs' | 'lossPercent'>>): string {
  const jitterMs = profile.jitterMs ?? 0;
  const lossPercent = profile.lossPercent ?? 0;
  for (const preset of Object.values(LINK_PRESETS)) {
    if (preset.bandwidthBitsPerSec === profile.bandwidthBitsPerSec && preset.rttMs === profile.rttMs && jitterMs === 0 && lossPercent === 0) return preset.name;
  }
  const rate = formatBandwidth(profile.bandwidthBitsPerSec);
  const impliedRttMs = isPreset(rate) ? LINK_PRESETS[rate].rttMs : 0;
  const rtt = profile.rttMs !== impliedRttMs ? `:rtt=${profile.rttMs}` : '';
  return `${rate}${rtt}${jitterMs !== 0 ? `:jitter=${jitterMs}` : ''}${lossPercent !== 0 ? `:loss=${lossPercent}` : ''}`;
}

/**
 * Parses a link spec. A bare preset name keeps the preset's RTT (`"1gbit"` = 1 Gbit/s, 0.5 ms);
 * any other rate has no added RTT unless given (`"250mbit"` = 250 Mbit/s, 0 ms). Jitter and loss
 * are 0 unless given. Throws LinkSpecError naming what is wrong.
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
  let jitterMs = 0;
  let lossPercent = 0;
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
    const value = option.slice(eq + 1);
    if (key === 'rtt' || key === 'rttms') rttMs = parseMs(value, 'rtt', context);
    else if (key === 'jitter' || key === 'jitterms') jitterMs = parseMs(value, 'jitter', context);
    else if (key === 'loss' || key === 'losspercent') lossPercent = parseLoss(value, context);
    else throw new LinkSpecError(`${context}: unknown option "${key}" (options: ${OPTIONS})`);
  }
  checkJitter(jitterMs, rttMs, context);
  const profile: ProfileFields = { bandwidthBitsPerSec: bandwidth, rttMs, jitterMs, lossPercent };
  return { name: options.length === 0 && isPreset(base) ? base : formatLinkSpec(profile), ...profile };
}

const OBJECT_FIELDS = ['bandwidth', 'bandwidthBitsPerSec', 'rttMs', 'jitterMs', 'lossPercent', 'name'];

function parseLinkObject(spec: Record<string, unknown>): LinkProfile {
  const context = `link spec ${JSON.stringify(spec)}`;
  for (const key of Object.keys(spec)) {
    if (!OBJECT_FIELDS.includes(key)) throw new LinkSpecError(`${context}: unknown field "${key}" (fields: bandwidth, rttMs, jitterMs, lossPercent, name)`);
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
  if (spec.rttMs !== undefined) rttMs = checkMs(spec.rttMs, 'rtt', context);
  const jitterMs = spec.jitterMs === undefined ? 0 : checkMs(spec.jitterMs, 'jitter', context);
  const lossPercent = spec.lossPercent === undefined ? 0 : checkLoss(spec.lossPercent, context);
  checkJitter(jitterMs, rttMs, context);
  if (spec.name !== undefined && (typeof spec.name !== 'string' || spec.name.trim() === '')) throw new LinkSpecError(`${context}: name must be a non-empty string`);
  const profile: ProfileFields = { bandwidthBitsPerSec: bandwidth, rttMs, jitterMs, lossPercent };
  return { name: (spec.name as string | undefined) ?? formatLinkSpec(profile), ...profile };
}

/** What a profile asks for that only the kernel's netem can give (user space cannot): e.g. ["jitter", "loss"]. */
export function netemFeatures(profile: Pick<LinkProfile, 'jitterMs' | 'lossPercent'>): Array<'jitter' | 'loss'> {
  return [...(profile.jitterMs > 0 ? (['jitter'] as const) : []), ...(profile.lossPercent > 0 ? (['loss'] as const) : [])];
}

/** Whether a profile asks for jitter or loss, which only the kernel's netem can give. */
export const needsNetem = (profile: Pick<LinkProfile, 'jitterMs' | 'lossPercent'>): boolean => netemFeatures(profile).length > 0;

/** The profiles that need netem and what for, e.g. "100mbit:rtt=2:loss=1 (loss)"; null when none does. */
export function netemNeeds(profiles: readonly LinkProfile[]): string | null {
  const needing = profiles.filter(needsNetem);
  return needing.length === 0 ? null : needing.map((p) => `${p.name} (${netemFeatures(p).join(' and ')})`).join(', ');
}
