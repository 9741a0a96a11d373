import { cursorInt, moreByCount, recordsAt } from './body.js';
import type { Cursor, PageContext, PageStrategy } from './types.js';

/** Options of pageNumber(). */
export interface PageNumberOptions {
  /** Query parameter of the page number; default "page". */
  pageParam?: string;
  /** Query parameter of the page size; default "limit". */
  sizeParam?: string;
  /** Number of the first page (Automox: 0, most others: 1). */
  firstPage: number;
  defaultPageSize: number;
  maxPageSize: number;
  /** Dot path of the records; default: the body itself is the array. */
  records?: string;
}

/**
 * Page-number pagination for APIs that return no metadata (Automox, Toggl projects, YAML
 * `short-page`): the cursor is `{page}`; a page shorter than the page size (or empty) ends the
 * walk, a full page means one more request (which may come back empty). Nothing in such a body
 * can reveal a loop; a server ignoring `page` is caught by the engine only when the cursor repeats.
 *
 * parse() throws PageShapeError when there is no records array or the cursor has no page number.
 */
export function pageNumber(opts: PageNumberOptions): PageStrategy {
  const pageParam = opts.pageParam ?? 'page';
  const sizeParam = opts.sizeParam ?? 'limit';
  return {
    kind: 'page-number',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: () => ({ page: opts.firstPage }),
    request: (cursor: Cursor, ctx: PageContext) => ({
      path: ctx.path,
      params: { ...ctx.params, [sizeParam]: ctx.pageSize, [pageParam]: cursorInt(cursor, 'page') },
    }),
    parse: (body: unknown, cursor: Cursor, ctx: PageContext) => {
      const records = recordsAt(body, opts.records);
      const page = cursorInt(cursor, 'page');
      return { records, next: moreByCount(records.length, 0, undefined, ctx.pageSize) ? { page: page + 1 } : null };
    },
  };
}
