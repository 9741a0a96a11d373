import { PageShapeError, type Cursor } from './types.js';

/**
 * Reads a dot path ("data", "meta.next", "" or undefined for the body itself) from a JSON value.
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

/** Short description of a JSON value's type for error messages (never its content, which may be large). Never throws. */
export function describe(body: unknown): string {
  if (body === null) return 'null';
  if (Array.isArray(body)) return `an array of ${body.length}`;
  if (typeof body === 'object') return `an object with keys ${Object.keys(body).slice(0, 8).join(', ') || '(none)'}`;
  if (typeof body === 'string') return `a string of ${body.length} characters`;
  return typeof body;
}

/**
 * The records array at a dot path of a page body (undefined path: the body itself).
 * Throws PageShapeError when there is no array there.
 */
export function recordsAt(body: unknown, path: string | undefined): unknown[] {
  const v = atPath(body, path);
  if (!Array.isArray(v)) {
    throw new PageShapeError(`expected an array of records${path ? ` at "${path}"` : ''}, got ${describe(v === undefined ? body : v)}`);
  }
  return v;
}

/**
 * The walk's total record count at a dot path (null or undefined path: the body carries none).
 * Returns undefined for anything but a non-negative integer: a missing total only costs progress
 * reporting, so it never fails a page. Never throws.
 */
export function totalAt(body: unknown, path: string | null | undefined): number | undefined {
  if (path === undefined || path === null) return undefined;
  const v = atPath(body, path);
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** `{total}` when known, else nothing: spread into a PageResult so an unknown total stays absent. */
export function withTotal(total: number | undefined): { total?: number } {
  return total !== undefined ? { total } : {};
}

/**
 * An integer the cursor must carry (a page number, an offset, a count of records read).
 * Throws PageShapeError when it is missing or not an integer (a cursor from another strategy).
 */
export function cursorInt(cursor: Cursor, key: string): number {
  const v = cursor[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new PageShapeError(`cursor has no ${key}: ${JSON.stringify(cursor)}`);
  return v;
}

/**
 * The end check of count-based styles: a page says "more" when it is not empty and either the
 * records seen so far are fewer than the known total or, without a total, the page is full.
 * An empty page always ends the walk: a stale total (records deleted mid-walk) is no loop.
 */
export function moreByCount(pageLength: number, seen: number, total: number | undefined, pageSize: number): boolean {
  if (pageLength === 0) return false;
  return total !== undefined ? seen < total : pageLength >= pageSize;
}
