import { cursorInt, moreByCount, recordsAt, totalAt, withTotal } from './body.js';
import type { Cursor, PageContext, PageStrategy } from './types.js';

/** Options of pageTotal(). */
export interface PageTotalOptions {
  /** Query parameter of the page number; default "page". */
  pageParam?: string;
  /** Query parameter of the page size; default "limit". */
  sizeParam?: string;
  /** Number of the first page; default 1. */
  firstPage?: number;
  defaultPageSize: number;
  maxPageSize: number;
  /** Dot path of the records; default "data". */
  records?: string;
  /** Dot path of the total record count; default "total". */
  total?: string;
}

/**
 * Page-number pagination with `{data, total, page, limit}` envelopes (the partner API template,
 * YAML `page`). The cursor is `{page, read}`. The walk ends when it has read `total` records
 * (even when the last page is full, so no empty extra request), on an empty page, or, when the
 * body has no total, on a short page.
 *
 * parse() throws PageShapeError when there is no records array or the cursor lacks page/read.
 */
export function pageTotal(opts: PageTotalOptions): PageStrategy {
  const pageParam = opts.pageParam ?? 'page';
  const sizeParam = opts.sizeParam ?? 'limit';
  const first = opts.firstPage ?? 1;
  return {
    kind: 'page',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: () => ({ page: first, read: 0 }),
    request: (cursor: Cursor, ctx: PageContext) => ({
      path: ctx.path,
      params: { ...ctx.params, [pageParam]: cursorInt(cursor, 'page'), [sizeParam]: ctx.pageSize },
    }),
    parse: (body: unknown, cursor: Cursor, ctx: PageContext) => {
      const records = recordsAt(body, opts.records ?? 'data');
      const total = totalAt(body, opts.total ?? 'total');
      const read = cursorInt(cursor, 'read') + records.length;
      const more = moreByCount(records.length, read, total, ctx.pageSize);
      return { records, next: more ? { page: cursorInt(cursor, 'page') + 1, read } : null, ...withTotal(total) };
    },
  };
}
