/**
 * The write-ahead log's on-disk unit: one frame per commit group, holding that group's mutations.
 * A frame is `[u32 body length][u32 crc32 of body][body]`; the body is a sequence of mutations.
 * A frame is applied whole or not at all, so a torn final frame (a crash mid-write) drops its group
 * as one, which keeps a multi-row write (putMany) atomic across a crash.
 */
import { crc32 } from 'node:zlib';

/** One logged change to a node's LMDB environment. */
export type Mutation =
  | { kind: 'put'; key: Buffer; value: Buffer }
  | { kind: 'remove'; key: Buffer }
  /** Deletes every row of `[start, end)`; an empty `end` means to the end of the keyspace. */
  | { kind: 'removeRange'; start: Buffer; end: Buffer }
  /** A metadata entry (JSON text) of the store's `meta` database. */
  | { kind: 'meta'; name: string; json: string };

const KIND_CODE = { put: 1, remove: 2, removeRange: 3, meta: 4 } as const;
const FRAME_HEADER_BYTES = 8;
/** Larger bodies are treated as corruption (a request is capped far below this). */
const MAX_FRAME_BODY_BYTES = 1 << 30;

function mutationBytes(m: Mutation): number {
  switch (m.kind) {
    case 'put':
      return 1 + 8 + m.key.length + m.value.length;
    case 'remove':
      return 1 + 4 + m.key.length;
    case 'removeRange':
      return 1 + 8 + m.start.length + m.end.length;
    case 'meta':
      return 1 + 8 + Buffer.byteLength(m.name) + Buffer.byteLength(m.json);
  }
}

/** Encodes a group of mutations as one frame. */
export function encodeFrame(mutations: ReadonlyArray<Mutation>): Buffer {
  let bodyBytes = 0;
  for (const m of mutations) bodyBytes += mutationBytes(m);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  let at = FRAME_HEADER_BYTES;
  const bytes = (b: Buffer): void => {
    at = frame.writeUInt32LE(b.length, at);
    at += b.copy(frame, at);
  };
  const text = (s: string): void => {
    const n = frame.write(s, at + 4);
    at = frame.writeUInt32LE(n, at) + n;
  };
  for (const m of mutations) {
    at = frame.writeUInt8(KIND_CODE[m.kind], at);
    if (m.kind === 'put') {
      bytes(m.key);
      bytes(m.value);
    } else if (m.kind === 'remove') {
      bytes(m.key);
    } else if (m.kind === 'removeRange') {
      bytes(m.start);
      bytes(m.end);
    } else {
      text(m.name);
      text(m.json);
    }
  }
  frame.writeUInt32LE(bodyBytes, 0);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 4);
  return frame;
}

/** The whole frames found at the start of `data`, and where the first incomplete or corrupt one begins. */
export interface DecodedFrames {
  frames: Mutation[][];
  /** Bytes of `data` covered by whole, intact frames; anything after is a torn or corrupt tail. */
  validBytes: number;
}

/** Decodes consecutive frames until the data ends or a frame is incomplete or fails its checksum. */
export function decodeFrames(data: Buffer): DecodedFrames {
  const frames: Mutation[][] = [];
  let at = 0;
  while (data.length - at >= FRAME_HEADER_BYTES) {
    const bodyBytes = data.readUInt32LE(at);
    const crc = data.readUInt32LE(at + 4);
    if (bodyBytes > MAX_FRAME_BODY_BYTES || data.length - at - FRAME_HEADER_BYTES < bodyBytes) break;
    const body = data.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + bodyBytes);
    if (crc32(body) !== crc) break;
    const mutations = decodeBody(body);
    if (!mutations) break;
    frames.push(mutations);
    at += FRAME_HEADER_BYTES + bodyBytes;
  }
  return { frames, validBytes: at };
}

/** Undefined when the body is malformed (a checksum collision on garbage; treated as a torn tail). */
function decodeBody(body: Buffer): Mutation[] | undefined {
  const out: Mutation[] = [];
  let at = 0;
  const bytes = (): Buffer | undefined => {
    if (body.length - at < 4) return undefined;
    const n = body.readUInt32LE(at);
    if (body.length - at - 4 < n) return undefined;
    // Copies: the frame buffer is reused for the next read of the segment.
    const b = Buffer.from(body.subarray(at + 4, at + 4 + n));
    at += 4 + n;
    return b;
  };
  while (at < body.length) {
    const kind = body[at++];
    if (kind === KIND_CODE.put) {
      const key = bytes();
      const value = bytes();
      if (!key || !value) return undefined;
      out.push({ kind: 'put', key, value });
    } else if (kind === KIND_CODE.remove) {
      const key = bytes();
      if (!key) return undefined;
      out.push({ kind: 'remove', key });
    } else if (kind === KIND_CODE.removeRange) {
      const start = bytes();
      const end = bytes();
      if (!start || !end) return undefined;
      out.push({ kind: 'removeRange', start, end });
    } else if (kind === KIND_CODE.meta) {
      const name = bytes();
      const json = bytes();
      if (!name || !json) return undefined;
      out.push({ kind: 'meta', name: name.toString(), json: json.toString() });
    } else {
      return undefined;
    }
  }
  return out;
}
