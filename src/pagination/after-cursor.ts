import { idText } from '../normalize.js';
import { atPath, describe, recordsAt, totalAt, withTotal } from './body.js';
import { PageShapeError, PaginationLoopError, type Cursor, type PageContext, type PageStrategy } from './types.js';

/**
 * Options of afterCursor(). The defaults are the Izuma list convention (`limit`, `order=ASC`,
 * `after=<last id>`, `has_more`, `include=total_count` on the first page, `total_count`).
 */
export interface AfterCursorOptions {
  /** Query parameter of the cursor; default "after". */
  cursorParam?: string;
  /** Query parameter of the page size; default "limit". */
  sizeParam?: string;
  defaultPageSize: number;
  /** Smallest size the vendor accepts (Izuma: 2); a smaller configured one is raised to it. */
  minPageSize?: number;
  maxPageSize: number;
  /** Parameters of every request; default `{order: 'ASC'}`. */
  params?: Record<string, string>;
  /** Parameters of the first request only; default `{include: 'total_count'}`. */
  firstParams?: Record<string, string>;
  /** Dot path of the records; default "data". */
  records?: string;
  /** Dot path of the next cursor in the body; default: the last record's id. */
  cursor?: string;
  /** Field of a record holding its id (for the last-id cursor); default "id". */
  idField?: string;
  /** Dot path of a "has more" flag; default "has_more"; null: no flag, see afterCursor(). */
  hasMore?: string | null;
  /** Dot path of the total record count; default "total_count"; null: none. */
  total?: string | null;
}

/**
 * Keyset pagination with an `after` cursor (Izuma; YAML `after`). The cursor is `{after}`
 * (null on the first page). The cursor comes from a body path or from the last record's id.
 * With a has-more flag the walk continues while it is true; without one it continues while the
 * body cursor is present (body cursor) or the page is full (last-id cursor); an empty page
 * without a flag ends it.
 *
 * No id order is assumed (Izuma documents none): a cursor this walk already used is caught by
 * the page frame (docs/reliability.md, "Records and responses").
 *
 * parse() throws PageShapeError for a body without the records array, or a flag claiming more
 * with no cursor to continue from; PaginationLoopError when the flag claims more on an empty
 * page or when the next cursor equals the current one.
 */
export function afterCursor(opts: AfterCursorOptions): PageStrategy {
  const min = opts.minPageSize ?? 1;
  const cursorParam = opts.cursorParam ?? 'after';
  const sizeParam = opts.sizeParam ?? 'limit';
  const params = opts.params ?? { order: 'ASC' };
  const firstParams = opts.firstParams ?? { include: 'total_count' };
  const hasMorePath = opts.hasMore === undefined ? 'has_more' : opts.hasMore;
  const totalPath = opts.total === undefined ? 'total_count' : opts.total;
  const idField = opts.idField ?? 'id';
  return {
    kind: 'after-cursor',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    maxRecords: (ctx: PageContext) => Math.max(min, ctx.pageSize),
    first: () => ({ after: null }),
    request: (cursor: Cursor, ctx: PageContext) => {
      const after = typeof cursor.after === 'string' ? { [cursorParam]: cursor.after } : firstParams;
      return { path: ctx.path, params: { ...ctx.params, [sizeParam]: Math.max(min, ctx.pageSize), ...params, ...after } };
    },
    parse: (body: unknown, cursor: Cursor, ctx: PageContext) => {
      const records = recordsAt(body, opts.records ?? 'data');
      const extra = withTotal(totalAt(body, totalPath));
      const flagged = hasMorePath !== null;
      const more = flagged ? atPath(body, hasMorePath) === true : records.length > 0 && (opts.cursor !== undefined || records.length >= ctx.pageSize);
      if (!more) return { records, next: null, ...extra };
      if (records.length === 0) throw new PaginationLoopError(`pagination loop: ${hasMorePath} is true on an empty page`);
      const last: unknown = records[records.length - 1];
      const next = idText(opts.cursor !== undefined ? atPath(body, opts.cursor) : atPath(last, idField));
      if (next === null) {
        if (!flagged) return { records, next: null, ...extra };
        const what = opts.cursor !== undefined ? `no cursor at "${opts.cursor}" (${describe(body)})` : `no id in its last record (${describe(last)})`;
        throw new PageShapeError(`${hasMorePath} is true but the page has ${what}`);
      }
      const prev = typeof cursor.after === 'string' ? cursor.after : null;
      if (prev !== null && next === prev) throw new PaginationLoopError(`pagination loop: the next cursor repeats after=${prev}`);
      return { records, next: { after: next }, ...extra };
    },
  };
}
