/**
 * The `copbench` backend: copbench's own engine. Starts the embedded cluster (or attaches to a
 * running one with `--placement`), makes sure the dataset is loaded (skipped when the stored
 * fingerprint matches), waits until the region layout settles, and hands out clients (one per
 * emulated link) whose coprocessor runs any deployed plugin in both modes.
 */
import type net from 'node:net';
import { LocalCluster } from '../../../engine/cluster/local-cluster';
import { ClusterClient } from '../../../engine/client/cluster-client';
import type { SocketLike } from '../../../engine/client/connection';
import { Coprocessor, type CoprocessorOptions } from '../../../engine/client/coprocessor';
import { decodeClusterMap, type ClusterMap } from '../../../engine/placement/cluster-map';
import { datasetFingerprint, storedFingerprint, storeFingerprint } from '../../datasets/fingerprint';
import { loadRows, syntheticKey } from '../../datasets/synthetic';
import { datasetRange, datasetRows } from '../../datasets/catalog';
import type { ClusterSpec, WorkloadSpec } from '../../spec';
import { sampleNodes, type NodeAddress, type NodeSample } from '../../driver/metrics/node-stats';
import { CostModel } from '../../driver/cost-model/calibrate';
import { loopbackKind } from '../../network/loopback';
import { unshape, type LinkHandle, type Network } from '../../network/network';
import type { Backend, BackendClient, BackendReport, CalibrateOptions, Layout, LoadOptions, LoadReport } from '../backend';

export type { NodeAddress, LoadReport };

export interface SessionOptions {
  /** host:port of a running cluster's placement service; the embedded cluster when absent. */
  cluster?: string;
  log: (line: string) => void;
  /** Where the embedded cluster's processes run and what shapes the links (default: loopback). */
  network?: Network;
}

/** A copbench client: the cluster client and its coprocessor. */
export class CopbenchClient implements BackendClient {
  readonly coprocessor: Coprocessor;

  constructor(
    readonly cluster: ClusterClient,
    options: CoprocessorOptions = {},
  ) {
    this.coprocessor = new Coprocessor(cluster, options);
  }

  wireBytes(): { in: number; out: number } {
    return this.cluster.wireBytes();
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    return this.cluster.get(key);
  }

  set(key: Buffer, value: Buffer): Promise<void> {
    return this.cluster.set(key, value);
  }

  close(): void {
    this.cluster.close();
  }
}

export class CopbenchBackend implements Backend {
  readonly kind = 'copbench';

  private constructor(
    readonly placement: string,
    private readonly embedded: LocalCluster | undefined,
    private readonly admin: ClusterClient,
    readonly network: Network,
  ) {}

  static async open(spec: WorkloadSpec, options: SessionOptions): Promise<CopbenchBackend> {
    let embedded: LocalCluster | undefined;
    let placement = options.cluster;
    const network = options.network ?? loopbackKind.open();
    if (!placement) {
      const hosts = new Set([network.processHost('placement', 0).host, ...Array.from({ length: spec.cluster.nodes }, (_, i) => network.processHost('node', i + 1).host)]);
      options.log(`starting an embedded cluster: placement + ${spec.cluster.nodes} nodes on ${[...hosts].join(', ')} (network ${network.kind})`);
      embedded = await LocalCluster.start({
        processHost: (role, id) => network.processHost(role, id),
        nodes: spec.cluster.nodes,
        splitKeys: spec.cluster.splitKeys,
        splitBytes: spec.cluster.splitBytes,
        nodeArgs: nodeArgsOf(spec.cluster),
      });
      const failed = embedded.pluginDeployments.filter((d) => !d.ok);
      for (const f of failed) options.log(`warning: plugin ${f.file} did not deploy: ${f.message}`);
      placement = embedded.placementAddress;
    }
    const admin = await ClusterClient.connect({ placement });
    return new CopbenchBackend(placement, embedded, admin, network);
  }

  /** Nodes as placement lists them now (for INFO sampling). */
  async nodes(): Promise<NodeAddress[]> {
    const map = await this.map();
    return map.nodes.filter((n) => n.up).map((n) => ({ id: n.id, host: n.host, port: n.port }));
  }

  async map(): Promise<ClusterMap> {
    const reply = await this.admin.placementCall(['PD.MAP']);
    return decodeClusterMap((reply as Buffer).toString('utf8'));
  }

  /** Loads the dataset unless the cluster already holds exactly this one. */
  async ensureDataset(spec: WorkloadSpec, options: LoadOptions): Promise<LoadReport> {
    const fingerprint = datasetFingerprint(spec.dataset);
    // Loads run unshaped: a kernel-shaped network may still carry the last measured profile.
    await this.unshaped();
    if ((await storedFingerprint(this.admin)) === fingerprint) {
      options.log(`dataset already loaded (fingerprint ${fingerprint}): skipping the load`);
      return { fingerprint, skipped: true, rows: spec.dataset.rows, loadMs: 0 };
    }
    const started = Date.now();
    // Another dataset may be there: remove its rows beyond ours (ours overwrite the rest).
    await this.clearFrom(syntheticKey(spec.dataset.rows));
    const rows = await loadRows(
      this.admin,
      datasetRows(spec.dataset),
      2000,
      4,
      (loaded) => options.onLoadProgress?.(loaded, spec.dataset.rows),
    );
    await storeFingerprint(this.admin, fingerprint);
    return { fingerprint, skipped: false, rows, loadMs: Date.now() - started };
  }

  private async clearFrom(start: Buffer): Promise<void> {
    const { end } = datasetRange();
    for await (const batch of this.admin.scanBatches(start, end)) await this.admin.delMany(batch.map((r) => r.key));
  }

  /**
   * What placement's INFO says about splits to come: `pendingSplits`, regions the nodes' last
   * heartbeats show over the split policy; `reportAgeMs`, how old the stalest of those heartbeats
   * is. Null when placement does not report them (an older placement behind --placement).
   */
  async splitState(): Promise<{ pendingSplits: number; reportAgeMs: number } | null> {
    const info = ((await this.admin.placementCall(['INFO'])) as Buffer).toString('utf8');
    const pending = /^pending_splits:(\d+)/m.exec(info);
    const age = /^heartbeat_age_max_ms:(\d+)/m.exec(info);
    return pending && age ? { pendingSplits: Number(pending[1]), reportAgeMs: Number(age[1]) } : null;
  }

  /**
   * Waits until the layout is settled, up to `timeoutMs`: the map has not changed for `quietMs`
   * (splits and moves done), every node has sent a heartbeat since this wait began (so its region
   * sizes include the load), and none of those reports shows a region waiting for a split. A
   * quiet map alone is not enough: a split comes only after a heartbeat reports the region
   * oversized, which on a busy machine can be later than the quiet window.
   */
  async settle(log: (line: string) => void, quietMs = 2000, timeoutMs = 60_000): Promise<Layout> {
    const map = await this.settleMap(log, quietMs, timeoutMs);
    return { pieces: map.regions.length, pieceName: 'regions', nodes: new Set(map.regions.map((r) => r.nodeId)).size };
  }

  /** settle(), returning the settled region map. */
  async settleMap(log: (line: string) => void, quietMs = 2000, timeoutMs = 60_000): Promise<ClusterMap> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    let map = await this.map();
    let since = Date.now();
    let settled = false;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const next = await this.map();
      if (next.version !== map.version) {
        map = next;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) {
        const state = await this.splitState();
        if (!state || (state.pendingSplits === 0 && state.reportAgeMs < Date.now() - started)) {
          settled = true;
          break;
        }
      }
    }
    if (!settled) log(`warning: the region layout was still changing after ${timeoutMs} ms; measuring anyway`);
    return map;
  }

  /** The client's handle for a link profile of the spec (call `use()` before measuring on it). */
  link(profile: string): LinkHandle {
    return this.network.link(profile);
  }

  /** Takes any shaping off the network (a client without a link is unshaped again: calibration). */
  unshaped(): Promise<void> {
    return unshape(this.network);
  }

  /** A fresh cluster client; its node connections go through `wrapSocket` (an emulated link) when given. */
  clusterClient(wrapSocket?: (socket: net.Socket) => SocketLike): Promise<ClusterClient> {
    return ClusterClient.connect({ placement: this.placement, wrapSocket });
  }

  async client(wrapSocket?: (socket: net.Socket) => SocketLike, options?: CoprocessorOptions): Promise<CopbenchClient> {
    return new CopbenchClient(await this.clusterClient(wrapSocket), options);
  }

  async sampleNodes(): Promise<NodeSample[]> {
    return sampleNodes(await this.nodes());
  }

  /** The cost model of driver/cost-model/calibrate.ts, on this backend's own clients. */
  calibrate(options: CalibrateOptions): Promise<CostModel> {
    const links = options.links.map((l) => ({ name: l.name, use: l.use, client: (l.client as CopbenchClient).cluster }));
    return CostModel.calibrate({ spec: options.spec, plugin: options.plugin, session: this, links, log: options.log });
  }

  report(): BackendReport {
    return {
      kind: this.kind,
      version: 'copbench (this checkout)',
      cluster: this.embedded ? 'embedded' : this.placement,
      durability: 'a write is acknowledged once its LMDB transaction is committed to disk (synchronous commit)',
      details: { placement: this.placement },
    };
  }

  async close(): Promise<void> {
    this.admin.close();
    await this.embedded?.stop();
  }
}

/** The node flags a spec's cluster section asks for (a null field: the node's default). */
function nodeArgsOf(cluster: ClusterSpec): string[] {
  const optional: Array<[string, number | null]> = [
    ['--copr-max-queue', cluster.coprMaxQueue],
    ['--copr-nice', cluster.coprNice],
    ['--copr-call-memory-mb', cluster.coprCallMemoryMb],
    ['--copr-memory-mb', cluster.coprMemoryMb],
    ['--copr-state-mb', cluster.coprStateMb],
  ];
  return ['--copr-workers', String(cluster.coprWorkers), ...optional.flatMap(([flag, value]) => (value === null ? [] : [flag, String(value)]))];
}

/**
 * The copbench backend behind a Backend, for families that need copbench's own client (the
 * interference family: its tenant process, its contention-aware coprocessor). Their specs are
 * refused for other kinds by the kind's `provides`; this only types what was checked.
 */
export function copbenchOnly(backend: Backend, who: string): CopbenchBackend {
  if (!(backend instanceof CopbenchBackend)) throw new Error(`${who} runs on the copbench backend only (this run's backend: ${backend.kind})`);
  return backend;
}
