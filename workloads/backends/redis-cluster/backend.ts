/**
 * The `redis-cluster` backend: a Redis 7 Cluster the harness starts on loopback (launcher.ts), or
 * one it attaches to with `--placement host:port` (any node of it). At open, the Lua library is
 * loaded on every primary (FUNCTION LOAD REPLACE). Rows live in B buckets (layout.ts); a plugin
 * call covers the dataset unit by unit, pushed down as FCALL_RO of the plugin's Lua twin or
 * fetched by ZRANGE and handled by the plugin's TypeScript code in this process (coprocessor.ts).
 */
import type net from 'node:net';
import type { SocketLike } from '../../../engine/client/connection';
import type { CoprocessorOptions } from '../../../engine/client/coprocessor';
import { datasetRows } from '../../datasets/catalog';
import { datasetFingerprint } from '../../datasets/fingerprint';
import type { WorkloadSpec } from '../../spec';
import type { NodeSample } from '../../driver/metrics/node-stats';
import { unshape, type LinkHandle, type Network } from '../../network/network';
import type { Backend, BackendClient, BackendReport, Layout, LoadOptions, LoadReport } from '../backend';
import { RedisClusterClient } from './cluster-client';
import { RedisCoprocessor, type RedisData } from './coprocessor';
import { loadFunctions, type LoadedFunctions } from './functions';
import { LAYOUT_KEY, bucketKey, bucketOf, decodeMember, encodeMember, workUnits, type BucketLayout } from './layout';
import { RedisCluster, type RedisPersistence } from './launcher';
import { loadRedisRows, readLayout } from './loader';
import { readNodeStats } from './node-stats';
import { keySlot } from './slots';

/** The backend section's options, resolved (spec `backend.nodes`, `backend.buckets`, `backend.sliceRows`). */
export interface RedisOptions {
  nodes: number;
  buckets: number;
  sliceRows: number;
}

/** Which dataset (and bucket count) the cluster holds, next to the layout (same hash tag, same slot). */
const FINGERPRINT_KEY = '{copbench}:fingerprint';

/** A key's ordinal: every dataset's keys are `row:<9-digit ordinal>`. */
function ordinalOf(key: Buffer): number {
  const match = /^row:(\d{9})$/.exec(key.toString('latin1'));
  if (!match) throw new Error(`the Redis layout stores keys row:<9 digits> only, got ${JSON.stringify(key.toString('latin1').slice(0, 40))}`);
  return Number(match[1]);
}

/** A client of the Redis backend: point operations on the bucket layout, and the plugin runner. */
class RedisBackendClient implements BackendClient {
  readonly coprocessor: RedisCoprocessor;

  constructor(
    private readonly client: RedisClusterClient,
    private readonly data: () => RedisData,
    options: CoprocessorOptions,
  ) {
    this.coprocessor = new RedisCoprocessor(client, data, options);
  }

  wireBytes(): { in: number; out: number } {
    return this.coprocessor.wireBytes();
  }

  /** The bucket a row lives in (rows past the loaded ones, YCSB inserts, go to the last bucket). */
  private bucketKeyOf(layout: BucketLayout, ordinal: number): { key: string; slot: number } {
    const key = bucketKey(Math.min(layout.buckets - 1, bucketOf(layout, ordinal)));
    return { key, slot: keySlot(key) };
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    const ordinal = ordinalOf(key);
    const bucket = this.bucketKeyOf(this.data().layout, ordinal);
    const members = (await this.client.call(bucket.slot, ['ZRANGE', bucket.key, String(ordinal), String(ordinal), 'BYSCORE'])) as Buffer[];
    return members.length ? Buffer.from(decodeMember(members[0]!).value) : undefined;
  }

  async set(key: Buffer, value: Buffer): Promise<void> {
    const ordinal = ordinalOf(key);
    const bucket = this.bucketKeyOf(this.data().layout, ordinal);
    await this.client.call(bucket.slot, ['FCALL', 'copbench_put', '1', bucket.key, String(ordinal), encodeMember(key, value)]);
  }

  close(): void {
    this.client.close();
  }
}

export class RedisBackend implements Backend {
  readonly kind = 'redis-cluster';
  private data: RedisData | undefined;

  private constructor(
    private readonly seeds: string[],
    private readonly embedded: RedisCluster | undefined,
    private readonly admin: RedisClusterClient,
    readonly network: Network,
    private readonly options: RedisOptions,
    private readonly functions: LoadedFunctions,
    private readonly facts: ClusterFacts,
  ) {}

  /** Starts a cluster (or attaches to `attach`), and loads the Lua library on every primary. */
  static async open(options: RedisOptions, network: Network, log: (line: string) => void, attach?: string): Promise<RedisBackend> {
    let embedded: RedisCluster | undefined;
    let seeds: string[];
    if (attach) {
      seeds = [attach];
    } else {
      log(`starting a Redis Cluster: ${options.nodes} primaries on 127.0.0.1 (appendonly yes, appendfsync always)`);
      embedded = await RedisCluster.start({ nodes: options.nodes });
      seeds = embedded.addresses;
    }
    try {
      const admin = await RedisClusterClient.connect(seeds);
      const functions = await loadFunctions(admin);
      const facts = await clusterFacts(admin);
      log(`Redis ${facts.version}: ${admin.primaries.length} primaries; Lua library ${functions.library} (sha256 ${functions.sha256.slice(0, 12)}) loaded on each`);
      return new RedisBackend(seeds, embedded, admin, network, options, functions, facts);
    } catch (err) {
      await embedded?.stop();
      throw err;
    }
  }

  report(): BackendReport {
    const p = this.facts.persistence;
    const durable = p.every((x) => x.appendonly === 'yes' && x.appendfsync === 'always');
    return {
      kind: this.kind,
      version: `Redis ${this.facts.version}`,
      cluster: this.embedded ? 'embedded' : this.seeds[0]!,
      durability: durable ? 'a write is acknowledged after the AOF is fsync\'d (appendonly yes, appendfsync always), as copbench acknowledges durable writes' : `NOT the same as copbench: primaries run ${p.map((x) => `appendonly ${x.appendonly}, appendfsync ${x.appendfsync}`).join('; ')}`,
      details: {
        primaries: this.admin.primaries.map((x) => x.address),
        persistence: p,
        luaLibrary: this.functions.library,
        luaSha256: this.functions.sha256,
        buckets: this.options.buckets,
        sliceRows: this.options.sliceRows,
        busyReplyThresholdMs: this.facts.busyThresholdMs,
      },
    };
  }

  async ensureDataset(spec: WorkloadSpec, options: LoadOptions): Promise<LoadReport> {
    const fingerprint = datasetFingerprint(spec.dataset);
    const stamp = `${fingerprint}/buckets=${this.options.buckets}`;
    await this.unshaped();
    if (String(await this.admin.call(keySlot(FINGERPRINT_KEY), ['GET', FINGERPRINT_KEY])) === stamp) {
      this.install(await readLayout(this.admin));
      options.log(`dataset already loaded (fingerprint ${fingerprint}, ${this.options.buckets} buckets): skipping the load`);
      return { fingerprint, skipped: true, rows: spec.dataset.rows, loadMs: 0 };
    }
    const started = Date.now();
    await this.admin.call(keySlot(FINGERPRINT_KEY), ['DEL', FINGERPRINT_KEY]);
    await this.dropBucketsBeyond(this.options.buckets);
    let loaded = 0;
    const total = spec.dataset.rows;
    async function* counted(rows: ReturnType<typeof datasetRows>): AsyncIterable<{ key: Buffer; value: Buffer }> {
      for await (const row of rows) {
        yield row;
        if (++loaded % 2000 === 0) options.onLoadProgress?.(loaded, total);
      }
    }
    const result = await loadRedisRows(this.admin, counted(datasetRows(spec.dataset)), { totalRows: total, buckets: this.options.buckets });
    options.onLoadProgress?.(result.rowsLoaded, total);
    await this.admin.call(keySlot(FINGERPRINT_KEY), ['SET', FINGERPRINT_KEY, stamp]);
    this.install(result.layout);
    return { fingerprint, skipped: false, rows: result.rowsLoaded, loadMs: Date.now() - started };
  }

  /** Buckets of an earlier load with more buckets than this one would otherwise keep old rows. */
  private async dropBucketsBeyond(buckets: number): Promise<void> {
    const raw = await this.admin.call(keySlot(LAYOUT_KEY), ['GET', LAYOUT_KEY]);
    if (raw === null) return;
    const old = JSON.parse(String(raw)) as BucketLayout;
    for (let b = buckets; b < old.buckets; b++) await this.admin.call(keySlot(bucketKey(b)), ['DEL', bucketKey(b)]);
  }

  private install(layout: BucketLayout): void {
    this.data = { layout, units: workUnits(layout, this.options.sliceRows), functions: this.functions, busyThresholdMs: this.facts.busyThresholdMs };
  }

  /** Redis moves no data by itself: the layout is the loaded one. */
  async settle(): Promise<Layout> {
    const { units } = this.loaded();
    return { pieces: units.length, pieceName: `bucket slices (${this.options.buckets} buckets, ≤ ${this.options.sliceRows} rows a slice)`, nodes: new Set(units.map((u) => this.admin.ownerOf(u.slot))).size };
  }

  private loaded(): RedisData {
    if (!this.data) throw new Error('no dataset loaded on the Redis backend yet (ensureDataset first)');
    return this.data;
  }

  sampleNodes(): Promise<NodeSample[]> {
    return readNodeStats(this.admin);
  }

  link(profile: string): LinkHandle {
    return this.network.link(profile);
  }

  unshaped(): Promise<void> {
    return unshape(this.network);
  }

  async client(wrapSocket?: (socket: net.Socket) => SocketLike, options: CoprocessorOptions = {}): Promise<BackendClient> {
    const client = await RedisClusterClient.connect(this.seeds, { wrapSocket });
    return new RedisBackendClient(client, () => this.loaded(), options);
  }

  async close(): Promise<void> {
    this.admin.close();
    await this.embedded?.stop();
  }
}

interface ClusterFacts {
  version: string;
  persistence: RedisPersistence[];
  /** The lowest busy-reply-threshold of the primaries, ms. */
  busyThresholdMs: number;
}

/** The server version, every primary's persistence settings (for the manifest) and its busy threshold. */
async function clusterFacts(admin: RedisClusterClient): Promise<ClusterFacts> {
  const info = String(await admin.callNode(admin.primaries[0]!.address, ['INFO', 'server']));
  const version = /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  const persistence = await Promise.all(
    admin.primaries.map(async (p) => {
      const config = (await admin.callNode(p.address, ['CONFIG', 'GET', 'app*'])) as Buffer[];
      const get = (name: string): string => String(config[config.findIndex((c) => String(c) === name) + 1] ?? '');
      const save = (await admin.callNode(p.address, ['CONFIG', 'GET', 'save'])) as Buffer[];
      return { appendonly: get('appendonly'), appendfsync: get('appendfsync'), save: String(save[1] ?? '') } as RedisPersistence;
    }),
  );
  const thresholds = await Promise.all(admin.primaries.map(async (p) => Number(((await admin.callNode(p.address, ['CONFIG', 'GET', 'busy-reply-threshold'])) as Buffer[])[1])));
  return { version, persistence, busyThresholdMs: Math.min(...thresholds) };
}
