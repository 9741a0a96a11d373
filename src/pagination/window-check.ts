import { PageShapeError, type Cursor } from './types.js';

// A second opinion on a date window walked page by page (Toggl's detailed search): what the walk
// read is tallied in its cursor, page by page, and compared with the vendor's own figures of the
// same search once the window is done. A disagreement never fails the walk; it makes the walk one
// that cannot vouch for its misses (its sweep marks nothing), like a vendor total that disagrees.
// Pure: no I/O, no clock.

/** How a window's pages are checked against the vendor's figures of the same search. */
export interface WindowCheck {
  /** Path of the totals request, appended to the search's path (Toggl: `/totals`). */
  totalsPath: string;
  /** Body fields of the totals request besides the dates. */
  totalsBody?: Readonly<Record<string, unknown>>;
  /** The seconds an entry adds to its window; null for a running entry (its time grows while the walk runs). */
  entrySeconds: (entry: unknown) => number | null;
  /** The number the vendor gave a row within its search (1 for the first row), or null. */
  rowNumber: (row: unknown) => number | null;
  /** The window's total seconds in the totals answer. Throws PageShapeError for an answer without it. */
  totalSeconds: (body: unknown) => number;
}

/** What the cursor holds of the window read so far: rows, the seconds of stopped entries, running entries, the last row number. */
export interface WindowTally {
  rows: number;
  seconds: number;
  running: number;
  lastRow: number | null;
}

/** The tally fields of a cursor; each is null in a cursor written before tallies existed. */
export const TALLY_FIELDS = ['window_rows', 'window_seconds', 'window_running', 'window_last_row'] as const;

/** A fresh window's tally fields. */
export function emptyTally(): Record<(typeof TALLY_FIELDS)[number], number | null> {
  return { window_rows: 0, window_seconds: 0, window_running: 0, window_last_row: null };
}

/** The tally a cursor holds, or null when it has none (a walk resumed from a cursor written before tallies). */
export function tallyOf(cursor: Cursor): WindowTally | null {
  const [rows, seconds, running, last] = TALLY_FIELDS.map((f) => cursor[f]);
  if (typeof rows !== 'number' || typeof seconds !== 'number' || typeof running !== 'number') return null;
  return { rows, seconds, running, lastRow: typeof last === 'number' ? last : null };
}

/** The tally after one more page of `rows` holding `entries`; null stays null. */
export function addPage(tally: WindowTally | null, check: WindowCheck, rows: readonly unknown[], entries: readonly unknown[]): WindowTally | null {
  if (tally === null) return null;
  let { seconds, running, lastRow } = tally;
  for (const e of entries) {
    const s = check.entrySeconds(e);
    if (s === null) running++;
    else seconds += s;
  }
  for (const r of rows) lastRow = check.rowNumber(r) ?? lastRow;
  return { rows: tally.rows + rows.length, seconds, running, lastRow };
}

/** A tally as cursor fields. */
export function tallyFields(t: WindowTally | null): Record<(typeof TALLY_FIELDS)[number], number | null> {
  return t === null
    ? { window_rows: null, window_seconds: null, window_running: null, window_last_row: null }
    : { window_rows: t.rows, window_seconds: t.seconds, window_running: t.running, window_last_row: t.lastRow };
}

/**
 * Compares a window's tally with the vendor's figures: the rows read with the number of the last
 * row the vendor numbered (its rows are numbered from 1 within the search, so a skipped or
 * repeated page shows), and the seconds of its entries with the totals answer's seconds. With
 * running entries in the window the totals may count more time than the walk read (their time
 * grew in between): then only less is a disagreement. Returns what disagrees, or null.
 */
export function windowDisagreement(window: { start: string; end: string }, t: WindowTally | null, totalSeconds: number): string | null {
  if (t === null) return null;
  const problems: string[] = [];
  if (t.lastRow !== null && t.lastRow !== t.rows) problems.push(`read ${t.rows} rows, the vendor numbered ${t.lastRow}`);
  if (t.lastRow === null && t.rows > 0) problems.push(`read ${t.rows} rows without row numbers`);
  const short = t.running > 0 ? totalSeconds < t.seconds : totalSeconds !== t.seconds;
  if (short) problems.push(`its entries hold ${t.seconds} s${t.running > 0 ? ` (${t.running} running)` : ''}, the vendor's totals say ${totalSeconds} s`);
  return problems.length === 0 ? null : `window ${window.start}..${window.end}: ${problems.join('; ')}`;
}

/** Toggl's totals answer: `seconds`, a whole number. Throws PageShapeError for anything else. */
export function secondsField(body: unknown): number {
  const s = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { seconds?: unknown }).seconds : undefined;
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) throw new PageShapeError(`expected a totals object with whole "seconds", got ${JSON.stringify(body)?.slice(0, 200)}`);
  return s;
}
