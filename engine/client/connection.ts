/**
 * One pipelined RESP connection: requests are written as they come, replies are matched to
 * requests in order. A bounded number of requests is in flight; the rest wait in a local queue.
 */
import net from 'node:net';
import { RespError, RespProtocolError, RespWriter, type RespValue } from '../protocol/resp';
import { ClientError } from './errors';
import { ReplyReader } from './reply-reader';

/**
 * A raw socket is read into one buffer of this size, reused for every read (`onread`), instead of
 * a new chunk per read: the reply reader copies what it keeps, so what a connection holds is its
 * replies, not socket chunks waiting for the GC.
 */
const READ_BUFFER_BYTES = 64 * 1024;

export interface ConnectionOptions {
  host: string;
  port: number;
  /** Sent as AUTH right after connecting. */
  adminToken?: string;
  connectTimeoutMs?: number;
  /** A request without a reply for this long fails with TIMEOUT and the connection is dropped. */
  requestTimeoutMs?: number;
  maxInFlight?: number;
  /**
   * Wraps the socket (e.g. network emulation). The connection reads and writes through the wrapper;
   * connect/error/close events and the byte counters stay on the raw socket (the real wire bytes).
   */
  wrapSocket?: (socket: net.Socket) => SocketLike;
}

/** What a connection needs from a (possibly wrapped) socket. `net.Socket` is one. */
export interface SocketLike {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  write(data: Buffer): unknown;
  destroy(): unknown;
}

interface Pending {
  resolve(value: RespValue): void;
  reject(err: Error): void;
  sentAt: number;
  onHead?: (first: RespValue) => void;
}

/** Per-request options of `send`. */
export interface SendOptions {
  /**
   * Called with the first item of an array reply as soon as it has arrived, before the rest of the
   * reply (see ReplyReader.feed). An exception it throws is ignored: the reply still resolves.
   */
  onHead?: (first: RespValue) => void;
}

interface Waiting {
  args: ReadonlyArray<Buffer | Uint8Array | string>;
  pending: Pending;
}

export class RespConnection {
  private socket: SocketLike | undefined;
  /** The raw socket under `socket` (the same object when there is no wrapper). */
  private raw: net.Socket | undefined;
  private connecting: Promise<void> | undefined;
  private readonly inFlight: Pending[] = [];
  private readonly waiting: Waiting[] = [];
  private reader = new ReplyReader();
  private readonly writer = new RespWriter();
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Bytes of sockets that were replaced after a reconnect, so the counters stay cumulative. */
  private pastBytesRead = 0;
  private pastBytesWritten = 0;

  constructor(readonly options: ConnectionOptions) {}

  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  get bytesRead(): number {
    return this.pastBytesRead + (this.raw?.bytesRead ?? 0);
  }

  get bytesWritten(): number {
    return this.pastBytesWritten + (this.raw?.bytesWritten ?? 0);
  }

  /** Sends one command; resolves with its reply (error replies resolve as RespError values). */
  async send(args: ReadonlyArray<Buffer | Uint8Array | string>, options: SendOptions = {}): Promise<RespValue> {
    if (this.closed) throw new ClientError('CLOSED', `connection to ${this.address} is closed`);
    if (!this.socket) await this.connect();
    return new Promise<RespValue>((resolve, reject) => {
      const pending: Pending = { resolve, reject, sentAt: 0, onHead: options.onHead };
      if (this.inFlight.length < (this.options.maxInFlight ?? 256)) this.write(args, pending);
      else this.waiting.push({ args, pending });
    });
  }

  /** Like send, but an error reply is thrown as a ClientError carrying the server's code. */
  async call(args: ReadonlyArray<Buffer | Uint8Array | string>): Promise<RespValue> {
    const reply = await this.send(args);
    if (reply instanceof RespError) throw ClientError.fromReply(reply, this.address);
    return reply;
  }

  close(): void {
    this.closed = true;
    this.fail(new ClientError('CLOSED', `connection to ${this.address} closed by the client`));
  }

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = new Promise<void>((resolve, reject) => {
      // A wrapper reads through 'data' events; a raw socket into its reused read buffer.
      const readBuffer = this.options.wrapSocket ? undefined : Buffer.allocUnsafe(READ_BUFFER_BYTES);
      const onread = readBuffer && {
        buffer: readBuffer,
        callback: (bytes: number): boolean => {
          this.onData(socket, readBuffer.subarray(0, bytes));
          return true;
        },
      };
      const raw = net.connect({ host: this.options.host, port: this.options.port, onread });
      const socket = this.options.wrapSocket ? this.options.wrapSocket(raw) : raw;
      raw.setNoDelay(true);
      const timeout = setTimeout(() => {
        raw.destroy();
        reject(new ClientError('UNAVAILABLE', `connect to ${this.address} timed out`));
      }, this.options.connectTimeoutMs ?? 2000);
      raw.once('connect', () => {
        clearTimeout(timeout);
        this.socket = socket;
        this.raw = raw;
        this.reader = new ReplyReader();
        this.startTimer();
        resolve();
      });
      raw.once('error', (err) => {
        clearTimeout(timeout);
        if (this.socket !== socket) reject(new ClientError('UNAVAILABLE', `cannot connect to ${this.address}: ${err.message}`));
      });
      if (this.options.wrapSocket) socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
      raw.on('close', () => {
        clearTimeout(timeout);
        if (this.socket === socket) {
          this.pastBytesRead += raw.bytesRead;
          this.pastBytesWritten += raw.bytesWritten;
          this.socket = undefined;
          this.raw = undefined;
          this.fail(new ClientError('UNAVAILABLE', `connection to ${this.address} lost`));
        }
        this.connecting = undefined;
      });
    }).then(async () => {
      if (this.options.adminToken !== undefined) {
        const reply = await new Promise<RespValue>((resolve, reject) => this.write(['AUTH', this.options.adminToken!], { resolve, reject, sentAt: 0 }));
        if (reply instanceof RespError) throw ClientError.fromReply(reply, this.address);
      }
    });
    this.connecting.catch(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private write(args: ReadonlyArray<Buffer | Uint8Array | string>, pending: Pending): void {
    const socket = this.socket;
    if (!socket) {
      pending.reject(new ClientError('UNAVAILABLE', `connection to ${this.address} lost`));
      return;
    }
    pending.sentAt = Date.now();
    this.inFlight.push(pending);
    this.writer.command(args);
    // Coalesce commands issued in the same tick into one socket write.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => {
        this.flushScheduled = false;
        if (this.writer.length > 0 && this.socket) this.socket.write(this.writer.take());
      });
    }
  }

  /** Bytes from `socket`; a wrapper may deliver them late (emulated delay): dropped once that socket closed. */
  private onData(socket: SocketLike, bytes: Buffer): void {
    if (this.socket !== socket) return;
    try {
      this.reader.feed(bytes, this.onReply, this.onHead);
    } catch (err) {
      this.socket?.destroy();
      this.fail(new ClientError('PROTOCOL', `bad reply from ${this.address}: ${(err as Error).message}`));
      return;
    }
    while (this.waiting.length > 0 && this.inFlight.length < (this.options.maxInFlight ?? 256)) {
      const next = this.waiting.shift()!;
      this.write(next.args, next.pending);
    }
  }

  /** The head of the reply being read belongs to the oldest request in flight. */
  private readonly onHead = (first: RespValue): void => {
    const pending = this.inFlight[0];
    if (!pending?.onHead) return;
    try {
      pending.onHead(first);
    } catch {
      // A hint for the caller only; the reply itself is unaffected.
    }
  };

  private readonly onReply = (value: RespValue): void => {
    const pending = this.inFlight.shift();
    if (!pending) throw new RespProtocolError('a reply to no request');
    pending.resolve(value);
  };

  private startTimer(): void {
    const timeoutMs = this.options.requestTimeoutMs;
    if (!timeoutMs || this.timer) return;
    this.timer = setInterval(() => {
      const oldest = this.inFlight[0];
      if (oldest && Date.now() - oldest.sentAt > timeoutMs) {
        this.socket?.destroy();
        this.fail(new ClientError('TIMEOUT', `no reply from ${this.address} within ${timeoutMs} ms`));
      }
    }, Math.min(1000, Math.max(50, timeoutMs / 4)));
    this.timer.unref();
  }

  private fail(err: Error): void {
    const all = [...this.inFlight.splice(0), ...this.waiting.splice(0).map((w) => w.pending)];
    for (const p of all) p.reject(err);
    if (this.closed && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (this.closed) this.socket?.destroy();
  }
}
