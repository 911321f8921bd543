/**
 * The results of one bench run: rows and notes as they are measured (each also printed as it comes),
 * and at the end the report: the results and goals tables printed and written to
 * `<out>/<timestamp>/results.{json,md}` with the config and the machine the run had.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gitCommit, gitDirty, machineInfo, packageVersions, REPO_ROOT } from '../workloads/driver/results/environment';
import type { BenchConfig } from './cli-config';
import { GROUPS, goalLabel, goalStatus, type NewRow, type ResultRow } from './goals';
import { fmtRate, fmtRatio, goalsTable, table } from './table';

/** Rows and notes as they are measured, each printed as it comes. */
export class Results {
  readonly rows: ResultRow[] = [];
  readonly notes: string[] = [];

  add(row: NewRow): void {
    const ratio = row.ratio !== undefined ? row.ratio : row.copbench !== null && row.baseline !== null && row.baseline > 0 ? row.copbench / row.baseline : null;
    const full: ResultRow = { ...row, ratio };
    this.rows.push(full);
    const goal = full.goal ? ` [goal ${goalLabel(full.goal)}: ${goalStatus(full)}]` : '';
    process.stdout.write(`  ${full.measurement}: ${fmtRate(full.copbench, full.unit)}${full.baseline !== null ? ` vs ${fmtRate(full.baseline, full.unit)} (${full.baselineName}) → ratio ${fmtRatio(full.ratio)}` : ''}${goal}\n`);
  }

  note(text: string): void {
    this.notes.push(text);
    process.stdout.write(`  note: ${text}\n`);
  }
}

/** What a finished run records beside its rows. */
export interface FinishedRun {
  startedAt: Date;
  durationSeconds: number;
  loadAvgAtStart: number[];
  loadAvgAtEnd: number[];
  cpuBusyBeforeRun: number;
  failure: unknown;
}

/** The machine and code a bench ran on: the workload runs' manifest fields, and the git state. */
function machine(): Record<string, unknown> {
  return { ...machineInfo(), versions: packageVersions(REPO_ROOT, ['lmdb']), gitCommit: gitCommit(REPO_ROOT), gitDirty: gitDirty(REPO_ROOT) };
}

/** Prints the tables and writes results.{json,md}; returns the rows in group order. */
export function report(cfg: BenchConfig, results: Results, run: FinishedRun): ResultRow[] {
  const { startedAt, durationSeconds, loadAvgAtStart, loadAvgAtEnd, cpuBusyBeforeRun, failure } = run;
  if (failure) results.note(`run failed: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}`);

  const rows = [...results.rows].sort((a, b) => GROUPS.indexOf(a.group) - GROUPS.indexOf(b.group));
  const { text, markdown } = table(rows);
  const goals = goalsTable(rows);
  process.stdout.write(`\n${text}\n\ngoals:\n${goals.text}\n`);
  if (results.notes.length > 0) process.stdout.write(`\nnotes:\n${results.notes.map((n) => `- ${n}`).join('\n')}\n`);

  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const outDir = path.join(cfg.outRoot, stamp);
  mkdirSync(outDir, { recursive: true });
  const { outRoot: _outRoot, ...config } = cfg;
  const summary = { startedAt: startedAt.toISOString(), durationSeconds, ok: failure === undefined, config, machine: { ...machine(), cpuBusyBeforeRun, loadAvgAtStart, loadAvgAtEnd }, rows, notes: results.notes };
  writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(
    path.join(outDir, 'results.md'),
    [
      `# copbench bench ${startedAt.toISOString()}${cfg.quick ? ' (quick)' : ''}`,
      '',
      `${os.cpus().length} cpus (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, ${durationSeconds.toFixed(0)} s; load average ${loadAvgAtStart.map((l) => l.toFixed(1)).join('/')} at start, ${loadAvgAtEnd.map((l) => l.toFixed(1)).join('/')} at end; other processes used ${(cpuBusyBeforeRun * 100).toFixed(0)}% of the cpus just before. Ratio = copbench / baseline (higher is better for copbench); medians of ${cfg.reps} alternating repetitions. Command: \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\`.`,
      '',
      '## Goals',
      '',
      goals.markdown,
      '',
      '## All measurements',
      '',
      markdown,
      '',
      ...(results.notes.length > 0 ? ['Notes:', '', ...results.notes.map((n) => `- ${n.replace(/\n/g, ' ')}`), ''] : []),
    ].join('\n'),
  );
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), outDir) || outDir}/results.{json,md} in ${durationSeconds.toFixed(1)} s\n`);
  return rows;
}
