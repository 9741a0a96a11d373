import { describe, expect, it } from 'vitest';
import { parseAsOf } from '../../src/reporting/as-of.js';
import pg from 'pg';
import { formatDuration, formatInstant } from '../../src/time-text.js';
import { formatReport } from '../../src/reporting/format.js';
import { keepsHistory } from '../../src/warehouse/history.js';

describe('parseAsOf', () => {
  const now = new Date('2026-11-23T08:00:00Z');
  it('a date is the end of that UTC day: the next midnight', () => {
    expect(parseAsOf('2026-11-01', now).toISOString()).toBe('2026-11-02T00:00:00.000Z');
    expect(parseAsOf('2024-02-29', now).toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(parseAsOf('2026-11-23', now).toISOString()).toBe('2026-11-24T00:00:00.000Z');
  });
  it('a time with a zone is that instant, in UTC', () => {
    expect(parseAsOf('2026-11-01T12:00:00Z', now).toISOString()).toBe('2026-11-01T12:00:00.000Z');
    expect(parseAsOf('2026-11-01T12:00:00+0100', now).toISOString()).toBe('2026-11-01T11:00:00.000Z');
    expect(parseAsOf('2026-11-01T12:00+01:00', now).toISOString()).toBe('2026-11-01T11:00:00.000Z');
  });
  it('refuses impossible dates, times without a zone, other shapes and the future', () => {
    expect(() => parseAsOf('2026-02-30', now)).toThrow('--as-of 2026-02-30: no such date');
    expect(() => parseAsOf('2026-11-01T12:00:00', now)).toThrow('expected a date YYYY-MM-DD');
    expect(() => parseAsOf('yesterday', now)).toThrow('--as-of yesterday: expected');
    expect(() => parseAsOf('2026-11-24', now)).toThrow('--as-of 2026-11-24: is in the future');
    expect(() => parseAsOf('2026-11-23T09:00:00Z', now)).toThrow('is in the future');
  });
});

describe('formatReport', () => {
  const rows = {
    columns: ['name', 'n', 'at', 'tags', 'none'],
    rows: [
      { name: 'a, "quoted"', n: 2, at: new Date('2026-11-01T00:00:00Z'), tags: ['x'], none: null },
      { name: 'line\nbreak', n: 10, at: null, tags: [], none: undefined },
    ],
  };
  it('writes RFC 4180 CSV with a header row', () => {
    expect(formatReport(rows, 'csv')).toBe('name,n,at,tags,none\n"a, ""quoted""",2,2026-11-01T00:00:00.000Z,x,\n"line\nbreak",10,,,');
  });
  it('writes JSON objects in column order with ISO times and nulls', () => {
    expect(JSON.parse(formatReport(rows, 'json'))).toEqual([
      { name: 'a, "quoted"', n: 2, at: '2026-11-01T00:00:00.000Z', tags: ['x'], none: null },
      { name: 'line\nbreak', n: 10, at: null, tags: [], none: null },
    ]);
  });
  it('aligns a text table and counts the rows', () => {
    const out = formatReport({ columns: ['k', 'value'], rows: [{ k: 'long key', value: 1 }, { k: 'b', value: 22 }] }, 'table');
    expect(out.split('\n')).toEqual(['k         value', '--------  -----', 'long key  1', 'b         22', '(2 rows)']);
  });
  it('gives durations (Postgres intervals) as seconds in JSON and CSV and as `runs` shows them in a table, never quoted', () => {
    const interval = pg.types.getTypeParser(pg.types.builtins.INTERVAL);
    const dur = { columns: ['resource', 'took', 'lag', 'at'], rows: [{ resource: 'devices', took: interval('00:00:00.319809'), lag: interval('1 day 02:03:04.5'), at: new Date('2026-11-23T07:50:54.123Z') }] };
    expect(JSON.parse(formatReport(dur, 'json'))).toEqual([{ resource: 'devices', took: 0.319809, lag: 93784.5, at: '2026-11-23T07:50:54.123Z' }]);
    expect(formatReport(dur, 'csv')).toBe('resource,took,lag,at\ndevices,0.319809,93784.5,2026-11-23T07:50:54.123Z');
    expect(formatReport(dur, 'table').split('\n')[2]).toBe('devices   320ms  26h 03m  2026-11-23 07:50:54Z');
    expect(JSON.parse(formatReport({ columns: ['lag'], rows: [{ lag: interval('-00:05:00') }] }, 'json'))).toEqual([{ lag: -300 }]);
  });
});

describe('formatDuration and formatInstant: the one way durations and instants read', () => {
  it('rounds once, so 59.6 s is 1m 00s, never 60s or 0m 60s', () => {
    expect([0.85, 42.2, 59.6, 185, 7440, null].map(formatDuration)).toEqual(['850ms', '42s', '1m 00s', '3m 05s', '2h 04m', '-']);
    expect(formatInstant('2026-11-23T07:50:54.999Z')).toBe('2026-11-23 07:50:54Z');
    expect(formatInstant(null)).toBe('-');
  });
});

describe('keepsHistory', () => {
  it('keeps devices and packages always, other tables when the source opts in', () => {
    expect(keepsHistory('devices', undefined)).toBe(true);
    expect(keepsHistory('packages', [])).toBe(true);
    expect(keepsHistory('users', undefined)).toBe(false);
    expect(keepsHistory('users', ['users'])).toBe(true);
    expect(keepsHistory('projects', ['users'])).toBe(false);
  });
});
