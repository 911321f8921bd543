/** The bench's command line: its flags, help text, and the config they give (`npm run bench -- --help`). */
import path from 'node:path';
import { formatHelp, parseFlags, UsageError } from '../engine/cli/flags';
import { REPO_ROOT } from '../workloads/driver/results/environment';
import { GROUPS, type Group } from './goals';

const FLAGS = {
  quick: { type: 'boolean', help: 'short run (~15-30 s) with fewer rows and shorter timings (CI smoke)' },
  concurrency: { type: 'number', help: 'point operations in flight', default: 64, value: '<n>' },
  seconds: { type: 'number', help: 'seconds per point-operation measurement (default 3, quick 1)', value: '<s>' },
  reps: { type: 'number', help: 'repetitions of each cluster/baseline pair; the median is reported (default 3, quick 1)', value: '<n>' },
  rows: { type: 'number', help: 'rows loaded for the scan benchmark (default 200000, quick 50000)', value: '<n>' },
  'redis-requests': { type: 'number', help: 'redis-benchmark -n (default 50000, quick 5000)', value: '<n>' },
  'no-redis-benchmark': { type: 'boolean', help: 'skip the redis-benchmark step' },
  'copr-rows': { type: 'number', help: 'rows of the coprocessor filter dataset (default 300000, quick 60000)', value: '<n>' },
  only: { type: 'string', help: `run only these groups, comma-separated (${GROUPS.join(',')})`, value: '<groups>' },
  'memory-mb': { type: 'number', help: 'size of the memory-bound fetch dataset in MiB (default 1024, quick 128)', value: '<MiB>' },
  out: { type: 'string', help: 'directory that receives <timestamp>/results.{json,md}', default: 'results/bench', value: '<dir>' },
  strict: { type: 'boolean', help: 'exit 1 when a goal is missed (goals are reported either way)' },
} as const;

const USAGE = 'npm run bench -- [--quick] [--strict] [options]';
export const help = (): string => formatHelp(USAGE, 'Measures copbench against raw lmdb (and redis-benchmark) side by side and writes results/bench/<timestamp>/.', FLAGS);

export interface BenchConfig {
  quick: boolean;
  concurrency: number;
  pointSeconds: number;
  warmupSeconds: number;
  reps: number;
  pointKeys: number;
  scanRows: number;
  keyBytes: number;
  valueBytes: number;
  loadChunkRows: number;
  tinybenchTimeMs: number;
  redisRequests: number;
  redisClients: number;
  runRedisBenchmark: boolean;
  coprRows: number | undefined;
  memoryMb: number;
  /** Groups to run (all unless --only). */
  only: Group[];
  outRoot: string;
  /** Exit 1 when a goal is missed. */
  strict: boolean;
}

/** The config `argv` asks for; undefined after printing the help (--help). Throws UsageError on bad flags. */
export function configFrom(argv: string[]): BenchConfig | undefined {
  const flags = parseFlags(argv, FLAGS);
  if (flags.help) {
    process.stdout.write(help());
    return undefined;
  }
  if (flags._.length > 0) throw new UsageError(`unexpected argument '${flags._[0]}'`);
  const quick = flags.quick === true;
  const only = flags.only === undefined ? [...GROUPS] : flags.only.split(',').map((g) => g.trim()).filter((g) => g.length > 0);
  for (const g of only) if (!(GROUPS as readonly string[]).includes(g)) throw new UsageError(`--only: unknown group '${g}' (groups: ${GROUPS.join(', ')})`);
  const positive = (name: string, v: number | undefined, fallback: number): number => {
    const value = v ?? fallback;
    if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a positive number, got ${value}`);
    return value;
  };
  return {
    quick,
    concurrency: Math.round(positive('concurrency', flags.concurrency, 64)),
    pointSeconds: positive('seconds', flags.seconds, quick ? 1 : 3),
    warmupSeconds: quick ? 0.3 : 0.7,
    reps: Math.round(positive('reps', flags.reps, quick ? 1 : 3)),
    pointKeys: 10_000,
    scanRows: Math.round(positive('rows', flags.rows, quick ? 50_000 : 200_000)),
    keyBytes: 16,
    valueBytes: 100,
    loadChunkRows: 5_000,
    tinybenchTimeMs: quick ? 250 : 1_000,
    redisRequests: Math.round(positive('redis-requests', flags['redis-requests'], quick ? 5_000 : 50_000)),
    redisClients: 50,
    runRedisBenchmark: flags['no-redis-benchmark'] !== true,
    memoryMb: Math.round(positive('memory-mb', flags['memory-mb'], quick ? 128 : 1024)),
    coprRows: flags['copr-rows'] === undefined ? undefined : Math.round(positive('copr-rows', flags['copr-rows'], 1)),
    only: only as Group[],
    outRoot: path.resolve(REPO_ROOT, flags.out),
    strict: flags.strict === true,
  };
}
