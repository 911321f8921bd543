/**
 * The shared result type of the reliability suite: every scenario reports named figures, each with
 * its value, how many things it was measured over (N), whether it passed and what it expected, so
 * the console table, figures.json and the tests all read the same records.
 */

/** One measured figure, e.g. "acked writes lost" = 0 of N = 12 345, pass. */
export interface Figure {
  /** Scenario that measured it (filled in by the runner). */
  scenario: string;
  /** What is measured, stable across runs (tests look figures up by it). */
  name: string;
  /** The measured value (a count, milliseconds, bytes, ...); text only when no number fits. */
  value: number | string;
  /** How many things the figure was measured over (answers checked, keys read back, frames sent). */
  n: number;
  /** Unit of `value` (e.g. `ms`, `bytes`, `count`). */
  unit: string;
  /** The condition `value` must meet, in words (e.g. `= 0`, `<= 768 MiB`). */
  expect: string;
  pass: boolean;
  /** Short context: what was done, counts that explain the value. */
  detail: string;
}

/** A figure before the runner stamps the scenario name on it. */
export type FigureInput = Omit<Figure, 'scenario'>;

/** What one scenario run produced. */
export interface ScenarioReport {
  scenario: string;
  title: string;
  size: SizeName;
  seed: number;
  durationMs: number;
  figures: Figure[];
  /** Set when the scenario itself failed to run to the end (its figures may be partial). */
  error?: string;
}

/** `small` is what the tests run; `full` is `npm run torture`'s default. */
export type SizeName = 'small' | 'full';

/** Passed to every scenario run. */
export interface ScenarioContext {
  seed: number;
  /** Progress lines (the CLI prints them to stderr; tests keep them quiet). */
  log: (line: string) => void;
}

/** A scenario: a name, a title, its parameters per size, and a run that returns figures. */
export interface Scenario<Params = unknown> {
  name: string;
  title: string;
  sizes: Record<SizeName, Params>;
  run(params: Params, ctx: ScenarioContext): Promise<FigureInput[]>;
}

/** A figure that must equal `expected` (e.g. lost writes = 0). */
export function equalFigure(name: string, value: number, expected: number, n: number, detail: string, unit = 'count'): FigureInput {
  return { name, value, n, unit, expect: `= ${expected}`, pass: value === expected, detail };
}

/** A figure that must be at most `bound`. */
export function atMostFigure(name: string, value: number, bound: number, n: number, detail: string, unit = 'count'): FigureInput {
  return { name, value, n, unit, expect: `<= ${bound}${unit === 'count' ? '' : ` ${unit}`}`, pass: Number.isFinite(value) && value <= bound, detail };
}

/** A figure that must be at least `bound` (e.g. the scenario really did split regions). */
export function atLeastFigure(name: string, value: number, bound: number, n: number, detail: string, unit = 'count'): FigureInput {
  return { name, value, n, unit, expect: `>= ${bound}`, pass: value >= bound, detail };
}

/** `part` of `n` things behaved (contained, refused, answered): passes only when all did. */
export function allOfFigure(name: string, part: number, n: number, detail: string): FigureInput {
  return { name, value: part, n, unit: 'of N', expect: '= N', pass: n > 0 && part === n, detail };
}

export const MiB = 1024 * 1024;

/** Bytes as MiB with one decimal, for details and tables. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Bytes in MiB rounded to one decimal, for figure values. */
export function toMiB(bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10;
}
