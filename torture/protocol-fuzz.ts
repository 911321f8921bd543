/**
 * Protocol fuzz: thousands of seeded random, truncated, mutated and oversized RESP frames against a
 * storage node (and a share against the placement service), each on its own connection, many at
 * once. After every batch both processes must still be the same process and answer PING; node
 * memory must stay bounded; and the data acknowledged before the fuzz must read back unchanged.
 */
import type { ProcessHandle } from '../engine/cluster/local-cluster';
import { RespError, type RespValue } from '../engine/protocol/resp';
import { fuzzFrame, type FrameKind } from './fuzz-frames';
import { processMemory } from '../engine/util/process-memory';
import { isRunning, withCluster, withConnection } from './common';
import { pingOk, rawExchange } from './raw-resp';
import { MiB, allOfFigure, atMostFigure, equalFigure, mib, toMiB, type FigureInput, type Scenario, type ScenarioContext } from './types';

export interface FuzzParams {
  /** Frames in all; every fifth goes to the placement service, the rest to the node. */
  frames: number;
  batches: number;
  /** Connections in flight at once. */
  concurrency: number;
  /** Keys written (and acknowledged) before the fuzz. */
  ackedKeys: number;
  /** Bound on the node's peak RSS growth over its RSS before the fuzz. */
  maxRssGrowthBytes: number;
}

/** What the fuzz sent, and what came back. */
interface FuzzTally {
  /** Frames sent, by kind. */
  kinds: Record<FrameKind, number>;
  /** Frames sent to each process. */
  node: number;
  placement: number;
  replies: number;
  errorReplies: number;
  unparseable: number;
  hung: number;
  /** PINGs after the batches, and how many were answered. */
  pings: number;
  pingsOk: number;
}

/** The processes under fuzz. */
interface Targets {
  node: ProcessHandle;
  placement: ProcessHandle;
}

/** The node's RSS before the fuzz, at its peak during it, and after it. */
interface Rss {
  before: number;
  peak: number;
  after: number;
}

export const fuzzScenario: Scenario<FuzzParams> = {
  name: 'fuzz',
  title: 'random, truncated, mutated and oversized RESP frames',
  sizes: {
    small: { frames: 3000, batches: 6, concurrency: 24, ackedKeys: 300, maxRssGrowthBytes: 256 * MiB },
    full: { frames: 20_000, batches: 20, concurrency: 32, ackedKeys: 1000, maxRssGrowthBytes: 256 * MiB },
  },
  async run(p, ctx) {
    return withCluster({ nodes: 1 }, async ({ cluster }) => {
      const targets: Targets = { node: cluster.nodes.get(1)!, placement: cluster.placement };
      const acked = await writeAckedKeys(targets.node, p.ackedKeys);
      const rss: Rss = { before: processMemory(targets.node.pid)?.rssBytes ?? NaN, peak: NaN, after: NaN };
      const tally: FuzzTally = {
        kinds: { random: 0, truncated: 0, mutated: 0, oversized: 0, command: 0, pipelined: 0 },
        node: 0, placement: 0, replies: 0, errorReplies: 0, unparseable: 0, hung: 0, pings: 0, pingsOk: 0,
      };
      const fuzz = await fuzzInBatches(p, ctx, targets, tally, rss.before);
      rss.peak = fuzz.rssPeak;
      rss.after = processMemory(targets.node.pid)?.rssBytes ?? NaN;
      const intact = await countIntact(targets.node, acked);
      return fuzzFigures(p, tally, fuzz.crashed, rss, intact, acked.size);
    });
  },
};

/** SETs `count` keys on the node; returns those whose write was acknowledged, with their values. */
async function writeAckedKeys(node: ProcessHandle, count: number): Promise<Map<string, Buffer>> {
  const acked = new Map<string, Buffer>();
  await withConnection({ host: node.host, port: node.port, requestTimeoutMs: 10_000 }, async (good) => {
    const writes: Array<Promise<RespValue>> = [];
    for (let i = 0; i < count; i++) {
      const key = `acked:${String(i).padStart(6, '0')}`;
      const value = Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`);
      writes.push(good.call(['SET', key, value]).then((reply) => {
        if (reply === 'OK') acked.set(key, value);
        return reply;
      }));
    }
    await Promise.all(writes);
  });
  return acked;
}

/**
 * Sends the frames in `p.batches` batches; after each, both processes must be the same processes
 * and answer PING. Stops early when one exited; returns why, and the node's peak RSS.
 */
async function fuzzInBatches(p: FuzzParams, ctx: ScenarioContext, targets: Targets, tally: FuzzTally, rssBefore: number): Promise<{ crashed: string; rssPeak: number }> {
  const perBatch = Math.ceil(p.frames / p.batches);
  let crashed = '';
  let rssPeak = rssBefore;
  for (let b = 0; b < p.batches && !crashed; b++) {
    const last = Math.min(p.frames, b * perBatch + perBatch);
    await sendFrames(b * perBatch, last, p.concurrency, ctx.seed, targets, tally);
    crashed = await checkProcessesAfterBatch(targets, b, tally);
    const mem = processMemory(targets.node.pid);
    if (mem) rssPeak = Math.max(rssPeak, mem.rssBytes, mem.peakRssBytes);
    ctx.log(`fuzz: batch ${b + 1}/${p.batches}: ${last} frames sent, node RSS ${mem ? mib(mem.rssBytes) : '?'}`);
  }
  return { crashed, rssPeak };
}

/** Frames `[first, last)`, each on its own connection, `concurrency` at once; every fifth goes to placement. */
async function sendFrames(first: number, last: number, concurrency: number, seed: number, targets: Targets, tally: FuzzTally): Promise<void> {
  let next = first;
  const lane = async (): Promise<void> => {
    while (next < last) {
      const i = next++;
      const frame = fuzzFrame(seed, i);
      tally.kinds[frame.kind]++;
      const target = i % 5 === 4 ? targets.placement : targets.node;
      if (target === targets.placement) tally.placement++;
      else tally.node++;
      const o = await rawExchange(target.host, target.port, frame.bytes, { halfClose: true, timeoutMs: 5000 });
      tally.replies += o.replies.length;
      tally.errorReplies += o.replies.filter((v) => v instanceof RespError).length;
      if (o.unparseable) tally.unparseable++;
      if (o.hung) tally.hung++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/** PINGs the node and placement; returns how a process that exited did, or '' when both run. */
async function checkProcessesAfterBatch(targets: Targets, b: number, tally: FuzzTally): Promise<string> {
  let crashed = '';
  for (const proc of [targets.node, targets.placement]) {
    if (!isRunning(proc)) crashed = `${proc.role} exited (${proc.child.exitCode ?? proc.child.signalCode}) during batch ${b + 1}`;
    tally.pings++;
    if (await pingOk(proc.host, proc.port)) tally.pingsOk++;
  }
  return crashed;
}

/** How many acknowledged keys read back byte for byte (0 when the read fails). */
async function countIntact(node: ProcessHandle, acked: Map<string, Buffer>): Promise<number> {
  try {
    return await withConnection({ host: node.host, port: node.port, requestTimeoutMs: 10_000 }, async (check) => {
      const keys = [...acked.keys()];
      const values = (await check.call(['MGET', ...keys])) as Array<Buffer | null>;
      return keys.filter((k, i) => values[i] && values[i]!.equals(acked.get(k)!)).length;
    });
  } catch {
    return 0; // the figure fails
  }
}

function fuzzFigures(p: FuzzParams, tally: FuzzTally, crashed: string, rss: Rss, intact: number, ackedKeys: number): FigureInput[] {
  const sent = tally.node + tally.placement;
  const mix = Object.entries(tally.kinds).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    equalFigure('crashes', crashed ? 1 : 0, 0, sent, crashed || `${sent} frames (${tally.node} to the node, ${tally.placement} to placement): ${mix}`),
    allOfFigure('PING answered after each batch', tally.pingsOk, tally.pings, `${p.batches} batches × node and placement`),
    equalFigure('unparseable replies', tally.unparseable, 0, sent, `${tally.replies} replies read, ${tally.errorReplies} of them errors`),
    equalFigure('connections left hanging after FIN', tally.hung, 0, sent, 'neither closed nor answered within 5 s of the client half-closing'),
    atMostFigure('node RSS growth (peak - before)', toMiB(rss.peak - rss.before), toMiB(p.maxRssGrowthBytes), p.batches, `before ${mib(rss.before)}, after ${mib(rss.after)}, peak ${mib(rss.peak)}`, 'MiB'),
    allOfFigure('acked keys intact after the fuzz', intact, ackedKeys, 'MGET of every key acknowledged before the fuzz, values compared byte for byte'),
  ];
}
