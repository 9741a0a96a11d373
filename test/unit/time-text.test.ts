import { describe, expect, it } from 'vitest';
import { formatDuration, formatInstant } from '../../src/time-text.js';

describe('time-text', () => {
  it('prints a duration the one way runs, the dashboard and the progress lines show it', () => {
    expect([0.85, 42, 98, 185, 7440, null, Number.NaN].map(formatDuration)).toEqual(['850ms', '42s', '1m 38s', '3m 05s', '2h 04m', '-', '-']);
  });

  it('rounds to whole seconds before splitting minutes, never "1m 60s"', () => {
    expect(formatDuration(119.6)).toBe('2m 00s');
  });

  it('prints an instant in UTC to the second', () => {
    expect([formatInstant(new Date('2026-11-24T08:27:00.123Z')), formatInstant('2026-11-24T08:27:00.000Z'), formatInstant(null)]).toEqual(['2026-11-24 08:27:00Z', '2026-11-24 08:27:00Z', '-']);
  });
});
