/**
 * The logistic specs' time-to-accuracy targets (ml.targetLoss) hold what docs/workloads.md says of
 * them, at their ci sizes, trained in process as the workload trains (the sgd plugin's handle per
 * region and its merge, the spec's learning rate, tolerance and epoch cap): full-batch descent
 * reaches the target after its first step and before it stops, the target lies 99% (±0.5%) of the way
 * from ln 2 (zero weights) to the optimum it settles on, and local-sgd reaches it too (and stops
 * where its loss turns up, before the cap).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadPluginSource } from '../../../engine/coprocessor/loader';
import { runPluginInMemory, type InMemoryRegion } from '../../driver/in-memory-plugin';
import { regressionRows } from '../../datasets/regression';
import { flightsCodec, readFlights, type Flight } from '../../datasets/flights';
import { syntheticKey } from '../../datasets/synthetic';
import { loadSpec } from '../../spec';
import { mlSettings } from './ml-runner';
import { localOf, settled, type TrainOptions } from './ml-trainer';
import type { SgdResult } from '../../../plugins/sgd';
import type { KV } from '../../../engine/plugin-api';

const sgd = loadPluginSource(readFileSync(path.join(__dirname, '../../../plugins/sgd.ts'), 'utf8'), 'sgd.ts');
/** The ci sizes' layout: 6 000 rows over 9 regions (splitKeys 1 500). */
const REGIONS = 9;

function regionsOf(rows: KV[]): InMemoryRegion[] {
  const per = Math.ceil(rows.length / REGIONS);
  return Array.from({ length: REGIONS }, (_, r) => ({
    range: { start: r === 0 ? Buffer.alloc(0) : Buffer.from(rows[r * per]!.key), end: (r + 1) * per >= rows.length ? Buffer.alloc(0) : Buffer.from(rows[(r + 1) * per]!.key) },
    batches: [rows.slice(r * per, (r + 1) * per)],
  }));
}

/** The loss at the start of every epoch (or round) until the trainer's stop rule or the cap. */
async function losses(options: TrainOptions, regions: InMemoryRegion[], local: boolean): Promise<number[]> {
  let model = { weights: new Array<number>(options.features.length).fill(0), bias: 0 };
  const out: Array<{ loss: number }> = [];
  const { schema, features, target, task, labelWhere, scale } = options;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const request = { schema, features, target, task, ...model, ...(labelWhere ? { labelWhere } : {}), ...(scale ? { scale } : {}), ...(local ? { local: localOf(options) } : {}) };
    const { result } = await runPluginInMemory<SgdResult>(sgd, request, regions);
    out.push({ loss: result.loss });
    if (settled(out, options.tolerance)) break;
    model = local ? result.averaged! : { weights: model.weights.map((w, j) => w - (options.learningRate * result.gradient[j]!) / result.n), bias: model.bias - (options.learningRate * result.gradientBias) / result.n };
  }
  return out.map((e) => e.loss);
}

async function checkTarget(options: TrainOptions, regions: InMemoryRegion[], withLocal: boolean): Promise<void> {
  const targetLoss = options.targetLoss;
  assert.ok(targetLoss !== null, 'the spec sets ml.targetLoss');
  const full = await losses(options, regions, false);
  assert.ok(full.length < options.epochs, `full-batch descent stops by tolerance before the cap (${full.length} of ${options.epochs} epochs)`);
  const optimum = full.at(-1)!;
  const reached = full.findIndex((l) => l <= targetLoss) + 1;
  assert.ok(reached >= 2 && reached < full.length, `full-batch reaches ${targetLoss} at epoch ${reached} of ${full.length}`);
  const way = (Math.LN2 - targetLoss) / (Math.LN2 - optimum);
  assert.ok(Math.abs(way - 0.99) <= 0.005, `the target is ${(way * 100).toFixed(2)}% of the way from ln 2 to the optimum ${optimum}`);
  if (!withLocal) return;
  const local = await losses(options, regions, true);
  // Its loss turns up a little above the optimum, and the stop rule (settled) stops it there.
  assert.ok(local.length < options.epochs, `local-sgd stops by tolerance before the cap (${local.length} of ${options.epochs} rounds)`);
  for (let i = 1; i < local.length - 1; i++) assert.ok(local[i - 1]! - local[i]! >= options.tolerance, `local-sgd went on after round ${i + 1}, which lowered the loss by less than ${options.tolerance}`);
  const round = local.findIndex((l) => l <= targetLoss) + 1;
  assert.ok(round >= 2 && round <= local.length, `local-sgd reaches ${targetLoss} (round ${round} of ${local.length}; losses down to ${Math.min(...local)})`);
}

test('ml-train logistic-ci: the target loss is reached by full-batch descent after its first step and before it stops, 99% of the way to the optimum, and by local-sgd', async () => {
  const spec = loadSpec('ml-train', [], 'logistic-ci');
  const rows = [...regressionRows({ rows: spec.dataset.rows, seed: spec.dataset.seed, features: spec.dataset.features, noise: spec.dataset.noise })];
  await checkTarget(mlSettings(spec).options, regionsOf(rows), spec.modes.includes('local-sgd'));
});

test('ml-train-flights ci: the target loss is reached by full-batch descent after its first step and before it stops, 99% of the way to the optimum', async () => {
  const spec = loadSpec('ml-train-flights', [], 'ci');
  const options = mlSettings(spec).options;
  const flights: Flight[] = [];
  for await (const batch of readFlights({ rows: spec.dataset.rows })) flights.push(...batch);
  // The scaling prepareFlightsTraining gets from the aggregate plugin: mean and sample standard deviation (1 for a constant column).
  const columns = options.features.map((f) => flights.map((row) => (row as unknown as Record<string, number>)[f]!));
  const mean = columns.map((c) => c.reduce((a, b) => a + b, 0) / c.length);
  const factor = columns.map((c, j) => {
    const sd = Math.sqrt(c.reduce((a, b) => a + (b - mean[j]!) ** 2, 0) / (c.length - 1));
    return sd > 0 ? 1 / sd : 1;
  });
  const rows = flights.map((f) => ({ key: syntheticKey(f.id), value: flightsCodec.encode(f as unknown as Record<string, number | string>) }));
  await checkTarget({ ...options, scale: { offset: mean, factor } }, regionsOf(rows), false);
});
