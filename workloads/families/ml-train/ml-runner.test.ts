/**
 * The ml-train runner on a real local cluster (3 node processes, the regression dataset spread
 * over several regions): linear and logistic regression converge, the three modes end with the
 * same weights, the loss goes down, and client-cached pulls the rows once while client pulls them
 * every epoch.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster } from '../../../engine/cluster/local-cluster';
import { loadSpec, SpecError, type WorkloadSpec } from '../../spec';
import { mlSettings, runMlTraining } from './ml-runner';
import { claimLines, summarizeMl } from './ml-summary';
import { FULL_BATCH_MODES, LOCAL_SGD_LOSS_TOLERANCE, ML_MODES, Trainer, type TrainingRun } from './ml-trainer';
import { CopbenchBackend } from '../../backends/copbench/backend';
import { describeCluster } from '../../../test/helpers';

const ROWS = 4000;
const BASE = [`dataset.rows=${ROWS}`, 'cluster.splitKeys=800', 'links=unlimited', 'warmup=0', 'repetitions=1'];
const linearSpec = loadSpec('ml-train', [...BASE, 'ml.learningRate=1.5', 'ml.epochs=40'], 'ci');
const logisticSpec = loadSpec('ml-train', [...BASE, 'request.task=logistic', 'ml.learningRate=6', 'ml.epochs=120', 'ml.local.learningRate=0.5'], 'ci');

let cluster: LocalCluster;
let session: CopbenchBackend;
const silent = (line: string): void => void (process.env.ML_TEST_LOG && process.stderr.write(`${line}\n`));

before(async () => {
  cluster = await LocalCluster.start({ nodes: 3, splitKeys: 800 });
  session = await CopbenchBackend.open(linearSpec, { cluster: cluster.placementAddress, log: silent });
  await session.ensureDataset(linearSpec, { log: silent });
  await cluster.waitForSpread({ minRegions: 4, minNodes: 2 }).catch(async (err: Error) => {
    throw new Error(`${err.message}\n  ${await describeCluster(cluster)}`);
  });
});

after(async () => {
  await session?.close();
  await cluster?.stop();
});

async function train(spec: WorkloadSpec): Promise<TrainingRun[]> {
  const { runs } = await runMlTraining(spec, session, { log: silent });
  assert.deepEqual(runs.map((r) => r.mode).sort(), [...ML_MODES].sort());
  return runs;
}

function assertAgreeAndDecrease(all: TrainingRun[]): void {
  // local-sgd trains another way (model averaging): it must reach the full-batch loss within its
  // tolerance, not the same weights.
  const runs = all.filter((r) => FULL_BATCH_MODES.includes(r.mode));
  const reference = runs[0]!.epochs.at(-1)!.loss;
  for (const local of all.filter((r) => r.mode === 'local-sgd')) {
    const loss = local.epochs.at(-1)!.loss;
    assert.ok((loss - reference) / reference <= LOCAL_SGD_LOSS_TOLERANCE, `local-sgd final loss ${loss} within ${LOCAL_SGD_LOSS_TOLERANCE * 100}% of full-batch ${reference}`);
    assert.ok(local.epochs[0]!.loss > 10 * loss || local.epochs[0]!.loss - loss > 0.2, 'local-sgd: the loss fell substantially');
  }
  const [first, ...rest] = runs;
  for (const run of rest) {
    // Same sums in the same order: bit-identical, not merely close.
    assert.deepEqual(run.weights, first!.weights, `${run.mode} weights equal ${first!.mode}'s`);
    assert.equal(run.bias, first!.bias);
    assert.deepEqual(
      run.epochs.map((e) => e.loss),
      first!.epochs.map((e) => e.loss),
      `${run.mode} has the same loss curve`,
    );
  }
  for (const run of runs) {
    assert.equal(run.stoppedBy, 'tolerance', `${run.mode} converged before the epoch limit (${run.epochs.length} epochs)`);
    // Client mode scans every row every epoch; pushdown and client-cached keep the decoded rows
    // (the sgd plugin's session state) after the first epoch and scan nothing more.
    for (const e of run.epochs) assert.equal(e.rowsScanned, run.mode === 'client' || e.epoch === 1 ? ROWS : 0, `${run.mode} epoch ${e.epoch} rows scanned`);
    for (let i = 1; i < run.epochs.length; i++) {
      const [a, b] = [run.epochs[i - 1]!.loss, run.epochs[i]!.loss];
      assert.ok(b <= a + 1e-15 * a, `${run.mode}: loss went up at epoch ${i + 1}: ${a} → ${b}`);
    }
    assert.ok(run.epochs[0]!.loss > 10 * run.epochs.at(-1)!.loss || run.epochs[0]!.loss - run.epochs.at(-1)!.loss > 0.2, 'the loss fell substantially');
  }
}

test('linear regression: the full-batch modes end with identical weights and local SGD near their loss, the loss falls, and the fit is near the true weights', async () => {
  const runs = await train(linearSpec);
  assertAgreeAndDecrease(runs);
  const summary = summarizeMl(linearSpec, runs);
  assert.equal(summary.checks.modesAgree, true);
  assert.equal(summary.checks.maxWeightDiffBetweenModes, 0);
  assert.equal(summary.checks.converged, true);
  assert.equal(summary.checks.nearTrueWeights, true, `distance ${summary.checks.distanceToTrueWeights} > ${summary.checks.trueWeightsTolerance}`);
  assert.ok(summary.modes.every((m) => m.finalAccuracy === null));
  // Time to accuracy: every full-batch mode reaches ml.targetLoss at the same epoch (same model), at
  // its own time; local-sgd reaches it too, in its own number of rounds.
  assert.equal(summary.targetLoss, 0.0052);
  assert.ok(summary.modes.every((m) => m.epochsToTarget !== null), 'every mode reached the target');
  const epochsToTarget = summary.modes.filter((m) => FULL_BATCH_MODES.includes(m.mode as (typeof FULL_BATCH_MODES)[number])).map((m) => m.epochsToTarget);
  assert.ok(epochsToTarget[0]! >= 2 && epochsToTarget.every((e) => e === epochsToTarget[0]), `epochs to target ${epochsToTarget.join(', ')}`);
  for (const m of summary.modes) {
    const run = runs.find((r) => r.mode === m.mode)!;
    assert.equal(m.timeToTargetMs?.mean, run.target!.elapsedMs);
    assert.equal(run.target!.elapsedMs, run.epochs[run.target!.epoch - 1]!.elapsedMs);
    assert.ok(run.epochs[run.target!.epoch - 1]!.loss <= 0.0052 && run.epochs[run.target!.epoch - 2]!.loss > 0.0052, 'the first epoch at or under the target');
  }
  // The noise is 0.1: the mean loss (r²/2) at the fit is about 0.1²/2.
  assert.ok(Math.abs(summary.modes[0]!.finalLoss - 0.005) < 0.001, `final loss ${summary.modes[0]!.finalLoss}`);
});

test('logistic regression: the full-batch modes end with identical weights and local SGD near their loss, the loss falls, accuracy is high, the fit is near the true weights', async () => {
  const runs = await train(logisticSpec);
  assertAgreeAndDecrease(runs);
  const summary = summarizeMl(logisticSpec, runs);
  assert.equal(summary.checks.modesAgree, true);
  assert.equal(summary.checks.nearTrueWeights, true, `distance ${summary.checks.distanceToTrueWeights} > ${summary.checks.trueWeightsTolerance}`);
  const accuracy = summary.modes[0]!.finalAccuracy!;
  // Labels are Bernoulli draws: even w* itself gets only about 80% of this dataset right.
  assert.ok(accuracy > 0.7 && accuracy < 0.95, `accuracy ${accuracy}`);
  assert.ok(runs[0]!.epochs[0]!.loss > 0.69 && runs[0]!.epochs[0]!.loss < 0.7, 'log-loss at zero weights is ln 2');
  // local-sgd's loss can turn up a little above the optimum (where and whether before the cap
  // depends on the regions): it stops at the turn, the first round that lowers the loss by less
  // than ml.tolerance, rather than going on through rounds that climb to its fixed point.
  const local = runs.find((r) => r.mode === 'local-sgd')!;
  const losses = local.epochs.map((e) => e.loss);
  const tolerance = logisticSpec.ml!.tolerance;
  for (let i = 1; i < losses.length - 1; i++) assert.ok(losses[i - 1]! - losses[i]! >= tolerance, `local-sgd round ${i + 1} lowered the loss by less than ${tolerance} (${losses[i - 1]} → ${losses[i]}) and training went on to round ${losses.length}`);
});

test('client-cached pulls the rows once; client pulls them every epoch; pushdown moves only partial results', async () => {
  const runs = await train(loadSpec('ml-train', [...BASE, 'ml.learningRate=1.5', 'ml.epochs=6', 'ml.tolerance=0'], 'ci'));
  const byMode = Object.fromEntries(runs.map((r) => [r.mode, r])) as Record<(typeof ML_MODES)[number], TrainingRun>;
  const cached = byMode['client-cached'];
  const client = byMode.client;
  const pushdown = byMode.pushdown;
  for (const run of runs) assert.equal(run.epochs.length, 6, 'tolerance 0 runs every epoch');
  const dataBytes = ROWS * (13 + 75); // key + value per row, before protocol framing
  assert.ok(cached.pullWireInBytes >= dataBytes, `the pull brought the rows: ${cached.pullWireInBytes} B`);
  assert.ok(cached.epochs[0]!.clientWireInBytes >= cached.pullWireInBytes, 'the pull is counted in epoch 1');
  assert.ok(cached.pullMs > 0 && cached.epochs[0]!.epochMs >= cached.pullMs);
  for (const e of cached.epochs.slice(1)) {
    assert.equal(e.clientWireInBytes, 0, `client-cached epoch ${e.epoch} read nothing from the nodes`);
    assert.equal(e.clientWireOutBytes, 0);
  }
  for (const e of client.epochs) assert.ok(e.clientWireInBytes >= dataBytes, `client epoch ${e.epoch} pulled the rows again: ${e.clientWireInBytes} B`);
  assert.ok(client.clientWireInBytes >= 6 * dataBytes);
  for (const e of pushdown.epochs) assert.ok(e.clientWireInBytes < dataBytes / 20, `pushdown epoch ${e.epoch}: ${e.clientWireInBytes} B in`);
  assert.ok(pushdown.nodesCpuUs > 0, 'node CPU recorded');
});

test('a learning rate too large for the data fails the run loudly instead of reporting a runaway model', async () => {
  await assert.rejects(train(loadSpec('ml-train', [...BASE, 'ml.learningRate=5', 'ml.epochs=30'], 'ci')), /ml-train diverges in mode pushdown: the loss rose .* lower ml\.learningRate/);
});

/** A training run as summarizeMl sees it, for summary tests (one epoch, no traffic). */
function fakeRun(fields: Partial<TrainingRun>): TrainingRun {
  return {
    mode: 'pushdown',
    link: 'unlimited',
    repetition: 0,
    epochs: [{ epoch: 1, loss: 0.1, accuracy: null, gradientNorm: 1e-3, epochMs: 1, elapsedMs: 1, clientWireInBytes: 0, clientWireOutBytes: 0, clientCpuUs: 0, pluginCpuUs: 0, rowsScanned: ROWS }],
    weights: [],
    bias: 0,
    stoppedBy: 'epochs',
    target: null,
    rows: ROWS,
    pullMs: 0,
    pullWireInBytes: 0,
    totalMs: 1,
    clientWireInBytes: 0,
    clientWireOutBytes: 0,
    clientCpuUs: 0,
    nodesCpuUs: 0,
    nodesNetInBytes: 0,
    nodesNetOutBytes: 0,
    ...fields,
  };
}

test('summarizeMl reports modes that disagree; mlSettings refuses what ml-train cannot run', () => {
  const run = (mode: TrainingRun['mode'], w0: number): TrainingRun => fakeRun({ mode, weights: [w0, 0, 0, 0, 0, 0, 0, 0] });
  const summary = summarizeMl(linearSpec, [run('pushdown', 1), run('client', 1 + 1e-6)]);
  assert.equal(summary.checks.modesAgree, false);
  assert.equal(summary.verdict.agree, false);
  assert.match(summary.verdict.mismatches[0]!, /client rep 0: .*weights differ/);
  assert.ok(Math.abs(summary.checks.maxWeightDiffBetweenModes - 1e-6) < 1e-12);

  const missed = summarizeMl(linearSpec, [fakeRun({ mode: 'pushdown', weights: [1, 0, 0, 0, 0, 0, 0, 0], target: { epoch: 5, elapsedMs: 40 } }), fakeRun({ mode: 'pushdown', repetition: 1, weights: [1, 0, 0, 0, 0, 0, 0, 0] })]);
  assert.deepEqual([missed.modes[0]!.timeToTargetMs, missed.modes[0]!.missedTarget], [null, 1], 'no mean time to target unless every run reached it');

  const bad = (overrides: string[], pattern: RegExp): void => assert.throws(() => mlSettings(loadSpec('ml-train', overrides, 'ci')), (err: Error) => err instanceof SpecError && pattern.test(err.message));
  bad(['request.task=poisson'], /request\.task: must be linear or logistic/);
  bad(['request.lr=1'], /request\.lr: unknown field/);
  bad(['modes=pushdown,adaptive'], /modes: 'adaptive' is not available for ml-train/);
  assert.throws(() => loadSpec('ml-train', ['dataset.kind=synthetic'], 'ci'), /dataset\.features: unknown field/);
  assert.throws(() => loadSpec('ml-train', ['ml=null'], 'ci'), /ml: an ml-train workload needs the ml section/);
});

test('client.memoryBudgetMb: client-cached over it is refused before the run, naming the field; without client-cached the spec runs', () => {
  // 6000 rows × (8 features + label) × 8 B = 0.41 MiB of decoded rows.
  assert.throws(
    () => mlSettings(loadSpec('ml-train', ['client.memoryBudgetMb=0.25'], 'ci')),
    (err: Error) => err instanceof SpecError && /client\.memoryBudgetMb: client-cached would keep 0\.4 MiB .* over the budget of 0\.25 MiB; raise client\.memoryBudgetMb, leave client-cached out/.test(err.message),
  );
  assert.equal(mlSettings(loadSpec('ml-train', ['client.memoryBudgetMb=1'], 'ci')).clientBudgetMb, 1);
  const over = loadSpec('ml-train', [], 'over-client-budget-ci');
  assert.deepEqual(over.modes, ['pushdown', 'client']);
  assert.equal(mlSettings(over).clientBudgetMb, 0.25);
  assert.throws(() => loadSpec('ml-train', ['client.memoryBudgetMb=0'], 'ci'), /client\.memoryBudgetMb/);
});

test('client-cached whose rows outgrow the client budget during training fails naming client.memoryBudgetMb', async () => {
  // Each region's rows (~0.1 MiB at most) fit, so none is refused outright; all of them (0.27 MiB) do not: regions get evicted.
  const client = await session.client(undefined, { stateMb: 0.2, stateBudgetName: 'client.memoryBudgetMb 0.2 MiB' });
  try {
    const trainer = new Trainer(client);
    await assert.rejects(trainer.train('client-cached', { ...mlSettings(linearSpec).options, epochs: 3 }), /client-cached: the decoded rows outgrew the client's memory budget \(client\.memoryBudgetMb 0\.2 MiB; \d+ region\(s\) evicted by epoch 1\)/);
  } finally {
    client.close();
  }
});

test('ml-train on flights: features and label from the spec, checked; the summary judges accuracy against the majority-class baseline', () => {
  const spec = loadSpec('ml-train-flights', [], 'ci');
  const settings = mlSettings(spec);
  assert.equal(settings.truth, null);
  assert.deepEqual(settings.options.features, ['hour', 'weekday', 'distance']);
  assert.deepEqual(settings.options.labelWhere, [{ column: 'delay', op: '>', value: 0 }]);
  const bad = (overrides: string[], pattern: RegExp): void => assert.throws(() => mlSettings(loadSpec('ml-train-flights', overrides, 'ci')), (err: Error) => err instanceof SpecError && pattern.test(err.message));
  bad(['request.features=hour,origin'], /request\.features\[1\]: 'origin' is not a numeric flights column/);
  bad(['request.task=linear'], /request\.task: ml-train on flights classifies delayed or not: use logistic/);
  bad(['request.label=[{"column":"delay","op":"~","value":0}]'], /request\.label\[0\]\.op: must be one of/);
  bad(['request.lr=1'], /request\.lr: unknown field \(known: task, l2, features, label\)/);

  const run = (accuracy: number): TrainingRun =>
    fakeRun({ epochs: [{ epoch: 1, loss: 0.69, accuracy, gradientNorm: 1e-7, epochMs: 1, elapsedMs: 1, clientWireInBytes: 0, clientWireOutBytes: 0, clientCpuUs: 0, pluginCpuUs: 0, rowsScanned: 100 }], weights: [0.1, 0, 0.2], stoppedBy: 'tolerance', rows: 100 });
  const prep = { rows: 100, mean: [9, 3, 700], stddev: [2, 2, 500], scale: { offset: [9, 3, 700], factor: [0.5, 0.5, 0.002] }, positiveFraction: 0.48, baselineAccuracy: 0.52 };
  const better = summarizeMl(spec, [run(0.55)], undefined, prep);
  assert.equal(better.checks.baselineAccuracy, 0.52);
  assert.equal(better.checks.beatsBaseline, true);
  assert.equal(better.checks.nearTrueWeights, null);
  assert.equal(better.checks.distanceToTrueWeights, null);
  assert.equal(summarizeMl(spec, [run(0.52)], undefined, prep).checks.beatsBaseline, false, 'equal to the baseline is not beating it');
  assert.throws(() => summarizeMl(spec, [run(0.55)]), /needs the data preparation/);
});

test('the claim verdict pairs repetitions: in-database faster, slower, or no measurable difference', () => {
  const w = [1, 0, 0, 0, 0, 0, 0, 0];
  const at = (mode: TrainingRun['mode'], repetition: number, ms: number): TrainingRun => fakeRun({ mode, repetition, weights: w, target: { epoch: 5, elapsedMs: ms } });
  // client takes 4× pushdown's time in every repetition (with drift shared by the repetition); client-cached about the same as pushdown.
  const runs = [0, 1, 2, 3].flatMap((rep) => [at('pushdown', rep, 100 + 10 * rep), at('client', rep, 400 + 40 * rep + (rep % 2)), at('client-cached', rep, 100 + 10 * rep + (rep % 2 ? 8 : -8))]);
  const claim = summarizeMl(linearSpec, runs).claim!;
  const vs = (against: string) => claim.find((c) => c.inDatabase === 'pushdown' && c.against === against)!;
  assert.equal(vs('client').verdict, 'faster');
  assert.ok(Math.abs(vs('client').speedup.ratio - 4) < 0.01, String(vs('client').speedup.ratio));
  assert.equal(vs('client-cached').verdict, 'no measurable difference');
  assert.equal(claim.length, 2, 'no local-sgd runs: two comparisons');
  assert.match(claimLines(claim)[0]!, /^unlimited: pushdown vs client, time to target: 4\.0\d× \(95% CI [\d.]+–[\d.]+\): pushdown faster$/);
});
