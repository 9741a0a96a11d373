import { describe, expect, it } from 'vitest';
import { formatWait, formatWalkLine, walkRate } from '../../src/progress.js';

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

describe('progress without a vendor total, and while a lane waits', () => {
  const now = Date.parse('2026-01-01T00:00:10Z');
  const w = { id: '1', resource: 'devices', scope: '42', status: 'running', pages: 3, records: 100, total: null, startedAt: new Date(now - 10_000), updatedAt: new Date(now), finishedAt: null };

  it('estimates the bar and ETA from the last complete walk when the vendor gives no total', () => {
    expect(walkRate({ ...w, estimate: 300 }, now)).toEqual({ rate: 10, etaSeconds: 20 });
    expect(formatWalkLine({ ...w, estimate: 300 }, now, 10)).toBe('devices 42               [###-------] 100/~300 rows  3 pages  10.0 rows/s  ETA 20s');
    // A vendor total wins over the estimate.
    expect(formatWalkLine({ ...w, total: 200, estimate: 300 }, now, 10)).toContain('[#####-----] 100/200 rows');
  });

  it('says what the walk waits for, and for how long', () => {
    const waiting = { ...w, waitingUntil: new Date(now + 40_000), lane: 'servers lane (29/min)' };
    expect(formatWait({ ...waiting, waitingReason: 'lane rate limit' }, now)).toBe('waiting 40 s for the servers lane (29/min)');
    expect(formatWalkLine({ ...waiting, waitingReason: '429 from vendor (request r-1)' }, now)).toBe('devices 42               100 rows  3 pages  10.0 rows/s  waiting 40 s for the servers lane (29/min): 429 from vendor (request r-1)');
    expect(formatWait({ ...waiting, waitingReason: null }, now + 40_000)).toBeNull();
    expect(formatWait({ ...waiting, status: 'succeeded' }, now)).toBeNull();
  });
});
