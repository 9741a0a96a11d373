import { describe } from './page-number.js';
import { PageShapeError, PaginationLoopError, type Cursor, type PageContext, type PageStrategy } from './types.js';

/** Options of nextLink(). */
export interface NextLinkOptions {
  /** Query parameter of the page size on the first request (DRF: `page_size`). */
  sizeParam?: string;
  defaultPageSize: number;
  maxPageSize: number;
}

/** The page number a DRF link carries (`page=N`; the first request is page 1), or null when it carries none. */
function pageParamOf(url: string | null, base: string): number | null {
  if (url === null) return 1;
  let u: URL;
  try {
    u = new URL(url, base);
  } catch {
    return null;
  }
  const p = u.searchParams.get('page');
  if (p === null) return null;
  return /^\d+$/.test(p) ? Number(p) : null;
}

/**
 * Link pagination, Django REST Framework style: each page is `{count, next, previous, results}`
 * and the walk follows `next` (an absolute URL) until it is null. The cursor is
 * `{url, n}`: the link to fetch (null for the first page, which is built from the path, the
 * resource's params and the page size) and the number of pages already taken.
 *
 * The link itself is followed by the HTTP client, which refuses one off the source's origin
 * before any credential is sent. parse() throws PageShapeError for a body of another shape and
 * PaginationLoopError for a `next` equal to the current link or pointing back at a page number
 * already passed (a cycle).
 */
export function nextLink(opts: NextLinkOptions): PageStrategy {
  const sizeParam = opts.sizeParam ?? 'page_size';
  return {
    kind: 'next-link',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: () => ({ url: null, n: 0 }),
    request: (cursor: Cursor, ctx: PageContext) => {
      const url = cursor.url;
      if (typeof url === 'string') return { url };
      return { path: ctx.path, params: { ...ctx.params, [sizeParam]: ctx.pageSize } };
    },
    parse: (body: unknown, cursor: Cursor, ctx: PageContext) => {
      if (body === null || typeof body !== 'object' || Array.isArray(body) || !Array.isArray((body as { results?: unknown }).results)) {
        throw new PageShapeError(`expected {count, next, previous, results}, got ${describe(body)}`);
      }
      const b = body as { results: unknown[]; next?: unknown; count?: unknown };
      if (b.next !== null && b.next !== undefined && typeof b.next !== 'string') {
        throw new PageShapeError(`"next" is ${describe(b.next)}, expected a URL or null`);
      }
      const next = typeof b.next === 'string' && b.next !== '' ? b.next : null;
      const current = typeof cursor.url === 'string' ? cursor.url : null;
      const n = typeof cursor.n === 'number' ? cursor.n : 0;
      if (next !== null) {
        if (current !== null && next === current) {
          throw new PaginationLoopError(`pagination loop: "next" repeats the current link ${next.slice(0, 300)}`);
        }
        const here = pageParamOf(current, ctx.baseUrl);
        const there = pageParamOf(next, ctx.baseUrl);
        if (here !== null && there !== null && there <= here) {
          const what = there === here ? `points at the current page ${here} again` : `goes back from page ${here} to page ${there}`;
          throw new PaginationLoopError(`pagination loop: "next" ${what} (${next.slice(0, 300)})`);
        }
      }
      const total = typeof b.count === 'number' && Number.isInteger(b.count) && b.count >= 0 ? b.count : undefined;
      return { records: b.results, next: next === null ? null : { url: next, n: n + 1 }, ...(total !== undefined ? { total } : {}) };
    },
  };
}
