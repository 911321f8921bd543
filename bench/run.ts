/**
 * copbench benchmark suite: `npm run bench [-- --quick]`.
 *
 * Every number is measured side by side in the same run against a baseline on the same machine, and
 * reported as a ratio (copbench / baseline):
 *
 * 1. point GET / SET through ClusterClient against a 1-node cluster, `concurrency` operations in
 *    flight, next to raw lmdb `get` / durable `put` driven by the same worker loop in this process
 *    (bench/point.ts);
 * 2. full-range scan rows/s through `ClusterClient.scanBatches()` on a 1-node and a 3-node cluster,
 *    next to raw lmdb `getRange` over the same rows (binary keys and values; bench/scan.ts);
 * 3. tinybench micro-benchmarks of hot paths (RESP parsing, RESP encoding, region lookup)
 *    (bench/micro.ts);
 * 4. `redis-benchmark -t get,set` against the 1-node cluster's node, when it is on PATH
 *    (bench/redis-compare.ts);
 * 5. the coprocessor (bench/coprocessor.ts): in-node filter scan rate next to raw getRange (with and
 *    without the same predicate), client mode and aggregate for context, and the noop round trip
 *    per region split into node queue / worker hand-off / worker run / wire + client.
 *
 * Breakdown rows help locate a gap: GET over one raw RespConnection (no client routing), bulk
 * re-load through MSET, and NodeStore.scan in process (the node's storage layer without the wire).
 *
 * Results are printed as a table and written to `results/bench/<timestamp>/` as `results.json` and
 * `results.md` (bench/report.ts). All traffic stays on 127.0.0.1; every process and temp dir is
 * removed on exit, also on errors and on Ctrl-C (bench/cleanup.ts).
 *
 * This file is the entry point: it reads the command line (bench/cli-config.ts), starts the
 * clusters each group needs and hands the groups their helpers.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { copbenchVersion, UsageError } from '../engine/cli/flags';
import { ClusterClient } from '../engine/client/cluster-client';
import { NodeStore } from '../engine/storage/store';
import { median } from '../engine/util/statistics';
import { Cleanup, tempDir } from './cleanup';
import { configFrom, help, type BenchConfig } from './cli-config';
import { layoutRegions, noteRetries, settle, startCluster } from './cluster-setup';
import { kernelPageout } from '../workloads/driver/results/kernel-pageout';
import { benchCoprocessor } from './coprocessor';
import { clusterLoad, makeDataset, openRaw, rawLoad, splitKeysFor, type Dataset, type RawLmdb } from './dataset';
import { goalStatus, type Group } from './goals';
import { benchMemory } from './memory';
import { benchMicro } from './micro';
import { benchPoint } from './point';
import { benchRedisCompare } from './redis-compare';
import { report, Results, type FinishedRun } from './report';
import { benchLoad, benchScan } from './scan';
import { sideBySide } from './side-by-side';

/** Fraction of all cpus' time spent busy (user+nice+sys+irq) over `ms`, system-wide. */
async function cpuBusyFraction(ms: number): Promise<number> {
  const sample = (): { busy: number; total: number } => {
    let busy = 0;
    let total = 0;
    for (const c of os.cpus()) {
      const t = c.times;
      busy += t.user + t.nice + t.sys + t.irq;
      total += t.user + t.nice + t.sys + t.irq + t.idle;
    }
    return { busy, total };
  };
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

/** Runs the bench: parses the command line, measures the groups asked for, writes and prints the results. */
async function main(): Promise<number> {
  if (process.argv.slice(2).includes('--version')) {
    process.stdout.write(`copbench ${copbenchVersion()}\n`);
    return 0;
  }
  let cfg: BenchConfig | undefined;
  try {
    cfg = configFrom(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${help()}`);
      return 2;
    }
    throw err;
  }
  if (!cfg) return 0;

  const startedAt = new Date();
  const t0 = performance.now();
  const loadAvgAtStart = os.loadavg();
  const results = new Results();
  process.stdout.write(`copbench bench${cfg.quick ? ' (quick)' : ''}: ${os.cpus().length} cpus, node ${process.version}\n`);
  // Other processes skew absolute numbers (ratios less so, being measured side by side): say so.
  const cpuBusyBeforeRun = await cpuBusyFraction(500);
  if (cpuBusyBeforeRun > 0.2) {
    results.note(`other processes were using ${(cpuBusyBeforeRun * 100).toFixed(0)}% of the ${os.cpus().length} cpus just before the run: absolute numbers are noisy`);
  }
  const pageout = kernelPageout();
  if (pageout) results.note(`the kernel pages out idle memory (${pageout}): LMDB pages left idle that long are read from disk again, so absolute rates vary between runs`);
  const failure = await measure(cfg, results);
  const run: FinishedRun = { startedAt, durationSeconds: (performance.now() - t0) / 1000, loadAvgAtStart, loadAvgAtEnd: os.loadavg(), cpuBusyBeforeRun, failure };
  const rows = report(cfg, results, run);
  if (failure) {
    process.stderr.write(`bench failed: ${failure instanceof Error ? failure.message : String(failure)}\n`);
    return 1;
  }
  const missed = rows.filter((r) => r.goal && goalStatus(r) === 'missed');
  if (cfg.strict && missed.length > 0) {
    process.stderr.write(`--strict: ${missed.length} goal(s) missed: ${missed.map((r) => r.measurement).join('; ')}\n`);
    return 1;
  }
  return 0;
}

/** What one run's measurements share: its config, results, cleanup, and the raw-lmdb baseline and scan dataset. */
interface BenchRun {
  cfg: BenchConfig;
  results: Results;
  cleanup: Cleanup;
  want: (...groups: Group[]) => boolean;
  raw: RawLmdb;
  store: NodeStore;
  scanData: Dataset;
  splitAt: Buffer[];
}

/** Measures every group asked for; cleans up whatever happens (also on Ctrl-C). Returns the failure, if any. */
async function measure(cfg: BenchConfig, results: Results): Promise<unknown> {
  const cleanup = new Cleanup();
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: cleaning up\n`);
    void cleanup.runAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // Raw lmdb baseline (and a NodeStore for the storage-layer breakdown) live for the whole run.
    const raw = openRaw(tempDir(cleanup, 'raw'));
    cleanup.push('raw lmdb', () => raw.root.close());
    const store = NodeStore.open(tempDir(cleanup, 'store'));
    cleanup.push('node store', () => store.close());
    const scanData = makeDataset('r', cfg.scanRows, cfg, 42);
    const run: BenchRun = { cfg, results, cleanup, want: (...groups) => groups.some((g) => cfg.only.includes(g)), raw, store, scanData, splitAt: splitKeysFor(scanData, 3) };
    if (run.want('point', 'load', 'scan', 'redis-benchmark')) await measureOnOneNode(run);
    if (run.want('load', 'scan')) await measureOnThreeNodes(run);
    if (run.want('coprocessor', 'fetch', 'scaling')) await measureCoprocessor(run);
    if (run.want('memory')) await measureMemory(run);
    // Micro-benchmarks last, with no cluster processes competing for the two cores.
    if (run.want('micro')) await benchMicro(cfg, results);
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await cleanup.runAll();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** A 1-node cluster: point operations, load, scan, and redis-benchmark against the same rows. */
async function measureOnOneNode({ cfg, results, cleanup, want, raw, store, scanData, splitAt }: BenchRun): Promise<void> {
  process.stdout.write(`\nstarting a 1-node cluster\n`);
  const one = await startCluster(cleanup, 'cluster-1', 1);
  await layoutRegions(one, splitAt, () => 1);
  const client1 = await ClusterClient.connect({ placement: one.placementAddress });
  cleanup.push('client-1', () => client1.close());
  await settle(client1, one);

  /** What the node holds by the time redis-benchmark runs: the redis-servers get the same rows. */
  const held: Dataset[] = [];
  if (want('point')) {
    const pointData = makeDataset('p', cfg.pointKeys, cfg, 7);
    await benchPoint(cfg, results, client1, one, raw, pointData);
    held.push(pointData);
  }

  if (want('load', 'scan')) {
    process.stdout.write(`\nrange scan over ${cfg.scanRows} rows (${cfg.keyBytes}-byte keys, ${cfg.valueBytes}-byte values), 3 regions\n`);
    // Untimed first loads (they also warm the fresh node processes), then timed re-loads side by side.
    await rawLoad(raw, scanData, cfg.loadChunkRows);
    for (let i = 0; i < scanData.keys.length; i += cfg.loadChunkRows) {
      await store.putMany(scanData.keys.slice(i, i + cfg.loadChunkRows).map((key, j) => ({ key, value: scanData.values[i + j]! })));
    }
    if (want('load')) await benchLoad(cfg, results, '1-node', client1, raw, scanData);
    else await clusterLoad(client1, scanData, cfg.loadChunkRows);
    if (want('scan')) await benchScan(cfg, results, '1-node', client1, raw, scanData, { store });
    held.push(scanData);
  }

  noteRetries(results, '1-node', client1);
  if (want('redis-benchmark')) {
    if (!cfg.runRedisBenchmark) results.note('redis-benchmark skipped (--no-redis-benchmark)');
    else {
      const c = cfg;
      await benchRedisCompare(
        {
          requests: c.redisRequests,
          clients: c.redisClients,
          reps: c.reps,
          pipelines: [1, 16],
          ...(held.length > 0 ? { preload: { keys: held.flatMap((d) => d.keys), values: held.flatMap((d) => d.values) } } : {}),
        },
        { add: (row) => results.add(row), note: (text) => results.note(text), tempDir: (label) => tempDir(cleanup, label), onCleanup: (name, run) => cleanup.push(name, run), cleanupNow: (name) => cleanup.runOne(name), median },
        one.nodes.get(1)!,
      );
    }
  }
  await cleanup.runOne('client-1');
  await cleanup.runOne('cluster-1');
}

/** A 3-node cluster: load and scan (regions split at the same keys, one per node). */
async function measureOnThreeNodes({ cfg, results, cleanup, want, raw, scanData, splitAt }: BenchRun): Promise<void> {
  process.stdout.write(`\nstarting a 3-node cluster\n`);
  const three = await startCluster(cleanup, 'cluster-3', 3);
  await layoutRegions(three, splitAt, (piece) => piece + 1);
  const client3 = await ClusterClient.connect({ placement: three.placementAddress });
  cleanup.push('client-3', () => client3.close());
  const map3 = await settle(client3, three);
  const owners = new Set(map3.regions.map((r) => r.nodeId));
  if (owners.size !== 3) throw new Error(`3-node layout failed: regions are on nodes ${[...owners].join(',')}`);
  if (want('load')) await benchLoad(cfg, results, '3-node', client3, raw, scanData);
  else await clusterLoad(client3, scanData, cfg.loadChunkRows);
  if (want('scan')) await benchScan(cfg, results, '3-node', client3, raw, scanData);
  noteRetries(results, '3-node', client3);
  await cleanup.runOne('client-3');
  await cleanup.runOne('cluster-3');
}

/** The coprocessor, fetch and scaling groups, on their own 1-node clusters (filter dataset in 4 regions; 16 empty regions for noop). */
async function measureCoprocessor({ cfg, results, cleanup }: BenchRun): Promise<void> {
  const c = cfg;
  await benchCoprocessor(
    { quick: c.quick, reps: c.reps, ...(c.coprRows !== undefined ? { rows: c.coprRows } : {}) },
    {
      add: (row) => results.add(row),
      note: (text) => results.note(text),
      onCleanup: (name, run) => cleanup.push(name, run),
      cleanupNow: (name) => cleanup.runOne(name),
      tempDir: (label) => tempDir(cleanup, label),
      startCluster: (name, nodes, nodeArgs) => startCluster(cleanup, name, nodes, nodeArgs),
      layoutRegions,
      settle,
      sideBySide: (contenders, warmups, reps) => sideBySide({ ...c, reps: reps ?? c.reps }, contenders, warmups),
      median,
      openRaw,
      noteRetries: (name, client) => noteRetries(results, name, client),
    },
  );
}

/** The memory group. */
async function measureMemory({ cfg, results, cleanup }: BenchRun): Promise<void> {
  await benchMemory(
    { sizeMb: cfg.memoryMb },
    {
      add: (row) => results.add(row),
      note: (text) => results.note(text),
      onCleanup: (name, run) => cleanup.push(name, run),
      cleanupNow: (name) => cleanup.runOne(name),
      startCluster: (name, nodes, nodeArgs) => startCluster(cleanup, name, nodes, nodeArgs),
      layoutRegions,
      settle,
      noteRetries: (name, client) => noteRetries(results, name, client),
    },
  );
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
