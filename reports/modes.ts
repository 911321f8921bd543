/**
 * One fixed colour per mode, the same in every chart and notebook, so a reader learns once that
 * blue is pushdown. Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
 */

/** The modes the harness knows, in the order charts and legends list them. */
export const MODE_ORDER = ['none', 'pushdown', 'client', 'client-cached', 'local-sgd', 'adaptive'] as const;

/** Colour of each known mode. */
export const MODE_COLORS: Readonly<Record<(typeof MODE_ORDER)[number], string>> = {
  // interference: the point tenant alone, the baseline the other modes are read against.
  none: '#7f7f7f',
  pushdown: '#0072B2',
  client: '#D55E00',
  'client-cached': '#009E73',
  // ml-train: local SGD / model averaging (a different algorithm, so a colour apart from pushdown's).
  'local-sgd': '#E69F00',
  adaptive: '#CC79A7',
};

// Modes the harness does not know yet still get stable colours (picked by name, not by position).
const SPARE_COLORS = ['#56B4E9', '#F0E442', '#000000', '#999999'];

/** The colour of a mode: fixed for known modes, stable (hash of the name) for others. */
export function modeColor(mode: string): string {
  const known = (MODE_COLORS as Record<string, string>)[mode];
  if (known) return known;
  let hash = 0;
  for (const ch of mode) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return SPARE_COLORS[hash % SPARE_COLORS.length]!;
}

/** Modes sorted known-first in MODE_ORDER, then by name; duplicates removed. */
export function sortModes(modes: Iterable<string>): string[] {
  const rank = (m: string): number => {
    const i = (MODE_ORDER as readonly string[]).indexOf(m);
    return i < 0 ? MODE_ORDER.length : i;
  };
  return [...new Set(modes)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** A Vega-Lite colour scale for exactly these modes (legend lists only them, colours stay fixed). */
export function modeColorScale(modes: Iterable<string>): { domain: string[]; range: string[] } {
  const domain = sortModes(modes);
  return { domain, range: domain.map(modeColor) };
}

/**
 * A Vega-Lite strokeDash encoding that dashes the adaptive mode: it runs one of the other modes at
 * each point, so its line often lies exactly on that mode's line, and the dashes let both show.
 * Shares the colour legend (same field and title).
 */
export function modeDashEncoding(modes: Iterable<string>): Record<string, unknown> {
  const domain = sortModes(modes);
  return { field: 'mode', type: 'nominal', title: 'mode', scale: { domain, range: domain.map((m) => (m === 'adaptive' ? [6, 4] : [1, 0])) } };
}
