/**
 * The cluster map: which node owns which key range. The placement service is its only writer;
 * nodes and clients hold copies and look keys up in it. Every change bumps `version`; every change
 * to a region bumps that region's `epoch`, so a request that names a stale epoch can be refused.
 */

/** A contiguous key range `[start, end)` (`end` empty = +infinity) owned by one node. */
export interface RegionInfo {
  id: number;
  start: Buffer;
  end: Buffer;
  epoch: number;
  nodeId: number;
  /** `moving`: the owner serves reads but refuses writes while the rows are copied to `moveTo`. */
  state: 'serving' | 'moving';
  moveTo?: number;
}

export interface NodeInfo {
  id: number;
  host: string;
  port: number;
  up: boolean;
}

/** Thresholds past which the placement service splits a region. */
export interface SplitPolicy {
  splitKeys: number;
  splitBytes: number;
}

export interface ClusterMap {
  version: number;
  /** Sorted by `start`, covering the whole keyspace without gaps or overlaps. */
  regions: RegionInfo[];
  nodes: NodeInfo[];
  policy: SplitPolicy;
}

/** Index of the region containing `key` (binary search over sorted starts). */
export function regionIndexForKey(regions: ReadonlyArray<RegionInfo>, key: Buffer): number {
  let lo = 0;
  let hi = regions.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (Buffer.compare(regions[mid]!.start, key) <= 0) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function regionForKey(map: ClusterMap, key: Buffer): RegionInfo {
  const region = map.regions[regionIndexForKey(map.regions, key)];
  if (!region) throw new Error('cluster map has no regions');
  return region;
}

export function nodeById(map: ClusterMap, id: number): NodeInfo | undefined {
  return map.nodes.find((n) => n.id === id);
}

/** True when `key` lies in `[start, end)`. */
export function rangeContains(start: Buffer, end: Buffer, key: Buffer): boolean {
  return Buffer.compare(key, start) >= 0 && (end.length === 0 || Buffer.compare(key, end) < 0);
}

/** The smaller of two range ends, where empty means +infinity. */
export function minEnd(a: Buffer, b: Buffer): Buffer {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return Buffer.compare(a, b) <= 0 ? a : b;
}

/** True when end `a` lies at or past end `b` (empty = +infinity). */
export function endReaches(a: Buffer, b: Buffer): boolean {
  if (a.length === 0) return true;
  if (b.length === 0) return false;
  return Buffer.compare(a, b) >= 0;
}

/** Wire form: JSON with hex keys, so the map is readable in redis-cli and binary-safe. */
export function encodeClusterMap(map: ClusterMap): string {
  return JSON.stringify({
    ...map,
    regions: map.regions.map((r) => ({ ...r, start: r.start.toString('hex'), end: r.end.toString('hex') })),
  });
}

export function decodeClusterMap(text: string): ClusterMap {
  const raw = JSON.parse(text) as Omit<ClusterMap, 'regions'> & { regions: Array<Omit<RegionInfo, 'start' | 'end'> & { start: string; end: string }> };
  return {
    ...raw,
    regions: raw.regions.map((r) => ({ ...r, start: Buffer.from(r.start, 'hex'), end: Buffer.from(r.end, 'hex') })),
  };
}

/** Checks the invariant every map must keep: sorted, contiguous, from "" to +infinity. */
export function validateRegions(regions: ReadonlyArray<RegionInfo>): string | undefined {
  if (regions.length === 0) return 'no regions';
  if (regions[0]!.start.length !== 0) return 'first region does not start at the empty key';
  for (let i = 1; i < regions.length; i++) {
    if (!regions[i - 1]!.end.equals(regions[i]!.start)) return `gap or overlap between regions ${regions[i - 1]!.id} and ${regions[i]!.id}`;
  }
  // Contiguity alone accepts out-of-order or empty regions (e.g. two regions both ["", +inf)).
  for (let i = 0; i + 1 < regions.length; i++) {
    const r = regions[i]!;
    if (r.end.length === 0 || Buffer.compare(r.start, r.end) >= 0) return `region ${r.id} is empty or out of order`;
  }
  if (regions[regions.length - 1]!.end.length !== 0) return 'last region does not reach +infinity';
  return undefined;
}

/** Printable form of a binary key for messages and tables. */
export function showKey(key: Buffer): string {
  if (key.length === 0) return '""';
  const text = key.toString('latin1');
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${key.toString('hex')}`;
}
