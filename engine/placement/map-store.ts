/** Persists the cluster map as one JSON file, replaced atomically (write, fsync, rename). */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file';
import path from 'node:path';
import { decodeClusterMap, encodeClusterMap, type ClusterMap } from './cluster-map';

export class MapStore {
  private readonly file: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'cluster-map.json');
  }

  load(): ClusterMap | undefined {
    if (!existsSync(this.file)) return undefined;
    return decodeClusterMap(readFileSync(this.file, 'utf8'));
  }

  save(map: ClusterMap): void {
    writeFileAtomic(this.file, encodeClusterMap(map), { durable: true });
  }
}
