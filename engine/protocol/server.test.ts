/**
 * RespServer: replies keep request order when a handler answers from a buffer the next command
 * reuses (as GET answers from LMDB's read buffer) while a slower reply is still pending ahead of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RespServer } from './server';
import { RespReader, encodeCommand, type RespValue } from './resp';

/** Sends `bytes` on one connection and collects `count` replies. */
async function exchange(port: number, bytes: Buffer, count: number): Promise<RespValue[]> {
  const socket = net.connect(port, '127.0.0.1');
  const reader = new RespReader('reply');
  const replies: RespValue[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        for (let v = reader.next(); v !== undefined; v = reader.next()) replies.push(v);
        if (replies.length >= count) resolve();
      });
      socket.write(bytes);
    });
  } finally {
    socket.destroy();
  }
  return replies;
}

test('sync replies that are views of a reused buffer stay intact while they wait behind a pending reply', async () => {
  // READ answers with a view of one shared buffer it overwrites on every call; SLOW answers later.
  const shared = Buffer.alloc(8);
  let slowDone: (() => void) | undefined;
  const server = new RespServer({
    host: '127.0.0.1',
    port: 0,
    handler: (args) => {
      const name = args[0]!.toString('latin1');
      if (name === 'SLOW') return new Promise((resolve) => (slowDone = () => resolve('OK')));
      const length = shared.write(args[1]!.toString('latin1'));
      return shared.subarray(0, length);
    },
  });
  const port = await server.listen();
  try {
    const requests = Buffer.concat([encodeCommand(['READ', 'first']), encodeCommand(['SLOW']), ...['a', 'bb', 'ccc', 'dddd'].map((v) => encodeCommand(['READ', v]))]);
    const replies = exchange(port, requests, 6);
    while (!slowDone) await new Promise((r) => setTimeout(r, 5));
    slowDone();
    assert.deepStrictEqual(await replies, [Buffer.from('first'), 'OK', Buffer.from('a'), Buffer.from('bb'), Buffer.from('ccc'), Buffer.from('dddd')]);
  } finally {
    await server.close();
  }
});
