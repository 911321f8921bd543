import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../engine/util/seeded-random';
import { chao1, estimateRegionBytes, estimateRegionItems, estimateResultBytes, regionRowsFromSample, sampleIds } from './selectivity-estimate';

test('chao1: exact when nothing was seen once; grows with singletons', () => {
  assert.equal(chao1([5, 7, 3]), 3);
  assert.equal(chao1([1, 2, 3]), 3 + 0 / 4);
  // 4 singletons, 1 doubleton: 5 + 4·3 / (2·2) = 8.
  assert.equal(chao1([1, 1, 1, 1, 2]), 8);
  assert.equal(chao1([]), 0);
});

test('linear items scale with the region/sample row ratio; bytes follow items', () => {
  const sample = { sampleRows: 100, regionRows: 10_000, partBytes: 2_000, items: { items: 10, scaling: 'linear' as const } };
  assert.equal(estimateRegionItems(sample), 1000);
  assert.equal(estimateRegionBytes(sample), 200_000);
  // No items in the sample: the partial keeps its (fixed) size.
  const none = { ...sample, partBytes: 12, items: { items: 0, scaling: 'linear' as const } };
  assert.equal(estimateRegionItems(none), 0);
  assert.equal(estimateRegionBytes(none), 12);
  assert.equal(estimateResultBytes([sample, none]), 200_012);
});

test('distinct items: capped by the region rows and the known upper bound, never below what was seen', () => {
  const allDistinct = Array.from({ length: 200 }, () => 1);
  const base = { sampleRows: 200, regionRows: 5000, partBytes: 10_000 };
  // chao1 = 200 + 200·199/2 = 20 100 → capped at 5000 rows.
  assert.equal(estimateRegionItems({ ...base, items: { items: 200, scaling: 'distinct', frequencies: allDistinct } }), 5000);
  assert.equal(estimateRegionItems({ ...base, items: { items: 200, scaling: 'distinct', frequencies: allDistinct, upperBound: 1000 } }), 1000);
  assert.equal(estimateRegionItems({ ...base, items: { items: 200, scaling: 'distinct', frequencies: allDistinct, upperBound: 10 } }), 200);
  // Every group seen many times: the sample saw them all.
  assert.equal(estimateRegionItems({ ...base, items: { items: 10, scaling: 'distinct', frequencies: Array.from({ length: 10 }, () => 20) } }), 10);
});

test('chao1 on a real sample of a uniform group-by lands near the truth', () => {
  const random = new SeededRandom(3);
  for (const groups of [10, 1000, 20_000]) {
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const g = random.int(groups);
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
    const estimate = estimateRegionItems({ sampleRows: 2000, regionRows: 100_000, partBytes: 1, items: { items: counts.size, scaling: 'distinct', frequencies: [...counts.values()] } });
    const truth = Math.min(groups, 100_000);
    assert.ok(estimate > truth * 0.5 && estimate < truth * 1.5, `${groups} groups: estimate ${estimate}`);
  }
});

test('regionRowsFromSample spreads the total by sample share', () => {
  assert.deepEqual(regionRowsFromSample([1, 3], 400), [100, 300]);
  assert.deepEqual(regionRowsFromSample([0, 0], 400), [200, 200]);
});

test('sampleIds: distinct, in range, sorted, all of them when asked for more than exist', () => {
  const random = new SeededRandom(1);
  const ids = sampleIds(1000, 100, () => random.next());
  assert.equal(ids.length, 100);
  assert.equal(new Set(ids).size, 100);
  assert.ok(ids.every((id, i) => id >= 0 && id < 1000 && (i === 0 || id > ids[i - 1]!)));
  assert.deepEqual(sampleIds(5, 10, () => random.next()), [0, 1, 2, 3, 4]);
});

test('linear items: scaled to the region, capped by a known upper bound (a top-k keeps at most k rows)', () => {
  const base = { sampleRows: 100, regionRows: 10_000, partBytes: 1_000 };
  assert.equal(estimateRegionItems({ ...base, items: { items: 10, scaling: 'linear' } }), 1000);
  assert.equal(estimateRegionItems({ ...base, items: { items: 10, scaling: 'linear', upperBound: 50 } }), 50);
  assert.equal(estimateRegionBytes({ ...base, items: { items: 10, scaling: 'linear', upperBound: 50 } }), 5_000);
});
