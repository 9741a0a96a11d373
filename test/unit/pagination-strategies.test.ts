import { describe, expect, it } from 'vitest';
import { afterCursor } from '../../src/pagination/after-cursor.js';
import { nextLink } from '../../src/pagination/next-link.js';
import { pageNumber } from '../../src/pagination/page-number.js';
import { PageShapeError, PaginationLoopError } from '../../src/pagination/types.js';

describe('page-number pagination', () => {
  const s = pageNumber({ firstPage: 0, defaultPageSize: 500, maxPageSize: 500 });
  const ctx = { scope: '1', pageSize: 3, path: '/servers', params: { o: '1' }, baseUrl: 'https://x', first: true };
  it('asks for the next page only after a full one', () => {
    expect(s.request(s.first(ctx), ctx)).toEqual({ path: '/servers', params: { o: '1', limit: 3, page: 0 } });
    expect(s.parse([1, 2, 3], { page: 0 }, ctx).next).toEqual({ page: 1 });
    expect(s.parse([1, 2], { page: 1 }, ctx).next).toBeNull();
    expect(s.parse([], { page: 2 }, ctx)).toEqual({ records: [], next: null });
  });
  it('refuses a body that is not a list', () => {
    expect(() => s.parse({ data: [] }, { page: 0 }, ctx)).toThrow(PageShapeError);
  });
});

describe('nextLink strategy', () => {
  const strategy = nextLink({ sizeParam: 'page_size', defaultPageSize: 100, maxPageSize: 1000 });
  const ctx = { scope: '7', pageSize: 5, path: '/api/organizations/7/devices/', params: {}, baseUrl: 'https://my.famoco.com', first: true };
  const link = (page: number) => `https://my.famoco.com/api/organizations/7/devices/?page=${page}&page_size=5`;

  it('builds the first request from the path, then follows next links until null, with count as total', () => {
    expect(strategy.request(strategy.first(ctx), ctx)).toEqual({ path: '/api/organizations/7/devices/', params: { page_size: 5 } });
    const first = strategy.parse({ count: 12, next: link(2), previous: null, results: [1, 2, 3, 4, 5] }, { url: null, n: 0 }, ctx);
    expect(first).toEqual({ records: [1, 2, 3, 4, 5], next: { url: link(2), n: 1 }, total: 12 });
    expect(strategy.request(first.next!, ctx)).toEqual({ url: link(2) });
    expect(strategy.parse({ count: 12, next: null, previous: link(2), results: [11, 12] }, { url: link(3), n: 2 }, ctx).next).toBeNull();
  });

  it('detects a repeating or backwards next link as a pagination loop, and a wrong body shape', () => {
    expect(() => strategy.parse({ count: 12, next: link(2), results: [] }, { url: link(2), n: 1 }, ctx)).toThrow(PaginationLoopError);
    expect(() => strategy.parse({ count: 12, next: link(1), results: [] }, { url: link(2), n: 1 }, ctx)).toThrow(/goes back from page 2 to page 1/);
    expect(() => strategy.parse({ count: 12, next: link(1), results: [] }, { url: null, n: 0 }, ctx)).toThrow(/current page 1 again/);
    // Links without a page number (DRF cursor pagination) are only checked for repetition.
    expect(strategy.parse({ next: 'https://my.famoco.com/x/?cursor=b', results: [] }, { url: 'https://my.famoco.com/x/?cursor=a', n: 1 }, ctx).next).toEqual({
      url: 'https://my.famoco.com/x/?cursor=b',
      n: 2,
    });
    expect(() => strategy.parse([1, 2], { url: null, n: 0 }, ctx)).toThrow(PageShapeError);
    expect(() => strategy.parse({ results: [], next: 42 }, { url: null, n: 0 }, ctx)).toThrow(PageShapeError);
  });
});

describe('afterCursor strategy', () => {
  const strategy = afterCursor({ defaultPageSize: 50, minPageSize: 2, maxPageSize: 1000 });
  const ctx = { scope: '-', pageSize: 1, path: '/v3/devices', params: { updated_at__gte: '2026-01-01T00:00:00.000Z' }, baseUrl: 'https://api.example.com', first: true };

  it('asks for total_count first, then after the last id; stops when has_more is false', () => {
    expect(strategy.request(strategy.first(ctx), ctx)).toEqual({
      path: '/v3/devices',
      params: { updated_at__gte: '2026-01-01T00:00:00.000Z', limit: 2, order: 'ASC', include: 'total_count' },
    });
    expect(strategy.request({ after: 'b' }, ctx).params).toEqual({ updated_at__gte: '2026-01-01T00:00:00.000Z', limit: 2, order: 'ASC', after: 'b' });
    expect(strategy.parse({ data: [{ id: 'a' }, { id: 'b' }], has_more: true, total_count: 3 }, { after: null }, ctx)).toEqual({
      records: [{ id: 'a' }, { id: 'b' }],
      next: { after: 'b' },
      total: 3,
    });
    expect(strategy.parse({ data: [{ id: 'c' }], has_more: false }, { after: 'b' }, ctx).next).toBeNull();
  });

  it('throws PaginationLoopError when has_more is true but the cursor repeats, whatever the id order', () => {
    expect(() => strategy.parse({ data: [{ id: 'a' }, { id: 'b' }], has_more: true }, { after: 'b' }, ctx)).toThrow(PaginationLoopError);
    expect(strategy.parse({ data: [{ id: 'a' }], has_more: true }, { after: 'b' }, ctx).next).toEqual({ after: 'a' });
    expect(() => strategy.parse({ data: [], has_more: true }, { after: 'b' }, ctx)).toThrow(/empty page/);
    expect(() => strategy.parse({ object: 'error' }, { after: null }, ctx)).toThrow(PageShapeError);
  });
});
