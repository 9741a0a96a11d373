import { describe, expect, it } from 'vitest';
import { BACKFILL_PRIORITY, FULL_WALK, needsHistory, pagePriority, planWalks, type PlanInput } from '../../src/sync/walk-plan.js';

const DAY = 86_400_000;
const now = Date.parse('2026-11-20T12:00:00Z');
const base: PlanInput = { scopes: ['a', 'b'], runMode: 'incremental', runSince: null, incremental: true, overlapMs: 300_000, fullWalkEveryMs: 7 * DAY, now, history: [] };

describe('planWalks', () => {
  it('plans full walks for a full run, or for a resource that cannot filter by date', () => {
    expect(planWalks({ ...base, runMode: 'full' }).get('a')).toEqual(FULL_WALK);
    expect(planWalks({ ...base, incremental: false }).get('b')).toEqual(FULL_WALK);
    expect(needsHistory({ ...base, runMode: 'full' })).toBe(false);
    expect(needsHistory({ ...base, scopes: [] })).toBe(false);
    expect(needsHistory(base)).toBe(true);
  });

  it('goes incremental from the mark minus the overlap when a recent full walk succeeded', () => {
    const mark = new Date(now - DAY);
    const plans = planWalks({ ...base, history: [{ scope: 'a', mark, lastFull: new Date(now - 2 * DAY) }] });
    expect(plans.get('a')).toEqual({ mode: 'incremental', since: new Date(mark.getTime() - 300_000), mark });
    expect(plans.get('b')).toEqual(FULL_WALK);
  });

  it('falls back to a full walk when the last full walk is older than fullWalkEvery, or there is no mark', () => {
    const mark = new Date(now - DAY);
    expect(planWalks({ ...base, history: [{ scope: 'a', mark, lastFull: new Date(now - 8 * DAY) }] }).get('a')).toEqual(FULL_WALK);
    expect(planWalks({ ...base, history: [{ scope: 'a', mark: null, lastFull: new Date(now - DAY) }] }).get('a')).toEqual(FULL_WALK);
    expect(planWalks({ ...base, history: [{ scope: 'a', mark, lastFull: null }] }).get('a')).toEqual(FULL_WALK);
  });

  it('ignores history of scopes the run does not walk', () => {
    const plans = planWalks({ ...base, history: [{ scope: 'zz', mark: new Date(now), lastFull: new Date(now) }] });
    expect([...plans.keys()]).toEqual(['a', 'b']);
  });

  it('gives every walk of a backfill --since the date, incremental only where the vendor filters', () => {
    const since = new Date('2026-01-01T00:00:00Z');
    expect(planWalks({ ...base, runMode: 'full', runSince: since }).get('a')).toEqual({ mode: 'incremental', since, mark: null });
    expect(planWalks({ ...base, runSince: since, incremental: false }).get('b')).toEqual({ mode: 'full', since, mark: null });
    expect(needsHistory({ ...base, runSince: since })).toBe(false);
  });
});

describe('pagePriority', () => {
  it('puts backfill pages behind everything else and leaves other runs unprioritized', () => {
    expect(pagePriority('backfill')).toBe(BACKFILL_PRIORITY);
    expect(pagePriority('sync')).toBeUndefined();
    expect(pagePriority('schedule:nightly')).toBeUndefined();
  });
});
