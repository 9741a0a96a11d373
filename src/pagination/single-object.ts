import { describe } from './page-number.js';
import { PageShapeError, type PageContext, type PageStrategy } from './types.js';

/**
 * An endpoint that answers one object rather than a list (Izuma `GET /v3/accounts/me`):
 * one request, one record, no further page. Throws PageShapeError when the body is not an object.
 */
export function singleObject(): PageStrategy {
  return {
    kind: 'single-object',
    defaultPageSize: 1,
    // No page size is sent: any configured one is fine.
    maxPageSize: Number.MAX_SAFE_INTEGER,
    first: () => ({ page: 0 }),
    request: (_cursor, ctx: PageContext) => ({ path: ctx.path, ...(Object.keys(ctx.params).length > 0 ? { params: ctx.params } : {}) }),
    parse: (body: unknown) => {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new PageShapeError(`expected one JSON object, got ${describe(body)}`);
      return { records: [body], next: null };
    },
  };
}
