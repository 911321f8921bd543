/**
 * Plain-text tables for the console summary: a header, a rule, and columns padded to their widest
 * cell; numeric columns right-aligned.
 */

/** One column of a table. */
export interface TableColumn<Row> {
  /** The row property shown (also the header when `label` is absent). */
  key: keyof Row & string;
  label?: string;
  /** Default: right for columns whose values are all numbers (or empty), left otherwise. */
  align?: 'left' | 'right';
  /** Fixed decimals for numbers (default: by magnitude, see formatNumber). */
  decimals?: number;
  /** Custom cell text (overrides `decimals`). */
  format?: (value: Row[keyof Row & string], row: Row) => string;
}

/**
 * A number for a table: integers with thousands separators; other values with `decimals`, or by
 * magnitude (≥ 100: 1 decimal, ≥ 1: 2 decimals, else 3 significant digits); NaN as '-'.
 */
export function formatNumber(value: number, decimals?: number): string {
  if (Number.isNaN(value)) return '-';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (decimals !== undefined) return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  if (abs >= 100) return value.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

function cellText<Row>(column: TableColumn<Row>, row: Row): string {
  const value = row[column.key];
  if (column.format) return column.format(value, row);
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return formatNumber(value, column.decimals);
  return String(value);
}

/**
 * Renders rows as a text table (lines joined by \n, no final newline). `columns` may be plain keys.
 * Cells must not contain line breaks.
 */
export function formatTable<Row extends object>(rows: ReadonlyArray<Row>, columns: ReadonlyArray<TableColumn<Row> | (keyof Row & string)>): string {
  const cols = columns.map((c): TableColumn<Row> => (typeof c === 'string' ? { key: c } : c));
  const headers = cols.map((c) => c.label ?? c.key);
  const cells = rows.map((row) => cols.map((c) => cellText(c, row)));
  const right = cols.map((c) => c.align === 'right' || (c.align === undefined && rows.length > 0 && rows.every((r) => typeof r[c.key] === 'number' || r[c.key] === null || r[c.key] === undefined)));
  return textTable(headers, cells, right);
}

/** Cells already as text: a header, a rule, columns padded to their widest cell (`right`: right-aligned). */
export function textTable(header: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>, right: ReadonlyArray<boolean>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (texts: ReadonlyArray<string>): string =>
    texts
      .map((t, i) => (right[i] ? t.padStart(widths[i]!) : t.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same cells as a Markdown table (pipes in cells escaped). */
export function markdownTable(header: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>, right: ReadonlyArray<boolean>): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [`| ${header.join(' | ')} |`, `| ${right.map((r) => (r ? '---:' : ':---')).join(' | ')} |`, ...body.map((b) => `| ${b.map(esc).join(' | ')} |`)].join('\n');
}
