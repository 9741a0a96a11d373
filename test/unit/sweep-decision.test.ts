import { describe, expect, it } from 'vitest';
import { decideSweep, type SweepFacts } from '../../src/sync/sweep-decision.js';
import { sampleIds } from '../../src/queue/missed-rows.js';
import { VENDORS } from '../../jobs/index.js';
import { deletePolicyOf, resolveSources } from '../../src/sources.js';
import { parseConfig } from '../../src/config.js';

/** A quiet complete walk of org 101: 1000 devices, all seen. */
const base: SweepFacts = { deletes: 'confirm', maxDeleteShare: 0.5, seen: 1000, totalMax: null, unidentified: 0, present: 1000, unseen: 0, agreesWithHold: false, perId: null, label: 'devices of org 101' };

describe('decideSweep', () => {
  it('sweeps a walk that missed nothing or a small share', () => {
    expect(decideSweep(base)).toEqual({ outcome: 'swept', reason: null });
    expect(decideSweep({ ...base, seen: 990, unseen: 10 })).toEqual({ outcome: 'swept', reason: null });
    // Exactly the share is allowed; one more is held.
    expect(decideSweep({ ...base, seen: 500, unseen: 500 }).outcome).toBe('swept');
    expect(decideSweep({ ...base, seen: 499, unseen: 501 }).outcome).toBe('held');
  });

  it('holds a scope listed empty that had rows, with the message the walk records', () => {
    expect(decideSweep({ ...base, seen: 0, unseen: 1000 })).toEqual({ outcome: 'held', reason: 'held: would delete 1000 of 1000 devices of org 101 (listed empty)' });
    // Even when the share would allow it, and even for one row.
    expect(decideSweep({ ...base, maxDeleteShare: 1, seen: 0, present: 1, unseen: 1 }).outcome).toBe('held');
  });

  it('holds more than maxDeleteShare of the present rows, naming the share', () => {
    expect(decideSweep({ ...base, maxDeleteShare: 0.1, seen: 800, unseen: 200 })).toEqual({ outcome: 'held', reason: 'held: would delete 200 of 1000 devices of org 101 (more than maxDeleteShare 0.1)' });
  });

  it('without a per-id GET, applies the held rows when a second complete walk agrees, unless the hold covers the whole scope', () => {
    expect(decideSweep({ ...base, seen: 200, unseen: 800, agreesWithHold: true })).toEqual({
      outcome: 'applied',
      reason: 'applied the held sweep: a second complete walk missed the same 800 of 1000 devices of org 101',
    });
    // Listed empty twice: two glitches in a row look exactly like this; only a person applies it.
    expect(decideSweep({ ...base, seen: 0, unseen: 1000, agreesWithHold: true })).toEqual({
      outcome: 'held',
      reason: 'held: a second complete walk missed the same 1000 of 1000 devices of org 101; a hold of a whole scope is applied only by fleetsync sweep --confirm',
    });
    // Agreement only matters for a walk the guard would hold.
    expect(decideSweep({ ...base, seen: 999, unseen: 1, agreesWithHold: true }).outcome).toBe('swept');
  });

  it('with a per-id GET, an agreeing walk applies the hold only to rows the vendor answered 404/410 for', () => {
    const again = { ...base, seen: 0, unseen: 1000, agreesWithHold: true };
    expect(decideSweep({ ...again, perId: { gone: 0, present: 10 } })).toEqual({
      outcome: 'held',
      reason: 'held: a second complete walk missed the same 1000 of 1000 devices of org 101, but the vendor still has 10 of those it was asked about (per-id GET answered 2xx); nothing marked',
    });
    expect(decideSweep({ ...again, perId: { gone: 0, present: 0 } }).reason).toBe('held: a second complete walk missed the same 1000 of 1000 devices of org 101, but the vendor confirmed none gone (no 404/410 answered); nothing marked');
    expect(decideSweep({ ...again, perId: { gone: 999, present: 1 } })).toEqual({
      outcome: 'applied',
      reason: 'applied the held sweep where the vendor confirmed it: a second complete walk missed the same 1000 of 1000 devices of org 101; 999 answered 404/410, 1 it still has kept',
    });
    // A first hold is a hold whatever the vendor said.
    expect(decideSweep({ ...again, agreesWithHold: false, perId: { gone: 1000, present: 0 } }).outcome).toBe('held');
  });

  it('marks a walk inconsistent when its own check found the vendor\'s totals disagreeing, whatever it missed', () => {
    const incomplete = "the vendor's totals disagree with what the walk read: window 2026-01-01..2026-12-31: read 50 rows, the vendor numbered 100";
    expect(decideSweep({ ...base, seen: 995, unseen: 5, incomplete })).toEqual({ outcome: 'inconsistent', reason: `inconsistent: ${incomplete}; nothing of devices of org 101 marked` });
    expect(decideSweep({ ...base, incomplete }).outcome).toBe('inconsistent');
    expect(decideSweep({ ...base, incomplete: null }).outcome).toBe('swept');
  });

  it('marks a walk inconsistent when it saw fewer distinct ids than the largest total reported', () => {
    expect(decideSweep({ ...base, seen: 995, unseen: 5, totalMax: 1000 })).toEqual({
      outcome: 'inconsistent',
      reason: 'inconsistent: saw 995 distinct ids, the vendor reported a total of 1000 devices of org 101; nothing marked',
    });
    // The total fell during the walk (a delete) by more than the walk's extra ids explain.
    expect(decideSweep({ ...base, seen: 999, unseen: 1, totalMax: 1000 }).outcome).toBe('inconsistent');
    expect(decideSweep({ ...base, seen: 1000, totalMax: 1000 }).outcome).toBe('swept');
    expect(decideSweep({ ...base, seen: 1001, totalMax: 1000 }).outcome).toBe('swept');
    // An inconsistent walk does not apply a held sweep either.
    expect(decideSweep({ ...base, seen: 0, unseen: 1000, totalMax: 1000, agreesWithHold: true }).outcome).toBe('inconsistent');
  });

  it('skips the sweep of a walk that quarantined records without a usable id', () => {
    expect(decideSweep({ ...base, seen: 999, unseen: 1, unidentified: 1 })).toEqual({
      outcome: 'skipped',
      reason: 'skipped: 1 quarantined record without a usable id; a missed row may be one of them, so nothing of devices of org 101 was marked',
    });
    expect(decideSweep({ ...base, unidentified: 2, totalMax: 5000 }).outcome).toBe('skipped');
  });

  it('decides the same for both deletes policies (the policy changes what a sweep marks, not whether)', () => {
    for (const f of [base, { ...base, seen: 0, unseen: 1000 }, { ...base, seen: 995, unseen: 5, totalMax: 1000 }]) {
      expect(decideSweep({ ...f, deletes: 'immediate' })).toEqual(decideSweep(f));
    }
  });
});

describe('sampleIds', () => {
  it('spreads a sample evenly over the ids, in their order; all of them when there are few', () => {
    const ids = Array.from({ length: 100 }, (_, i) => String(i));
    expect(sampleIds(ids, 10)).toEqual(['0', '10', '20', '30', '40', '50', '60', '70', '80', '90']);
    expect(sampleIds(ids.slice(0, 3), 10)).toEqual(['0', '1', '2']);
    expect(sampleIds(ids.slice(0, 11), 10)).toHaveLength(10);
  });
});

describe('deletePolicyOf', () => {
  const src = (extra: Record<string, unknown>) => parseConfig({ sources: [{ id: 's', vendor: 'automox', baseUrl: 'http://127.0.0.1:1', ...extra }] }).sources[0]!;

  it('defaults to confirm and 0.5, takes a source-wide share and per-resource overrides', () => {
    expect(deletePolicyOf(src({}), 'devices')).toEqual({ deletes: 'confirm', maxDeleteShare: 0.5 });
    expect(deletePolicyOf(src({ deletes: 'immediate', maxDeleteShare: 0.2 }), 'devices')).toEqual({ deletes: 'immediate', maxDeleteShare: 0.2 });
    const per = src({ maxDeleteShare: { default: 0.3, devices: 0.9 } });
    expect(deletePolicyOf(per, 'devices').maxDeleteShare).toBe(0.9);
    expect(deletePolicyOf(per, 'packages').maxDeleteShare).toBe(0.3);
    expect(deletePolicyOf(src({ maxDeleteShare: { devices: 0.9 } }), 'packages').maxDeleteShare).toBe(0.5);
  });

  it('refuses a share outside (0, 1] and an unknown deletes policy, naming the key', () => {
    expect(() => src({ maxDeleteShare: 0 })).toThrow(/sources\[0\]\.maxDeleteShare/);
    expect(() => src({ maxDeleteShare: { devices: 1.5 } })).toThrow(/sources\[0\]\.maxDeleteShare\.devices/);
    expect(() => src({ deletes: 'never' })).toThrow(/sources\[0\]\.deletes/);
  });
});

describe('maxDeleteShare per resource', () => {
  it('refuses a resource the vendor does not have, naming the key', () => {
    const cfg = parseConfig({ sources: [{ id: 's', vendor: 'automox', baseUrl: 'http://127.0.0.1:1', credentials: { apiKey: 'k' }, maxDeleteShare: { default: 0.5, gizmos: 0.2 } }] });
    expect(() => resolveSources(cfg, VENDORS)).toThrow(/sources\[0\]\.maxDeleteShare\.gizmos: unknown resource for vendor automox \(known: default, organizations/);
  });
});
