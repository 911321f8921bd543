/**
 * A real storage node under malformed, hostile or unsupported input over raw TCP: each abuse gets an
 * error reply or a closed connection, and the node keeps serving everyone else with its data intact.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { RespConnection } from '../engine/client/connection';
import { RespError, encodeCommand, type RespValue } from '../engine/protocol/resp';
import { prng } from '../engine/util/seeded-random';
import { rawExchange, type RawExchange } from '../torture/raw-resp';

const HOST = '127.0.0.1';
let cluster: LocalCluster;
let port: number;
/** Keys written before any abuse; every test checks they are all still readable. */
const seeded = new Map<string, Buffer>();

before(async () => {
  cluster = await LocalCluster.start({ nodes: 1 });
  port = cluster.nodes.get(1)!.port;
  const conn = good();
  try {
    const writes: Promise<RespValue>[] = [];
    for (let i = 0; i < 200; i++) {
      const key = `seed:${String(i).padStart(4, '0')}`;
      const value = i % 10 === 0 ? Buffer.from(Array.from({ length: 256 }, (_, b) => (b + i) % 256)) : Buffer.from(`value-${i}`);
      seeded.set(key, value);
      writes.push(conn.send(['SET', key, value]));
    }
    for (const reply of await Promise.all(writes)) assert.equal(reply, 'OK');
  } finally {
    conn.close();
  }
});

after(async () => {
  await cluster?.stop();
});

function good(): RespConnection {
  return new RespConnection({ host: HOST, port, requestTimeoutMs: 10_000, connectTimeoutMs: 5000 });
}

/**
 * Opens a raw socket, writes `payload` and collects replies until the server closes, `replies`
 * replies have arrived, or `timeoutMs` passes. `end` half-closes our side after writing; `reset`
 * aborts the connection (RST) instead and returns at once. Reply bytes that are not RESP show up
 * as an error reply, so the checks below fail on them.
 */
async function exchange(payload: Buffer | string, opts: { replies?: number; end?: boolean; reset?: boolean; timeoutMs?: number } = {}): Promise<RawExchange> {
  const r = await rawExchange(HOST, port, payload, { halfClose: opts.end, reset: opts.reset, stopAfterReplies: opts.replies, timeoutMs: opts.timeoutMs });
  if (r.unparseable) r.replies.push(new RespError('CLIENT-SIDE unparseable reply'));
  return r;
}

function isError(v: RespValue | undefined, prefix: string | RegExp): boolean {
  if (!(v instanceof RespError)) return false;
  return typeof prefix === 'string' ? v.message.startsWith(prefix) : prefix.test(v.message);
}

/** A fresh connection still gets PONG and reads back every seeded key unchanged. */
async function assertHealthy(): Promise<void> {
  const conn = good();
  try {
    assert.equal(await conn.send(['PING']), 'PONG');
    const keys = [...seeded.keys()];
    const values = (await conn.send(['MGET', ...keys])) as RespValue[];
    assert.equal(values.length, keys.length);
    keys.forEach((k, i) => assert.deepStrictEqual(values[i], seeded.get(k), `seeded key ${k}`));
    assert.equal(cluster.nodes.get(1)!.child.exitCode, null, 'node process still running');
  } finally {
    conn.close();
  }
}

function garbage(seed: number, length: number): Buffer {
  const rand = prng(seed);
  return Buffer.from(Array.from({ length }, () => Math.floor(rand() * 256)));
}

test('garbage bytes get error replies or a closed connection, and the node keeps serving', async () => {
  const payloads: Buffer[] = [
    ...Array.from({ length: 20 }, (_, i) => garbage(1000 + i, 64 + i * 200)),
    Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 13, 10]),
    Buffer.from('\x00\x00\x00\x00\r\n'),
    Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'), // a TLS ClientHello prefix
    Buffer.from('+OK\r\n-ERR\r\n:1\r\n'),
    Buffer.from('*2\r\n+GET\r\n+k\r\n'),
    Buffer.from('*1\r\n*1\r\n$4\r\nPING\r\n'),
  ];
  for (const [i, payload] of payloads.entries()) {
    const r = await exchange(payload, { end: true });
    assert.ok(r.closed, `payload ${i}: connection closed after our end`);
    for (const reply of r.replies) assert.ok(reply instanceof RespError, `payload ${i}: only error replies, got ${JSON.stringify(reply)} (raw ${JSON.stringify(r.raw.slice(0, 200))})`);
  }
  // Framing errors are answered with -ERR Protocol error and the server closes by itself.
  for (const payload of ['+OK\r\n', '*2\r\n:1\r\n:2\r\n', '*1\r\n*1\r\n$4\r\nPING\r\n', '$4\r\nPING\r\n']) {
    const r = await exchange(payload);
    assert.ok(r.closed, `${JSON.stringify(payload)}: server closed the connection`);
    assert.equal(r.replies.length, 1, `${JSON.stringify(payload)}: one reply, raw ${JSON.stringify(r.raw)}`);
    assert.ok(isError(r.replies[0], 'ERR Protocol error'), `${JSON.stringify(payload)}: got ${r.raw}`);
  }
  await assertHealthy();
});

test('a truncated frame followed by close (FIN or RST) leaves no partial write and no damage', async () => {
  const full = encodeCommand(['SET', 'truncated:key', 'value-that-must-not-land']);
  for (let cut = 1; cut < full.length; cut += 3) {
    const r = await exchange(full.subarray(0, cut), { end: true });
    assert.ok(r.closed, `cut at ${cut}: closed`);
    assert.deepStrictEqual(r.replies, [], `cut at ${cut}: no reply to an incomplete request`);
  }
  for (const cut of [5, 20, full.length - 1]) await exchange(full.subarray(0, cut), { reset: true });
  // A request truncated inside a large bulk: the node waits for the rest, then sees the close.
  await exchange(Buffer.concat([Buffer.from('*3\r\n$3\r\nSET\r\n$13\r\ntruncated:key\r\n$1000000\r\n'), Buffer.alloc(500_000, 0x61)]), { end: true });
  const conn = good();
  try {
    assert.equal(await conn.send(['EXISTS', 'truncated:key']), 0);
  } finally {
    conn.close();
  }
  await assertHealthy();
});

test('an oversized bulk or array length gets -ERR Protocol error and the connection is closed', async () => {
  const payloads = [
    '*2\r\n$3\r\nGET\r\n$999999999999\r\n',
    '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$67108865\r\n',
    '*999999999\r\n',
    '*2\r\n$3\r\nGET\r\n$-7\r\n',
    `*1\r\n$${'9'.repeat(30)}\r\n`,
  ];
  for (const payload of payloads) {
    const r = await exchange(payload);
    assert.ok(r.closed, `${JSON.stringify(payload)}: closed by the server`);
    assert.equal(r.replies.length, 1, `${JSON.stringify(payload)}: raw ${JSON.stringify(r.raw)}`);
    assert.ok(isError(r.replies[0], 'ERR Protocol error'), `${JSON.stringify(payload)}: got ${r.raw}`);
  }
  // An inline line past 64 KiB without CRLF is refused rather than buffered forever.
  const r = await exchange(Buffer.alloc(100 * 1024, 0x61));
  assert.ok(r.closed);
  assert.ok(isError(r.replies[0], /^ERR Protocol error: line too long/), r.raw);
  await assertHealthy();
});

test('an unknown command gets -ERR unknown command and the connection stays usable', async () => {
  const payload = Buffer.concat([encodeCommand(['NOSUCHCOMMAND', 'a', 'b']), encodeCommand(['FLUSHALL']), Buffer.from('KEYS *\r\n'), encodeCommand(['PING'])]);
  const r = await exchange(payload, { replies: 4 });
  assert.equal(r.closed, false, 'connection kept open');
  assert.ok(isError(r.replies[0], "ERR unknown command 'NOSUCHCOMMAND'"), r.raw);
  assert.ok(isError(r.replies[1], "ERR unknown command 'FLUSHALL'"), r.raw);
  assert.ok(isError(r.replies[2], "ERR unknown command 'KEYS'"), r.raw);
  assert.equal(r.replies[3], 'PONG');
  await assertHealthy();
});

test('wrong arity (GET with no key, ...) gets -ERR wrong number of arguments and the connection stays usable', async () => {
  const bad = [['GET'], ['GET', 'a', 'b'], ['SET', 'k'], ['DEL'], ['MGET'], ['MSET', 'k'], ['MSET', 'a', '1', 'b'], ['EXISTS'], ['SCANRANGE', 'a']];
  const payload = Buffer.concat([...bad.map((args) => encodeCommand(args)), Buffer.from('GET\r\n'), encodeCommand(['PING'])]);
  const r = await exchange(payload, { replies: bad.length + 2 });
  assert.equal(r.closed, false);
  bad.forEach((args, i) => assert.ok(isError(r.replies[i], /^ERR wrong number of arguments for '\w+' command/), `${args.join(' ')} -> ${JSON.stringify(r.replies[i])}`));
  assert.ok(isError(r.replies[bad.length], "ERR wrong number of arguments for 'get' command"));
  assert.equal(r.replies[bad.length + 1], 'PONG');
  await assertHealthy();
});

test('SET with options (EX, PX, NX, XX, KEEPTTL, GET) is refused and writes nothing', async () => {
  const key = 'seed:0001';
  const variants = [
    [key, 'new', 'EX', '10'],
    [key, 'new', 'PX', '100'],
    [key, 'new', 'NX'],
    [key, 'new', 'XX'],
    [key, 'new', 'KEEPTTL'],
    [key, 'new', 'GET'],
    ['set:options:fresh', 'new', 'EX', '10'],
  ];
  const payload = Buffer.concat([...variants.map((v) => encodeCommand(['SET', ...v])), encodeCommand(['GET', key]), encodeCommand(['EXISTS', 'set:options:fresh'])]);
  const r = await exchange(payload, { replies: variants.length + 2 });
  assert.equal(r.closed, false);
  variants.forEach((v, i) => assert.ok(isError(r.replies[i], /^ERR SET options .* not supported/), `SET ${v.join(' ')} -> ${JSON.stringify(r.replies[i])}`));
  assert.deepStrictEqual(r.replies[variants.length], seeded.get(key));
  assert.equal(r.replies[variants.length + 1], 0);
  await assertHealthy();
});

test('a protocol error after pipelined writes is answered after their replies, in order, then the connection closes', async () => {
  const payload = Buffer.concat([encodeCommand(['SET', 'pipe:a', '1']), Buffer.from('PING\r\n'), encodeCommand(['SET', 'pipe:b', '2']), Buffer.from('*1\r\n:5\r\n'), encodeCommand(['SET', 'pipe:c', '3'])]);
  const r = await exchange(payload);
  assert.ok(r.closed, 'closed after the protocol error');
  assert.equal(r.replies.length, 4, `raw ${JSON.stringify(r.raw)}`);
  assert.deepStrictEqual(r.replies.slice(0, 3), ['OK', 'PONG', 'OK']);
  assert.ok(isError(r.replies[3], 'ERR Protocol error'), r.raw);
  const conn = good();
  try {
    assert.deepStrictEqual(await conn.send(['MGET', 'pipe:a', 'pipe:b', 'pipe:c']), [Buffer.from('1'), Buffer.from('2'), null]);
    assert.equal(await conn.send(['DEL', 'pipe:a', 'pipe:b']), 2);
  } finally {
    conn.close();
  }
  await assertHealthy();
});

test('QUIT is answered with OK, after earlier replies, and closes the connection; later requests are ignored', async () => {
  const r = await exchange(Buffer.concat([Buffer.from('PING\r\n'), encodeCommand(['SET', 'quit:a', '1']), Buffer.from('QUIT\r\n'), encodeCommand(['SET', 'quit:b', '2'])]));
  assert.ok(r.closed, 'server closed the connection');
  assert.deepStrictEqual(r.replies, ['PONG', 'OK', 'OK']);
  const plain = await exchange('QUIT\r\n');
  assert.ok(plain.closed);
  assert.deepStrictEqual(plain.replies, ['OK']);
  const conn = good();
  try {
    assert.deepStrictEqual(await conn.send(['MGET', 'quit:a', 'quit:b']), [Buffer.from('1'), null]);
    assert.equal(await conn.send(['DEL', 'quit:a']), 1);
  } finally {
    conn.close();
  }
  await assertHealthy();
});

test('50 concurrent bad connections do not disturb a good connection doing SET/GET', async () => {
  const kinds: Array<() => Promise<RawExchange>> = [
    () => exchange(garbage(7, 4096), { end: true }),
    () => exchange('*2\r\n$3\r\nGET\r\n$999999999999\r\n'),
    () => exchange(encodeCommand(['SET', 'conc:truncated', 'x']).subarray(0, 17), { end: true }),
    () => exchange(encodeCommand(['SET', 'conc:truncated', 'x']).subarray(0, 12), { reset: true }),
    () => exchange(Buffer.concat([encodeCommand(['NOPE']), encodeCommand(['GET']), encodeCommand(['SET', 'k', 'v', 'EX', '1'])]), { replies: 3 }),
    () => exchange(Buffer.alloc(70 * 1024, 0x62)),
    () => exchange('+OK\r\n'),
    () => exchange(encodeCommand(['SHUTDOWN']), { replies: 1 }),
    // Slow client: half a request, then silence until our timeout drops it.
    () => exchange('*2\r\n$3\r\nGET\r\n$5\r\nab', { timeoutMs: 1500 }),
  ];
  const bad = Array.from({ length: 50 }, (_, i) => kinds[i % kinds.length]!());
  let badDone = false;
  const allBad = Promise.all(bad).finally(() => {
    badDone = true;
  });
  const conn = good();
  let ops = 0;
  try {
    for (let i = 0; i < 5000 && (!badDone || ops < 50); i++) {
      const key = `conc:good:${i}`;
      assert.equal(await conn.send(['SET', key, `v${i}`]), 'OK');
      assert.deepStrictEqual(await conn.send(['GET', key]), Buffer.from(`v${i}`));
      ops++;
    }
    const results = await allBad;
    assert.ok(badDone, 'all bad connections finished within the loop bound');
    for (const [i, r] of results.entries()) {
      for (const reply of r.replies) assert.ok(reply instanceof RespError, `bad connection ${i}: unexpected success ${JSON.stringify(reply)}`);
    }
    const keys = Array.from({ length: ops }, (_, i) => `conc:good:${i}`);
    const values = (await conn.send(['MGET', ...keys])) as RespValue[];
    values.forEach((v, i) => assert.deepStrictEqual(v, Buffer.from(`v${i}`)));
    assert.equal(await conn.send(['EXISTS', 'conc:truncated', 'k']), 0);
    assert.equal(await conn.send(['DEL', ...keys]), ops);
  } finally {
    conn.close();
    await allBad;
  }
  await assertHealthy();
});

test('admin commands without AUTH get NOAUTH and do nothing', async () => {
  const admin = [['CLUSTER.SETMAP', '{"version":999999}'], ['SHUTDOWN'], ['SHUTDOWN', 'NOSAVE'], ['CLUSTER.INGEST', '1', 'k', 'v'], ['CLUSTER.EXPORT', '1', '1', '127.0.0.1:1']];
  const conn = good();
  try {
    for (const args of admin) {
      const reply = await conn.send(args);
      assert.ok(isError(reply, 'NOAUTH'), `${args[0]} -> ${JSON.stringify(reply)}`);
    }
    assert.equal(await conn.send(['PING']), 'PONG');
  } finally {
    conn.close();
  }
  assert.equal(cluster.nodes.get(1)!.child.exitCode, null, 'node not shut down');
  await assertHealthy();
});

test('AUTH with a wrong token gets WRONGPASS and grants nothing; the right token does', async () => {
  const conn = good();
  try {
    for (const args of [['AUTH', 'wrong-token'], ['AUTH', ''], ['AUTH', `${cluster.adminToken}x`], ['AUTH', cluster.adminToken.slice(1)], ['AUTH', 'default', 'wrong-token']]) {
      const reply = await conn.send(args);
      assert.ok(isError(reply, 'WRONGPASS'), `${JSON.stringify(args)} -> ${JSON.stringify(reply)}`);
      assert.ok(isError(await conn.send(['SHUTDOWN']), 'NOAUTH'), 'still not admin after a failed AUTH');
    }
    // The right token is accepted; an admin command then gets past the auth check (and fails on its input instead).
    assert.equal(await conn.send(['AUTH', cluster.adminToken]), 'OK');
    const reply = await conn.send(['CLUSTER.SETMAP', 'not a map']);
    assert.ok(isError(reply, 'ERR CLUSTER.SETMAP: invalid map'), JSON.stringify(reply));
    // A failed AUTH afterwards drops the admin right again.
    assert.ok(isError(await conn.send(['AUTH', 'wrong-token']), 'WRONGPASS'));
    assert.ok(isError(await conn.send(['CLUSTER.SETMAP', 'not a map']), 'NOAUTH'));
  } finally {
    conn.close();
  }
  assert.equal(cluster.nodes.get(1)!.child.exitCode, null);
  await assertHealthy();
});
