/**
 * Writes one run's folder, `<baseDir>/<workload>/<run-id>/`: manifest.json, samples.csv (a row per
 * sample, streamed as they come) and summary.json, or failure.json when the run stopped early; on
 * close, `<baseDir>/<workload>/latest` points at the run (a symlink, or a text file holding the run
 * folder's name where symlinks fail).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { writeFileAtomic } from '../../../engine/util/atomic-file';
import path from 'node:path';
import { csvHeaderField, csvLine, type CsvValue } from './csv';
import { FAILURE_FILE, type RunFailure } from './failure';

// The manifest's environment helpers live in environment.ts; re-exported for one import site.
export { gitCommit, gitDirty, machineInfo, packageVersions, type MachineInfo } from './environment';

/** A value in samples.csv. */
export type SampleValue = CsvValue;
/** One row of samples.csv. */
export type SampleRow = Record<string, SampleValue>;

export const MANIFEST_FILE = 'manifest.json';
export const SUMMARY_FILE = 'summary.json';
export const SAMPLES_FILE = 'samples.csv';
export const LATEST_NAME = 'latest';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkName(what: string, name: string): void {
  if (!SAFE_NAME.test(name)) throw new Error(`${what} '${name}' cannot name a folder: use letters, digits, '.', '_' and '-' (not first)`);
}

/** A run id: the UTC time to the second plus a random suffix, e.g. `2026-11-30T07-34-53Z-3f9a1c`. */
export function newRunId(date: Date = new Date()): string {
  const stamp = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** JSON with bigints as numbers (strings when unsafe) and a final newline; NaN/Infinity become null. */
function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString()) : v), 2)}\n`;
}


/** Writes the files of one run. Not safe for concurrent use from several processes. */
export class ResultsWriter {
  private samplesFd: number | undefined;
  private columns: string[] | undefined;
  private closed = false;
  /** Rows appended to samples.csv so far. */
  sampleCount = 0;

  private constructor(
    /** The run's folder. */
    readonly dir: string,
    readonly workload: string,
    readonly runId: string,
  ) {}

  /** The workload's folder, holding its runs and `latest`. */
  get workloadDir(): string {
    return path.dirname(this.dir);
  }

  /**
   * Creates `<baseDir>/<workload>/<runId>/` (a new run id when omitted). Fails if that folder
   * exists or a name is not a plain folder name.
   */
  static create(baseDir: string, workload: string, runId: string = newRunId()): ResultsWriter {
    checkName('workload', workload);
    checkName('run id', runId);
    if (runId === LATEST_NAME) throw new Error(`run id '${LATEST_NAME}' is reserved`);
    const workloadDir = path.resolve(baseDir, workload);
    mkdirSync(workloadDir, { recursive: true });
    const dir = path.join(workloadDir, runId);
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`run folder ${dir} already exists: pick another run id`);
      throw err;
    }
    return new ResultsWriter(dir, workload, runId);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`results writer for ${this.dir} is closed`);
  }

  /** Writes manifest.json (what ran: spec, overrides, commit, versions, machine). */
  writeManifest(manifest: unknown): void {
    this.checkOpen();
    writeFileAtomic(path.join(this.dir, MANIFEST_FILE), toJson(manifest), { durable: false });
  }

  /** Writes summary.json (may be called again to replace it). */
  writeSummary(summary: unknown): void {
    this.checkOpen();
    writeFileAtomic(path.join(this.dir, SUMMARY_FILE), toJson(summary), { durable: false });
  }

  /** Writes failure.json: why the run stopped before its end (see failure.ts); after close() too (closing may be what failed). */
  writeFailure(failure: RunFailure): void {
    writeFileAtomic(path.join(this.dir, FAILURE_FILE), toJson(failure), { durable: false });
  }

  /**
   * Appends one row to samples.csv, written through at once. The first row's keys are the header;
   * a later row with a key not in the header throws (nothing is written), a missing key is written
   * as null (an empty field).
   */
  appendSample(row: SampleRow): void {
    this.checkOpen();
    for (const [key, value] of Object.entries(row)) {
      if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new TypeError(`sample column '${key}' is ${value === undefined ? 'undefined' : typeof value}: a sample value must be a string, number, boolean or null`);
      }
    }
    let text = '';
    if (!this.columns) {
      this.columns = Object.keys(row);
      if (this.columns.length === 0) throw new Error('the first sample has no columns');
      text += `${this.columns.map(csvHeaderField).join(',')}\n`;
    } else {
      const extra = Object.keys(row).filter((k) => !this.columns!.includes(k));
      if (extra.length > 0) throw new Error(`sample has column(s) ${extra.map((k) => `'${k}'`).join(', ')} not in samples.csv's header (set by the first sample: ${this.columns.join(', ')})`);
    }
    text += `${csvLine(this.columns.map((c) => row[c] ?? null))}\n`;
    if (this.samplesFd === undefined) this.samplesFd = openSync(path.join(this.dir, SAMPLES_FILE), 'wx');
    writeSync(this.samplesFd, text);
    this.sampleCount++;
  }

  /**
   * Closes samples.csv and points `latest` at this run. Idempotent. Returns how `latest` was made.
   */
  close(): 'symlink' | 'file' | 'already-closed' {
    if (this.closed) return 'already-closed';
    this.closed = true;
    if (this.samplesFd !== undefined) closeSync(this.samplesFd);
    this.samplesFd = undefined;
    return pointLatest(this.workloadDir, this.runId);
  }
}

/** Atomically points `<workloadDir>/latest` at `runId`: a relative symlink, or a text file if symlinks fail. */
export function pointLatest(workloadDir: string, runId: string, allowSymlink = true): 'symlink' | 'file' {
  const latest = path.join(workloadDir, LATEST_NAME);
  const tmp = path.join(workloadDir, `.${LATEST_NAME}.${process.pid}.${randomBytes(3).toString('hex')}`);
  if (allowSymlink) {
    try {
      symlinkSync(runId, tmp, 'dir');
      renameSync(tmp, latest);
      return 'symlink';
    } catch {
      rmSync(tmp, { force: true });
    }
  }
  writeFileAtomic(latest, `${runId}\n`, { durable: false });
  return 'file';
}
