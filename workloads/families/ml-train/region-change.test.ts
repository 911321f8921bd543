/**
 * ml-train's pushdown keeps each region's decoded rows in the nodes (the sgd plugin's ctx.state)
 * for the whole training. A region that moves or splits in the middle of a training must be
 * rebuilt from storage, and the model must come out as if nothing had been kept: here the moves
 * and the split are forced between two epochs of a real training (the trainer's epoch hook), on a
 * cluster that does not split or balance by itself.
 *
 * A move keeps the regions' bounds, so the sums are the same and the weights bit-identical to a
 * training without it. A split regroups one region's sums into two, which rounds differently: the
 * weights are bit-identical to a stateless (client-mode) training through the same split at the
 * same epoch, run alongside in lockstep, and within WEIGHT_AGREEMENT_TOLERANCE of one without it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster } from '../../../engine/cluster/local-cluster';
import { CopbenchBackend } from '../../backends/copbench/backend';
import type { CopbenchClient } from '../../backends/copbench/backend';
import { syntheticKey } from '../../datasets/synthetic';
import { loadSpec } from '../../spec';
import { mlSettings } from './ml-runner';
import { Trainer, WEIGHT_AGREEMENT_TOLERANCE, type EpochHook, type TrainOptions, type TrainingResult } from './ml-trainer';

const ROWS = 2000;
const EPOCHS = 12;
// tolerance 0: every training runs all its epochs, so runs compare epoch by epoch.
const spec = loadSpec('ml-train', [`dataset.rows=${ROWS}`, 'ml.learningRate=1.5', `ml.epochs=${EPOCHS}`, 'ml.tolerance=0'], 'ci');
const options: TrainOptions = mlSettings(spec).options;
const silent = (): void => {};

let cluster: LocalCluster;
let backend: CopbenchBackend;
let client: CopbenchClient;

before(async () => {
  cluster = await LocalCluster.start({ nodes: 2, autoSplit: false, autoBalance: false });
  backend = await CopbenchBackend.open(spec, { cluster: cluster.placementAddress, log: silent });
  await backend.ensureDataset(spec, { log: silent });
  // Four regions of 500 rows, alternating between the two nodes.
  const map = await cluster.fetchMap();
  const first = map.regions.find((r) => r.start.length === 0)!;
  await cluster.placementAdmin().call(['PD.SPLIT', String(first.id), ...[500, 1000, 1500].map((id) => syntheticKey(id).toString())]);
  const split = await cluster.fetchMap();
  const nodes = split.nodes.map((n) => n.id);
  for (const [i, region] of split.regions.entries()) if (region.nodeId !== nodes[i % 2]) await cluster.placementAdmin().call(['PD.MOVE', String(region.id), String(nodes[i % 2])]);
  client = await backend.client();
});

after(async () => {
  client?.close();
  await backend?.close();
  await cluster?.stop();
});

/** The region whose rows start at row `id`. */
async function regionAt(id: number): Promise<{ id: number; nodeId: number }> {
  const region = (await cluster.fetchMap()).regions.find((r) => r.start.equals(syntheticKey(id)));
  assert.ok(region, `a region starts at row ${id}`);
  return region;
}

const move = async (regionId: number, nodeId: number): Promise<unknown> => cluster.placementAdmin().call(['PD.MOVE', String(regionId), String(nodeId)]);
const train = (mode: 'pushdown' | 'client', hook?: EpochHook): Promise<TrainingResult> => new Trainer(client).train(mode, options, hook);
const losses = (r: TrainingResult): number[] => r.epochs.map((e) => e.loss);
const scanned = (r: TrainingResult): number[] => r.epochs.map((e) => e.rowsScanned);

/** Runs `action` once, when all `parties` have called the returned function; every caller waits for it. */
function barrier(parties: number, action: () => Promise<unknown>): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => ((release = resolve), (fail = reject)));
  return () => {
    if (++arrived === parties) action().then(() => release(), fail);
    return done;
  };
}

test('a region moved to the other node and back during a pushdown training is rebuilt each time, and the weights are bit-identical to a training without the moves', async () => {
  const still = await train('pushdown');
  assert.deepEqual(scanned(still), [ROWS, ...new Array<number>(EPOCHS - 1).fill(0)], 'without moves only epoch 1 scans (the rows are kept in the nodes)');
  const region = await regionAt(1000);
  const other = (await cluster.fetchMap()).nodes.find((n) => n.id !== region.nodeId)!.id;
  const moved = await train('pushdown', async (e) => {
    if (e.epoch === 3) await move(region.id, other);
    if (e.epoch === 6) await move(region.id, region.nodeId);
  });
  // Epoch 4 rebuilds the moved region on its new node; epoch 7 on its first node again, whose
  // state for it is of an older region epoch and must not be reused.
  const expected = new Array<number>(EPOCHS).fill(0);
  [expected[0], expected[3], expected[6]] = [ROWS, 500, 500];
  assert.deepEqual(scanned(moved), expected, 'rows scanned per epoch');
  assert.deepEqual(moved.weights, still.weights);
  assert.equal(moved.bias, still.bias);
  assert.deepEqual(losses(moved), losses(still));
});

test('a region split during a pushdown training rebuilds its two halves only; the weights are bit-identical to a client-mode training through the same split and within WEIGHT_AGREEMENT_TOLERANCE of one without it', async () => {
  const unsplit = await train('pushdown');
  const region = await regionAt(500);
  // Both trainings reach the end of epoch 4, the region splits once, and both go on. The client
  // then refreshes its map: client mode splits a call by the map it holds, and with the old one it
  // would read the split region as one piece, summing its rows in one partial, as before the split.
  const splitOnce = barrier(2, async () => {
    await cluster.placementAdmin().call(['PD.SPLIT', String(region.id), syntheticKey(750).toString()]);
    await client.cluster.refreshMap();
  });
  const hook: EpochHook = (e) => (e.epoch === 4 ? splitOnce() : undefined);
  const [kept, stateless] = await Promise.all([train('pushdown', hook), train('client', hook)]);
  assert.ok(await regionAt(750), 'the region split');

  const expected = new Array<number>(EPOCHS).fill(0);
  [expected[0], expected[4]] = [ROWS, 500];
  assert.deepEqual(scanned(kept), expected, 'epoch 5 rebuilds the two halves (250 rows each), nothing else');
  assert.deepEqual(scanned(stateless), new Array<number>(EPOCHS).fill(ROWS), 'client mode scans every row every epoch');
  assert.deepEqual(kept.weights, stateless.weights);
  assert.equal(kept.bias, stateless.bias);
  assert.deepEqual(losses(kept), losses(stateless));

  assert.deepEqual(losses(kept).slice(0, 4), losses(unsplit).slice(0, 4), 'the same sums until the split');
  const ref = [...unsplit.weights, unsplit.bias];
  const diff = Math.max(...[...kept.weights, kept.bias].map((p, i) => Math.abs(p - ref[i]!) / Math.max(1, Math.abs(ref[i]!))));
  assert.ok(diff <= WEIGHT_AGREEMENT_TOLERANCE, `weights within ${WEIGHT_AGREEMENT_TOLERANCE} of the unsplit training's (${diff.toExponential(2)})`);
});
