/** The interference family's spec section: the point tenant and the analytic stream beside it. */
import type { z } from 'zod';
import { anyObject, int, nullable, num, object, oneOf, optionalNullable, refine, scalar, str } from '../../spec-checks';

/** The analytic stream: any query workload (a preset or kind `plugin`) at one sweep point. */
const analytic = object({
  kind: str.describe('a query kind: `plugin`, `filter`, `aggregate`, … (not `interference`)'),
  plugin: optionalNullable(str).describe('kind `plugin`: the plugin'),
  version: optionalNullable(str).describe("kind `plugin`: a semver range of the plugin's version (null: any)"),
  request: anyObject.describe("the query's request template"),
  point: nullable(object({ parameter: str.describe("the query's sweep parameter (as its `sweep.parameter`)"), value: scalar.describe('the one value the stream runs at') })).describe("`{ parameter, value }`: the query's sweep parameter and the one value the stream runs at (null: none)"),
  maxInFlight: int(1, 64).describe('analytic calls in flight at most; calls due beyond it start late (and the wait counts)'),
  onBusy: optionalNullable(oneOf('retry', 'client', 'fail')).describe(
    'pushdown/adaptive, when a node refuses a region as busy (cluster.coprMaxQueue): `retry` it after a backoff (null: the default), run that region `client`-side, or `fail` the call (an analytic error)',
  ),
});

const interference = object({
  pointOpsPerSec: num(1, 1e6).describe("the point tenant's target rate (open loop), operations per second"),
  readProportion: num(0, 1).describe('share of point operations that are reads; the rest are updates (written back unchanged)'),
  zipfianTheta: num(0, 0.9999).describe("zipfian skew of the point keys (YCSB's default 0.99)"),
  pointMaxInFlight: int(1, 10_000).describe('point operations in flight at most'),
  phaseSeconds: num(0.5, 3600).describe('length of each measured phase (one analytic rate × one mode × one repetition), seconds'),
  analytic: refine(analytic, (a) => (a.kind === 'interference' ? 'the analytic stream is a query workload' : null), ['kind']).describe(
    'the analytic stream beside the tenant: any query workload (a preset or kind `plugin`) at one sweep point; its rate is the sweep (`sweep: { "parameter": "analyticRate", … }`)',
  ),
});

/** `interference`: the section, or null (it may be left out of other families' specs). */
export const interferenceSection = optionalNullable(interference).describe("the interference family's section (kind `interference`): a point tenant and an analytic stream beside it");

export type AnalyticSpec = z.output<typeof analytic>;
export type InterferenceSpec = z.output<typeof interference>;

/** The top-level spec fields the family owns. */
export const INTERFERENCE_SECTIONS = { interference: interferenceSection };
