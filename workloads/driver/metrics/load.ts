/**
 * Load generators. Both call `op(i)` for i = 0, 1, 2, … and record each successful operation's
 * latency into a LatencyRecorder and a TimeSeries; both stop on a count (`maxOps`), a time
 * (`durationMs`, no new operation starts after it; operations in flight finish) or an abort signal.
 *
 * - closed loop: `concurrency` workers, each starting its next operation when the last one ends.
 *   Latency is each operation's own time (start → end).
 * - open loop: operations are due at a fixed rate whatever the system does (operation i at
 *   t0 + i / rate) and latency runs from the INTENDED start (YCSB `measurement.interval=intended`,
 *   the coordinated-omission correction): a stall delays every operation due during it, and each of
 *   those is charged the wait, so the stall shows in the percentiles instead of being hidden.
 *
 * An operation that rejects is counted in `errors` (the first few distinct messages are kept), not
 * thrown, unless `stopOnError`: then no new operation starts, the ones in flight finish, and the
 * promise rejects with a LoadAbortedError carrying the first error and the partial result.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { LatencyRecorder, type LatencySummary } from './latency';
import { TimeSeries } from './timeseries';

/** One operation; `index` counts from 0 in start order. */
export type Operation = (index: number) => Promise<unknown>;

/** Why a load generator stopped starting operations. */
export type StopReason = 'maxOps' | 'duration' | 'signal' | 'error';

/** Options shared by both generators. At least one of maxOps, durationMs or signal must be given. */
export interface LoadOptions {
  op: Operation;
  /** Start at most this many operations. */
  maxOps?: number;
  /** Start no operation after this many milliseconds from the start. */
  durationMs?: number;
  /** Start no operation after this signal aborts. */
  signal?: AbortSignal;
  /** Reject on the first failed operation (after the in-flight ones finish) instead of counting it. */
  stopOnError?: boolean;
  /** Record latencies into this recorder (default: a new one, returned in the result). */
  recorder?: LatencyRecorder;
  /** Record into this time series (default: a new one starting with the run). */
  timeSeries?: TimeSeries;
  /** Interval of the default time series, in milliseconds (default 1000). */
  intervalMs?: number;
  /** How many distinct error messages to keep (default 5). */
  maxErrorMessages?: number;
  /** Called after every finished operation (success or failure) with the number finished so far. */
  onProgress?: (finished: number) => void;
}

export interface ClosedLoopOptions extends LoadOptions {
  /** Number of operations in flight at all times (until the bound is reached). */
  concurrency: number;
}

export interface OpenLoopOptions extends LoadOptions {
  /** Rate at which operations are due, in operations per second. */
  targetOpsPerSec: number;
  /**
   * At most this many operations in flight (default 1024). Operations due while the limit is
   * reached start late, and the wait counts in their latency.
   */
  maxInFlight?: number;
}

/** What a load generator did. */
export interface LoadResult {
  /** Operations that succeeded (failed ones are in `errors`, not here). */
  ops: number;
  errors: number;
  /** The first `maxErrorMessages` distinct error messages. */
  errorMessages: string[];
  /** Wall time from the start to the end of the last operation, in milliseconds. */
  durationMs: number;
  /** Successful operations per second over `durationMs`. */
  opsPerSec: number;
  /** Latency of successful operations (open loop: from the intended start). */
  latency: LatencySummary;
  recorder: LatencyRecorder;
  timeSeries: TimeSeries;
  stoppedBy: StopReason;
}

/** An open loop's result, with the latency split that shows how much was waiting to start. */
export interface OpenLoopResult extends LoadResult {
  targetOpsPerSec: number;
  /** Latency from the actual start (what a naive, coordinated-omission-prone measurement reports). */
  serviceLatency: LatencySummary;
  serviceRecorder: LatencyRecorder;
  /**
   * Actual start minus intended start: waiting for an in-flight slot, for a blocked event loop, or
   * the timer's own lateness (Node timers fire about 1 ms late, which counts in `latency`).
   */
  startLag: LatencySummary;
}

/** Thrown (as a rejection) by a generator run with `stopOnError` when an operation fails. */
export class LoadAbortedError extends Error {
  readonly code = 'LOAD_ABORTED';
  /** `cause` is the first operation error; `result` what the load did up to the stop. */
  constructor(
    cause: unknown,
    readonly result: LoadResult,
  ) {
    super(`load stopped on the first failed operation (after ${result.ops} succeeded): ${describeError(cause)}`, { cause });
    this.name = 'LoadAbortedError';
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

function validate(options: LoadOptions): void {
  const { maxOps, durationMs, signal } = options;
  if (maxOps === undefined && durationMs === undefined && signal === undefined) throw new RangeError('a load needs a bound: maxOps, durationMs or signal');
  if (maxOps !== undefined && !(Number.isInteger(maxOps) && maxOps >= 0)) throw new RangeError(`maxOps must be an integer >= 0, got ${maxOps}`);
  if (durationMs !== undefined && !(durationMs >= 0)) throw new RangeError(`durationMs must be >= 0, got ${durationMs}`);
}

/** Counting and bookkeeping common to both generators. */
class LoadState {
  readonly startMs = performance.now();
  readonly deadlineMs: number;
  readonly recorder: LatencyRecorder;
  readonly timeSeries: TimeSeries;
  ops = 0;
  errors = 0;
  finished = 0;
  readonly errorMessages: string[] = [];
  stoppedBy: StopReason | undefined;
  firstError: unknown;
  hasError = false;

  constructor(readonly options: LoadOptions) {
    this.deadlineMs = options.durationMs === undefined ? Infinity : this.startMs + options.durationMs;
    this.recorder = options.recorder ?? new LatencyRecorder();
    this.timeSeries = options.timeSeries ?? new TimeSeries({ intervalMs: options.intervalMs ?? 1000, startMs: this.startMs });
  }

  /** Decides whether operation `index`, due at `dueMs`, may start; sets stoppedBy when not. */
  mayStart(index: number, dueMs: number): boolean {
    if (this.stoppedBy) return false;
    if (this.options.signal?.aborted) this.stoppedBy = 'signal';
    else if (this.options.maxOps !== undefined && index >= this.options.maxOps) this.stoppedBy = 'maxOps';
    else if (dueMs >= this.deadlineMs) this.stoppedBy = 'duration';
    return this.stoppedBy === undefined;
  }

  succeeded(endMs: number, latencyMs: number): void {
    this.ops++;
    this.recorder.recordMs(latencyMs);
    this.timeSeries.record(endMs, latencyMs);
    this.afterOp();
  }

  failed(endMs: number, err: unknown): void {
    this.errors++;
    this.timeSeries.recordError(endMs);
    const message = describeError(err);
    if (this.errorMessages.length < (this.options.maxErrorMessages ?? 5) && !this.errorMessages.includes(message)) this.errorMessages.push(message);
    if (this.options.stopOnError && !this.hasError) {
      this.hasError = true;
      this.firstError = err;
      this.stoppedBy = 'error';
    }
    this.afterOp();
  }

  private afterOp(): void {
    this.finished++;
    this.options.onProgress?.(this.finished);
  }

  result(): LoadResult {
    const durationMs = performance.now() - this.startMs;
    return {
      ops: this.ops,
      errors: this.errors,
      errorMessages: this.errorMessages,
      durationMs,
      opsPerSec: durationMs > 0 ? this.ops / (durationMs / 1000) : 0,
      latency: this.recorder.summary(),
      recorder: this.recorder,
      timeSeries: this.timeSeries,
      stoppedBy: this.stoppedBy ?? 'maxOps',
    };
  }

  finish<T extends LoadResult>(result: T): T {
    if (this.hasError) throw new LoadAbortedError(this.firstError, result);
    return result;
  }
}

/**
 * Closed loop: `concurrency` workers each run operations back to back until the bound.
 * Latency is start → end of each operation.
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  validate(options);
  const { concurrency, op } = options;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
  const state = new LoadState(options);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const startMs = performance.now();
      if (!state.mayStart(next, startMs)) return;
      const index = next++;
      try {
        await op(index);
        const endMs = performance.now();
        state.succeeded(endMs, endMs - startMs);
      } catch (err) {
        state.failed(performance.now(), err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return state.finish(state.result());
}

/** Resolves after `ms`, or at once when the signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Operations started back to back before the scheduler yields to I/O while catching up. */
const MAX_BURST = 64;

/**
 * Open loop: operation i is due at start + i / targetOpsPerSec and starts then (or as soon after
 * as the event loop and `maxInFlight` allow). Latency is measured from the due time, so waiting to
 * start counts; `serviceLatency` has the naive start → end figure beside it.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  validate(options);
  const { targetOpsPerSec, op, signal } = options;
  const maxInFlight = options.maxInFlight ?? 1024;
  if (!(targetOpsPerSec > 0 && Number.isFinite(targetOpsPerSec))) throw new RangeError(`targetOpsPerSec must be a finite number > 0, got ${targetOpsPerSec}`);
  if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1)) throw new RangeError(`maxInFlight must be an integer >= 1, got ${maxInFlight}`);
  const state = new LoadState(options);
  const serviceRecorder = new LatencyRecorder();
  const startLag = new LatencyRecorder();
  const intervalMs = 1000 / targetOpsPerSec;

  let inFlight = 0;
  let waiters: Array<() => void> = [];
  const settled = (): void => {
    inFlight--;
    const wake = waiters;
    waiters = [];
    for (const w of wake) w();
  };
  const nextSettle = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));

  const launch = async (index: number, dueMs: number): Promise<void> => {
    inFlight++;
    const startMs = performance.now();
    startLag.recordMs(Math.max(0, startMs - dueMs));
    try {
      await op(index);
      const endMs = performance.now();
      serviceRecorder.recordMs(endMs - startMs);
      state.succeeded(endMs, endMs - dueMs);
    } catch (err) {
      state.failed(performance.now(), err);
    } finally {
      settled();
    }
  };

  let index = 0;
  let burst = 0;
  for (;;) {
    const dueMs = state.startMs + index * intervalMs;
    if (!state.mayStart(index, dueMs)) break;
    const waitMs = dueMs - performance.now();
    if (waitMs > 0) {
      await sleep(waitMs, signal);
      burst = 0;
      continue;
    }
    if (inFlight >= maxInFlight) {
      await nextSettle();
      burst = 0;
      continue;
    }
    void launch(index++, dueMs);
    if (++burst >= MAX_BURST) {
      burst = 0;
      await yieldToEventLoop();
    }
  }
  while (inFlight > 0) await nextSettle();
  return state.finish({
    ...state.result(),
    targetOpsPerSec,
    serviceLatency: serviceRecorder.summary(),
    serviceRecorder,
    startLag: startLag.summary(),
  });
}
