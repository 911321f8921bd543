/**
 * `npm run report [-- run-dir ...] [--out dir] [--no-png]`: regenerates report.html (and the
 * charts) from a run folder's files alone, no cluster needed. With no run folder: the `latest` run
 * of every workload under the results folder, then results/index.html. With `--compare`: the run
 * folders drawn together on one page (compare.ts) instead.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runCommand, UsageError } from '../engine/cli/flags';
import { RunReadError } from '../workloads/driver/results/reader';
import { LATEST_NAME } from '../workloads/driver/results/writer';
import { writeResultsIndex, writeRunReport } from './write';
import { COMPARE_DIR, COMPARE_FILE, CompareError, writeComparison } from './compare';

const REPO_ROOT = path.resolve(__dirname, '..');

const FLAGS = {
  out: { type: 'string', help: 'the results folder (its index.html is rewritten)', default: path.join(REPO_ROOT, 'results'), value: '<dir>' },
  'no-png': { type: 'boolean', help: 'skip the PNG files (SVG, .vl.json and report.html only)' },
  compare: { type: 'boolean', help: `draw the run folders given (at least 2, one workload family) on the same charts, each labelled by what differs: writes ${COMPARE_FILE} and charts/ into --compare-out` },
  'compare-out': { type: 'string', help: `the comparison's folder (default: <out>/${COMPARE_DIR}/<workload>-<hash of the runs>/, replaced when the same runs are compared again)`, value: '<dir>' },
} as const;

const USAGE = 'npm run report [-- <run-dir> ...] [--out dir] [--no-png]\n       npm run report -- --compare <run-dir> <run-dir> ... [--out dir | --compare-out dir] [--no-png]';
const DESCRIPTION = [
  'Writes report.html and charts/<chart>.{svg,png,vl.json} into a run folder (results/<workload>/<run-id>/),',
  'from its manifest.json, summary.json and samples.csv. With no run folder: every results/<workload>/latest.',
  'Then rewrites <results>/index.html, the list of every run, when the runs are under --results.',
  'Open report.html from disk; open a chart in the Vega editor by pasting its .vl.json.',
  'With --compare: several runs of one family (copbench against another backend, before and after a change, loopback',
  'against netns links) on the same charts, labelled by backend, else by the manifest fields that differ, else run id;',
  'prints the path of compare.html. Run reports and the index are left as they are.',
].join('\n');

function latestRuns(resultsDir: string): string[] {
  if (!existsSync(resultsDir)) throw new UsageError(`${resultsDir} does not exist: run a workload first (npm run workload filter) or pass --results`);
  return readdirSync(resultsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(resultsDir, e.name, LATEST_NAME)))
    .map((e) => path.join(resultsDir, e.name, LATEST_NAME))
    .sort();
}

const isInside = (dir: string, root: string): boolean => !path.relative(root, dir).startsWith('..');

/** `--compare`: one comparison page for the runs; a comparison that cannot be made is a usage error (exit 2). */
async function compare(dirs: string[], options: { resultsDir: string; outDir: string | undefined; png: boolean }): Promise<void> {
  let report;
  try {
    report = await writeComparison(dirs, { resultsDir: options.resultsDir, png: options.png, ...(options.outDir ? { outDir: path.resolve(options.outDir) } : {}) });
  } catch (err) {
    if (err instanceof CompareError) throw new UsageError(err.message);
    throw err;
  }
  const warnings = report.charts.flatMap((c) => c.warnings.map((w) => `warning: comparison chart ${c.id}: ${w}\n`));
  warnings.forEach((w) => process.stderr.write(w));
  const { labels } = report.comparison.labels;
  process.stdout.write(`${report.file} (${report.comparison.runs.length} runs: ${labels.join(' vs ')}; ${report.charts.length} charts: ${report.charts.map((c) => c.id).join(', ') || 'none'})\n`);
  if (warnings.length) process.stderr.write(`${warnings.length} chart warning(s) above\n`);
}

runCommand({ usage: USAGE, description: DESCRIPTION, flags: FLAGS, positional: true }, async (flags) => {
  const resultsDir = path.resolve(flags.out);
  if (flags['compare-out'] !== undefined && !flags.compare) throw new UsageError('--compare-out is the folder of a comparison: add --compare');
  if (flags.compare) {
    await compare(flags._.map((d) => path.resolve(d)), { resultsDir, outDir: flags['compare-out'], png: !flags['no-png'] });
    return;
  }
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
});
