/**
 * Progress of a long phase (load, measure). On a terminal: one line redrawn in place (bar, count,
 * %, rate, ETA), at most ~10 times a second. Elsewhere (CI logs, pipes): a plain line at most every
 * ~2 s or at each further 10%, so logs stay short.
 */

import { performance } from 'node:perf_hooks';

/** Where progress goes: a writable stream, a TTY or not. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Force TTY (redrawn line) or log-line output; default: the stream's isTTY. */
  tty?: boolean;
  /** Clock in milliseconds (for tests); default performance.now. */
  now?: () => number;
}

/** Minimum milliseconds between redraws on a terminal. */
const TTY_REDRAW_MS = 100;
/** Minimum milliseconds between log lines when not on a terminal (unless a new 10% is reached). */
const LOG_EVERY_MS = 2000;

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Counts work done out of `total` (0 or less: unknown total, no % or ETA) and shows it. */
export class Progress {
  private count = 0;
  private readonly startMs: number;
  private lastDrawMs: number;
  private lastDecile = 0;
  private finished = false;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;

  constructor(
    readonly label: string,
    readonly total: number,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.now = options.now ?? (() => performance.now());
    this.startMs = this.now();
    // A terminal line shows at the first tick; a log line only after 2 s or 10%.
    this.lastDrawMs = this.tty ? -Infinity : this.startMs;
  }

  /** Adds `n` (default 1) to the count. */
  tick(n = 1): void {
    this.update(this.count + n);
  }

  /** Sets the count (e.g. rows loaded so far). */
  update(count: number): void {
    if (this.finished) return;
    this.count = count;
    const now = this.now();
    if (this.tty) {
      if (now - this.lastDrawMs >= TTY_REDRAW_MS) this.draw(now);
      return;
    }
    const decile = this.total > 0 ? Math.min(10, Math.floor((this.count / this.total) * 10)) : 0;
    if (decile > this.lastDecile || now - this.lastDrawMs >= LOG_EVERY_MS) {
      this.lastDecile = Math.max(this.lastDecile, decile);
      this.draw(now);
    }
  }

  /** Shows the final state (once) and ends the line on a terminal. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    const now = this.now();
    const seconds = (now - this.startMs) / 1000;
    const rate = seconds > 0 ? this.count / seconds : 0;
    const text = `${this.label}: done, ${formatCount(this.count)} in ${seconds.toFixed(1)} s (${formatCount(rate)}/s)`;
    this.stream.write(this.tty ? `\r${text}\x1b[K\n` : `${text}\n`);
  }

  private draw(now: number): void {
    this.lastDrawMs = now;
    const seconds = (now - this.startMs) / 1000;
    const rate = seconds > 0 ? this.count / seconds : 0;
    const known = this.total > 0;
    const fraction = known ? Math.min(1, this.count / this.total) : 0;
    const parts = [known ? `${formatCount(this.count)}/${formatCount(this.total)} ${(fraction * 100).toFixed(0)}%` : formatCount(this.count), `${formatCount(rate)}/s`];
    if (known && rate > 0 && this.count < this.total) parts.push(`ETA ${formatDuration((this.total - this.count) / rate)}`);
    const status = parts.join('  ');
    if (!this.tty) {
      this.stream.write(`${this.label}: ${status}\n`);
      return;
    }
    const columns = this.stream.columns ?? 80;
    const barWidth = known ? Math.max(0, Math.min(30, columns - this.label.length - status.length - 6)) : 0;
    const filled = Math.round(fraction * barWidth);
    const bar = barWidth >= 5 ? ` [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]` : '';
    const line = `${this.label}${bar} ${status}`.slice(0, Math.max(1, columns - 1));
    this.stream.write(`\r${line}\x1b[K`);
  }
}
