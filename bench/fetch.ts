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
 * Goal: ≥ 0.7× the pipe for both.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ClusterClient } from '../engine/client/cluster-client';
import type { Coprocessor } from '../engine/client/coprocessor';
import { RespReader } from '../engine/protocol/resp';
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

  const timed = (what: string, run: () => Promise<{ rows: number; matched?: number }>) => async (): Promise<number> => {
    const t0 = performance.now();
    const got = await run();
    const seconds = (performance.now() - t0) / 1000;
    if (got.rows !== ctx.rows) throw new Error(`${what} returned ${got.rows} rows, expected ${ctx.rows}`);
    if (got.matched !== undefined && got.matched !== ctx.expectedMatches) throw new Error(`${what} matched ${got.matched} rows, expected ${ctx.expectedMatches}`);
    return got.rows / seconds;
  };
  const pipeOnly = timed('pipe', () => pipeFetch(port, undefined).then((r) => ({ rows: r.rows })));
  const pipeFiltered = timed('pipe + predicate', () => pipeFetch(port, ctx.matches));
  const scan = timed('scanBatches', async () => {
    let rows = 0;
    for await (const batch of ctx.client.scanBatches(ctx.start, ctx.end)) rows += batch.length;
    return { rows };
  });
  const clientMode = timed('filter client mode', async () => {
    const out = await ctx.copr.run<FilterRequest, FilterResult>({ plugin: 'filter', request: ctx.filterRequest, start: ctx.start, end: ctx.end, mode: 'client', concurrency: 1 });
    return { rows: out.totals.rowsScanned, matched: out.result.count };
  });
  const twice = (f: () => Promise<number>) => async (): Promise<void> => {
    await f();
    await f();
  };
  const [cm, pf, sc, po] = await ctx.sideBySide([clientMode, pipeFiltered, scan, pipeOnly], [twice(clientMode), twice(pipeFiltered), twice(scan), twice(pipeOnly)]);
  const row = (measurement: string, copbench: number[], baseline: number[], baselineName: string): void =>
    ctx.add({ group: 'fetch', measurement, unit: 'rows/s', copbench: ctx.median(copbench), baseline: ctx.median(baseline), baselineName, goal: ratioAtLeast(0.7), copbenchSamples: copbench, baselineSamples: baseline });
  row('client-side fetch: filter in client mode (RemoteStorage), 1 region at a time', cm!, pf!, 'minimal pipe + same predicate (separate process, one stream)');
  row('client-side fetch: ClusterClient.scanBatches', sc!, po!, 'minimal pipe (separate process, one stream)');
  await ctx.cleanupNow('pipe-server');
}
