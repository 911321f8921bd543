/**
 * Group commit through the write-ahead log: writes submitted while a group is in flight wait and go
 * out together as the next group — one log frame, one fdatasync and one LMDB transaction for all of
 * them, as redis-server's `appendfsync always` does one write + fdatasync per event-loop turn.
 *
 * Order inside a group: the frame is appended to the log (page cache) first and its fdatasync issued,
 * then the group is applied to LMDB (committed without fsync, visible to readers) on this thread while
 * the fdatasync runs on the thread pool; a write is acknowledged once both are done. A small group
 * after a small group instead syncs on this thread and is applied after (INLINE_SYNC_MAX_MUTATIONS). Either way
 * anything a reader can see is already in the log, and survives a killed process; a power loss can
 * lose only writes that were never acknowledged.
 *
 * The write path runs on callbacks, not promises: one fdatasync callback per group, one callback per
 * write (see the commit that introduced them for what the profile showed).
 *
 * Checkpoints run between groups: see lmdb-checkpoint.ts and NodeStore.
 */
import type { Mutation } from './wal-frame';
import type { WalSegments } from './wal-segments';

/** Called once a submitted write is durable and visible (no argument), or with why it failed. */
export type WriteCallback = (err?: Error) => void;

/** How the committer reaches LMDB and the checkpoint logic (implemented by NodeStore). */
export interface CommitTarget {
  /**
   * Applies a group in LMDB, committed (visible to readers) when it returns; or, for work that is
   * not done in one transaction (a range deletion), returns a promise of that.
   */
  apply(mutations: Mutation[]): Promise<void> | void;
  /**
   * Starts a checkpoint of the current snapshot; called only between groups (no LMDB write in flight,
   * every logged frame applied and durable). Returns the part that may overlap later groups.
   */
  beginCheckpoint(): () => Promise<void>;
}

export interface CheckpointPolicy {
  /** Checkpoint once this many log bytes were written since the last one (bounds replay time). */
  maxLogBytes: number;
  /** ...or once this long has passed with any write since the last one (bounds the log's age). */
  maxIntervalMs: number;
}

export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = { maxLogBytes: 64 * 1024 * 1024, maxIntervalMs: 250 };

interface Pending {
  mutations: Mutation[];
  /** Range deletions read the committed keyspace, so they run as a group of their own. */
  alone: boolean;
  done: WriteCallback;
}

export class StorageFailedError extends Error {}

/** Counters of the write path since the store opened (INFO's persistence section). */
export interface CommitStats {
  /** Commit groups: one log frame, one fdatasync and one LMDB transaction each. */
  groups: number;
  /** Writes acknowledged (calls of submit that resolved). */
  writes: number;
  logBytes: number;
  checkpoints: number;
  checkpointFailures: number;
  lastCheckpointMs: number;
  /** Groups whose fdatasync ran on the main thread (the others ran on the thread pool). */
  inlineSyncs: number;
}

/**
 * Groups in flight at once. With 2, a second group was started as soon as one write arrived during
 * the first group's fdatasync, so groups were smaller and the syncs (serialized by the disk) did
 * less each: redis-benchmark SET -c 50 on the idle machine, alternating, 22.7k/23.7k req/s with 1
 * vs 19.3k/16.3k with 2 (-P 16: 224k/224k vs 229k/194k). Bulk writes are the exception: a queue of
 * at least BULK_MUTATIONS (MSET chunks of a load) is big enough on its own, and overlapping its
 * encoding, append and LMDB commit with the previous group's fdatasync keeps the disk busy.
 */
const MAX_GROUPS_IN_FLIGHT = 1;
const MAX_BULK_GROUPS_IN_FLIGHT = 2;
const BULK_MUTATIONS = 1024;

/**
 * A group of at most this many mutations is synced on the main thread (commitInline), a larger one on
 * the thread pool while the main thread goes on. A small group has little to overlap with its
 * fdatasync, and the hop costs more than it saves: under redis-benchmark SET -c 50 (groups of ~20)
 * an fdatasync of ~400 µs came back to the main thread after ~750 µs (median), and the thread pool's
 * wake-ups cost CPU. Interleaved runs on the idle machine, req/s (node CPU per SET):
 * - SET -c 50: 22.6k/24.2k/23.3k/24.3k (37-40 µs) on the thread pool, 23.5k/26.8k/31.1k/30.2k
 *   (25-29 µs) inline; redis-server (appendfsync always) 26.5k-39.8k in the same rounds.
 * - SET -c 50 -P 4 (groups of ~100): 82.5k/90.8k/97.3k pool, 93.7k/106.7k/112.7k inline.
 * - SET -c 50 -P 16 (groups of ~400): 252k/321k/313k pool, 231k/188k/276k inline: the next group's
 *   parsing, ~1 ms of CPU, no longer overlaps the sync.
 * The bound sits well below the large groups because a bound they straddle is worst of all: with 256,
 * -P 16 alternated between the two ways and fell to 184k-233k (pool 248k-331k in the same rounds).
 * Even with 64, ~13% of -P 16's groups were small (INFO: 526 inline syncs in 4093 groups), each
 * blocking the loop for a sync between two large groups; so only a small group that follows a small
 * group syncs inline. -P 16, 8 interleaved rounds: 275k-350k req/s (2.8-3.7 µs CPU per SET) without
 * that rule, 281k-405k (2.5-3.4 µs) with it; -c 50 unchanged (34.1k-35.3k vs 32.2k-34.6k).
 */
export const INLINE_SYNC_MAX_MUTATIONS = 64;

export class GroupCommitter {
  private queue: Pending[] = [];
  private queuedMutations = 0;
  private inFlight = 0;
  /** A range deletion is in flight: it must see no other group's uncommitted writes. */
  private aloneInFlight = false;
  private pumpScheduled = false;
  /** A checkpoint is due: start no group until the ones in flight are done, then begin it. */
  private checkpointWanted = false;
  private checkpointRunning: Promise<void> | undefined;
  private checkpointWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private logBytesSinceCheckpoint = 0;
  private lastCheckpointAt = Date.now();
  private failure: Error | undefined;
  /** Whether the last group started was small enough to sync inline (see INLINE_SYNC_MAX_MUTATIONS). */
  private previousGroupSmall = false;
  readonly stats: CommitStats = { groups: 0, writes: 0, logBytes: 0, checkpoints: 0, checkpointFailures: 0, lastCheckpointMs: 0, inlineSyncs: 0 };
  private idleWaiters: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly wal: WalSegments,
    private readonly target: CommitTarget,
    private readonly policy: CheckpointPolicy = DEFAULT_CHECKPOINT_POLICY,
  ) {
    // An idle store still checkpoints (and drops its log) once the interval has passed.
    this.timer = setInterval(() => this.maybeCheckpoint(), Math.max(50, Math.min(5_000, policy.maxIntervalMs))).unref();
  }

  /** Logs and applies `mutations` as part of the next group; resolves once durable and visible. */
  submit(mutations: Mutation[], alone = false): Promise<void> {
    return new Promise((resolve, reject) => this.submitWith(mutations, alone, (err) => (err ? reject(err) : resolve())));
  }

  /** As submit, but calls `done` instead of settling a promise (the per-request write path). */
  submitWith(mutations: Mutation[], alone: boolean, done: WriteCallback): void {
    const failure = this.failure;
    if (failure) {
      process.nextTick(done, failure);
      return;
    }
    this.queue.push({ mutations, alone, done });
    this.queuedMutations += mutations.length;
    this.schedulePump();
  }

  /** Resolves once every submitted write is done and no checkpoint is running. */
  async idle(): Promise<void> {
    while (this.inFlight > 0 || this.queue.length > 0 || this.checkpointRunning || this.checkpointWanted) {
      if (this.checkpointRunning && this.inFlight === 0 && this.queue.length === 0) await this.checkpointRunning.catch(() => undefined);
      else await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  /** Waits for the writes submitted so far, then checkpoints (used at open, at close, and by tests). */
  async checkpointNow(): Promise<void> {
    await this.idle();
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      this.checkpointWaiters.push({ resolve, reject });
      this.checkpointWanted = true;
      this.pump();
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // After the current I/O phase, so writes read from many sockets in one loop turn share a group.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Starts whatever may start now, then wakes idle() waiters if nothing is left to do. */
  private pump(): void {
    this.startWork();
    this.notifyIdle();
  }

  /** Starts whatever may start now: a checkpoint once nothing is in flight, else groups. */
  private startWork(): void {
    if (this.checkpointWanted) {
      if (this.inFlight > 0 || this.checkpointRunning) return;
      this.checkpointWanted = false;
      this.beginCheckpoint();
    }
    while (!this.failure && this.queue.length > 0 && this.inFlight < this.depth() && !this.aloneInFlight) {
      if (this.queue[0]!.alone && this.inFlight > 0) break;
      const group = this.takeGroup();
      for (const p of group) this.queuedMutations -= p.mutations.length;
      this.inFlight++;
      this.commitGroup(group);
    }
  }

  private depth(): number {
    return this.queuedMutations >= BULK_MUTATIONS ? MAX_BULK_GROUPS_IN_FLIGHT : MAX_GROUPS_IN_FLIGHT;
  }

  private takeGroup(): Pending[] {
    const first = this.queue[0]!;
    if (first.alone) {
      this.aloneInFlight = true;
      return this.queue.splice(0, 1);
    }
    let n = 1;
    while (n < this.queue.length && !this.queue[n]!.alone) n++;
    return this.queue.splice(0, n);
  }

  /**
   * Appends the group's frame, issues its fdatasync, applies it to LMDB while the disk works, and
   * finishes once both are done.
   */
  private commitGroup(group: Pending[]): void {
    const mutations = group.length === 1 ? group[0]!.mutations : group.flatMap((p) => p.mutations);
    try {
      const bytes = this.wal.append(mutations);
      this.logBytesSinceCheckpoint += bytes;
      this.stats.logBytes += bytes;
    } catch (err) {
      this.finishGroup(group, err);
      return;
    }
    const small = !group[0]!.alone && mutations.length <= INLINE_SYNC_MAX_MUTATIONS;
    const inline = small && this.previousGroupSmall;
    this.previousGroupSmall = small;
    if (inline && this.commitInline(group, mutations)) return;
    let waiting = 2;
    /** The first part's failure; undefined while both parts succeed. */
    let error: unknown;
    const partDone = (err?: unknown): void => {
      if (err !== undefined) error ??= err;
      if (--waiting === 0) this.finishGroup(group, error);
    };
    this.wal.sync(partDone);
    this.apply(mutations, partDone);
  }

  /** Applies a group to LMDB, then calls `done` with no argument, or with why it failed. */
  private apply(mutations: Mutation[], done: (err?: unknown) => void): void {
    let applied: Promise<void> | void;
    try {
      applied = this.target.apply(mutations);
    } catch (err) {
      done(err ?? new Error('LMDB apply failed'));
      return;
    }
    if (applied) applied.then(() => done(), (err: unknown) => done(err ?? new Error('LMDB apply failed')));
    else done();
  }

  /**
   * A small group's fdatasync on this thread, then its LMDB transaction, as redis-server does with
   * `appendfsync always`. Returns false, having done nothing, when the log cannot sync inline yet.
   */
  private commitInline(group: Pending[], mutations: Mutation[]): boolean {
    try {
      if (!this.wal.syncNow()) return false;
    } catch (err) {
      this.finishGroup(group, err ?? new Error('fdatasync failed'));
      return true;
    }
    this.stats.inlineSyncs++;
    this.apply(mutations, (err) => this.finishGroup(group, err));
    return true;
  }

  /** Acknowledges (or fails) a group's writes, then starts whatever may start next. */
  private finishGroup(group: Pending[], err: unknown): void {
    this.inFlight--;
    if (group[0]!.alone) this.aloneInFlight = false;
    if (err === undefined) {
      this.stats.groups++;
      this.stats.writes += group.length;
      // The next group first: its fdatasync starts before this group's replies are written.
      this.maybeCheckpoint();
      this.startWork();
      for (const p of group) p.done();
      this.notifyIdle();
      return;
    }
    // The log and LMDB may now disagree about this group: refuse further writes rather than ack
    // writes whose durability is unknown. Restarting the node replays the log.
    this.failure ??= new StorageFailedError(`storage write failed, node needs a restart: ${err instanceof Error ? err.message : String(err)}`);
    const failure = this.failure;
    const queued = this.queue.splice(0);
    this.queuedMutations = 0;
    for (const p of group) p.done(failure);
    for (const p of queued) p.done(failure);
    this.maybeCheckpoint();
    this.pump();
  }

  private maybeCheckpoint(): void {
    if (this.checkpointWanted || this.checkpointRunning || this.failure || this.logBytesSinceCheckpoint === 0) return;
    const due = this.logBytesSinceCheckpoint >= this.policy.maxLogBytes || Date.now() - this.lastCheckpointAt >= this.policy.maxIntervalMs;
    if (!due) return;
    this.checkpointWanted = true;
    this.pump();
  }

  /** Runs with no group in flight; the finishing part overlaps the groups that start after it. */
  private beginCheckpoint(): void {
    const waiters = this.checkpointWaiters.splice(0);
    const startedAt = performance.now();
    let running: Promise<void>;
    try {
      const finish = this.target.beginCheckpoint();
      this.logBytesSinceCheckpoint = 0;
      this.lastCheckpointAt = Date.now();
      running = finish();
    } catch (err) {
      running = Promise.reject(err);
    }
    this.checkpointRunning = running
      .then(
        () => {
          this.stats.checkpoints++;
          this.stats.lastCheckpointMs = performance.now() - startedAt;
          for (const w of waiters) w.resolve();
        },
        (err: unknown) => {
          this.stats.checkpointFailures++;
          // A failed checkpoint loses nothing (the log keeps every frame since the previous one); retry later.
          this.logBytesSinceCheckpoint = Math.max(1, this.logBytesSinceCheckpoint);
          const error = err instanceof Error ? err : new Error(String(err));
          for (const w of waiters) w.reject(error);
        },
      )
      .finally(() => {
        this.checkpointRunning = undefined;
        this.pump();
      });
  }

  private notifyIdle(): void {
    if (this.inFlight > 0 || this.queue.length > 0 || this.checkpointWanted || this.checkpointRunning) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
