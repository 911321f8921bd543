/**
 * What the torture scenarios share: a local cluster that is stopped (with every client the
 * scenario opened) however the scenario ends, the wait for regions to reach every node, whether a
 * process still runs, the aggregate over the sample dataset that several scenarios check, and a
 * count of problems that keeps the first few as examples for a figure's detail.
 */
import type { ChildProcess } from 'node:child_process';
import { LocalCluster, type LocalClusterOptions } from '../engine/cluster/local-cluster';
import { ClusterClient, type ClusterClientOptions, type KeyLike } from '../engine/client/cluster-client';
import { RespConnection, type ConnectionOptions } from '../engine/client/connection';
import type { Coprocessor, CoprocessorMode, CoprocessorOutcome } from '../engine/client/coprocessor';
import { SAMPLE_SCHEMA } from '../engine/plugin-api';
import type { GroupResult } from '../plugins/aggregate';
import { allOfFigure, type FigureInput } from './types';

/** A key-value row of the sample dataset (syntheticRows), kept in the harness to check answers against. */
export type Row = { key: Buffer; value: Buffer };

/** A local cluster and the clients a scenario connected to it. */
export interface ScenarioCluster {
  cluster: LocalCluster;
  /** Connects a client to the cluster's placement service; it is closed when the scenario ends. */
  connect(options?: Omit<ClusterClientOptions, 'placement'>): Promise<ClusterClient>;
  /** Every client `connect` has made so far. */
  clients: readonly ClusterClient[];
}

/**
 * Starts a local cluster, runs `body` on it, then closes every client `body` connected and stops
 * the cluster, also when `body` throws: a scenario must not leave processes behind.
 */
export async function withCluster<T>(options: LocalClusterOptions, body: (sc: ScenarioCluster) => Promise<T>): Promise<T> {
  const cluster = await LocalCluster.start(options);
  const clients: ClusterClient[] = [];
  const connect = async (more: Omit<ClusterClientOptions, 'placement'> = {}): Promise<ClusterClient> => {
    const client = await ClusterClient.connect({ placement: cluster.placementAddress, ...more });
    clients.push(client);
    return client;
  };
  try {
    return await body({ cluster, connect, clients });
  } finally {
    for (const c of clients) c.close();
    await cluster.stop();
  }
}

/** Runs `body` on a fresh RESP connection and closes it afterwards. */
export async function withConnection<T>(options: ConnectionOptions, body: (conn: RespConnection) => Promise<T>): Promise<T> {
  const conn = new RespConnection(options);
  try {
    return await body(conn);
  } finally {
    conn.close();
  }
}

/**
 * Runs `count` concurrent loops while `during` runs (a loop goes on while `running()` is true),
 * then stops them however `during` ends and waits for their operations in flight: the load a
 * scenario keeps up while it kills, splits or moves.
 */
export async function underLoad<T>(count: number, loop: (i: number, running: () => boolean) => Promise<void>, during: () => Promise<T>): Promise<T> {
  let running = true;
  const loops = Array.from({ length: count }, (_, i) => loop(i, () => running));
  try {
    return await during();
  } finally {
    running = false;
    await Promise.all(loops);
  }
}

/** Waits (up to 30 s) until splits and balancing have put a region on each of `nodes` nodes. */
export async function waitForRegionsOnEveryNode(cluster: LocalCluster, nodes: number): Promise<void> {
  await cluster.waitForSpread({ minNodes: nodes, quietMs: 0 });
}

/** True while the process has neither exited nor been killed by a signal. */
export function isRunning(proc: { child: ChildProcess }): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

/** Every row of the sample dataset that loadRows/syntheticRows writes (keys `row:…`). */
export const ALL_ROWS = { start: 'row:', end: 'row;' } as const;

/** `aggregate` of the sample schema's `amount` over `[start, end)`: one group with count, sum, min, max. */
export function aggregateAmount(copr: Coprocessor, range: { start: KeyLike; end: KeyLike } = ALL_ROWS, mode: CoprocessorMode = 'pushdown'): Promise<CoprocessorOutcome<GroupResult[]>> {
  return copr.run<unknown, GroupResult[]>({ plugin: 'aggregate', request: { schema: SAMPLE_SCHEMA, column: 'amount' }, mode, start: range.start, end: range.end });
}

/** Problems of one kind: how many there were, and the first few in words for a figure's detail. */
export class Problems {
  count = 0;
  readonly examples: string[] = [];

  constructor(private readonly keep = 3) {}

  add(what: string): void {
    this.count++;
    if (this.examples.length < this.keep) this.examples.push(what);
  }

  /** `; e.g. <first>; <second>` to end a detail with, or '' when there was no problem. */
  eg(): string {
    return this.examples.length ? `; e.g. ${this.examples.join('; ')}` : '';
  }

  /** The examples joined by `separator`, or `otherwise` when there was no problem. */
  or(otherwise: string, separator = '; '): string {
    return this.examples.length ? this.examples.join(separator) : otherwise;
  }
}

/** Checks that should all pass: how many ran, how many passed, and why the others did not. */
export class Checks {
  n = 0;
  passed = 0;
  /** Why checks failed (also notes that are no check of their own), the first `keep` of them. */
  readonly failures: Problems;

  constructor(keep = Infinity) {
    this.failures = new Problems(keep);
  }

  pass(): void {
    this.n++;
    this.passed++;
  }

  fail(why: string): void {
    this.n++;
    this.failures.add(why);
  }

  /** An all-of-N figure: the failures as its detail, or `allPassed` when there were none. */
  figure(name: string, allPassed: string, separator = '; '): FigureInput {
    return allOfFigure(name, this.passed, this.n, this.failures.or(allPassed, separator));
  }
}
