/**
 * Crash: a mixed write load (SET, MSET, DEL) runs while a random node is killed with SIGKILL and
 * restarted, again and again, and the placement service is killed once too. Afterwards every key is
 * read back and compared with the last value whose write was acknowledged (a write that was not
 * acknowledged may or may not have landed, so its value is accepted too). Then the cluster must
 * serve new writes with no manual step.
 */
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { SeededRandom } from '../engine/util/seeded-random';
import { allOfFigure, atMostFigure, equalFigure, type Scenario } from './types';
import { sleep, waitFor } from '../test/helpers';

export interface CrashParams {
  nodes: number;
  /** Keys under load (each written first, so each has an acknowledged value). */
  keys: number;
  /** Concurrent writers; each owns the keys i ≡ w (mod writers), so a key's writes are ordered. */
  writers: number;
  /** kill -9 rounds; the one at `placementKillAt` kills the placement service instead of a node. */
  kills: number;
  placementKillAt: number;
  /** Load time before each kill, in ms (uniform in [min, max]). */
  upMs: [number, number];
  /** How long a killed process stays down before its restart, in ms. */
  downMs: number;
  /** Longest wait for the cluster to be whole again after a restart (the figure's bound). */
  recoveryBoundMs: number;
}

/** What is known about a key: the last acknowledged value (null = deleted) and unacknowledged attempts since. */
interface KeyState {
  acked: string | null;
  unacked: Set<string | null>;
}

const keyName = (i: number): string => `crash:${String(i).padStart(7, '0')}`;

export const crashScenario: Scenario<CrashParams> = {
  name: 'crash',
  title: 'kill -9 of nodes and placement under a write load',
  sizes: {
    small: { nodes: 3, keys: 4000, writers: 12, kills: 3, placementKillAt: 1, upMs: [400, 800], downMs: 300, recoveryBoundMs: 30_000 },
    full: { nodes: 3, keys: 20_000, writers: 24, kills: 8, placementKillAt: 3, upMs: [700, 1500], downMs: 500, recoveryBoundMs: 30_000 },
  },
  async run(p, ctx) {
    const random = new SeededRandom(ctx.seed);
    const cluster = await LocalCluster.start({ nodes: p.nodes, splitKeys: Math.max(500, Math.floor(p.keys / (2 * p.nodes))) });
    const writer = await ClusterClient.connect({ placement: cluster.placementAddress, retryBudgetMs: 1500 });
    const state = new Map<string, KeyState>();
    try {
      // Every key gets a first acknowledged value; splits and balancing spread the regions.
      for (let base = 0; base < p.keys; base += 2000) {
        const pairs: Array<[string, string]> = [];
        for (let i = base; i < Math.min(p.keys, base + 2000); i++) pairs.push([keyName(i), 'v0']);
        await writer.mset(pairs);
        for (const [k] of pairs) state.set(k, { acked: 'v0', unacked: new Set() });
      }
      await waitFor('regions on every node', async () => (new Set((await cluster.fetchMap()).regions.map((r) => r.nodeId)).size === p.nodes ? true : undefined), 30_000);
      ctx.log(`crash: ${p.keys} keys over ${(await cluster.fetchMap()).regions.length} regions on ${p.nodes} nodes; ${p.writers} writers start`);

      let stop = false;
      const ops = { acked: 0, failed: 0 };
      const writers = Array.from({ length: p.writers }, async (_, w) => {
        const r = new SeededRandom(ctx.seed * 1000 + w + 1);
        const mine = Math.ceil((p.keys - w) / p.writers);
        const pick = (): string => keyName(w + p.writers * r.int(mine));
        for (let op = 1; !stop; op++) {
          const roll = r.next();
          const writes: Array<[string, string | null]> =
            roll < 0.6 ? [[pick(), `w${w}-${op}`]] : roll < 0.85 ? [...new Set(Array.from({ length: 4 }, pick))].map((k) => [k, `w${w}-${op}`]) : [[pick(), null]];
          try {
            if (writes.length > 1) await writer.mset(writes.map(([k, v]) => [k, v!] as [string, string]));
            else if (writes[0]![1] === null) await writer.del(writes[0]![0]);
            else await writer.set(writes[0]![0], writes[0]![1]);
            ops.acked++;
            for (const [k, v] of writes) state.set(k, { acked: v, unacked: new Set() });
          } catch {
            ops.failed++;
            for (const [k, v] of writes) state.get(k)!.unacked.add(v);
          }
        }
      });

      let recovered = 0;
      let nodeKills = 0;
      let placementKills = 0;
      let lastRecoveryMs = 0;
      try {
        for (let i = 0; i < p.kills; i++) {
          await sleep(p.upMs[0] + random.int(p.upMs[1] - p.upMs[0] + 1));
          const t0 = Date.now();
          if (i === p.placementKillAt) {
            await cluster.killPlacement('SIGKILL');
            placementKills++;
            await sleep(p.downMs);
            await cluster.startPlacement();
            ctx.log(`crash: round ${i + 1}/${p.kills}: kill -9 placement, restarted`);
          } else {
            const victim = 1 + random.int(p.nodes);
            await cluster.killNode(victim, 'SIGKILL');
            nodeKills++;
            await sleep(p.downMs);
            await cluster.startNode(victim);
            ctx.log(`crash: round ${i + 1}/${p.kills}: kill -9 node ${victim}, restarted`);
          }
          try {
            await cluster.waitForNodesUp(p.nodes, p.recoveryBoundMs);
            recovered++;
            lastRecoveryMs = Date.now() - t0;
          } catch (err) {
            ctx.log(`crash: round ${i + 1}: cluster not whole again: ${(err as Error).message}`);
          }
        }
        await sleep(p.upMs[0]);
      } finally {
        stop = true;
        await Promise.all(writers);
      }

      // Read back with a fresh client: it must find the cluster serving by itself.
      const t0 = Date.now();
      const reader = await ClusterClient.connect({ placement: cluster.placementAddress, retryBudgetMs: p.recoveryBoundMs });
      let lost = 0;
      const examples: string[] = [];
      let servedMs = NaN;
      let probesOk = 0;
      const probes = Array.from({ length: 200 }, (_, i) => keyName(Math.floor((i * p.keys) / 200)).replace('crash:', 'probe:'));
      try {
        const keys = [...state.keys()];
        const values = await reader.mget(keys);
        servedMs = Date.now() - t0;
        keys.forEach((k, i) => {
          const s = state.get(k)!;
          const got = values[i] === undefined ? null : values[i]!.toString();
          if (got !== s.acked && !s.unacked.has(got)) {
            lost++;
            if (examples.length < 3) examples.push(`${k}: read ${JSON.stringify(got)}, acked ${JSON.stringify(s.acked)}`);
          }
        });
        // New writes across the keyspace land and read back.
        await reader.mset(probes.map((k) => [k, `probe-${k}`] as [string, string]));
        const back = await reader.mget(probes);
        probesOk = back.filter((v, i) => v?.toString() === `probe-${probes[i]}`).length;
      } finally {
        reader.close();
      }
      const kills = `${nodeKills} kill -9 of nodes, ${placementKills} of placement`;
      return [
        equalFigure('acked writes lost', lost, 0, state.size, `keys checked one by one against their last acked value; ${ops.acked} acked and ${ops.failed} unacked write ops; ${kills}${examples.length ? `; e.g. ${examples.join('; ')}` : ''}`),
        allOfFigure('restarts back to a whole cluster', recovered, p.kills, `${kills}; each restarted process re-registered and every node got the map (last in ${lastRecoveryMs} ms)`),
        atMostFigure('read-back after the last restart', servedMs, p.recoveryBoundMs, state.size, 'a fresh client read every key, no manual step', 'ms'),
        allOfFigure('new writes served after the kills', probesOk, probes.length, 'MSET + MGET of probe keys spread over the keyspace'),
      ];
    } finally {
      writer.close();
      await cluster.stop();
    }
  },
};
