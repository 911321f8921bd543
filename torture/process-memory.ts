/**
 * Peak memory of every process of a local cluster, polled from /proc — including the placement
 * service, which has no INFO memory section.
 */
import type { LocalCluster } from '../engine/cluster/local-cluster';
import { processMemory } from '../engine/util/process-memory';

/** A labelled process to watch: `placement`, `node-2`, `harness`. */
export interface WatchedProcess {
  label: string;
  pid: number;
}

/** The placement service, every node, and this process. */
export function clusterProcesses(cluster: LocalCluster): WatchedProcess[] {
  return [
    { label: 'placement', pid: cluster.placement.pid },
    ...[...cluster.nodes.values()].sort((a, b) => a.id - b.id).map((n) => ({ label: `node-${n.id}`, pid: n.pid })),
    { label: 'harness', pid: process.pid },
  ];
}

/**
 * Polls RSS of a set of processes and keeps each one's peak (the larger of the polled RSS and the
 * kernel's high-water mark). Processes are looked up by label on every poll, so a restarted node
 * (new pid) keeps its label.
 */
export class MemoryWatch {
  private readonly peaks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly list: () => WatchedProcess[],
    private readonly intervalMs = 200,
  ) {}

  start(): this {
    this.poll();
    this.timer = setInterval(() => this.poll(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  poll(): void {
    for (const p of this.list()) {
      const mem = processMemory(p.pid);
      if (!mem) continue;
      const seen = Math.max(mem.rssBytes, mem.peakRssBytes || 0);
      this.peaks.set(p.label, Math.max(this.peaks.get(p.label) ?? 0, seen));
    }
  }

  /** Stops polling (after one last poll) and returns label → peak RSS in bytes. */
  stop(): Map<string, number> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.poll();
    return new Map(this.peaks);
  }
}
