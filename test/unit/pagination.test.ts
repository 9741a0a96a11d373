import { describeRequest, requestHash, requestKey } from '../../src/pagination/request-key.js';
import { describe, expect, it } from 'vitest';
import {
  afterCursor,
  atPath,
  describe as describeValue,
  nextLink,
  offsetPages,
  pageNumber,
  pageTotal,
  PageShapeError,
  PaginationLoopError,
  singlePage,
  staticList,
  type PageContext,
} from '../../src/pagination/index.js';

const ctx = (over: Partial<PageContext> = {}): PageContext => ({
  scope: '-',
  pageSize: 3,
  path: '/items',
  params: { q: 'x' },
  baseUrl: 'https://api.example.com/v1',
  first: true,
  ...over,
});

describe('body readers', () => {
  it('reads dot paths and describes values without their content', () => {
    expect(atPath({ a: { b: [1] } }, 'a.b')).toEqual([1]);
    expect(atPath({ a: 1 }, 'a.b')).toBeUndefined();
    expect(atPath([1], '')).toEqual([1]);
    expect(describeValue({ a: 1, b: 2 })).toBe('an object with keys a, b');
    expect(describeValue('secret')).toBe('a string of 6 characters');
  });
});

describe('pageNumber (no metadata)', () => {
  const s = pageNumber({ firstPage: 1, pageParam: 'p', sizeParam: 'per_page', records: 'items', defaultPageSize: 200, maxPageSize: 200 });

  it('sends the page and size params from the first page on', () => {
    expect(s.request(s.first(ctx()), ctx())).toEqual({ path: '/items', params: { q: 'x', per_page: 3, p: 1 } });
  });
  it('continues after a full page and ends on a short or empty one', () => {
    expect(s.parse({ items: [1, 2, 3] }, { page: 1 }, ctx())).toEqual({ records: [1, 2, 3], next: { page: 2 } });
    expect(s.parse({ items: [4] }, { page: 2 }, ctx()).next).toBeNull();
    expect(s.parse({ items: [] }, { page: 3 }, ctx()).next).toBeNull();
  });
  it('refuses a body without the records array and a cursor without a page', () => {
    expect(() => s.parse([1, 2, 3], { page: 1 }, ctx())).toThrow(PageShapeError);
    expect(() => s.parse({ items: [] }, { after: 'a' }, ctx())).toThrow(/cursor has no page/);
    expect(() => s.request({ url: null }, ctx())).toThrow(PageShapeError);
  });
});

describe('pageTotal ({data, total, page, limit})', () => {
  const s = pageTotal({ defaultPageSize: 100, maxPageSize: 100 });

  it('sends page then limit and counts the records read', () => {
    expect(s.first(ctx())).toEqual({ page: 1, read: 0 });
    expect(s.request({ page: 2, read: 3 }, ctx())).toEqual({ path: '/items', params: { q: 'x', page: 2, limit: 3 } });
    expect(s.parse({ data: [1, 2, 3], total: 7 }, { page: 1, read: 0 }, ctx())).toEqual({ records: [1, 2, 3], next: { page: 2, read: 3 }, total: 7 });
  });
  it('ends when total is read (no empty extra request), on an empty page, or on a short page without total', () => {
    expect(s.parse({ data: [4, 5, 6], total: 6 }, { page: 2, read: 3 }, ctx()).next).toBeNull();
    expect(s.parse({ data: [], total: 9 }, { page: 3, read: 6 }, ctx())).toEqual({ records: [], next: null, total: 9 });
    expect(s.parse({ data: [1, 2] }, { page: 1, read: 0 }, ctx())).toEqual({ records: [1, 2], next: null });
    expect(s.parse({ data: [1, 2, 3] }, { page: 1, read: 0 }, ctx()).next).toEqual({ page: 2, read: 3 });
  });
  it('ignores a total that is not a non-negative integer, and refuses a body without data', () => {
    expect(s.parse({ data: [1], total: -1 }, { page: 1, read: 0 }, ctx())).toEqual({ records: [1], next: null });
    expect(() => s.parse({ items: [] }, { page: 1, read: 0 }, ctx())).toThrow(/expected an array of records at "data"/);
    expect(() => s.parse({ data: [] }, { page: 1 }, ctx())).toThrow(/cursor has no read/);
  });
});

describe('offsetPages', () => {
  const s = offsetPages({ defaultPageSize: 100, maxPageSize: 100, records: 'rows', total: 'meta.count' });

  it('starts at offset 0 and advances by the records read', () => {
    expect(s.request(s.first(ctx()), ctx())).toEqual({ path: '/items', params: { q: 'x', offset: 0, limit: 3 } });
    expect(s.parse({ rows: [1, 2, 3], meta: { count: 5 } }, { offset: 0 }, ctx())).toEqual({ records: [1, 2, 3], next: { offset: 3 }, total: 5 });
  });
  it('ends at total, on an empty page, or on a short page without total', () => {
    expect(s.parse({ rows: [4, 5], meta: { count: 5 } }, { offset: 3 }, ctx()).next).toBeNull();
    expect(s.parse({ rows: [1, 2, 3], meta: { count: 3 } }, { offset: 0 }, ctx()).next).toBeNull();
    expect(s.parse({ rows: [] }, { offset: 3 }, ctx()).next).toBeNull();
    expect(s.parse({ rows: [1] }, { offset: 3 }, ctx()).next).toBeNull();
  });
  it('refuses a body without the records array and a cursor without an offset', () => {
    expect(() => s.parse({ rows: 'x' }, { offset: 0 }, ctx())).toThrow(PageShapeError);
    expect(() => s.parse({ rows: [] }, { page: 0 }, ctx())).toThrow(/cursor has no offset/);
  });
});

describe('nextLink (DRF defaults)', () => {
  const s = nextLink({ defaultPageSize: 100, maxPageSize: 1000 });
  const c = ctx({ baseUrl: 'https://my.famoco.com' });
  const page = (n: number) => `https://my.famoco.com/api/x/?page=${n}&page_size=3`;
  const offset = (n: number) => `https://my.famoco.com/api/x/?limit=3&offset=${n}`;

  it('builds the first request with page_size, then requests the link as sent', () => {
    expect(s.first(c)).toEqual({ url: null, n: 0 });
    expect(s.request({ url: null, n: 0 }, c)).toEqual({ path: '/items', params: { q: 'x', page_size: 3 } });
    expect(s.request({ url: page(2), n: 1 }, c)).toEqual({ url: page(2) });
  });
  it('follows next with count as total and ends on a null, absent or empty link', () => {
    expect(s.parse({ count: 7, next: page(2), results: [1, 2, 3] }, { url: null, n: 0 }, c)).toEqual({ records: [1, 2, 3], next: { url: page(2), n: 1 }, total: 7 });
    expect(s.parse({ count: 7, next: offset(6), results: [4, 5, 6] }, { url: offset(3), n: 1 }, c).next).toEqual({ url: offset(6), n: 2 });
    expect(s.parse({ count: 7, next: null, results: [7] }, { url: page(3), n: 2 }, c).next).toBeNull();
    expect(s.parse({ results: [7] }, { url: page(3), n: 2 }, c)).toEqual({ records: [7], next: null });
    expect(s.parse({ next: '', results: [] }, { url: null, n: 0 }, c).next).toBeNull();
  });
  it('treats a repeated link, a page= or offset= that does not advance, and a numbered link after an empty page as loops', () => {
    expect(() => s.parse({ next: page(2), results: [1] }, { url: page(2), n: 1 }, c)).toThrow(/repeats the current link/);
    expect(() => s.parse({ next: page(1), results: [1] }, { url: null, n: 0 }, c)).toThrow(/points at the current page 1 again/);
    expect(() => s.parse({ next: page(2), results: [1] }, { url: page(3), n: 2 }, c)).toThrow(/goes back from page 3 to page 2/);
    expect(() => s.parse({ next: offset(0), results: [1] }, { url: null, n: 0 }, c)).toThrow(/points at the current offset 0 again/);
    expect(() => s.parse({ next: offset(3), results: [1] }, { url: offset(6), n: 2 }, c)).toThrow(/goes back from offset 6 to offset 3/);
    expect(() => s.parse({ next: page(3), results: [] }, { url: page(2), n: 1 }, c)).toThrow(/claims more after an empty page/);
    expect(() => s.parse({ next: page(3), results: [] }, { url: page(2), n: 1 }, c)).toThrow(PaginationLoopError);
  });
  it('checks cursor links only for repetition', () => {
    const cur = (v: string) => `https://my.famoco.com/api/x/?cursor=${v}`;
    expect(s.parse({ next: cur('b'), results: [] }, { url: cur('a'), n: 1 }, c).next).toEqual({ url: cur('b'), n: 2 });
    expect(() => s.parse({ next: cur('a'), results: [1] }, { url: cur('a'), n: 1 }, c)).toThrow(PaginationLoopError);
  });
  it('refuses a body without results and a next that is not a string or null', () => {
    expect(() => s.parse([1], { url: null, n: 0 }, c)).toThrow(PageShapeError);
    expect(() => s.parse({ results: [], next: 42 }, { url: null, n: 0 }, c)).toThrow(/"next" is number, expected a URL or null/);
  });
});

describe('nextLink (YAML options)', () => {
  const s = nextLink({ sizeParam: 'limit', defaultPageSize: 100, maxPageSize: 100, records: 'items', next: 'links.next', total: null, resolveLinks: true });

  it('sends its size param and resolves relative links against the base URL', () => {
    expect(s.request(s.first(ctx()), ctx())).toEqual({ path: '/items', params: { q: 'x', limit: 3 } });
    expect(s.parse({ items: [1], links: { next: 'items?page=2' }, count: 9 }, { url: null, n: 0 }, ctx())).toEqual({
      records: [1],
      next: { url: 'https://api.example.com/v1/items?page=2', n: 1 },
    });
    expect(s.parse({ items: [1], links: { next: '/v2/items?page=3' } }, { url: 'https://api.example.com/v1/items?page=2', n: 1 }, ctx()).next).toEqual({
      url: 'https://api.example.com/v2/items?page=3',
      n: 2,
    });
  });
  it('applies the DRF loop checks to resolved links', () => {
    expect(() => s.parse({ items: [1], links: { next: 'items?page=2' } }, { url: 'https://api.example.com/v1/items?page=2', n: 1 }, ctx())).toThrow(PaginationLoopError);
    expect(() => s.parse({ items: [1], links: { next: 'items?offset=0' } }, { url: null, n: 0 }, ctx())).toThrow(/current offset 0/);
  });
  it('refuses a records path that is not an array', () => {
    expect(() => s.parse({ results: [] }, { url: null, n: 0 }, ctx())).toThrow(/at "items"/);
  });
});

describe('afterCursor (Izuma defaults)', () => {
  const s = afterCursor({ defaultPageSize: 1000, minPageSize: 2, maxPageSize: 1000 });
  const c = ctx({ pageSize: 1, params: {} });

  it('asks for total_count first, then after the last id, with order=ASC and the minimum limit', () => {
    expect(s.first(c)).toEqual({ after: null });
    expect(s.request({ after: null }, c)).toEqual({ path: '/items', params: { limit: 2, order: 'ASC', include: 'total_count' } });
    expect(s.request({ after: 'b' }, c)).toEqual({ path: '/items', params: { limit: 2, order: 'ASC', after: 'b' } });
  });
  it('continues while has_more is true and ends when it is not', () => {
    expect(s.parse({ data: [{ id: 'a' }, { id: 'b' }], has_more: true, total_count: 3 }, { after: null }, c)).toEqual({ records: [{ id: 'a' }, { id: 'b' }], next: { after: 'b' }, total: 3 });
    expect(s.parse({ data: [{ id: 'c' }], has_more: false }, { after: 'b' }, c)).toEqual({ records: [{ id: 'c' }], next: null });
    expect(s.parse({ data: [] }, { after: 'b' }, c).next).toBeNull();
  });
  it('treats has_more on an empty page and a repeated cursor as loops, and assumes no id order', () => {
    expect(() => s.parse({ data: [], has_more: true }, { after: 'b' }, c)).toThrow(/has_more is true on an empty page/);
    expect(() => s.parse({ data: [{ id: 'b' }], has_more: true }, { after: 'b' }, c)).toThrow('pagination loop: the next cursor repeats after=b');
    // Izuma documents no id order: an id that sorts before the cursor is a next cursor like any other.
    expect(s.parse({ data: [{ id: 'c' }, { id: 'a' }], has_more: true }, { after: 'b' }, c).next).toEqual({ after: 'a' });
  });
  it('refuses a body without data and has_more with no last id', () => {
    expect(() => s.parse({ object: 'error' }, { after: null }, c)).toThrow(PageShapeError);
    expect(() => s.parse({ data: [{ name: 'x' }], has_more: true }, { after: null }, c)).toThrow(/has_more is true but the page has no id in its last record/);
  });
});

describe('afterCursor (YAML options)', () => {
  const base = { cursorParam: 'cursor', defaultPageSize: 100, maxPageSize: 100, params: {}, firstParams: {}, records: 'items', hasMore: null, total: null };

  it('sends only the size and, after the first page, the cursor', () => {
    const s = afterCursor(base);
    expect(s.request({ after: null }, ctx())).toEqual({ path: '/items', params: { q: 'x', limit: 3 } });
    expect(s.request({ after: 'k' }, ctx())).toEqual({ path: '/items', params: { q: 'x', limit: 3, cursor: 'k' } });
  });
  it('last-id cursor: numeric ids as text, a short or empty page ends, a repeated id is a loop', () => {
    const s = afterCursor(base);
    expect(s.parse({ items: [{ id: 9 }, { id: 10 }, { id: 11 }] }, { after: null }, ctx())).toEqual({ records: [{ id: 9 }, { id: 10 }, { id: 11 }], next: { after: '11' } });
    expect(s.parse({ items: [{ id: 12 }] }, { after: '11' }, ctx()).next).toBeNull();
    expect(s.parse({ items: [] }, { after: '11' }, ctx()).next).toBeNull();
    expect(s.parse({ items: [{ id: 1 }, { id: 2 }, {}] }, { after: null }, ctx()).next).toBeNull();
    expect(() => s.parse({ items: [{ id: 1 }, { id: 2 }, { id: 3 }] }, { after: '3' }, ctx())).toThrow(/repeats after=3/);
  });
  it('body cursor: continues while present on a non-empty page, a repeated one is a loop', () => {
    const s = afterCursor({ ...base, cursor: 'meta.next' });
    expect(s.parse({ items: [1], meta: { next: 'k2' } }, { after: 'k1' }, ctx()).next).toEqual({ after: 'k2' });
    expect(s.parse({ items: [1], meta: {} }, { after: 'k1' }, ctx()).next).toBeNull();
    expect(s.parse({ items: [], meta: { next: 'k2' } }, { after: 'k1' }, ctx()).next).toBeNull();
    expect(() => s.parse({ items: [1], meta: { next: 'k1' } }, { after: 'k1' }, ctx())).toThrow(PaginationLoopError);
  });
  it('has-more flag: decides alone; claiming more on an empty page is a loop, without a cursor a shape error', () => {
    const s = afterCursor({ ...base, cursor: 'next', hasMore: 'more', total: 'n' });
    expect(s.parse({ items: [1], next: 'k2', more: true, n: 4 }, { after: 'k1' }, ctx())).toEqual({ records: [1], next: { after: 'k2' }, total: 4 });
    expect(s.parse({ items: [1], next: 'k2', more: false }, { after: 'k1' }, ctx()).next).toBeNull();
    expect(() => s.parse({ items: [], next: 'k2', more: true }, { after: 'k1' }, ctx())).toThrow(/more is true on an empty page/);
    expect(() => s.parse({ items: [1], more: true }, { after: 'k1' }, ctx())).toThrow(/more is true but the page has no cursor at "next"/);
  });
});

describe('singlePage', () => {
  it('sends one request with the resource params and takes the list whole', () => {
    const s = singlePage({ records: 'data' });
    expect(s.request(s.first(ctx()), ctx())).toEqual({ path: '/items', params: { q: 'x' } });
    expect(s.parse({ data: [1, 2, 3, 4] }, { page: 0 }, ctx())).toEqual({ records: [1, 2, 3, 4], next: null, total: 4 });
    expect(() => s.parse({ data: {} }, { page: 0 }, ctx())).toThrow(PageShapeError);
  });
  it('single: takes one object as a one-record page and refuses anything else', () => {
    const s = singlePage({ single: true });
    expect(s.parse({ id: 'me' }, { page: 0 }, ctx())).toEqual({ records: [{ id: 'me' }], next: null, total: 1 });
    expect(() => s.parse([{ id: 'me' }], { page: 0 }, ctx())).toThrow(/expected one object, got an array of 1/);
    expect(() => s.parse(null, { page: 0 }, ctx())).toThrow(PageShapeError);
  });
});

describe('staticList', () => {
  it('is the static kind and yields its records in one page, without a request', () => {
    const s = staticList(() => [{ id: 1 }]);
    expect(s.kind).toBe('static');
    expect(s.request(s.first(ctx()), ctx())).toEqual({});
    expect(s.parse(null, { page: 0 }, ctx())).toEqual({ records: [{ id: 1 }], next: null });
  });
});

describe('requestKey / requestHash / describeRequest', () => {
  it('are the same for the same request whatever the param order, and differ when anything asked for differs', () => {
    const a = { path: '/v3/devices', params: { limit: 5, order: 'ASC', after: 'x' } };
    const b = { path: '/v3/devices', params: { after: 'x', order: 'ASC', limit: '5' } };
    expect(requestKey(a)).toBe(requestKey(b));
    expect(requestHash(a)).toMatch(/^[0-9a-f]{32}$/);
    expect(requestHash(a)).toBe(requestHash(b));
    expect(requestHash({ ...a, params: { ...a.params, after: 'y' } })).not.toBe(requestHash(a));
    expect(requestHash({ url: 'https://x.test/a?cursor=1' })).not.toBe(requestHash({ url: 'https://x.test/a?cursor=2' }));
    expect(describeRequest(a)).toBe('/v3/devices?after=x&limit=5&order=ASC');
    expect(describeRequest({ url: 'https://x.test/a?cursor=1' })).toBe('https://x.test/a?cursor=1');
  });
});
