/**
 * Sub-millisecond wake-ups for the emulated link. Node's timers have 1 ms resolution (a 0.1 ms
 * delay becomes ~1 ms), too coarse for the 0.1–0.25 ms one-way delays of a 10 or 1 Gbit/s link.
 * One timer per process picks, per deadline, the cheapest way to meet it:
 *
 * - **worker**: a worker thread sleeps in `Atomics.wait` until the deadline and posts a message to
 *   the main thread. The hop makes it ~0.1 ms late on a typical VM, so the worker is woken early by
 *   a measured lead (a moving average of the lateness it saw);
 * - **spin**: a deadline less than 0.05 ms away (or a worker wake that came early) is polled for
 *   with setImmediate — a spin bounded by 0.05 ms, cheaper than a hop;
 * - **coarse**: a deadline that may run up to ≥ 1 ms early (bulk data released in batches) uses a
 *   plain setTimeout, one thread wake-up instead of two. So does everything until the worker has
 *   started (a few tens of ms after `warmUp`).
 *
 * The worker keeps the process alive only while a deadline is pending.
 */
import { Worker } from 'node:worker_threads';

/** Monotonic milliseconds (fractional), the same clock in every thread of the process. */
export function nowMs(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}

/** Something that wants to be called back at a deadline. */
export interface TimerClient {
  /** Called once per `schedule`, between its earliest time and just after its deadline (`now` is `nowMs()`). */
  onTimer(now: number): void;
}

/** A wake this close before a deadline counts as on time. */
const TOLERANCE_MS = 0.005;
/** Deadlines closer than this are polled for on the event loop (setImmediate) rather than slept for. */
const SPIN_MS = 0.05;
/** A deadline that may run this much early (or more) uses a plain millisecond timer. */
const COARSE_WINDOW_MS = 1;
/** Bounds for the adaptive lead (how much earlier than a deadline the worker is woken). */
const MAX_LEAD_MS = 0.3;
/** The worker re-checks its state at least this often (exit flag, missed notifications). */
const MAX_SLEEP_MS = 500;

// Int32 slots: [0] generation (bumped on every change), [1] stop flag. Float64 slot [1]: deadline.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const i32 = new Int32Array(workerData, 0, 2);
const f64 = new Float64Array(workerData, 8, 1);
const now = () => { const t = process.hrtime(); return t[0] * 1e3 + t[1] / 1e6; };
parentPort.postMessage(1); // ready
while (Atomics.load(i32, 1) === 0) {
  const gen = Atomics.load(i32, 0);
  const wait = f64[0] - now();
  if (wait > 0) { Atomics.wait(i32, 0, gen, Math.min(wait, ${MAX_SLEEP_MS})); continue; }
  parentPort.postMessage(0);
  // Sleep until the main thread sets a new deadline (it bumps the generation).
  Atomics.wait(i32, 0, gen, ${MAX_SLEEP_MS});
}
`;

/** The process-wide timer (see the module comment). Use `preciseTimer()`. */
export class PreciseTimer {
  /** Client → [deadline, earliest acceptable time]. */
  private readonly deadlines = new Map<TimerClient, [number, number]>();
  private readonly shared = new SharedArrayBuffer(16);
  private readonly gen = new Int32Array(this.shared, 0, 2);
  private readonly deadline = new Float64Array(this.shared, 8, 1);
  private worker: Worker | undefined;
  private workerReady = false;
  private referenced = false;
  private immediate: NodeJS.Immediate | undefined;
  private coarse: NodeJS.Timeout | undefined;
  /** The client deadline the worker is armed for (Infinity when none). */
  private armedFor = Infinity;
  /** When the worker should post: `armedFor - lead`, or the arming time when that was past. */
  private expectPostAt = Infinity;
  /** Moving average of how late the worker's message arrives after it was due to be posted. */
  private leadMs = 0.08;
  /** Wake-ups the main thread handled (for overhead reports). */
  wakeups = 0;

  constructor() {
    this.deadline[0] = Infinity;
  }

  /**
   * Calls `client.onTimer` once, aiming at `atMs` (a `nowMs()` time); a wake-up from `earliestMs`
   * on is accepted without polling for the rest (for work that may run a little early). Replaces
   * the client's earlier deadline.
   */
  schedule(client: TimerClient, atMs: number, earliestMs = atMs): void {
    const previous = this.deadlines.get(client);
    if (previous !== undefined && previous[0] === atMs && previous[1] === earliestMs) return;
    this.deadlines.set(client, [atMs, Math.min(earliestMs, atMs)]);
    if (atMs < this.armedFor) this.arm(atMs, Math.min(earliestMs, atMs));
    else if (previous !== undefined && previous[0] === this.armedFor) this.rearm();
  }

  /** Forgets the client's deadline, if any. */
  cancel(client: TimerClient): void {
    const previous = this.deadlines.get(client);
    if (previous === undefined) return;
    this.deadlines.delete(client);
    if (previous[0] === this.armedFor) this.rearm();
  }

  /** Ms the worker is woken ahead of a deadline to absorb the thread hop (adaptive). */
  get lead(): number {
    return this.leadMs;
  }

  private rearm(): void {
    let at = Infinity;
    let earliest = Infinity;
    for (const [a, e] of this.deadlines.values()) {
      if (a < at) {
        at = a;
        earliest = e;
      }
    }
    this.arm(at, earliest);
  }

  /** Arms one wake-up for the client deadline `atMs` whose earliest acceptable time is `earliestMs`. */
  private arm(atMs: number, earliestMs: number): void {
    this.armedFor = atMs;
    if (this.coarse) {
      clearTimeout(this.coarse);
      this.coarse = undefined;
    }
    const now = nowMs();
    let mode: 'none' | 'spin' | 'coarse' | 'worker';
    if (atMs === Infinity) mode = 'none';
    else if (atMs - now <= SPIN_MS) mode = 'spin';
    else if (atMs - earliestMs >= COARSE_WINDOW_MS && earliestMs > now) mode = 'coarse';
    else mode = 'worker';
    if (mode !== 'worker') {
      // The worker may still post for an old deadline: runDue then finds nothing due.
      this.expectPostAt = Infinity;
      this.deadline[0] = Infinity;
      this.setReferenced(false);
    }
    if (mode === 'spin') {
      // Closer than a thread hop takes: poll on the event loop (a spin bounded by SPIN_MS, cheaper
      // than a hop and not late by one).
      this.immediate ??= setImmediate(this.onImmediate);
    } else if (mode === 'coarse') {
      // A window of a millisecond or more: a plain timer lands in it and costs one thread wake-up
      // instead of two. (libuv fires it 0–1 ms after the whole milliseconds asked for.)
      this.coarse = setTimeout(this.onCoarse, Math.max(1, Math.ceil(earliestMs - now)));
    } else if (mode === 'worker' && !this.workerReady) {
      // The worker takes a few tens of ms to start: until then, millisecond timers.
      this.ensureWorker();
      this.coarse = setTimeout(this.onCoarse, Math.max(0, Math.round(atMs - now)));
    } else if (mode === 'worker') {
      this.ensureWorker();
      this.setReferenced(true);
      const postAt = atMs - this.leadMs;
      this.expectPostAt = Math.max(postAt, now);
      this.deadline[0] = postAt;
      Atomics.add(this.gen, 0, 1);
      Atomics.notify(this.gen, 0);
    }
  }

  private readonly onCoarse = (): void => {
    this.coarse = undefined;
    this.runDue(nowMs());
  };

  private onMessage(): void {
    const now = nowMs();
    if (now >= this.expectPostAt) {
      // Learn the hop's latency (clamped so that one stall of the event loop does not skew it).
      const late = Math.min(now - this.expectPostAt, 1);
      this.leadMs = Math.min(MAX_LEAD_MS, this.leadMs * 0.9 + late * 0.1);
    }
    this.runDue(now);
  }

  private readonly onImmediate = (): void => {
    this.immediate = undefined;
    this.runDue(nowMs());
  };

  private runDue(now: number): void {
    this.wakeups++;
    const due: TimerClient[] = [];
    for (const [client, [, earliest]] of this.deadlines) if (earliest <= now + TOLERANCE_MS) due.push(client);
    for (const client of due) this.deadlines.delete(client);
    try {
      for (const client of due) client.onTimer(now);
    } finally {
      // A client may have scheduled again from onTimer (arm already ran); otherwise re-arm here.
      this.rearm();
    }
  }

  /** Starts the worker thread now (it takes a few tens of ms), so the first deadline is not late. */
  warmUp(): void {
    this.ensureWorker();
  }

  private ensureWorker(): void {
    if (this.worker) return;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.shared, stdout: false, stderr: false });
    worker.on('message', (kind: number) => {
      if (kind === 1) {
        this.workerReady = true;
        if (this.armedFor !== Infinity) this.rearm();
      } else this.onMessage();
    });
    worker.on('error', (err) => {
      // Cannot happen short of a bug in WORKER_SOURCE; surface it rather than stall every link.
      process.nextTick(() => {
        throw err;
      });
    });
    // Adding the 'message' listener refs the worker; it is referenced only while deadlines pend.
    worker.unref();
    this.referenced = false;
    this.worker = worker;
    process.once('exit', () => {
      Atomics.store(this.gen, 1, 1);
      Atomics.notify(this.gen, 0);
    });
  }

  private setReferenced(on: boolean): void {
    if (!this.worker || on === this.referenced) return;
    this.referenced = on;
    if (on) this.worker.ref();
    else this.worker.unref();
  }
}

let shared: PreciseTimer | undefined;

/** The process-wide timer, created on first use. */
export function preciseTimer(): PreciseTimer {
  return (shared ??= new PreciseTimer());
}
