/**
 * An emulated network link between the benchmark client and the nodes, so that one machine can
 * show what a 10 Gbit/s, 1 Gbit/s or 100 Mbit/s network with some RTT does to each mode.
 *
 * An `EmulatedLink` is the client's single network interface: every connection wrapped by it
 * shares ONE rate limiter per direction (upload: client → nodes, download: nodes → client), and
 * each direction adds a one-way delay of rtt/2. The rate limiter is a token bucket with a depth of
 * one quantum (1 ms of bytes), kept as a virtual transmitter clock: a chunk starts transmitting when
 * the previous one finished (or up to one quantum earlier after an idle period), finishes after
 * `bytes / rate`, and is handed over `rtt/2` after that. Chunks larger than a quantum are cut into
 * quantum-sized slices so delivery is spread over time as on a wire. Because the schedule is kept
 * in virtual time, a late timer never loses bandwidth: the long-run rate is exact.
 *
 * Wake-ups use one sub-millisecond timer (./precise-timer) per process. A chunk that enters an idle
 * link is handed over on time (±~0.05 ms); chunks queued behind others (bulk data) may go up to
 * `batchMs` (1 ms) early together with the one before them, which bounds the wake-ups to about one
 * per `batchMs` while data flows — the long-run rate stays exact.
 * Download backpressure: when a connection's queued download bytes pass `maxQueueBytes`, its raw
 * socket is paused (TCP then pushes back on the node) and resumed below half of that. While we hold
 * a socket paused, the node's bytes wait in the kernel; if the transmitter ran dry meanwhile (e.g.
 * the client process was descheduled), those bytes are scheduled back to back once read, as a real
 * link would have carried them, so a stalled client does not lose link capacity.
 *
 * The byte counters (`bytesRead` / `bytesWritten`) stay on the raw sockets: they are the real wire
 * bytes. A profile with no bandwidth limit and no RTT (`unlimited`) adds no wrapper at all.
 *
 * ```ts
 * const link = new EmulatedLink('100mbit:rtt=2');        // or a LinkProfile / { bandwidth, rttMs }
 * const client = await ClusterClient.connect({ placement, wrapSocket: link.wrap });
 * ...
 * link.stats(); // { bytesDown, bytesUp, throttledDownMs, ... }
 * ```
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { SocketLike } from '../../../engine/client/connection';
import { nowMs, preciseTimer, type TimerClient } from './precise-timer';
import { LinkSpecError, needsNetem, parseLinkProfile, type LinkProfile, type LinkSpec } from './link-profile';

/** Tuning knobs of an EmulatedLink (the defaults suit every preset). */
export interface EmulatedLinkOptions {
  /**
   * Download bytes queued per connection before its raw socket is paused (TCP then pushes back on
   * the node); it is resumed below half. Default: 10 ms at the link rate plus the one-way delay's
   * worth, at least 256 KiB (1.25 MB at 1 Gbit/s); 8 MiB when the bandwidth is unlimited.
   */
  maxQueueBytes?: number;
  /** Once something is due, also release queued bytes that fall due within this many ms (default 1). */
  batchMs?: number;
}

/** Counters of one link since it was created. */
export interface LinkStats {
  profile: string;
  /** Bytes passed client → nodes / nodes → client. */
  bytesUp: number;
  bytesDown: number;
  /** Wall time during which bytes waited for bandwidth, per direction. */
  throttledUpMs: number;
  throttledDownMs: number;
  /** Times a raw socket was paused because its download queue was full. */
  pauses: number;
  /** Sockets wrapped so far. */
  connections: number;
  /** Timer wake-ups that released bytes (the link's CPU cost is roughly proportional). */
  wakeups: number;
}

/** The bucket depth and the largest slice, in ms of link time. */
const QUANTUM_MS = 1;
/** Default download queue per connection, in ms of link time beyond the one-way delay. */
const QUEUE_MS = 10;
/** An item due this soon is released now (matches the timer's own tolerance). */
const RELEASE_TOLERANCE_MS = 0.005;

interface Item {
  sock: ShapedSocket;
  /** null marks the end of the stream (FIN). */
  chunk: Buffer | null;
  dueAt: number;
  /**
   * It entered a non-empty queue (part of a burst or backlog): it may be released up to `batchMs`
   * early along with the items before it. An item entering an idle link is released on time.
   */
  batchable: boolean;
}

/** One direction: a virtual transmitter (rate) followed by a fixed delay, as one FIFO queue. */
class Direction {
  private items: Item[] = [];
  private head = 0;
  /** When the transmitter finishes what is scheduled. */
  private freeAt = -Infinity;
  private throttledUntil = -Infinity;
  private throttledTotal = 0;
  /** Bytes released. */
  bytes = 0;
  private readonly bytesPerMs: number | null;
  private readonly sliceBytes: number;

  constructor(
    bandwidthBitsPerSec: number | null,
    private readonly delayMs: number,
  ) {
    this.bytesPerMs = bandwidthBitsPerSec === null ? null : bandwidthBitsPerSec / 8 / 1000;
    this.sliceBytes = this.bytesPerMs === null ? Infinity : Math.max(1024, Math.round(this.bytesPerMs * QUANTUM_MS));
  }

  get empty(): boolean {
    return this.head >= this.items.length;
  }

  get nextDue(): number {
    return this.head < this.items.length ? this.items[this.head]!.dueAt : Infinity;
  }

  /** Whether the head item may go at `now`: it is due, or it is batchable and due within batchMs. */
  releasable(now: number, batchMs: number): boolean {
    const item = this.items[this.head];
    return item !== undefined && item.dueAt <= now + RELEASE_TOLERANCE_MS + (item.batchable ? batchMs : 0);
  }

  /** The earliest time the head may be released (Infinity when empty). */
  earliestRelease(batchMs: number): number {
    const item = this.items[this.head];
    return item === undefined ? Infinity : item.batchable ? item.dueAt - batchMs : item.dueAt;
  }

  /**
   * Schedules a chunk (or the end marker); returns true when the queue was empty. `heldUntil`:
   * until when the link itself held data back (a paused socket; Infinity while one is paused). An
   * idle gap of the transmitter that overlaps such a hold was not idleness of the sender (its bytes
   * sat in the kernel while we paused or the process stalled), so it is not lost: the chunk is
   * scheduled right after the previous one, as a real link would have carried it.
   */
  push(sock: ShapedSocket, chunk: Buffer | null, now: number, heldUntil = -Infinity): boolean {
    const wasEmpty = this.empty;
    const rate = this.bytesPerMs;
    if (rate === null) {
      this.items.push({ sock, chunk, dueAt: now + this.delayMs, batchable: !wasEmpty });
      return wasEmpty;
    }
    if (chunk === null || chunk.length === 0) {
      this.items.push({ sock, chunk, dueAt: Math.max(this.freeAt, now) + this.delayMs, batchable: !wasEmpty });
      return wasEmpty;
    }
    for (let offset = 0; offset < chunk.length; offset += this.sliceBytes) {
      const slice = offset === 0 && chunk.length <= this.sliceBytes ? chunk : chunk.subarray(offset, offset + this.sliceBytes);
      // Token bucket of one quantum: after an idle period up to one quantum goes out at once.
      const start = heldUntil >= this.freeAt && this.freeAt > -Infinity ? this.freeAt : Math.max(this.freeAt, now - QUANTUM_MS);
      if (start > now) {
        const from = Math.max(now, this.throttledUntil);
        if (start > from) this.throttledTotal += start - from;
        this.throttledUntil = Math.max(this.throttledUntil, start);
      }
      this.freeAt = start + slice.length / rate;
      this.items.push({ sock, chunk: slice, dueAt: Math.max(this.freeAt, now) + this.delayMs, batchable: !wasEmpty || offset > 0 });
    }
    return wasEmpty;
  }

  /** Removes and returns the head item (call only when not empty). */
  shift(): Item {
    const item = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as Item;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Throttled time so far (not counting waits scheduled into the future). */
  throttledMs(now: number): number {
    return this.throttledTotal - Math.max(0, this.throttledUntil - now);
  }
}

/**
 * The wrapped socket handed to RespConnection: `write` goes up the link, `'data'` and `'end'`
 * come down it. Connect, error and close events and the byte counters are on `raw`.
 * Listen for 'data' right away: data arriving while nobody listens is dropped (as in flowing mode).
 */
export class ShapedSocket extends EventEmitter implements SocketLike {
  /** Download bytes in the link not yet delivered. */
  queuedDownBytes = 0;
  /** Upload bytes in the link not yet written to the raw socket. */
  queuedUpBytes = 0;
  private paused = false;
  private needDrain = false;
  /** Destroyed (by us or by an error): queued bytes are dropped. */
  private dead = false;
  /** The raw socket ended gracefully; its 'end' is on its way down the link. */
  private endQueued = false;

  constructor(
    readonly raw: net.Socket,
    private readonly link: EmulatedLink,
  ) {
    super();
    raw.on('data', (chunk: Buffer) => link.arrive(this, chunk));
    raw.on('end', () => {
      this.endQueued = true;
      link.arrive(this, null);
    });
    raw.on('close', () => {
      // An abrupt close (error, reset, destroy) loses what is still on the emulated wire.
      if (!this.endQueued) this.dead = true;
      if (this.paused) {
        this.paused = false;
        link.holdChanged(-1);
      }
    });
  }

  /** Sends bytes up the link; returns false once the upload queue is over the link's bound ('drain' follows). */
  write(data: Buffer | Uint8Array | string): boolean {
    const chunk = typeof data === 'string' ? Buffer.from(data) : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.dead || chunk.length === 0) return !this.dead;
    this.queuedUpBytes += chunk.length;
    this.link.send(this, chunk);
    if (this.queuedUpBytes >= this.link.maxQueueBytes) this.needDrain = true;
    return !this.needDrain;
  }

  /** Half-closes after the queued upload bytes have crossed the link. */
  end(): this {
    if (!this.dead) this.link.send(this, null);
    return this;
  }

  /** Destroys the raw socket now; bytes still in the link are dropped. */
  destroy(): this {
    this.dead = true;
    this.raw.destroy();
    return this;
  }

  get destroyed(): boolean {
    return this.dead || this.raw.destroyed;
  }

  /** @internal Queued download bytes grew: pause the raw socket past the bound. */
  onQueuedDown(bytes: number): boolean {
    this.queuedDownBytes += bytes;
    if (!this.paused && this.queuedDownBytes >= this.link.maxQueueBytes) {
      this.paused = true;
      this.link.holdChanged(+1);
      this.raw.pause();
      return true;
    }
    return false;
  }

  private unpause(): void {
    if (!this.paused) return;
    this.paused = false;
    this.link.holdChanged(-1);
    if (!this.dead) this.raw.resume();
  }

  /** @internal A download item reached the client side of the link. */
  deliverDown(chunk: Buffer | null): boolean {
    if (chunk === null) {
      if (!this.dead) this.emit('end');
      return false;
    }
    this.queuedDownBytes -= chunk.length;
    if (this.dead) return false;
    if (this.paused && this.queuedDownBytes <= this.link.maxQueueBytes / 2) this.unpause();
    this.emit('data', chunk);
    return true;
  }

  /** @internal An upload item reached the node side of the link. */
  deliverUp(chunk: Buffer | null): boolean {
    if (chunk === null) {
      if (!this.dead && !this.raw.destroyed) this.raw.end();
      return false;
    }
    this.queuedUpBytes -= chunk.length;
    if (this.needDrain && this.queuedUpBytes < this.link.maxQueueBytes / 2) {
      this.needDrain = false;
      if (!this.dead) process.nextTick(() => this.emit('drain'));
    }
    if (this.dead || this.raw.destroyed || !this.raw.writable) return false;
    this.raw.write(chunk);
    return true;
  }
}

/**
 * The client's network interface (see the module comment). `wrap` is bound, so it can be passed
 * as `wrapSocket` to RespConnection or ClusterClient as is.
 */
export class EmulatedLink implements TimerClient {
  readonly profile: LinkProfile;
  /** False for a link with neither a bandwidth limit nor an RTT: `wrap` returns the raw socket. */
  readonly shaped: boolean;
  /** Download bytes queued per connection before its raw socket is paused. */
  readonly maxQueueBytes: number;
  private readonly batchMs: number;
  private readonly up: Direction;
  private readonly down: Direction;
  private scheduledAt = Infinity;
  private scheduledEarliest = Infinity;
  private inTimer = false;
  private closed = false;
  private pauses = 0;
  private connections = 0;
  private wakeups = 0;
  /** Sockets paused by download backpressure right now, and when the last one was resumed. */
  private pausedSockets = 0;
  private lastResumeAt = -Infinity;
  /** Unshaped links count bytes from the raw sockets' counters. */
  private readonly plain = new Set<net.Socket>();
  private plainUp = 0;
  private plainDown = 0;

  constructor(profile: LinkSpec, options: EmulatedLinkOptions = {}) {
    this.profile = parseLinkProfile(profile);
    // It sees the byte stream after TCP: it can neither drop segments nor vary their delay
    // (docs/networks.md), and a link that silently ignored them would mislabel every result.
    if (needsNetem(this.profile)) throw new LinkSpecError(`link ${this.profile.name}: jitter and loss need the kernel's netem; the user-space link cannot emulate them`);
    const { bandwidthBitsPerSec: bits, rttMs } = this.profile;
    this.shaped = bits !== null || rttMs > 0;
    const delayMs = rttMs / 2;
    const bytesPerMs = bits === null ? null : bits / 8 / 1000;
    this.maxQueueBytes = options.maxQueueBytes ?? (bytesPerMs === null ? 8 * 1024 * 1024 : Math.max(256 * 1024, Math.ceil(bytesPerMs * (delayMs + QUEUE_MS))));
    if (!(this.maxQueueBytes > 0)) throw new RangeError('maxQueueBytes must be positive');
    this.batchMs = options.batchMs ?? 1;
    if (!(this.batchMs >= 0)) throw new RangeError('batchMs must be ≥ 0');
    if (this.shaped) preciseTimer().warmUp();
    this.up = new Direction(bits, delayMs);
    this.down = new Direction(bits, delayMs);
  }

  /** Wraps a client socket (returns it unchanged when the link shapes nothing). */
  readonly wrap = (socket: net.Socket): SocketLike => {
    this.connections++;
    if (this.shaped && !this.closed) return new ShapedSocket(socket, this);
    this.plain.add(socket);
    socket.once('close', () => {
      this.plainUp += socket.bytesWritten;
      this.plainDown += socket.bytesRead;
      this.plain.delete(socket);
    });
    return socket;
  };

  stats(): LinkStats {
    const now = nowMs();
    let plainUp = this.plainUp;
    let plainDown = this.plainDown;
    for (const s of this.plain) {
      plainUp += s.bytesWritten;
      plainDown += s.bytesRead;
    }
    return {
      profile: this.profile.name,
      bytesUp: this.up.bytes + plainUp,
      bytesDown: this.down.bytes + plainDown,
      throttledUpMs: this.up.throttledMs(now),
      throttledDownMs: this.down.throttledMs(now),
      pauses: this.pauses,
      connections: this.connections,
      wakeups: this.wakeups,
    };
  }

  /**
   * Stops shaping (call it when the run is over): cancels the timer, hands over what is still
   * queued at once, and from then on passes bytes straight through (sockets wrapped later too).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    preciseTimer().cancel(this);
    this.scheduledAt = Infinity;
    this.scheduledEarliest = Infinity;
    this.onTimer(Infinity);
  }

  /** @internal Bytes (or the end marker) from the client, entering the link. */
  send(sock: ShapedSocket, chunk: Buffer | null): void {
    if (this.closed) {
      if (sock.deliverUp(chunk)) this.up.bytes += chunk?.length ?? 0;
      return;
    }
    if (this.up.push(sock, chunk, nowMs())) this.reschedule();
  }

  /** @internal Bytes (or the end marker) from a node, entering the link. */
  arrive(sock: ShapedSocket, chunk: Buffer | null): void {
    if (this.closed) {
      if (chunk !== null) sock.queuedDownBytes += chunk.length;
      if (sock.deliverDown(chunk)) this.down.bytes += chunk?.length ?? 0;
      return;
    }
    if (chunk !== null && sock.onQueuedDown(chunk.length)) this.pauses++;
    const heldUntil = this.pausedSockets > 0 ? Infinity : this.lastResumeAt;
    if (this.down.push(sock, chunk, nowMs(), heldUntil)) this.reschedule();
  }

  /** @internal A socket was paused (+1) or resumed (-1) by download backpressure. */
  holdChanged(delta: number): void {
    this.pausedSockets += delta;
    if (delta < 0) this.lastResumeAt = nowMs();
  }

  /** @internal Called by the timer: releases what is due (plus what falls due within batchMs). */
  onTimer(now: number): void {
    this.scheduledAt = Infinity;
    this.scheduledEarliest = Infinity;
    this.wakeups++;
    this.inTimer = true;
    try {
      // Upload first: 'data' listeners called below may write, and those new upload bytes must wait
      // for their own delay rather than ride along in this batch.
      while (this.up.releasable(now, this.batchMs)) {
        const item = this.up.shift();
        const len = item.chunk?.length ?? 0;
        if (item.sock.deliverUp(item.chunk)) this.up.bytes += len;
      }
      while (this.down.releasable(now, this.batchMs)) {
        const item = this.down.shift();
        const len = item.chunk?.length ?? 0;
        if (item.sock.deliverDown(item.chunk)) this.down.bytes += len;
      }
    } finally {
      this.inTimer = false;
      this.reschedule();
    }
  }

  private reschedule(): void {
    if (this.inTimer || this.closed) return;
    const next = Math.min(this.up.nextDue, this.down.nextDue);
    const earliest = Math.min(this.up.earliestRelease(this.batchMs), this.down.earliestRelease(this.batchMs));
    if (next === this.scheduledAt && earliest === this.scheduledEarliest) return;
    this.scheduledAt = next;
    this.scheduledEarliest = earliest;
    if (next === Infinity) preciseTimer().cancel(this);
    else preciseTimer().schedule(this, next, earliest);
  }
}
