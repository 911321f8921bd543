/**
 * CSV in RFC 4180 form that reads back with its types: strings are always quoted, numbers and
 * booleans never, null is an empty field. So "12" (a string) and 12 (a number) stay apart, and
 * NaN/Infinity survive as the unquoted words NaN/Infinity/-Infinity. Any CSV reader (pandas, R,
 * a spreadsheet) reads the files.
 */

/** A value a CSV cell can hold. */
export type CsvValue = string | number | boolean | null;

/** One cell as parsed: its text and whether it was quoted. */
export interface CsvCell {
  text: string;
  quoted: boolean;
}

function quote(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** One value as a CSV field (strings quoted, quotes doubled). */
export function csvField(value: CsvValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TypeError(`a CSV value must be a string, number, boolean or null, got ${typeof value}`);
}

/** A header field: bare when it is safe, quoted when it holds a comma, quote, line break or edge space. */
export function csvHeaderField(name: string): string {
  return /[",\r\n]|^\s|\s$/.test(name) || name === '' ? quote(name) : name;
}

/** One line (without its line break) of values. */
export function csvLine(values: ReadonlyArray<CsvValue>): string {
  return values.map(csvField).join(',');
}

/**
 * Parses CSV text into rows of cells (quoted fields may hold commas, doubled quotes and line
 * breaks; lines end in \n or \r\n; a final line break is optional). Throws on an unterminated
 * quote or text after a closing quote, naming the line.
 */
export function parseCsv(text: string): CsvCell[][] {
  const rows: CsvCell[][] = [];
  let row: CsvCell[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  if (n === 0) return rows;
  for (;;) {
    // One field starts at i.
    let cell: CsvCell;
    if (text[i] === '"') {
      const startLine = line;
      let value = '';
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) throw new SyntaxError(`CSV: unterminated quoted field starting on line ${startLine}`);
        const chunk = text.slice(i, close);
        for (const ch of chunk) if (ch === '\n') line++;
        value += chunk;
        if (text[close + 1] === '"') {
          value += '"';
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      if (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) throw new SyntaxError(`CSV: unexpected text after a closing quote on line ${line}`);
      cell = { text: value, quoted: true };
    } else {
      let end = i;
      while (end < n && text[end] !== ',' && text[end] !== '\n' && !(text[end] === '\r' && text[end + 1] === '\n')) end++;
      const value = text.slice(i, end);
      if (value.includes('"')) throw new SyntaxError(`CSV: a quote inside an unquoted field on line ${line}`);
      cell = { text: value, quoted: false };
      i = end;
    }
    row.push(cell);
    if (i >= n) {
      rows.push(row);
      return rows;
    }
    if (text[i] === ',') {
      i++;
      continue;
    }
    // Line break.
    i += text[i] === '\r' ? 2 : 1;
    line++;
    rows.push(row);
    row = [];
    if (i >= n) return rows;
  }
}

/** A decimal number as String(number) writes it (no hex, no spaces). */
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A parsed cell back to its value: quoted → string, empty → null, true/false, decimal numbers (and NaN, ±Infinity); other bare text stays a string. */
export function cellValue(cell: CsvCell): CsvValue {
  if (cell.quoted) return cell.text;
  const t = cell.text;
  if (t === '') return null;
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'NaN') return NaN;
  if (t === 'Infinity') return Infinity;
  if (t === '-Infinity') return -Infinity;
  return DECIMAL.test(t) ? Number(t) : t;
}
