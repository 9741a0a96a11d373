/** Output formats of `fleetsync report`. */
export type ReportFormat = 'table' | 'csv' | 'json';

/** A report's rows with their column order. */
export interface ReportRows {
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

/** One cell as text: dates as ISO 8601 UTC, null as empty, objects and arrays as JSON, intervals as Postgres gives them. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(intervalText(v) ?? v);
  return String(v);
}

// node-postgres parses an interval into {days, hours, ...}; show it as "1 day 02:03:04".
function intervalText(v: object): string | undefined {
  const keys = Object.keys(v);
  if (!keys.every((k) => ['years', 'months', 'days', 'hours', 'minutes', 'seconds', 'milliseconds'].includes(k)) || typeof (v as { toPostgres?: unknown }).toPostgres !== 'function') return undefined;
  return (v as { toPostgres(): string }).toPostgres();
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Renders rows as an aligned text table, RFC 4180 CSV (header row first) or a JSON array of objects. */
export function formatReport(r: ReportRows, format: ReportFormat): string {
  if (format === 'json') {
    return JSON.stringify(r.rows.map((row) => Object.fromEntries(r.columns.map((c) => [c, jsonValue(row[c])]))), null, 2);
  }
  const cells = r.rows.map((row) => r.columns.map((c) => cellText(row[c])));
  if (format === 'csv') return [r.columns, ...cells].map((line) => line.map(csvField).join(',')).join('\n');
  const widths = r.columns.map((c, i) => Math.max(c.length, ...cells.map((line) => line[i]!.length)));
  const fmt = (line: string[]) => line.map((s, i) => s.padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(r.columns), fmt(widths.map((w) => '-'.repeat(w))), ...cells.map(fmt), `(${r.rows.length} rows)`].join('\n');
}

function jsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') {
    const t = intervalText(v);
    if (t !== undefined) return t;
  }
  return v;
}
