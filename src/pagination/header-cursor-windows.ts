import { recordsAt } from './body.js';
import { PageShapeError, PaginationLoopError, type Cursor, type PageContext, type PageRequest, type PageResponseMeta, type PageResult, type PageStrategy } from './types.js';
import { addPage, emptyTally, tallyFields, tallyOf, windowDisagreement, type WindowCheck } from './window-check.js';

const DAY_MS = 86_400_000;

/** Options of headerCursorWindows(). */
export interface HeaderCursorWindowsOptions {
  defaultPageSize: number;
  maxPageSize: number;
  /** Body field of the page size; default "page_size". */
  sizeField?: string;
  /** Longest date range one request may cover, in days, both ends counted (Toggl Reports: 366). */
  maxWindowDays: number;
  /**
   * Response headers that carry the next page's position, each with the body field it goes back
   * in (`{'x-next-row-number': 'first_row_number', ...}`). Names lower-case. The first one is
   * the one whose presence means "more in this window"; the others travel along when present.
   */
  cursorHeaders: Readonly<Record<string, string>>;
  /**
   * The position fields sent back in the next request (default: all of cursorHeaders' fields).
   * The others are still kept in the cursor. Toggl: `first_row_number` alone (docs/toggl.md).
   */
  send?: readonly string[];
  /**
   * Checks each window, once its last page is read, against the vendor's totals of the same
   * search (one more request per window): a disagreement makes the walk incomplete.
   */
  check?: WindowCheck;
  /** Fixed body fields of every request besides the dates, the page size and the position. */
  body?: Readonly<Record<string, unknown>>;
  /** Days before today a full walk starts, when the context's params carry no `history_days`. */
  defaultHistoryDays: number;
  /** Days after today (UTC) the last window ends, for users east of UTC; default 2. */
  aheadDays?: number;
  /** Turns a page's array into records (e.g. rows holding several entries); default: as they are. */
  flatten?: (row: unknown, index: number) => unknown[];
  /**
   * True: the path is below the source's origin rather than its base URL (Toggl: the base URL ends
   * in `/api/v9`, the report search lives at `/reports/api/v3/...` on the same host).
   */
  originRelative?: boolean;
}

/** A UTC date `YYYY-MM-DD` `days` after `date`. */
function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

function isDate(v: unknown): v is string {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`));
}

function cursorDate(cursor: Cursor, key: string): string {
  const v = cursor[key];
  if (!isDate(v)) throw new PageShapeError(`cursor has no date "${key}" (got ${JSON.stringify(v)})`);
  return v;
}

/** The end of the window that starts at `start`: at most `maxDays` days counted inclusively, never past `to`. */
function windowEnd(start: string, to: string, maxDays: number): string {
  const end = addDays(start, maxDays - 1);
  return end < to ? end : to;
}

/**
 * The instants a completed walk over dates [from, to] (the vendor's dates, in each user's time
 * zone) saw every record of: from one day after `from` to the start of `to` in UTC, since time
 * zones lie within 14 hours of UTC. A record outside it may have been outside the request.
 */
export function coveredInstants(cursor: Cursor): { from: string; to: string } | null {
  const from = cursor.from;
  const to = cursor.to;
  if (!isDate(from) || !isDate(to)) return null;
  const start = `${addDays(from, 1)}T00:00:00.000Z`;
  const end = `${to}T00:00:00.000Z`;
  return start < end ? { from: start, to: end } : null;
}

/**
 * Date windows paged by response headers (Toggl Reports API v3 detailed search): a POST whose
 * JSON body holds `start_date`/`end_date` (at most `maxWindowDays` apart, both counted), the
 * page size and the position the previous response's headers named (`X-Next-Row-Number` ->
 * `first_row_number`, the fields in `send`). The walk covers [from, to]: `from` is the context's
 * `start_date` param (an incremental walk's since) or `history_days` (default
 * `defaultHistoryDays`) before today, `to` is `aheadDays` after today, both UTC dates fixed when
 * the walk starts so a resumed walk asks for the same range. A window without a next-position
 * header is done; with `check`, one more request asks for the window's totals and compares them
 * with what the pages held (src/pagination/window-check.ts); then the walk moves to the next
 * window and ends after the last one. A page may hold at most the page size in rows, whatever
 * number of records (entries) its rows hold.
 *
 * The cursor is `{from, to, start, end, <body field of each header>: string | null}`, with
 * `check` also `phase` ('totals' while a window's totals are asked for), the window's tally and
 * `disagreement` (the first window that disagreed).
 * parse() throws PageShapeError for a body that is not an array or holds more rows than asked
 * for, PaginationLoopError for a position that does not move forward (a row number not above the
 * current one, an empty page that claims more).
 */
export function headerCursorWindows(opts: HeaderCursorWindowsOptions): PageStrategy {
  const headers = Object.entries(opts.cursorHeaders);
  if (headers.length === 0) throw new Error('headerCursorWindows needs at least one cursor header');
  const noPosition = Object.fromEntries(headers.map(([, field]) => [field, null]));
  const windowStart = { ...noPosition, ...(opts.check ? { phase: null, ...emptyTally() } : {}) };
  return {
    kind: 'header-cursor-windows',
    emptyPagesAdvance: true,
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    // Rows are counted in parse(): a grouped row holds several records.
    maxRecords: () => Number.POSITIVE_INFINITY,
    first: (ctx: PageContext) => {
      const today = new Date().toISOString().slice(0, 10);
      const to = addDays(today, opts.aheadDays ?? 2);
      const historyDays = Number(ctx.params.history_days ?? opts.defaultHistoryDays);
      const since = ctx.params.start_date;
      let from = isDate(since) ? since : addDays(today, -(Number.isInteger(historyDays) && historyDays > 0 ? historyDays : opts.defaultHistoryDays));
      if (from > to) from = to;
      return { from, to, start: from, end: windowEnd(from, to, opts.maxWindowDays), ...windowStart, ...(opts.check ? { disagreement: null } : {}) };
    },
    request: (cursor: Cursor, ctx: PageContext) => windowRequest(opts, cursor, ctx),
    parse: (body: unknown, cursor: Cursor, ctx: PageContext, meta?: PageResponseMeta): PageResult => {
      if (opts.check && cursor.phase === 'totals') return parseTotals(opts, opts.check, body, cursor, windowStart);
      return parseRows(opts, { body, cursor, ctx, headers: meta?.headers ?? {} }, windowStart);
    },
  };
}

/** The request of a cursor: the window's next page, or (phase 'totals') the window's totals. */
function windowRequest(opts: HeaderCursorWindowsOptions, cursor: Cursor, ctx: PageContext): PageRequest {
  const dates = { start_date: cursorDate(cursor, 'start'), end_date: cursorDate(cursor, 'end') };
  const at = (path: string, body: unknown): PageRequest =>
    opts.originRelative ? { url: new URL(path, ctx.baseUrl).toString(), method: 'POST', body } : { path, method: 'POST', body };
  if (opts.check && cursor.phase === 'totals') return at(`${ctx.path}${opts.check.totalsPath}`, { ...opts.check.totalsBody, ...dates });
  const send = opts.send ?? Object.values(opts.cursorHeaders);
  const position: Record<string, number | string> = {};
  for (const field of send) {
    const v = cursor[field];
    // Positions are numbers at Toggl; one that is not stays as the server sent it.
    if (typeof v === 'string' && v !== '') position[field] = /^\d+$/.test(v) ? Number(v) : v;
  }
  return at(ctx.path, { ...opts.body, ...dates, [opts.sizeField ?? 'page_size']: ctx.pageSize, ...position });
}

/** What parsing one page of rows needs. */
interface RowsPage {
  body: unknown;
  cursor: Cursor;
  ctx: PageContext;
  headers: Readonly<Record<string, string>>;
}

/** A page of rows: its records, and the next page of the window, its totals, or the next window. */
function parseRows(opts: HeaderCursorWindowsOptions, page: RowsPage, windowStart: Cursor): PageResult {
  const { cursor, ctx, headers: h } = page;
  const rows = recordsAt(page.body, undefined);
  if (rows.length > ctx.pageSize) {
    throw new PageShapeError(`the vendor sent ${rows.length} rows where at most ${ctx.pageSize} were asked for (it ignored the page size); page refused, committing it would be unsafe`);
  }
  const records = opts.flatten ? rows.flatMap((r, i) => opts.flatten!(r, i)) : rows;
  const tally = opts.check ? tallyFields(addPage(tallyOf(cursor), opts.check, rows, records)) : {};
  const headers = Object.entries(opts.cursorHeaders);
  const [moreHeader, moreField] = headers[0]!;
  const more = h[moreHeader]?.trim();
  if (more !== undefined && more !== '') {
    if (rows.length === 0) throw new PaginationLoopError(`pagination loop: an empty page names a next position (${moreHeader}: ${more.slice(0, 100)})`);
    const current = cursor[moreField];
    if (/^\d+$/.test(more) && typeof current === 'string' && /^\d+$/.test(current) && Number(more) <= Number(current)) {
      throw new PaginationLoopError(`pagination loop: ${moreHeader} ${more} does not move past the current ${moreField} ${current}`);
    }
    const position = Object.fromEntries(headers.map(([name, field]) => [field, h[name]?.trim() || null]));
    return { records, next: { ...cursor, ...position, ...tally } };
  }
  if (opts.check) return { records, next: { ...cursor, ...windowStart, ...tally, phase: 'totals' } };
  return { records, ...afterWindow(opts, cursor, windowStart) };
}

/** A window's totals: compared with its tally, then the next window (or the walk's end). */
function parseTotals(opts: HeaderCursorWindowsOptions, check: WindowCheck, body: unknown, cursor: Cursor, windowStart: Cursor): PageResult {
  const found = windowDisagreement({ start: cursorDate(cursor, 'start'), end: cursorDate(cursor, 'end') }, tallyOf(cursor), check.totalSeconds(body));
  const earlier = typeof cursor.disagreement === 'string' ? cursor.disagreement : null;
  const disagreement = earlier ?? found;
  const after = afterWindow(opts, { ...cursor, disagreement }, windowStart);
  return { records: [], ...after, ...(after.next === null && disagreement !== null ? { incomplete: `the vendor's totals disagree with what the walk read: ${disagreement}` } : {}) };
}

/** The first page of the window after the cursor's, or the walk's end. */
function afterWindow(opts: HeaderCursorWindowsOptions, cursor: Cursor, windowStart: Cursor): { next: Cursor | null } {
  const end = cursorDate(cursor, 'end');
  const to = cursorDate(cursor, 'to');
  if (end >= to) return { next: null };
  const start = addDays(end, 1);
  return { next: { ...cursor, ...windowStart, start, end: windowEnd(start, to, opts.maxWindowDays) } };
}
