/**
 * The five pagination styles the chaos serves (see chaos.ts for what each may do): which page a
 * request asks for, the page each style answers, and the `rest` source block that walks it.
 */
import type { SimRequest } from './http-sim.js';
import type { ChaosRecord } from './chaos-store.js';

/** The pagination styles the chaos serves. */
export const CHAOS_STYLES = ['page', 'offset', 'next', 'after', 'envelope'] as const;
export type ChaosStyle = (typeof CHAOS_STYLES)[number];

/** Styles whose pages are positions: a change before the walk's position shifts later records. */
export function isPositional(style: ChaosStyle): boolean {
  return style !== 'after';
}

/** The page a list request asks for, as a key of the request's count within a walk. */
export function pageKey(style: ChaosStyle, q: URLSearchParams): string {
  switch (style) {
    case 'page':
    case 'envelope':
    case 'next':
      return `page=${q.get('page') ?? '1'}`;
    case 'offset':
      return `offset=${q.get('offset') ?? '0'}`;
    case 'after':
      return `after=${q.get('after') ?? ''}`;
  }
}

/** A page's records (copies, which a glitch may replace) and the body that carries them. */
export interface ChaosPage {
  records: unknown[];
  body: unknown;
}

/** The page of `items` (listing order) that `req` asks for, in `style`. */
export function chaosPage(style: ChaosStyle, ask: { items: readonly ChaosRecord[]; req: SimRequest; limit: number }): ChaosPage {
  const { items, req, limit } = ask;
  const q = req.query;
  const copy = (rs: ChaosRecord[]): unknown[] => rs.map((r) => structuredClone(r));
  switch (style) {
    case 'page': {
      const page = Number(q.get('page') ?? '0');
      const records = copy(items.slice(page * limit, (page + 1) * limit));
      return { records, body: records };
    }
    case 'offset': {
      const offset = Number(q.get('offset') ?? '0');
      const records = copy(items.slice(offset, offset + limit));
      return { records, body: records };
    }
    case 'envelope': {
      const page = Number(q.get('page') ?? '1');
      const records = copy(items.slice((page - 1) * limit, page * limit));
      return { records, body: { data: records, total: items.length, page, limit } };
    }
    case 'next': {
      const page = Number(q.get('page') ?? '1');
      const records = copy(items.slice((page - 1) * limit, page * limit));
      const link = (p: number) => `${req.origin}/items?limit=${limit}&page=${p}`;
      const next = page * limit < items.length ? link(page + 1) : null;
      const previous = page > 1 ? link(page - 1) : null;
      return { records, body: { count: items.length, next, previous, results: records } };
    }
    case 'after': {
      const after = q.get('after');
      const from = after === null ? 0 : items.findIndex((r) => Number(r.id) > Number(after));
      const rest = from < 0 ? [] : items.slice(from);
      const records = copy(rest.slice(0, limit));
      return { records, body: { object: 'list', limit, order: 'ASC', after, has_more: rest.length > limit, data: records } };
    }
  }
}

/** The `rest` source block that walks a ChaosSimulator of `style` with pages of `pageSize`. */
export function chaosRestBlock(style: ChaosStyle, pageSize: number): Record<string, unknown> {
  const pagination: Record<ChaosStyle, Record<string, unknown>> = {
    page: { type: 'short-page', firstPage: 0, limit: pageSize },
    offset: { type: 'offset', limit: pageSize },
    envelope: { type: 'page', limit: pageSize },
    next: { type: 'next', limit: pageSize, total: 'count' },
    after: { type: 'after', limit: pageSize, hasMore: 'has_more' },
  };
  return {
    auth: { type: 'bearer' },
    rateLimitBackoffMs: 100,
    resources: [
      {
        name: 'items',
        path: '/items',
        item: '/items/{id}',
        table: 'devices',
        pagination: pagination[style],
        map: { name: 'name', serial_number: 'serial', vendor_updated_at: 'updated_at' },
      },
    ],
  };
}
