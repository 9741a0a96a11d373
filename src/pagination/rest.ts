import { describe } from './page-number.js';
import { PageShapeError, type Cursor, type PageContext, type PageStrategy } from './types.js';

/**
 * Reads a dot path ("data", "meta.next", "" for the body itself) from a JSON value.
 * Returns undefined when any step is missing; never throws.
 */
export function atPath(body: unknown, path: string | undefined): unknown {
  if (path === undefined || path === '') return body;
  let cur: unknown = body;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function recordsAt(body: unknown, path: string | undefined): unknown[] {
  const v = atPath(body, path);
  if (!Array.isArray(v)) {
    throw new PageShapeError(`expected an array of records${path ? ` at "${path}"` : ''}, got ${describe(v === undefined ? body : v)}`);
  }
  return v;
}

function num(cursor: Cursor, key: string): number {
  const v = cursor[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new PageShapeError(`cursor has no ${key}: ${JSON.stringify(cursor)}`);
  return v;
}

function totalAt(body: unknown, path: string | undefined): number | undefined {
  if (path === undefined) return undefined;
  const v = atPath(body, path);
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/**
 * A list served whole in one response (Toggl's clients and users, `/me/workspaces`): one
 * request, no paging parameters. `records` is a dot path to the array; `single: true` takes
 * one object (GET /organizations/{id}) as a one-record page.
 */
export function singlePage(opts: { records?: string; single?: boolean } = {}): PageStrategy {
  return {
    kind: 'single',
    defaultPageSize: 1,
    maxPageSize: Number.MAX_SAFE_INTEGER,
    first: () => ({ page: 0 }),
    request: (_c: Cursor, ctx: PageContext) => ({ path: ctx.path, params: { ...ctx.params } }),
    parse: (body: unknown) => {
      if (opts.single) {
        const v = atPath(body, opts.records);
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new PageShapeError(`expected one object, got ${describe(v)}`);
        return { records: [v], next: null, total: 1 };
      }
      const records = recordsAt(body, opts.records);
      return { records, next: null, total: records.length };
    },
  };
}

/** Options of enveloped(): page numbers with a total in the body (the partner API template). */
export interface EnvelopedPageOptions {
  pageParam?: string;
  sizeParam?: string;
  firstPage?: number;
  defaultPageSize: number;
  maxPageSize: number;
  /** Dot path of the records; default "data". */
  records?: string;
  /** Dot path of the total record count; default "total". */
  total?: string;
}

/**
 * Page-number pagination with `{data, total, page, limit}` envelopes. The walk ends when it has
 * read `total` records (even when the last page is full, so no empty extra request), on an empty
 * page, or, when the body has no total, on a short page.
 */
export function envelopedPages(opts: EnvelopedPageOptions): PageStrategy {
  const pageParam = opts.pageParam ?? 'page';
  const sizeParam = opts.sizeParam ?? 'limit';
  const first = opts.firstPage ?? 1;
  return {
    kind: 'page',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: () => ({ page: first, read: 0 }),
    request: (cursor, ctx) => ({ path: ctx.path, params: { ...ctx.params, [pageParam]: num(cursor, 'page'), [sizeParam]: ctx.pageSize } }),
    parse: (body, cursor, ctx) => {
      const records = recordsAt(body, opts.records ?? 'data');
      const total = totalAt(body, opts.total ?? 'total');
      const read = num(cursor, 'read') + records.length;
      const more = records.length > 0 && (total !== undefined ? read < total : records.length >= ctx.pageSize);
      return { records, next: more ? { page: num(cursor, 'page') + 1, read } : null, ...(total !== undefined ? { total } : {}) };
    },
  };
}

/** Options of offsetPages(). */
export interface OffsetOptions {
  offsetParam?: string;
  sizeParam?: string;
  defaultPageSize: number;
  maxPageSize: number;
  records?: string;
  /** Dot path of a total count, when the API sends one. */
  total?: string;
}

/** Offset/limit pagination: ends at `total` when known, else on a short page. */
export function offsetPages(opts: OffsetOptions): PageStrategy {
  const offsetParam = opts.offsetParam ?? 'offset';
  const sizeParam = opts.sizeParam ?? 'limit';
  return {
    kind: 'offset',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: () => ({ offset: 0 }),
    request: (cursor, ctx) => ({ path: ctx.path, params: { ...ctx.params, [offsetParam]: num(cursor, 'offset'), [sizeParam]: ctx.pageSize } }),
    parse: (body, cursor, ctx) => {
      const records = recordsAt(body, opts.records);
      const total = totalAt(body, opts.total);
      const offset = num(cursor, 'offset') + records.length;
      const more = records.length > 0 && (total !== undefined ? offset < total : records.length >= ctx.pageSize);
      return { records, next: more ? { offset } : null, ...(total !== undefined ? { total } : {}) };
    },
  };
}

/** Options of nextLinkPages(). */
export interface NextLinkOptions {
  sizeParam?: string;
  defaultPageSize: number;
  maxPageSize: number;
  records?: string;
  /** Dot path of the next page's URL (absolute or relative); default "next". */
  next?: string;
  total?: string;
}

/**
 * Pagination by a next link in the body (DRF's `{count, next, results}`). The link is followed
 * only on the source's origin (the HTTP client refuses others); null or absent ends the walk.
 */
export function nextLinkPages(opts: NextLinkOptions): PageStrategy {
  const sizeParam = opts.sizeParam ?? 'limit';
  return {
    kind: 'next',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: () => ({ url: null }),
    request: (cursor, ctx) =>
      typeof cursor.url === 'string' ? { url: cursor.url } : { path: ctx.path, params: { ...ctx.params, [sizeParam]: ctx.pageSize } },
    parse: (body, _cursor, ctx) => {
      const records = recordsAt(body, opts.records);
      const link = atPath(body, opts.next ?? 'next');
      const total = totalAt(body, opts.total);
      const next = typeof link === 'string' && link !== '' && records.length > 0 ? { url: new URL(link, `${ctx.baseUrl.replace(/\/+$/, '')}/`).toString() } : null;
      return { records, next, ...(total !== undefined ? { total } : {}) };
    },
  };
}

/** Options of afterCursorPages(). */
export interface AfterCursorOptions {
  cursorParam?: string;
  sizeParam?: string;
  defaultPageSize: number;
  maxPageSize: number;
  records?: string;
  /** Dot path of the next cursor in the body; when absent the last record's id is the cursor. */
  cursor?: string;
  /** Dot path of a "has more" flag (Izuma's has_more); without it a short page ends the walk. */
  hasMore?: string;
  /** Field of a record holding its id (for the last-id cursor); default "id". */
  idField?: string;
  total?: string;
}

/** Cursor pagination: `after=<cursor>` from the body or from the last record's id. */
export function afterCursorPages(opts: AfterCursorOptions): PageStrategy {
  const cursorParam = opts.cursorParam ?? 'after';
  const sizeParam = opts.sizeParam ?? 'limit';
  return {
    kind: 'after',
    defaultPageSize: opts.defaultPageSize,
    maxPageSize: opts.maxPageSize,
    first: () => ({ after: null }),
    request: (cursor, ctx) => ({
      path: ctx.path,
      params: { ...ctx.params, [sizeParam]: ctx.pageSize, ...(typeof cursor.after === 'string' ? { [cursorParam]: cursor.after } : {}) },
    }),
    parse: (body, _cursor, ctx) => {
      const records = recordsAt(body, opts.records);
      const total = totalAt(body, opts.total);
      let after: unknown;
      if (opts.cursor !== undefined) after = atPath(body, opts.cursor);
      else after = records.length > 0 ? atPath(records[records.length - 1], opts.idField ?? 'id') : undefined;
      const flag = opts.hasMore !== undefined ? atPath(body, opts.hasMore) : undefined;
      const more = records.length > 0 && (opts.hasMore !== undefined ? flag === true : opts.cursor !== undefined ? true : records.length >= ctx.pageSize);
      const value = typeof after === 'number' ? String(after) : after;
      const next = more && typeof value === 'string' && value !== '' ? { after: value } : null;
      return { records, next, ...(total !== undefined ? { total } : {}) };
    },
  };
}
