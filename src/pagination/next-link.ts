import { atPath, describe, recordsAt, totalAt, withTotal } from './body.js';
import { PageShapeError, PaginationLoopError, type Cursor, type PageContext, type PageStrategy } from './types.js';

/** Options of nextLink(). Defaults are Django REST Framework's `{count, next, previous, results}`. */
export interface NextLinkOptions {
  /**
   * Query parameter(s) of the page size on the first request; default "page_size". Several when
   * the server's style is unknown (DRF reads `page_size` for page numbers, `limit` for
   * limit/offset, and ignores the other).
   */
  sizeParam?: string | readonly string[];
  defaultPageSize: number;
  maxPageSize: number;
  /** Dot path of the records; default "results". */
  records?: string;
  /** Dot path of the next page's link; default "next". */
  next?: string;
  /** Dot path of the total record count; default "count"; null: the body carries none. */
  total?: string | null;
  /**
   * True: a link is resolved against the source's base URL (so "items?page=2" and "/v1/items?page=2"
   * work) and stored normalised. False (default): the link is stored as sent, DRF links being absolute.
   */
  resolveLinks?: boolean;
}

/**
 * Where a link stands in numbered pagination: its `page=` and `offset=` numbers. The first
 * request (no link) is DRF's page 1 at offset 0; a link without such a number (DRF cursor
 * pagination) gives null for it.
 */
function positionOf(url: string | null, base: string): { page: number | null; offset: number | null } {
  if (url === null) return { page: 1, offset: 0 };
  let u: URL;
  try {
    u = new URL(url, base);
  } catch {
    return { page: null, offset: null };
  }
  const num = (key: string): number | null => {
    const v = u.searchParams.get(key);
    return v !== null && /^\d+$/.test(v) ? Number(v) : null;
  };
  return { page: num('page'), offset: num('offset') };
}

/** Throws PaginationLoopError when `next` does not move forward from `current`; never otherwise. */
function assertAdvances(next: string, current: string | null, empty: boolean, base: string): void {
  const shown = next.slice(0, 300);
  if (current !== null && next === current) throw new PaginationLoopError(`pagination loop: "next" repeats the current link ${shown}`);
  const here = positionOf(current, base);
  const there = positionOf(next, base);
  for (const key of ['page', 'offset'] as const) {
    const a = here[key];
    const b = there[key];
    if (a === null || b === null || b > a) continue;
    const what = b === a ? `points at the current ${key} ${a} again` : `goes back from ${key} ${a} to ${key} ${b}`;
    throw new PaginationLoopError(`pagination loop: "next" ${what} (${shown})`);
  }
  // A numbered page after an empty one cannot hold records. (The page frame refuses any empty
  // page that claims more, and any link the walk already requested, for every style.)
  if (empty && (there.page !== null || there.offset !== null)) {
    throw new PaginationLoopError(`pagination loop: "next" claims more after an empty page (${shown})`);
  }
}

/**
 * Link pagination: each page names the next one (DRF `{count, next, previous, results}`,
 * Famoco; YAML `next`), and the walk follows it until it is null, absent or empty. The cursor is
 * `{url, n}`: the link to fetch (null for the first page, which is built from the path, the
 * resource's params and the page size) and the number of pages already taken.
 *
 * The link itself is followed by the HTTP client, which refuses one off the source's origin
 * before any credential is sent. parse() throws PageShapeError for a body without the records
 * array or with a `next` that is neither a string nor null, and PaginationLoopError for a `next`
 * equal to the current link, one whose `page=` or `offset=` does not advance past the current
 * one, or a numbered one after an empty page.
 */
export function nextLink(opts: NextLinkOptions): PageStrategy {
  const sizeParams = typeof opts.sizeParam === 'string' ? [opts.sizeParam] : (opts.sizeParam ?? ['page_size']);
  const nextPath = opts.next ?? 'next';
  const totalPath = opts.total === undefined ? 'count' : opts.total;
  return {
    kind: 'next-link',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: () => ({ url: null, n: 0 }),
    request: (cursor: Cursor, ctx: PageContext) => {
      const url = cursor.url;
      if (typeof url === 'string') return { url };
      return { path: ctx.path, params: { ...ctx.params, ...Object.fromEntries(sizeParams.map((p) => [p, ctx.pageSize])) } };
    },
    parse: (body: unknown, cursor: Cursor, ctx: PageContext) => {
      const records = recordsAt(body, opts.records ?? 'results');
      const link = atPath(body, nextPath);
      if (link !== null && link !== undefined && typeof link !== 'string') {
        throw new PageShapeError(`"${nextPath}" is ${describe(link)}, expected a URL or null`);
      }
      let next = typeof link === 'string' && link !== '' ? link : null;
      if (next !== null && opts.resolveLinks) {
        try {
          next = new URL(next, `${ctx.baseUrl.replace(/\/+$/, '')}/`).toString();
        } catch {
          throw new PageShapeError(`"${nextPath}" is not a URL: ${next.slice(0, 300)}`);
        }
      }
      const n = typeof cursor.n === 'number' ? cursor.n : 0;
      if (next !== null) assertAdvances(next, typeof cursor.url === 'string' ? cursor.url : null, records.length === 0, ctx.baseUrl);
      return { records, next: next === null ? null : { url: next, n: n + 1 }, ...withTotal(totalAt(body, totalPath)) };
    },
  };
}
