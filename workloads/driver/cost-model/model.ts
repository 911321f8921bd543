/**
 * The cost model: predicts how long one coprocessor call takes in `pushdown` and in `client` mode
 * from a short calibration (workloads/driver/cost-model/calibrate.ts) and the call's shape (rows to
 * scan, regions, concurrency, bytes of data vs bytes of result). Pure functions, so the arithmetic
 * is unit-tested on its own; the summary then shows predicted next to measured for every point.
 *
 * pushdown = overhead + scan + max(result path, result on the wire)
 *   overhead  the noop pushdown call (per-region request cost at this region count and
 *             concurrency) + one added round trip per wave of regions (waves = ⌈regions/concurrency⌉)
 *   scan      rows / the cluster's in-node scan rate (all nodes and workers together, measured)
 *   result    (result bytes + answer bytes) / the pushdown result-path rate (partials built,
 *             encoded, handed over and decoded; the answer merged from them: measured on a
 *             result-heavy call over the whole range). The answer's bytes count because merging
 *             costs with what it builds: 100 000 groups merged from the same 27 MB of partials as
 *             400 000 groups took 1.1-1.4 s against 1.3-2.7 s (aggregate, 400 000 rows, 18 regions)
 *   wire      result bytes / link rate
 *             Scan and result path add up: the same worker threads scan and build the partials,
 *             and the default filter sweep's pushdown time grew with the answer from the first
 *             points on; the client's decoding and the link overlap each other.
 * client   = overhead + max(client CPU, data on the wire, round trips of the scan batches) + unhidden
 *   overhead  the noop client-mode call + one added round trip per wave
 *   CPU       the client is one thread: pulling + decoding the rows (the unlimited-link pull rate),
 *             then the plugin's handle over them, then building, msgpacking and merging its
 *             partials (the client result-path rate)
 *   wire      data bytes / link rate (transfer overlaps the client's CPU: batches are prefetched)
 *   batches   each region's scan is a chain of batch requests with one prefetched, so an added
 *             RTT costs about one RTT per batch per concurrent stream
 *   unhidden  the link's measured share (Calibration.clientWireUnhidden) of min(CPU, wire): the
 *             part of the smaller that the larger does not hide
 * The added RTT of a link is its measured RTT minus the unshaped link's (the calibration calls ran
 * unshaped, so their times already hold the loopback round trips).
 */

export type PredictedMode = 'pushdown' | 'client';

/** What the calibration measured (units in the names). */
export interface Calibration {
  /** Regions and concurrency the overhead calls ran with. */
  regions: number;
  concurrency: number;
  /** Round trip (PING) through each link's client, median, ms. `unshaped` is the calibration client's. */
  rttMs: Record<string, number>;
  unshapedRttMs: number;
  /** Per direction, bytes/s, from the link profile (null: unlimited). */
  linkBytesPerSec: Record<string, number | null>;
  /** Median wall time of the noop plugin over the whole range, pushdown, ms. */
  pushdownOverheadMs: number;
  /** Same in client mode (loading the plugin, splitting by regions, one empty handle per region), ms. */
  clientOverheadMs: number;
  /** Rows/s of a scan-only pushdown call over the whole range, all nodes and workers together (null: the workload scans nothing). */
  nodeScanRowsPerSec: number | null;
  /**
   * Rows/s the client pulls and decodes over the unshaped link: a scan-only client-mode call over
   * the whole range, less its overhead and the handle's time.
   */
  clientPullRowsPerSec: number | null;
  /** Wire bytes per row of that call (RESP framing included). */
  wireBytesPerRow: number | null;
  /** Rows/s of the plugin's scan-only handle over rows already in this process's memory. */
  clientHandleRowsPerSec: number | null;
  /**
   * Bytes/s (partials' + answer's, see CallShape) through pushdown's result path: building the
   * partials on the nodes, encoding, the hand-off and the loopback, decoding and merging on the
   * client. From a result-heavy call (the plugin's `resultHeavy` hint) over the whole range, less
   * its scan and overhead; else msgpack pack + unpack of the sampled rows (an optimistic stand-in).
   */
  pushdownResultBytesPerSec: number;
  /** The same in client mode: building the partials in the handle, their msgpack round trip and the merge. */
  clientResultBytesPerSec: number;
  /** Rows per scan batch of the cluster client. */
  scanBatchRows: number;
  /**
   * Per link with a bandwidth: the share of the smaller of client CPU and data wire time that the
   * larger does not hide, from a scan-only client call through that link (0..1; absent: 0). The
   * client's one thread both decodes rows and paces the emulated link, so the two overlap only in
   * part: the default filter sweep measured client mode at 1 Gbit/s 14-35% slower than
   * max(CPU, wire) predicted.
   */
  clientWireUnhidden: Record<string, number>;
}

/** One call to predict. */
export interface CallShape {
  /** Rows the call scans (0 for a plugin that reads nothing). */
  rows: number;
  regions: number;
  concurrency: number;
  /** Expected bytes of all partial results together (what pushdown sends back). */
  resultBytes: number;
  /**
   * Expected bytes of the answer the client merges the partials into, less the rows a row stream
   * hands out as they arrive (a filter's answer is its count; an aggregate's is every group).
   */
  answerBytes: number;
}

export interface Prediction {
  totalMs: number;
  /** The named terms the total is made of (ms), for the summary. */
  terms: Record<string, number>;
}

/** Regions processed one after another in each lane. */
export function waves(regions: number, concurrency: number): number {
  return Math.ceil(Math.max(1, regions) / Math.max(1, concurrency));
}

/** Round trip a link adds to the unshaped one, ms (never negative). */
export function addedRttMs(cal: Calibration, link: string): number {
  const rtt = cal.rttMs[link];
  return rtt === undefined ? 0 : Math.max(0, rtt - cal.unshapedRttMs);
}

/** ms to move `bytes` over `link` (0 when it is unlimited). */
export function wireMs(cal: Calibration, link: string, bytes: number): number {
  const rate = cal.linkBytesPerSec[link];
  return rate ? (bytes / rate) * 1000 : 0;
}

/** The overhead measured at the calibration's region count, scaled per region to another count. */
function scaledOverheadMs(measuredMs: number, cal: Calibration, shape: CallShape): number {
  return measuredMs * (waves(shape.regions, shape.concurrency) / waves(cal.regions, cal.concurrency));
}

const perSecMs = (amount: number, perSec: number | null): number => (amount > 0 && perSec ? (amount / perSec) * 1000 : 0);

export function predictPushdown(cal: Calibration, link: string, shape: CallShape): Prediction {
  const terms = {
    overhead: scaledOverheadMs(cal.pushdownOverheadMs, cal, shape) + waves(shape.regions, shape.concurrency) * addedRttMs(cal, link),
    scan: perSecMs(shape.rows, cal.nodeScanRowsPerSec),
    result: perSecMs(shape.resultBytes + shape.answerBytes, cal.pushdownResultBytesPerSec),
    resultWire: wireMs(cal, link, shape.resultBytes),
  };
  // Scan and result path add up: the default filter sweep measured the pushdown time growing with
  // the answer's bytes from the most selective point on (2026-12-07: +34 ms at 4.5 MB, +320 ms at
  // 45 MB over a 200 ms scan), where overlapping them predicted the scan alone up to half the rows.
  return { totalMs: terms.overhead + terms.scan + Math.max(terms.result, terms.resultWire), terms };
}

export function predictClient(cal: Calibration, link: string, shape: CallShape): Prediction {
  const dataBytes = shape.rows * (cal.wireBytesPerRow ?? 0);
  const batches = shape.rows > 0 ? Math.ceil(shape.rows / cal.scanBatchRows) + shape.regions : 0;
  const terms = {
    overhead: scaledOverheadMs(cal.clientOverheadMs, cal, shape) + waves(shape.regions, shape.concurrency) * addedRttMs(cal, link),
    pull: perSecMs(shape.rows, cal.clientPullRowsPerSec),
    handle: perSecMs(shape.rows, cal.clientHandleRowsPerSec),
    result: perSecMs(shape.resultBytes + shape.answerBytes, cal.clientResultBytesPerSec),
    dataWire: wireMs(cal, link, dataBytes),
    batchRoundTrips: (batches * addedRttMs(cal, link)) / Math.max(1, Math.min(shape.concurrency, shape.regions)),
    unhidden: 0,
  };
  const cpu = clientCpuMs(terms);
  terms.unhidden = (cal.clientWireUnhidden[link] ?? 0) * Math.min(cpu, terms.dataWire);
  return { totalMs: terms.overhead + Math.max(cpu, terms.dataWire, terms.batchRoundTrips) + terms.unhidden, terms };
}

/** The client's one thread: pulling, handling and the result path of a client prediction's terms, ms. */
function clientCpuMs(terms: Record<string, number>): number {
  return terms.pull! + terms.handle! + terms.result!;
}

/**
 * The share of min(CPU, wire) a measured client call took beyond overhead + max(CPU, wire), in
 * 0..1: what clientWireUnhidden records for the link the call went through.
 */
export function unhiddenShare(cal: Omit<Calibration, 'clientWireUnhidden'>, link: string, shape: CallShape, measuredMs: number): number {
  const p = predictClient({ ...cal, clientWireUnhidden: {} }, link, shape);
  const hidden = Math.min(clientCpuMs(p.terms), p.terms.dataWire!);
  if (!(hidden > 0)) return 0;
  return Math.min(1, Math.max(0, (measuredMs - p.totalMs) / hidden));
}

export function predict(cal: Calibration, link: string, shape: CallShape, mode: PredictedMode): Prediction {
  return mode === 'pushdown' ? predictPushdown(cal, link, shape) : predictClient(cal, link, shape);
}

/** The mode the model expects to be faster (pushdown on a tie: it moves fewer bytes). */
export function cheaperMode(cal: Calibration, link: string, shape: CallShape): { mode: PredictedMode; pushdown: Prediction; client: Prediction } {
  const pushdown = predictPushdown(cal, link, shape);
  const client = predictClient(cal, link, shape);
  return { mode: client.totalMs < pushdown.totalMs ? 'client' : 'pushdown', pushdown, client };
}

/** (predicted − measured) / measured, e.g. 0.25 = predicted 25% too slow; null without a measurement. */
export function relativeError(predictedMs: number | null, measuredMs: number): number | null {
  if (predictedMs === null || !(measuredMs > 0)) return null;
  return (predictedMs - measuredMs) / measuredMs;
}
