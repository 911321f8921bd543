/**
 * parseFlags / formatHelp: typed flags with defaults, both `--x v` and `--x=v` forms, booleans,
 * validated numbers, positional arguments, --help, and help text generated from the same table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, formatHelp, parseFlags, type FlagTable } from './flags';

const TABLE = {
  dir: { type: 'string', help: 'data directory', default: './data', value: '<dir>' },
  nodes: { type: 'number', help: 'number of nodes', default: 3 },
  port: { type: 'number', help: 'first port' },
  verbose: { type: 'boolean', help: 'log every request', default: false },
  fsync: { type: 'boolean', help: 'flush on commit', default: true },
  name: { type: 'string', help: 'cluster name' },
} satisfies FlagTable;

test('defaults are applied and flags without defaults are undefined', () => {
  const f = parseFlags([], TABLE);
  assert.equal(f.dir, './data');
  assert.equal(f.nodes, 3);
  assert.equal(f.verbose, false);
  assert.equal(f.fsync, true);
  assert.equal(f.port, undefined);
  assert.equal(f.name, undefined);
  assert.deepEqual(f._, []);
  assert.equal(f.help, false);
  assert.equal('port' in f, false);
});

test('--name value sets a string flag', () => {
  const f = parseFlags(['--dir', '/tmp/x', '--name', 'alpha'], TABLE);
  assert.equal(f.dir, '/tmp/x');
  assert.equal(f.name, 'alpha');
});

test('--name=value sets a flag, keeping any further = in the value', () => {
  const f = parseFlags(['--dir=/tmp/a=b', '--nodes=5', '--name='], TABLE);
  assert.equal(f.dir, '/tmp/a=b');
  assert.equal(f.nodes, 5);
  assert.equal(f.name, '');
});

test('a value that looks like a flag is taken as the value of the preceding option', () => {
  const f = parseFlags(['--name', '--verbose'], TABLE);
  assert.equal(f.name, '--verbose');
  assert.equal(f.verbose, false);
});

test('the last occurrence of a flag wins', () => {
  assert.equal(parseFlags(['--nodes', '2', '--nodes=7'], TABLE).nodes, 7);
});

test('a bare boolean flag is true and does not consume the next argument', () => {
  const f = parseFlags(['--verbose', 'positional'], TABLE);
  assert.equal(f.verbose, true);
  assert.deepEqual(f._, ['positional']);
});

test('a boolean flag with =false or =0 is false, any other value is true', () => {
  assert.equal(parseFlags(['--fsync=false'], TABLE).fsync, false);
  assert.equal(parseFlags(['--fsync=0'], TABLE).fsync, false);
  assert.equal(parseFlags(['--verbose=true'], TABLE).verbose, true);
  assert.equal(parseFlags(['--verbose=1'], TABLE).verbose, true);
});

test('number flags parse integers, decimals, negatives and exponents', () => {
  assert.equal(parseFlags(['--nodes', '12'], TABLE).nodes, 12);
  assert.equal(parseFlags(['--nodes=0.5'], TABLE).nodes, 0.5);
  assert.equal(parseFlags(['--port', '-1'], TABLE).port, -1);
  assert.equal(parseFlags(['--port=1e3'], TABLE).port, 1000);
  assert.equal(typeof parseFlags(['--nodes', '4'], TABLE).nodes, 'number');
});

test('an invalid number throws a UsageError naming the option and the value', () => {
  for (const bad of ['abc', '', ' ', '12x', 'NaN', 'Infinity']) {
    assert.throws(
      () => parseFlags([`--nodes=${bad}`], TABLE),
      (err: unknown) => err instanceof UsageError && err.message.includes('--nodes') && err.message.includes(`'${bad}'`),
      `value ${JSON.stringify(bad)}`,
    );
  }
  assert.throws(() => parseFlags(['--port', 'eighty'], TABLE), (err: unknown) => err instanceof UsageError && /--port needs a number, got 'eighty'/.test(err.message));
});

test('an option missing its value throws a UsageError naming the option', () => {
  assert.throws(() => parseFlags(['--dir'], TABLE), (err: unknown) => err instanceof UsageError && /--dir needs a value/.test(err.message));
  assert.throws(() => parseFlags(['x', '--nodes'], TABLE), (err: unknown) => err instanceof UsageError && /--nodes needs a value/.test(err.message));
});

test('an unknown option throws a UsageError naming it', () => {
  assert.throws(() => parseFlags(['--bogus'], TABLE), (err: unknown) => err instanceof UsageError && err.message === 'unknown option --bogus');
  assert.throws(() => parseFlags(['--bogus=1'], TABLE), (err: unknown) => err instanceof UsageError && err.message === 'unknown option --bogus');
  // Inherited object properties are not flags.
  for (const arg of ['--constructor', '--toString=x', '--hasOwnProperty', '--__proto__=x']) {
    const name = arg.slice(2).split('=')[0]!;
    assert.throws(() => parseFlags([arg], TABLE), (err: unknown) => err instanceof UsageError && err.message === `unknown option --${name}`, arg);
  }
});

test('positional arguments are collected in order, wherever they appear', () => {
  const f = parseFlags(['start', '--nodes', '2', 'extra', '-x', '--verbose', 'last'], TABLE);
  assert.deepEqual(f._, ['start', 'extra', '-x', 'last']);
  assert.equal(f.nodes, 2);
  assert.equal(f.verbose, true);
});

test('--help and -h set help without stopping other parsing', () => {
  assert.equal(parseFlags(['--help'], TABLE).help, true);
  assert.equal(parseFlags(['-h'], TABLE).help, true);
  const f = parseFlags(['--nodes', '9', '--help', 'pos'], TABLE);
  assert.equal(f.help, true);
  assert.equal(f.nodes, 9);
  assert.deepEqual(f._, ['pos']);
});

test('formatHelp lists usage, description, every flag with its placeholder, and defaults', () => {
  const text = formatHelp('copbench cluster [options]', 'Runs a local cluster.', TABLE);
  const lines = text.split('\n');
  assert.equal(lines[0], 'Usage: copbench cluster [options]');
  assert.ok(text.includes('\n\nRuns a local cluster.\n\nOptions:\n'));
  assert.ok(text.endsWith('\n'));
  const line = (flag: string): string => {
    const found = lines.find((l) => l.trimStart().startsWith(`--${flag} `) || l.trim() === `--${flag}` || l.trimStart().startsWith(`--${flag}  `));
    assert.ok(found, `no help line for --${flag}`);
    return found;
  };
  for (const [name, spec] of Object.entries(TABLE)) assert.ok(line(name).includes(spec.help), `help text of --${name}`);
  assert.match(line('dir'), /--dir <dir>\s+data directory \(default: \.\/data\)$/);
  assert.match(line('nodes'), /--nodes <number>\s+number of nodes \(default: 3\)$/);
  assert.match(line('port'), /--port <number>\s+first port$/);
  assert.match(line('name'), /--name <string>\s+cluster name$/);
  // Booleans take no placeholder; a false default is not shown, a true one is.
  assert.match(line('verbose'), /--verbose\s+log every request$/);
  assert.match(line('fsync'), /--fsync\s+flush on commit \(default: true\)$/);
  assert.match(line('help'), /--help\s+show this help$/);
});

test('formatHelp aligns the descriptions in one column', () => {
  const text = formatHelp('u', 'd', TABLE);
  const optionLines = text.split('Options:\n')[1]!.trimEnd().split('\n');
  assert.equal(optionLines.length, Object.keys(TABLE).length + 2);
  const helps = [...Object.values(TABLE).map((spec) => spec.help), 'show this help', "print copbench's version"];
  const columns = optionLines.map((l, i) => l.indexOf(helps[i]!));
  assert.ok(columns.every((c) => c > 0));
  assert.equal(new Set(columns).size, 1, `descriptions start at different columns:\n${optionLines.join('\n')}`);
  // At least two spaces separate the longest flag from its description.
  assert.ok(optionLines.every((l, i) => /\S {2,}$/.test(l.slice(0, columns[i]))));
});
