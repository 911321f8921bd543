/**
 * `npm run torture`: runs the reliability and security scenarios against local clusters it starts
 * on 127.0.0.1, prints one table of figures and writes them to results/torture/<run-id>/figures.json.
 * Exits 1 when any figure fails.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCommand, UsageError } from '../engine/cli/flags';
import { formatTable } from '../workloads/driver/results/table';
import { ResultsWriter, gitCommit, gitDirty, machineInfo } from '../workloads/driver/results/writer';
import { REPO_ROOT } from '../workloads/driver/results/environment';
import { SCENARIOS, pickScenarios, runScenario } from './suite';
import type { Figure, ScenarioReport, SizeName } from './types';

const FLAGS = {
  size: { type: 'string', help: "'full' (a few minutes) or 'small' (what the tests run)", default: 'full', value: '<size>' },
  only: { type: 'string', help: `comma-separated scenarios to run (${SCENARIOS.map((s) => s.name).join(', ')})`, value: '<names>' },
  seed: { type: 'number', help: 'seed of every random choice (kills, frames, splits, operations)', default: 1, value: '<n>' },
  out: { type: 'string', help: 'where results/torture/<run-id>/ goes', default: path.join(REPO_ROOT, 'results'), value: '<dir>' },
  quiet: { type: 'boolean', help: 'no progress lines on stderr' },
} as const;

const USAGE = 'npm run torture -- [--size full|small] [--only crash,fuzz] [--seed n]';
const DESCRIPTION = [
  'Runs the reliability and security suite on local clusters (127.0.0.1 only), bounded in time:',
  ...SCENARIOS.map((s) => `  ${s.name.padEnd(10)} ${s.title}`),
  'Prints every figure (value, N, expectation, pass/fail) and writes results/torture/<run-id>/figures.json.',
  'Exit code 1 when any figure fails.',
].join('\n');

/** The figures as a console table. */
export function figuresTable(figures: ReadonlyArray<Figure>): string {
  return formatTable(
    figures.map((f) => ({ ...f, result: f.pass ? 'pass' : 'FAIL', shown: typeof f.value === 'number' ? `${formatValue(f.value)}${f.unit === 'count' || f.unit === 'of N' ? '' : ` ${f.unit}`}` : f.value })),
    [
      { key: 'scenario' },
      { key: 'name', label: 'figure' },
      { key: 'shown', label: 'value', align: 'right' },
      { key: 'n', label: 'N' },
      { key: 'expect' },
      { key: 'result' },
      { key: 'detail', format: (v) => clip(String(v), 140) },
    ],
  );
}

/** Long details are cut in the table (figures.json keeps them whole). */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(1);
}

runCommand({ usage: USAGE, description: DESCRIPTION, flags: FLAGS }, async (flags) => {
  if (flags.size !== 'full' && flags.size !== 'small') throw new UsageError(`--size must be 'full' or 'small', got '${flags.size}'`);
  const size: SizeName = flags.size;
  let scenarios;
  try {
    scenarios = pickScenarios(flags.only?.split(',').map((s) => s.trim()).filter(Boolean));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const log = flags.quiet ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
  const startedAt = new Date();
  const reports: ScenarioReport[] = [];
  for (const scenario of scenarios) {
    log(`== ${scenario.name}: ${scenario.title} (${size})`);
    const report = await runScenario(scenario, size, flags.seed, log);
    if (report.error) log(`${scenario.name} failed: ${report.error}`);
    log(`== ${scenario.name}: ${report.figures.every((f) => f.pass) ? 'pass' : 'FAIL'} in ${(report.durationMs / 1000).toFixed(1)} s`);
    reports.push(report);
  }
  const figures = reports.flatMap((r) => r.figures);
  const pass = figures.every((f) => f.pass);
  const writer = ResultsWriter.create(flags.out, 'torture');
  const out = {
    runId: writer.runId,
    command: `npm run torture -- --size ${size} --seed ${flags.seed}${flags.only ? ` --only ${flags.only}` : ''}`,
    size,
    seed: flags.seed,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    gitCommit: gitCommit(),
    gitDirty: gitDirty(),
    machine: machineInfo(),
    pass,
    scenarios: reports,
  };
  writeFileSync(path.join(writer.dir, 'figures.json'), `${JSON.stringify(out, null, 2)}\n`);
  writer.close();
  process.stdout.write(`${figuresTable(figures)}\n\n${pass ? 'all figures pass' : `${figures.filter((f) => !f.pass).length} figure(s) FAIL`} (${(out.durationMs / 1000).toFixed(0)} s); ${path.relative(process.cwd(), path.join(writer.dir, 'figures.json'))}\n`);
  if (!pass) process.exitCode = 1;
});
