/**
 * The loss-vs-epoch chart on made-up samples: it says what it shows — the full-batch modes'
 * curves coincide, local-sgd's x is a round and its curve is its own — and names the round on the
 * x axis only when local-sgd is drawn.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linkInfo } from '../links';
import { mlCharts } from './ml-charts';
import type { MlView } from '../../workloads/families/ml-train';
import type { SampleRow } from '../../workloads/driver/results/writer';

const view = { ml: { modes: [], targetLoss: null }, verdict: { agree: true, mismatches: [] } } as unknown as MlView;

/** Five epochs per full-batch mode on one curve; local-sgd two rounds on its own. */
function samples(modes: string[]): SampleRow[] {
  return modes.flatMap((mode) => {
    const losses = mode === 'local-sgd' ? [0.7, 0.01] : [0.7, 0.3, 0.1, 0.03, 0.01];
    return losses.map((loss, i) => ({ link: 'unlimited', mode, repetition: 0, epoch: i + 1, loss, elapsedMs: 10 * (i + 1) }));
  });
}

function epochChart(modes: string[]): { subtitle: string; xTitle: string; widths: Record<string, number> } {
  const c = mlCharts(view, { workload: 'ml-train', links: [linkInfo('unlimited')], samples: samples(modes) }).find((x) => x.id === 'loss-vs-epoch');
  assert.ok(c, 'the loss-vs-epoch chart is drawn');
  const spec = c.spec as unknown as { title: { subtitle: string }; layer: Array<{ transform?: Array<{ filter: { equal: string } }>; mark: { strokeWidth?: number }; encoding: { x?: { title: string } } }> };
  const lines = spec.layer.filter((l) => l.transform);
  return { subtitle: spec.title.subtitle, xTitle: lines[0]!.encoding.x!.title, widths: Object.fromEntries(lines.map((l) => [l.transform![0]!.filter.equal, l.mark.strokeWidth!])) };
}

test('loss vs epoch with local-sgd: the x axis names the round, and only the full-batch modes are said to coincide', () => {
  const c = epochChart(['pushdown', 'client', 'client-cached', 'local-sgd']);
  assert.equal(c.xTitle, 'epoch (local-sgd: round)');
  assert.match(c.subtitle, /^pushdown, client, client-cached compute the same gradients, so their curves coincide/);
  assert.match(c.subtitle, /local-sgd's x is a round .* its curve is its own/);
  assert.ok(c.widths['pushdown']! > c.widths['client']! && c.widths['client']! > c.widths['client-cached']!, `full-batch lines nested: ${JSON.stringify(c.widths)}`);
  assert.ok('local-sgd' in c.widths, 'local-sgd drawn');
});

test('loss vs epoch without local-sgd: the x axis is the epoch and no round is mentioned', () => {
  const c = epochChart(['pushdown', 'client']);
  assert.equal(c.xTitle, 'epoch');
  assert.doesNotMatch(c.subtitle, /local-sgd|round/);
  assert.match(c.subtitle, /^pushdown, client compute the same gradients/);
});
