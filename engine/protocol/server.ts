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
    const conn: Connection = { id: this.nextConnectionId++, remoteAddress: `${socket.remoteAddress}:${socket.remotePort}`, admin: false, closeAfterReply: false };
    const reader = new RespReader('request', this.options.readerLimits);
    const maxPending = this.options.maxPendingPerConnection ?? 4096;
    const queue: Slot[] = [];
    let out = new RespWriter();
    let closing = false;
    let pausedForPending = false;
    let flushQueued = false;
    const classify = this.options.classify;
    // Commands that arrived behind an unfinished command they must not overtake, in arrival order
    // (everything after a held command is held too), and the error that ends the stream after them.
    const held: Buffer[][] = [];
    let heldProtocolError: RespError | undefined;
    let runningHeld = false;
    // Unfinished commands of this connection by CommandOrder (counted only with `classify`).
    const unfinished: Record<CommandOrder, number> = { read: 0, 'sequenced-write': 0, write: 0 };

    const flush = (): void => {
      flushQueued = false;
      if (out.length === 0 || socket.destroyed) return;
      const ok = socket.write(out.take());
      if (!ok && !socket.isPaused()) {
        socket.pause();
        socket.once('drain', () => {
          if (!pausedForPending && !closing) socket.resume();
        });
      }
    };

    const emit = (reply: Reply): void => {
      if (reply instanceof EncodedReply) {
        if (socket.destroyed) {
          reply.onWritten?.();
          return;
        }
        // One writev for the replies before it and all its parts. Written one by one, a SCANRANGE's
        // 32-byte head and its 128 KB body were two syscalls, each waking the client; the head's
        // took 130-230 µs of the node's ~1 ms per 1000-row batch (timestamps around socket.write).
        socket.cork();
        if (out.length > 0) flush();
        // The last write's callback runs once the bytes are in the kernel (or with an error when the
        // socket dies first): then the parts' memory may be reused.
        const parts = reply.parts;
        for (let i = 0; i < parts.length; i++) socket.write(parts[i]!, i === parts.length - 1 ? reply.onWritten : undefined);
        if (parts.length === 0) reply.onWritten?.();
        socket.uncork();
      } else {
        out.value(reply);
      }
    };

    // Writes commit in groups (one LMDB transaction for many requests) and their promises settle in
    // one burst: collect the replies of a burst and write them with one socket write.
    let flushScheduled = false;
    const scheduleFlush = (): void => {
      if (flushScheduled) return;
      flushScheduled = true;
      process.nextTick(() => {
        flushScheduled = false;
        flush();
        if (conn.closeAfterReply && queue.length === 0) socket.end();
      });
    };

    const resumeIfRoom = (): void => {
      if (pausedForPending && queue.length + held.length < maxPending / 2) {
        pausedForPending = false;
        if (!socket.writableNeedDrain) socket.resume();
      }
    };

    const drainQueue = (): void => {
      while (queue.length > 0 && queue[0]!.done) emit(queue.shift()!.reply);
      scheduleFlush();
      resumeIfRoom();
    };

    const anyUnfinished = (): boolean => unfinished.read + unfinished['sequenced-write'] + unfinished.write > 0;

    const mayRunNow = (order: CommandOrder): boolean => {
      if (order === 'read') return unfinished.write === 0 && unfinished['sequenced-write'] === 0;
      if (order === 'sequenced-write') return unfinished.write === 0 && unfinished.read === 0;
      return !anyUnfinished();
    };

    // The error for malformed input goes after the replies of the requests before it, which may
    // still be waiting on a commit; then the connection closes (the stream cannot be resynchronised).
    const answerErrorAndClose = (reply: RespError): void => {
      closing = true;
      conn.closeAfterReply = true;
      if (queue.length > 0) {
        queue.push({ done: true, reply });
        return;
      }
      out.value(reply);
      flush();
      socket.end();
    };

    /** Runs held commands, oldest first, while the oldest may run. */
    const runHeld = (): void => {
      if (runningHeld) return; // a reply settled by a held command's handler: the loop below goes on
      if (socket.destroyed) {
        held.length = 0; // no one to answer (Redis drops a closed client's unread commands too)
        return;
      }
      runningHeld = true;
      try {
        while (held.length > 0) {
          const order = classify!(held[0]!);
          if (!mayRunNow(order)) break;
          run(held.shift()!, order);
          if (conn.closeAfterReply) {
            // QUIT: drop what followed it; scheduleFlush closes once every earlier reply is written.
            held.length = 0;
            heldProtocolError = undefined;
            closing = true;
          }
        }
      } finally {
        runningHeld = false;
      }
      if (held.length === 0 && heldProtocolError !== undefined) {
        const reply = heldProtocolError;
        heldProtocolError = undefined;
        answerErrorAndClose(reply);
      }
      scheduleFlush();
      resumeIfRoom();
    };

    const finish = (order: CommandOrder): void => {
      unfinished[order]--;
      drainQueue();
      if (held.length > 0) runHeld();
    };
    // One callback per order, made once per connection: a pending reply's onDone.
    const onFinished: Record<CommandOrder, () => void> = {
      read: () => finish('read'),
      'sequenced-write': () => finish('sequenced-write'),
      write: () => finish('write'),
    };

    /** Counts an unfinished command by its order; returns what to call when it finishes. */
    const trackUnfinished = (order: CommandOrder): (() => void) => {
      unfinished[order]++;
      return onFinished[order];
    };

    const run = (args: Buffer[], order?: CommandOrder): void => {
      this.commandsProcessed++;
      let result: Reply | Promise<Reply> | DeferredReply;
      try {
        result = this.options.handler(args, conn);
      } catch (err) {
        result = errorReply(err);
      }
      if (result instanceof Promise) {
        // A promise takes its place in the reply order as a reply it settles.
        const settled = new DeferredReply();
        result.then((reply) => settled.resolve(reply), (err: unknown) => settled.reject(err));
        result = settled;
      }
      if (result instanceof DeferredReply) {
        queue.push(result);
        if (result.done) drainQueue();
        else result.onDone = classify === undefined ? drainQueue : trackUnfinished(order ?? classify(args));
      } else if (queue.length === 0) {
        emit(result);
      } else {
        // Waits behind an unfinished write: copy a bulk, which may be a view the next command reuses.
        queue.push({ done: true, reply: result instanceof Buffer ? Buffer.from(result) : result });
      }
    };

    socket.on('data', (chunk: Buffer) => {
      if (closing) return;
      reader.push(chunk);
      try {
        for (;;) {
          const request = reader.next();
          if (request === undefined) break;
          const args = request as Buffer[];
          if (args.length === 0) continue;
          // Classified only while something is unfinished: a connection with nothing pending
          // (GET after GET) pays nothing. Commands are held only with `classify`.
          let order: CommandOrder | undefined;
          if (held.length > 0 || (classify !== undefined && anyUnfinished() && !mayRunNow((order = classify(args))))) {
            held.push(args);
            continue;
          }
          run(args, order);
          if (conn.closeAfterReply) break;
        }
      } catch (err) {
        // The stream cannot be resynchronised after a framing error: answer, then close (as Redis does).
        const reply = new RespError(err instanceof RespProtocolError ? `ERR ${err.message}` : `ERR ${String(err)}`);
        if (held.length > 0) {
          closing = true; // read no more; the error is answered once the held commands have run
          heldProtocolError = reply;
        } else {
          answerErrorAndClose(reply);
        }
        return;
      }
      if (conn.closeAfterReply) {
        // QUIT: ignore anything after it, close once every earlier reply is written.
        flush();
        closing = true;
        if (queue.length === 0) socket.end();
        return;
      }
      if (out.length > 0 && !flushQueued) {
        flushQueued = true;
        this.flushLater(flush);
      }
      if (queue.length + held.length >= maxPending && !pausedForPending) {
        pausedForPending = true;
        socket.pause();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.closedBytesIn += socket.bytesRead;
      this.closedBytesOut += socket.bytesWritten;
      this.sockets.delete(socket);
      out = new RespWriter();
    });
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
