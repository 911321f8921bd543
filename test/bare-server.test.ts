/**
 * bench/bare-server.ts is the floor the node's redis-benchmark numbers are read against: it must
 * answer what redis-benchmark and the bench's preload send, keep reply order when a read follows a
 * durable write, and refuse anything else without dying.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnBenchChild, type BenchChild } from '../bench/child';
import { RespConnection } from '../engine/client/connection';

let dir = '';
let server: BenchChild | undefined;
let conn: RespConnection | undefined;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'copbench-bare-'));
  server = spawnBenchChild('bare-server.ts', [dir]);
  const { port } = await server.nextMessage<{ port: number }>(30_000);
  conn = new RespConnection({ host: '127.0.0.1', port, connectTimeoutMs: 2000, requestTimeoutMs: 10_000 });
});

after(async () => {
  conn?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('SET then GET, pipelined: the GET waits behind the durable SET and sees its value', async () => {
  const replies = await Promise.all([conn!.call(['SET', 'k1', 'v1']), conn!.call(['GET', 'k1']), conn!.call(['GET', 'nope'])]);
  assert.deepEqual(replies, ['OK', Buffer.from('v1'), null]);
});

test('MSET loads rows and DBSIZE counts them; PING and CONFIG GET answer as redis-benchmark expects', async () => {
  assert.equal(await conn!.call(['MSET', 'a', '1', 'b', '2', 'c', '3']), 'OK');
  assert.deepEqual(await conn!.call(['GET', 'b']), Buffer.from('2'));
  assert.equal(await conn!.call(['DBSIZE']), 4);
  assert.equal(await conn!.call(['PING']), 'PONG');
  assert.deepEqual(await conn!.call(['CONFIG', 'GET', 'save']), ['save', '', 'appendonly', 'no']);
});

test('an unknown command or a wrong argument count gets an error reply and the server keeps serving', async () => {
  await assert.rejects(conn!.call(['FLUSHALL']), /ERR unknown command or wrong arguments 'FLUSHALL'/);
  await assert.rejects(conn!.call(['SET', 'only-key']), /ERR unknown command or wrong arguments 'SET'/);
  assert.deepEqual(await conn!.call(['GET', 'k1']), Buffer.from('v1'));
});
