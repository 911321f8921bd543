/**
 * The client whose memory the bench's query row measures (bench/memory.ts): a process of its own,
 * started with the V8 flags of `npm run workload`, that makes the filter workload's calls at one
 * sweep point through the query runner's call path (checkedCall: rows digested as they stream),
 * pushdown and client mode alternately, checks that every answer has the same checksum, and
 * reports its peak RSS (ownPeakRssBytes: /proc VmHWM, not getrusage, which counts the parent).
 *
 * Usage: query-client.ts <placement host:port> <request JSON> <concurrency> <rounds>
 */
import { ownPeakRssBytes } from '../engine/util/process-memory';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { datasetRange } from '../workloads/datasets/catalog';
import { checkedCall } from '../workloads/families/query/checked-call';

async function main(): Promise<void> {
  const [placement, requestJson, concurrencyArg, roundsArg] = process.argv.slice(2);
  if (!placement || !requestJson || !concurrencyArg || !roundsArg) throw new Error('usage: query-client.ts <placement> <request JSON> <concurrency> <rounds>');
  const client = await ClusterClient.connect({ placement });
  const copr = new Coprocessor(client);
  await copr.loadPlugin('filter');
  const say = (msg: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);
  say({ ready: true, peakRssBytes: ownPeakRssBytes() });
  const range = datasetRange();
  const checksums = new Set<string>();
  let rows = 0;
  let calls = 0;
  const t0 = performance.now();
  for (let round = 0; round < Number(roundsArg); round++) {
    for (const mode of round % 2 === 0 ? (['pushdown', 'client'] as const) : (['client', 'pushdown'] as const)) {
      const { outcome, checksum } = await checkedCall(copr, { plugin: 'filter', request: JSON.parse(requestJson) as unknown, start: range.start, end: range.end, mode, concurrency: Number(concurrencyArg) });
      checksums.add(checksum);
      rows = outcome.streamed?.rows ?? -1;
      calls++;
    }
  }
  say({ calls, rows, checksums: [...checksums], seconds: (performance.now() - t0) / 1000, peakRssBytes: ownPeakRssBytes(), execArgv: process.execArgv });
  client.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`query-client: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
