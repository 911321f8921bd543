/**
 * The far end of a link check (verify.ts), run as its own process on a host of the network:
 * `node probe-peer.ts <host>` listens on <host>:<free port>, prints {"ready":true,"port":n}, and
 * serves each connection by its first byte:
 *   'D' + u64 n: sends n bytes, then ends (download);
 *   'U' + u64 n: reads n bytes, replies with u64 nanoseconds from their first to their last byte (upload);
 *   'P': echoes every byte (ping-pong).
 */
import net from 'node:net';
import { sendBytes } from './send-bytes';

function serve(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  let head = Buffer.alloc(0);
  const onHead = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const mode = String.fromCharCode(head[0]!);
    if (mode === 'P') {
      socket.off('data', onHead);
      if (head.length > 1) socket.write(head.subarray(1));
      socket.on('data', (c: Buffer) => socket.write(c));
      return;
    }
    if (head.length < 9) return;
    socket.off('data', onHead);
    const bytes = Number(head.readBigUInt64BE(1));
    if (mode === 'D') send(socket, bytes);
    else receive(socket, bytes, head.subarray(9));
  };
  socket.on('data', onHead);
}

function send(socket: net.Socket, bytes: number): void {
  sendBytes(socket, bytes, () => socket.end());
}

function receive(socket: net.Socket, bytes: number, first: Buffer): void {
  let got = 0;
  let startedAt = 0n;
  const take = (chunk: Buffer): void => {
    if (chunk.length === 0) return;
    if (got === 0) startedAt = process.hrtime.bigint();
    got += chunk.length;
    if (got >= bytes) {
      const reply = Buffer.alloc(8);
      reply.writeBigUInt64BE(process.hrtime.bigint() - startedAt);
      socket.end(reply);
    }
  };
  take(first);
  socket.on('data', take);
}

const host = process.argv[2] ?? '127.0.0.1';
const server = net.createServer(serve);
server.listen(0, host, () => process.stdout.write(`${JSON.stringify({ ready: true, port: (server.address() as net.AddressInfo).port })}\n`));
// Ends with its parent: the check closes stdin (or dies) and the peer goes too.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
