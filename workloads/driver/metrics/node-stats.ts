/**
 * Per-node resource counters read over RESP `INFO` (CPU, socket bytes, RSS, keys, commands), their
 * differences over a measurement, this process's own CPU and memory, and a sampler that keeps each
 * node's peak RSS while a measurement runs.
 *
 * Probing is itself traffic: `diffNodeStats` removes the bytes and the command of its own two INFO
 * exchanges exactly, so an idle node diffs to zero; a PeakRssSampler's polls are reported by
 * `stop()` and can be passed to `diffNodeStats` to be removed too.
 */
import { performance } from 'node:perf_hooks';
import { RespConnection } from '../../../engine/client/connection';
import { parseInfo } from '../../../engine/node/info';
import { RespError } from '../../../engine/protocol/resp';

/** A node's counters at one moment, as its INFO reports them. */
export interface NodeStats {
  /** CPU time of the node process in user mode since it started, in microseconds. */
  cpuUserUs: number;
  /** CPU time of the node process in kernel mode since it started, in microseconds. */
  cpuSysUs: number;
  /** Bytes the node read from client sockets since it started. */
  netInBytes: number;
  /** Bytes the node wrote to client sockets since it started. */
  netOutBytes: number;
  /** Resident set size of the node process. */
  rssBytes: number;
  /** Keys stored on the node. */
  keys: number;
  /** Commands the node processed since it started. */
  commands: number;
  /** The node's process id (tells a restart apart). */
  pid: number;
  /** Bytes of the INFO request that produced this sample (already in `netInBytes`). */
  sampleRequestBytes: number;
  /** Bytes of the INFO reply that produced this sample (not yet in `netOutBytes`). */
  sampleReplyBytes: number;
}

/** A node's address, as the workload session lists them. */
export interface NodeAddress {
  id: number;
  host: string;
  port: number;
}

/** A sample of one node. */
export interface NodeSample extends NodeStats {
  id: number;
}

/**
 * What a node did between two samples. The counters (CPU, bytes, commands) are differences;
 * `rssBytes` and `keys` are the levels at the second sample, with `rssDeltaBytes` and `keysAdded`
 * as their changes.
 */
export interface NodeStatsDelta extends NodeStats {
  id: number;
  rssDeltaBytes: number;
  keysAdded: number;
  /**
   * The node restarted in between (its pid changed or a counter went backwards) or was not in the
   * first sample: the counters are then everything since it (re)started.
   */
  restarted: boolean;
}

/** Traffic of other probes (e.g. a PeakRssSampler) to take out of a difference. */
export interface ProbeTraffic {
  id: number;
  netInBytes: number;
  netOutBytes: number;
  commands: number;
}

export interface SampleOptions {
  /** Connect and reply timeout in milliseconds (default 5000). */
  timeoutMs?: number;
}

/** A number field of INFO; an error naming the node and the field when it is missing. */
export function infoNumber(sections: Record<string, Record<string, string>>, section: string, field: string, where: string): number {
  const text = sections[section]?.[field];
  const value = text === undefined ? NaN : Number(text);
  if (!Number.isFinite(value)) throw new Error(`INFO from ${where}: field ${section}.${field} is missing or not a number (${JSON.stringify(text)}); is this a node of the backend the run expects?`);
  return value;
}

/** Sends INFO (or `INFO <section>`) on a connection and parses the reply. */
async function info(conn: RespConnection, section?: string): Promise<Record<string, Record<string, string>>> {
  const reply = await conn.send(section ? ['INFO', section] : ['INFO']);
  if (reply instanceof RespError) throw new Error(`INFO from ${conn.address} failed: ${reply.message}`);
  if (!Buffer.isBuffer(reply)) throw new Error(`INFO from ${conn.address}: expected a bulk string reply`);
  return parseInfo(reply.toString('utf8'));
}

/** INFO's sections, parsed. */
export type InfoSections = Record<string, Record<string, string>>;

/** The counters of a node from its INFO reply: how a backend's nodes name them. */
export type InfoReader = (sections: InfoSections, where: string) => Omit<NodeStats, 'sampleRequestBytes' | 'sampleReplyBytes'>;

/** copbench nodes' INFO. */
export const copbenchInfo: InfoReader = (sections, where) => ({
  cpuUserUs: infoNumber(sections, 'cpu', 'used_cpu_user_us', where),
  cpuSysUs: infoNumber(sections, 'cpu', 'used_cpu_sys_us', where),
  netInBytes: infoNumber(sections, 'stats', 'total_net_input_bytes', where),
  netOutBytes: infoNumber(sections, 'stats', 'total_net_output_bytes', where),
  rssBytes: infoNumber(sections, 'memory', 'used_memory_rss', where),
  keys: infoNumber(sections, 'keyspace', 'keys', where),
  commands: infoNumber(sections, 'stats', 'total_commands_processed', where),
  pid: infoNumber(sections, 'server', 'process_id', where),
});

/** Reads one node's counters with INFO over a fresh connection (closed afterwards). */
export async function sampleNode(host: string, port: number, options: SampleOptions = {}, read: InfoReader = copbenchInfo): Promise<NodeStats> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const conn = new RespConnection({ host, port, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
  try {
    const sections = await info(conn);
    return { ...read(sections, conn.address), sampleRequestBytes: conn.bytesWritten, sampleReplyBytes: conn.bytesRead };
  } finally {
    conn.close();
  }
}

/** Samples every node at once; fails (naming the node) if one does not answer. */
export async function sampleNodes(nodes: ReadonlyArray<NodeAddress>, options: SampleOptions = {}, read: InfoReader = copbenchInfo): Promise<NodeSample[]> {
  return Promise.all(
    nodes.map(async (n) => {
      try {
        return { id: n.id, ...(await sampleNode(n.host, n.port, options, read)) };
      } catch (err) {
        throw new Error(`cannot sample node ${n.id} at ${n.host}:${n.port}: ${(err as Error).message}`, { cause: err });
      }
    }),
  );
}

/**
 * One node's activity between two samples, without the two INFO exchanges themselves (the first
 * sample's reply and the second sample's request and command land inside the difference).
 */
export function diffNodeSample(before: NodeSample | undefined, after: NodeSample, probe?: ProbeTraffic): NodeStatsDelta {
  const restarted =
    before === undefined ||
    before.pid !== after.pid ||
    after.cpuUserUs < before.cpuUserUs ||
    after.netInBytes < before.netInBytes ||
    after.netOutBytes < before.netOutBytes ||
    after.commands < before.commands;
  const base = restarted ? undefined : before;
  const nonNegative = (v: number): number => Math.max(0, v);
  return {
    id: after.id,
    cpuUserUs: after.cpuUserUs - (base?.cpuUserUs ?? 0),
    cpuSysUs: after.cpuSysUs - (base?.cpuSysUs ?? 0),
    netInBytes: nonNegative(after.netInBytes - (base?.netInBytes ?? 0) - after.sampleRequestBytes - (probe?.netInBytes ?? 0)),
    netOutBytes: nonNegative(after.netOutBytes - (base ? base.netOutBytes + base.sampleReplyBytes : 0) - (probe?.netOutBytes ?? 0)),
    rssBytes: after.rssBytes,
    rssDeltaBytes: after.rssBytes - (before?.rssBytes ?? 0),
    keys: after.keys,
    keysAdded: after.keys - (before?.keys ?? 0),
    commands: nonNegative(after.commands - (base?.commands ?? 0) - 1 - (probe?.commands ?? 0)),
    pid: after.pid,
    sampleRequestBytes: after.sampleRequestBytes,
    sampleReplyBytes: after.sampleReplyBytes,
    restarted,
  };
}

/**
 * Per-node activity between two `sampleNodes` results, matched by id (nodes missing from `after`
 * are left out; see NodeStatsDelta.restarted for nodes missing from `before`). `probes` (e.g.
 * `PeakRssSampler.stop()`'s nodes) are subtracted from the traffic.
 */
export function diffNodeStats(before: ReadonlyArray<NodeSample>, after: ReadonlyArray<NodeSample>, probes: ReadonlyArray<ProbeTraffic> = []): NodeStatsDelta[] {
  const byId = new Map(before.map((s) => [s.id, s]));
  const probeById = new Map(probes.map((p) => [p.id, p]));
  return after.map((a) => diffNodeSample(byId.get(a.id), a, probeById.get(a.id)));
}

/** One node's peak RSS over a PeakRssSampler window, with the traffic the polling cost. */
export interface NodePeak extends ProbeTraffic {
  peakRssBytes: number;
  /** Successful polls. */
  samples: number;
  /** Failed polls (node down, timeout); the first message is in `firstError`. */
  errors: number;
  firstError?: string;
}

/** What a PeakRssSampler saw. */
export interface PeakRssResult {
  nodes: NodePeak[];
  /** Highest RSS of this process seen by the polls, in bytes. */
  processPeakRssBytes: number;
  durationMs: number;
}

export interface PeakRssSamplerOptions {
  /** Poll period in milliseconds (default 100). */
  intervalMs?: number;
  /** Per-poll timeout in milliseconds (default 2000). */
  timeoutMs?: number;
}

interface Tracked {
  node: NodeAddress;
  conn: RespConnection;
  peak: NodePeak;
}

/**
 * Polls each node's RSS (`INFO memory`, a small reply, one kept-open connection per node) and this
 * process's RSS every `intervalMs` between start() and stop(), keeping the peak of each. A node that
 * does not answer is counted in `errors` and polled again next time.
 */
export class PeakRssSampler {
  private readonly tracked: Tracked[];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private processPeakRssBytes = 0;
  private startedMs = 0;
  private readonly intervalMs: number;

  constructor(nodes: ReadonlyArray<NodeAddress>, options: PeakRssSamplerOptions = {}) {
    this.intervalMs = options.intervalMs ?? 100;
    const timeoutMs = options.timeoutMs ?? 2000;
    this.tracked = nodes.map((node) => ({
      node,
      conn: new RespConnection({ host: node.host, port: node.port, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs }),
      peak: { id: node.id, peakRssBytes: 0, samples: 0, errors: 0, netInBytes: 0, netOutBytes: 0, commands: 0 },
    }));
  }

  /** Takes a first poll and keeps polling until stop(). */
  async start(): Promise<this> {
    if (this.timer) throw new Error('PeakRssSampler already started');
    this.startedMs = performance.now();
    await this.poll();
    this.timer = setInterval(() => {
      if (!this.polling) this.polling = this.poll().finally(() => (this.polling = undefined));
    }, this.intervalMs);
    return this;
  }

  private async poll(): Promise<void> {
    this.processPeakRssBytes = Math.max(this.processPeakRssBytes, process.memoryUsage.rss());
    await Promise.all(
      this.tracked.map(async (t) => {
        try {
          const sections = await info(t.conn, 'memory');
          t.peak.peakRssBytes = Math.max(t.peak.peakRssBytes, infoNumber(sections, 'memory', 'used_memory_rss', t.conn.address));
          t.peak.samples++;
          t.peak.commands++;
        } catch (err) {
          t.peak.errors++;
          t.peak.firstError ??= (err as Error).message;
        }
      }),
    );
  }

  /** Stops polling after one last poll, closes the connections and returns the peaks. */
  async stop(): Promise<PeakRssResult> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.polling) await this.polling;
    await this.poll();
    for (const t of this.tracked) {
      t.peak.netInBytes = t.conn.bytesWritten;
      t.peak.netOutBytes = t.conn.bytesRead;
      t.conn.close();
    }
    return { nodes: this.tracked.map((t) => ({ ...t.peak })), processPeakRssBytes: this.processPeakRssBytes, durationMs: performance.now() - this.startedMs };
  }
}

/** A total over nodes, e.g. `sumOverNodes(deltas, (n) => n.cpuUserUs + n.cpuSysUs)`. */
export function sumOverNodes<T>(stats: ReadonlyArray<T>, pick: (n: T) => number): number {
  return stats.reduce((total, n) => total + pick(n), 0);
}
