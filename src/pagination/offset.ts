import { cursorInt, moreByCount, recordsAt, totalAt, withTotal } from './body.js';
import type { Cursor, PageContext, PageStrategy } from './types.js';

/** Options of offsetPages(). */
export interface OffsetOptions {
  /** Query parameter of the offset; default "offset". */
  offsetParam?: string;
  /** Query parameter of the page size; default "limit". */
  sizeParam?: string;
  defaultPageSize: number;
  maxPageSize: number;
  /** Dot path of the records; default: the body itself is the array. */
  records?: string;
  /** Dot path of a total count, when the API sends one. */
  total?: string;
}

/**
 * Offset/limit pagination (YAML `offset`). The cursor is `{offset}`, the number of records
 * already read. The walk ends at `total` when the body has one, else on a short page, and
 * always on an empty page.
 *
 * parse() throws PageShapeError when there is no records array or the cursor has no offset.
 */
export function offsetPages(opts: OffsetOptions): PageStrategy {
  const offsetParam = opts.offsetParam ?? 'offset';
  const sizeParam = opts.sizeParam ?? 'limit';
  return {
    kind: 'offset',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: () => ({ offset: 0 }),
    request: (cursor: Cursor, ctx: PageContext) => ({
      path: ctx.path,
      params: { ...ctx.params, [offsetParam]: cursorInt(cursor, 'offset'), [sizeParam]: ctx.pageSize },
    }),
    parse: (body: unknown, cursor: Cursor, ctx: PageContext) => {
      const records = recordsAt(body, opts.records);
      const total = totalAt(body, opts.total);
      const offset = cursorInt(cursor, 'offset') + records.length;
      return { records, next: moreByCount(records.length, offset, total, ctx.pageSize) ? { offset } : null, ...withTotal(total) };
    },
  };
}
