/**
 * failure.json: why a run stopped before its end. The console's `error:` line is gone once the
 * terminal is; this record stays in the run folder, so report.html and the results index can say
 * what failed and what to do (the error's own message says that: errors here are written to be
 * acted on), and how many samples of the finished calls samples.csv kept.
 */

export const FAILURE_FILE = 'failure.json';

/** The step of the run that failed (the driver's phases). */
export type RunPhase = 'opening the backend' | 'loading the dataset' | 'measuring';

export interface RunFailure {
  phase: RunPhase;
  error: {
    /** The error's class, e.g. BusyThresholdError, ClientError. */
    name: string;
    /** Its code, when it has one (ClientError, RedisClusterError…). */
    code: string | null;
    message: string;
  };
  /** Rows samples.csv holds: calls measured before the failure, kept. */
  samplesKept: number;
  failedAt: string;
}

/** The record of `err` thrown during `phase`. */
export function runFailure(err: unknown, phase: RunPhase, samplesKept: number, now: Date = new Date()): RunFailure {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { phase, error: { name: e.name, code: typeof code === 'string' ? code : null, message: e.message }, samplesKept, failedAt: now.toISOString() };
}

/** One sentence for a reader: what failed, while doing what, and what the folder kept. */
export function failureText(f: RunFailure): string {
  const kept = f.samplesKept > 0 ? `samples.csv keeps the ${f.samplesKept} samples measured before it.` : 'No call was measured before it.';
  return `The run failed while ${f.phase}: ${f.error.message.replace(/\.$/, '')}. ${kept}`;
}
