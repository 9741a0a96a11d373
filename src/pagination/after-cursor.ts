import { describe } from './page-number.js';
import { PageShapeError, PaginationLoopError, type Cursor, type PageContext, type PageStrategy } from './types.js';

/** Options of afterCursor(). */
export interface AfterCursorOptions {
  defaultPageSize: number;
  /** Smallest `limit` the vendor accepts (Izuma: 2). */
  minPageSize?: number;
  maxPageSize: number;
}

/**
 * Keyset pagination with an `after` cursor, Izuma style: `limit`, `order=ASC`, `after=<id of the
 * last item>`, continue while `has_more` is true; `include=total_count` on the first page gives
 * the walk's size. The cursor is `{after}` (null on the first page).
 *
 * parse() throws PageShapeError for a body without a `data` array or an item without a string
 * id, and PaginationLoopError when `has_more` is true but the page's last id does not move past
 * the cursor (an empty page, or the same or an earlier id in ascending order).
 */
export function afterCursor(opts: AfterCursorOptions): PageStrategy {
  const min = opts.minPageSize ?? 1;
  return {
    kind: 'after-cursor',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: () => ({ after: null }),
    request: (cursor: Cursor, ctx: PageContext) => {
      const params: Record<string, string | number> = { ...ctx.params, limit: Math.max(min, ctx.pageSize), order: 'ASC' };
      if (typeof cursor.after === 'string') params.after = cursor.after;
      else params.include = 'total_count';
      return { path: ctx.path, params };
    },
    parse: (body: unknown, cursor: Cursor) => {
      if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray((body as { data?: unknown }).data)) {
        throw new PageShapeError(`expected {object: "list", data, has_more}, got ${describe(body)}`);
      }
      const b = body as { data: unknown[]; has_more?: unknown; total_count?: unknown };
      const total = typeof b.total_count === 'number' && Number.isInteger(b.total_count) && b.total_count >= 0 ? b.total_count : undefined;
      const extra = total !== undefined ? { total } : {};
      if (b.has_more !== true) return { records: b.data, next: null, ...extra };
      const last: unknown = b.data[b.data.length - 1];
      const lastId = last !== null && typeof last === 'object' ? (last as { id?: unknown }).id : undefined;
      if (b.data.length === 0) throw new PaginationLoopError('pagination loop: has_more is true on an empty page');
      if (typeof lastId !== 'string' || lastId === '') throw new PageShapeError(`the last item of a page with has_more has no string id (${describe(last)})`);
      const prev = typeof cursor.after === 'string' ? cursor.after : null;
      if (prev !== null && lastId <= prev) {
        throw new PaginationLoopError(`pagination loop: has_more is true but the last id ${lastId} does not advance past after=${prev}`);
      }
      return { records: b.data, next: { after: lastId }, ...extra };
    },
  };
}
