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

  it('strips NUL characters that Postgres refuses, and says so', () => {
    expect(stripNul({ a: ['x\u0000y', 1], 'k\u0000': null })).toEqual({ value: { a: ['xy', 1], k: null }, repaired: true });
    const clean = { a: 'b' };
    expect(stripNul(clean)).toEqual({ value: clean, repaired: false });
  });
});
