/**
 * Client-side fetch vs a minimal pipe (run by bench/coprocessor.ts on its filter dataset).
 *
 * A slow fetch path would make pushdown look good, so the rows/s arriving in the client through
 * copbench's own paths are compared with the fastest fetch this machine allows without copbench: a
 * separate process (bench/pipe-server.ts) streaming lmdb getRange over loopback TCP as RESP, decoded
 * here with the same RespReader. Same rows, one stream each, unlimited link:
 *
 * - the client-mode storage path: `filter` (count) in client mode, one region at a time — rows go
 *   through SCANRANGE batches, RemoteStorage and CheckedStorage into the plugin's loop; compared
 *   with the pipe + the same predicate;
 * - the cluster client scan: `ClusterClient.scanBatches()`; compared with the pipe alone.
 *
 * Goal: ≥ 0.7× the pipe for both. Each row's note gives the CPU per row of the serving process
 * (the node, or the pipe server) and of the receiving one (this process), summed over the measured
 * repetitions: a one-stream fetch is as fast as the slower of the two when they overlap, and
 * their sum when they take turns.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ClusterClient } from '../engine/client/cluster-client';
import type { Coprocessor } from '../engine/client/coprocessor';
import { RespReader } from '../engine/protocol/resp';
import { processCpu } from '../engine/util/process-cpu';
import type { FilterRequest, FilterResult } from '../plugins/filter';
import { spawnBenchChild } from './child';
import { ratioAtLeast, type NewRow } from './goals';

export interface FetchBenchContext {
  client: ClusterClient;
  copr: Coprocessor;
  /** LMDB dir holding the same rows (the pipe server opens it read-side). */
  rawDir: string;
  start: Buffer;
  end: Buffer;
  rows: number;
  /** The node serving the rows (for its CPU per row). */
  nodePid: number | undefined;
  filterRequest: FilterRequest;
  /** The filter's predicate on a value, and how many rows it matches. */
  matches: (value: Buffer) => boolean;
  expectedMatches: number;
  add(row: NewRow): void;
  onCleanup(name: string, run: () => Promise<void> | void): void;
  cleanupNow(name: string): Promise<void>;
  sideBySide(contenders: Array<() => Promise<number>>, warmups: Array<() => Promise<unknown>>): Promise<number[][]>;
  median(values: number[]): number;
}

/** Reads one stream from the pipe server: rows and predicate matches (when a predicate is given). */
function pipeFetch(port: number, matches: ((value: Buffer) => boolean) | undefined): Promise<{ rows: number; matched: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const reader = new RespReader('reply');
    let rows = 0;
    let matched = 0;
    let key = true;
    socket.setNoDelay(true);
    socket.once('connect', () => socket.write('x'));
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      for (;;) {
        const v = reader.next();
        if (v === undefined) return;
        if (v === null) {
          socket.destroy();
          resolve({ rows, matched });
          return;
        }
        if (!key) {
          rows++;
          if (matches && matches(v as Buffer)) matched++;
        }
        key = !key;
      }
    });
    socket.once('error', reject);
  });
}

export async function benchFetchVsPipe(ctx: FetchBenchContext): Promise<void> {
  process.stdout.write(`\nclient-side fetch vs a minimal pipe (lmdb getRange → RESP → loopback TCP → RespReader), ${ctx.rows} rows\n`);
  const pipe = spawnBenchChild('pipe-server.ts', [ctx.rawDir, ctx.start.toString('hex'), ctx.end.toString('hex')]);
  ctx.onCleanup('pipe-server', () => pipe.stop());
  const { port } = await pipe.nextMessage<{ port: number }>(30_000);

  /** CPU seconds used by the server and by this process during the measured runs of one contender. */
  interface CpuTally {
    rows: number;
    server: number;
    client: number;
  }
  const cpuOf = (pid: number | undefined): number => {
    const c = pid === undefined ? undefined : processCpu(pid);
    return c ? c.userSeconds + c.systemSeconds : Number.NaN;
  };
  const clientCpu = (): number => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  };
  /** One way of fetching the rows: its name, the process serving it, and one run of it. */
  interface Contender {
    what: string;
    serverPid: number | undefined;
    run: () => Promise<{ rows: number; matched?: number }>;
  }
  /** Times one run of `c` and checks its rows; adds its CPU to `tally` when given (measured runs, not warm-ups). */
  const timed = (c: Contender, tally?: CpuTally) => async (): Promise<number> => {
    const server0 = cpuOf(c.serverPid);
    const client0 = clientCpu();
    const t0 = performance.now();
    const got = await c.run();
    const seconds = (performance.now() - t0) / 1000;
    if (tally) {
      tally.rows += got.rows;
      tally.server += cpuOf(c.serverPid) - server0;
      tally.client += clientCpu() - client0;
    }
    if (got.rows !== ctx.rows) throw new Error(`${c.what} returned ${got.rows} rows, expected ${ctx.rows}`);
    if (got.matched !== undefined && got.matched !== ctx.expectedMatches) throw new Error(`${c.what} matched ${got.matched} rows, expected ${ctx.expectedMatches}`);
    return got.rows / seconds;
  };
  const pipePid = pipe.child.pid;
  const contenders: Contender[] = [
    {
      what: 'filter client mode',
      serverPid: ctx.nodePid,
      run: async () => {
        const out = await ctx.copr.run<FilterRequest, FilterResult>({ plugin: 'filter', request: ctx.filterRequest, start: ctx.start, end: ctx.end, mode: 'client', concurrency: 1 });
        return { rows: out.totals.rowsScanned, matched: out.result.count };
      },
    },
    { what: 'pipe + predicate', serverPid: pipePid, run: () => pipeFetch(port, ctx.matches) },
    {
      what: 'scanBatches',
      serverPid: ctx.nodePid,
      run: async () => {
        let rows = 0;
        for await (const batch of ctx.client.scanBatches(ctx.start, ctx.end)) rows += batch.length;
        return { rows };
      },
    },
    { what: 'pipe', serverPid: pipePid, run: () => pipeFetch(port, undefined).then((r) => ({ rows: r.rows })) },
  ];
  const perRow = (t: CpuTally, side: 'server' | 'client'): string => (t.rows > 0 && Number.isFinite(t[side]) ? `${((t[side] * 1e9) / t.rows).toFixed(0)}` : '?');
  const cpuNote = (copbench: CpuTally, baseline: CpuTally): string =>
    `CPU per row (user + system, over the measured runs): node ${perRow(copbench, 'server')} ns + client ${perRow(copbench, 'client')} ns; pipe server ${perRow(baseline, 'server')} ns + its reader ${perRow(baseline, 'client')} ns`;
  const twice = (f: () => Promise<number>) => async (): Promise<void> => {
    await f();
    await f();
  };
  const tallies = contenders.map((): CpuTally => ({ rows: 0, server: 0, client: 0 }));
  const [cmTally, pfTally, scTally, poTally] = tallies;
  const [cm, pf, sc, po] = await ctx.sideBySide(
    contenders.map((c, i) => timed(c, tallies[i])),
    contenders.map((c) => twice(timed(c))),
  );
  const row = (measurement: string, copbench: number[], baseline: number[], baselineName: string, note: string): void =>
    ctx.add({ group: 'fetch', measurement, unit: 'rows/s', copbench: ctx.median(copbench), baseline: ctx.median(baseline), baselineName, goal: ratioAtLeast(0.7), copbenchSamples: copbench, baselineSamples: baseline, note });
  row('client-side fetch: filter in client mode (RemoteStorage), 1 region at a time', cm!, pf!, 'minimal pipe + same predicate (separate process, one stream)', cpuNote(cmTally!, pfTally!));
  row('client-side fetch: ClusterClient.scanBatches', sc!, po!, 'minimal pipe (separate process, one stream)', cpuNote(scTally!, poTally!));
  await ctx.cleanupNow('pipe-server');
}
