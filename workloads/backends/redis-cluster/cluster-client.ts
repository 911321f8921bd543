/**
 * A small Redis Cluster client over the engine's RespConnection: the slot map from CLUSTER SLOTS,
 * one pipelined connection per primary, MOVED → refresh the map and retry, ASK → ASKING and the
 * command once at the node named (a slot being migrated).
 *
 * Why not ioredis or node-redis: RespConnection already pipelines (commands of one tick go out in
 * one write), counts the real socket bytes per connection (the wire-bytes measurement copbench
 * reports for its own nodes) and takes the network emulation's socket wrapper; a third-party
 * client would need all three bolted on. What this file adds is what Cluster needs and nothing
 * more: redirections while a cluster reshards (MOVED and ASK), no replicas.
 */
import { RespConnection, type SocketLike } from '../../../engine/client/connection';
import { ClientError } from '../../../engine/client/errors';
import { RespError, type RespValue } from '../../../engine/protocol/resp';
import type net from 'node:net';
import { SLOT_COUNT } from './slots';

export interface RedisClusterClientOptions {
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Wraps every socket (network emulation), as in RespConnection. */
  wrapSocket?: (socket: net.Socket) => SocketLike;
}

/** One primary and the slot ranges it serves. */
export interface RedisPrimary {
  address: string;
  host: string;
  port: number;
  slots: Array<[number, number]>;
}

/** Why a client cannot be used: the address is unreachable or is not a Redis Cluster. */
export class RedisClusterError extends Error {
  constructor(
    readonly code: 'NOT_A_CLUSTER' | 'UNAVAILABLE' | 'SLOTS_UNCOVERED' | 'REDIRECTS',
    message: string,
  ) {
    super(message);
    this.name = 'RedisClusterError';
  }
}

const MAX_REDIRECTS = 3;

/** Where a call went: `onSend` hears each node a call is sent to (the owner, then any node a redirection names). */
export interface CallOptions {
  onSend?(address: string): void;
}

export class RedisClusterClient {
  private slotOwner: string[] = new Array<string>(SLOT_COUNT);
  private primaryList: RedisPrimary[] = [];
  private readonly connections = new Map<string, RespConnection>();

  private constructor(
    private readonly seeds: string[],
    private readonly options: RedisClusterClientOptions,
  ) {}

  /** Connects through the first seed that answers and reads the slot map. */
  static async connect(seeds: string[], options: RedisClusterClientOptions = {}): Promise<RedisClusterClient> {
    const client = new RedisClusterClient(seeds, options);
    await client.refreshSlots();
    return client;
  }

  /** The primaries, ordered by their first slot (a stable order for reports). */
  get primaries(): readonly RedisPrimary[] {
    return this.primaryList;
  }

  /** The primary serving `slot`. */
  ownerOf(slot: number): string {
    return this.slotOwner[slot]!;
  }

  /** The pipelined connection to a primary (opened on first use). */
  connection(address: string): RespConnection {
    let conn = this.connections.get(address);
    if (!conn) {
      const [host, port] = splitAddress(address);
      conn = new RespConnection({ host, port, requestTimeoutMs: this.options.requestTimeoutMs ?? 60_000, connectTimeoutMs: this.options.connectTimeoutMs ?? 2000, wrapSocket: this.options.wrapSocket });
      this.connections.set(address, conn);
    }
    return conn;
  }

  /**
   * Sends a command for a key in `slot`; error replies throw. Redirections, as a cluster reshards:
   * - MOVED: the slot has a new owner. The map is refreshed, the slot set to the node that said so
   *   (a node asked for the map may not have heard of the move yet), and the command resent.
   * - ASK: the slot is being migrated and this key has moved already, while the slot's other keys
   *   may still be at its owner. The command goes once to the named node after ASKING, and the map
   *   stays as it is: the next command for the slot goes to the owner again.
   */
  async call(slot: number, args: ReadonlyArray<Buffer | Uint8Array | string>, options: CallOptions = {}): Promise<RespValue> {
    let address = this.ownerOf(slot);
    let asking = false;
    for (let redirects = 0; ; redirects++) {
      options.onSend?.(address);
      const reply: RespValue = asking ? await this.sendAsking(address, args) : await this.connection(address).send(args);
      if (!(reply instanceof RespError)) return reply;
      if (reply.code !== 'MOVED' && reply.code !== 'ASK') throw ClientError.fromReply(reply, address);
      if (redirects >= MAX_REDIRECTS) throw new RedisClusterError('REDIRECTS', `slot ${slot} still redirected after ${MAX_REDIRECTS} redirections (last: ${reply.message} from ${address})`);
      const target = redirectTarget(reply, address);
      asking = reply.code === 'ASK';
      if (!asking) {
        await this.refreshSlots();
        this.slotOwner[slot] = target;
      }
      address = target;
    }
  }

  /**
   * ASKING then the command on `address`'s connection. ASKING admits only the next command of its
   * connection, and RespConnection writes commands in the order they are sent, so both are sent
   * in one go: no other command of this client can come between them.
   */
  private async sendAsking(address: string, args: ReadonlyArray<Buffer | Uint8Array | string>): Promise<RespValue> {
    const conn = this.connection(address);
    const [asked, reply] = await Promise.all([conn.send(['ASKING']), conn.send(args)]);
    if (asked instanceof RespError) throw ClientError.fromReply(asked, address);
    return reply;
  }

  /** Sends a command to one primary (FUNCTION LOAD, INFO…); error replies throw. */
  async callNode(address: string, args: ReadonlyArray<Buffer | Uint8Array | string>): Promise<RespValue> {
    return this.connection(address).call(args);
  }

  /** Socket bytes per primary since connect (the real wire bytes, both directions). */
  wireBytes(): Map<string, { bytesRead: number; bytesWritten: number }> {
    const out = new Map<string, { bytesRead: number; bytesWritten: number }>();
    for (const [address, conn] of this.connections) out.set(address, { bytesRead: conn.bytesRead, bytesWritten: conn.bytesWritten });
    return out;
  }

  close(): void {
    for (const conn of this.connections.values()) conn.close();
    this.connections.clear();
  }

  /** Reads CLUSTER SLOTS from the first seed (or known primary) that answers. */
  async refreshSlots(): Promise<void> {
    const candidates = [...new Set([...this.primaryList.map((p) => p.address), ...this.seeds])];
    const failures: string[] = [];
    for (const address of candidates) {
      let reply: RespValue;
      try {
        reply = await this.connection(address).send(['CLUSTER', 'SLOTS']);
      } catch (err) {
        failures.push(`${address}: ${(err as Error).message}`);
        continue;
      }
      if (reply instanceof RespError) {
        // "ERR This instance has cluster support disabled", or a server that has no CLUSTER command.
        throw new RedisClusterError('NOT_A_CLUSTER', `${address} is not a Redis Cluster node (CLUSTER SLOTS answered: ${reply.message})`);
      }
      this.installSlots(reply, address);
      return;
    }
    throw new RedisClusterError('UNAVAILABLE', `no Redis Cluster node answered: ${failures.join('; ')}`);
  }

  private installSlots(reply: RespValue, from: string): void {
    if (!Array.isArray(reply)) throw new RedisClusterError('NOT_A_CLUSTER', `${from} answered CLUSTER SLOTS with ${JSON.stringify(reply)}, not a slot list`);
    const owner = new Array<string>(SLOT_COUNT);
    const primaries = new Map<string, RedisPrimary>();
    for (const entry of reply) {
      const [start, end, master] = entry as [number, number, RespValue[]];
      // An empty host means "the address you reached me on" (cluster-preferred-endpoint-type).
      const host = String(master[0]) || splitAddress(from)[0];
      const address = `${host}:${Number(master[1])}`;
      const primary = primaries.get(address) ?? { address, host, port: Number(master[1]), slots: [] };
      primary.slots.push([start, end]);
      primaries.set(address, primary);
      for (let s = start; s <= end; s++) owner[s] = address;
    }
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (owner[s] === undefined) throw new RedisClusterError('SLOTS_UNCOVERED', `slot ${s} has no primary in ${from}'s CLUSTER SLOTS (cluster not ready or broken)`);
    }
    this.slotOwner = owner;
    this.primaryList = [...primaries.values()].sort((a, b) => a.slots[0]![0] - b.slots[0]![0]);
  }
}

/** The node a MOVED or ASK reply names (`MOVED <slot> <host>:<port>`); an empty host is the replying node's. */
function redirectTarget(reply: RespError, from: string): string {
  const named = reply.message.split(' ')[2];
  if (!named) throw new RedisClusterError('REDIRECTS', `${from} answered '${reply.message}', which names no node`);
  return named.startsWith(':') ? `${splitAddress(from)[0]}${named}` : named;
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port)) throw new RedisClusterError('UNAVAILABLE', `bad address '${address}' (expected host:port)`);
  return [address.slice(0, at), port];
}
