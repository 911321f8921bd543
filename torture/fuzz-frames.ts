/**
 * Seeded generator of hostile RESP input for the protocol fuzz: random bytes, valid commands cut
 * short, valid commands with bytes flipped, inserted or dropped, frames that declare sizes over the
 * server's limits (or within them, then stop sending), deep nesting, overlong lines, and
 * well-formed commands with random arguments (including admin commands and coprocessor calls with
 * garbage payloads). The same seed gives the same frames.
 */
import { encodeCommand } from '../engine/protocol/resp';
import { SeededRandom } from '../engine/util/seeded-random';

export type FrameKind = 'random' | 'truncated' | 'mutated' | 'oversized' | 'command' | 'pipelined';

export interface FuzzFrame {
  kind: FrameKind;
  bytes: Buffer;
}

/** Commands the node knows (plus a few it does not), used to build well-formed frames. */
const COMMANDS = [
  'GET', 'SET', 'DEL', 'MGET', 'MSET', 'EXISTS', 'SCANRANGE', 'INFO', 'PING', 'ECHO', 'DBSIZE', 'QUIT', 'AUTH',
  'COMMAND', 'CONFIG', 'CLIENT', 'CLUSTER.REGIONS', 'CLUSTER.SETMAP', 'CLUSTER.EXPORT', 'CLUSTER.INGEST', 'SHUTDOWN',
  'COPR.EXEC', 'COPR.LIST', 'COPR.INSTALL', 'COPR.UNINSTALL', 'PD.MAP', 'PD.SPLIT', 'PD.MOVE', 'PD.PLUGIN.DEPLOY',
  'FLUSHALL', 'KEYS', 'EVAL', 'DEBUG', 'set', 'get',
];

const SCAN_WORDS = ['LIMIT', 'MAXBYTES', 'REVERSE', 'REGION', '0', '1', '-1', '99999999999', 'x'];

function bytes(r: SeededRandom, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}

/** A random argument: a fuzz key, a number, a keyword, or raw bytes. */
function arg(r: SeededRandom): Buffer {
  const roll = r.next();
  if (roll < 0.35) return Buffer.from(`fz:${r.int(5000)}`);
  if (roll < 0.5) return Buffer.from(String(r.int(2) ? r.int(1000) : -r.int(1 << 30)));
  if (roll < 0.6) return Buffer.from(SCAN_WORDS[r.int(SCAN_WORDS.length)]!);
  if (roll < 0.65) return Buffer.alloc(0);
  return bytes(r, r.int(r.next() < 0.9 ? 64 : 4096));
}

/** A well-formed command with random arguments. */
function command(r: SeededRandom): Buffer {
  const name = COMMANDS[r.int(COMMANDS.length)]!;
  const args: Buffer[] = [Buffer.from(name)];
  if (name === 'COPR.EXEC') {
    // plugin, range, region id, epoch, request (msgpack), ranges (msgpack) — garbage in each.
    args.push(Buffer.from(r.next() < 0.5 ? 'aggregate' : 'nope'), Buffer.from(r.next() < 0.5 ? '*' : '^x'), Buffer.from(String(r.int(5))), Buffer.from(String(r.int(5))), bytes(r, r.int(200)), bytes(r, r.int(200)));
    if (r.next() < 0.3) args.push(Buffer.from(r.next() < 0.5 ? 'DEADLINE' : 'MAXROWS'), arg(r));
  } else {
    const n = r.int(7);
    for (let i = 0; i < n; i++) args.push(arg(r));
  }
  return encodeCommand(args);
}

/** Flips, inserts or drops 1…4 bytes. */
function mutate(r: SeededRandom, frame: Buffer): Buffer {
  let b = Buffer.from(frame);
  const edits = 1 + r.int(4);
  for (let e = 0; e < edits && b.length > 0; e++) {
    const at = r.int(b.length);
    const roll = r.next();
    if (roll < 0.5) b[at] = r.next() < 0.5 ? r.int(256) : '*$:+-\r\n0123456789'.charCodeAt(r.int(17));
    else if (roll < 0.75) b = Buffer.concat([b.subarray(0, at), bytes(r, 1 + r.int(3)), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(3))]);
  }
  return b;
}

/** Frames that claim more than the server accepts, or claim a lot and send little. */
function oversized(r: SeededRandom): Buffer {
  switch (r.int(8)) {
    case 0:
      return Buffer.from(`*2\r\n$3\r\nGET\r\n$${67_108_865 + r.int(1 << 30)}\r\n`); // bulk over 64 MiB
    case 1:
      return Buffer.from(`*${1_048_577 + r.int(1 << 30)}\r\n`); // array over 1 Mi elements
    case 2:
      return Buffer.from(`*1\r\n$${'9'.repeat(20 + r.int(40))}\r\n`); // length not a number
    case 3:
      return Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$5\r\nfz:ov\r\n$${1_000_000 + r.int(60_000_000)}\r\n`), bytes(r, r.int(64 * 1024))]); // big bulk, cut short
    case 4:
      return Buffer.alloc(65 * 1024 + r.int(8192), 0x61); // inline line over 64 KiB
    case 5:
      return Buffer.from('*1\r\n'.repeat(33 + r.int(100))); // nesting
    case 6:
      return Buffer.from(`*${r.int(1000)}\r\n${'$-1\r\n'.repeat(r.int(50))}`);
    default:
      return Buffer.from(`*2\r\n$-${r.int(100)}\r\n`);
  }
}

/** The `index`-th frame of the stream for `seed` (frames are independent of each other). */
export function fuzzFrame(seed: number, index: number): FuzzFrame {
  const r = new SeededRandom((seed * 2_654_435_761 + index * 40_503) >>> 0);
  const roll = r.next();
  if (roll < 0.15) return { kind: 'random', bytes: bytes(r, 1 + r.int(r.next() < 0.9 ? 256 : 8192)) };
  if (roll < 0.35) {
    const full = command(r);
    return { kind: 'truncated', bytes: full.subarray(0, Math.max(1, r.int(full.length))) };
  }
  if (roll < 0.6) return { kind: 'mutated', bytes: mutate(r, command(r)) };
  if (roll < 0.7) return { kind: 'oversized', bytes: oversized(r) };
  if (roll < 0.9) return { kind: 'command', bytes: command(r) };
  const parts = Array.from({ length: 2 + r.int(6) }, () => (r.next() < 0.7 ? command(r) : mutate(r, command(r))));
  return { kind: 'pipelined', bytes: Buffer.concat(parts) };
}
