import { describe, expect, it } from 'vitest';
import { formatWalkLine, walkRate } from '../../src/progress.js';

describe('progress lines', () => {
  it('progress lines carry pages, rows, rate and an ETA from the total', () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const w = { id: '1', resource: 'devices', scope: '42', status: 'running', pages: 3, records: 100, total: 300, startedAt: new Date(now - 10_000), updatedAt: new Date(now), finishedAt: null };
    expect(walkRate(w, now)).toEqual({ rate: 10, etaSeconds: 20 });
    expect(formatWalkLine(w, now, 10)).toBe('devices 42               [###-------] 100/300 rows  3 pages  10.0 rows/s  ETA 20s');
    expect(formatWalkLine({ ...w, total: null }, now)).toBe('devices 42               100 rows  3 pages  10.0 rows/s');
    expect(formatWalkLine({ ...w, status: 'succeeded', finishedAt: new Date(now) }, now, 10)).toContain('succeeded');
  });
});
