/**
 * Loads and range scans (groups `load` and `scan`): rows/s through the cluster client next to raw
 * lmdb over the same rows, each scan checked to return exactly the loaded rows.
 */
import { performance } from 'node:perf_hooks';
import type { ClusterClient } from '../engine/client/cluster-client';
import type { NodeStore } from '../engine/storage/store';
import { median } from '../engine/util/statistics';
import type { BenchConfig } from './cli-config';
import { clusterLoad, rawLoad, type Dataset, type RawLmdb } from './dataset';
import type { Results } from './report';
import { sideBySide } from './side-by-side';

interface ScanCount {
  rows: number;
  bytes: number;
}

async function scanCluster(client: ClusterClient, data: Dataset): Promise<ScanCount> {
  let rows = 0;
  let bytes = 0;
  for await (const batch of client.scanBatches(data.start, data.end)) {
    rows += batch.length;
    for (const kv of batch) bytes += kv.key.length + kv.value.length;
  }
  return { rows, bytes };
}

function scanRaw(raw: RawLmdb, data: Dataset): ScanCount {
  let rows = 0;
  let bytes = 0;
  for (const { key, value } of raw.rows.getRange({ start: data.start, end: data.end })) {
    rows++;
    bytes += (key as Buffer).length + (value as Buffer).length;
  }
  return { rows, bytes };
}

function scanNodeStore(store: NodeStore, data: Dataset): ScanCount {
  let rows = 0;
  let bytes = 0;
  for (const row of store.scan({ start: data.start, end: data.end })) {
    rows++;
    bytes += row.key.length + row.value.length;
  }
  return { rows, bytes };
}

/** Times a scan and checks it returned exactly the loaded rows; returns rows/s. */
async function timedScan(what: string, data: Dataset, scan: () => ScanCount | Promise<ScanCount>): Promise<number> {
  const t0 = performance.now();
  const got = await scan();
  const seconds = (performance.now() - t0) / 1000;
  if (got.rows !== data.keys.length || got.bytes !== data.bytes) {
    throw new Error(`${what} returned ${got.rows} rows / ${got.bytes} bytes, expected ${data.keys.length} / ${data.bytes}`);
  }
  return got.rows / seconds;
}

/**
 * Loads the rows once untimed (this also warms fresh node processes), then times re-loads of the
 * same rows (in-place overwrites) against raw lmdb batches, alternating.
 */
export async function benchLoad(cfg: BenchConfig, results: Results, clusterName: string, client: ClusterClient, raw: RawLmdb, data: Dataset): Promise<void> {
  await clusterLoad(client, data, cfg.loadChunkRows);
  const timed = (load: () => Promise<void>) => async (): Promise<number> => {
    const t0 = performance.now();
    await load();
    return data.keys.length / ((performance.now() - t0) / 1000);
  };
  const [c, r] = await sideBySide(cfg, [timed(() => clusterLoad(client, data, cfg.loadChunkRows)), timed(() => rawLoad(raw, data, cfg.loadChunkRows))], []);
  results.add({ group: 'load', measurement: `re-load ${data.keys.length} rows, ${clusterName} cluster (MSET ${cfg.loadChunkRows}-row chunks, 4 in flight)`, unit: 'rows/s', copbench: median(c!), baseline: median(r!), baselineName: `raw lmdb ${cfg.loadChunkRows}-row batches, durable`, copbenchSamples: c, baselineSamples: r });
}

export async function benchScan(cfg: BenchConfig, results: Results, clusterName: string, client: ClusterClient, raw: RawLmdb, data: Dataset, extra?: { store: NodeStore }): Promise<void> {
  const label = `${clusterName} cluster`;
  const cluster = (): Promise<number> => timedScan(label, data, () => scanCluster(client, data));
  const base = (): Promise<number> => timedScan('raw getRange', data, () => scanRaw(raw, data));
  const contenders = [cluster, base];
  if (extra) contenders.push(() => timedScan('NodeStore.scan', data, () => scanNodeStore(extra.store, data)));
  const samples = await sideBySide(cfg, contenders, [cluster, base]);
  const [c, r] = samples;
  results.add({ group: 'scan', measurement: `scan ${data.keys.length} rows, ${label} (scanBatches)`, unit: 'rows/s', copbench: median(c!), baseline: median(r!), baselineName: 'raw lmdb getRange, in process', copbenchSamples: c, baselineSamples: r });
  if (extra) {
    const s = samples[2]!;
    results.add({ group: 'scan', measurement: `scan ${data.keys.length} rows, NodeStore.scan in process (storage layer only)`, unit: 'rows/s', copbench: median(s), baseline: median(r!), baselineName: 'raw lmdb getRange, in process', copbenchSamples: s, baselineSamples: r });
  }
}
