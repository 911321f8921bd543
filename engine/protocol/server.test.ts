/**
 * RespServer: replies keep request order when a handler answers from a buffer the next command
 * reuses (as GET answers from LMDB's read buffer) while a slower reply is still pending ahead of it;
 * an encoded reply's buffer is reusable once its onWritten has run; deferred replies keep request
 * order whenever and however they are settled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { DeferredReply, EncodedReply, RespServer } from './server';
import { RespError, RespReader, RespWriter, encodeCommand, type RespValue } from './resp';
import { ReusableBuffers } from '../util/reusable-buffers';

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

test('deferred replies answer in request order, settled out of order, early, twice or with an error', async () => {
  const later: DeferredReply[] = [];
  const server = new RespServer({
    host: '127.0.0.1',
    port: 0,
    handler: (args) => {
      const name = args[0]!.toString('latin1');
      if (name === 'NOW') return args[1]!.toString('latin1');
      const reply = new DeferredReply();
      // Settled before the server has seen it: must still take its place in the order.
      if (name === 'EARLY') reply.resolve('early');
      else later.push(reply);
      return reply;
    },
  });
  const port = await server.listen();
  try {
    const requests = Buffer.concat([encodeCommand(['LATER']), encodeCommand(['NOW', 'a']), encodeCommand(['LATER']), encodeCommand(['EARLY']), encodeCommand(['LATER']), encodeCommand(['NOW', 'b'])]);
    const replies = exchange(port, requests, 6);
    while (later.length < 3) await new Promise((r) => setTimeout(r, 5));
    later[2]!.resolve('third');
    later[1]!.reject(new Error('second failed'));
    await new Promise((r) => setTimeout(r, 5));
    later[0]!.resolve('first');
    later[0]!.resolve('ignored: a reply is settled once');
    const got = await replies;
    assert.equal(got.length, 6);
    assert.deepStrictEqual([got[0], got[1]], ['first', 'a']);
    assert.deepStrictEqual(got[2], new RespError('ERR second failed'));
    assert.deepStrictEqual(got.slice(3), ['early', 'third', 'b']);
  } finally {
    await server.close();
  }
});

test('an encoded reply built in a reused buffer is intact when the buffer is reused after onWritten', async () => {
  // BIG i answers a 200 KB bulk of byte i, built in one of two pooled buffers that go back to the
  // pool on onWritten. The client reads slowly, so the kernel's buffers fill and writes finish
  // late: a buffer reused before its write finished would show up as a reply of the wrong byte.
  const pool = new ReusableBuffers(256 * 1024, 2);
  let written = 0;
  const size = 200 * 1024;
  const server = new RespServer({
    host: '127.0.0.1',
    port: 0,
    handler: (args) => {
      const fill = Number(args[1]!.toString('latin1'));
      const buffer = pool.take();
      const w = new RespWriter(buffer);
      w.bulk(Buffer.alloc(size, fill));
      return new EncodedReply(w.take()).whenWritten(() => {
        written++;
        pool.give(buffer);
      });
    },
  });
  const port = await server.listen();
  const socket = net.connect(port, '127.0.0.1');
  try {
    const count = 24;
    const replies: RespValue[] = [];
    const reader = new RespReader('reply');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        for (let v = reader.next(); v !== undefined; v = reader.next()) replies.push(Buffer.from(v as Buffer));
        if (replies.length >= count) resolve();
        // Read slowly: a pause per chunk lets the server's writes back up.
        socket.pause();
        setTimeout(() => socket.resume(), 2);
      });
      socket.write(Buffer.concat(Array.from({ length: count }, (_, i) => encodeCommand(['BIG', String(i + 1)]))));
    });
    replies.forEach((r, i) => {
      const bytes = r as Buffer;
      assert.equal(bytes.length, size);
      assert.ok(bytes.every((b) => b === i + 1), `reply ${i} holds only byte ${i + 1}`);
    });
    assert.equal(written, count);
  } finally {
    socket.destroy();
    await server.close();
  }
});
