/**
 * Latency recording on an HdrHistogram (pure-JS build of hdr-histogram-js, no WebAssembly):
 * microsecond resolution, 1 µs … 1 h, 3 significant digits (a percentile is within 0.1% of the
 * true value). Count, min, max and mean are kept exactly beside the histogram.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/** The lowest value the histogram tells apart from 0, in microseconds. */
export const LOWEST_DISCERNIBLE_US = 1;
/** The highest trackable value (1 hour), in microseconds; larger values are clamped to it. */
export const HIGHEST_TRACKABLE_US = 3_600_000_000;
const SIGNIFICANT_DIGITS = 3;

/** What a recorder holds, in milliseconds. An empty recorder has count 0 and NaN everywhere else. */
export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface LatencyRecorderOptions {
  /**
   * Use a packed histogram (about 0.3 KB empty, grows with the spread of values; about 5× slower to
   * record) instead of a flat one (about 190 KB). Meant for many short-lived recorders, e.g. one per
   * time-series interval.
   */
  compact?: boolean;
}

/**
 * Records latencies and answers count/min/mean/percentiles/max. Values are rounded to whole
 * microseconds (so anything under 0.5 µs records as 0); values above 1 h are clamped to 1 h and
 * counted in `clampedCount`. Negative or non-finite values throw a RangeError (a caller bug).
 */
export class LatencyRecorder {
  private histogram: Histogram;
  private countValue = 0;
  private sumUs = 0;
  private minUs = Infinity;
  private maxUs = -Infinity;
  /** How many recorded values were above 1 h and were clamped to it. */
  clampedCount = 0;

  constructor(private readonly options: LatencyRecorderOptions = {}) {
    this.histogram = LatencyRecorder.newHistogram(options.compact === true);
  }

  private static newHistogram(compact: boolean): Histogram {
    return build({
      lowestDiscernibleValue: LOWEST_DISCERNIBLE_US,
      highestTrackableValue: HIGHEST_TRACKABLE_US,
      numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
      bitBucketSize: compact ? 'packed' : 64,
      autoResize: false,
      useWebAssembly: false,
    });
  }

  /** Number of values recorded. */
  get count(): number {
    return this.countValue;
  }

  /** Records one latency given in milliseconds (fractions allowed). */
  recordMs(ms: number): void {
    this.recordUs(ms * 1000);
  }

  /** Records one latency given in microseconds (fractions allowed; rounded to whole µs). */
  recordUs(us: number): void {
    if (!Number.isFinite(us) || us < 0) throw new RangeError(`latency must be a finite number >= 0, got ${us} µs`);
    let value = Math.round(us);
    if (value > HIGHEST_TRACKABLE_US) {
      value = HIGHEST_TRACKABLE_US;
      this.clampedCount++;
    }
    this.histogram.recordValue(value);
    this.countValue++;
    this.sumUs += value;
    if (value < this.minUs) this.minUs = value;
    if (value > this.maxUs) this.maxUs = value;
  }

  /** The latency at a percentile (0…100) in milliseconds; NaN when empty. */
  percentileMs(percentile: number): number {
    if (this.countValue === 0) return NaN;
    // The histogram answers the highest value equivalent to the bucket; never report above the true max.
    return Math.min(this.histogram.getValueAtPercentile(percentile), this.maxUs) / 1000;
  }

  /** Count, exact min/mean/max, and p50/p95/p99/p99.9 (within 0.1%), all in milliseconds. */
  summary(): LatencySummary {
    if (this.countValue === 0) return { count: 0, minMs: NaN, meanMs: NaN, p50Ms: NaN, p95Ms: NaN, p99Ms: NaN, p999Ms: NaN, maxMs: NaN };
    return {
      count: this.countValue,
      minMs: this.minUs / 1000,
      meanMs: this.sumUs / this.countValue / 1000,
      p50Ms: this.percentileMs(50),
      p95Ms: this.percentileMs(95),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: this.maxUs / 1000,
    };
  }

  /** Adds every value of `other` into this recorder (e.g. per-worker or per-repetition recorders). */
  merge(other: LatencyRecorder): this {
    if (other.countValue === 0) return this;
    this.histogram.add(other.histogram);
    this.countValue += other.countValue;
    this.sumUs += other.sumUs;
    this.clampedCount += other.clampedCount;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
    return this;
  }

  /** Forgets every value. */
  reset(): void {
    this.histogram.reset();
    this.countValue = 0;
    this.sumUs = 0;
    this.minUs = Infinity;
    this.maxUs = -Infinity;
    this.clampedCount = 0;
  }

  /**
   * The histogram in HdrHistogram's compressed base64 form (readable by every HdrHistogram port,
   * e.g. to store in summary.json and merge runs later). Exact min/mean are not part of it.
   */
  encodeHistogram(): string {
    return encodeIntoCompressedBase64(this.histogram);
  }

  /** A recorder from `encodeHistogram()` output; min, max and mean come from the histogram (within 0.1%). */
  static decodeHistogram(encoded: string): LatencyRecorder {
    const recorder = new LatencyRecorder();
    const decoded = decodeFromCompressedBase64(encoded, 64, false);
    recorder.histogram.add(decoded);
    const count = decoded.totalCount;
    recorder.countValue = count;
    if (count > 0) {
      recorder.sumUs = decoded.mean * count;
      recorder.minUs = decoded.getValueAtPercentile(0);
      recorder.maxUs = decoded.maxValue;
    }
    return recorder;
  }
}
