/**
 * Memory bounds (group `memory`): a 1-node cluster holding `sizeMb` MiB of synthetic rows
 * (1000-byte values; default 1 GiB), then
 *
 * 1. client-side fetch: a separate client process (bench/fetch-client.ts) runs `filter` in client
 *    mode over every row; its peak RSS (/proc VmHWM) has the goal < 256 MiB; so has the node's peak
 *    anonymous RSS while it serves the scan (/proc/<pid>/status polled every 50 ms);
 * 2. in-node scans: `filter` and `aggregate` in pushdown over 1/4 of the rows (two regions, so
 *    both plugin workers run), then over all of them: the node's peak anonymous RSS (heaps, worker
 *    heaps, buffers) must not grow with the rows scanned (goal: full / quarter < 1.25×; both scans
 *    are far past one worker's young generation). Total RSS is reported too, but it includes LMDB's
 *    file-backed pages (the memory map of the data file, page cache the kernel can drop), which grow
 *    with the data by design.
 */
import { performance } from 'node:perf_hooks';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import type { LocalCluster } from '../engine/cluster/local-cluster';
import type { ClusterMap } from '../engine/placement/cluster-map';
import { RecordCodec, SAMPLE_SCHEMA } from '../engine/plugin-api';
import type { AggregateRequest, GroupResult } from '../plugins/aggregate';
import type { FilterRequest, FilterResult } from '../plugins/filter';
import { loadRows, syntheticKey, syntheticRows } from '../workloads/datasets/synthetic';
import { processMemory, type ProcessMemory } from '../engine/util/process-memory';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSpec } from '../workloads/spec';
import { datasetRows } from '../workloads/datasets/catalog';
import { queryWorkload } from '../workloads/families/query/requests';
import { spawnBenchChild } from './child';
import { MIB, type NewRow } from './goals';

export interface MemoryBenchConfig {
  sizeMb: number;
}

export interface MemoryBenchDeps {
  add(row: NewRow): void;
  note(text: string): void;
  onCleanup(name: string, run: () => Promise<void> | void): void;
  cleanupNow(name: string): Promise<void>;
  /** `nodeArgs`: extra flags for every node process (e.g. `--copr-workers 1`). */
  startCluster(name: string, nodes: number, nodeArgs?: string[]): Promise<LocalCluster>;
  layoutRegions(cluster: LocalCluster, splitAt: Buffer[], placeOn: (piece: number) => number): Promise<void>;
  settle(client: ClusterClient, cluster: LocalCluster): Promise<ClusterMap>;
  noteRetries(name: string, client: ClusterClient): void;
}

const VALUE_BYTES = 1000;
const REGIONS = 4;
const SPLIT_FRACTIONS = [1 / 8, 1 / 4, 1 / 2];
/** The smaller in-node scan covers this share of the rows (the first two regions). */
const SMALL_SHARE = 1 / 4;
const LIMIT_BYTES = 256 * MIB;
const THRESHOLD = 990;

/** What the bench reports of a process's memory: total, anonymous and file-backed RSS, in bytes. */
type ProcMemory = Pick<ProcessMemory, 'rssBytes' | 'anonRssBytes' | 'fileRssBytes'>;

/** Polls a process's /proc status every `ms` and keeps the peaks (Linux only). */
class ProcPeakSampler {
  private timer: NodeJS.Timeout | undefined;
  readonly peak: ProcMemory = { rssBytes: 0, anonRssBytes: 0, fileRssBytes: 0 };
  samples = 0;

  constructor(private readonly pid: number) {}

  start(ms = 50): this {
    this.poll();
    this.timer = setInterval(() => this.poll(), ms);
    return this;
  }

  private poll(): void {
    const m = processMemory(this.pid);
    if (!m) return;
    this.samples++;
    this.peak.rssBytes = Math.max(this.peak.rssBytes, m.rssBytes);
    this.peak.anonRssBytes = Math.max(this.peak.anonRssBytes, m.anonRssBytes);
    this.peak.fileRssBytes = Math.max(this.peak.fileRssBytes, m.fileRssBytes);
  }

  stop(): ProcMemory {
    if (this.timer) clearInterval(this.timer);
    this.poll();
    return { ...this.peak };
  }
}

const mib = (b: number): string => `${(b / MIB).toFixed(0)} MiB`;

/** The goal of issue 18 for the client of the default `npm run workload filter` run. */
const QUERY_CLIENT_LIMIT_BYTES = 300 * MIB;
/** Alternating pushdown + client rounds the query client makes (one round: ~1-2 s on 2 cores). */
const QUERY_CLIENT_ROUNDS = 3;

/** The node flags of `npm run workload` (between `node` and `--require` in package.json), so the bench's query client runs as the workload's does. */
function workloadNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words = (pkg.scripts.workload ?? '').split(/\s+/);
  return words.slice(1, Math.max(1, words.indexOf('--require')));
}

/**
 * The query workload's client: the default filter dataset (workloads/specs/filter.json) on 3 nodes
 * in regions of its split size, and a separate process making the filter's 100%-selectivity rows
 * calls (the largest answers of the run) through the query runner's call path, pushdown and client
 * alternately. Its peak RSS has the goal of the workload's summary (peakRss.clientBytes) for the
 * whole default run: < 300 MiB. The run has calibration and other points besides, so this row is
 * the answer path's share; the whole run is checked in its summary (docs/benchmarks.md).
 */
export async function benchQueryClientMemory(deps: MemoryBenchDeps): Promise<void> {
  const spec = loadSpec('filter');
  const rows = spec.dataset.rows;
  const splitKeys = spec.cluster.splitKeys;
  process.stdout.write(`\nmemory: the filter workload's client, ${rows} rows at selectivity 1 (rows output)\n`);
  const cluster = await deps.startCluster('query-client-cluster', spec.cluster.nodes);
  const splitAt = Array.from({ length: Math.ceil(rows / splitKeys) - 1 }, (_, i) => syntheticKey((i + 1) * splitKeys));
  await deps.layoutRegions(cluster, splitAt, (piece) => (piece % spec.cluster.nodes) + 1);
  const client = await ClusterClient.connect({ placement: cluster.placementAddress });
  deps.onCleanup('query-client-loader', () => client.close());
  await deps.settle(client, cluster);
  await loadRows(client, datasetRows(spec.dataset), 2000, 4);
  await deps.cleanupNow('query-client-loader');
  const request = queryWorkload(spec).request(1);
  const flags = workloadNodeFlags();
  const querier = spawnBenchChild('query-client.ts', [cluster.placementAddress, JSON.stringify(request), String(spec.concurrency), String(QUERY_CLIENT_ROUNDS)], flags);
  deps.onCleanup('query-client', () => querier.stop());
  const ready = await querier.nextMessage<{ peakRssBytes: number }>(60_000);
  const done = await querier.nextMessage<{ calls: number; rows: number; checksums: string[]; seconds: number; peakRssBytes: number }>();
  await deps.cleanupNow('query-client');
  await deps.cleanupNow('query-client-cluster');
  if (done.checksums.length !== 1) throw new Error(`the query client's answers differ between calls: checksums ${done.checksums.join(', ')}`);
  if (done.rows < rows * 0.99) throw new Error(`the query client's answers had ${done.rows} rows, expected about ${rows}`);
  deps.add({
    group: 'memory',
    measurement: `client peak RSS, filter workload's answer path (${rows} rows, selectivity 1, rows output)`,
    unit: 'MiB',
    copbench: done.peakRssBytes / MIB,
    baseline: null,
    baselineName: '—',
    ratio: null,
    goal: { on: 'value', op: '<', target: QUERY_CLIENT_LIMIT_BYTES / MIB, label: `< ${QUERY_CLIENT_LIMIT_BYTES / MIB} MiB` },
    note: `separate process (node ${flags.join(' ') || 'without flags'}, as npm run workload), VmHWM; ${done.calls} calls (pushdown and client alternately, ${done.rows} rows each, one checksum) in ${done.seconds.toFixed(1)} s; ${mib(ready.peakRssBytes)} after connecting. The whole default run's client peak is summary.json peakRss.clientBytes (docs/benchmarks.md).`,
  });
}

/** The memory group's dataset: `sizeMb` MiB on one node in REGIONS regions, loaded without holding it. */
interface MemoryData {
  cfg: MemoryBenchConfig;
  rows: number;
  start: Buffer;
  end: Buffer;
  nodePid: number;
  client: ClusterClient;
  placement: string;
  expectedMatches: number;
  atRest: ProcMemory;
}

const FILTER_REQUEST: FilterRequest = { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: THRESHOLD }], output: 'count' };
const LIMIT_GOAL = { on: 'value' as const, op: '<' as const, target: LIMIT_BYTES / MIB, label: `< ${LIMIT_BYTES / MIB} MiB` };

export async function benchMemory(cfg: MemoryBenchConfig, deps: MemoryBenchDeps): Promise<void> {
  const data = await loadMemoryData(cfg, deps);
  if (!data) return;
  await benchFetchMemory(data, deps);
  await benchInNodeScanMemory(data, deps);
  deps.noteRetries('memory', data.client);
  await deps.cleanupNow('memory-client');
  await deps.cleanupNow('memory-cluster');
  await benchQueryClientMemory(deps);
}

/** Starts the node and loads the rows, counting the filter's matches on the way; null where /proc cannot be read. */
async function loadMemoryData(cfg: MemoryBenchConfig, deps: MemoryBenchDeps): Promise<MemoryData | null> {
  const rows = Math.max(REGIONS * 10, Math.floor((cfg.sizeMb * MIB) / (syntheticKey(0).length + VALUE_BYTES)));
  process.stdout.write(`\nmemory: ${rows} rows × ${VALUE_BYTES}-byte values (${cfg.sizeMb} MiB) in ${REGIONS} regions on 1 node\n`);
  if (processMemory(process.pid) === undefined) {
    deps.note('memory group skipped: /proc/<pid>/status is not readable on this platform');
    return null;
  }
  const cluster = await deps.startCluster('memory-cluster', 1);
  const nodePid = cluster.nodes.get(1)!.pid;
  // Regions [0, 1/8), [1/8, 1/4), [1/4, 1/2), [1/2, 1): the 1/4 scan below covers two regions, so it
  // keeps both plugin workers busy, as the full scan does.
  await deps.layoutRegions(cluster, SPLIT_FRACTIONS.map((f) => syntheticKey(Math.floor(rows * f))), () => 1);
  const client = await ClusterClient.connect({ placement: cluster.placementAddress });
  deps.onCleanup('memory-client', () => client.close());
  await deps.settle(client, cluster);
  const amount = new RecordCodec(SAMPLE_SCHEMA).numberAccessor('amount');
  let expectedMatches = 0;
  function* counted(): Generator<{ key: Buffer; value: Buffer }> {
    for (const row of syntheticRows({ rows, seed: 7, valueBytes: VALUE_BYTES })) {
      if (amount(row.value) > THRESHOLD) expectedMatches++;
      yield row;
    }
  }
  const loadT0 = performance.now();
  let lastReport = loadT0;
  await loadRows(client, counted(), 1000, 4, (loaded) => {
    if (performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      process.stdout.write(`  loaded ${loaded} / ${rows} rows\n`);
    }
  });
  const loadSeconds = (performance.now() - loadT0) / 1000;
  deps.note(`memory dataset: ${rows} rows (${cfg.sizeMb} MiB) loaded in ${loadSeconds.toFixed(1)} s (${((cfg.sizeMb / loadSeconds) || 0).toFixed(0)} MiB/s)`);
  return { cfg, rows, start: syntheticKey(0), end: syntheticKey(rows), nodePid, client, placement: cluster.placementAddress, expectedMatches, atRest: processMemory(nodePid)! };
}

/** 1. Client-side fetch in a process of its own (first, so the node's peaks are its serving's own). */
async function benchFetchMemory(data: MemoryData, deps: MemoryBenchDeps): Promise<void> {
  const { cfg, rows, expectedMatches } = data;
  const benchAtSpawn = processMemory(process.pid)!;
  const fetcher = spawnBenchChild('fetch-client.ts', [data.placement, data.start.toString('hex'), data.end.toString('hex'), JSON.stringify(FILTER_REQUEST)]);
  deps.onCleanup('memory-fetch-client', () => fetcher.stop());
  const ready = await fetcher.nextMessage<{ rssBytes: number; peakRssBytes: number }>(60_000);
  const serving = new ProcPeakSampler(data.nodePid).start();
  const done = await fetcher.nextMessage<{ rows: number; count: number; seconds: number; wireBytesIn: number; peakRssBytes: number; rusageMaxRssBytes: number; peaks: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number } }>();
  const servingPeak = serving.stop();
  await deps.cleanupNow('memory-fetch-client');
  if (done.rows !== rows || done.count !== expectedMatches) throw new Error(`client-side fetch saw ${done.rows} rows, counted ${done.count}; expected ${rows}, ${expectedMatches}`);
  deps.add({
    group: 'memory',
    measurement: `client peak RSS, client-side fetch (filter, client mode) of ${cfg.sizeMb} MiB`,
    unit: 'MiB',
    copbench: done.peakRssBytes / MIB,
    baseline: null,
    baselineName: '—',
    ratio: null,
    goal: LIMIT_GOAL,
    note: `separate process; its own peak (VmHWM: getrusage's maxRSS, ${mib(done.rusageMaxRssBytes)}, also counts this bench process's pages that fork mapped into it before exec; the bench was at ${mib(benchAtSpawn.rssBytes)}); ${mib(ready.rssBytes)} after connecting (peak ${mib(ready.peakRssBytes)}); ${mib(done.wireBytesIn)} over the wire in ${done.seconds.toFixed(1)} s (${(done.rows / done.seconds / 1e3).toFixed(0)}k rows/s); peaks sampled every 20 ms: V8 heap used ${mib(done.peaks.heapUsed)} of ${mib(done.peaks.heapTotal)}, external ${mib(done.peaks.external)} (ArrayBuffers ${mib(done.peaks.arrayBuffers)})`,
  });
  deps.add({
    group: 'memory',
    measurement: `node peak anonymous RSS while serving that fetch (SCANRANGE)`,
    unit: 'MiB',
    copbench: servingPeak.anonRssBytes / MIB,
    baseline: data.atRest.anonRssBytes / MIB,
    baselineName: 'the node at rest after the load',
    goal: LIMIT_GOAL,
    note: `peak total RSS ${mib(servingPeak.rssBytes)} (file-backed ${mib(servingPeak.fileRssBytes)})`,
  });
}

/**
 * 2. In-node scans: 1/4 of the rows, then all of them. Bounded means the peak does not grow with
 *    the rows scanned (worker heaps are capped by config, LMDB pages are file-backed). The smaller
 *    scan is large enough for each worker's young generation and external memory to reach the
 *    level where GC holds them; a much smaller one would measure warm-up, not a bound.
 */
async function benchInNodeScanMemory(data: MemoryData, deps: MemoryBenchDeps): Promise<void> {
  const { cfg, rows, start, expectedMatches } = data;
  const copr = new Coprocessor(data.client);
  const aggReq: AggregateRequest = { schema: SAMPLE_SCHEMA, column: 'amount', groupBy: 'category' };
  const scanPeak = async (upTo: number): Promise<{ peak: ProcMemory; seconds: number }> => {
    const sampler = new ProcPeakSampler(data.nodePid).start();
    const t0 = performance.now();
    const stop = syntheticKey(upTo);
    const f = await copr.run<FilterRequest, FilterResult>({ plugin: 'filter', request: FILTER_REQUEST, start, end: stop, mode: 'pushdown', concurrency: 2 });
    const a = await copr.run<AggregateRequest, GroupResult[]>({ plugin: 'aggregate', request: aggReq, start, end: stop, mode: 'pushdown', concurrency: 2 });
    const seconds = (performance.now() - t0) / 1000;
    if (f.totals.rowsScanned !== upTo || a.result.reduce((n, g) => n + g.count, 0) !== upTo) throw new Error(`in-node scans over ${upTo} rows scanned ${f.totals.rowsScanned} / grouped ${a.totals.rowsScanned}`);
    if (upTo === rows && f.result.count !== expectedMatches) throw new Error(`in-node filter counted ${f.result.count}, expected ${expectedMatches}`);
    return { peak: sampler.stop(), seconds };
  };
  const small = await scanPeak(Math.floor(rows * SMALL_SHARE));
  const full = await scanPeak(rows);
  deps.add({
    group: 'memory',
    measurement: `node peak anonymous RSS, in-node filter + aggregate over all ${cfg.sizeMb} MiB`,
    unit: 'MiB',
    copbench: full.peak.anonRssBytes / MIB,
    baseline: small.peak.anonRssBytes / MIB,
    baselineName: `the same scans over 1/4 of the rows (${(cfg.sizeMb * SMALL_SHARE).toFixed(0)} MiB), run first`,
    goal: { on: 'ratio', op: '<', target: 1.25, label: '< 1.25× (bounded)' },
    note: `${full.peak.anonRssBytes / MIB < LIMIT_BYTES / MIB ? 'under' : 'over'} ${LIMIT_BYTES / MIB} MiB; peak total RSS ${mib(full.peak.rssBytes)} of which LMDB file-backed pages (the mapped data file, reclaimable page cache) ${mib(full.peak.fileRssBytes)}; ${((2 * rows) / full.seconds / 1e6).toFixed(2)} M rows/s`,
  });
}
