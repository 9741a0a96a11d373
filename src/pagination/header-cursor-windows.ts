import { recordsAt } from './body.js';
import { PageShapeError, PaginationLoopError, type Cursor, type PageContext, type PageResponseMeta, type PageStrategy } from './types.js';

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
 * `first_row_number`, ...). The walk covers [from, to]: `from` is the context's `start_date`
 * param (an incremental walk's since) or `history_days` (default `defaultHistoryDays`) before
 * today, `to` is `aheadDays` after today, both UTC dates fixed when the walk starts so a resumed
 * walk asks for the same range. A window without a next-position header is done; the walk moves
 * to the next window and ends after the last one.
 *
 * The cursor is `{from, to, start, end, <body field of each header>: string | null}`.
 * parse() throws PageShapeError for a body that is not an array, PaginationLoopError for a
 * position that does not move forward (a row number not above the current one, an empty page
 * that claims more).
 */
export function headerCursorWindows(opts: HeaderCursorWindowsOptions): PageStrategy {
  const sizeField = opts.sizeField ?? 'page_size';
  const headers = Object.entries(opts.cursorHeaders);
  const [moreHeader, moreField] = headers[0] ?? ['', ''];
  if (moreHeader === '') throw new Error('headerCursorWindows needs at least one cursor header');
  const noPosition = Object.fromEntries(headers.map(([, field]) => [field, null]));
  return {
    kind: 'header-cursor-windows',
    emptyPagesAdvance: true,
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: (ctx: PageContext) => {
      const today = new Date().toISOString().slice(0, 10);
      const to = addDays(today, opts.aheadDays ?? 2);
      const historyDays = Number(ctx.params.history_days ?? opts.defaultHistoryDays);
      const since = ctx.params.start_date;
      let from = isDate(since) ? since : addDays(today, -(Number.isInteger(historyDays) && historyDays > 0 ? historyDays : opts.defaultHistoryDays));
      if (from > to) from = to;
      return { from, to, start: from, end: windowEnd(from, to, opts.maxWindowDays), ...noPosition };
    },
    request: (cursor: Cursor, ctx: PageContext) => {
      const position: Record<string, number | string> = {};
      for (const [, field] of headers) {
        const v = cursor[field];
        // Positions are numbers at Toggl; one that is not stays as the server sent it.
        if (typeof v === 'string' && v !== '') position[field] = /^\d+$/.test(v) ? Number(v) : v;
      }
      const body = { ...opts.body, start_date: cursorDate(cursor, 'start'), end_date: cursorDate(cursor, 'end'), [sizeField]: ctx.pageSize, ...position };
      if (opts.originRelative) return { url: new URL(ctx.path, ctx.baseUrl).toString(), method: 'POST' as const, body };
      return { path: ctx.path, method: 'POST' as const, body };
    },
    parse: (body: unknown, cursor: Cursor, _ctx: PageContext, meta?: PageResponseMeta) => {
      const rows = recordsAt(body, undefined);
      const records = opts.flatten ? rows.flatMap((r, i) => opts.flatten!(r, i)) : rows;
      const h = meta?.headers ?? {};
      const more = h[moreHeader];
      if (more !== undefined && more.trim() !== '') {
        if (rows.length === 0) throw new PaginationLoopError(`pagination loop: an empty page names a next position (${moreHeader}: ${more.slice(0, 100)})`);
        const current = cursor[moreField];
        if (/^\d+$/.test(more.trim()) && typeof current === 'string' && /^\d+$/.test(current) && Number(more.trim()) <= Number(current)) {
          throw new PaginationLoopError(`pagination loop: ${moreHeader} ${more.trim()} does not move past the current ${moreField} ${current}`);
        }
        const position = Object.fromEntries(headers.map(([name, field]) => [field, h[name]?.trim() || null]));
        return { records, next: { ...cursor, ...position } };
      }
      const end = cursorDate(cursor, 'end');
      const to = cursorDate(cursor, 'to');
      if (end >= to) return { records, next: null };
      const start = addDays(end, 1);
      return { records, next: { ...cursor, start, end: windowEnd(start, to, opts.maxWindowDays), ...noPosition } };
    },
  };
}
