/**
 * Cluster map helpers: key -> region lookup (binary search), the hex/JSON wire form, the region
 * invariant check, range-end arithmetic with empty = +infinity, and key display.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeClusterMap,
  encodeClusterMap,
  endReaches,
  minEnd,
  nodeById,
  rangeContains,
  regionForKey,
  regionIndexForKey,
  showKey,
  validateRegions,
  type ClusterMap,
  type RegionInfo,
} from './cluster-map';

const k = (s: string): Buffer => Buffer.from(s, 'latin1');
const EMPTY = Buffer.alloc(0);

/** Contiguous regions from "" to +infinity with the given inner boundaries. */
function regionsWithBounds(bounds: Buffer[]): RegionInfo[] {
  const edges = [EMPTY, ...bounds, EMPTY];
  return bounds.concat([EMPTY]).map((_, i) => ({
    id: i + 1,
    start: edges[i]!,
    end: edges[i + 1]!,
    epoch: 1,
    nodeId: (i % 3) + 1,
    state: 'serving' as const,
  }));
}

/** Brute-force lookup to compare the binary search against. */
function linearIndex(regions: RegionInfo[], key: Buffer): number {
  const i = regions.findIndex((r) => rangeContains(r.start, r.end, key));
  assert.ok(i >= 0, 'regions do not cover the key');
  return i;
}

test('regionIndexForKey with one region always returns 0', () => {
  const regions = regionsWithBounds([]);
  for (const key of [EMPTY, k('a'), Buffer.from([0]), Buffer.alloc(100, 0xff)]) assert.equal(regionIndexForKey(regions, key), 0);
});

test('regionIndexForKey with two regions splits at the boundary key', () => {
  const regions = regionsWithBounds([k('m')]);
  assert.equal(regionIndexForKey(regions, EMPTY), 0);
  assert.equal(regionIndexForKey(regions, k('l')), 0);
  assert.equal(regionIndexForKey(regions, k('l\xff\xff')), 0);
  assert.equal(regionIndexForKey(regions, k('m')), 1, 'a key equal to a region start belongs to that region');
  assert.equal(regionIndexForKey(regions, k('m\x00')), 1);
  assert.equal(regionIndexForKey(regions, k('\xff\xff')), 1);
});

test('regionIndexForKey with many regions: start keys, keys just below, empty and 0xff keys', () => {
  const bounds = [k('\x00'), k('b'), k('b\x00'), k('c'), k('m'), k('m\xff'), k('x'), k('\xff'), k('\xff\xff')];
  const regions = regionsWithBounds(bounds);
  assert.equal(validateRegions(regions), undefined);
  assert.equal(regionIndexForKey(regions, EMPTY), 0);
  for (let i = 0; i < bounds.length; i++) {
    const start = bounds[i]!;
    assert.equal(regionIndexForKey(regions, start), i + 1, `start of region ${i + 1}`);
    // Just below a start: drop the last byte if it is 0x00, else decrement it and pad with 0xff.
    const below =
      start[start.length - 1] === 0 ? start.subarray(0, start.length - 1) : Buffer.concat([start.subarray(0, start.length - 1), Buffer.from([start[start.length - 1]! - 1, 0xff, 0xff])]);
    assert.ok(Buffer.compare(below, start) < 0);
    assert.equal(regionIndexForKey(regions, below), i, `just below the start of region ${i + 1} (${below.toString('hex')})`);
  }
  assert.equal(regionIndexForKey(regions, Buffer.alloc(50, 0xff)), bounds.length);
  assert.equal(regionIndexForKey(regions, k('\xff\xfe')), bounds.length - 1);
});

test('regionIndexForKey agrees with a linear scan for every 1-2 byte key over a small alphabet', () => {
  const alphabet = [0x00, 0x01, 0x61, 0x62, 0xfe, 0xff];
  const keys: Buffer[] = [EMPTY];
  for (const a of alphabet) {
    keys.push(Buffer.from([a]));
    for (const b of alphabet) keys.push(Buffer.from([a, b]));
  }
  keys.sort(Buffer.compare);
  // Region counts 1..8, boundaries drawn from the sorted non-empty keys at regular strides.
  for (let n = 1; n <= 8; n++) {
    const candidates = keys.slice(1);
    const step = Math.max(1, Math.floor(candidates.length / n));
    const bounds = Array.from({ length: n - 1 }, (_, i) => candidates[(i + 1) * step]!);
    const regions = regionsWithBounds(bounds);
    assert.equal(validateRegions(regions), undefined);
    for (const key of keys) assert.equal(regionIndexForKey(regions, key), linearIndex(regions, key), `${n} regions, key ${key.toString('hex')}`);
  }
});

test('regionForKey returns the region and throws on an empty map', () => {
  const map: ClusterMap = { version: 1, regions: regionsWithBounds([k('m')]), nodes: [], policy: { splitKeys: 10, splitBytes: 100 } };
  assert.equal(regionForKey(map, k('z')).id, 2);
  assert.equal(regionForKey(map, k('a')).id, 1);
  assert.throws(() => regionForKey({ ...map, regions: [] }, k('a')), /no regions/);
});

test('encodeClusterMap/decodeClusterMap round-trip binary keys and every other field', () => {
  const regions = regionsWithBounds([Buffer.from([0x00]), Buffer.from([0x00, 0xff, 0x0a, 0x22]), k('\\"quoted'), Buffer.from([0xff, 0xff])]);
  regions[2] = { ...regions[2]!, state: 'moving', moveTo: 3, epoch: 9 };
  const map: ClusterMap = {
    version: 42,
    regions,
    nodes: [
      { id: 1, host: '127.0.0.1', port: 7001, up: true },
      { id: 2, host: 'localhost', port: 7002, up: false },
    ],
    policy: { splitKeys: 1000, splitBytes: 1 << 20 },
  };
  const text = encodeClusterMap(map);
  // The wire form is JSON with hex keys.
  const raw = JSON.parse(text) as { regions: Array<{ start: unknown; end: unknown }> };
  assert.equal(raw.regions[2]!.start, '00ff0a22');
  assert.equal(raw.regions[0]!.start, '');
  const back = decodeClusterMap(text);
  assert.deepEqual(back, map);
  for (let i = 0; i < map.regions.length; i++) {
    assert.ok(Buffer.isBuffer(back.regions[i]!.start));
    assert.ok(back.regions[i]!.start.equals(map.regions[i]!.start));
    assert.ok(back.regions[i]!.end.equals(map.regions[i]!.end));
  }
  assert.equal(back.regions[2]!.moveTo, 3);
  assert.equal(validateRegions(back.regions), undefined);
});

test('validateRegions accepts a contiguous map from the empty key to +infinity', () => {
  assert.equal(validateRegions(regionsWithBounds([])), undefined);
  assert.equal(validateRegions(regionsWithBounds([k('a'), k('b')])), undefined);
});

test('validateRegions reports an empty region list', () => {
  assert.equal(validateRegions([]), 'no regions');
});

test('validateRegions catches a gap between regions', () => {
  const regions = regionsWithBounds([k('c'), k('f')]);
  regions[1] = { ...regions[1]!, end: k('e') };
  assert.match(validateRegions(regions) ?? '', /gap or overlap between regions 2 and 3/);
});

test('validateRegions catches overlapping regions', () => {
  const regions = regionsWithBounds([k('c'), k('f')]);
  regions[1] = { ...regions[1]!, end: k('g') };
  assert.match(validateRegions(regions) ?? '', /gap or overlap between regions 2 and 3/);
});

test('validateRegions catches a first region that does not start at the empty key', () => {
  const regions = regionsWithBounds([k('c')]);
  regions[0] = { ...regions[0]!, start: k('a') };
  assert.match(validateRegions(regions) ?? '', /first region/);
});

test('validateRegions catches a last region that does not reach +infinity', () => {
  const regions = regionsWithBounds([k('c')]);
  regions[1] = { ...regions[1]!, end: k('z') };
  assert.match(validateRegions(regions) ?? '', /last region/);
  const single = regionsWithBounds([]);
  single[0] = { ...single[0]!, end: k('z') };
  assert.match(validateRegions(single) ?? '', /last region/);
});

test('validateRegions catches contiguous but empty or out-of-order regions', () => {
  const region = (id: number, start: string, end: string): RegionInfo => ({ id, start: k(start), end: k(end), epoch: 1, nodeId: 1, state: 'serving' });
  // Each end equals the next start, yet region 2 runs backwards: [c, b).
  assert.match(validateRegions([region(1, '', 'c'), region(2, 'c', 'b'), region(3, 'b', '')]) ?? '', /region 2 is empty or out of order/);
  // An empty region [c, c) in the middle.
  assert.match(validateRegions([region(1, '', 'c'), region(2, 'c', 'c'), region(3, 'c', '')]) ?? '', /region 2 is empty or out of order/);
  // Two regions that both cover the whole keyspace.
  assert.match(validateRegions([region(1, '', ''), region(2, '', '')]) ?? '', /region 1 is empty or out of order/);
});

test('minEnd treats an empty end as +infinity', () => {
  assert.equal(minEnd(k('a'), k('b')).toString(), 'a');
  assert.equal(minEnd(k('b'), k('a')).toString(), 'a');
  assert.equal(minEnd(k('a'), k('a\x00')).toString('latin1'), 'a');
  assert.equal(minEnd(EMPTY, k('b')).toString(), 'b');
  assert.equal(minEnd(k('b'), EMPTY).toString(), 'b');
  assert.equal(minEnd(EMPTY, EMPTY).length, 0);
  assert.equal(minEnd(k('\xff\xff'), EMPTY).toString('latin1'), '\xff\xff');
});

test('endReaches treats an empty end as +infinity', () => {
  assert.equal(endReaches(k('b'), k('a')), true);
  assert.equal(endReaches(k('a'), k('a')), true);
  assert.equal(endReaches(k('a'), k('b')), false);
  assert.equal(endReaches(k('a'), k('a\x00')), false);
  assert.equal(endReaches(EMPTY, k('b')), true);
  assert.equal(endReaches(EMPTY, EMPTY), true);
  assert.equal(endReaches(k('\xff\xff'), EMPTY), false);
});

test('rangeContains is half-open with empty end = +infinity', () => {
  assert.equal(rangeContains(k('a'), k('c'), k('a')), true);
  assert.equal(rangeContains(k('a'), k('c'), k('b\xff')), true);
  assert.equal(rangeContains(k('a'), k('c'), k('c')), false);
  assert.equal(rangeContains(k('a'), k('c'), EMPTY), false);
  assert.equal(rangeContains(EMPTY, EMPTY, EMPTY), true);
  assert.equal(rangeContains(k('a'), EMPTY, Buffer.alloc(10, 0xff)), true);
});

test('nodeById finds a node or returns undefined', () => {
  const map: ClusterMap = { version: 1, regions: regionsWithBounds([]), nodes: [{ id: 4, host: 'h', port: 1, up: true }], policy: { splitKeys: 1, splitBytes: 1 } };
  assert.equal(nodeById(map, 4)?.host, 'h');
  assert.equal(nodeById(map, 5), undefined);
});

test('showKey prints printable keys as JSON strings, binary keys as hex and the empty key as ""', () => {
  assert.equal(showKey(EMPTY), '""');
  assert.equal(showKey(k('user:42')), '"user:42"');
  assert.equal(showKey(k('say "hi" \\ ~')), '"say \\"hi\\" \\\\ ~"');
  assert.equal(showKey(Buffer.from([0x00, 0x01, 0xff])), '0x0001ff');
  assert.equal(showKey(k('ab\n')), '0x61620a');
  assert.equal(showKey(k('a\x7f')), '0x617f');
  assert.equal(showKey(k('caf\xe9')), '0x636166e9');
});
