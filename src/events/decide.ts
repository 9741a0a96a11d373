import { createHash } from 'node:crypto';
import { scopeLabel, singular } from '../sync/where.js';
import type { VendorEvent } from './types.js';

// Pure decisions about vendor events (docs/freshness.md): their job ids, whether one is well
// formed for its source, and what applying it does. No I/O here.

/** What the checks need to know of a resource of the event's source. */
export interface EventResourceInfo {
  /** The resource its scopes come from; absent for a global list (scope "-"). */
  parent?: string | undefined;
  /** Whether the vendor has a GET of one record of it (ResourceDefinition.item). */
  hasItem: boolean;
}

/** The key of an event, as text that is safe in a job id and a Redis key: the sha-1 of source and the vendor's key. */
export function eventDigest(source: string, eventKey: string): string {
  return createHash('sha1').update(source).update('\u0000').update(eventKey).digest('hex');
}

/** An event's BullMQ job id: deterministic (a replay adds nothing), never integer-like, no ':'. */
export function eventJobId(source: string, eventKey: string): string {
  return `ev-${eventDigest(source, eventKey)}`;
}

/** The scope an event's row lives in: its scope, or "-" for a global list. */
export function eventScope(ev: Pick<VendorEvent, 'scope'>): string {
  return ev.scope ?? '-';
}

/** "ax/devices org 42 device 1001 (event 77)": where an event is, for every message about it. */
export function eventWhere(ev: Pick<VendorEvent, 'source' | 'resource' | 'scope' | 'id' | 'eventKey'>, parent?: string): string {
  return `${ev.source}/${ev.resource} ${scopeLabel(eventScope(ev), parent)} ${singular(ev.resource)} ${ev.id} (event ${ev.eventKey})`;
}

const ACTIONS: ReadonlySet<string> = new Set(['created', 'updated', 'deleted']);

/**
 * Why an event cannot be applied to its source as it stands, or null when it can: the resource
 * must be one the source syncs, the id and key non-empty, the time an ISO instant, and the scope
 * given exactly where the resource is scoped. `resource` is undefined when the source has no such resource.
 */
export function eventProblem(ev: VendorEvent, resource: EventResourceInfo | undefined): string | null {
  const at = `${ev.source}/${ev.resource}`;
  if (!resource) return `${at}: the source syncs no resource "${ev.resource}"`;
  if (!ACTIONS.has(ev.action)) return `${at}: unknown action ${JSON.stringify(ev.action)} (created, updated or deleted)`;
  if (typeof ev.id !== 'string' || ev.id === '') return `${at}: the event names no record id`;
  if (typeof ev.eventKey !== 'string' || ev.eventKey === '') return `${at} ${ev.id}: the event has no key`;
  if (typeof ev.occurredAt !== 'string' || !Number.isFinite(Date.parse(ev.occurredAt))) return `${at} ${ev.id}: occurredAt ${JSON.stringify(ev.occurredAt)} is not an ISO time`;
  if (resource.parent && (ev.scope === null || ev.scope === '' || ev.scope === '-')) return `${at} ${ev.id}: the resource is scoped by ${resource.parent}, the event names no scope`;
  if (!resource.parent && ev.scope !== null && ev.scope !== '-') return `${at} ${ev.id}: the resource is not scoped, the event names scope ${ev.scope}`;
  return null;
}

/**
 * What applying an event does:
 * - `delete`: the vendor says the record is gone: the row is marked deleted (confirmed, like a
 *   404 to a per-id GET);
 * - `record`: the vendor sent the whole record (signed): it is validated and upserted;
 * - `fetch`: the record is asked for by id through the source's lane and upserted (404/410: deleted);
 * - `refuse`: nothing can be done without a walk (no record and no per-id GET): the reason says so.
 */
export type EventPlan = { kind: 'delete' } | { kind: 'record' } | { kind: 'fetch' } | { kind: 'refuse'; reason: string };

/** The plan of an event (see EventPlan). A record in a deletion is ignored: the deletion is what counts. */
export function planEvent(ev: Pick<VendorEvent, 'action' | 'record'>, resource: Pick<EventResourceInfo, 'hasItem'>): EventPlan {
  if (ev.action === 'deleted') return { kind: 'delete' };
  if (ev.record !== undefined) return { kind: 'record' };
  if (resource.hasItem) return { kind: 'fetch' };
  return { kind: 'refuse', reason: 'the event carries no record and the vendor has no GET of one record: the next walk brings the change' };
}

/**
 * Whether a change may overwrite what an earlier event wrote: always when it comes from the
 * vendor now (a per-id GET answers with the record as it is), else only when it is not older than
 * the newest event applied to the row (a redelivered or late event never undoes a newer one).
 */
export function eventIsCurrent(occurredAt: string, newestApplied: Date | null, fetchedNow: boolean): boolean {
  if (fetchedNow || newestApplied === null) return true;
  return Date.parse(occurredAt) >= newestApplied.getTime();
}

/** How far before the newest event read a poll reads again: events the vendor lists late are still met (their keys dedupe the rest). */
export const FEED_OVERLAP_MS = 60 * 60_000;

/**
 * From when a poll of a feed reads events: the newest event time read so far less
 * FEED_OVERLAP_MS, or, for a feed never read, FEED_OVERLAP_MS before now (what happened before
 * is what the walks are for).
 */
export function feedSince(readTo: Date | null, nowMs: number): Date {
  return new Date((readTo?.getTime() ?? nowMs) - FEED_OVERLAP_MS);
}

/** The events of a page at `since` or later, and the newest event time among all of them (null when none has a time). */
export function eventsSince(events: readonly VendorEvent[], since: Date): { fresh: VendorEvent[]; newest: number | null } {
  let newest: number | null = null;
  const fresh: VendorEvent[] = [];
  for (const e of events) {
    const t = Date.parse(e.occurredAt);
    if (!Number.isFinite(t)) continue;
    if (newest === null || t > newest) newest = t;
    if (t >= since.getTime()) fresh.push(e);
  }
  return { fresh, newest };
}
