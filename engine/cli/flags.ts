import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A small, strict command-line flag parser shared by every copbench command: typed flags with
 * defaults, `--help` text generated from the same table, and a clear error for unknown or bad flags.
 */

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean';
  help: string;
  default?: string | number | boolean;
  /** Placeholder shown in --help, e.g. `<dir>`. */
  value?: string;
}

export type FlagTable = Record<string, FlagSpec>;

type FlagValue<S extends FlagSpec> = S['type'] extends 'number' ? number : S['type'] extends 'boolean' ? boolean : string;

export type ParsedFlags<T extends FlagTable> = { [K in keyof T]: T[K]['default'] extends undefined ? FlagValue<T[K]> | undefined : FlagValue<T[K]> } & {
  _: string[];
  help: boolean;
};

export class UsageError extends Error {}

/** Parses `--name value`, `--name=value` and boolean `--name`; positional arguments go to `_`. */
export function parseFlags<T extends FlagTable>(argv: string[], table: T): ParsedFlags<T> {
  const out: Record<string, unknown> = { _: [], help: false };
  for (const [name, spec] of Object.entries(table)) if (spec.default !== undefined) out[name] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      (out._ as string[]).push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!spec) throw new UsageError(`unknown option --${name}`);
    let raw: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (spec.type === 'boolean') {
      out[name] = raw === undefined ? true : raw !== 'false' && raw !== '0';
      continue;
    }
    if (raw === undefined) {
      raw = argv[++i];
      if (raw === undefined) throw new UsageError(`option --${name} needs a value`);
    }
    if (spec.type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`option --${name} needs a number, got '${raw}'`);
      out[name] = n;
    } else {
      out[name] = raw;
    }
  }
  return out as ParsedFlags<T>;
}

/** Help text: usage line, description, then one aligned line per flag. */
export function formatHelp(usage: string, description: string, table: FlagTable): string {
  const rows = Object.entries(table).map(([name, spec]) => {
    const left = `  --${name}${spec.type === 'boolean' ? '' : ` ${spec.value ?? `<${spec.type}>`}`}`;
    const def = spec.default !== undefined && spec.default !== false ? ` (default: ${spec.default})` : '';
    return [left, `${spec.help}${def}`] as const;
  });
  rows.push(['  --help', 'show this help'], ['  --version', "print copbench's version"]);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return `Usage: ${usage}\n\n${description}\n\nOptions:\n${rows.map(([l, r]) => l.padEnd(width) + r).join('\n')}\n`;
}

/** copbench's version (package.json). */
export function copbenchVersion(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Runs a CLI main. `--version` anywhere prints the version and exits 0; usage errors print the
 * message and the command's help text on stderr and exit 2; other errors exit 1.
 */
export function runCli(main: () => Promise<void>, help: () => string): void {
  if (process.argv.slice(2).includes('--version')) {
    process.stdout.write(`copbench ${copbenchVersion()}\n`);
    return;
  }
  main().catch((err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${help()}`);
      process.exit(2);
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

/** What a command is: its usage line, what it does, its flags, and whether it takes positional arguments. */
export interface CommandSpec<T extends FlagTable> {
  usage: string;
  description: string;
  flags: T;
  /** Default false: a positional argument is a usage error. */
  positional?: boolean;
}

/**
 * Runs a command the way every copbench CLI behaves (see runCli): parses its flags, prints its
 * help on `--help`, refuses unexpected positional arguments, then runs `main` with the flags.
 * The workload and plugin CLIs, with their overrides and subcommands, call runCli themselves.
 */
export function runCommand<T extends FlagTable>(command: CommandSpec<T>, main: (flags: ParsedFlags<T>) => Promise<void>): void {
  const help = (): string => formatHelp(command.usage, command.description, command.flags);
  runCli(async () => {
    const flags = parseFlags(process.argv.slice(2), command.flags);
    if (flags.help) {
      process.stdout.write(help());
      return;
    }
    if (!command.positional && flags._.length > 0) throw new UsageError(`unexpected argument '${flags._[0]}'`);
    await main(flags);
  }, help);
}
