/** The interference family's spec section: the point tenant and the analytic stream beside it. */
import { anyObject, fail, int, nullable, num, object, oneOf, optionalNullable, scalar, str, type Check } from '../../spec-checks';

/** The analytic stream: any query workload (a preset or kind `plugin`) at one sweep point. */
export interface AnalyticSpec {
  /** A query kind: `plugin`, `filter`, `aggregate`, … */
  kind: string;
  plugin: string | null;
  version: string | null;
  request: Record<string, unknown>;
  /** The query's sweep parameter and the one value the stream runs at (null: none). */
  point: { parameter: string; value: number | string } | null;
  /** Analytic calls in flight at most; calls due beyond it start late (and the wait counts). */
  maxInFlight: number;
  /**
   * pushdown/adaptive, when a node refuses a region as busy (cluster.coprMaxQueue): `retry` it after
   * a backoff (default), run that region `client`-side, or `fail` the call (an analytic error).
   */
  onBusy: 'retry' | 'client' | 'fail' | null;
}

export interface InterferenceSpec {
  /** The point tenant's target rate (open loop), operations per second. */
  pointOpsPerSec: number;
  /** Share of point operations that are reads; the rest are updates (written back unchanged). */
  readProportion: number;
  /** Zipfian skew of the point keys (YCSB's default 0.99). */
  zipfianTheta: number;
  /** Point operations in flight at most. */
  pointMaxInFlight: number;
  /** Length of each measured phase (one analytic rate × one mode × one repetition), seconds. */
  phaseSeconds: number;
  analytic: AnalyticSpec;
}

const analytic = object({
  kind: str,
  plugin: optionalNullable(str),
  version: optionalNullable(str),
  request: anyObject,
  point: nullable(object({ parameter: str, value: scalar })),
  maxInFlight: int(1, 64),
  onBusy: optionalNullable(oneOf('retry', 'client', 'fail')),
});

/** `interference`: the section, or null (it may be left out of other families' specs). */
export const interferenceSection: Check = optionalNullable((v, f) => {
  const s = object({
    pointOpsPerSec: num(1, 1e6),
    readProportion: num(0, 1),
    zipfianTheta: num(0, 0.9999),
    pointMaxInFlight: int(1, 10_000),
    phaseSeconds: num(0.5, 3600),
    analytic,
  })(v, f) as InterferenceSpec;
  if (s.analytic.kind === 'interference') fail(`${f}.analytic.kind`, 'the analytic stream is a query workload');
  return s;
});
