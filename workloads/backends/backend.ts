/**
 * The backend seam: the store a workload runs against. A spec's `backend.kind` names a BackendKind
 * (registry.ts); the driver and the workload families talk only to these interfaces, never to a
 * kind by name. `copbench` (its own engine, the default) and `redis-cluster` (Redis 7 Cluster, with
 * Redis Functions as its pushdown) are the two kinds.
 *
 * What every backend does: connect (open), load the dataset, settle, point operations, run a
 * plugin client-side over fetched rows, per-node counters, close. What only some do is optional,
 * probed the way go-ycsb probes its optional DB interfaces, never assumed from a kind's name:
 * - `BackendKind.pushdownRefusal` says per plugin and request whether pushdown runs there
 *   (copbench: any plugin; Redis: the plugins with a Lua twin, and only requests the twin answers
 *   exactly);
 * - `Backend.calibrate` builds the cost model `adaptive` needs (`provides.adaptive`);
 * - `Backend.placement` is a copbench placement address, for families that start copbench
 *   clients in other processes (the interference tenant; `provides.placement`).
 */
import type net from 'node:net';
import type { SocketLike } from '../../engine/client/connection';
import type { CoprocessorCall, CoprocessorOptions, CoprocessorOutcome } from '../../engine/client/coprocessor';
import type { PluginStateStore } from '../../engine/coprocessor/state-store';
import type { LoadedPlugin } from '../../engine/coprocessor/loader';
import type { z } from 'zod';
import type { WorkloadSpec } from '../spec';
import type { NodeSample } from '../driver/metrics/node-stats';
import type { LinkHandle, Network } from '../network/network';
import type { CostModel } from '../driver/cost-model/calibrate';

/** What loading a dataset did. */
export interface LoadReport {
  fingerprint: string;
  skipped: boolean;
  rows: number;
  loadMs: number;
}

export interface LoadOptions {
  log(line: string): void;
  /** Called with rows loaded so far during the load phase. */
  onLoadProgress?(loaded: number, total: number): void;
}

/** The layout after settling, for the log line and the summary. */
export interface Layout {
  /** Units a call's work is cut into: copbench regions, Redis bucket slices. */
  pieces: number;
  /** What a piece is called in this backend ("regions", "bucket slices"). */
  pieceName: string;
  /** Nodes holding data. */
  nodes: number;
}

/** Runs plugin calls over the dataset's range: copbench's Coprocessor is the reference implementation. */
export interface PluginRunner {
  /** Client-side plugin state of sessions (ctx.state), under the client's budget. */
  readonly state: PluginStateStore;
  loadPlugin(name: string, version?: string): Promise<LoadedPlugin>;
  run<Req, Res>(call: CoprocessorCall<Req>): Promise<CoprocessorOutcome<Res>>;
  /** Frees a session's state in this process and in the nodes. */
  endSession(session: string): Promise<void>;
}

/** One client of a backend, on one link. */
export interface BackendClient {
  readonly coprocessor: PluginRunner;
  /** Bytes this client read from and wrote to node sockets since it connected. */
  wireBytes(): { in: number; out: number };
  get(key: Buffer): Promise<Buffer | undefined>;
  set(key: Buffer, value: Buffer): Promise<void>;
  close(): void;
}

/** What the manifest records about the backend of a run. */
export interface BackendReport {
  kind: string;
  /** e.g. "copbench 1.4.0 (embedded)" or "Redis server v=7.0.15". */
  version: string;
  /** Where it ran: "embedded" (started by the harness) or the address it attached to. */
  cluster: string;
  /** How an acknowledged write is made durable. */
  durability: string;
  /** Kind-specific facts (Redis: persistence settings, the Lua library's sha256, buckets). */
  details: Record<string, unknown>;
}

/** How summaries, printed tables and reports name a backend: `redis-cluster (Redis 7.0.15)`. */
export function backendLabel(backend: Pick<BackendReport, 'kind' | 'version'>): string {
  return backend.version ? `${backend.kind} (${backend.version})` : backend.kind;
}

/** An open backend: the cluster of one run. */
export interface Backend {
  readonly kind: string;
  readonly network: Network;
  report(): BackendReport;
  /** Loads the dataset unless the cluster already holds exactly this one. */
  ensureDataset(spec: WorkloadSpec, options: LoadOptions): Promise<LoadReport>;
  /** Waits until the data's layout stops changing (copbench: splits and moves). */
  settle(log: (line: string) => void): Promise<Layout>;
  /** Every node's counters now (CPU, bytes, RSS), by node id; diff two with diffNodeStats. */
  sampleNodes(): Promise<NodeSample[]>;
  /** The client's handle for a link profile of the spec (call `use()` before measuring on it). */
  link(profile: string): LinkHandle;
  /** Takes any shaping off the network. */
  unshaped(): Promise<void>;
  /** A fresh client; its node connections go through `wrapSocket` (an emulated link) when given. */
  client(wrapSocket?: (socket: net.Socket) => SocketLike, options?: CoprocessorOptions): Promise<BackendClient>;
  close(): Promise<void>;

  // ---- optional capabilities ----------------------------------------------------------------
  /** The cost model `adaptive` plans with. Absent: no adaptive mode on this backend. */
  calibrate?(options: CalibrateOptions): Promise<CostModel>;
  /** A copbench placement address (families that start copbench clients in other processes). */
  readonly placement?: string;
}

/** What a backend's cost-model calibration gets (see driver/cost-model/calibrate.ts). */
export interface CalibrateOptions {
  spec: WorkloadSpec;
  plugin: { name: string; version: string; hints: import('../families/query/hints').ResolvedHints; firstRequest: unknown };
  links: Array<{ name: string; client: BackendClient; use(): Promise<void> }>;
  log(line: string): void;
}

export interface OpenOptions {
  /** `host:port` of a running cluster of this kind (`--placement`); absent: start one. */
  attach?: string;
  log(line: string): void;
  network: Network;
}

/** A backend kind, registered by name (registry.ts). */
export interface BackendKind {
  readonly name: string;
  /** One line for `--help` and the docs. */
  readonly description: string;
  /**
   * Its fields of the spec's `backend` section besides `kind`, as schemas (each may be left out: give
   * them a default or optionalNullable); they become the kind's variant of the spec schema.
   */
  readonly options: Readonly<Record<string, z.ZodType<string | number | null>>>;
  /** The optional capabilities its backends have, known before one is opened (spec checks need them). */
  readonly provides: {
    /** `Backend.calibrate`: the `adaptive` mode. */
    adaptive: boolean;
    /** `Backend.placement`: a copbench placement address other processes can connect to. */
    placement: boolean;
    /** Attached with `--placement`, plugins come from the cluster's own plugin store (else from plugins/). */
    pluginsFromCluster: boolean;
  };
  /** Why `plugin` cannot run pushed down for `request` on this kind (null: it can). Absent: any plugin can. */
  pushdownRefusal?(plugin: string, request: unknown): string | null;
  /** Whether the spec's network kind can host it (e.g. Redis runs on loopback only); throws SpecError otherwise. */
  checkSpec(spec: WorkloadSpec): void;
  /** Fails early (before anything is written) when the kind cannot run here, e.g. a missing binary: SpecError. */
  checkAvailable(spec: WorkloadSpec, attach?: string): void;
  open(spec: WorkloadSpec, options: OpenOptions): Promise<Backend>;
}
