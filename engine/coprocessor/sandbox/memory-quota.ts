/**
 * Coprocessor memory quotas (as TiKV's coprocessor memory quota, tikv/tikv#16662): a per-call quota,
 * and a node-wide quota over all calls running at once. Without them, many concurrent calls that
 * each hold a lot can take the node's memory, and a plugin worker's heap limit only stops one call
 * once its whole heap is full.
 *
 * What a call holds is measured, not declared: the growth of its worker's V8 heap (used heap plus
 * external memory: Buffers and typed arrays) since the call started, sampled at every scan batch,
 * every CHECK_INTERVAL_MS, and once more with the encoded result. Not-yet-collected garbage counts
 * too, so before refusing a call the worker runs one full GC and measures again: only what the call
 * still holds can refuse it. Each worker publishes its current call's figure in a shared ledger, so
 * any worker (and the pool, at admission) sees the node-wide sum without a message round trip. When
 * the sum is over the node's quota, the call admitted last gives way (COPR_BUSY: the client retries
 * it later or runs it client-side), and a call arriving meanwhile is refused at admission.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { CoprError } from './messages';

export interface MemoryQuotas {
  /** What one call may hold, in MiB (Infinity: no quota). */
  callMb: number;
  /** What all running calls together may hold, in MiB (Infinity: no quota). */
  nodeMb: number;
}

export const NO_MEMORY_QUOTAS: MemoryQuotas = { callMb: Infinity, nodeMb: Infinity };

/**
 * Garbage earlier calls may leave behind before a call's baseline is taken after a full GC: the
 * plugin workers' young generation (pool.ts), which scavenges keep at most this full anyway.
 */
const GARBAGE_SLACK_MB = 16;

/** How often a running call's memory is sampled between scan batches. */
export const CHECK_INTERVAL_MS = 20;

/**
 * Per worker: KiB held by its current call, and the call's admission number (which call is the
 * youngest), in memory shared by the pool and its workers. Layout: [kib × n, seq × n, next seq].
 */
export class MemoryLedger {
  private readonly cells: Int32Array;
  readonly workers: number;

  constructor(shared: SharedArrayBuffer | number) {
    this.cells = new Int32Array(typeof shared === 'number' ? new SharedArrayBuffer((2 * shared + 1) * Int32Array.BYTES_PER_ELEMENT) : shared);
    this.workers = (this.cells.length - 1) / 2;
  }

  get shared(): SharedArrayBuffer {
    return this.cells.buffer as SharedArrayBuffer;
  }

  set(slot: number, kib: number): void {
    Atomics.store(this.cells, slot, Math.max(0, Math.min(0x7fffffff, Math.round(kib))));
  }

  /** A call starts on `slot`: it gets the next admission number, and holds nothing yet. */
  begin(slot: number): void {
    this.set(slot, 0);
    Atomics.store(this.cells, this.workers + slot, Atomics.add(this.cells, 2 * this.workers, 1) + 1);
  }

  totalMb(): number {
    let sum = 0;
    for (let i = 0; i < this.workers; i++) sum += Atomics.load(this.cells, i);
    return sum / 1024;
  }

  /** Of the calls holding memory now, is the one on `slot` the latest admitted? */
  isYoungestHolder(slot: number): boolean {
    const mine = Atomics.load(this.cells, this.workers + slot);
    for (let i = 0; i < this.workers; i++) {
      if (i !== slot && Atomics.load(this.cells, i) > 0 && Atomics.load(this.cells, this.workers + i) > mine) return false;
    }
    return true;
  }
}

/**
 * A full collection, from inside a worker (V8's `gc`, exposed once, in a fresh context). Twice: the
 * first leaves dead ArrayBuffers' external memory counted (47.6 -> 46.3 MiB after dropping 40 MiB
 * of Float64Arrays), the second frees it (7.3 MiB).
 */
let fullGc: (() => void) | undefined;
function collectGarbage(): void {
  if (!fullGc) {
    v8.setFlagsFromString('--expose-gc');
    fullGc = vm.runInNewContext('gc') as () => void;
  }
  fullGc();
  fullGc();
}

function heapBytes(): number {
  const s = v8.getHeapStatistics();
  return s.used_heap_size + s.external_memory;
}

/** A worker's meter for the call it is running. */
export class CallMemoryMeter {
  private baseline = 0;
  private extraBytes = 0;
  /** Set by the periodic sample, thrown at the call's next check. */
  private pending: CoprError | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The heap figure right after the last full GC between calls: what the worker itself holds. */
  private liveBytes = heapBytes();

  constructor(
    private readonly quotas: MemoryQuotas,
    private readonly ledger: MemoryLedger,
    private readonly slot: number,
  ) {}

  get enabled(): boolean {
    return Number.isFinite(this.quotas.callMb) || Number.isFinite(this.quotas.nodeMb);
  }

  start(): void {
    // Without quotas a call measures nothing: no heap reads on the call path.
    if (!this.enabled) return;
    // The baseline must not count the garbage earlier calls left: a collection during this call
    // would free it and hide as much of this call's own use. Garbage that died young is freed by
    // cheap scavenges anyway; when more than GARBAGE_SLACK_MB is left (calls that held a lot), one
    // full GC here makes the baseline what the worker really holds.
    if (heapBytes() - this.liveBytes > GARBAGE_SLACK_MB * 1024 * 1024) {
      collectGarbage();
      this.liveBytes = heapBytes();
    }
    this.baseline = heapBytes();
    this.extraBytes = 0;
    this.pending = undefined;
    this.ledger.begin(this.slot);
    this.timer = setInterval(() => {
      try {
        this.measure();
      } catch (err) {
        this.pending = err as CoprError;
      }
    }, CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** Throws COPR_MEMORY (over the call's quota) or COPR_BUSY (the node's quota is used up). */
  check(): void {
    if (!this.enabled) return;
    if (this.pending) throw this.pending;
    this.measure();
  }

  /** Counts bytes the call holds outside the heap figures (its encoded result), then checks. */
  checkWith(extraBytes: number): void {
    this.extraBytes = extraBytes;
    this.check();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.enabled) this.ledger.set(this.slot, 0);
  }

  private measure(): void {
    let mb = this.heldMb();
    if (this.over(mb)) {
      collectGarbage();
      mb = this.heldMb();
    }
    const over = this.over(mb);
    if (over) throw over;
  }

  private heldMb(): number {
    const mb = Math.max(0, heapBytes() - this.baseline + this.extraBytes) / (1024 * 1024);
    this.ledger.set(this.slot, mb * 1024);
    return mb;
  }

  private over(mb: number): CoprError | undefined {
    if (mb > this.quotas.callMb) return new CoprError('COPR_MEMORY', `the call holds ${mb.toFixed(1)} MiB, over its memory quota of ${this.quotas.callMb} MiB (node flag --copr-call-memory-mb); ask for less per region, or run it client-side`);
    const total = this.ledger.totalMb();
    // The latest admitted of the calls holding memory gives way, so the older ones can finish.
    if (total > this.quotas.nodeMb && this.ledger.isYoungestHolder(this.slot)) return new CoprError('COPR_BUSY', `the node's coprocessor memory quota of ${this.quotas.nodeMb} MiB is used up by running calls (${total.toFixed(1)} MiB, this call ${mb.toFixed(1)} MiB); retry later or run the region client-side`);
    return undefined;
  }
}
