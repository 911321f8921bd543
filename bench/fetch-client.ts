/**
 * The client whose memory the bench measures (bench/memory.ts): a process of its own, so its peak
 * RSS is the fetch's and nothing else's. Connects to the cluster, reports its RSS at rest, then on
 * request runs `filter` (count) in client mode over `[start, end)` and reports rows, time and its
 * peak RSS (getrusage maxrss), plus the peaks of V8's heap, external memory and ArrayBuffers sampled
 * every 20 ms (what the RSS is made of).
 *
 * Usage: fetch-client.ts <placement host:port> <start hex> <end hex> <filter request JSON>
 */
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import type { FilterRequest, FilterResult } from '../plugins/filter';

async function main(): Promise<void> {
  const [placement, startHex, endHex, requestJson] = process.argv.slice(2);
  if (!placement || startHex === undefined || endHex === undefined || !requestJson) throw new Error('usage: fetch-client.ts <placement> <start hex> <end hex> <filter request JSON>');
  const client = await ClusterClient.connect({ placement });
  const copr = new Coprocessor(client);
  await copr.loadPlugin('filter');
  const say = (msg: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);
  say({ ready: true, rssBytes: process.memoryUsage.rss(), peakRssBytes: process.resourceUsage().maxRSS * 1024 });
  const peaks = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[k] = Math.max(peaks[k], m[k]);
  };
  const sampler = setInterval(sample, 20);
  const t0 = performance.now();
  const out = await copr.run<FilterRequest, FilterResult>({ plugin: 'filter', request: JSON.parse(requestJson) as FilterRequest, start: Buffer.from(startHex, 'hex'), end: Buffer.from(endHex, 'hex'), mode: 'client', concurrency: 2 });
  clearInterval(sampler);
  sample();
  say({ peaks, rows: out.totals.rowsScanned, bytes: out.totals.bytesScanned, count: out.result.count, seconds: (performance.now() - t0) / 1000, wireBytesIn: out.wireBytesIn, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
  client.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`fetch-client: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
