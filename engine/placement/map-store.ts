/** Persists the cluster map as one JSON file, replaced atomically (write, fsync, rename). */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
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
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, encodeClusterMap(map));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    const dirFd = openSync(path.dirname(this.file), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}
