import { PageShapeError, type Cursor, type PageContext, type PageStrategy } from './types.js';

/** Options of pageNumber(). */
export interface PageNumberOptions {
  pageParam?: string;
  sizeParam?: string;
  /** Number of the first page (Automox: 0, most others: 1). */
  firstPage: number;
  defaultPageSize: number;
  maxPageSize: number;
  /** Where the records are; default: the body itself is the array. */
  records?: (body: unknown) => unknown;
}

function pageOf(cursor: Cursor): number {
  const p = cursor.page;
  if (typeof p !== 'number' || !Number.isInteger(p)) throw new PageShapeError(`cursor has no page number: ${JSON.stringify(cursor)}`);
  return p;
}

/**
 * Page-number pagination for APIs that return no metadata: a page shorter than the page size
 * ends the walk, a full page means one more request (which may come back empty).
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
      params: { ...ctx.params, [sizeParam]: ctx.pageSize, [pageParam]: pageOf(cursor) },
    }),
    parse: (body: unknown, cursor: Cursor, ctx: PageContext) => {
      const records = opts.records ? opts.records(body) : body;
      if (!Array.isArray(records)) {
        throw new PageShapeError(`expected a JSON array of records, got ${describe(body)}`);
      }
      const next = records.length < ctx.pageSize ? null : { page: pageOf(cursor) + 1 };
      return { records, next };
    },
  };
}

/** Short description of a JSON value's type for error messages (never its content, which may be large). */
export function describe(body: unknown): string {
  if (body === null) return 'null';
  if (Array.isArray(body)) return `an array of ${body.length}`;
  if (typeof body === 'object') return `an object with keys ${Object.keys(body).slice(0, 8).join(', ') || '(none)'}`;
  if (typeof body === 'string') return `a string of ${body.length} characters`;
  return typeof body;
}
