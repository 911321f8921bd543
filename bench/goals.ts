/**
 * Result rows and performance goals of the bench suite. A goal is a bound on a row's ratio
 * (copbench / baseline, measured side by side in the same run) or on its value (e.g. peak RSS,
 * R² of a linear fit), so the table can say, row by row, whether the goal is met or missed.
 */

/** The bench groups, in the order the table lists them. */
export const GROUPS = ['point', 'redis-benchmark', 'load', 'scan', 'fetch', 'coprocessor', 'scaling', 'memory', 'micro'] as const;
export type Group = (typeof GROUPS)[number];

/** A bound on one number of a row: `ratio >= 0.8`, `value < 256 MiB`, ... */
export interface Goal {
  /** Which number the bound applies to: the row's ratio or its copbench value. */
  on: 'ratio' | 'value';
  op: '>=' | '<';
  target: number;
  /** How the target is shown, e.g. `≥ 0.8×` or `< 256 MiB` (defaults to op + target). */
  label?: string;
}

/** One line of the results table. `ratio` = copbench / baseline (higher is better for copbench). */
export interface ResultRow {
  group: Group;
  measurement: string;
  unit: string;
  copbench: number | null;
  baseline: number | null;
  baselineName: string;
  ratio: number | null;
  goal?: Goal;
  /** Every repetition, in run order, so the spread is visible in results.json. */
  copbenchSamples?: number[];
  baselineSamples?: number[];
  note?: string;
}

/** What a bench module hands to `add` (the ratio is computed unless given). */
export type NewRow = Omit<ResultRow, 'ratio'> & { ratio?: number | null };

/** `met`, `missed`, or `—` when the row has no goal or its number is missing. */
export function goalStatus(row: Pick<ResultRow, 'goal' | 'ratio' | 'copbench'>): 'met' | 'missed' | '—' {
  const goal = row.goal;
  if (!goal) return '—';
  const x = goal.on === 'ratio' ? row.ratio : row.copbench;
  if (x === null || !Number.isFinite(x)) return '—';
  const met = goal.op === '>=' ? x >= goal.target : x < goal.target;
  return met ? 'met' : 'missed';
}

export function goalLabel(goal: Goal | undefined): string {
  if (!goal) return '';
  if (goal.label) return goal.label;
  return `${goal.on === 'ratio' ? 'ratio ' : ''}${goal.op === '>=' ? '≥' : '<'} ${goal.target}${goal.on === 'ratio' ? '×' : ''}`;
}

/** Shorthand for the common goal: ratio ≥ target. */
export const ratioAtLeast = (target: number): Goal => ({ on: 'ratio', op: '>=', target, label: `≥ ${target}×` });

export const MIB = 1024 * 1024;
