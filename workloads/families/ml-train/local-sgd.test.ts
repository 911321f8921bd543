/**
 * Local SGD / model averaging (sgd's `local`), against full-batch gradient descent on the same
 * rows, in process (the plugin's handle per region and its merge, as client mode runs them): it
 * comes within a stated tolerance of the full-batch optimum, in far fewer rounds (one call per
 * region each) than full-batch needs epochs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadPluginSource } from '../../../engine/coprocessor/loader';
import { runPluginInMemory, type InMemoryRegion } from '../../driver/in-memory-plugin';
import { featureNames, regressionRows, regressionSchema } from '../../datasets/regression';
import type { LocalSgd, SgdRequest, SgdResult } from '../../../plugins/sgd';

const ROWS = 8000;
const REGIONS = 4;
const FEATURES = 8;
/** How close to the full-batch optimum's loss local SGD must come: 1%. */
const TOLERANCE = 0.01;

const file = path.join(__dirname, '../../../plugins/sgd.ts');
const sgd = loadPluginSource(readFileSync(file, 'utf8'), 'sgd.ts');
const rows = [...regressionRows({ rows: ROWS, seed: 42, features: FEATURES, noise: 0.1 })];
const per = ROWS / REGIONS;
const regions: InMemoryRegion[] = Array.from({ length: REGIONS }, (_, r) => {
  const mine = rows.slice(r * per, (r + 1) * per);
  const end = r === REGIONS - 1 ? Buffer.alloc(0) : rows[(r + 1) * per]!.key;
  return { range: { start: mine[0]!.key, end }, batches: [mine] };
});
const base = (task: 'linear' | 'logistic'): Omit<SgdRequest, 'weights' | 'bias'> => ({ schema: regressionSchema(FEATURES), features: featureNames(FEATURES), target: task === 'linear' ? 'y' : 'label', task });

/** Loss per epoch of full-batch gradient descent from zero (the loss at the start of each epoch). */
async function fullBatch(task: 'linear' | 'logistic', learningRate: number, epochs: number): Promise<number[]> {
  let weights = new Array<number>(FEATURES).fill(0);
  let bias = 0;
  const losses: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const { result } = await runPluginInMemory<SgdResult>(sgd, { ...base(task), weights, bias }, regions);
    losses.push(result.loss);
    weights = weights.map((w, j) => w - (learningRate * result.gradient[j]!) / result.n);
    bias -= (learningRate * result.gradientBias) / result.n;
  }
  return losses;
}

/** Loss per round of local SGD from zero (the global model's loss at the start of each round). */
async function localSgd(task: 'linear' | 'logistic', local: LocalSgd, rounds: number): Promise<number[]> {
  let model = { weights: new Array<number>(FEATURES).fill(0), bias: 0 };
  const losses: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const { result } = await runPluginInMemory<SgdResult>(sgd, { ...base(task), ...model, local }, regions);
    losses.push(result.loss);
    assert.ok(result.averaged, 'the merge averages the local models');
    model = result.averaged;
  }
  return losses;
}

const firstWithin = (losses: number[], optimum: number): number => losses.findIndex((l) => (l - optimum) / optimum <= TOLERANCE);

for (const [task, lr, local] of [
  ['linear', 1.0, { epochs: 1, batchRows: 50, learningRate: 0.1 }],
  ['logistic', 6, { epochs: 1, batchRows: 50, learningRate: 0.5 }],
] as const) {
  test(`${task}: local SGD comes within ${TOLERANCE * 100}% of the full-batch optimum in fewer rounds than full-batch needs epochs`, async () => {
    const full = await fullBatch(task, lr, 150);
    const optimum = Math.min(...full);
    const averaged = await localSgd(task, local, 8);
    const fullAt = firstWithin(full, optimum);
    const localAt = firstWithin(averaged, optimum);
    assert.ok(localAt >= 0, `local SGD reached ${averaged.at(-1)} against the optimum ${optimum} (losses ${averaged.map((l) => l.toPrecision(4)).join(', ')})`);
    assert.ok(localAt < fullAt, `local SGD within ${TOLERANCE * 100}% after ${localAt + 1} rounds, full-batch after ${fullAt + 1} epochs`);
  });
}

test('without local, the partial and answer are the full-batch ones (no averaged model)', async () => {
  const { result, parts } = await runPluginInMemory<SgdResult>(sgd, { ...base('linear'), weights: new Array<number>(FEATURES).fill(0), bias: 0 }, regions);
  assert.equal(result.averaged, undefined);
  assert.ok(parts.every((p) => !('local' in (p as object))));
});
