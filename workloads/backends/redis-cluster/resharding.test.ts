/**
 * The cluster client while a slot holding rows is resharded, as `redis-cli --cluster reshard` does
 * it: CLUSTER SETSLOT IMPORTING on the target, MIGRATING on the source, MIGRATE key by key, then
 * SETSLOT NODE everywhere. Mid-migration the slot's keys are split between the two nodes: the
 * source serves the keys it still has and answers ASK for the ones that moved, so every read, the
 * pipelined ZRANGEs of client mode and the FCALL_RO of pushdown must follow ASK (ASKING, then the
 * command at the target) without taking the slot away from the source in the client's map. After
 * the migration the source answers MOVED, and the client moves the slot to the target.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SAMPLE_SCHEMA } from '../../../engine/plugin-api';
import { syntheticRows } from '../../datasets/synthetic';
import filter, { type FilterRequest, type FilterResult } from '../../../plugins/filter';
import { RedisClusterClient } from './cluster-client';
import { RedisCoprocessor } from './coprocessor';
import { runClientSide } from './fetch';
import { loadFunctions, type LoadedFunctions } from './functions';
import { bucketKey, planLayout, workUnits } from './layout';
import { RedisCluster } from './launcher';
import { loadRedisRows } from './loader';
import { runPushdown } from './pushdown';
import { keySlot } from './slots';

const ROWS = 2000;
const BUCKETS = 4;
/** Several units per bucket, so the moved bucket's reads are pipelined ZRANGEs, each redirected. */
const SLICE_ROWS = 100;
const layout = planLayout(ROWS, BUCKETS);
const units = workUnits(layout, SLICE_ROWS);
const everyRow: FilterRequest = { schema: SAMPLE_SCHEMA, where: [] };
const moved = bucketKey(0);
const slot = keySlot(moved);
/** A key of the same slot that stays at the source during the migration (the hash tag puts it there). */
const sibling = '{b000}:sibling';

let cluster: RedisCluster;
let client: RedisClusterClient;
let functions: LoadedFunctions;

before(async () => {
  cluster = await RedisCluster.start({ nodes: 3, persistence: { appendonly: 'no', appendfsync: 'everysec', save: '' } });
  client = await RedisClusterClient.connect(cluster.addresses);
  await loadRedisRows(client, syntheticRows({ rows: ROWS, seed: 23, valueBytes: 16 }), { totalRows: ROWS, buckets: BUCKETS });
  functions = await loadFunctions(client);
  await client.call(slot, ['SET', sibling, 'stays']);
});

after(async () => {
  client?.close();
  await cluster?.stop();
});

/** Every row by both paths, and through the backend's plugin runner in both modes. */
async function answers(): Promise<Array<[string, FilterResult]>> {
  const runner = new RedisCoprocessor(client, () => ({ layout, units, functions, busyThresholdMs: 0 }));
  const out: Array<[string, FilterResult]> = [
    ['fetch (runClientSide)', (await runClientSide(client, filter, everyRow, units)).result],
    ['pushdown (runPushdown)', (await runPushdown(client, filter, everyRow, units)).result],
  ];
  for (const mode of ['client', 'pushdown'] as const) out.push([`runner ${mode}`, (await runner.run<FilterRequest, FilterResult>({ plugin: 'filter', request: everyRow, mode, concurrency: 4 })).result]);
  return out;
}

async function calls(node: string, command: string): Promise<number> {
  const info = String(await client.callNode(node, ['INFO', 'commandstats']));
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
}

const nodeId = async (address: string): Promise<string> => String(await client.callNode(address, ['CLUSTER', 'MYID']));

test('mid-migration, reads and plugin calls follow ASK to the keys that moved and keep the slot at its owner; after it, MOVED moves the slot', { timeout: 60_000 }, async () => {
  const reference = await answers();
  for (const [path, result] of reference) assert.equal(result.rows!.length, ROWS, `${path}: every row before the migration`);

  const source = client.ownerOf(slot);
  const target = client.primaries.find((p) => p.address !== source)!.address;
  const [sourceId, targetId] = [await nodeId(source), await nodeId(target)];
  const [targetHost, targetPort] = target.split(':') as [string, string];
  await client.callNode(target, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId]);
  await client.callNode(source, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId]);
  await client.callNode(source, ['MIGRATE', targetHost, targetPort, moved, '0', '10000']);
  assert.equal(await client.callNode(source, ['CLUSTER', 'COUNTKEYSINSLOT', String(slot)]), 1, 'the sibling is still at the source');
  assert.equal(await client.callNode(target, ['CLUSTER', 'COUNTKEYSINSLOT', String(slot)]), 1, 'the rows are at the target');

  const asked = await calls(target, 'asking');
  assert.deepEqual(await answers(), reference, 'every path returns every row, the moved bucket read at the target');
  assert.equal(String(await client.call(slot, ['GET', sibling])), 'stays', 'a key the source still has is served there');
  const bucketUnits = units.filter((u) => u.bucket === 0).length;
  // Per unit of the moved bucket: fetch, pushdown, and the runner's client and pushdown calls.
  assert.equal((await calls(target, 'asking')) - asked, 4 * bucketUnits, 'each read of the moved bucket was one ASKING + command at the target');
  assert.equal(client.ownerOf(slot), source, 'ASK leaves the slot map as it was');

  await client.callNode(source, ['MIGRATE', targetHost, targetPort, sibling, '0', '10000']);
  // The target first, then the source, then the rest (the order the Redis Cluster spec gives).
  const others = client.primaries.map((p) => p.address).filter((a) => a !== source && a !== target);
  for (const node of [target, source, ...others]) await client.callNode(node, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId]);
  const askedBefore = await calls(target, 'asking');
  assert.deepEqual(await answers(), reference, 'after the migration, every row again');
  assert.equal(client.ownerOf(slot), target, 'MOVED gave the slot to the target');
  assert.equal(await calls(target, 'asking'), askedBefore, 'no ASK once the slot has moved');
  assert.equal(String(await client.call(slot, ['GET', sibling])), 'stays');
});
