/**
 * Protocol fuzz: thousands of seeded random, truncated, mutated and oversized RESP frames against a
 * storage node (and a share against the placement service), each on its own connection, many at
 * once. After every batch both processes must still be the same process and answer PING; node
 * memory must stay bounded; and the data acknowledged before the fuzz must read back unchanged.
 */
import { LocalCluster } from '../engine/cluster/local-cluster';
import { RespConnection } from '../engine/client/connection';
import { RespError, type RespValue } from '../engine/protocol/resp';
import { fuzzFrame, type FrameKind } from './fuzz-frames';
import { processMemory } from '../engine/util/process-memory';
import { pingOk, rawExchange } from './raw-resp';
import { MiB, allOfFigure, atMostFigure, equalFigure, mib, toMiB, type Scenario } from './types';

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

export const fuzzScenario: Scenario<FuzzParams> = {
  name: 'fuzz',
  title: 'random, truncated, mutated and oversized RESP frames',
  sizes: {
    small: { frames: 3000, batches: 6, concurrency: 24, ackedKeys: 300, maxRssGrowthBytes: 256 * MiB },
    full: { frames: 20_000, batches: 20, concurrency: 32, ackedKeys: 1000, maxRssGrowthBytes: 256 * MiB },
  },
  async run(p, ctx) {
    const cluster = await LocalCluster.start({ nodes: 1 });
    try {
      const node = cluster.nodes.get(1)!;
      const placement = cluster.placement;
      const good = new RespConnection({ host: node.host, port: node.port, requestTimeoutMs: 10_000 });
      const acked = new Map<string, Buffer>();
      try {
        const writes: Array<Promise<RespValue>> = [];
        for (let i = 0; i < p.ackedKeys; i++) {
          const key = `acked:${String(i).padStart(6, '0')}`;
          const value = Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`);
          writes.push(good.call(['SET', key, value]).then((reply) => {
            if (reply === 'OK') acked.set(key, value);
            return reply;
          }));
        }
        await Promise.all(writes);
      } finally {
        good.close();
      }
      const rssBefore = processMemory(node.pid)?.rssBytes ?? NaN;
      let rssPeak = rssBefore;
      const counts: Record<FrameKind, number> = { random: 0, truncated: 0, mutated: 0, oversized: 0, command: 0, pipelined: 0 };
      const tally = { node: 0, placement: 0, replies: 0, errorReplies: 0, unparseable: 0, hung: 0, pingsOk: 0, pings: 0 };
      const perBatch = Math.ceil(p.frames / p.batches);
      let crashed = '';
      for (let b = 0; b < p.batches && !crashed; b++) {
        const first = b * perBatch;
        const last = Math.min(p.frames, first + perBatch);
        let next = first;
        const lane = async (): Promise<void> => {
          while (next < last) {
            const i = next++;
            const frame = fuzzFrame(ctx.seed, i);
            counts[frame.kind]++;
            const target = i % 5 === 4 ? placement : node;
            if (target === placement) tally.placement++;
            else tally.node++;
            const o = await rawExchange(target.host, target.port, frame.bytes, { halfClose: true, timeoutMs: 5000 });
            tally.replies += o.replies.length;
            tally.errorReplies += o.replies.filter((v) => v instanceof RespError).length;
            if (o.unparseable) tally.unparseable++;
            if (o.hung) tally.hung++;
          }
        };
        await Promise.all(Array.from({ length: p.concurrency }, lane));
        // After each batch: same processes, both answer PING.
        for (const proc of [node, placement]) {
          if (proc.child.exitCode !== null || proc.child.signalCode !== null) crashed = `${proc.role} exited (${proc.child.exitCode ?? proc.child.signalCode}) during batch ${b + 1}`;
          tally.pings++;
          if (await pingOk(proc.host, proc.port)) tally.pingsOk++;
        }
        const mem = processMemory(node.pid);
        if (mem) rssPeak = Math.max(rssPeak, mem.rssBytes, mem.peakRssBytes);
        ctx.log(`fuzz: batch ${b + 1}/${p.batches}: ${last} frames sent, node RSS ${mem ? mib(mem.rssBytes) : '?'}`);
      }
      const rssAfter = processMemory(node.pid)?.rssBytes ?? NaN;
      // The acknowledged data reads back unchanged.
      let intact = 0;
      const check = new RespConnection({ host: node.host, port: node.port, requestTimeoutMs: 10_000 });
      try {
        const keys = [...acked.keys()];
        const values = (await check.call(['MGET', ...keys])) as Array<Buffer | null>;
        keys.forEach((k, i) => {
          if (values[i] && values[i]!.equals(acked.get(k)!)) intact++;
        });
      } catch {
        /* intact stays 0 and the figure fails */
      } finally {
        check.close();
      }
      const sent = tally.node + tally.placement;
      const mix = Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ');
      return [
        equalFigure('crashes', crashed ? 1 : 0, 0, sent, crashed || `${sent} frames (${tally.node} to the node, ${tally.placement} to placement): ${mix}`),
        allOfFigure('PING answered after each batch', tally.pingsOk, tally.pings, `${p.batches} batches × node and placement`),
        equalFigure('unparseable replies', tally.unparseable, 0, sent, `${tally.replies} replies read, ${tally.errorReplies} of them errors`),
        equalFigure('connections left hanging after FIN', tally.hung, 0, sent, 'neither closed nor answered within 5 s of the client half-closing'),
        atMostFigure('node RSS growth (peak - before)', toMiB(rssPeak - rssBefore), toMiB(p.maxRssGrowthBytes), p.batches, `before ${mib(rssBefore)}, after ${mib(rssAfter)}, peak ${mib(rssPeak)}`, 'MiB'),
        allOfFigure('acked keys intact after the fuzz', intact, acked.size, 'MGET of every key acknowledged before the fuzz, values compared byte for byte'),
      ];
    } finally {
      await cluster.stop();
    }
  },
};
