/**
 * tinybench micro-benchmarks of hot paths (group `micro`): RESP parsing, RESP encoding and region
 * lookup, with no baseline (rates only). Each task's input is built and checked before timing.
 */
import { regionForKey, type ClusterMap, type RegionInfo } from '../engine/placement/cluster-map';
import { RespReader, RespWriter, encodeCommand } from '../engine/protocol/resp';
import { prng } from '../engine/util/seeded-random';
import type { BenchConfig } from './cli-config';
import { HOST } from './cluster-setup';
import { makeDataset, makeKey } from './dataset';
import type { Results } from './report';

type Task = import('tinybench', { with: { 'resolution-mode': 'import' } }).Task;

export async function benchMicro(cfg: BenchConfig, results: Results): Promise<void> {
  process.stdout.write(`\ntinybench micro-benchmarks (${cfg.tinybenchTimeMs} ms per task)\n`);
  // tinybench is ESM-only: with "module": "node16" TypeScript keeps this import() as a real dynamic
  // import in our CommonJS output (it is not rewritten into require()).
  const { Bench } = await import('tinybench');

  const parseBatch = pipelinedGetParser(cfg);
  const encodeReply = scanRangeReplyEncoder(cfg);
  const expectedReplyBytes = encodeReply();
  const { map, probes } = regionLookupMap(cfg);
  let probe = 0;
  let sink = 0;

  const bench = new Bench({ time: cfg.tinybenchTimeMs, warmupTime: Math.min(250, cfg.tinybenchTimeMs / 2) });
  bench.add('RespReader: pipelined batch of 100 GET requests', () => {
    sink += parseBatch();
  });
  bench.add('RespWriter: 1000-row SCANRANGE reply', () => {
    sink += encodeReply();
  });
  bench.add('regionForKey: 1000 regions', () => {
    sink += regionForKey(map, probes[probe++ & 1023]!).id;
  });
  await bench.run();
  if (sink === 0) throw new Error('micro-benchmarks did no work');
  addMicroRows(results, bench.tasks, expectedReplyBytes);
}

/** RespReader: one pipelined batch of 100 GET requests, parsed as a server would. */
function pipelinedGetParser(cfg: BenchConfig): () => number {
  const getKeys = Array.from({ length: 100 }, (_, i) => makeKey('p', i * 97, cfg.keyBytes));
  const pipelined = Buffer.concat(getKeys.map((k) => encodeCommand(['GET', k])));
  const parseBatch = (): number => {
    const reader = new RespReader('request');
    reader.push(pipelined);
    let n = 0;
    while (reader.next() !== undefined) n++;
    return n;
  };
  if (parseBatch() !== 100) throw new Error('RespReader did not parse 100 requests');
  return parseBatch;
}

/** RespWriter: a SCANRANGE reply of 1000 rows (16-byte keys, 100-byte values), encoded as the node does. */
function scanRangeReplyEncoder(cfg: BenchConfig): () => number {
  const replyRows = makeDataset('r', 1000, cfg, 11);
  return (): number => {
    const body = new RespWriter(64 * 1024);
    for (let i = 0; i < 1000; i++) body.bulk(replyRows.keys[i]!).bulk(replyRows.values[i]!);
    const next = Buffer.concat([replyRows.keys[999]!, Buffer.from([0])]);
    const header = new RespWriter(next.length + 64).arrayHeader(2).bulk(next).arrayHeader(2000);
    return header.take().length + body.take().length;
  };
}

/** regionForKey over a map of 1000 regions (uniform split of a 16-byte key space), 1024 probe keys. */
function regionLookupMap(cfg: BenchConfig): { map: ClusterMap; probes: Buffer[] } {
  const regionCount = 1000;
  const span = 1e15;
  const regions: RegionInfo[] = Array.from({ length: regionCount }, (_, i) => ({
    id: i + 1,
    start: i === 0 ? Buffer.alloc(0) : makeKey('r', Math.floor((i * span) / regionCount), cfg.keyBytes),
    end: i === regionCount - 1 ? Buffer.alloc(0) : makeKey('r', Math.floor(((i + 1) * span) / regionCount), cfg.keyBytes),
    epoch: 1,
    nodeId: (i % 3) + 1,
    state: 'serving',
  }));
  const map: ClusterMap = { version: 1, regions, nodes: [1, 2, 3].map((id) => ({ id, host: HOST, port: 1 + id, up: true })), policy: { splitKeys: 1, splitBytes: 1 } };
  const rand = prng(3);
  const probes = Array.from({ length: 1024 }, () => makeKey('r', Math.floor(rand() * span), cfg.keyBytes));
  return { map, probes };
}

/** One row per task, in the order benchMicro adds them; a task that did not complete becomes a note. */
function addMicroRows(results: Results, tasks: Task[], expectedReplyBytes: number): void {
  const perItem = [100, 1000, 1];
  const units = ['requests/s', 'rows/s', 'lookups/s'];
  const notes = ['100 GET commands per op', `1000 rows per op, ${(expectedReplyBytes / 1024).toFixed(0)} KiB per reply`, 'binary search, 16-byte keys'];
  tasks.forEach((task, i) => {
    const result = task.result;
    if (result.state !== 'completed') {
      results.note(`${task.name}: tinybench state ${result.state}${result.state === 'errored' ? `: ${result.error.message}` : ''}`);
      return;
    }
    // period = totalTime / runs: the mean time per op, so items/s = perItem * 1000 / period.
    const perSecond = (perItem[i]! * 1000) / result.period;
    results.add({
      group: 'micro',
      measurement: task.name,
      unit: units[i]!,
      copbench: perSecond,
      baseline: null,
      baselineName: '—',
      ratio: null,
      note: `${notes[i]}; mean ${(result.period * 1000).toFixed(2)} µs/op ±${result.latency.rme.toFixed(1)}%`,
    });
  });
}
