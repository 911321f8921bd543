/**
 * The point-operation tenant of an interference run, as a process of its own (forked by the
 * runner with an IPC channel): another tenant's application, whose event loop and CPU are not the
 * harness's. Were it in the harness's process, a client-mode analytic stream decoding rows there
 * would delay its replies and be counted as the nodes' interference.
 *
 * It runs YCSB-style point operations open loop at a target rate (latency from each operation's
 * intended start), zipfian keys over the dataset. Updates write the row's loaded value back (a
 * real durable write, but the data does not change), so the analytic answers stay comparable
 * across modes and phases.
 *
 * Protocol: the parent sends `{ type: 'phase', … }`, the tenant answers `{ type: 'result', … }`;
 * `{ type: 'stop' }` ends it. It exits when the parent goes away.
 */
import { ClusterClient } from '../../../engine/client/cluster-client';
import { SeededRandom } from '../../../engine/util/seeded-random';
import { syntheticKey } from '../../datasets/synthetic';
import { runOpenLoop } from '../../driver/metrics/load';
import { datasetRows } from '../../datasets/catalog';
import { ScrambledZipfian } from '../../driver/zipfian';
import type { DatasetSpec } from '../../spec';
import type { LatencySummary } from '../../driver/metrics/latency';

/** What the parent sends to start the tenant. */
export interface TenantInit {
  type: 'init';
  placement: string;
  dataset: DatasetSpec;
  zipfianTheta: number;
  readProportion: number;
}

/** One measured phase. */
export interface TenantPhase {
  type: 'phase';
  opsPerSec: number;
  durationMs: number;
  maxInFlight: number;
  seed: number;
}

export interface TenantResult {
  type: 'result';
  ops: number;
  errors: number;
  errorMessages: string[];
  opsPerSec: number;
  latency: LatencySummary;
  reads: number;
  updates: number;
}

export type TenantMessage = TenantInit | TenantPhase | { type: 'stop' };
export type TenantReply = { type: 'ready'; rows: number } | TenantResult | { type: 'error'; message: string };

const send = (reply: TenantReply): void => void process.send?.(reply);

async function main(): Promise<void> {
  let client: ClusterClient | undefined;
  let init: TenantInit | undefined;
  let values: Buffer[] = [];
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: TenantMessage) => {
    void (async () => {
      try {
        if (message.type === 'init') {
          init = message;
          client = await ClusterClient.connect({ placement: message.placement });
          // The loaded values, to write back on update (ids are row indexes: keys row:<id>).
          values = [];
          for await (const row of datasetRows(message.dataset) as AsyncIterable<{ value: Buffer }>) values.push(row.value);
          send({ type: 'ready', rows: values.length });
        } else if (message.type === 'phase') {
          if (!client || !init) throw new Error('phase before init');
          const c = client;
          const random = new SeededRandom(message.seed);
          const zipf = new ScrambledZipfian(values.length, init.zipfianTheta, new SeededRandom(message.seed + 1));
          let reads = 0;
          let updates = 0;
          const readShare = init.readProportion;
          const result = await runOpenLoop({
            targetOpsPerSec: message.opsPerSec,
            durationMs: message.durationMs,
            maxInFlight: message.maxInFlight,
            op: async () => {
              const id = zipf.next();
              if (random.next() < readShare) {
                reads++;
                await c.get(syntheticKey(id));
              } else {
                updates++;
                await c.set(syntheticKey(id), values[id]!);
              }
            },
          });
          send({ type: 'result', ops: result.ops, errors: result.errors, errorMessages: result.errorMessages, opsPerSec: result.opsPerSec, latency: result.latency, reads, updates });
        } else if (message.type === 'stop') {
          client?.close();
          process.exit(0);
        }
      } catch (err) {
        send({ type: 'error', message: (err as Error)?.message ?? String(err) });
      }
    })();
  });
}

void main();
