/**
 * Reads runs back (for reports and notebooks): a run folder's manifest, summary and samples, and
 * the list of runs under a results folder.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { cellValue, parseCsv } from './csv';
import { LATEST_NAME, MANIFEST_FILE, SAMPLES_FILE, SUMMARY_FILE, type SampleRow } from './writer';
import { FAILURE_FILE, type RunFailure } from './failure';

/** Why a run could not be read. */
export type RunReadErrorCode = 'NOT_A_RUN' | 'BAD_FILE';

/** A folder that is not a run (NOT_A_RUN) or a run file that does not parse (BAD_FILE). */
export class RunReadError extends Error {
  constructor(
    readonly code: RunReadErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RunReadError';
  }
}

/** One run, loaded. */
export interface RunData {
  /** The run folder (absolute, `latest` resolved). */
  dir: string;
  runId: string;
  /** The name of the folder holding the run. */
  workload: string;
  manifest: Record<string, unknown>;
  /** null when the run wrote no summary (e.g. it failed). */
  summary: Record<string, unknown> | null;
  /** Why the run stopped before its end (failure.json); null when it did not. */
  failure: RunFailure | null;
  /** samples.csv's header; empty when the run wrote no samples. */
  columns: string[];
  samples: SampleRow[];
}

function readJson(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RunReadError('BAD_FILE', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RunReadError('BAD_FILE', `${file} does not hold a JSON object`);
  return value as Record<string, unknown>;
}

function readSamples(file: string): { columns: string[]; samples: SampleRow[] } {
  if (!existsSync(file)) return { columns: [], samples: [] };
  let rows;
  try {
    rows = parseCsv(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RunReadError('BAD_FILE', `${file}: ${(err as Error).message}`);
  }
  const [header, ...body] = rows;
  if (!header) return { columns: [], samples: [] };
  const columns = header.map((c) => c.text);
  const samples = body.map((cells, i) => {
    if (cells.length !== columns.length) throw new RunReadError('BAD_FILE', `${file}: row ${i + 1} has ${cells.length} fields, the header has ${columns.length}`);
    const row: SampleRow = {};
    columns.forEach((name, c) => (row[name] = cellValue(cells[c]!)));
    return row;
  });
  return { columns, samples };
}

/** failure.json, checked for what a report shows of it; null when the run has none. */
function readFailure(file: string): RunFailure | null {
  if (!existsSync(file)) return null;
  const f = readJson(file);
  const error = f.error as Record<string, unknown> | undefined;
  if (typeof f.phase !== 'string' || typeof error?.message !== 'string' || typeof f.samplesKept !== 'number') throw new RunReadError('BAD_FILE', `${file}: expected phase, error.message and samplesKept (was it written by this version of the workload driver?)`);
  return f as unknown as RunFailure;
}

/** Resolves `latest` written as a text file (where symlinks failed) to the run folder it names. */
function resolveRunDir(dir: string): string {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) throw new RunReadError('NOT_A_RUN', `${abs} does not exist (expected a run folder: results/<workload>/<run-id>/)`);
  if (statSync(abs).isFile() && path.basename(abs) === LATEST_NAME) {
    const name = readFileSync(abs, 'utf8').trim();
    if (!name || name.includes('/') || name.includes('\\')) throw new RunReadError('NOT_A_RUN', `${abs} does not name a run folder`);
    return path.join(path.dirname(abs), name);
  }
  return abs;
}

/**
 * Loads a run folder (or a workload's `latest`): manifest.json (required), summary.json, failure.json
 * and samples.csv (optional), with sample values typed back (see csv.ts).
 */
export function readRun(dir: string): RunData {
  const runDir = resolveRunDir(dir);
  if (!statSync(runDir, { throwIfNoEntry: false })?.isDirectory()) throw new RunReadError('NOT_A_RUN', `${runDir} is not a folder (expected a run folder: results/<workload>/<run-id>/)`);
  const manifestFile = path.join(runDir, MANIFEST_FILE);
  if (!existsSync(manifestFile)) {
    throw new RunReadError('NOT_A_RUN', `${runDir} is not a copbench run: it has no ${MANIFEST_FILE} (a run folder is results/<workload>/<run-id>/, as written by the workload driver)`);
  }
  const summaryFile = path.join(runDir, SUMMARY_FILE);
  const { columns, samples } = readSamples(path.join(runDir, SAMPLES_FILE));
  const real = realpathSync(runDir);
  return {
    dir: real,
    runId: path.basename(real),
    workload: path.basename(path.dirname(real)),
    manifest: readJson(manifestFile),
    summary: existsSync(summaryFile) ? readJson(summaryFile) : null,
    failure: readFailure(path.join(runDir, FAILURE_FILE)),
    columns,
    samples,
  };
}

/** A run found by listRuns. */
export interface RunEntry {
  workload: string;
  runId: string;
  dir: string;
  /** Whether summary.json exists (the run got as far as its summary). */
  complete: boolean;
}

/** Every run folder (one holding a manifest.json) under `<baseDir>/<workload>/`, oldest first per workload. */
export function listRuns(baseDir: string): RunEntry[] {
  const runs: RunEntry[] = [];
  if (!existsSync(baseDir)) return runs;
  for (const workload of readdirSync(baseDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    const workloadDir = path.join(baseDir, workload);
    for (const entry of readdirSync(workloadDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === LATEST_NAME) continue;
      const dir = path.join(workloadDir, entry.name);
      if (existsSync(path.join(dir, MANIFEST_FILE))) runs.push({ workload, runId: entry.name, dir, complete: existsSync(path.join(dir, SUMMARY_FILE)) });
    }
  }
  return runs.sort((a, b) => (a.workload === b.workload ? a.runId.localeCompare(b.runId) : a.workload.localeCompare(b.workload)));
}
