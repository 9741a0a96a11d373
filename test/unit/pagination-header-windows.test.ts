import { describe, expect, it } from 'vitest';
import { coveredInstants, headerCursorWindows } from '../../src/pagination/header-cursor-windows.js';
import { PageShapeError, PaginationLoopError, type Cursor } from '../../src/pagination/types.js';
import { secondsField, type WindowCheck } from '../../src/pagination/window-check.js';

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

  const check: WindowCheck = {
    totalsPath: '/totals',
    entrySeconds: (e) => ((e as { stop?: unknown }).stop === null ? null : (e as { seconds: number }).seconds),
    rowNumber: (r) => (r as { row_number: number }).row_number,
    totalSeconds: secondsField,
  };
  const checked = headerCursorWindows({
    defaultPageSize: 50,
    maxPageSize: 50,
    maxWindowDays: 366,
    cursorHeaders: { 'x-next-row-number': 'first_row_number', 'x-next-id': 'first_id', 'x-next-timestamp': 'first_timestamp' },
    send: ['first_row_number'],
    check,
    body: { grouped: false },
    defaultHistoryDays: 365,
    flatten: (row) => (row as { time_entries: unknown[] }).time_entries.map((e) => ({ ...(row as object), ...(e as object) })),
    originRelative: true,
  });
  const row = (n: number, seconds: number, stop: string | null = '2026-01-01T10:00:00Z') => ({ row_number: n, time_entries: [{ id: 100 + n, seconds, stop }] });
  const more = (n: number) => ({ headers: { 'x-next-row-number': String(n), 'x-next-id': String(100 + n), 'x-next-timestamp': '1700000000' } });
  /** Walks one window of pages (each an array of rows, all but the last naming the next row), then its totals; returns the totals page's result. */
  function walkWindow(cursor: Cursor, pages: unknown[][], totals: unknown) {
    let cur = cursor;
    let n = 1;
    for (const [i, page] of pages.entries()) {
      n += page.length;
      cur = checked.parse(page, cur, ctx(), i < pages.length - 1 ? more(n) : { headers: {} }).next!;
    }
    expect(cur.phase).toBe('totals');
    return { totalsCursor: cur, result: checked.parse(totals, cur, ctx(), { headers: {} }) };
  }

  it('sends back the row number alone and keeps the other position headers in the cursor', () => {
    const first = checked.first(ctx());
    const r = checked.parse([row(1, 60), row(2, 60), row(3, 60)], first, ctx(), more(4));
    expect([r.next!.first_row_number, r.next!.first_id, r.next!.first_timestamp]).toEqual(['4', '104', '1700000000']);
    expect(checked.request(r.next!, ctx()).body).toEqual({ grouped: false, start_date: first.start, end_date: first.end, page_size: 3, first_row_number: 4 });
  });

  it('counts the rows a page holds against the page size, not the entries inside grouped rows', () => {
    const first = checked.first(ctx());
    const grouped = [1, 2, 3].map((n) => ({ row_number: n, time_entries: [{ id: n * 10, seconds: 1, stop: 'x' }, { id: n * 10 + 1, seconds: 1, stop: 'x' }] }));
    expect(checked.parse(grouped, first, ctx(), { headers: {} }).records).toHaveLength(6);
    expect(checked.maxRecords?.(ctx())).toBe(Number.POSITIVE_INFINITY);
    expect(() => checked.parse([...grouped, row(4, 1)], first, ctx(), { headers: {} })).toThrow(/the vendor sent 4 rows where at most 3 were asked for/);
  });

  it('asks for a window\'s totals once its last page is read, then moves on; agreeing figures leave the walk complete', () => {
    const c = checked.first(ctx({ history_days: '500' }));
    const { totalsCursor, result } = walkWindow(c, [[row(1, 60), row(2, 60), row(3, 60)], [row(4, 30)]], { seconds: 210, tracked_days: 1 });
    expect(checked.request(totalsCursor, ctx())).toEqual({
      url: 'https://api.track.toggl.com/reports/api/v3/workspace/7/search/time_entries/totals',
      method: 'POST',
      body: { start_date: c.start, end_date: c.end },
    });
    expect([totalsCursor.window_rows, totalsCursor.window_seconds, totalsCursor.window_last_row, totalsCursor.first_row_number]).toEqual([4, 210, 4, null]);
    expect(result.records).toEqual([]);
    expect(result.incomplete).toBeUndefined();
    expect([result.next!.phase, result.next!.window_rows, result.next!.disagreement]).toEqual([null, 0, null]);
    const last = walkWindow(result.next!, [[]], { seconds: 0 }).result;
    expect([last.next, last.incomplete]).toEqual([null, undefined]);
    expect(() => checked.parse({ total: 5 }, totalsCursor, ctx(), { headers: {} })).toThrow(PageShapeError);
  });

  it('a skipped page (row numbers ahead of the rows read) or seconds the totals disagree with make the walk incomplete, reported on its last page', () => {
    const c = checked.first(ctx({ history_days: '500' }));
    // The vendor's next row skips rows 4..6: the walk reads 4 rows, the last one numbered 7.
    const skipped = walkWindow(c, [[row(1, 60), row(2, 60), row(3, 60)], [row(7, 30)]], { seconds: 390 }).result;
    expect(skipped.next!.disagreement).toBe(`window ${c.start as string}..${c.end as string}: read 4 rows, the vendor numbered 7; its entries hold 210 s, the vendor's totals say 390 s`);
    expect(skipped.incomplete).toBeUndefined();
    // The next window agrees; the walk still ends incomplete, naming the first window.
    const end = walkWindow(skipped.next!, [[row(1, 5)]], { seconds: 5 }).result;
    expect(end.next).toBeNull();
    expect(end.incomplete).toBe(`the vendor's totals disagree with what the walk read: ${skipped.next!.disagreement as string}`);
  });

  it('running entries: the totals may count more time than the walk read, never less; a cursor without a tally is not checked', () => {
    // One window: 300 days of history and two ahead.
    const c = checked.first(ctx({ history_days: '300' }));
    const running = [row(1, 60), row(2, -1700000000, null)];
    expect(walkWindow(c, [running], { seconds: 90 }).result.incomplete).toBeUndefined();
    expect(walkWindow(c, [running], { seconds: 59 }).result.incomplete).toMatch(/its entries hold 60 s \(1 running\), the vendor's totals say 59 s/);
    const legacy: Cursor = { from: c.from!, to: c.to!, start: c.start!, end: c.end!, first_row_number: '51', first_id: null, first_timestamp: null };
    expect(walkWindow(legacy, [[row(51, 5)]], { seconds: 999 }).result.incomplete).toBeUndefined();
  });
});
