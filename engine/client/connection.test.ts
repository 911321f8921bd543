/**
 * RespConnection against a scripted loopback server: pipelined replies are matched to requests in
 * order, onHead sees the first item of array replies only, and a request sent in reaction to a
 * head (as a scan prefetches) gets its own reply.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RespReader, RespWriter, type RespValue } from '../protocol/resp';
import { RespConnection } from './connection';

/** A server answering `ROWS n tag` with [tag, [n bulks of 1000 bytes]] and `PING` with +PONG. */
async function scriptedServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => {
    const reader = new RespReader('request');
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      const out = new RespWriter();
      for (let req = reader.next(); req !== undefined; req = reader.next()) {
        const args = (req as Buffer[]).map((a) => a.toString());
        if (args[0] === 'ROWS') out.value([Buffer.from(args[2]!), Array.from({ length: Number(args[1]) }, (_, i) => Buffer.alloc(1000, i % 256))]);
        else out.value('PONG');
      }
      socket.write(out.take());
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const rowsReply = (n: number, tag: string): RespValue => [Buffer.from(tag), Array.from({ length: n }, (_, i) => Buffer.alloc(1000, i % 256))];

test('pipelined replies stay matched and intact, and a request sent in reaction to a head gets its own reply', async () => {
  const server = await scriptedServer();
  const conn = new RespConnection({ host: '127.0.0.1', port: server.port, requestTimeoutMs: 10_000 });
  try {
    await conn.send(['PING']);
    for (let round = 0; round < 5; round++) {
      const heads: string[] = [];
      const reactions: Array<Promise<RespValue>> = [];
      const onHead = (first: RespValue): void => {
        heads.push(String(first));
        // As a scan does: a promise reaction to the head sends the next request.
        reactions.push(Promise.resolve().then(() => conn.send(['ROWS', '3', `after-${String(first)}`])));
      };
      // Pipelined: two big replies with heads, a small one between; the server writes them together.
      const sent = [conn.send(['ROWS', '300', 'a'], { onHead }), conn.send(['PING']), conn.send(['ROWS', '200', 'b'], { onHead }), conn.send(['ROWS', '1', 'c'])];
      const replies = await Promise.all(sent);
      assert.deepStrictEqual(replies, [rowsReply(300, 'a'), 'PONG', rowsReply(200, 'b'), rowsReply(1, 'c')]);
      assert.deepStrictEqual(heads, ['a', 'b']);
      assert.deepStrictEqual(await Promise.all(await Promise.all(reactions)), [rowsReply(3, 'after-a'), rowsReply(3, 'after-b')]);
    }
  } finally {
    conn.close();
    await server.close();
  }
});
