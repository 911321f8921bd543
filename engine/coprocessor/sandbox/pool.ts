/**
 * The node's plugin worker pool. Plugin code never runs on the node's event loop: each call goes to
 * a worker thread, one call per worker at a time, queued when all are busy. A call past its
 * deadline terminates its worker (a replacement starts), a worker that runs out of heap is replaced,
 * and either way the caller gets a clear error and the node keeps serving.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { NodeStore } from '../../storage/store';
import { MemoryLedger, NO_MEMORY_QUOTAS, type MemoryQuotas } from './memory-quota';
import type { StateCounters } from '../state-store';
import { CoprError, type CoprErrorCode, type EndSession, type ExecPayload, type ExecReply, type ExecTask, type StateReport, type WorkerInit, type WorkerStats, type WriteReply, type WriteRequest } from './messages';

/**
 * Young generation of each plugin worker. A scan's garbage (row Buffers and their external bytes)
 * dies young and is freed by scavenges; a larger young generation only lets more of it wait. With
 * heapMb / 4 (64 MiB) the node's peak anonymous RSS over in-node scans of all of 1 GiB was
 * 1.25-1.30× that over 1/4 of it (still growing toward the cap); with 16 MiB, 1.06-1.07×, and the
 * in-node filter was no slower (bench: `npm run bench -- --only memory,coprocessor`).
 */
const WORKER_YOUNG_GENERATION_MB = 16;
/** close() waits at most this long for a starting worker to be ready before terminating it. */
const CLOSE_WAITS_FOR_START_MS = 5_000;

export interface PoolOptions {
  dataDir: string;
  /** Worker threads (default: 2). */
  size?: number;
  /** V8 old-generation heap limit per worker. */
  heapMb?: number;
  /** Priority: the workers' OS nice value (0..19; default 0, the main thread's). */
  nice?: number;
  /**
   * Admission control: calls waiting for a worker at most (default: no bound). A call beyond it is
   * refused at once with COPR_BUSY, so a flood of coprocessor work queues no deeper than this and
   * the node's memory and its point operations are not held behind it.
   */
  maxQueued?: number;
  /** Memory quotas per call and over all running calls (default: none; see memory-quota.ts). */
  memory?: MemoryQuotas;
  /**
   * Plugin state of sessions (PluginState), MiB for the whole node (default: DEFAULT_STATE_MB; 0:
   * none). Each worker keeps the states of the calls routed to it, so each gets an equal share and
   * evicts within it: the node never holds more than this, and one state may hold at most a share.
   */
  stateMb?: number;
}

/** The node's plugin-state quota when none is given (MiB). */
export const DEFAULT_STATE_MB = 256;

/**
 * Session → worker affinity entries kept at most. A forgotten entry costs only locality: the next
 * call of that (session, region) may land on another worker and rebuild its state there.
 */
const MAX_AFFINITIES = 65_536;

export interface ExecRequest extends ExecPayload {
  deadlineMs: number;
}

/** Timing of one call as seen by the pool, next to what the worker measured. */
export interface ExecStats extends WorkerStats {
  /** Waiting for a free worker. */
  queueUs: number;
  /** From handing the task to a worker until its result is back, minus the worker's own run time. */
  handoffUs: number;
}

export interface ExecOutcome {
  partial: Uint8Array;
  stats: ExecStats;
}

export class CoprExecError extends CoprError {
  constructor(
    code: CoprErrorCode,
    message: string,
    readonly stats?: Partial<ExecStats>,
  ) {
    super(code, message);
  }
}

interface Job {
  id: number;
  req: ExecRequest;
  /** Calls of a session go to the worker holding the state of their (session, region). */
  affinity?: string;
  enqueuedNs: bigint;
  resolve(outcome: ExecOutcome): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  /** Set once the worker has opened the store and said so. */
  ready: boolean;
  /** Resolves once the worker is ready or gone: close() waits for it (see there). */
  started: Promise<void>;
  job?: Job;
  /**
   * Plugins (sha256) whose code this worker was sent; later calls send no code. A worker evaluates
   * and caches a plugin once anyway; a replacement worker has a new slot, so starts empty.
   */
  sentCode: Set<string>;
  dispatchedNs?: bigint;
  timer?: NodeJS.Timeout;
  /** The worker's plugin state as its last reply reported it. */
  state: { heldBytes: number; entries: number; counters: StateCounters };
  /** (session, region) pairs routed to this slot. */
  affinities: number;
}

const NO_STATE_COUNTERS: StateCounters = { hits: 0, misses: 0, sets: 0, evictions: 0, invalidations: 0, refusals: 0 };

const ENTRY = path.join(__dirname, 'worker-entry.js');

/**
 * Resolves when the slot's worker is ready or gone, or after `ms`. The timer is a live handle on
 * purpose: workers are unref'd, so without it a process with nothing else to do would exit here.
 */
function startedWithin(slot: Slot, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([slot.started, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  readonly counters = { calls: 0, deadlines: 0, heapFailures: 0, crashes: 0, workersStarted: 0, busyRejections: 0, memoryRejections: 0 };
  /** What each worker's current call holds (MiB), published by the workers themselves. */
  private readonly ledger: MemoryLedger;
  /** (session, region) → the slot whose worker keeps that state. */
  private readonly affinity = new Map<string, number>();
  /** State counters of workers that were replaced (their state went with them). */
  private readonly retiredState: StateCounters = { ...NO_STATE_COUNTERS };

  constructor(private readonly options: PoolOptions) {
    const size = options.size ?? 2;
    this.ledger = new MemoryLedger(size);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn(i));
  }

  /** MiB held by the calls running now (0 without memory quotas: workers then do not measure). */
  get memoryInUseMb(): number {
    return this.ledger.totalMb();
  }

  /** Plugin state held by the workers, and their counters since the pool started. */
  get state(): { heldBytes: number; entries: number; quotaBytes: number; counters: StateCounters } {
    const counters = { ...this.retiredState };
    for (const slot of this.slots) for (const k of Object.keys(counters) as Array<keyof StateCounters>) counters[k] += slot.state.counters[k];
    return { heldBytes: this.slots.reduce((n, s) => n + s.state.heldBytes, 0), entries: this.slots.reduce((n, s) => n + s.state.entries, 0), quotaBytes: this.stateShareBytes() * this.slots.length, counters };
  }

  /**
   * Every worker drops the session's state (a worker running a call does so once the call ends) and
   * its (session, region) affinities are forgotten.
   */
  endSession(session: string): void {
    const prefix = `${session}\u0000`;
    for (const [key, index] of this.affinity) {
      if (!key.startsWith(prefix)) continue;
      this.affinity.delete(key);
      this.slots[index]!.affinities--;
    }
    for (const slot of this.slots) slot.worker.postMessage({ type: 'end-session', session } satisfies EndSession);
  }

  /** Runs one plugin call; rejects with CoprExecError on any limit or plugin failure. */
  exec(req: ExecRequest): Promise<ExecOutcome> {
    if (this.closed) return Promise.reject(new CoprExecError('COPR_WORKER_CRASH', 'the worker pool is closed'));
    const maxQueued = this.options.maxQueued ?? Infinity;
    // Only calls that would wait count against the bound: a free worker takes a call at once.
    if (this.queue.length >= maxQueued && this.queue.length >= maxQueued + this.slots.filter((s) => s.ready && !s.job).length) {
      this.counters.busyRejections++;
      return Promise.reject(new CoprExecError('COPR_BUSY', `the node's coprocessor is busy: ${this.busy} calls running, ${this.queue.length} waiting (queue bound ${maxQueued}); retry later or run the region client-side`));
    }
    const nodeMb = this.options.memory?.nodeMb ?? Infinity;
    if (this.ledger.totalMb() >= nodeMb) {
      this.counters.memoryRejections++;
      return Promise.reject(new CoprExecError('COPR_BUSY', `the node's coprocessor memory quota of ${nodeMb} MiB is used up by running calls (${this.ledger.totalMb().toFixed(1)} MiB); retry later or run the region client-side`));
    }
    this.counters.calls++;
    return new Promise((resolve, reject) => {
      const affinity = req.state ? `${req.state.session}\u0000${req.state.regionId}` : undefined;
      this.queue.push({ id: this.nextId++, req, ...(affinity ? { affinity } : {}), enqueuedNs: process.hrtime.bigint(), resolve, reject });
      this.dispatch();
    });
  }

  get busy(): number {
    return this.slots.filter((s) => s.job).length;
  }

  get queued(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new CoprExecError('COPR_WORKER_CRASH', 'the node is shutting down'));
    // Calls in flight die with their workers: fail them (and stop their deadline timers) rather than
    // leave them pending forever (replace() does nothing once the pool is closed).
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      const job = slot.job;
      slot.job = undefined;
      job?.reject(new CoprExecError('COPR_WORKER_CRASH', 'the node is shutting down', this.timing(job, slot)));
    }
    // A worker terminated while it opens the store (lmdb-js's native open) can abort the whole
    // process (FATAL ERROR: napi_throw, seen once in pool.test.ts when a pool closed right after
    // starting): let each finish starting first, for a bounded time.
    await Promise.all(this.slots.map((s) => startedWithin(s, CLOSE_WAITS_FOR_START_MS)));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** Each worker's share of the node's state quota, in bytes. */
  private stateShareBytes(): number {
    const mb = this.options.stateMb ?? DEFAULT_STATE_MB;
    return Math.floor((mb * 1024 * 1024) / (this.options.size ?? 2));
  }

  private spawn(index: number): Slot {
    this.counters.workersStarted++;
    const heapMb = this.options.heapMb ?? 256;
    const stateMb = this.options.stateMb ?? DEFAULT_STATE_MB;
    // A replaced worker's call is over: what it held is no longer held.
    this.ledger.set(index, 0);
    const worker = new Worker(ENTRY, {
      workerData: {
        dataDir: this.options.dataDir,
        nice: this.options.nice ?? 0,
        memory: { quotas: this.options.memory ?? NO_MEMORY_QUOTAS, ledger: this.ledger.shared, slot: index },
        state: { quotaBytes: this.stateShareBytes(), quotaName: `this worker's share of the node's state quota: --copr-state-mb ${stateMb} over ${this.options.size ?? 2} plugin workers; spec field cluster.coprStateMb` },
      } satisfies WorkerInit,
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      stdout: false,
      stderr: false,
    });
    let started!: () => void;
    const slot: Slot = { worker, ready: false, started: new Promise<void>((resolve) => (started = resolve)), sentCode: new Set(), state: { heldBytes: 0, entries: 0, counters: { ...NO_STATE_COUNTERS } }, affinities: 0 };
    worker.once('exit', () => started());
    worker.on('message', (msg: ExecReply | WriteRequest | StateReport | { type: 'ready' }) => {
      if (msg.type === 'ready') {
        slot.ready = true;
        started();
        this.dispatch();
      } else if (msg.type === 'write') this.write(worker, msg);
      else if (msg.type === 'state') slot.state = msg.state;
      else this.finish(slot, msg);
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (oom) this.counters.heapFailures++;
      else this.counters.crashes++;
      this.replace(slot, oom ? 'COPR_HEAP' : 'COPR_WORKER_CRASH', oom ? `the plugin ran out of its ${heapMb} MiB heap limit; the worker was replaced` : `the plugin worker crashed (${err.message}); it was replaced`);
    });
    worker.on('exit', () => {
      if (!this.closed && this.slots.includes(slot)) this.replace(slot, 'COPR_WORKER_CRASH', 'the plugin worker exited; it was replaced');
    });
    worker.unref();
    return slot;
  }

  /** Fails the slot's job (if any) and puts a fresh worker in its place. */
  private replace(slot: Slot, code: CoprErrorCode, message: string): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    if (slot.timer) clearTimeout(slot.timer);
    const job = slot.job;
    slot.job = undefined;
    void slot.worker.terminate();
    if (this.closed) return;
    // Its state dies with the worker; its sessions keep their affinity and rebuild in the new one.
    for (const k of Object.keys(this.retiredState) as Array<keyof StateCounters>) this.retiredState[k] += slot.state.counters[k];
    const replacement = this.spawn(index);
    replacement.affinities = slot.affinities;
    this.slots[index] = replacement;
    job?.reject(new CoprExecError(code, message, this.timing(job, slot)));
    this.dispatch();
  }

  /**
   * Hands queued calls to free workers, oldest first. A call of a session must run on the worker that
   * holds its (session, region) state: it waits for that worker while calls behind it may pass.
   * A (session, region) seen for the first time goes to the free worker with the fewest, which
   * spreads a session's regions, and so its state, over the workers.
   */
  private dispatch(): void {
    for (let i = 0; i < this.queue.length; ) {
      const free = this.slots.filter((s) => !s.job && s.ready);
      if (free.length === 0) return;
      const job = this.queue[i]!;
      const slot = this.slotFor(job, free);
      if (!slot) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.start(slot, job);
    }
  }

  private slotFor(job: Job, free: Slot[]): Slot | undefined {
    if (job.affinity === undefined) return free[0];
    const owner = this.affinity.get(job.affinity);
    if (owner !== undefined) return free.find((s) => this.slots.indexOf(s) === owner);
    const slot = free.reduce((best, s) => (s.affinities < best.affinities ? s : best));
    if (this.affinity.size >= MAX_AFFINITIES) {
      const [oldest, index] = this.affinity.entries().next().value as [string, number];
      this.affinity.delete(oldest);
      this.slots[index]!.affinities--;
    }
    this.affinity.set(job.affinity, this.slots.indexOf(slot));
    slot.affinities++;
    return slot;
  }

  private start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.dispatchedNs = process.hrtime.bigint();
    const { req } = job;
    const firstOfPlugin = !slot.sentCode.has(req.sha256);
    if (firstOfPlugin) slot.sentCode.add(req.sha256);
    const task: ExecTask = { type: 'exec', id: job.id, sha256: req.sha256, js: firstOfPlugin ? req.js : undefined, file: req.file, request: req.request, ranges: req.ranges, limits: req.limits, ...(req.state ? { state: req.state } : {}) };
    slot.timer = setTimeout(() => {
      this.counters.deadlines++;
      this.replace(slot, 'COPR_DEADLINE', `the plugin ran past its ${job.req.deadlineMs} ms deadline; the worker was terminated and replaced`);
    }, job.req.deadlineMs);
    slot.worker.postMessage(task);
  }

  /** Applies a plugin's write through the store that owns the environment, and answers the worker. */
  private write(worker: Worker, req: WriteRequest): void {
    const store = NodeStore.ownerOf(this.options.dataDir);
    const key = Buffer.from(req.key);
    const done = !store
      ? Promise.reject(new Error(`no store is open for writing on ${this.options.dataDir}`))
      : req.value === null
        ? store.removeMany([key]).then(() => undefined)
        : store.put(key, Buffer.from(req.value));
    done.then(
      () => worker.postMessage({ type: 'written', writeId: req.writeId } satisfies WriteReply),
      (err: unknown) => worker.postMessage({ type: 'written', writeId: req.writeId, error: err instanceof Error ? err.message : String(err) } satisfies WriteReply),
    );
  }

  private timing(job: Job, slot: Slot, runUs = 0): Partial<ExecStats> {
    const now = process.hrtime.bigint();
    const dispatched = slot.dispatchedNs ?? now;
    return { queueUs: Number(dispatched - job.enqueuedNs) / 1000, handoffUs: Math.max(0, Number(now - dispatched) / 1000 - runUs) };
  }

  private finish(slot: Slot, reply: ExecReply): void {
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.job = undefined;
    slot.state = reply.stats.state;
    const timing = this.timing(job, slot, reply.stats.runUs);
    const stats: ExecStats = { ...reply.stats, queueUs: timing.queueUs ?? 0, handoffUs: timing.handoffUs ?? 0 };
    if (reply.type === 'done') job.resolve({ partial: reply.partial, stats });
    else {
      // A worker refuses a running call as busy only when the node's memory quota is used up.
      if (reply.code === 'COPR_MEMORY' || reply.code === 'COPR_BUSY') this.counters.memoryRejections++;
      job.reject(new CoprExecError(reply.code, reply.message, stats));
    }
    this.dispatch();
  }
}
