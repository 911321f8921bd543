/**
 * Per-interval buckets (default 1 s) of completed operations, errors and their latency, so a run
 * shows throughput and p99 over time (warm-up, stalls, drift) rather than one number.
 */
import { performance } from 'node:perf_hooks';
import { LatencyRecorder } from './latency';

/** One interval of a time series. */
export interface TimeSeriesPoint {
  /** Start of the interval, in seconds since the series' start. */
  tSec: number;
  /** Operations that completed successfully in the interval. */
  ops: number;
  /** Operations that failed in the interval. */
  errors: number;
  /**
   * `ops` divided by the interval's length; when `points(endMs)` is given an end, the last interval
   * is divided by the part of it before `endMs` (it may be partial).
   */
  opsPerSec: number;
  /** p99 latency of the interval's successful operations; NaN for an interval without any. */
  p99Ms: number;
}

/** What a run keeps of a series per interval (summary.json's `series`): throughput and p99. */
export type PerSecondPoint = Pick<TimeSeriesPoint, 'tSec' | 'opsPerSec' | 'p99Ms'>;

export interface TimeSeriesOptions {
  /** Interval length in milliseconds (default 1000). */
  intervalMs?: number;
  /** The series' time 0 on the performance.now() clock (default: when the series is created). */
  startMs?: number;
}

interface Bucket {
  ops: number;
  errors: number;
  latency: LatencyRecorder;
}

/** Buckets operations by completion time into fixed intervals; intervals with no operations show as zeros. */
export class TimeSeries {
  readonly intervalMs: number;
  readonly startMs: number;
  private readonly buckets: Bucket[] = [];
  private lastMs: number;

  constructor(options: TimeSeriesOptions = {}) {
    this.intervalMs = options.intervalMs ?? 1000;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${this.intervalMs}`);
    this.startMs = options.startMs ?? performance.now();
    this.lastMs = this.startMs;
  }

  private bucketAt(atMs: number): Bucket {
    const index = Math.max(0, Math.floor((atMs - this.startMs) / this.intervalMs));
    if (atMs > this.lastMs) this.lastMs = atMs;
    while (this.buckets.length <= index) this.buckets.push({ ops: 0, errors: 0, latency: new LatencyRecorder({ compact: true }) });
    return this.buckets[index]!;
  }

  /** Counts one successful operation that completed at `atMs` (performance.now() clock) with this latency. */
  record(atMs: number, latencyMs: number): void {
    const bucket = this.bucketAt(atMs);
    bucket.ops++;
    bucket.latency.recordMs(latencyMs);
  }

  /** Counts one failed operation that completed at `atMs` (performance.now() clock). */
  recordError(atMs: number): void {
    this.bucketAt(atMs).errors++;
  }

  /**
   * Every interval from the start to the last one that saw an operation (or to `endMs`, when given,
   * e.g. the end of the measurement, so trailing idle intervals show too).
   */
  points(endMs?: number): TimeSeriesPoint[] {
    const end = endMs === undefined ? Infinity : Math.max(endMs, this.lastMs);
    const count = endMs === undefined ? this.buckets.length : Math.max(this.buckets.length, Math.ceil((end - this.startMs) / this.intervalMs));
    const points: TimeSeriesPoint[] = [];
    for (let i = 0; i < count; i++) {
      const bucket = this.buckets[i];
      const intervalStartMs = i * this.intervalMs;
      const coveredMs = Math.min(this.intervalMs, end - this.startMs - intervalStartMs);
      const ops = bucket?.ops ?? 0;
      points.push({
        tSec: intervalStartMs / 1000,
        ops,
        errors: bucket?.errors ?? 0,
        opsPerSec: coveredMs > 0 ? ops / (coveredMs / 1000) : 0,
        p99Ms: bucket ? bucket.latency.percentileMs(99) : NaN,
      });
    }
    return points;
  }
}
