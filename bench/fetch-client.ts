/**
 * The client whose memory the bench measures (bench/memory.ts): a process of its own, so its peak
 * RSS is the fetch's and nothing else's. Connects to the cluster, reports its RSS at rest, then on
 * request runs `filter` (count) in client mode over `[start, end)` and reports rows, time and its
 * peak RSS (/proc VmHWM: ownPeakRssBytes), plus the peaks of V8's heap, external memory and
 * ArrayBuffers sampled every 20 ms (what the RSS is made of). COPBENCH_MEMORY_TRACE=<file> writes
 * every sample to that file as CSV.
 *
 * Usage: fetch-client.ts <placement host:port> <start hex> <end hex> <filter request JSON>
 */
import { writeFileSync } from 'node:fs';
import { ownPeakRssBytes } from '../engine/util/process-memory';
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
  say({ ready: true, rssBytes: process.memoryUsage.rss(), peakRssBytes: ownPeakRssBytes() });
  const t0 = performance.now();
  const peaks = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  // COPBENCH_MEMORY_TRACE=<file>: every sample as a CSV line (ms since the fetch began; MiB), for diagnosis.
  const traceFile = process.env.COPBENCH_MEMORY_TRACE;
  const trace: string[] = ['ms,rss,heapUsed,heapTotal,external,arrayBuffers,maxRss'];
  const sample = (): void => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[k] = Math.max(peaks[k], m[k]);
    if (traceFile) trace.push([performance.now() - t0, m.rss, m.heapUsed, m.heapTotal, m.external, m.arrayBuffers, ownPeakRssBytes()].map((v, i) => (i === 0 ? v : v / 1048576).toFixed(1)).join(','));
  };
  const sampler = setInterval(sample, 20);
  sample();
  const out = await copr.run<FilterRequest, FilterResult>({ plugin: 'filter', request: JSON.parse(requestJson) as FilterRequest, start: Buffer.from(startHex, 'hex'), end: Buffer.from(endHex, 'hex'), mode: 'client', concurrency: 2 });
  clearInterval(sampler);
  sample();
  if (traceFile) writeFileSync(traceFile, `${trace.join('\n')}\n`);
  say({ peaks, rows: out.totals.rowsScanned, bytes: out.totals.bytesScanned, count: out.result.count, seconds: (performance.now() - t0) / 1000, wireBytesIn: out.wireBytesIn, peakRssBytes: ownPeakRssBytes(), rusageMaxRssBytes: process.resourceUsage().maxRSS * 1024 });
  client.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`fetch-client: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
