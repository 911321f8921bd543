/**
 * A node's view of the cluster map: decides whether this node may serve a key or a region request,
 * and otherwise produces the redirect (`MOVED`) or retry (`TRYAGAIN`, `EPOCH`) error a client acts on.
 */
import { CommandError } from '../protocol/server';
import { nodeById, rangeContains, regionForKey, showKey, type ClusterMap, type RegionInfo } from '../placement/cluster-map';
import type { KeyRange } from '../storage/store';

export class NodeRouting {
  private map: ClusterMap | undefined;
  /**
   * Counts map installs that take key ranges away from this node (a region moved out). Their rows
   * are deleted right after, so a read that ran across such an install may have missed rows.
   */
  releases = 0;

  constructor(readonly nodeId: number) {}

  get version(): number {
    return this.map?.version ?? -1;
  }

  get current(): ClusterMap | undefined {
    return this.map;
  }

  /** Regions this node serves (including ones it is moving away, which stay readable). */
  ownedRegions(map: ClusterMap | undefined = this.map): RegionInfo[] {
    return map ? map.regions.filter((r) => r.nodeId === this.nodeId) : [];
  }

  /** Regions being copied into this node. */
  importingRegions(map: ClusterMap | undefined = this.map): RegionInfo[] {
    return map ? map.regions.filter((r) => r.state === 'moving' && r.moveTo === this.nodeId) : [];
  }

  install(map: ClusterMap): void {
    this.map = map;
  }

  private requireMap(): ClusterMap {
    if (!this.map) throw new CommandError('CLUSTERDOWN', 'this node has not received the cluster map yet; retry shortly');
    return this.map;
  }

  private moved(map: ClusterMap, region: RegionInfo): CommandError {
    const owner = nodeById(map, region.nodeId);
    return new CommandError('MOVED', `${region.id} ${owner ? `${owner.host}:${owner.port}` : 'unknown'}`);
  }

  /** The region for a key this node may read; throws MOVED otherwise. */
  forRead(key: Buffer): RegionInfo {
    const map = this.requireMap();
    const region = regionForKey(map, key);
    if (region.nodeId !== this.nodeId) throw this.moved(map, region);
    return region;
  }

  /** The region for a key this node may write; throws MOVED, or TRYAGAIN while the region moves. */
  forWrite(key: Buffer): RegionInfo {
    const region = this.forRead(key);
    if (region.state === 'moving') throw new CommandError('TRYAGAIN', `region ${region.id} is moving to node ${region.moveTo}; retry shortly`);
    return region;
  }

  /**
   * Checks a region-addressed request: the region must be ours, at the epoch the client saw, and the
   * range inside it. Returns the range clipped to the region.
   */
  forRegionRequest(regionId: number, epoch: number, range: KeyRange): RegionInfo {
    const map = this.requireMap();
    const region = map.regions.find((r) => r.id === regionId);
    if (!region) throw new CommandError('EPOCH', `region ${regionId} no longer exists (split or merged); refresh the region map`);
    if (region.nodeId !== this.nodeId) throw this.moved(map, region);
    if (region.epoch !== epoch) throw new CommandError('EPOCH', `region ${regionId} is at epoch ${region.epoch}, request had ${epoch}; refresh the region map`);
    if (!rangeContains(region.start, region.end, range.start)) {
      throw new CommandError('EPOCH', `start key ${showKey(range.start)} is outside region ${regionId}`);
    }
    return region;
  }

  /** The region containing `start` for an un-addressed scan (e.g. from redis-cli). */
  forScanStart(start: Buffer): RegionInfo {
    return this.forRead(start);
  }
}
