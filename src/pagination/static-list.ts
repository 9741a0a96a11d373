import type { PageStrategy } from './types.js';

/**
 * A list the vendor documents but does not serve (Automox's patch category table):
 * one page, no request, records from the definition.
 */
export function staticList(records: () => unknown[]): PageStrategy & { readonly records: () => unknown[] } {
  return {
    kind: 'static',
    defaultPageSize: 1,
    maxPageSize: 1,
    maxRecords: () => Number.POSITIVE_INFINITY,
    records,
    first: () => ({ page: 0 }),
    request: () => ({}),
    parse: () => ({ records: records(), next: null }),
  };
}
