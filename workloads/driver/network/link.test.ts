/**
 * The emulated link on real loopback sockets: configured vs measured rate (each direction), added
 * RTT, bandwidth shared by connections, download backpressure, and a RespConnection through the
 * link against a real copbench node.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ClusterClient } from '../../../engine/client/cluster-client';
import { LocalCluster } from '../../../engine/cluster/local-cluster';
import { EmulatedLink, ShapedSocket } from './link';
import { LINK_PRESETS, LinkSpecError, formatLinkSpec, parseBandwidth, parseLinkProfile } from './link-profile';
import { nowMs } from './precise-timer';

// ---- loopback helpers -------------------------------------------------------------------------

interface Server {
  port: number;
  close(): Promise<void>;
}

/** A plain TCP server on 127.0.0.1 that runs `onConnection` per socket; close() destroys them all. */
async function startServer(onConnection: (socket: net.Socket) => void): Promise<Server> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `total` bytes in 64 KiB chunks, honouring backpressure, then ends the stream. */
function streamBytes(out: { write(b: Buffer): boolean; end(): unknown; once(e: 'drain', f: () => void): unknown }, total: number): void {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!out.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        out.once('drain', pump);
        return;
      }
    }
    out.end();
  };
  pump();
}

async function connect(port: number): Promise<net.Socket> {
  const raw = net.connect({ host: '127.0.0.1', port });
  raw.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    raw.once('connect', resolve);
    raw.once('error', reject);
  });
  return raw;
}

interface Transfer {
  bytes: number;
  firstAt: number;
  lastAt: number;
  firstChunk: number;
  /** [time, bytes received so far] at every chunk. */
  marks: Array<[number, number]>;
  /** Largest download queue seen on the wrapper while receiving. */
  maxQueued: number;
}

/** Reads until 'end' through `socket` (wrapped or not); times first and last byte. */
function receiveAll(socket: { on(e: 'data', f: (c: Buffer) => void): unknown; once(e: 'end', f: () => void): unknown }, timeoutMs: number): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const t: Transfer = { bytes: 0, firstAt: 0, lastAt: 0, firstChunk: 0, marks: [], maxQueued: 0 };
    const timer = setTimeout(() => reject(new Error(`transfer timed out after ${timeoutMs} ms with ${t.bytes} bytes`)), timeoutMs);
    socket.on('data', (c: Buffer) => {
      const now = nowMs();
      if (t.bytes === 0) {
        t.firstAt = now;
        t.firstChunk = c.length;
      }
      t.bytes += c.length;
      t.lastAt = now;
      t.marks.push([now, t.bytes]);
      if (socket instanceof ShapedSocket) t.maxQueued = Math.max(t.maxQueued, socket.queuedDownBytes);
    });
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(t);
    });
  });
}

/** Bits per second from the first to the last byte (the first chunk's bytes are not timed). */
const rateOf = (t: Transfer): number => ((t.bytes - t.firstChunk) * 8) / ((t.lastAt - t.firstAt) / 1000);

/** Bits per second over the steady part: from the chunk that completes the first 10% to the last byte. */
function steadyRateOf(t: Transfer): number {
  const from = t.marks.find(([, bytes]) => bytes >= t.bytes * 0.1) ?? t.marks[0]!;
  return ((t.bytes - from[1]) * 8) / ((t.lastAt - from[0]) / 1000);
}

const within = (measured: number, expected: number, tolerance: number): boolean => Math.abs(measured - expected) <= expected * tolerance;

/**
 * Runs a timing measurement; when it misses its tolerance (this is a noisy shared 2-core machine),
 * logs the miss and measures once more. The tolerance itself is never widened.
 */
async function measureTwice<T>(what: string, measure: () => Promise<T>, ok: (result: T) => boolean, describe: (result: T) => string): Promise<T> {
  const first = await measure();
  console.log(`# ${what}: ${describe(first)}`);
  if (ok(first)) return first;
  console.log(`# ${what}: outside the tolerance, measuring once more`);
  const second = await measure();
  console.log(`# ${what} (retry): ${describe(second)}`);
  return second;
}
const mbit = (bits: number): string => `${(bits / 1e6).toFixed(1)} Mbit/s`;

async function download(link: EmulatedLink, port: number, timeoutMs: number): Promise<Transfer> {
  const raw = await connect(port);
  const sock = link.wrap(raw) as ShapedSocket;
  try {
    return await receiveAll(sock, timeoutMs);
  } finally {
    raw.destroy();
  }
}

// ---- spec parsing ------------------------------------------------------------------------------

describe('link specs', () => {
  test('presets parse to their bandwidth and RTT', () => {
    assert.deepEqual(parseLinkProfile('1gbit'), { name: '1gbit', bandwidthBitsPerSec: 1e9, rttMs: 0.5, jitterMs: 0, lossPercent: 0 });
    assert.deepEqual(parseLinkProfile('10gbit'), LINK_PRESETS['10gbit']);
    assert.deepEqual(parseLinkProfile('100mbit'), LINK_PRESETS['100mbit']);
    assert.deepEqual(parseLinkProfile('unlimited'), { name: 'unlimited', bandwidthBitsPerSec: null, rttMs: 0, jitterMs: 0, lossPercent: 0 });
  });

  test('a preset with an rtt option and a custom rate get canonical names', () => {
    assert.deepEqual(parseLinkProfile('100mbit:rtt=2'), { name: '100mbit:rtt=2', bandwidthBitsPerSec: 100e6, rttMs: 2, jitterMs: 0, lossPercent: 0 });
    assert.deepEqual(parseLinkProfile('250Mbit'), { name: '250mbit', bandwidthBitsPerSec: 250e6, rttMs: 0, jitterMs: 0, lossPercent: 0 });
    assert.deepEqual(parseLinkProfile('1.5gbit:rtt=250us'), { name: '1500mbit:rtt=0.25', bandwidthBitsPerSec: 1.5e9, rttMs: 0.25, jitterMs: 0, lossPercent: 0 });
    assert.deepEqual(parseLinkProfile('unlimited:rtt=20'), { name: 'unlimited:rtt=20', bandwidthBitsPerSec: null, rttMs: 20, jitterMs: 0, lossPercent: 0 });
    assert.equal(parseLinkProfile('1gbit:rtt=0.5').name, '1gbit');
  });

  test('object specs: bandwidth string, number or null, rttMs', () => {
    assert.deepEqual(parseLinkProfile({ bandwidth: '1gbit', rttMs: 1 }), { name: '1gbit:rtt=1', bandwidthBitsPerSec: 1e9, rttMs: 1, jitterMs: 0, lossPercent: 0 });
    assert.deepEqual(parseLinkProfile({ bandwidth: 5e6 }), { name: '5mbit', bandwidthBitsPerSec: 5e6, rttMs: 0, jitterMs: 0, lossPercent: 0 });
    assert.deepEqual(parseLinkProfile({ bandwidth: null, rttMs: 3, name: 'wan' }), { name: 'wan', bandwidthBitsPerSec: null, rttMs: 3, jitterMs: 0, lossPercent: 0 });
    assert.deepEqual(parseLinkProfile(LINK_PRESETS['1gbit']), LINK_PRESETS['1gbit']);
  });

  test('bad specs fail with a LinkSpecError that names the problem', () => {
    const bad: Array<[unknown, RegExp]> = [
      ['1gbt', /unknown unit "gbt"/],
      ['100mbps', /factor-8/],
      ['fast', /unknown profile "fast"; expected a preset \(unlimited, 10gbit, 1gbit, 100mbit\)/],
      ['100', /expected a number and a unit/],
      ['', /expected a preset/],
      ['1gbit:rtt', /must be key=value/],
      ['1gbit:rtt=-1', /rtt must be a number of milliseconds between 0 and 60000/],
      ['1gbit:rtt=2:rtt=3', /given twice/],
      ['1gbit:drop=1', /unknown option "drop" \(options: rtt=<ms>, jitter=<ms>, loss=<percent>\)/],
      ['0mbit', /a rate must be positive, at least 1kbit \(≥ 1000 bits per second\); for no limit write "unlimited"/],
      ['-100mbit', /"-100mbit": a rate must be positive/],
      ['0.5kbit', /must be at least 1kbit/],
      [{ bandwidth: -5e6 }, /a rate must be positive/],
      [{ bandwidth: '1gbit', rtt: 1 }, /unknown field "rtt"/],
      [{ rttMs: 1 }, /bandwidth is required/],
      [{ bandwidth: true }, /bandwidth must be/],
      [{ bandwidth: '1gbit', rttMs: 'x' }, /rtt must be a number/],
      [42, /expected a preset/],
    ];
    for (const [spec, message] of bad) {
      assert.throws(() => parseLinkProfile(spec), (err: unknown) => err instanceof LinkSpecError && err.code === 'INVALID_LINK_SPEC' && message.test(err.message), `spec ${JSON.stringify(spec)}`);
    }
    assert.equal(parseBandwidth('unlimited'), null);
    assert.equal(formatLinkSpec({ bandwidthBitsPerSec: 2.5e6, rttMs: 0 }), '2500kbit');
  });

  test('the user-space link refuses jitter and loss instead of ignoring them', () => {
    for (const spec of ['100mbit:loss=0.1', '100mbit:rtt=2:jitter=0.5']) {
      assert.throws(() => new EmulatedLink(spec), (err: unknown) => err instanceof LinkSpecError && /jitter and loss need the kernel's netem/.test(err.message), spec);
    }
  });
});

// ---- shaping on loopback ---------------------------------------------------------------------

describe('emulated link on loopback', () => {
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  test('the unlimited profile adds no wrapper and still counts bytes', async () => {
    const server = await startServer((s) => streamBytes(s, 100_000));
    servers.push(server);
    const link = new EmulatedLink('unlimited');
    assert.equal(link.shaped, false);
    const raw = await connect(server.port);
    assert.equal(link.wrap(raw), raw);
    const t = await receiveAll(raw, 5000);
    raw.destroy();
    assert.equal(t.bytes, 100_000);
    assert.equal(link.stats().bytesDown, 100_000);
  });

  for (const [spec, bytes] of [
    ['100mbit', 16_000_000],
    ['1gbit', 150_000_000],
  ] as const) {
    test(`download at ${spec} runs at the configured rate ±10% (${bytes / 1e6} MB, steady part; paused under backpressure)`, async () => {
      const server = await startServer((s) => streamBytes(s, bytes));
      servers.push(server);
      const configured = parseLinkProfile(spec).bandwidthBitsPerSec!;
      const { link, t } = await measureTwice(
        `${spec} download`,
        async () => {
          const link = new EmulatedLink(spec);
          return { link, t: await download(link, server.port, 20_000) };
        },
        ({ t }) => within(steadyRateOf(t), configured, 0.1),
        ({ link, t }) => {
          const stats = link.stats();
          const pct = (r: number): string => `${((r / configured - 1) * 100).toFixed(2)}%`;
          return `configured ${mbit(configured)}, measured ${mbit(steadyRateOf(t))} (${pct(steadyRateOf(t))}) after the first 10%, ${mbit(rateOf(t))} (${pct(rateOf(t))}) first to last byte, ${((t.lastAt - t.firstAt) / 1000).toFixed(2)} s; pauses ${stats.pauses}, max queued ${t.maxQueued} B (bound ${link.maxQueueBytes}), throttled ${stats.throttledDownMs.toFixed(0)} ms`;
        },
      );
      const stats = link.stats();
      assert.equal(t.bytes, bytes);
      assert.ok(within(steadyRateOf(t), configured, 0.1), `measured ${mbit(steadyRateOf(t))} vs configured ${mbit(configured)}`);
      assert.equal(stats.bytesDown, bytes);
      // Backpressure: the raw socket was paused, and the queue stayed within one read of the bound.
      assert.ok(stats.pauses > 0, 'raw socket never paused');
      assert.ok(t.maxQueued <= link.maxQueueBytes + 256 * 1024, `queued ${t.maxQueued} B, bound ${link.maxQueueBytes} B`);
      assert.ok(stats.throttledDownMs > 0.5 * (t.lastAt - t.firstAt), 'throttled time should cover most of a saturated transfer');
    });
  }

  test('upload at 100mbit runs at the configured rate ±10% (steady part, measured by the receiving server)', async () => {
    const bytes = 16_000_000;
    let done: ((t: Transfer) => void) | undefined;
    const server = await startServer((s) => {
      void receiveAll(s, 20_000).then((t) => done?.(t));
    });
    servers.push(server);
    const { link, t } = await measureTwice(
      '100mbit upload',
      async () => {
        const received = new Promise<Transfer>((resolve) => (done = resolve));
        const link = new EmulatedLink('100mbit');
        const raw = await connect(server.port);
        streamBytes(link.wrap(raw) as ShapedSocket, bytes);
        const t = await received;
        raw.destroy();
        return { link, t };
      },
      ({ t }) => within(steadyRateOf(t), 100e6, 0.1),
      ({ t }) => `configured ${mbit(100e6)}, measured ${mbit(steadyRateOf(t))} (${((steadyRateOf(t) / 100e6 - 1) * 100).toFixed(2)}%) after the first 10%, ${mbit(rateOf(t))} first to last byte, at the receiving server`,
    );
    assert.equal(t.bytes, bytes);
    assert.ok(within(steadyRateOf(t), 100e6, 0.1), `measured ${mbit(steadyRateOf(t))}`);
    assert.equal(link.stats().bytesUp, bytes);
    assert.ok(link.stats().throttledUpMs > 0);
  });

  test('two connections on one link share its bandwidth (sum within ±10%)', async () => {
    const each = 8_000_000;
    const server = await startServer((s) => streamBytes(s, each));
    servers.push(server);
    const measure = async (): Promise<{ a: Transfer; b: Transfer; sum: number; overlap: number; span: number }> => {
      const link = new EmulatedLink('100mbit');
      const [a, b] = await Promise.all([download(link, server.port, 20_000), download(link, server.port, 20_000)]);
      const first = Math.min(a.firstAt, b.firstAt);
      const last = Math.max(a.lastAt, b.lastAt);
      const sum = ((a.bytes + b.bytes - a.firstChunk - b.firstChunk) * 8) / ((last - first) / 1000);
      return { a, b, sum, overlap: Math.min(a.lastAt, b.lastAt) - Math.max(a.firstAt, b.firstAt), span: last - first };
    };
    const { a, b, sum, overlap, span } = await measureTwice(
      '2 connections at 100mbit',
      measure,
      (r) => within(r.sum, 100e6, 0.1),
      (r) => `sum ${mbit(r.sum)} (${((r.sum / 100e6 - 1) * 100).toFixed(2)}%); a ${mbit(rateOf(r.a))}, b ${mbit(rateOf(r.b))}; both active ${(r.overlap / 1000).toFixed(2)} s of ${(r.span / 1000).toFixed(2)} s`,
    );
    assert.equal(a.bytes + b.bytes, 2 * each);
    assert.ok(within(sum, 100e6, 0.1), `sum ${mbit(sum)}`);
    // While both ran, each had a real share (not one after the other).
    assert.ok(overlap > 0.6 * span, 'connections did not run concurrently');
  });

  test('bytes keep their order per connection in both directions (random chunk sizes, echo)', async () => {
    const server = await startServer((s) => s.on('data', (c) => s.write(c)));
    servers.push(server);
    const link = new EmulatedLink('100mbit:rtt=2');
    const total = 2_000_000;
    const sent = Buffer.alloc(total);
    for (let i = 0; i < total; i++) sent[i] = (i * 7 + (i >> 11)) & 0xff;
    const raw = await connect(server.port);
    const sock = link.wrap(raw) as ShapedSocket;
    const parts: Buffer[] = [];
    let got = 0;
    const done = new Promise<void>((resolve) =>
      sock.on('data', (c: Buffer) => {
        parts.push(c);
        got += c.length;
        if (got >= total) resolve();
      }),
    );
    let seed = 12345;
    for (let offset = 0; offset < total; ) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = Math.min(total - offset, 1 + (seed % 40_000));
      sock.write(sent.subarray(offset, offset + n));
      offset += n;
    }
    await done;
    raw.destroy();
    assert.ok(Buffer.concat(parts).equals(sent), 'echoed bytes differ from the bytes sent');
    const stats = link.stats();
    assert.equal(stats.bytesUp, total);
    assert.equal(stats.bytesDown, total);
  });

  test('close() hands over what is queued at once and passes later bytes straight through', async () => {
    const server = await startServer((s) => s.on('data', (c) => s.write(c)));
    servers.push(server);
    const link = new EmulatedLink('unlimited:rtt=2000');
    const raw = await connect(server.port);
    const sock = link.wrap(raw) as ShapedSocket;
    let echoed = '';
    sock.on('data', (c: Buffer) => (echoed += c.toString()));
    const t0 = nowMs();
    sock.write(Buffer.from('queued;'));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(echoed, '', 'nothing can come back within 20 ms of a 2 s RTT');
    link.close();
    sock.write(Buffer.from('after;'));
    while (echoed.length < 'queued;after;'.length && nowMs() - t0 < 1000) await new Promise((r) => setTimeout(r, 5));
    raw.destroy();
    assert.equal(echoed, 'queued;after;');
    assert.ok(nowMs() - t0 < 1000, 'bytes waited for the emulated delay after close()');
  });

  /** Median round trip of `n` 64-byte ping-pongs over an echo server. */
  async function pingMedianMs(link: EmulatedLink, port: number, n: number): Promise<number> {
    const raw = await connect(port);
    const sock = link.wrap(raw) as ShapedSocket | net.Socket;
    const ping = Buffer.alloc(64, 0x70);
    const times: number[] = [];
    let got = 0;
    let wake: (() => void) | undefined;
    sock.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= 64 && wake) {
        got -= 64;
        const w = wake;
        wake = undefined;
        w();
      }
    });
    try {
      for (let i = 0; i < n + 3; i++) {
        const t0 = nowMs();
        await new Promise<void>((resolve) => {
          wake = resolve;
          sock.write(ping);
        });
        if (i >= 3) times.push(nowMs() - t0); // the first round trips warm up both ends
      }
    } finally {
      raw.destroy();
    }
    times.sort((x, y) => x - y);
    return times[Math.floor(times.length / 2)]!;
  }

  test('rtt=20 adds 20 ms ±20% to a 64-byte round trip (median of 30)', async () => {
    const server = await startServer((s) => s.on('data', (c) => s.write(c)));
    servers.push(server);
    const { added } = await measureTwice(
      'rtt=20',
      async () => {
        const base = await pingMedianMs(new EmulatedLink('unlimited'), server.port, 30);
        const shaped = await pingMedianMs(new EmulatedLink('1gbit:rtt=20'), server.port, 30);
        return { base, shaped, added: shaped - base };
      },
      (r) => within(r.added, 20, 0.2),
      (r) => `baseline ${r.base.toFixed(3)} ms, shaped ${r.shaped.toFixed(3)} ms, added ${r.added.toFixed(3)} ms`,
    );
    assert.ok(within(added, 20, 0.2), `added ${added.toFixed(3)} ms`);
  });

  test('sub-millisecond RTTs of the presets are applied (1gbit: 0.5 ms, 10gbit: 0.2 ms, within ±0.15 ms)', async () => {
    const server = await startServer((s) => s.on('data', (c) => s.write(c)));
    servers.push(server);
    for (const spec of ['1gbit', '10gbit'] as const) {
      const rttMs = LINK_PRESETS[spec].rttMs;
      const { added } = await measureTwice(
        `${spec} rtt`,
        async () => {
          const base = await pingMedianMs(new EmulatedLink('unlimited'), server.port, 200);
          const shaped = await pingMedianMs(new EmulatedLink(spec), server.port, 200);
          return { base, added: shaped - base };
        },
        (r) => Math.abs(r.added - rttMs) <= 0.15,
        (r) => `configured ${rttMs} ms, added ${r.added.toFixed(3)} ms (baseline ${r.base.toFixed(3)} ms)`,
      );
      assert.ok(Math.abs(added - rttMs) <= 0.15, `${spec}: added ${added.toFixed(3)} ms`);
    }
  });
});

// ---- a RespConnection through the link against a real node -------------------------------------

describe('cluster client through an emulated link', () => {
  let cluster: LocalCluster;
  const clients: ClusterClient[] = [];
  const rows = 4000;
  const value = Buffer.alloc(1000, 0x76);

  before(async () => {
    cluster = await LocalCluster.start({ nodes: 1, pluginsDir: false });
    const loader = await ClusterClient.connect({ placement: cluster.placementAddress });
    clients.push(loader);
    const pairs: Array<[string, Buffer]> = [];
    for (let i = 0; i < rows; i++) pairs.push([`row:${String(i).padStart(6, '0')}`, value]);
    await loader.mset(pairs);
  });

  after(async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  });

  async function timedScan(client: ClusterClient): Promise<{ ms: number; rows: number; bytesRead: number }> {
    const before = client.nodeConnections().reduce((s, c) => s + c.bytesRead, 0);
    const t0 = nowMs();
    let n = 0;
    for await (const batch of client.scanBatches('row:', 'row;')) n += batch.length;
    const ms = nowMs() - t0;
    return { ms, rows: n, bytesRead: client.nodeConnections().reduce((s, c) => s + c.bytesRead, 0) - before };
  }

  test('SET/GET and a scan work through a 100mbit link; the scan takes its bytes / rate', async () => {
    const link = new EmulatedLink('100mbit');
    const shaped = await ClusterClient.connect({ placement: cluster.placementAddress, wrapSocket: link.wrap });
    const plain = await ClusterClient.connect({ placement: cluster.placementAddress });
    clients.push(shaped, plain);

    await shaped.set('hello', 'world');
    assert.equal((await shaped.get('hello'))?.toString(), 'world');
    assert.equal((await plain.get('hello'))?.toString(), 'world');

    await timedScan(plain); // warm the node's page cache and both code paths
    const fast = await timedScan(plain);
    const slow = await timedScan(shaped);
    const wireMs = ((slow.bytesRead * 8) / 100e6) * 1000;
    console.log(`# scan of ${rows} rows (${(slow.bytesRead / 1e6).toFixed(2)} MB): unlimited ${fast.ms.toFixed(1)} ms, 100mbit ${slow.ms.toFixed(1)} ms, bytes/rate ${wireMs.toFixed(1)} ms`);
    assert.equal(slow.rows, rows);
    assert.equal(fast.rows, rows);
    // The wire bytes are the raw socket's counters and match what the link passed.
    const stats = link.stats();
    assert.equal(stats.bytesDown, shaped.nodeConnections().reduce((s, c) => s + c.bytesRead, 0));
    assert.equal(stats.bytesUp, shaped.nodeConnections().reduce((s, c) => s + c.bytesWritten, 0));
    // At least the serialization time of its bytes, and not much more than that plus the unshaped time.
    assert.ok(slow.ms >= 0.9 * wireMs, `scan took ${slow.ms.toFixed(1)} ms < 90% of ${wireMs.toFixed(1)} ms`);
    assert.ok(slow.ms <= 1.5 * wireMs + fast.ms + 100, `scan took ${slow.ms.toFixed(1)} ms, expected about ${wireMs.toFixed(1)} + ${fast.ms.toFixed(1)} ms`);
  });
});
