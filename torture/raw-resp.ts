/**
 * Raw RESP over a fresh TCP connection, for input a well-behaved client would never send: write the
 * bytes as they are, optionally half-close, and collect whatever comes back until the server closes.
 */
import net from 'node:net';
import { RespConnection } from '../engine/client/connection';
import { RespReader, type RespValue } from '../engine/protocol/resp';

export interface RawExchange {
  /** Replies parsed off the wire, in order. */
  replies: RespValue[];
  /** The reply bytes as latin1 text, for messages. */
  raw: string;
  /** The reply bytes were not RESP (a server bug). */
  unparseable: boolean;
  /** The server closed (or reset) the connection. */
  closed: boolean;
  /** Neither closed nor done within the timeout. */
  hung: boolean;
}

export interface RawExchangeOptions {
  /** Send FIN right after the payload (the server must then close too). */
  halfClose?: boolean;
  /** Abort the connection (RST) right after the payload and return at once. */
  reset?: boolean;
  /** Return once this many replies have arrived. */
  stopAfterReplies?: number;
  /** Give up (and set `hung`) after this long; default 5000 ms. */
  timeoutMs?: number;
}

/** Writes `payload` and reads replies until the server closes, enough replies came, or the timeout passes. */
export function rawExchange(host: string, port: number, payload: Buffer | string, options: RawExchangeOptions = {}): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const reader = new RespReader('reply');
    const out: RawExchange = { replies: [], raw: '', unparseable: false, closed: false, hung: false };
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(out);
    };
    const timer = setTimeout(() => {
      out.hung = true;
      finish();
    }, options.timeoutMs ?? 5000);
    socket.on('data', (chunk: Buffer) => {
      out.raw += chunk.toString('latin1');
      reader.push(chunk);
      try {
        for (let v = reader.next(); v !== undefined; v = reader.next()) out.replies.push(v);
      } catch {
        out.unparseable = true;
      }
      if (options.stopAfterReplies !== undefined && out.replies.length >= options.stopAfterReplies) finish();
    });
    // A server may reset a connection it refused mid-request: that is a close too.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      out.closed = true;
      finish();
    });
    socket.on('connect', () => {
      socket.write(payload);
      if (options.reset) {
        socket.resetAndDestroy();
        finish();
      } else if (options.halfClose) {
        socket.end();
      }
    });
  });
}

/** True when a fresh connection to host:port gets PONG within 5 s. */
export async function pingOk(host: string, port: number): Promise<boolean> {
  const conn = new RespConnection({ host, port, requestTimeoutMs: 5000, connectTimeoutMs: 5000 });
  try {
    return (await conn.send(['PING'])) === 'PONG';
  } catch {
    return false;
  } finally {
    conn.close();
  }
}
