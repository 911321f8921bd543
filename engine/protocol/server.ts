/**
 * A RESP2 TCP server: parses pipelined requests, calls a handler per command, and writes replies
 * in request order even when handlers finish out of order (writes wait for their LMDB commit,
 * reads answer at once). With `classify`, a command that must see (or must not be seen by) an
 * unfinished command before it on its connection waits for it. Malformed input gets an error reply
 * and the connection is closed; the server and its other connections carry on.
 */
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { RespError, RespProtocolError, RespReader, RespWriter, type RespReaderLimits, type RespValue } from './resp';

/** A reply already encoded as RESP bytes (used for large replies such as range scans). */
export class EncodedReply {
  readonly parts: Buffer[];
  /** Called once the parts are written to the socket (or dropped with it): their memory may then be reused. */
  onWritten: (() => void) | undefined;

  constructor(...parts: Buffer[]) {
    this.parts = parts;
  }

  /** Sets `onWritten`; returns this reply. */
  whenWritten(release: () => void): this {
    this.onWritten = release;
    return this;
  }
}

export type Reply = RespValue | EncodedReply;

/**
 * A reply a handler gives later, by calling `resolve` or `reject` once: a Promise without the
 * promise machinery (an allocation, two reaction closures and a microtask per request), for the
 * per-request write path. The server keeps it as the request's place in the reply order.
 */
export class DeferredReply {
  done = false;
  reply: Reply = null;
  /** Set by the server: called once, when the reply is known. */
  onDone: (() => void) | undefined;

  resolve(reply: Reply): void {
    if (this.done) return;
    this.done = true;
    this.reply = reply;
    this.onDone?.();
  }

  reject(err: unknown): void {
    this.resolve(errorReply(err));
  }
}

/** Per-connection state visible to command handlers. */
export interface Connection {
  readonly id: number;
  readonly remoteAddress: string;
  /** Set by AUTH with the admin token. */
  admin: boolean;
  /** Close the connection after the current reply (QUIT). */
  closeAfterReply: boolean;
}

/**
 * Answers one command. A Buffer returned synchronously (not through a promise) may be a view of
 * memory the next command reuses, such as LMDB's read buffer: the server encodes or copies it
 * before it calls the handler again.
 *
 * `args` are views of the bytes read from the socket, which are never overwritten (the reader only
 * allocates): a handler may keep them, which keeps the whole read chunk (up to 64 KiB) alive.
 */
export type CommandHandler = (args: Buffer[], conn: Connection) => Reply | Promise<Reply> | DeferredReply;

/**
 * How a command is ordered against the unfinished commands before it on the same connection, so a
 * pipeline behaves as if its commands ran one after another (as in Redis):
 * - `read` waits for every earlier write; runs alongside earlier reads still running.
 * - `sequenced-write` is a blind write (it reads nothing) that the storage applies in submission
 *   order: it runs while earlier sequenced writes are still unfinished, so a pipeline of SETs
 *   commits as one group, but after every earlier read and other write has finished.
 * - `write` runs once every earlier command has finished (a write that reads, such as DEL's count).
 */
export type CommandOrder = 'read' | 'sequenced-write' | 'write';

export interface RespServerOptions {
  host: string;
  port: number;
  handler: CommandHandler;
  /**
   * The order of a command (see CommandOrder). Asked only for a command that arrives while an
   * earlier one is unfinished, and for a command whose reply comes later. Without it, commands run
   * as they arrive and each handler orders its own effects.
   */
  classify?: (args: Buffer[]) => CommandOrder;
  readerLimits?: Partial<RespReaderLimits>;
  /** Requests parsed but not yet answered on one connection before reading pauses. */
  maxPendingPerConnection?: number;
  maxConnections?: number;
}

interface Slot {
  done: boolean;
  reply: Reply;
}

/** Byte and connection counters (socket counters, i.e. the real bytes on the wire). */
export interface ServerTraffic {
  bytesIn: number;
  bytesOut: number;
  connectionsTotal: number;
  connectionsOpen: number;
  commandsProcessed: number;
}

export class RespServer {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private closedBytesIn = 0;
  private closedBytesOut = 0;
  private connectionsTotal = 0;
  private commandsProcessed = 0;
  private nextConnectionId = 1;
  /** Connections with replies encoded but not yet written, flushed once per event-loop turn. */
  private readonly unflushed: Array<() => void> = [];
  private flushAllScheduled = false;

  constructor(private readonly options: RespServerOptions) {}

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => this.accept(socket));
      server.maxConnections = this.options.maxConnections ?? 10_000;
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        this.server = server;
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  traffic(): ServerTraffic {
    let bytesIn = this.closedBytesIn;
    let bytesOut = this.closedBytesOut;
    for (const s of this.sockets) {
      bytesIn += s.bytesRead;
      bytesOut += s.bytesWritten;
    }
    return { bytesIn, bytesOut, connectionsTotal: this.connectionsTotal, connectionsOpen: this.sockets.size, commandsProcessed: this.commandsProcessed };
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Writes every connection's collected replies after the event loop has read all the sockets that
   * were ready (setImmediate runs after the poll phase), as redis-server writes its replies in
   * `beforeSleep`. Writing each connection's replies right after reading it woke redis-benchmark
   * once per write (sock_def_readable, ~12% of the node's time in `perf` under GET -P 16, against ~3%
   * in redis-server); a burst of writes wakes it once and finds it running for the rest.
   */
  private flushLater(flush: () => void): void {
    this.unflushed.push(flush);
    if (this.flushAllScheduled) return;
    this.flushAllScheduled = true;
    setImmediate(this.flushAll);
  }

  private readonly flushAll = (): void => {
    this.flushAllScheduled = false;
    const pending = this.unflushed;
    for (let i = 0; i < pending.length; i++) pending[i]!();
    pending.length = 0;
  };

  private accept(socket: net.Socket): void {
    this.connectionsTotal++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const connection = new ServerConnection(socket, this.nextConnectionId++, this.options, {
      run: (args, conn) => {
        this.commandsProcessed++;
        return this.options.handler(args, conn);
      },
      flushLater: (flush) => this.flushLater(flush),
    });
    socket.on('data', connection.onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.closedBytesIn += socket.bytesRead;
      this.closedBytesOut += socket.bytesWritten;
      this.sockets.delete(socket);
      connection.closed();
    });
  }
}

/** What a connection needs from its server: the command handler (counted) and the shared flush. */
interface ServerHooks {
  run: CommandHandler;
  flushLater(flush: () => void): void;
}

/**
 * One client connection: parses its requests, runs them in order (holding a command behind an
 * unfinished one it must not overtake, see CommandOrder), and writes the replies in request order.
 * The callbacks it hands out (the socket's data handler, a pending reply's onDone, the flush) are
 * made once per connection, not per request.
 */
class ServerConnection {
  private readonly conn: Connection;
  private readonly reader: RespReader;
  private readonly maxPending: number;
  private readonly classify: ((args: Buffer[]) => CommandOrder) | undefined;
  /** Replies in request order, written once the first ones are done. */
  private readonly queue: Slot[] = [];
  private out = new RespWriter();
  private closing = false;
  private pausedForPending = false;
  private flushQueued = false;
  private flushScheduled = false;
  /**
   * Commands that arrived behind an unfinished command they must not overtake, in arrival order
   * (everything after a held command is held too), and the error that ends the stream after them.
   */
  private readonly held: Buffer[][] = [];
  private heldProtocolError: RespError | undefined;
  private runningHeld = false;
  /** Unfinished commands of this connection by CommandOrder (counted only with `classify`). */
  private readonly unfinished: Record<CommandOrder, number> = { read: 0, 'sequenced-write': 0, write: 0 };
  /** One callback per order: a pending reply's onDone. */
  private readonly onFinished: Record<CommandOrder, () => void> = {
    read: () => this.finish('read'),
    'sequenced-write': () => this.finish('sequenced-write'),
    write: () => this.finish('write'),
  };

  constructor(
    private readonly socket: net.Socket,
    id: number,
    options: RespServerOptions,
    private readonly server: ServerHooks,
  ) {
    this.conn = { id, remoteAddress: `${socket.remoteAddress}:${socket.remotePort}`, admin: false, closeAfterReply: false };
    this.reader = new RespReader('request', options.readerLimits);
    this.maxPending = options.maxPendingPerConnection ?? 4096;
    this.classify = options.classify;
  }

  /** The socket closed: drop what was encoded for it. */
  closed(): void {
    this.out = new RespWriter();
  }

  readonly flush = (): void => {
    this.flushQueued = false;
    const socket = this.socket;
    if (this.out.length === 0 || socket.destroyed) return;
    const ok = socket.write(this.out.take());
    if (!ok && !socket.isPaused()) {
      socket.pause();
      socket.once('drain', () => {
        if (!this.pausedForPending && !this.closing) socket.resume();
      });
    }
  };

  private emit(reply: Reply): void {
    if (!(reply instanceof EncodedReply)) {
      this.out.value(reply);
      return;
    }
    const socket = this.socket;
    if (socket.destroyed) {
      reply.onWritten?.();
      return;
    }
    // One writev for the replies before it and all its parts. Written one by one, a SCANRANGE's
    // 32-byte head and its 128 KB body were two syscalls, each waking the client; the head's
    // took 130-230 µs of the node's ~1 ms per 1000-row batch (timestamps around socket.write).
    socket.cork();
    if (this.out.length > 0) this.flush();
    // The last write's callback runs once the bytes are in the kernel (or with an error when the
    // socket dies first): then the parts' memory may be reused.
    const parts = reply.parts;
    for (let i = 0; i < parts.length; i++) socket.write(parts[i]!, i === parts.length - 1 ? reply.onWritten : undefined);
    if (parts.length === 0) reply.onWritten?.();
    socket.uncork();
  }

  /**
   * Writes commit in groups (one LMDB transaction for many requests) and their promises settle in
   * one burst: collect the replies of a burst and write them with one socket write.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flushBurst);
  }

  private readonly flushBurst = (): void => {
    this.flushScheduled = false;
    this.flush();
    if (this.conn.closeAfterReply && this.queue.length === 0) this.socket.end();
  };

  private resumeIfRoom(): void {
    if (this.pausedForPending && this.queue.length + this.held.length < this.maxPending / 2) {
      this.pausedForPending = false;
      if (!this.socket.writableNeedDrain) this.socket.resume();
    }
  }

  private readonly drainQueue = (): void => {
    const queue = this.queue;
    while (queue.length > 0 && queue[0]!.done) this.emit(queue.shift()!.reply);
    this.scheduleFlush();
    this.resumeIfRoom();
  };

  private anyUnfinished(): boolean {
    const u = this.unfinished;
    return u.read + u['sequenced-write'] + u.write > 0;
  }

  private mayRunNow(order: CommandOrder): boolean {
    const u = this.unfinished;
    if (order === 'read') return u.write === 0 && u['sequenced-write'] === 0;
    if (order === 'sequenced-write') return u.write === 0 && u.read === 0;
    return !this.anyUnfinished();
  }

  /**
   * The error for malformed input goes after the replies of the requests before it, which may
   * still be waiting on a commit; then the connection closes (the stream cannot be resynchronised).
   */
  private answerErrorAndClose(reply: RespError): void {
    this.closing = true;
    this.conn.closeAfterReply = true;
    if (this.queue.length > 0) {
      this.queue.push({ done: true, reply });
      return;
    }
    this.out.value(reply);
    this.flush();
    this.socket.end();
  }

  /** Runs held commands, oldest first, while the oldest may run. */
  private runHeld(): void {
    if (this.runningHeld) return; // a reply settled by a held command's handler: the loop below goes on
    const held = this.held;
    if (this.socket.destroyed) {
      held.length = 0; // no one to answer (Redis drops a closed client's unread commands too)
      return;
    }
    this.runningHeld = true;
    try {
      while (held.length > 0) {
        const order = this.classify!(held[0]!);
        if (!this.mayRunNow(order)) break;
        this.run(held.shift()!, order);
        if (this.conn.closeAfterReply) {
          // QUIT: drop what followed it; scheduleFlush closes once every earlier reply is written.
          held.length = 0;
          this.heldProtocolError = undefined;
          this.closing = true;
        }
      }
    } finally {
      this.runningHeld = false;
    }
    if (held.length === 0 && this.heldProtocolError !== undefined) {
      const reply = this.heldProtocolError;
      this.heldProtocolError = undefined;
      this.answerErrorAndClose(reply);
    }
    this.scheduleFlush();
    this.resumeIfRoom();
  }

  private finish(order: CommandOrder): void {
    this.unfinished[order]--;
    this.drainQueue();
    if (this.held.length > 0) this.runHeld();
  }

  /** Counts an unfinished command by its order; returns what to call when it finishes. */
  private trackUnfinished(order: CommandOrder): () => void {
    this.unfinished[order]++;
    return this.onFinished[order];
  }

  private run(args: Buffer[], order?: CommandOrder): void {
    let result: Reply | Promise<Reply> | DeferredReply;
    try {
      result = this.server.run(args, this.conn);
    } catch (err) {
      result = errorReply(err);
    }
    if (result instanceof Promise) {
      // A promise takes its place in the reply order as a reply it settles.
      const settled = new DeferredReply();
      result.then((reply) => settled.resolve(reply), (err: unknown) => settled.reject(err));
      result = settled;
    }
    const queue = this.queue;
    if (result instanceof DeferredReply) {
      queue.push(result);
      if (result.done) this.drainQueue();
      else result.onDone = this.classify === undefined ? this.drainQueue : this.trackUnfinished(order ?? this.classify(args));
    } else if (queue.length === 0) {
      this.emit(result);
    } else {
      // Waits behind an unfinished write: copy a bulk, which may be a view the next command reuses.
      queue.push({ done: true, reply: result instanceof Buffer ? Buffer.from(result) : result });
    }
  }

  readonly onData = (chunk: Buffer): void => {
    if (this.closing) return;
    this.reader.push(chunk);
    try {
      this.runRequests();
    } catch (err) {
      // The stream cannot be resynchronised after a framing error: answer, then close (as Redis does).
      const reply = new RespError(err instanceof RespProtocolError ? `ERR ${err.message}` : `ERR ${String(err)}`);
      if (this.held.length > 0) {
        this.closing = true; // read no more; the error is answered once the held commands have run
        this.heldProtocolError = reply;
      } else {
        this.answerErrorAndClose(reply);
      }
      return;
    }
    if (this.conn.closeAfterReply) {
      // QUIT: ignore anything after it, close once every earlier reply is written.
      this.flush();
      this.closing = true;
      if (this.queue.length === 0) this.socket.end();
      return;
    }
    if (this.out.length > 0 && !this.flushQueued) {
      this.flushQueued = true;
      this.server.flushLater(this.flush);
    }
    if (this.queue.length + this.held.length >= this.maxPending && !this.pausedForPending) {
      this.pausedForPending = true;
      this.socket.pause();
    }
  };

  /** Runs (or holds) every complete request read so far; throws on malformed input. */
  private runRequests(): void {
    const classify = this.classify;
    for (;;) {
      const request = this.reader.next();
      if (request === undefined) return;
      const args = request as Buffer[];
      if (args.length === 0) continue;
      // Classified only while something is unfinished: a connection with nothing pending
      // (GET after GET) pays nothing. Commands are held only with `classify`.
      let order: CommandOrder | undefined;
      if (this.held.length > 0 || (classify !== undefined && this.anyUnfinished() && !this.mayRunNow((order = classify(args))))) {
        this.held.push(args);
        continue;
      }
      this.run(args, order);
      if (this.conn.closeAfterReply) return;
    }
  }
}

/** Turns a thrown value into an error reply; errors carrying a `code` keep it as the reply's first word. */
export function errorReply(err: unknown): RespError {
  if (err instanceof RespError) return err;
  if (err instanceof CommandError) return new RespError(`${err.code} ${err.message}`);
  const message = err instanceof Error ? err.message : String(err);
  return new RespError(`ERR ${message}`);
}

/** An error a command handler throws to answer with `-CODE message`. */
export class CommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
