/**
 * Django REST Framework behaviour shared by the Famoco MDM and Insights simulators: the three
 * pagination classes (page numbers, limit/offset, cursor) with their traps, and DRF error bodies
 * wrapped in {"errors": ...}.
 */
import type { SimRequest, SimResponse } from './http-sim.js';

/** Fault: the next link of page `from` (1-based) points at page `to` instead, a page the walk already read. */
export interface FamocoLinkGlitch {
  from: number;
  to: number;
}

/** How a simulator paginates (its public, mutable settings). */
export interface DrfPaging {
  pagination: 'page' | 'limit-offset';
  /** Links on this foreign origin instead of ours. */
  nextOriginOverride: string | undefined;
  /** `next` always points at the current page again (never null). */
  repeatNext: boolean;
  /** CursorPagination: opaque `cursor` links and no count. */
  cursorLinks: boolean;
  linkGlitch: FamocoLinkGlitch | null;
}

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const DEFAULT_LIMIT = 10;

export function fieldError(field: string, message: string): SimResponse {
  return { status: 400, body: { errors: { [field]: [message] } } };
}

export function invalidPage(): SimResponse {
  return { status: 404, body: { errors: { detail: 'Invalid page.' } } };
}

export function notFoundBody(): SimResponse {
  return { status: 404, body: { errors: { detail: 'Not found.' } } };
}

export function unauthorized(detail: string): SimResponse {
  return { status: 401, body: { errors: { detail } }, headers: { 'www-authenticate': 'Bearer realm="api"' } };
}

/** The DRF error body for a status (injected faults without a body). */
export function drfErrorBody(status: number): unknown {
  const detail: Record<number, string> = {
    400: 'Bad request.',
    401: 'Authentication credentials were not provided.',
    403: 'You do not have permission to perform this action.',
    404: 'Not found.',
    405: 'Method not allowed.',
    429: 'Request was throttled.',
    500: 'A server error occurred.',
  };
  return { errors: { detail: detail[status] ?? 'A server error occurred.' } };
}

/** The limiter's 429, as DRF's throttling answers it. */
export function throttled(retryAfterSec: number): SimResponse {
  return {
    status: 429,
    body: { errors: { detail: `Request was throttled. Expected available in ${retryAfterSec} seconds.` } },
    headers: { 'retry-after': String(retryAfterSec) },
  };
}

/** One page of `items` in the simulator's pagination class. */
export function drfPage<T>(req: SimRequest, items: readonly T[], paging: DrfPaging): SimResponse {
  return paging.pagination === 'limit-offset' ? limitOffsetPage(req, items, paging) : pageNumberPage(req, items, paging);
}

/** The request's URL on the link origin with its query, `edit` applied to the query. */
function linkTo(req: SimRequest, paging: DrfPaging, edit: (q: URLSearchParams) => void): string {
  const u = new URL(req.path, paging.nextOriginOverride ?? req.origin);
  for (const [k, v] of req.query) u.searchParams.append(k, v);
  edit(u.searchParams);
  return u.toString();
}

/** DRF LimitOffsetPagination (default_limit 10, no max): ignores `page`/`page_size`. */
function limitOffsetPage<T>(req: SimRequest, items: readonly T[], paging: DrfPaging): SimResponse {
  const int = (name: string, dflt: number, min: number): number | SimResponse => {
    const raw = req.query.get(name);
    if (raw === null) return dflt;
    if (!/^\d+$/.test(raw.trim())) return fieldError(name, 'A valid integer is required.');
    return Math.max(min, Number(raw.trim()));
  };
  const limit = int('limit', DEFAULT_LIMIT, 1);
  if (typeof limit !== 'number') return limit;
  const offset = int('offset', 0, 0);
  if (typeof offset !== 'number') return offset;
  const count = items.length;
  const link = (o: number | null): string =>
    linkTo(req, paging, (q) => {
      q.set('limit', String(limit));
      if (o === null) q.delete('offset');
      else q.set('offset', String(o));
    });
  let next: string | null = offset + limit < count ? link(offset + limit) : null;
  const previous = offset > 0 ? link(offset - limit > 0 ? offset - limit : null) : null;
  if (paging.repeatNext) next = link(offset);
  return { status: 200, body: { count, next, previous, results: items.slice(offset, offset + limit) } };
}

/** `page_size` (page_size_query_param, max_page_size 1000), or the 400 DRF answers for it. */
function pageSizeOf(req: SimRequest): number | SimResponse {
  const psRaw = req.query.get('page_size');
  if (psRaw === null) return DEFAULT_PAGE_SIZE;
  if (!/^-?\d+$/.test(psRaw.trim())) return fieldError('page_size', 'A valid integer is required.');
  const pageSize = Number(psRaw.trim());
  if (pageSize < 1) return fieldError('page_size', 'Ensure this value is greater than or equal to 1.');
  if (pageSize > MAX_PAGE_SIZE) return fieldError('page_size', 'Ensure this value is less than or equal to 1000.');
  return pageSize;
}

/** The 1-based page asked for (by cursor, by number or "last"), or the 404 DRF answers. */
function pageNumberOf(req: SimRequest, paging: DrfPaging, sizes: { pageSize: number; numPages: number }): number | SimResponse {
  const cursorRaw = paging.cursorLinks ? req.query.get('cursor') : null;
  if (cursorRaw !== null) {
    const m = /^o=(\d+)$/.exec(Buffer.from(cursorRaw, 'base64url').toString('utf8'));
    if (!m) return { status: 404, body: { detail: 'Invalid cursor' } };
    return Math.floor(Number(m[1]) / sizes.pageSize) + 1;
  }
  const pageRaw = req.query.get('page');
  if (pageRaw === null) return 1;
  let page: number;
  if (pageRaw === 'last') page = sizes.numPages;
  else if (/^\d+$/.test(pageRaw)) page = Number(pageRaw);
  else return invalidPage();
  if (page < 1 || page > sizes.numPages) return invalidPage();
  return page;
}

/** DRF PageNumberPagination, or CursorPagination when `cursorLinks` is on. */
function pageNumberPage<T>(req: SimRequest, items: readonly T[], paging: DrfPaging): SimResponse {
  const pageSize = pageSizeOf(req);
  if (typeof pageSize !== 'number') return pageSize;
  const count = items.length;
  const numPages = Math.max(1, Math.ceil(count / pageSize));
  const page = pageNumberOf(req, paging, { pageSize, numPages });
  if (typeof page !== 'number') return page;
  const results = items.slice((page - 1) * pageSize, page * pageSize);
  const link = (p: number | null): string =>
    linkTo(req, paging, (q) => {
      if (paging.cursorLinks) {
        q.delete('cursor');
        if (p !== null) q.set('cursor', Buffer.from(`o=${(p - 1) * pageSize}`).toString('base64url'));
      } else if (p === null) q.delete('page');
      else q.set('page', String(p));
    });
  let next: string | null = page < numPages ? link(page + 1) : null;
  const previous: string | null = page > 1 ? link(page === 2 ? null : page - 1) : null;
  if (paging.repeatNext) next = link(page);
  if (paging.linkGlitch?.from === page) next = link(paging.linkGlitch.to === 1 ? null : paging.linkGlitch.to);
  return { status: 200, body: paging.cursorLinks ? { next, previous, results } : { count, next, previous, results } };
}
