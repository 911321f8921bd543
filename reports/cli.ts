/**
 * `npm run report [-- run-dir ...] [--out dir] [--no-png]`: regenerates report.html (and the
 * charts) from a run folder's files alone, no cluster needed. With no run folder: the `latest` run
 * of every workload under the results folder, then results/index.html.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { formatHelp, parseFlags, runCli, UsageError } from '../engine/cli/flags';
import { RunReadError } from '../workloads/driver/results/reader';
import { LATEST_NAME } from '../workloads/driver/results/writer';
import { writeResultsIndex, writeRunReport } from './write';

const REPO_ROOT = path.resolve(__dirname, '..');

const FLAGS = {
  out: { type: 'string', help: 'the results folder (its index.html is rewritten)', default: path.join(REPO_ROOT, 'results'), value: '<dir>' },
  'no-png': { type: 'boolean', help: 'skip the PNG files (SVG, .vl.json and report.html only)' },
} as const;

const USAGE = 'npm run report [-- <run-dir> ...] [--out dir] [--no-png]';
const DESCRIPTION = [
  'Writes report.html and charts/<chart>.{svg,png,vl.json} into a run folder (results/<workload>/<run-id>/),',
  'from its manifest.json, summary.json and samples.csv. With no run folder: every results/<workload>/latest.',
  'Then rewrites <results>/index.html, the list of every run, when the runs are under --results.',
  'Open report.html from disk; open a chart in the Vega editor by pasting its .vl.json.',
].join('\n');

function latestRuns(resultsDir: string): string[] {
  if (!existsSync(resultsDir)) throw new UsageError(`${resultsDir} does not exist: run a workload first (npm run workload filter) or pass --results`);
  return readdirSync(resultsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(resultsDir, e.name, LATEST_NAME)))
    .map((e) => path.join(resultsDir, e.name, LATEST_NAME))
    .sort();
}

const isInside = (dir: string, root: string): boolean => !path.relative(root, dir).startsWith('..');

runCli(async () => {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  if (flags.help) {
    process.stdout.write(formatHelp(USAGE, DESCRIPTION, FLAGS));
    return;
  }
  const resultsDir = path.resolve(flags.out);
  const targets = flags._.length ? flags._.map((d) => path.resolve(d)) : latestRuns(resultsDir);
  if (targets.length === 0) process.stderr.write(`no runs under ${resultsDir} (none has a latest): writing the index only\n`);
  let warnings = 0;
  for (const dir of targets) {
    let report;
    try {
      report = await writeRunReport(dir, { png: !flags['no-png'] });
    } catch (err) {
      // A folder that is not a run is the user's mistake: say what a run folder is (exit 2).
      if (err instanceof RunReadError && err.code === 'NOT_A_RUN') throw new UsageError(err.message);
      throw err;
    }
    for (const c of report.charts) for (const w of c.warnings) {
      warnings++;
      process.stderr.write(`warning: ${report.run.data.workload} chart ${c.id}: ${w}\n`);
    }
    process.stdout.write(`${report.reportFile} (${report.charts.length} charts: ${report.charts.map((c) => c.id).join(', ') || 'none'})\n`);
  }
  if (targets.length === 0 || targets.some((t) => isInside(t, resultsDir))) process.stdout.write(`${writeResultsIndex(resultsDir)}\n`);
  if (warnings) process.stderr.write(`${warnings} chart warning(s) above\n`);
}, () => formatHelp(USAGE, DESCRIPTION, FLAGS));
