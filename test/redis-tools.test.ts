/**
 * Nodes speak RESP2, so the stock Redis tools work against them: redis-cli for single commands and
 * redis-benchmark for load, and a pipeline behaves as in Redis. Needs the redis-cli and
 * redis-benchmark binaries (apt package redis-tools); a test is skipped with a message when its
 * binary is missing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { RespConnection } from '../engine/client/connection';

const HOST = '127.0.0.1';

function missing(binary: string): string | false {
  const probe = spawnSync(binary, ['--version'], { timeout: 10_000, encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return `${binary} not found (install the redis-tools package): ${probe.error?.message ?? `exit ${probe.status}`}`;
  return false;
}

const noCli = missing('redis-cli');
const noBenchmark = missing('redis-benchmark');

let cluster: LocalCluster | undefined;
let port = 0;

before(async () => {
  cluster = await LocalCluster.start({ nodes: 1 });
  port = cluster.nodes.get(1)!.port;
});

after(async () => {
  await cluster?.stop();
});

interface ToolResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs a binary against the node with a timeout; never rejects (the exit code is in the result). */
function run(binary: string, args: string[], opts: { input?: Buffer; timeoutMs?: number } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(binary, ['-h', HOST, '-p', String(port), ...args], { timeout: opts.timeoutMs ?? 15_000, encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        // Killed by the timeout, or could not start.
        reject(new Error(`${binary} ${args.join(' ')}: ${err.message}${err.killed ? ' (timed out)' : ''}\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr: stderr.toString() });
    });
    // redis-cli may exit before it reads stdin (it only reads it with -x): a closed pipe is not an error here.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? Buffer.alloc(0));
  });
}

/** redis-cli with --no-raw: replies printed with their types, as in an interactive session. */
async function cli(...args: string[]): Promise<string> {
  const r = await run('redis-cli', ['--no-raw', ...args]);
  assert.equal(r.code, 0, `redis-cli ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, '', `redis-cli ${args.join(' ')} stderr`);
  return r.stdout.toString('utf8').replace(/\n$/, '');
}

function direct(): RespConnection {
  return new RespConnection({ host: HOST, port, requestTimeoutMs: 10_000 });
}

test('redis-cli: SET → OK, GET → "v", DEL → (integer) 1, GET → (nil)', { skip: noCli }, async () => {
  assert.equal(await cli('SET', 'cli:k', 'v'), 'OK');
  assert.equal(await cli('GET', 'cli:k'), '"v"');
  assert.equal(await cli('EXISTS', 'cli:k'), '(integer) 1');
  assert.equal(await cli('DEL', 'cli:k'), '(integer) 1');
  assert.equal(await cli('GET', 'cli:k'), '(nil)');
  assert.equal(await cli('DEL', 'cli:k'), '(integer) 0');
  // Raw mode (what scripts see when stdout is not a terminal): bare values, empty line for nil.
  const raw = await run('redis-cli', ['SET', 'cli:raw', 'hello world']);
  assert.equal(raw.stdout.toString(), 'OK\n');
  assert.equal((await run('redis-cli', ['GET', 'cli:raw'])).stdout.toString(), 'hello world\n');
  assert.equal((await run('redis-cli', ['GET', 'cli:absent'])).stdout.toString(), '\n');
  assert.equal(await cli('DEL', 'cli:raw'), '(integer) 1');
});

test('redis-cli: MSET/MGET, PING, DBSIZE, INFO and CONFIG GET answer in Redis form', { skip: noCli }, async () => {
  assert.equal(await cli('PING'), 'PONG');
  assert.equal(await cli('MSET', 'cli:a', '1', 'cli:b', '2'), 'OK');
  assert.equal(await cli('MGET', 'cli:a', 'cli:missing', 'cli:b'), '1) "1"\n2) (nil)\n3) "2"');
  assert.match(await cli('DBSIZE'), /^\(integer\) \d+$/);
  const info = (await run('redis-cli', ['INFO', 'server'])).stdout.toString();
  assert.match(info, /^# Server\r?$/m);
  assert.match(info, /^copbench_role:node\r?$/m);
  assert.match(info, new RegExp(`^tcp_port:${port}\\r?$`, 'm'));
  assert.equal(await cli('CONFIG', 'GET', 'appendonly'), '1) "appendonly"\n2) "no"');
  assert.equal(await cli('CONFIG', 'GET', 'no-such-parameter'), '(empty array)');
  assert.equal(await cli('DEL', 'cli:a', 'cli:b'), '(integer) 2');
});

test('redis-cli: server errors are shown as (error) lines', { skip: noCli }, async () => {
  assert.equal(await cli('NOSUCHCOMMAND', 'x'), "(error) ERR unknown command 'NOSUCHCOMMAND'");
  assert.equal(await cli('GET'), "(error) ERR wrong number of arguments for 'get' command");
  assert.match(await cli('SET', 'cli:ex', 'v', 'EX', '10'), /^\(error\) ERR SET options .* not supported/);
  assert.match(await cli('SHUTDOWN'), /^\(error\) NOAUTH /);
  assert.equal(await cli('EXISTS', 'cli:ex'), '(integer) 0');
});

test('redis-cli -x: a binary value (bytes 0..255, CR/LF, NUL) is stored byte-exact', { skip: noCli }, async () => {
  const value = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\r\n\0end')]);
  const set = await run('redis-cli', ['-x', 'SET', 'cli:binary'], { input: value });
  assert.equal(set.code, 0, set.stderr);
  assert.equal(set.stdout.toString(), 'OK\n');
  const conn = direct();
  try {
    assert.deepStrictEqual(await conn.send(['GET', 'cli:binary']), value);
  } finally {
    conn.close();
  }
  // --raw prints the bulk as is, followed by a newline.
  const get = await run('redis-cli', ['--raw', 'GET', 'cli:binary']);
  assert.equal(get.code, 0);
  assert.ok(get.stdout.equals(Buffer.concat([value, Buffer.from('\n')])), `raw GET returned ${get.stdout.length} bytes`);
  assert.equal(await cli('DEL', 'cli:binary'), '(integer) 1');
});

/** Parses redis-benchmark --csv output into test name → requests per second. */
function parseCsv(stdout: string): Map<string, number> {
  const lines = stdout.trim().split('\n');
  assert.equal(lines[0], '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"', `CSV header in:\n${stdout}`);
  const results = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const cells = line.split(',').map((c) => c.replace(/^"|"$/g, ''));
    assert.equal(cells.length, 8, `CSV row: ${line}`);
    results.set(cells[0]!, Number(cells[1]));
  }
  return results;
}

function assertNoErrors(r: ToolResult, what: string): void {
  const text = `${r.stdout.toString()}\n${r.stderr}`;
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${text}`);
  assert.doesNotMatch(text, /error|warning|could not|unknown command|-ERR/i, `${what} reported a problem:\n${text}`);
}

test('redis-benchmark -t set,get -n 5000 -c 20 completes with results for SET and GET and no errors', { skip: noBenchmark }, async () => {
  const r = await run('redis-benchmark', ['-t', 'set,get', '-n', '5000', '-c', '20', '--csv'], { timeoutMs: 120_000 });
  assertNoErrors(r, 'redis-benchmark');
  const results = parseCsv(r.stdout.toString());
  assert.deepStrictEqual([...results.keys()], ['SET', 'GET']);
  for (const [name, rps] of results) assert.ok(Number.isFinite(rps) && rps > 0, `${name}: ${rps} requests per second`);
  // The SETs really landed: without -r every request writes the literal key, with a 3-byte value by
  // default (redis-benchmark 7 fills it with random printable bytes, older versions with 'x').
  const conn = direct();
  try {
    const value = await conn.send(['GET', 'key:__rand_int__']);
    assert.ok(Buffer.isBuffer(value) && value.length === 3, `GET key:__rand_int__ -> ${JSON.stringify(value)}`);
  } finally {
    conn.close();
  }
});

test('redis-benchmark -q with pipelining (-P 16), random keys and 100-byte values completes with no errors', { skip: noBenchmark }, async () => {
  const r = await run('redis-benchmark', ['-t', 'set,get', '-n', '5000', '-c', '10', '-P', '16', '-r', '1000', '-d', '100', '-q'], { timeoutMs: 120_000 });
  assertNoErrors(r, 'redis-benchmark -P 16');
  // -q prints progress lines separated by \r; the final line of each test ends with \n.
  const finals = r.stdout
    .toString()
    .split('\n')
    .map((line) => line.split('\r').pop()!.trim())
    .filter((line) => line.length > 0);
  assert.equal(finals.length, 2, `output:\n${JSON.stringify(r.stdout.toString())}`);
  assert.match(finals[0]!, /^SET: [\d.]+ requests per second/);
  assert.match(finals[1]!, /^GET: [\d.]+ requests per second/);
  const conn = direct();
  try {
    const keys = Array.from({ length: 1000 }, (_, i) => `key:${String(i).padStart(12, '0')}`);
    const values = (await conn.send(['MGET', ...keys])) as Array<Buffer | null>;
    const present = values.filter((v) => v !== null);
    assert.ok(present.length > 500, `${present.length} of 1000 random keys written`);
    for (const v of present) assert.equal(v!.length, 100);
  } finally {
    conn.close();
  }
});

// Found 2026-11-30 while writing bench/bare-server.ts: a GET answered from LMDB at once while the
// SET ahead of it on the same connection still waited for its group commit, so it read the value
// from before that SET. redis-server answers as if the pipeline ran one command at a time.
test('a pipeline on one connection reads its own writes, and its SETs still commit in groups', async () => {
  const conn = new RespConnection({ host: HOST, port, connectTimeoutMs: 2000, requestTimeoutMs: 10_000 });
  try {
    const script = [
      ['SET', 'ryw', 'v1'],
      ['GET', 'ryw'],
      ['SET', 'ryw', 'v2'],
      ['SET', 'ryw', 'v3'],
      ['GET', 'ryw'],
      ['DEL', 'ryw'],
      ['GET', 'ryw'],
      ['MSET', 'ryw', 'm1', 'ryw2', 'm2'],
      ['MGET', 'ryw', 'ryw2'],
      ['EXISTS', 'ryw', 'ryw2', 'ryw3'],
      ['DEL', 'ryw', 'ryw2'],
    ];
    // call() writes each request at once, without waiting for the replies before it: one pipeline.
    const replies = await Promise.all(script.map((c) => conn.call(c)));
    const b = (s: string): Buffer => Buffer.from(s);
    assert.deepEqual(replies, ['OK', b('v1'), 'OK', 'OK', b('v3'), 1, null, 'OK', [b('m1'), b('m2')], 2, 2]);

    const groupsBefore = await walGroups(conn);
    const sets = 200;
    await Promise.all(Array.from({ length: sets }, (_, i) => conn.call(['SET', `grouped-${i}`, String(i)])));
    const groups = (await walGroups(conn)) - groupsBefore;
    assert.ok(groups <= sets / 10, `${sets} pipelined SETs took ${groups} log groups: they must not wait for each other`);
  } finally {
    conn.close();
  }
});

async function walGroups(conn: RespConnection): Promise<number> {
  const info = ((await conn.call(['INFO', 'persistence'])) as Buffer).toString();
  const match = /wal_groups:(\d+)/.exec(info);
  assert.ok(match, `INFO persistence has wal_groups: ${info}`);
  return Number(match[1]);
}
