/**
 * The command tables of copbench's servers (nodes and placement): a command's arity, whether it
 * needs AUTH with the admin token, and its handler; one lookup, one arity check, one admin check
 * and one AUTH for both.
 *
 * Finds a command by the bytes of its name, case-insensitively, without making a string of it.
 * Under `redis-benchmark -t get -P 16` the node spent ~12% of its time turning every request's
 * name into an upper-cased string and looking it up in an object keyed by it (StringSlice,
 * Intl::ConvertToUpper, the string table, a megamorphic keyed load).
 */

import { timingSafeEqual } from 'node:crypto';
import { CommandError, type CommandOrder, type Connection, type DeferredReply, type Reply } from './server';

/** One command of a server whose handlers are methods of `Self`. */
export interface CommandSpec<Self> {
  /** Positive: exact argument count including the name; negative: at least that many. */
  arity: number;
  /** Needs AUTH with the cluster's admin token first. */
  admin?: boolean;
  /** Against unfinished commands before it on the connection (default `read`; see CommandOrder). */
  order?: CommandOrder | ((this: Self, args: Buffer[]) => CommandOrder);
  run: (this: Self, args: Buffer[], conn: Connection) => Reply | Promise<Reply> | DeferredReply;
}

/** Looks the command up and checks its arity and admin need; throws the error reply otherwise. */
export function resolveCommand<Self>(table: CommandTable<CommandSpec<Self>>, args: Buffer[], conn: Connection): CommandEntry<CommandSpec<Self>> {
  const entry = table.lookup(args[0]!);
  if (!entry) throw new CommandError('ERR', `unknown command '${args[0]!.toString('latin1').slice(0, 64)}'`);
  const command = entry.spec;
  if (command.arity > 0 ? args.length !== command.arity : args.length < -command.arity) {
    throw new CommandError('ERR', `wrong number of arguments for '${entry.name.toLowerCase()}' command`);
  }
  if (command.admin && !conn.admin) throw new CommandError('NOAUTH', `${entry.name} is an admin command: AUTH with the cluster's admin token first`);
  return entry;
}

/** AUTH [user] token: the connection is admin if the token is the cluster's (compared in constant time). */
export function authenticate(args: Buffer[], conn: Connection, adminToken: string): Reply {
  const token = args[args.length - 1]!;
  const expected = Buffer.from(adminToken);
  conn.admin = token.length === expected.length && timingSafeEqual(token, expected);
  if (!conn.admin) throw new CommandError('WRONGPASS', 'invalid admin token');
  return 'OK';
}

/** A command as the table returns it: its canonical (upper-case) name and what it was registered with. */
export interface CommandEntry<T> {
  readonly name: string;
  readonly spec: T;
}

interface Candidate<T> extends CommandEntry<T> {
  readonly upper: Uint8Array;
}

export class CommandTable<T> {
  /** Candidates by name length: few names share a length, so a lookup compares one or two names. */
  private readonly byLength: Array<Array<Candidate<T>> | undefined> = [];

  /** `specs` is keyed by command name; names are ASCII and matched case-insensitively. */
  constructor(specs: Readonly<Record<string, T>>) {
    for (const [name, spec] of Object.entries(specs)) {
      const upper = name.toUpperCase();
      if (!/^[\x21-\x7e]+$/.test(upper)) throw new Error(`command name '${name}' is not printable ASCII`);
      const list = (this.byLength[upper.length] ??= []);
      list.push({ name: upper, spec, upper: Buffer.from(upper, 'latin1') });
    }
  }

  /** The command whose name is `name` (any letter case), or undefined. */
  lookup(name: Uint8Array): CommandEntry<T> | undefined {
    const candidates = this.byLength[name.length];
    if (candidates === undefined) return undefined;
    for (let c = 0; c < candidates.length; c++) {
      const candidate = candidates[c]!;
      if (sameIgnoringAsciiCase(name, candidate.upper)) return candidate;
    }
    return undefined;
  }
}

/** `bytes` equals `upper` (upper-case ASCII, same length) after upper-casing a–z in `bytes`. */
function sameIgnoringAsciiCase(bytes: Uint8Array, upper: Uint8Array): boolean {
  for (let i = 0; i < upper.length; i++) {
    let b = bytes[i]!;
    if (b >= 0x61 && b <= 0x7a) b -= 0x20;
    if (b !== upper[i]) return false;
  }
  return true;
}
