import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordCodec } from '../../engine/plugin-api';
import { featureNames, modelGeometry, regressionRows, regressionSchema, regressionTruth, solveLinear } from './regression';

const decode = (features: number) => {
  const codec = new RecordCodec(regressionSchema(features));
  return (value: Buffer) => codec.decode(value);
};

test('regression rows: the same seed gives the same bytes, another seed other bytes', () => {
  const a = [...regressionRows({ rows: 500, seed: 3 })];
  const b = [...regressionRows({ rows: 500, seed: 3 })];
  const c = [...regressionRows({ rows: 500, seed: 4 })];
  assert.equal(a.length, 500);
  assert.ok(a.every((row, i) => row.key.equals(b[i]!.key) && row.value.equals(b[i]!.value)));
  assert.ok(a.some((row, i) => !row.value.equals(c[i]!.value)));
});

test('regression rows: keys row:<9-digit id> in key order, inside [row:, row;), values padded to valueBytes', () => {
  const rows = [...regressionRows({ rows: 1200, seed: 1, valueBytes: 128 })];
  assert.equal(rows[0]!.key.toString(), 'row:000000000');
  assert.equal(rows[1199]!.key.toString(), 'row:000001199');
  for (let i = 1; i < rows.length; i++) assert.ok(Buffer.compare(rows[i - 1]!.key, rows[i]!.key) < 0);
  assert.ok(rows.every((r) => Buffer.compare(r.key, Buffer.from('row:')) >= 0 && Buffer.compare(r.key, Buffer.from('row;')) < 0));
  assert.ok(rows.every((r) => r.value.length === 128));
});

test('regression truth: depends on the seed and d only (every dataset size shares it); w* in [-2, 2], b* in [-0.5, 0.5]', () => {
  const t = regressionTruth(42, 8);
  assert.deepEqual(regressionTruth(42, 8), t);
  assert.notDeepEqual(regressionTruth(43, 8), t);
  assert.equal(t.weights.length, 8);
  assert.ok(t.weights.every((w) => w >= -2 && w <= 2));
  assert.ok(Math.abs(t.bias) <= 0.5);
  // The first rows of a small and a large dataset are the same rows.
  const small = [...regressionRows({ rows: 10, seed: 42 })];
  const large = regressionRows({ rows: 100_000, seed: 42 });
  for (const row of small) assert.ok(row.value.equals(large.next().value!.value));
});

test('regression records: features in [-1, 1), y = w*·x + b* + noise, label = 1 more often where w*·x + b* is large', () => {
  const d = 4;
  const read = decode(d);
  const truth = regressionTruth(9, d);
  const noiseless = [...regressionRows({ rows: 2000, seed: 9, features: d, noise: 0 })].map((r) => read(r.value));
  let positiveHigh = 0;
  let high = 0;
  let positiveLow = 0;
  let low = 0;
  for (const rec of noiseless) {
    let z = truth.bias;
    featureNames(d).forEach((f, j) => {
      const x = rec[f] as number;
      assert.ok(x >= -1 && x < 1);
      z += truth.weights[j]! * x;
    });
    assert.ok(Math.abs((rec.y as number) - z) < 1e-12, 'noise 0: y is exactly linear');
    if (z > 1) {
      high++;
      if (rec.label) positiveHigh++;
    } else if (z < -1) {
      low++;
      if (rec.label) positiveLow++;
    }
  }
  // P(label | z > 1) ≥ sigmoid(1) ≈ 0.73; P(label | z < -1) ≤ 0.27.
  assert.ok(positiveHigh / high > 0.65, `${positiveHigh}/${high}`);
  assert.ok(positiveLow / low < 0.35, `${positiveLow}/${low}`);
});

test('regression: least squares on 100 000 rows recovers w*, b* within 5 standard errors, and the noise level', () => {
  const d = 8;
  const noise = 0.5;
  const rows = 100_000;
  const read = decode(d);
  const k = d + 1;
  const xtx = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const xty = new Array<number>(k).fill(0);
  const names = featureNames(d);
  const samples: Array<{ x: number[]; y: number }> = [];
  for (const row of regressionRows({ rows, seed: 42, features: d, noise })) {
    const rec = read(row.value);
    const x = [...names.map((n) => rec[n] as number), 1];
    const y = rec.y as number;
    if (samples.length < 20_000) samples.push({ x, y });
    for (let a = 0; a < k; a++) {
      xty[a]! += x[a]! * y;
      for (let b = 0; b < k; b++) xtx[a]![b]! += x[a]! * x[b]!;
    }
  }
  const fitted = solveLinear(xtx, xty);
  const truth = regressionTruth(42, d);
  const distance = Math.hypot(...fitted.map((p, i) => p - [...truth.weights, truth.bias][i]!));
  const { expectedError } = modelGeometry('linear', { rows, seed: 42, features: d, noise });
  assert.ok(distance < 5 * expectedError, `‖ŵ − w*‖ = ${distance} vs standard error ${expectedError}`);
  assert.ok(distance > expectedError / 10, 'the noise is really there');
  const residuals = samples.map((s) => s.y - s.x.reduce((t, x, i) => t + x * fitted[i]!, 0));
  const sd = Math.sqrt(residuals.reduce((t, r) => t + r * r, 0) / residuals.length);
  assert.ok(Math.abs(sd - noise) < 0.02, `residual sd ${sd} vs noise ${noise}`);
});

test('modelGeometry: logistic standard error shrinks as 1/√n and its curvature is below the linear one', () => {
  const a = modelGeometry('logistic', { rows: 10_000, seed: 42, features: 8, noise: 0 });
  const b = modelGeometry('logistic', { rows: 40_000, seed: 42, features: 8, noise: 0 });
  assert.ok(Math.abs(a.expectedError / b.expectedError - 2) < 1e-9);
  assert.ok(a.curvature > 0 && a.curvature < 0.25 / 3 + 1e-9, `μ = ${a.curvature}`);
});
