import { atPath, describe, recordsAt } from './body.js';
import { PageShapeError, type Cursor, type PageContext, type PageStrategy } from './types.js';

/** Options of singlePage(). */
export interface SinglePageOptions {
  /** Dot path of the records array (or of the one object); default: the body itself. */
  records?: string;
  /** True: the endpoint answers one object (Izuma `/v3/accounts/me`, Toggl `/organizations/{id}`), a one-record page. */
  single?: boolean;
}

/**
 * An endpoint served whole in one response (Toggl's clients and users, `/me/workspaces`, YAML
 * `none`), or one object: one request with the resource's params and no paging parameters, one
 * page, its length the walk's total. The cursor is `{page: 0}`.
 *
 * parse() throws PageShapeError when there is no records array (or, single, no object).
 */
export function singlePage(opts: SinglePageOptions = {}): PageStrategy {
  return {
    kind: 'single',
    defaultPageSize: 1,
    // No page size is sent: any configured one is fine.
    maxPageSize: Number.MAX_SAFE_INTEGER,
    // The whole list in one response: no limit was asked for.
    maxRecords: () => Number.POSITIVE_INFINITY,
    first: () => ({ page: 0 }),
    request: (_cursor: Cursor, ctx: PageContext) => ({ path: ctx.path, params: { ...ctx.params } }),
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
