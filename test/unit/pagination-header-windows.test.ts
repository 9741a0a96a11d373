import { describe, expect, it } from 'vitest';
import { coveredInstants, headerCursorWindows } from '../../src/pagination/header-cursor-windows.js';
import { PageShapeError, PaginationLoopError } from '../../src/pagination/types.js';

const DAY = 86_400_000;
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const days = (a: unknown, b: unknown) => (Date.parse(b as string) - Date.parse(a as string)) / DAY + 1;

describe('header-cursor windows (Toggl Reports API v3 search)', () => {
  const s = headerCursorWindows({
    defaultPageSize: 50,
    maxPageSize: 50,
    maxWindowDays: 366,
    cursorHeaders: { 'x-next-row-number': 'first_row_number', 'x-next-id': 'first_id', 'x-next-timestamp': 'first_timestamp' },
    body: { grouped: false },
    defaultHistoryDays: 365,
    originRelative: true,
  });
  const ctx = (params: Record<string, string> = {}) => ({ scope: '7', pageSize: 3, path: '/reports/api/v3/workspace/7/search/time_entries', params, baseUrl: 'https://api.track.toggl.com/api/v9', first: true });

  it('starts a year back (or history_days, or an incremental start_date) and ends two days ahead, in windows of at most 366 days', () => {
    const today = Date.parse(`${date(Date.now())}T00:00:00Z`);
    const c = s.first(ctx());
    expect([c.from, c.to, c.start]).toEqual([date(today - 365 * DAY), date(today + 2 * DAY), date(today - 365 * DAY)]);
    expect(days(c.start, c.end)).toBe(366);
    expect(s.first(ctx({ history_days: '800' })).from).toBe(date(today - 800 * DAY));
    expect(s.first(ctx({ start_date: '2026-01-05', history_days: '800' })).from).toBe('2026-01-05');
    // Walk the windows of 800 days: consecutive, none longer than 366 days, the last ends at `to`.
    let cur = s.first(ctx({ history_days: '800' }));
    const windows: Array<[unknown, unknown]> = [];
    for (;;) {
      windows.push([cur.start, cur.end]);
      const r = s.parse([], cur, ctx(), { headers: {} });
      if (!r.next) break;
      expect(r.next.start).toBe(date(Date.parse(`${cur.end as string}T00:00:00Z`) + DAY));
      cur = r.next;
    }
    expect(windows.length).toBe(3);
    for (const [a, b] of windows) expect(days(a, b)).toBeLessThanOrEqual(366);
    expect(windows.at(-1)![1]).toBe(date(today + 2 * DAY));
  });

  it('POSTs below the origin with the dates, the page size and the position the last headers named', () => {
    const first = s.first(ctx());
    expect(s.request(first, ctx())).toEqual({
      url: 'https://api.track.toggl.com/reports/api/v3/workspace/7/search/time_entries',
      method: 'POST',
      body: { grouped: false, start_date: first.start, end_date: first.end, page_size: 3 },
    });
    const r = s.parse([{ id: 1 }, { id: 2 }, { id: 3 }], first, ctx(), { headers: { 'x-next-row-number': '4', 'x-next-id': '99', 'x-next-timestamp': '1700000000' } });
    expect(r.records).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(r.next).toEqual({ ...first, first_row_number: '4', first_id: '99', first_timestamp: '1700000000' });
    expect(s.request(r.next!, ctx()).body).toEqual({ grouped: false, start_date: first.start, end_date: first.end, page_size: 3, first_row_number: 4, first_id: 99, first_timestamp: 1700000000 });
    // Without the header the window is done: the next window starts without a position.
    const done = s.parse([{ id: 4 }], r.next!, ctx(), { headers: {} });
    expect([done.next?.first_row_number, done.next?.first_id]).toEqual([null, null]);
  });

  it('refuses a body that is not an array, a row number that does not advance, and an empty page that claims more', () => {
    const first = s.first(ctx());
    expect(() => s.parse({ data: [] }, first, ctx(), { headers: {} })).toThrow(PageShapeError);
    const at4 = { ...first, first_row_number: '4' };
    expect(() => s.parse([{ id: 1 }], at4, ctx(), { headers: { 'x-next-row-number': '4' } })).toThrow(PaginationLoopError);
    expect(() => s.parse([{ id: 1 }], at4, ctx(), { headers: { 'x-next-row-number': '2' } })).toThrow(/does not move past the current first_row_number 4/);
    expect(() => s.parse([], first, ctx(), { headers: { 'x-next-row-number': '4' } })).toThrow(/empty page names a next position/);
  });

  it('flattens rows into records', () => {
    const flat = headerCursorWindows({ defaultPageSize: 50, maxPageSize: 50, maxWindowDays: 366, cursorHeaders: { 'x-next-row-number': 'first_row_number' }, defaultHistoryDays: 30, flatten: (row) => (row as { e: unknown[] }).e });
    const c = flat.first(ctx());
    expect(flat.parse([{ e: [1, 2] }, { e: [3] }], c, ctx(), { headers: {} }).records).toEqual([1, 2, 3]);
  });

  it('covers, for the deletion sweep, the instants whose date is in the range in every time zone', () => {
    expect(coveredInstants({ from: '2025-01-01', to: '2026-01-03' })).toEqual({ from: '2025-01-02T00:00:00.000Z', to: '2026-01-03T00:00:00.000Z' });
    expect(coveredInstants({ from: '2025-01-01', to: '2025-01-02' })).toBeNull();
    expect(coveredInstants({ url: null })).toBeNull();
  });
});
