/**
 * Crash: a mixed write load (SET, MSET, DEL) runs while a random node is killed with SIGKILL and
 * restarted, again and again, and the placement service is killed once too. Afterwards every key is
 * read back and compared with the last value whose write was acknowledged (a write that was not
 * acknowledged may or may not have landed, so its value is accepted too). Then the cluster must
 * serve new writes with no manual step.
 */
import type { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { SeededRandom } from '../engine/util/seeded-random';
import { Problems, underLoad, waitForRegionsOnEveryNode, withCluster } from './common';
import { allOfFigure, atMostFigure, equalFigure, type FigureInput, type Scenario, type ScenarioContext } from './types';
import { sleep } from '../test/helpers';

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

/** Write operations, acknowledged or not. */
interface WriteOps {
  acked: number;
  failed: number;
}

/** What the kill rounds did: processes killed, rounds after which the cluster was whole again. */
interface KillRounds {
  nodeKills: number;
  placementKills: number;
  recovered: number;
  lastRecoveryMs: number;
}

/** What a fresh client found after the kills. */
interface ReadBack {
  /** Keys whose value is neither the last acknowledged one nor an unacknowledged attempt. */
  lost: Problems;
  /** How long the read of every key took, retries included. */
  servedMs: number;
  /** Probe keys written after the kills that read back right, of `probes`. */
  probesOk: number;
  probes: number;
}

export const crashScenario: Scenario<CrashParams> = {
  name: 'crash',
  title: 'kill -9 of nodes and placement under a write load',
  sizes: {
    small: { nodes: 3, keys: 4000, writers: 12, kills: 3, placementKillAt: 1, upMs: [400, 800], downMs: 300, recoveryBoundMs: 30_000 },
    full: { nodes: 3, keys: 20_000, writers: 24, kills: 8, placementKillAt: 3, upMs: [700, 1500], downMs: 500, recoveryBoundMs: 30_000 },
  },
  async run(p, ctx) {
    const random = new SeededRandom(ctx.seed);
    return withCluster({ nodes: p.nodes, splitKeys: Math.max(500, Math.floor(p.keys / (2 * p.nodes))) }, async ({ cluster, connect }) => {
      const writer = await connect({ retryBudgetMs: 1500 });
      const state = await writeFirstValues(writer, p.keys);
      await waitForRegionsOnEveryNode(cluster, p.nodes);
      ctx.log(`crash: ${p.keys} keys over ${(await cluster.fetchMap()).regions.length} regions on ${p.nodes} nodes; ${p.writers} writers start`);
      const load = new WriteLoad(writer, state, p, ctx.seed);
      const rounds = await underLoad(p.writers, (w, running) => load.writerLoop(w, running), () => killAndRestartRounds(cluster, p, random, ctx));
      const readBack = await readBackWithFreshClient(cluster, state, p);
      return crashFigures(p, state.size, load.ops, rounds, readBack);
    });
  },
};

/** Gives every key a first acknowledged value, 2000 keys per MSET; splits and balancing spread the regions. */
async function writeFirstValues(writer: ClusterClient, keys: number): Promise<Map<string, KeyState>> {
  const state = new Map<string, KeyState>();
  for (let base = 0; base < keys; base += 2000) {
    const pairs: Array<[string, string]> = [];
    for (let i = base; i < Math.min(keys, base + 2000); i++) pairs.push([keyName(i), 'v0']);
    await writer.mset(pairs);
    for (const [k] of pairs) state.set(k, { acked: 'v0', unacked: new Set() });
  }
  return state;
}

/**
 * Loops of SET, MSET and DEL on one client. Writer w of `p.writers` only writes the keys
 * i ≡ w (mod writers), so each key's writes are ordered and `state` knows its last acked value.
 */
class WriteLoad {
  readonly ops: WriteOps = { acked: 0, failed: 0 };

  constructor(
    private readonly client: ClusterClient,
    private readonly state: Map<string, KeyState>,
    private readonly p: CrashParams,
    private readonly seed: number,
  ) {}

  async writerLoop(w: number, running: () => boolean): Promise<void> {
    const { p } = this;
    const r = new SeededRandom(this.seed * 1000 + w + 1);
    const mine = Math.ceil((p.keys - w) / p.writers);
    const pick = (): string => keyName(w + p.writers * r.int(mine));
    for (let op = 1; running(); op++) await this.write(randomWrites(r, pick, `w${w}-${op}`));
  }

  /** One write command; records the values as acked or as possibly landed (null = deleted). */
  private async write(writes: Array<[string, string | null]>): Promise<void> {
    try {
      if (writes.length > 1) await this.client.mset(writes.map(([k, v]) => [k, v!] as [string, string]));
      else if (writes[0]![1] === null) await this.client.del(writes[0]![0]);
      else await this.client.set(writes[0]![0], writes[0]![1]);
      this.ops.acked++;
      for (const [k, v] of writes) this.state.set(k, { acked: v, unacked: new Set() });
    } catch {
      this.ops.failed++;
      for (const [k, v] of writes) this.state.get(k)!.unacked.add(v);
    }
  }
}

/** 60% a SET, 25% an MSET of up to 4 distinct keys, 15% a DEL (value null). */
function randomWrites(r: SeededRandom, pick: () => string, value: string): Array<[string, string | null]> {
  const roll = r.next();
  if (roll < 0.6) return [[pick(), value]];
  if (roll < 0.85) return [...new Set(Array.from({ length: 4 }, pick))].map((k) => [k, value]);
  return [[pick(), null]];
}

/** `p.kills` rounds of load, kill -9 and restart (the placement service in round `placementKillAt`, else a random node). */
async function killAndRestartRounds(cluster: LocalCluster, p: CrashParams, random: SeededRandom, ctx: ScenarioContext): Promise<KillRounds> {
  const rounds: KillRounds = { nodeKills: 0, placementKills: 0, recovered: 0, lastRecoveryMs: 0 };
  for (let i = 0; i < p.kills; i++) {
    await sleep(p.upMs[0] + random.int(p.upMs[1] - p.upMs[0] + 1));
    const t0 = Date.now();
    let killed: string;
    if (i === p.placementKillAt) {
      await cluster.killPlacement('SIGKILL');
      rounds.placementKills++;
      await sleep(p.downMs);
      await cluster.startPlacement();
      killed = 'placement';
    } else {
      const victim = 1 + random.int(p.nodes);
      await cluster.killNode(victim, 'SIGKILL');
      rounds.nodeKills++;
      await sleep(p.downMs);
      await cluster.startNode(victim);
      killed = `node ${victim}`;
    }
    ctx.log(`crash: round ${i + 1}/${p.kills}: kill -9 ${killed}, restarted`);
    try {
      await cluster.waitForNodesUp(p.nodes, p.recoveryBoundMs);
      rounds.recovered++;
      rounds.lastRecoveryMs = Date.now() - t0;
    } catch (err) {
      ctx.log(`crash: round ${i + 1}: cluster not whole again: ${(err as Error).message}`);
    }
  }
  // The load runs on a little after the last restart.
  await sleep(p.upMs[0]);
  return rounds;
}

/**
 * Reads every key back with a fresh client, which must find the cluster serving by itself, and
 * checks new writes across the keyspace land and read back.
 */
async function readBackWithFreshClient(cluster: LocalCluster, state: Map<string, KeyState>, p: CrashParams): Promise<ReadBack> {
  const t0 = Date.now();
  const reader = await ClusterClient.connect({ placement: cluster.placementAddress, retryBudgetMs: p.recoveryBoundMs });
  const lost = new Problems();
  const probes = Array.from({ length: 200 }, (_, i) => keyName(Math.floor((i * p.keys) / 200)).replace('crash:', 'probe:'));
  try {
    const keys = [...state.keys()];
    const values = await reader.mget(keys);
    const servedMs = Date.now() - t0;
    keys.forEach((k, i) => {
      const s = state.get(k)!;
      const got = values[i] === undefined ? null : values[i]!.toString();
      if (got !== s.acked && !s.unacked.has(got)) lost.add(`${k}: read ${JSON.stringify(got)}, acked ${JSON.stringify(s.acked)}`);
    });
    await reader.mset(probes.map((k) => [k, `probe-${k}`] as [string, string]));
    const back = await reader.mget(probes);
    const probesOk = back.filter((v, i) => v?.toString() === `probe-${probes[i]}`).length;
    return { lost, servedMs, probesOk, probes: probes.length };
  } finally {
    reader.close();
  }
}

function crashFigures(p: CrashParams, keys: number, ops: WriteOps, rounds: KillRounds, back: ReadBack): FigureInput[] {
  const kills = `${rounds.nodeKills} kill -9 of nodes, ${rounds.placementKills} of placement`;
  return [
    equalFigure('acked writes lost', back.lost.count, 0, keys, `keys checked one by one against their last acked value; ${ops.acked} acked and ${ops.failed} unacked write ops; ${kills}${back.lost.eg()}`),
    allOfFigure('restarts back to a whole cluster', rounds.recovered, p.kills, `${kills}; each restarted process re-registered and every node got the map (last in ${rounds.lastRecoveryMs} ms)`),
    atMostFigure('read-back after the last restart', back.servedMs, p.recoveryBoundMs, keys, 'a fresh client read every key, no manual step', 'ms'),
    allOfFigure('new writes served after the kills', back.probesOk, back.probes, 'MSET + MGET of probe keys spread over the keyspace'),
  ];
}
