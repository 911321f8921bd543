/**
 * The cost model's calibration: a few seconds at the start of a query workload, on the real
 * cluster, before warm-up. It measures (after unmeasured warm-up calls; medians of short calls,
 * of long ones, the mean once their times are steady):
 *
 * - RTT of every link: PING round trips through that link's own client (so the emulated RTT and
 *   the loopback are both in it), and through an unshaped client;
 * - link rate: taken from the link profile (bandwidth / 8 bytes/s per direction), not measured —
 *   the emulator holds it within ±10% (workloads/driver/network/link.test.ts);
 * - per-request overhead: the noop plugin over the whole range, pushdown and client mode
 *   (unshaped), i.e. the framework's cost at this run's region count and concurrency;
 * - a uniform random sample of rows (MGET of random ids), kept for the result-size estimates;
 * - node scan rate: the workload's plugin with a scan-only request (its cost hint `scanOnly`, else
 *   the request itself)
 *   in pushdown over the whole range: rows / (wall − noop overhead);
 * - client processing rate: the scan-only handle over the sampled rows in this process's memory;
 * - client pull rate: the scan-only request in client mode over the whole range: rows / (wall −
 *   noop overhead − handle time), and its wire bytes per row;
 * - result-path rates, per mode: a result-heavy request (the plugin's cost hint `resultHeavy`: filter
 *   keeping every row, aggregate with a group per row) over the whole range: bytes (its partials'
 *   and its answer's, as estimated for any request) per second of its time less overhead and scan
 *   (pushdown, where they add up) or less overhead, pull and handle (client, one thread); msgpack
 *   of the sampled rows when the kind has no such request.
 * Each mode's scan-only call, and each mode's result-heavy call, is timed in turn with the other
 * mode's (steady.ts untilSteadyTogether), as the measured points interleave the modes.
 */
import { pack, unpack } from 'msgpackr';
import { Coprocessor, splitByRegions } from '../../../engine/client/coprocessor';
import { DEFAULT_SCAN_BATCH_ROWS, type ClusterClient } from '../../../engine/client/cluster-client';
import type { LoadedPlugin } from '../../../engine/coprocessor/loader';
import { SeededRandom } from '../../../engine/util/seeded-random';
import { syntheticKey } from '../../datasets/synthetic';
import { untilSteadyTogether } from './steady';
import type { ResolvedHints } from '../../families/query/hints';
import type { WorkloadSpec } from '../../spec';
import { runPluginInMemory, type InMemoryRegion } from '../in-memory-plugin';
import { parseLinkProfile } from '../network/link-profile';
import type { CopbenchBackend } from '../../backends/copbench/backend';
import { datasetRange } from '../../datasets/catalog';
import { cheaperMode, predictClient, unhiddenShare, type Calibration, type CallShape, type PredictedMode, type Prediction } from './model';
import { estimateRegionBytes, estimateResultBytes, regionRowsFromSample, sampleIds, type RegionSample } from './selectivity-estimate';
import { median, simpleStatistics } from '../../../engine/util/statistics';

/** Rows in the random sample the result-size estimates run on. */
export const SAMPLE_ROWS = 4000;

export interface CalibrationOptions {
  spec: WorkloadSpec;
  /** The workload's plugin: name, version range, its cost hints and the request of its first point. */
  plugin: { name: string; version: string; hints: ResolvedHints; firstRequest: unknown };
  session: CopbenchBackend;
  /** Each link's own client (its name as in the spec's links), and how to make the network carry that link. */
  links: Array<{ name: string; client: ClusterClient; use(): Promise<void> }>;
  log(line: string): void;
}

/** The per-point estimate the model is asked about. */
export interface PointEstimate {
  shape: CallShape;
  /** matched rows / rows on the sample (null when the kind does not report matches). */
  estimatedSelectivity: number | null;
}

/** The calibration as summary.json records it: numbers with their units. */
export interface CostModelReport {
  calibration: Calibration;
  units: Record<string, string>;
  sampleRows: number;
  calibrationMs: number;
  /** Per (link, point): the estimate and both modes' predictions with their terms. */
  points: Array<{ link: string; point: string; estimatedSelectivity: number | null; estimatedResultBytes: number; estimatedAnswerBytes: number; pushdown: Prediction; client: Prediction; cheaper: PredictedMode }>;
  notes: string[];
  /** The plugin's cost hints that were missing, and what calibration did instead (empty: none missing). */
  coarser: string[];
}

const UNITS: Record<string, string> = {
  rttMs: 'ms (median PING round trip through each link)',
  unshapedRttMs: 'ms (the same through an unshaped client)',
  linkBytesPerSec: 'bytes/s per direction, from the link profile (null: unlimited)',
  pushdownOverheadMs: 'ms (median noop pushdown call over the whole range, unshaped)',
  clientOverheadMs: 'ms (median noop client-mode call over the whole range, unshaped)',
  nodeScanRowsPerSec: 'rows/s (scan-only pushdown calls, mean once their times are steady, all nodes together, overhead removed)',
  clientPullRowsPerSec: 'rows/s (scan-only client-mode call, unshaped, less its overhead and handle time)',
  wireBytesPerRow: 'bytes/row on the wire in that call',
  clientHandleRowsPerSec: "rows/s (the plugin's scan-only handle over the sampled rows in client memory)",
  pushdownResultBytesPerSec: 'bytes/s of partials + answer through pushdown (result-heavy call over the whole range, less its overhead and scan; else msgpack of the sampled rows)',
  clientResultBytesPerSec: 'bytes/s of partials + answer in client mode (the same call client-side, less overhead, pull and handle)',
  scanBatchRows: 'rows per scan batch',
  clientWireUnhidden: 'share (0..1) of min(client CPU, data wire) not hidden behind the larger, per link with a bandwidth (a scan-only client call through the link)',
};

const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/** Times `run` `times` times after `warmups` unmeasured calls; all the times, ms. */
async function timesMs(times: number, run: () => Promise<unknown> | unknown, warmups: number): Promise<number[]> {
  for (let w = 0; w < warmups; w++) await run();
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    ms.push(msSince(t0));
  }
  return ms;
}

/** The median of `times` timed calls after `warmups` unmeasured ones, ms. */
async function medianMs(times: number, run: () => Promise<unknown> | unknown, warmups = 1): Promise<number> {
  return median(await timesMs(times, run, warmups));
}

/**
 * Long calls compared with each other (one per mode), in turn, once the nodes and this process are
 * warm: each one's mean over its steady rounds (see untilSteadyTogether), ms.
 */
async function steadyTogetherMs(runs: Array<() => Promise<unknown> | unknown>, maxRounds?: number): Promise<number[]> {
  return untilSteadyTogether(runs.map((run) => async () => (await timesMs(1, run, 0))[0]!), maxRounds);
}

/**
 * RTTs of the unshaped client and of each link's client, ms. Where links shape sockets (loopback)
 * all clients ping round by round together; a network that carries one link at a time (netns:
 * kernel qdiscs) pings each link while it is in use, and leaves the network unshaped for the
 * rest of the calibration.
 */
async function linkRttsMs(session: CopbenchBackend, unshaped: ClusterClient, links: CalibrationOptions['links']): Promise<number[]> {
  if (session.network.concurrentLinks) return pingMs([unshaped, ...links.map((l) => l.client)]);
  await session.unshaped();
  const rtts = await pingMs([unshaped]);
  for (const link of links) {
    await link.use();
    rtts.push(...(await pingMs([link.client])));
  }
  await session.unshaped();
  return rtts;
}

/**
 * Median PING round trip to every node through each client, ms. Clients take turns round by round
 * (after one unmeasured round that opens the connections), so load from elsewhere hits all alike.
 */
async function pingMs(clients: ClusterClient[], rounds = 9): Promise<number[]> {
  const targets = await Promise.all(
    clients.map(async (client) => (await client.getMap()).nodes.filter((n) => n.up).map((node) => client.connectionTo(node, 'calibrate'))),
  );
  const samples: number[][] = clients.map(() => []);
  for (let round = -1; round < rounds; round++) {
    for (let c = 0; c < clients.length; c++) {
      for (const connection of targets[c]!) {
        const t0 = process.hrtime.bigint();
        await connection.call(['PING']);
        if (round >= 0) samples[c]!.push(msSince(t0));
      }
    }
  }
  return samples.map((s) => (s.length ? median(s) : 0));
}

/** A calibrated model for one run: predictions per (link, point) and the report. */
export class CostModel {
  private readonly reportPoints: CostModelReport['points'] = [];

  private constructor(
    readonly calibration: Calibration,
    private readonly plugin: LoadedPlugin,
    private readonly hints: ResolvedHints,
    private readonly sample: { regions: InMemoryRegion[]; regionRows: number[]; rows: number },
    private readonly rows: number,
    private readonly calibrationMs: number,
  ) {}

  static async calibrate(options: CalibrationOptions): Promise<CostModel> {
    const { spec, session, links, log } = options;
    const started = process.hrtime.bigint();
    const client = await session.clusterClient();
    try {
      const copr = new Coprocessor(client);
      const range = datasetRange();
      const pieces = splitByRegions(await client.getMap(), range.start, range.end);
      const plugin = await copr.loadPlugin(options.plugin.name, options.plugin.version);
      const call = (name: string, version: string, request: unknown, mode: 'pushdown' | 'client') => () => copr.run({ plugin: name, version, request, start: range.start, end: range.end, mode, concurrency: spec.concurrency });
      const scanOnly = options.plugin.hints.scansRows ? options.plugin.hints.scanOnly(options.plugin.firstRequest) : null;
      const probe: Probe = { options, client, copr, plugin, range, pieces, own: (request, mode) => call(options.plugin.name, options.plugin.version, request, mode), scanOnly };

      const net = await measureLinks(session, client, links);
      const pushdownOverheadMs = await medianMs(5, call('noop', '*', {}, 'pushdown'));
      const clientOverheadMs = await medianMs(3, call('noop', '*', {}, 'client'));
      const sample = await sampleRows(probe);
      const scan = await measureScanRates(probe, sample, { pushdownOverheadMs, clientOverheadMs });
      const result = await measureResultPath(probe, sample, scan, { pushdownOverheadMs, clientOverheadMs }, await measureCodecRate(sample));
      const measured = {
        regions: pieces.length,
        concurrency: spec.concurrency,
        ...net,
        pushdownOverheadMs,
        clientOverheadMs,
        ...scan,
        ...result,
        scanBatchRows: DEFAULT_SCAN_BATCH_ROWS,
      };
      const calibration: Calibration = { ...measured, clientWireUnhidden: await measureWireOverlap(probe, links, measured) };
      const calibrationMs = msSince(started);
      log(
        `cost model calibrated in ${(calibrationMs / 1000).toFixed(1)} s: overhead ${pushdownOverheadMs.toFixed(1)} ms pushdown / ${clientOverheadMs.toFixed(1)} ms client, ` +
          `node scan ${scan.nodeScanRowsPerSec ? Math.round(scan.nodeScanRowsPerSec) : '-'} rows/s, client pull ${scan.clientPullRowsPerSec ? Math.round(scan.clientPullRowsPerSec) : '-'} rows/s, ` +
          `client handle ${scan.clientHandleRowsPerSec ? Math.round(scan.clientHandleRowsPerSec) : '-'} rows/s, result path ${(result.pushdownResultBytesPerSec / 1e6).toFixed(0)} MB/s pushdown / ${(result.clientResultBytesPerSec / 1e6).toFixed(0)} MB/s client, sample ${sample.rows} rows`,
      );
      return new CostModel(calibration, plugin, options.plugin.hints, sample, spec.dataset.rows, calibrationMs);
    } finally {
      client.close();
    }
  }

  /** Rows to scan, regions and the expected result bytes of one request, from the sample. */
  async estimate(request: unknown): Promise<PointEstimate> {
    const run = await runPluginInMemory<unknown>(this.plugin, request, this.sample.regions);
    const samples: RegionSample[] = run.parts.map((part, i) => ({
      sampleRows: this.sample.regions[i]!.batches[0]!.length,
      regionRows: this.sample.regionRows[i]!,
      partBytes: run.partBytes[i]!,
      items: this.hints.partialItems(part, request),
    }));
    const rowsMatched = this.sample.rows > 0 ? this.hints.rowsMatched(run.result) : null;
    const matched = rowsMatched === null ? null : rowsMatched / this.sample.rows;
    return {
      shape: {
        rows: this.hints.scansRows ? this.rows : 0,
        regions: this.calibration.regions,
        concurrency: this.calibration.concurrency,
        resultBytes: estimateResultBytes(samples),
        answerBytes: await estimateAnswerBytes(this.plugin, this.hints, request, this.sample, this.rows),
      },
      estimatedSelectivity: matched,
    };
  }

  /** Both modes' predictions for a request on a link; recorded for the report. */
  async plan(link: string, point: string, request: unknown): Promise<{ cheaper: PredictedMode; predictedMs: Record<PredictedMode, number> }> {
    const estimate = await this.estimate(request);
    const choice = cheaperMode(this.calibration, link, estimate.shape);
    this.reportPoints.push({ link, point, estimatedSelectivity: estimate.estimatedSelectivity, estimatedResultBytes: estimate.shape.resultBytes, estimatedAnswerBytes: estimate.shape.answerBytes, pushdown: choice.pushdown, client: choice.client, cheaper: choice.mode });
    return { cheaper: choice.mode, predictedMs: { pushdown: choice.pushdown.totalMs, client: choice.client.totalMs } };
  }

  report(): CostModelReport {
    return {
      calibration: this.calibration,
      units: UNITS,
      sampleRows: this.sample.rows,
      calibrationMs: this.calibrationMs,
      points: this.reportPoints,
      coarser: this.hints.coarser,
      notes: [
        'Link rates come from the link profiles (not measured); RTTs are measured per link.',
        'Expected result sizes come from the plugin run in-process on the uniform random sample (sampleRows), scaled per region; never from a measured answer.',
        'pushdown = overhead + scan + max(result path, result wire); client = overhead + max(client CPU (pull + handle + result path), data wire, scan-batch round trips) + the unhidden share of min(client CPU, data wire). See workloads/driver/cost-model/model.ts.',
        ...this.hints.coarser.map((line) => `Coarser prediction: ${line}.`),
      ],
    };
  }
}

// ---- calibration steps ---------------------------------------------------------------------------

/** What the calibration steps share: the run's plugin, a client on the unshaped network, the dataset's regions. */
interface Probe {
  options: CalibrationOptions;
  client: ClusterClient;
  copr: Coprocessor;
  plugin: LoadedPlugin;
  range: { start: Buffer; end: Buffer };
  pieces: ReturnType<typeof splitByRegions>;
  /** A call of the run's own plugin over the whole dataset. */
  own: (request: unknown, mode: 'pushdown' | 'client') => () => Promise<unknown>;
  /** The plugin's scan-only request (its cost hint), null when the workload scans nothing. */
  scanOnly: unknown | null;
}

/** The sampled rows, per region, and the estimated rows of every region. */
interface RowSample {
  regions: InMemoryRegion[];
  regionRows: number[];
  rows: number;
}

type Overheads = Pick<Calibration, 'pushdownOverheadMs' | 'clientOverheadMs'>;
type ScanRates = Pick<Calibration, 'nodeScanRowsPerSec' | 'clientPullRowsPerSec' | 'wireBytesPerRow' | 'clientHandleRowsPerSec'>;
type ResultRates = Pick<Calibration, 'pushdownResultBytesPerSec' | 'clientResultBytesPerSec'>;

/** RTT through every link's client (and unshaped), and each link's rate from its profile. */
async function measureLinks(session: CopbenchBackend, client: ClusterClient, links: CalibrationOptions['links']): Promise<Pick<Calibration, 'rttMs' | 'unshapedRttMs' | 'linkBytesPerSec'>> {
  const [unshapedRttMs, ...linkRtts] = await linkRttsMs(session, client, links);
  const rttMs: Record<string, number> = {};
  const linkBytesPerSec: Record<string, number | null> = {};
  for (const [i, link] of links.entries()) {
    rttMs[link.name] = linkRtts[i]!;
    const bits = parseLinkProfile(link.name).bandwidthBitsPerSec;
    linkBytesPerSec[link.name] = bits === null ? null : bits / 8;
  }
  return { rttMs, unshapedRttMs: unshapedRttMs ?? 0, linkBytesPerSec };
}

/**
 * Per link with a bandwidth, how much of the smaller of client CPU and wire time the larger does
 * not hide (Calibration.clientWireUnhidden): the scan-only request in client mode through that
 * link's own client. Where links share the network (loopback), WIRE_OVERLAP_ROUNDS of it in turn
 * with the same call unshaped, whose time the calibration predicts: the link's mean time is scaled
 * by predicted / measured unshaped, so that a slow spell of the host is not taken for the link's
 * (two calls alone put the 1 Gbit/s client predictions of one default filter run 23-39% high at 5
 * of 6 points). A network that carries one link at a time: the mean of two calls through it.
 */
async function measureWireOverlap(probe: Probe, links: CalibrationOptions['links'], cal: Omit<Calibration, 'clientWireUnhidden'>): Promise<Record<string, number>> {
  const { options, range, scanOnly, own } = probe;
  const shaped = links.filter((l) => cal.linkBytesPerSec[l.name]);
  if (scanOnly === null || cal.clientPullRowsPerSec === null || shaped.length === 0) return {};
  const shape: CallShape = { rows: options.spec.dataset.rows, regions: cal.regions, concurrency: cal.concurrency, resultBytes: 0, answerBytes: 0 };
  const unshapedScan = own(scanOnly, 'client');
  // A link name no calibration has: no added RTT, no bandwidth.
  const predictedUnshapedMs = predictClient({ ...cal, clientWireUnhidden: {} }, '', shape).totalMs;
  const unhidden: Record<string, number> = {};
  for (const link of shaped) {
    await link.use();
    const copr = new Coprocessor(link.client);
    const linkScan = () => copr.run({ plugin: options.plugin.name, version: options.plugin.version, request: scanOnly, start: range.start, end: range.end, mode: 'client', concurrency: cal.concurrency });
    let ms: number;
    if (options.session.network.concurrentLinks) {
      const [linkMs, unshapedMs] = [[] as number[], [] as number[]];
      for (let round = 0; round < WIRE_OVERLAP_ROUNDS; round++) {
        linkMs.push(...(await timesMs(1, linkScan, 0)));
        unshapedMs.push(...(await timesMs(1, unshapedScan, 0)));
      }
      ms = simpleStatistics.mean(linkMs) * (predictedUnshapedMs / simpleStatistics.mean(unshapedMs));
    } else {
      ms = simpleStatistics.mean(await timesMs(2, linkScan, 0));
    }
    unhidden[link.name] = unhiddenShare(cal, link.name, shape, ms);
  }
  return unhidden;
}

/** Rounds of (through the link, unshaped) with which measureWireOverlap times a shaped link. */
const WIRE_OVERLAP_ROUNDS = 3;

/** A uniform random sample of rows (seeded: the same run samples the same rows), by MGET, placed in their regions. */
async function sampleRows({ options: { spec }, client, pieces }: Probe): Promise<RowSample> {
  const random = new SeededRandom((spec.dataset.seed ?? 0) + 7919);
  const keys = sampleIds(spec.dataset.rows, SAMPLE_ROWS, () => random.next()).map((id) => syntheticKey(id));
  const values: Array<Buffer | undefined> = [];
  for (let i = 0; i < keys.length; i += 500) values.push(...(await client.mget(keys.slice(i, i + 500))));
  const regions: InMemoryRegion[] = pieces.map((piece) => ({ range: piece.range, batches: [[]] }));
  let rows = 0;
  keys.forEach((key, i) => {
    const value = values[i];
    if (!value) return;
    const at = pieces.findIndex((p) => Buffer.compare(key, p.range.start) >= 0 && (p.range.end.length === 0 || Buffer.compare(key, p.range.end) < 0));
    if (at < 0) return;
    regions[at]!.batches[0]!.push({ key, value });
    rows++;
  });
  return { regions, regionRows: regionRowsFromSample(regions.map((r) => r.batches[0]!.length), spec.dataset.rows), rows };
}

/**
 * Expected packed bytes of the answer the client merges a request's partials into, less the rows
 * a row stream hands out as they arrive: the plugin run in memory over every sampled row as one
 * region (the answer holds what one partial over the whole range would), scaled to the dataset's
 * rows as a region's partial is (selectivity-estimate.ts). What a row stream keeps back (a count)
 * does not grow with the rows.
 */
async function estimateAnswerBytes(plugin: LoadedPlugin, hints: ResolvedHints, request: unknown, sample: RowSample, rows: number): Promise<number> {
  if (sample.rows === 0) return 0;
  const whole: InMemoryRegion = { range: datasetRange(), batches: [sample.regions.flatMap((r) => r.batches[0]!)] };
  const { parts, partBytes } = await runPluginInMemory(plugin, request, [whole]);
  const stream = plugin.plugin.streamRows?.(request) ?? null;
  if (stream) return pack(stream.rest(parts[0])).length;
  return estimateRegionBytes({ sampleRows: sample.rows, regionRows: rows, partBytes: partBytes[0]!, items: hints.partialItems(parts[0], request) });
}

/** The plugin's scan-only request: timed in pushdown, in client mode, and in memory on the sample. */
async function measureScanRates(probe: Probe, sample: RowSample, overheads: Overheads): Promise<ScanRates> {
  const { options, plugin, range, own, client, scanOnly } = probe;
  if (scanOnly === null || sample.rows === 0) return { nodeScanRowsPerSec: null, clientPullRowsPerSec: null, wireBytesPerRow: null, clientHandleRowsPerSec: null };
  const rows = options.spec.dataset.rows;
  // All sampled rows as one region (per-row cost, not the fixed cost of ~17 tiny regions),
  // repeated to ~40 000 rows per timing so that the clock's resolution and JIT warm-up fade.
  const oneRegion: InMemoryRegion[] = [{ range: { start: range.start, end: range.end }, batches: [sample.regions.flatMap((r) => r.batches[0]!)] }];
  const repeats = Math.max(1, Math.ceil(40_000 / sample.rows));
  const handleMs = await medianMs(3, async () => {
    for (let r = 0; r < repeats; r++) await runPluginInMemory(plugin, scanOnly, oneRegion);
  });
  const clientHandleRowsPerSec = (sample.rows * repeats) / (Math.max(0.001, handleMs) / 1000);
  // A first client call counts the wire bytes; then both modes in turn until steady (see untilSteadyTogether).
  const clientScan = own(scanOnly, 'client');
  const wire0 = client.wireBytes();
  await clientScan();
  const wireBytesPerRow = (client.wireBytes().in - wire0.in) / rows;
  const [scanMs, clientScanMs] = await steadyTogetherMs([own(scanOnly, 'pushdown'), clientScan]);
  const nodeScanRowsPerSec = rows / (Math.max(1, scanMs! - overheads.pushdownOverheadMs) / 1000);
  const pullMs = clientScanMs! - overheads.clientOverheadMs - (rows / clientHandleRowsPerSec) * 1000;
  return { nodeScanRowsPerSec, clientPullRowsPerSec: rows / (Math.max(1, pullMs) / 1000), wireBytesPerRow, clientHandleRowsPerSec };
}

/**
 * msgpack on result-shaped data (the sampled rows as [key, value] pairs, what a filter returns),
 * bytes/s: the stand-in for the result-path rates when there is no result-heavy request.
 */
async function measureCodecRate(sample: RowSample): Promise<number> {
  let codecRows: Array<[Uint8Array, Uint8Array]> = sample.regions.flatMap((r) => r.batches[0]!.map((row): [Uint8Array, Uint8Array] => [row.key, row.value]));
  if (codecRows.length === 0) codecRows = [[Buffer.from('row:000000000'), Buffer.alloc(100)]];
  const packedBytes = pack(codecRows).length;
  const codecRepeats = Math.max(1, Math.ceil(4_000_000 / packedBytes));
  const codecMs = await medianMs(3, () => {
    for (let r = 0; r < codecRepeats; r++) unpack(pack(codecRows));
  });
  return (packedBytes * codecRepeats) / (Math.max(0.001, codecMs) / 1000);
}

/**
 * The result path, end to end: a result-heavy request over the whole range, in both modes; its
 * time less the overhead and scan (pull + handle in client mode) is what the result cost. Without
 * such a request, the msgpack rate stands in.
 */
const RESULT_PATH_MAX_CALLS = 8;

async function measureResultPath(probe: Probe, sample: RowSample, scan: ScanRates, overheads: Overheads, codecBytesPerSec: number): Promise<ResultRates> {
  const { options, copr, plugin } = probe;
  const { nodeScanRowsPerSec, clientPullRowsPerSec, clientHandleRowsPerSec } = scan;
  const heavy = nodeScanRowsPerSec !== null ? options.plugin.hints.resultHeavy(options.plugin.firstRequest) : null;
  if (heavy === null || !nodeScanRowsPerSec || !clientPullRowsPerSec || !clientHandleRowsPerSec) return { pushdownResultBytesPerSec: codecBytesPerSec, clientResultBytesPerSec: codecBytesPerSec };
  const concurrency = options.spec.concurrency;
  // Over the whole range, as a call runs: every node and worker at once, scan and result path
  // interleaved. (One wave of regions, measured alone, ran on fewer nodes than a call does and
  // made the result path look twice as slow: +79% at the filter's every-row point.)
  // As the measured calls do (query runner), a plugin's streamed rows are taken as they arrive, not
  // merged into a whole answer; the runner's timed calls only count them, so dropping them here
  // times the same path.
  const run = (mode: 'pushdown' | 'client') => copr.run({ plugin: options.plugin.name, version: options.plugin.version, request: heavy, start: probe.range.start, end: probe.range.end, mode, concurrency, onRows: () => undefined });
  const { totals, wireBytesIn } = await run('pushdown');
  const rows = totals.rowsScanned;
  // The rates are per byte of partials and answer together, as the model charges them (CallShape).
  const resultBytes = wireBytesIn + (await estimateAnswerBytes(plugin, options.plugin.hints, heavy, sample, options.spec.dataset.rows));
  // Fewer rounds at most than the scans: these are the longest calls (every row kept).
  const [pushedMs, pulledMs] = (await steadyTogetherMs([() => run('pushdown'), () => run('client')], RESULT_PATH_MAX_CALLS)) as [number, number];
  // The model adds the result path to the scan (model.ts predictPushdown): what the call took past both is the result path's.
  const pushdownResultMs = pushedMs - overheads.pushdownOverheadMs - (rows / nodeScanRowsPerSec) * 1000;
  const clientResultMs = pulledMs - overheads.clientOverheadMs - (rows / clientPullRowsPerSec + rows / clientHandleRowsPerSec) * 1000;
  return { pushdownResultBytesPerSec: resultBytes / (Math.max(1, pushdownResultMs) / 1000), clientResultBytesPerSec: resultBytes / (Math.max(1, clientResultMs) / 1000) };
}
