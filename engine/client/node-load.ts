/**
 * What a client knows of each node's coprocessor load, from the stats every COPR.EXEC reply carries
 * (the call's own wait for a worker and run time, and the node's busy workers and queued calls when
 * it replied), and the pushdown-or-pull-up choice made from it, per region, as FlexPushdownDB's
 * adaptive pushdown makes it (VLDB Journal 2024): push a region down only if
 * w·T_pullup > T_push + T_wait, where T_wait is the wait expected at its node.
 *
 * A node whose regions all went client-side sends no new replies, so what is known of it fades:
 * the expected wait halves every WAIT_HALF_LIFE_MS without news, and the next pushdown re-measures.
 */
import type { NodeCallStats } from '../node/coprocessor-host';
import type { RegionInfo } from '../placement/cluster-map';

/** How fast an unrefreshed wait estimate fades (the client then tries the node again). */
export const WAIT_HALF_LIFE_MS = 500;
/** Weight of the newest reply in the running means. */
const EWMA_WEIGHT = 0.3;

export interface NodeLoad {
  /** Running mean of the calls' wait for a worker (µs). */
  waitUs: number;
  /** Running mean of the calls' run time in a worker (µs). */
  serviceUs: number;
  /** At the latest reply: busy workers (other calls), calls queued, and the pool's size. */
  busy: number;
  queued: number;
  workers: number;
  seenAtMs: number;
}

export class NodeLoadTracker {
  private readonly nodes = new Map<number, NodeLoad>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  observe(nodeId: number, stats: NodeCallStats): void {
    const known = this.nodes.get(nodeId);
    const mean = (old: number | undefined, sample: number): number => (old === undefined ? sample : old + EWMA_WEIGHT * (sample - old));
    this.nodes.set(nodeId, {
      waitUs: mean(known?.waitUs, stats.queueUs),
      serviceUs: mean(known?.serviceUs, stats.runUs),
      busy: stats.busyWorkers,
      queued: stats.queuedCalls,
      workers: stats.workers,
      seenAtMs: this.now(),
    });
  }

  /** The node refused a call as busy (COPR_BUSY): every worker is busy and its queue is full. */
  observeRefusal(nodeId: number): void {
    const known = this.nodes.get(nodeId);
    if (!known) return; // nothing known of its calls' run time yet: its first reply will tell
    this.nodes.set(nodeId, { ...known, busy: known.workers, queued: Math.max(known.queued, known.workers), seenAtMs: this.now() });
  }

  /**
   * The wait a call sent to the node now should expect (ms): the larger of the measured mean wait
   * and the backlog the node last reported (calls queued, plus this one, shared over its workers,
   * when every worker is busy), fading with the age of what is known.
   */
  expectedWaitMs(nodeId: number): number {
    const load = this.nodes.get(nodeId);
    if (!load) return 0;
    const backlogUs = load.busy >= load.workers ? ((load.queued + 1) * load.serviceUs) / load.workers : 0;
    const fade = 0.5 ** ((this.now() - load.seenAtMs) / WAIT_HALF_LIFE_MS);
    return (Math.max(load.waitUs, backlogUs) * fade) / 1000;
  }
}

/** Per-region costs of the two ways to run it, when the nodes are otherwise idle (ms). */
export interface RegionCosts {
  pushdownMs: number;
  clientMs: number;
}

/**
 * The pushback rule for a pushdown call (CoprocessorCall.pushBack): a region runs client-side when
 * pulling it up is expected to be faster than pushing it down and waiting at its node.
 */
export function pushBackWhenBusy(load: NodeLoadTracker, costs: RegionCosts, weight = 1): (region: RegionInfo) => boolean {
  return (region) => weight * costs.clientMs < costs.pushdownMs + load.expectedWaitMs(region.nodeId);
}
