import { describe, expect, it } from 'vitest';
import { VENDORS } from '../../jobs/index.js';
import { pausedResourceText, runPausedResources, runSkips, syncPauseDecision } from '../../src/sync/paused-resources.js';

describe('resources paused by a plan-restriction 402', () => {
  const paused = new Map([
    ['tasks', { reason: 'tg/tasks workspace 5 page 1: 402 upgrade' }],
    ['time_entries', { reason: 'tg/time_entries workspace 5 page 0: 402 upgrade' }],
  ]);

  it('a run records the paused resources among its own, keeping a reason it recorded before', () => {
    expect(runSkips(['workspaces', 'projects', 'tasks', 'time_entries'], paused)).toEqual({ tasks: 'tg/tasks workspace 5 page 1: 402 upgrade', time_entries: 'tg/time_entries workspace 5 page 0: 402 upgrade' });
    expect(runSkips(['workspaces', 'projects'], paused)).toEqual({});
    expect(runSkips(['tasks', 'time_entries'], paused, { tasks: 'an earlier reason' })).toEqual({ time_entries: 'tg/time_entries workspace 5 page 0: 402 upgrade' });
  });

  it('reads what a run recorded; anything but an object of texts reads as nothing paused', () => {
    expect(runPausedResources({ tasks: 'why', n: 3 })).toEqual({ tasks: 'why' });
    for (const v of [null, undefined, 'tasks', ['tasks'], 7]) expect(runPausedResources(v)).toEqual({});
  });

  it('sync refuses only when every resource named is paused, and otherwise names those it skips', () => {
    const set = new Set(paused.keys());
    const all = ['workspaces', 'projects', 'tasks', 'time_entries'];
    expect(syncPauseDecision(['tasks'], all, set)).toEqual({ refuse: true, skipped: ['tasks'] });
    expect(syncPauseDecision(['tasks', 'time_entries'], all, set)).toEqual({ refuse: true, skipped: ['tasks', 'time_entries'] });
    expect(syncPauseDecision(['tasks', 'projects'], all, set)).toEqual({ refuse: false, skipped: ['tasks'] });
    expect(syncPauseDecision([], all, set)).toEqual({ refuse: false, skipped: ['tasks', 'time_entries'] });
    expect(syncPauseDecision([], ['workspaces'], set)).toEqual({ refuse: false, skipped: [] });
  });

  it('says which resource is paused and why', () => {
    expect(pausedResourceText('tasks', 'tg/tasks workspace 5 page 1: 402 upgrade')).toBe('resource tasks paused: tg/tasks workspace 5 page 1: 402 upgrade');
  });

  it("only Toggl's 402 is a plan restriction of one endpoint; every other vendor's 402 pauses the source", () => {
    expect(Object.entries(VENDORS).map(([name, v]) => [name, v.paymentRequired ?? 'source'])).toEqual(Object.keys(VENDORS).map((name) => [name, name === 'toggl' ? 'resource' : 'source']));
  });
});
