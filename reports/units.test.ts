/** Small pure helpers of the report library: log-scale rule, link labels/order, mode colours, HTML escaping. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, scopeSvgIds } from './html';
import { linkInfo, sortLinks } from './links';
import { modeColor, modeColorScale, MODE_COLORS, sortModes } from './modes';
import { clampLow, measureScale, spansDecades } from './specs/common';
import { formatBytes, meanWithCi } from './tables';

test('an axis goes log only when its positive values span decades', () => {
  assert.equal(spansDecades([1, 10]), false);
  assert.equal(spansDecades([1, 100]), true);
  assert.equal(spansDecades([0, -5, 2, 3]), false, 'non-positive values are ignored');
  assert.equal(spansDecades([7]), false);
});

test('a log measure scale has whole-decade bounds around every value, and CI lows clip to its floor', () => {
  const s = measureScale([0.37, 12, 4800]);
  assert.equal(s.log, true);
  assert.ok('domain' in s.scale);
  const [lo, hi] = s.scale.domain;
  assert.ok(lo <= 0.37 && hi >= 4800 && Number.isInteger(Math.log10(lo)) && Number.isInteger(Math.log10(hi)), `${lo}..${hi}`);
  assert.equal(clampLow(-3, s.floor, true), s.floor);
  assert.equal(clampLow(-3, 0, false), 0);
  assert.equal(clampLow(5, s.floor, true), 5);
  assert.deepEqual(measureScale([2, 3]).scale, { zero: true });
});

test('links are labelled with units and ordered slowest first, unlimited last', () => {
  const links = sortLinks(['unlimited', '1gbit', '100mbit', '250mbit:rtt=3'].map((n) => linkInfo(n)));
  assert.deepEqual(
    links.map((l) => l.label),
    ['100 Mbit/s, rtt 1 ms', '250 Mbit/s, rtt 3 ms', '1 Gbit/s, rtt 0.5 ms', 'unlimited (loopback)'],
  );
  assert.equal(linkInfo('not a link').label, 'not a link', 'an unknown name is kept, not an error');
  const named = linkInfo('wan', [{ name: 'wan', bandwidth: '20mbit', rttMs: 40 }]);
  assert.equal(named.bandwidthBitsPerSec, 20e6);
  assert.equal(named.label, '20 Mbit/s, rtt 40 ms');
  // Jitter and loss change what a link does, so two links differing only in them are told apart.
  assert.equal(linkInfo('100mbit:rtt=2:jitter=0.5:loss=0.1').label, '100 Mbit/s, rtt 2 ms, jitter 0.5 ms, loss 0.1%');
});

test('modes keep fixed colours and order; an unknown mode gets a stable colour', () => {
  assert.equal(modeColor('pushdown'), MODE_COLORS.pushdown);
  assert.deepEqual(sortModes(['zeta', 'client', 'adaptive', 'pushdown', 'client']), ['pushdown', 'client', 'adaptive', 'zeta']);
  assert.deepEqual(modeColorScale(['client', 'pushdown']), { domain: ['pushdown', 'client'], range: [MODE_COLORS.pushdown, MODE_COLORS.client] });
  assert.equal(modeColor('zeta'), modeColor('zeta'));
});

test('inline SVG ids are scoped per chart, and HTML text is escaped', () => {
  const svg = '<svg><clipPath id="clip1"></clipPath><g clip-path="url(#clip1)"></g></svg>';
  assert.equal(scopeSvgIds(svg, 'c2'), '<svg><clipPath id="c2-clip1"></clipPath><g clip-path="url(#c2-clip1)"></g></svg>');
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('table cells: mean ± CI half-width, binary byte units', () => {
  assert.equal(meanWithCi({ mean: 10, ciLow: 8, ciHigh: 12 }, 1), '10.0 ± 2.0');
  assert.equal(meanWithCi({ mean: 10, ciLow: NaN, ciHigh: NaN }, 1), '10.0');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(51212843), '48.8 MiB');
});
