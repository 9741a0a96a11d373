import { describe, expect, it } from 'vitest';
import { VENDORS } from '../../jobs/index.js';
import { ConfigError, parseConfig } from '../../src/config.js';
import { checkSources } from '../../src/sources.js';
import { eventIsCurrent, eventJobId, eventProblem, eventsSince, eventWhere, feedSince, FEED_OVERLAP_MS, planEvent } from '../../src/events/decide.js';
import type { VendorEvent } from '../../src/events/types.js';

const ev = (over: Partial<VendorEvent> = {}): VendorEvent => ({ source: 'ax', resource: 'devices', id: '1001', scope: '42', action: 'updated', occurredAt: '2026-12-09T10:00:00Z', eventKey: 'k1', ...over });
const scoped = { parent: 'organizations', hasItem: true };

describe('vendor events: pure decisions', () => {
  it('job ids are deterministic per source and key, safe for BullMQ (no ":", not an integer)', () => {
    expect(eventJobId('ax', 'k1')).toBe(eventJobId('ax', 'k1'));
    expect(eventJobId('ax', 'k1')).not.toBe(eventJobId('ay', 'k1'));
    expect(eventJobId('ax', 'a:b')).toMatch(/^ev-[0-9a-f]{40}$/);
  });

  it('names where an event is', () => {
    expect(eventWhere(ev(), 'organizations')).toBe('ax/devices org 42 device 1001 (event k1)');
    expect(eventWhere(ev({ resource: 'patch_categories', scope: null, id: '3' }))).toBe('ax/patch_categories scope - patch_category 3 (event k1)');
  });

  it('refuses events that cannot apply, with the reason', () => {
    expect(eventProblem(ev(), scoped)).toBeNull();
    expect(eventProblem(ev(), undefined)).toBe('ax/devices: the source syncs no resource "devices"');
    expect(eventProblem(ev({ id: '' }), scoped)).toBe('ax/devices: the event names no record id');
    expect(eventProblem(ev({ eventKey: '' }), scoped)).toBe('ax/devices 1001: the event has no key');
    expect(eventProblem(ev({ occurredAt: 'yesterday' }), scoped)).toBe('ax/devices 1001: occurredAt "yesterday" is not an ISO time');
    expect(eventProblem(ev({ scope: null }), scoped)).toBe('ax/devices 1001: the resource is scoped by organizations, the event names no scope');
    expect(eventProblem(ev({ scope: '7' }), { hasItem: false })).toBe('ax/devices 1001: the resource is not scoped, the event names scope 7');
    expect(eventProblem(ev({ action: 'moved' as never }), scoped)).toBe('ax/devices: unknown action "moved" (created, updated or deleted)');
  });

  it('plans: a deletion deletes, a signed record is applied, else the record is fetched by id, else the walk brings it', () => {
    expect(planEvent({ action: 'deleted', record: { id: 1 } }, { hasItem: false })).toEqual({ kind: 'delete' });
    expect(planEvent({ action: 'created', record: { id: 1 } }, { hasItem: true })).toEqual({ kind: 'record' });
    expect(planEvent({ action: 'updated' }, { hasItem: true })).toEqual({ kind: 'fetch' });
    expect(planEvent({ action: 'created' }, { hasItem: false }).kind).toBe('refuse');
  });

  it('an older event never undoes a newer one, unless what it writes was read from the vendor now', () => {
    const newest = new Date('2026-12-09T10:00:00Z');
    expect(eventIsCurrent('2026-12-09T09:59:59Z', newest, false)).toBe(false);
    expect(eventIsCurrent('2026-12-09T10:00:00Z', newest, false)).toBe(true);
    expect(eventIsCurrent('2026-12-09T09:00:00Z', newest, true)).toBe(true);
    expect(eventIsCurrent('2026-12-09T09:00:00Z', null, false)).toBe(true);
  });

  it('a feed is read again from an overlap before the newest event read; a new feed from an overlap before now', () => {
    const now = Date.parse('2026-12-09T12:00:00Z');
    expect(feedSince(null, now).getTime()).toBe(now - FEED_OVERLAP_MS);
    expect(feedSince(new Date('2026-12-01T00:00:00Z'), now).toISOString()).toBe(new Date(Date.parse('2026-12-01T00:00:00Z') - FEED_OVERLAP_MS).toISOString());
  });

  it('keeps the events at or after `since` and finds the newest time of all', () => {
    const events = [ev({ occurredAt: '2026-12-09T09:00:00Z', eventKey: 'a' }), ev({ occurredAt: '2026-12-09T11:00:00Z', eventKey: 'b' }), ev({ occurredAt: 'bad', eventKey: 'c' })];
    const out = eventsSince(events, new Date('2026-12-09T10:00:00Z'));
    expect(out.fresh.map((e) => e.eventKey)).toEqual(['b']);
    expect(new Date(out.newest!).toISOString()).toBe('2026-12-09T11:00:00.000Z');
  });
});

describe('a source\'s `events`', () => {
  const src = (vendor: string, events: unknown) => ({ sources: [{ id: 's1', vendor, baseUrl: 'https://api.example.com/api', events }] });

  it('is off by default and reads `every` as a duration', () => {
    expect(parseConfig({ sources: [{ id: 's1', vendor: 'automox', baseUrl: 'https://console.automox.com/api' }] }).sources[0]!.events).toBeUndefined();
    const cfg = parseConfig(src('automox', { every: '5m' }));
    expect(cfg.sources[0]!.events).toEqual({ every: 300_000 });
    expect(() => checkSources(cfg, VENDORS)).not.toThrow();
  });

  it('refuses a bad interval, an unknown key, and a vendor without an event feed to poll', () => {
    expect(() => parseConfig(src('automox', { every: 'soon' }))).toThrow(/sources\[0\]\.events\.every: must be a positive duration/);
    expect(() => parseConfig(src('automox', { every: 500 }))).toThrow(/sources\[0\]\.events\.every: must be at least 1s/);
    expect(() => parseConfig(src('automox', { every: '5m', often: true }))).toThrow(ConfigError);
    expect(() => checkSources(parseConfig(src('famoco', { every: '5m' })), VENDORS)).toThrow('sources[0].events.every: vendor famoco publishes no event feed to poll');
  });
});
