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
import { waitFor } from '../../test/helpers';

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

/**
 * A tiny store behind a RespServer with `classify`: SET (a sequenced write) and DEL (a write that
 * reads) wait in `pending` until the test commits them, as the node's writes wait for their group
 * commit; GET reads committed values at once; AGET is a read that answers when the test settles it,
 * with the value at that moment (as a coprocessor scan reads in a worker).
 */
function orderedStore() {
  const committed = new Map<string, string>();
  const pending: Array<() => void> = [];
  const asyncReads: Array<() => void> = [];
  const server = new RespServer({
    host: '127.0.0.1',
    port: 0,
    classify: (args) => {
      const name = args[0]!.toString('latin1');
      return name === 'SET' ? 'sequenced-write' : name === 'DEL' ? 'write' : 'read';
    },
    handler: (args, conn) => {
      const name = args[0]!.toString('latin1');
      const key = args[1]?.toString('latin1') ?? '';
      if (name === 'QUIT') conn.closeAfterReply = true;
      if (name === 'GET') return committed.has(key) ? Buffer.from(committed.get(key)!) : null;
      if (name === 'QUIT') return 'OK';
      const reply = new DeferredReply();
      if (name === 'AGET') asyncReads.push(() => reply.resolve(committed.has(key) ? Buffer.from(committed.get(key)!) : null));
      else if (name === 'SET') pending.push(() => (committed.set(key, args[2]!.toString('latin1')), reply.resolve('OK')));
      else if (name === 'DEL') {
        const existed = committed.has(key) ? 1 : 0; // read when the command runs: it must run after earlier writes
        pending.push(() => (committed.delete(key), reply.resolve(existed)));
      } else reply.reject(new Error(`unknown command ${name}`));
      return reply;
    },
  });
  /** Applies every submitted write, in order; returns how many there were. */
  const commit = (): number => pending.splice(0).map((apply) => apply()).length;
  const settleReads = (): number => asyncReads.splice(0).map((answer) => answer()).length;
  return { server, commit, settleReads, pending, asyncReads };
}

/** Commits writes as they are submitted until `replies` settles. */
async function commitUntil<T>(store: ReturnType<typeof orderedStore>, replies: Promise<T>): Promise<{ result: T; commits: number[] }> {
  let finished = false;
  const commits: number[] = [];
  const result = replies.finally(() => (finished = true));
  while (!finished) {
    await new Promise((r) => setTimeout(r, 2));
    const n = store.commit() + store.settleReads();
    if (n > 0) commits.push(n);
  }
  return { result: await result, commits };
}

test('with classify, a pipelined read sees the writes before it and pipelined sequenced writes are submitted together', async () => {
  const store = orderedStore();
  const port = await store.server.listen();
  try {
    const script = [['SET', 'k', 'v1'], ['SET', 'j', 'w1'], ['SET', 'i', 'u1'], ['GET', 'k'], ['SET', 'k', 'v2'], ['SET', 'k', 'v3'], ['GET', 'k'], ['DEL', 'k'], ['GET', 'k'], ['GET', 'j']];
    const replies = exchange(port, Buffer.concat(script.map((c) => encodeCommand(c))), script.length);
    // The three SETs ahead of the first GET wait for one commit together; the GET waits for them.
    await waitFor('the first three SETs', async () => (store.pending.length === 3 ? true : undefined), 2000);
    const { result, commits } = await commitUntil(store, replies);
    assert.deepStrictEqual(result, ['OK', 'OK', 'OK', Buffer.from('v1'), 'OK', 'OK', Buffer.from('v3'), 1, null, Buffer.from('w1')]);
    // The first three SETs, then v2 and v3, were each submitted together; DEL ran (and counted) only after they were applied.
    assert.deepStrictEqual(commits, [3, 2, 1]);
  } finally {
    await store.server.close();
  }
});

test('with classify, a write waits for an unfinished read before it, and reads run side by side', async () => {
  const store = orderedStore();
  const port = await store.server.listen();
  try {
    const script = [['AGET', 'k'], ['AGET', 'k'], ['SET', 'k', 'new'], ['AGET', 'k']];
    const replies = exchange(port, Buffer.concat(script.map((c) => encodeCommand(c))), script.length);
    await waitFor('both reads running', async () => (store.asyncReads.length === 2 ? true : undefined), 2000);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(store.pending.length, 0, 'the SET must not run before the reads ahead of it finish');
    const { result } = await commitUntil(store, replies);
    assert.deepStrictEqual(result, [null, null, 'OK', Buffer.from('new')]);
  } finally {
    await store.server.close();
  }
});

/** Sends `bytes` on one connection and collects replies until the server closes it (bounded: 2 s). */
async function exchangeUntilClosed(port: number, bytes: Buffer): Promise<RespValue[]> {
  const socket = net.connect(port, '127.0.0.1');
  const reader = new RespReader('reply');
  const replies: RespValue[] = [];
  const timer = setTimeout(() => socket.destroy(new Error('server did not close the connection')), 2000);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('close', () => resolve());
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        for (let v = reader.next(); v !== undefined; v = reader.next()) replies.push(v);
      });
      socket.write(bytes);
    });
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
  return replies;
}

test('with classify, a protocol error or QUIT behind held commands is answered after them', async () => {
  const store = orderedStore();
  const port = await store.server.listen();
  const committer = setInterval(() => store.commit(), 2);
  try {
    const malformed = Buffer.concat([encodeCommand(['SET', 'k', 'v']), encodeCommand(['GET', 'k']), Buffer.from('*1\r\n$x\r\n')]);
    const first = await exchangeUntilClosed(port, malformed);
    assert.equal(first.length, 3);
    assert.deepStrictEqual(first.slice(0, 2), ['OK', Buffer.from('v')]);
    assert.ok(first[2] instanceof RespError && first[2].message.startsWith('ERR'), `got ${String(first[2])}`);

    const quit = Buffer.concat([encodeCommand(['SET', 'k', 'w']), encodeCommand(['QUIT']), encodeCommand(['SET', 'k', 'after quit'])]);
    assert.deepStrictEqual(await exchangeUntilClosed(port, quit), ['OK', 'OK']);
    const check = await exchange(port, encodeCommand(['GET', 'k']), 1);
    assert.deepStrictEqual(check, [Buffer.from('w')]);
  } finally {
    clearInterval(committer);
    await store.server.close();
  }
});
