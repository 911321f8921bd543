/**
 * The `redis-cluster` backend kind: `"backend": { "kind": "redis-cluster", "nodes": 3 }`.
 * Options (each may be left out): `nodes` (primaries the harness starts; default cluster.nodes,
 * at least 3), `buckets` (B, the sorted sets rows are spread over; default 16 per node, so CRC16
 * spreads them fairly evenly), `sliceRows` (rows one Lua call or one fetch covers; default 1000,
 * see layout.ts DEFAULT_SLICE_ROWS).
 */
import { int, optionalNullable, SpecError } from '../../spec-checks';
import { DEFAULT_NETWORK_KIND } from '../../network/registry';
import type { WorkloadSpec } from '../../spec';
import type { BackendKind } from '../backend';
import { RedisBackend, type RedisOptions } from './backend';
import { luaPushdownRefusal } from './coprocessor';
import { DEFAULT_SLICE_ROWS } from './layout';
import { checkRedisInstalled, RedisLaunchError } from './launcher';

/** The options of a spec's backend section, with the defaults filled in. */
export function redisOptions(spec: WorkloadSpec): RedisOptions {
  const b = spec.backend;
  const nodes = (b.nodes as number | null) ?? spec.cluster.nodes;
  return { nodes, buckets: (b.buckets as number | null) ?? 16 * nodes, sliceRows: (b.sliceRows as number | null) ?? DEFAULT_SLICE_ROWS };
}

export const redisClusterKind: BackendKind = {
  name: 'redis-cluster',
  description: 'Redis 7 Cluster (started on 127.0.0.1, or --placement host:port of a node); pushdown = Redis Functions (Lua twins of filter, aggregate, sgd)',
  options: {
    nodes: optionalNullable(int(3, 64)).describe('primaries the harness starts (null: cluster.nodes, at least 3)'),
    buckets: optionalNullable(int(1, 16384)).describe('the sorted sets rows are spread over (null: 16 per node, so CRC16 spreads them fairly evenly)'),
    sliceRows: optionalNullable(int(1, 1_000_000)).describe(`rows one Lua call or one fetch covers (null: ${DEFAULT_SLICE_ROWS})`),
  },
  provides: { adaptive: false, placement: false, pluginsFromCluster: false },
  pushdownRefusal: luaPushdownRefusal,
  checkSpec(spec) {
    if (spec.network.kind !== DEFAULT_NETWORK_KIND) throw new SpecError(`backend.kind: redis-cluster runs its servers on ${DEFAULT_NETWORK_KIND} only; network.kind ${spec.network.kind} is not supported with it`);
    if (redisOptions(spec).nodes < 3) throw new SpecError(`backend.nodes: a Redis Cluster needs at least 3 primaries (redis-cli --cluster create); set backend.nodes or cluster.nodes to 3 or more`);
  },
  checkAvailable(_spec, attach) {
    if (attach) return;
    try {
      checkRedisInstalled();
    } catch (err) {
      if (err instanceof RedisLaunchError) throw new SpecError(`backend.kind=redis-cluster: ${err.message}`);
      throw err;
    }
  },
  open: (spec, options) => RedisBackend.open(redisOptions(spec), options.network, options.log, options.attach),
};
