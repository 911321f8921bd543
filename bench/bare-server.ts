/**
 * The floor the node's redis-benchmark numbers are read against (bench/redis-compare.ts): the least
 * a Node.js process can do to serve GET and a durable SET from LMDB. One file, one process, one
 * LMDB environment; no regions, no routing, no write-ahead log, no checkpoints, no coprocessor.
 * It parses and encodes with the node's RESP code, so node ÷ bare is the cost of the engine
 * around that code, and bare ÷ redis-server is what the Node.js runtime costs on this machine.
 *
 * - GET reads a view of lmdb-js's read buffer and encodes it before the next command.
 * - SET is acknowledged once lmdb-js's commit that holds it is flushed to disk (lmdb-js batches the
 *   puts of one event-loop turn into one synced transaction): as durable as the node's SET.
 * - Replies go out in request order, collected per connection and written once per event-loop
 *   turn after every ready socket was read, as the node (and redis-server) write them.
 *
 * Commands: GET, SET, MSET (the bench's preload), DBSIZE, PING, CONFIG GET (redis-benchmark asks
 * for `save` and `appendonly`); anything else gets an error reply.
 *
 * Usage (spawned by the bench): bare-server.ts <lmdb dir>; prints `{"port":n}` once listening and
 * exits when stdin closes.
 */
import net from 'node:net';
import { open, type Database, type RootDatabase } from 'lmdb';
import { CommandTable } from '../engine/protocol/command-table';
import { RespError, RespReader, RespWriter, type RespValue } from '../engine/protocol/resp';

const [dir] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: bare-server.ts <lmdb dir>\n');
  process.exit(2);
}
const root = open({ path: dir, maxDbs: 4, mapSize: 64 * 1024 * 1024 * 1024, separateFlushed: true } as never) as RootDatabase;
const valueViews = { needsStableBuffer: false, encode: (v: Buffer): Buffer => v, decode: (bytes: Buffer, size: number): Buffer => bytes.subarray(0, size) };
const rows = root.openDB({ name: 'rows', keyEncoding: 'binary', encoder: valueViews } as never) as unknown as Database<Buffer, Buffer>;

/** lmdb-js's write promise: with separateFlushed, `flushed` settles once the commit is on disk. */
type WritePromise = Promise<unknown> & { flushed?: Promise<unknown> };

/** Resolves once the write is durable. */
function durable(write: WritePromise): Promise<unknown> {
  return write.flushed ?? write;
}

/** A request's place in its connection's reply order. */
interface Pending {
  done: boolean;
  reply: RespValue;
}

type Command = 'GET' | 'SET' | 'MSET' | 'DBSIZE' | 'PING' | 'CONFIG';
const COMMANDS = new CommandTable<Command>({ GET: 'GET', SET: 'SET', MSET: 'MSET', DBSIZE: 'DBSIZE', PING: 'PING', CONFIG: 'CONFIG' });

/**
 * `lastWrite`: the connection's latest write not yet durable. A GET behind it reads once it is,
 * so a pipelined GET sees the SET before it (lmdb-js applies a put at its commit, not at once). It
 * may also see a later SET of the same pipeline that shared that commit: enough for a baseline.
 */
function run(args: Buffer[], settle: (slot: Pending) => void, lastWrite: Promise<unknown> | undefined): Pending & { write?: Promise<unknown> } {
  const name = COMMANDS.lookup(args[0]!)?.spec;
  if (name === 'GET' && args.length === 2) {
    if (lastWrite === undefined) return { done: true, reply: rows.get(args[1]!) ?? null };
    const slot: Pending = { done: false, reply: null };
    const key = args[1]!;
    const read = (): void => {
      const value = rows.get(key);
      slot.reply = value === undefined ? null : Buffer.from(value);
      settle(slot);
    };
    lastWrite.then(read, read);
    return slot;
  }
  if ((name === 'SET' && args.length === 3) || (name === 'MSET' && args.length >= 3 && args.length % 2 === 1)) {
    const slot: Pending & { write?: Promise<unknown> } = { done: false, reply: 'OK' };
    let write: WritePromise | undefined;
    for (let i = 1; i < args.length; i += 2) write = rows.put(args[i]!, args[i + 1]!) as WritePromise;
    const written = durable(write!);
    written.then(
      () => settle(slot),
      (err: unknown) => {
        slot.reply = new RespError(`ERR ${String(err)}`);
        settle(slot);
      },
    );
    slot.write = written;
    return slot;
  }
  if (name === 'PING') return { done: true, reply: 'PONG' };
  if (name === 'DBSIZE') return { done: true, reply: rows.getKeysCount() };
  if (name === 'CONFIG') return { done: true, reply: ['save', '', 'appendonly', 'no'] };
  return { done: true, reply: new RespError(`ERR unknown command or wrong arguments '${args[0]!.toString('latin1').slice(0, 32)}'`) };
}

const unflushed: Array<() => void> = [];
function flushLater(flush: () => void): void {
  if (unflushed.push(flush) === 1) {
    setImmediate(() => {
      for (let i = 0; i < unflushed.length; i++) unflushed[i]!();
      unflushed.length = 0;
    });
  }
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  const reader = new RespReader('request');
  const queue: Pending[] = [];
  const out = new RespWriter();
  let flushQueued = false;
  let lastWrite: Promise<unknown> | undefined;
  const flush = (): void => {
    flushQueued = false;
    while (queue.length > 0 && queue[0]!.done) out.value(queue.shift()!.reply);
    if (out.length > 0 && !socket.destroyed) socket.write(out.take());
  };
  const settle = (slot: Pending): void => {
    slot.done = true;
    if (!flushQueued) {
      flushQueued = true;
      flushLater(flush);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    try {
      for (let request = reader.next(); request !== undefined; request = reader.next()) {
        const slot = run(request as Buffer[], settle, queue.length > 0 ? lastWrite : undefined);
        if (slot.write) lastWrite = slot.write;
        if (queue.length === 0 && slot.done) out.value(slot.reply);
        else queue.push(slot.reply instanceof Buffer ? { done: slot.done, reply: Buffer.from(slot.reply) } : slot);
      }
    } catch (err) {
      socket.end(`-ERR ${String(err)}\r\n`);
      return;
    }
    if (out.length > 0 && !flushQueued) {
      flushQueued = true;
      flushLater(flush);
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
