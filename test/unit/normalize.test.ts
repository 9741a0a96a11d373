import { describe, expect, it } from 'vitest';
import { stripNul, toTimestamp } from '../../src/normalize.js';

describe('normalize', () => {
  it('parses vendor timestamps', () => {
    expect(toTimestamp('2025-01-22T22:18:21+0000')).toBe('2025-01-22T22:18:21.000Z');
    expect(toTimestamp('2025-01-22T23:18:21+0100')).toBe('2025-01-22T22:18:21.000Z');
    expect(toTimestamp('2016-11-30T16:25:12.1234Z')).toBe('2016-11-30T16:25:12.123Z');
    expect(toTimestamp('20161130T162512Z')).toBe('2016-11-30T16:25:12.000Z');
    expect(toTimestamp('2025-01-22 22:18:21+00:00')).toBe('2025-01-22T22:18:21.000Z');
    expect(toTimestamp(1_700_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(toTimestamp('yesterday')).toBeNull();
    expect(toTimestamp(null)).toBeNull();
  });

  // One test per vendor time format: every one lands as the same UTC instant.
  it('gives for a UTC time exactly what Date gives, over every day of leap and common years and the edges of each field', () => {
    // What toTimestamp did for these shapes before it built UTC texts from their digits.
    const viaDate = (s: string): string | null => {
      const ms = Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
      return Number.isNaN(ms) ? null : new Date(ms).toISOString();
    };
    const p2 = (n: number) => String(n).padStart(2, '0');
    const checked: string[] = [];
    for (const year of [1999, 2000, 2023, 2024, 2100]) {
      for (let month = 1; month <= 12; month++) {
        for (let day = 1; day <= 31; day++) {
          for (const [time, zone] of [
            ['00:00:00', 'Z'],
            ['23:59:59.999', '+0000'],
            ['12:30:05', '+00:00'],
            ['07:08:09.120', '-00:00'],
            ['24:00:00', 'Z'],
            ['10:60:00', 'Z'],
            ['10:00:60', '-0000'],
            ['10:00:00.5', 'Z'],
            ['10:00:00.1234', 'Z'],
            ['10:00:00', '+0130'],
          ] as const) {
            checked.push(`${year}-${p2(month)}-${p2(day)}T${time}${zone}`);
          }
        }
      }
    }
    checked.push('2024-13-01T00:00:00Z', '2024-00-10T00:00:00Z', '2024-01-00T00:00:00Z', '0000-01-01T00:00:00Z', '2024-01-01T00:00:00+00:0', '2024-01-01T00:00:00ZZ');
    const differ = checked.filter((s) => toTimestamp(s) !== viaDate(s));
    expect(differ).toEqual([]);
    expect(checked.length).toBeGreaterThan(18_000);
  });

  describe('toTimestamp formats', () => {
    it('"+0000" offsets without a colon (Automox)', () => {
      expect(toTimestamp('2025-01-22T22:18:21+0000')).toBe('2025-01-22T22:18:21.000Z');
      expect(toTimestamp('2025-01-22T17:48:21-0430')).toBe('2025-01-22T22:18:21.000Z');
    });
    it('RFC 3339 with fractions, in Z or with an offset (Izuma, Famoco, Toggl)', () => {
      expect(toTimestamp('2025-01-22T22:18:21.5Z')).toBe('2025-01-22T22:18:21.500Z');
      expect(toTimestamp('2025-01-22T22:18:21.123456789Z')).toBe('2025-01-22T22:18:21.123Z');
      expect(toTimestamp('2025-01-23T00:18:21.123456+02:00')).toBe('2025-01-22T22:18:21.123Z');
      expect(toTimestamp('2025-01-22T22:18:21+00:00')).toBe('2025-01-22T22:18:21.000Z');
    });
    it('unix seconds and milliseconds, as numbers or digit strings', () => {
      expect(toTimestamp(1_737_584_301)).toBe('2025-01-22T22:18:21.000Z');
      expect(toTimestamp(1_737_584_301.25)).toBe('2025-01-22T22:18:21.250Z');
      expect(toTimestamp(1_737_584_301_123)).toBe('2025-01-22T22:18:21.123Z');
      expect(toTimestamp('1737584301')).toBe('2025-01-22T22:18:21.000Z');
      expect(toTimestamp('1737584301123')).toBe('2025-01-22T22:18:21.123Z');
    });
    it('a date-time without an offset is UTC, whatever the machine zone', () => {
      const tz = process.env.TZ;
      process.env.TZ = 'America/New_York';
      try {
        expect(toTimestamp('2025-01-22 22:18:21')).toBe('2025-01-22T22:18:21.000Z');
        expect(toTimestamp('2025-01-22T22:18:21.5')).toBe('2025-01-22T22:18:21.500Z');
        expect(toTimestamp('2025-01-22T22:18')).toBe('2025-01-22T22:18:00.000Z');
      } finally {
        if (tz === undefined) delete process.env.TZ;
        else process.env.TZ = tz;
      }
    });
    it('compact ISO 8601 (Izuma filters) and garbage', () => {
      expect(toTimestamp('20250122T221821Z')).toBe('2025-01-22T22:18:21.000Z');
      expect(toTimestamp('2025-13-40T00:00:00Z')).toBeNull();
      expect(toTimestamp('12345')).toBeNull();
      expect(toTimestamp(true)).toBeNull();
    });
  });

  it('strips NUL characters that Postgres refuses, and says so', () => {
    expect(stripNul({ a: ['x\u0000y', 1], 'k\u0000': null })).toEqual({ value: { a: ['xy', 1], k: null }, repaired: true });
    const clean = { a: 'b' };
    expect(stripNul(clean)).toEqual({ value: clean, repaired: false });
  });
});

describe('boundedJson', () => {
  it('writes what JSON.stringify writes, without recursion, and cuts at the limit', async () => {
    const { boundedJson } = await import('../../src/normalize.js');
    const v = { a: [1, 'x"\ud800', null, undefined, { b: true, c: undefined }], 'k\n': -0.5, e: {}, f: [], g: Number.NaN };
    expect(boundedJson(v)).toEqual({ text: JSON.stringify(v), cut: false });
    expect(boundedJson(v, 10)).toEqual({ text: JSON.stringify(v).slice(0, 10), cut: true });
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    const { text, cut } = boundedJson(deep, 1000);
    expect([text, cut]).toEqual(['['.repeat(1000), true]);
  });
});
