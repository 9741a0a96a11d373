import { formatDuration, formatInstant, intervalSeconds } from '../time-text.js';

/** Output formats of `fleetsync report`. */
export type ReportFormat = 'table' | 'csv' | 'json';

/** A report's rows with their column order. */
export interface ReportRows {
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

/**
 * One cell as CSV text: instants as ISO 8601 UTC, durations (Postgres intervals) as a number of
 * seconds, null as empty, a list of texts joined by "; ", other objects as JSON.
 */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  const seconds = intervalSeconds(v);
  if (seconds !== null) return String(seconds);
  return listOrJson(v);
}

/** One cell as a table shows it: instants `2026-11-23 07:50:54Z`, durations `3m 05s`, like `runs` and the dashboard. */
function tableCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return formatInstant(v);
  const seconds = intervalSeconds(v);
  if (seconds !== null) return formatDuration(seconds);
  return listOrJson(v);
}

function listOrJson(v: unknown): string {
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join('; ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * Renders rows as an aligned text table, RFC 4180 CSV (header row first) or a JSON array of
 * objects. Durations are a number of seconds in CSV and JSON.
 */
export function formatReport(r: ReportRows, format: ReportFormat): string {
  if (format === 'json') {
    return JSON.stringify(r.rows.map((row) => Object.fromEntries(r.columns.map((c) => [c, jsonValue(row[c])]))), null, 2);
  }
  if (format === 'csv') return [r.columns, ...r.rows.map((row) => r.columns.map((c) => cellText(row[c])))].map((line) => line.map(csvField).join(',')).join('\n');
  const cells = r.rows.map((row) => r.columns.map((c) => tableCell(row[c])));
  const widths = r.columns.map((c, i) => Math.max(c.length, ...cells.map((line) => line[i]!.length)));
  const fmt = (line: string[]) => line.map((s, i) => s.padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(r.columns), fmt(widths.map((w) => '-'.repeat(w))), ...cells.map(fmt), `(${r.rows.length} rows)`].join('\n');
}

function jsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return intervalSeconds(v) ?? v;
}
