import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeQueries } from './summarize';
import type { QuerySample } from '../families/query/runner';

/** A measured call with only what the summary reads set to something meaningful. */
function sample(mode: QuerySample['mode'], repetition: number, latencyMs: number, link = 'unlimited', point = '0.1'): QuerySample {
  return {
    link, parameter: 'selectivity', point, mode, chosenMode: mode === 'adaptive' ? 'pushdown' : mode, repetition, latencyMs, predictedMs: null,
    rowsScanned: 100, rowsReturned: 10, rowsMatched: 10, regions: 2, clientWireInBytes: 1000, clientWireOutBytes: 100, clientCpuUs: 1000,
    nodesCpuUs: 1000, pluginCpuUs: 500, nodesNetInBytes: 100, nodesNetOutBytes: 1000, checksum: 'abc', byNode: [],
  };
}

/** Rounds as the runner makes them: every mode once per repetition, with a drift shared by the round. */
function rounds(latencies: Record<string, number>, drift: number[], link?: string, point?: string): QuerySample[] {
  return drift.flatMap((d, rep) => Object.entries(latencies).map(([mode, ms]) => sample(mode as QuerySample['mode'], rep, ms * d, link, point)));
}

test('speedups over client are paired by repetition: shared drift leaves a tight CI and a verdict', () => {
  const summary = summarizeQueries(rounds({ pushdown: 10, client: 30, adaptive: 10.5 }, [1, 1.4, 0.8, 1.2, 1.05]));
  const c = summary.comparisons[0]!;
  const push = c.speedups!.pushdown!;
  assert.equal(push.n, 5);
  // Exact pairs pin the ratio; the quadratic's discriminant is then 0 up to rounding (~1e-8).
  assert.ok(Math.abs(push.ratio - 3) < 1e-9 && Math.abs(push.ciLow! - 3) < 1e-6 && Math.abs(push.ciHigh! - 3) < 1e-6, JSON.stringify(push));
  assert.equal(push.verdict, 'faster');
  assert.ok(Math.abs(c.speedup! - push.ratio) < 1e-12, 'the old speedup field is the same ratio');
  // adaptive is 5% slower than the faster fixed mode (pushdown), every round alike: measurably slower.
  assert.equal(c.adaptiveVsBest!.best, 'pushdown');
  assert.ok(Math.abs(c.adaptiveVsBest!.ratio - 10 / 10.5) < 1e-9);
  assert.equal(c.adaptiveVsBest!.verdict, 'slower');
});

test('a speedup whose CI contains 1 is no measurable difference', () => {
  const samples = [10, 12, 9, 11].flatMap((ms, rep) => [sample('pushdown', rep, ms), sample('client', rep, [11, 10, 12, 9][rep]!)]);
  const push = summarizeQueries(samples).comparisons[0]!.speedups!.pushdown!;
  assert.equal(push.verdict, 'no measurable difference');
  assert.ok(push.ciLow === null || (push.ciLow < 1 && push.ciHigh! > 1), JSON.stringify(push));
});

test('one repetition: the speedup CI is unbounded (null in JSON) and says no measurable difference', () => {
  const push = summarizeQueries(rounds({ pushdown: 10, client: 30 }, [1])).comparisons[0]!.speedups!.pushdown!;
  assert.deepEqual([push.ciLow, push.ciHigh, push.verdict], [null, null, 'no measurable difference']);
  assert.equal(JSON.parse(JSON.stringify(push)).ciLow, null);
});

test("points carry the half-width they reached and why they stopped, per link and point", () => {
  const samples = [...rounds({ pushdown: 10, client: 30 }, [1, 1.1, 0.9], 'unlimited'), ...rounds({ pushdown: 10, client: 30 }, [1, 1, 1], '1gbit')];
  const summary = summarizeQueries(samples, [
    { link: 'unlimited', point: '0.1', repetitions: 3, stoppedBy: 'maxRepetitions', elapsedMs: 100 },
    { link: '1gbit', point: '0.1', repetitions: 3, stoppedBy: 'precision', elapsedMs: 90 },
  ]);
  const at = (link: string) => summary.points.find((p) => p.link === link && p.mode === 'pushdown')!;
  assert.equal(at('unlimited').stoppedBy, 'maxRepetitions');
  assert.equal(at('1gbit').stoppedBy, 'precision');
  // 10, 11, 9: mean 10, s = 1, t(0.975, 2) = 4.303 → ±4.303/√3 = ±2.48 = 24.8% of the mean.
  assert.ok(Math.abs(at('unlimited').latencyHalfWidthFraction! - 0.2484) < 1e-3, String(at('unlimited').latencyHalfWidthFraction));
  assert.equal(at('1gbit').latencyHalfWidthFraction, 0);
});

test('the untimed check calls must agree too: a row digest that differs fails the verdict even when the timed counts agree', () => {
  const samples = rounds({ pushdown: 10, client: 30 }, [1, 1.1, 0.9]);
  const check = (mode: 'pushdown' | 'client', checksum: string) => ({ link: 'unlimited', point: '0.1', mode, checksum });
  const agreeing = summarizeQueries(samples, [], [check('pushdown', 'd1'), check('client', 'd1')]);
  assert.equal(agreeing.verdict.agree, true);
  assert.equal(agreeing.comparisons[0]!.checksumsAgree, true);
  const differing = summarizeQueries(samples, [], [check('pushdown', 'd1'), check('client', 'd2')]);
  assert.equal(differing.verdict.agree, false);
  assert.equal(differing.comparisons[0]!.checksumsAgree, false);
  assert.match(differing.verdict.mismatches[0]!, /check calls' answers differ, every row digested \(pushdown: d1; client: d2\)/);
});

test("the model's predicted speedup: its client prediction over its pushdown prediction, null without predictions", () => {
  const withModel = rounds({ pushdown: 10, client: 30 }, [1, 1.1]).map((s) => ({ ...s, predictedMs: s.mode === 'pushdown' ? 8 : 20 }));
  assert.equal(summarizeQueries(withModel).comparisons[0]!.predictedSpeedup, 2.5);
  assert.equal(summarizeQueries(rounds({ pushdown: 10, client: 30 }, [1])).comparisons[0]!.predictedSpeedup, null);
});
