import { sql, type Kysely, type Transaction } from 'kysely';
import { eventIsCurrent } from '../events/decide.js';
import type { Database } from './db.js';
import { closeHistory, recordHistory } from './history.js';
import type { PagePayload } from './payload.js';
import type { DataTableName } from './tables.js';
import { upsertRows, type UpsertCounts } from './upsert.js';

// What an applied vendor event writes (docs/freshness.md), each in one transaction: the row (as a
// page's upsert does, with its history) or its deletion, the row's event mark (source_event_rows)
// and the resource's last event (source_events). Nothing here touches a walk: an event never
// moves a cursor.

/** The row an event is about, and what it says. */
export interface EventTarget {
  table: DataTableName;
  sourceId: string;
  resource: string;
  externalId: string;
  /** The vendor's time of the change (ISO). */
  occurredAt: string;
  /** The change was read from the vendor now (a per-id GET): it is current whatever the event's time. */
  fetchedNow: boolean;
  /** Whether the table's history is kept for the source (history.ts keepsHistory). */
  history: boolean;
}

/** What an event's write came to: `stale` when a newer event had been applied to the row already (nothing written). */
export type EventWriteResult = { outcome: 'stale' } | { outcome: 'upserted'; counts: UpsertCounts } | { outcome: 'deleted'; deleted: boolean };

type Trx = Transaction<Database>;

/**
 * Upserts the row of an event from its payload (one record, src/warehouse/payload.ts), with its
 * history, unless a newer event was applied to the row (decide.ts eventIsCurrent). A row that was
 * missing or deleted is present again, as when a walk lists it.
 */
export async function writeEventRow(db: Kysely<Database>, t: EventTarget, payload: PagePayload): Promise<EventWriteResult> {
  return db.transaction().execute(async (trx) => {
    if (!(await claimRow(trx, t, 'upserted'))) return { outcome: 'stale' };
    const { changedIds, ...counts } = await upsertRows(trx, { table: t.table, sourceId: t.sourceId }, payload, { lookUpHashes: true });
    if (t.history) await recordHistory(trx, t.table, t.sourceId, changedIds);
    await noteApplied(trx, t);
    return { outcome: 'upserted', counts: { inserted: counts.inserted, updated: counts.updated, unchanged: counts.unchanged } };
  });
}

/**
 * Marks the row of an event deleted, confirmed by the vendor (its event of deletion or a 404 to
 * its per-id GET), and closes its history version; `deleted` is false when there was no present
 * row. Nothing when a newer event was applied to the row.
 */
export async function writeEventDelete(db: Kysely<Database>, t: EventTarget): Promise<EventWriteResult> {
  return db.transaction().execute(async (trx) => {
    if (!(await claimRow(trx, t, 'deleted'))) return { outcome: 'stale' };
    const res = await sql<{ external_id: string }>`
      UPDATE ${sql.table(t.table)} SET deleted_at = now(), missing_since = coalesce(missing_since, now())
      WHERE source_id = ${t.sourceId} AND external_id = ${t.externalId} AND deleted_at IS NULL
      RETURNING external_id`.execute(trx);
    const ids = res.rows.map((r) => r.external_id);
    await closeHistory(trx, t.table, t.sourceId, ids);
    await noteApplied(trx, t);
    return { outcome: 'deleted', deleted: ids.length > 0 };
  });
}

/**
 * Takes the row's event lock for the transaction and records this event on it, when it is current
 * (eventIsCurrent against the newest event applied to the row). False: a newer one won, write nothing.
 */
async function claimRow(trx: Trx, t: EventTarget, action: 'upserted' | 'deleted'): Promise<boolean> {
  // Two events of one row apply one after the other, so the newer one's write is the last.
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`fleetsync-event/${t.sourceId}/${t.resource}/${t.externalId}`}::text, 0))`.execute(trx);
  const mark = await sql<{ event_at: Date }>`
    SELECT event_at FROM source_event_rows WHERE source_id = ${t.sourceId} AND resource = ${t.resource} AND external_id = ${t.externalId}`.execute(trx);
  if (!eventIsCurrent(t.occurredAt, mark.rows[0]?.event_at ?? null, t.fetchedNow)) return false;
  await sql`
    INSERT INTO source_event_rows (source_id, resource, external_id, event_at, applied_at, action)
    VALUES (${t.sourceId}, ${t.resource}, ${t.externalId}, ${t.occurredAt}::timestamptz, now(), ${action})
    ON CONFLICT (source_id, resource, external_id) DO UPDATE
    SET event_at = greatest(source_event_rows.event_at, EXCLUDED.event_at), applied_at = now(), action = EXCLUDED.action`.execute(trx);
  return true;
}

/** Marks older than this are dropped unless a running walk started before them (it still sweeps). */
const MARKS_KEPT = '1 day';

/** Drops the event marks no walk needs any more, then records the resource's newest event applied. */
async function noteApplied(trx: Trx, t: EventTarget): Promise<void> {
  // SKIP LOCKED: a mark another event holds now is dropped by a later event, never waited for
  // (two events each waiting for the other's mark would be a deadlock).
  await sql`
    DELETE FROM source_event_rows WHERE ctid IN (
      SELECT ctid FROM source_event_rows
      WHERE source_id = ${t.sourceId} AND resource = ${t.resource}
        AND applied_at < least(now() - ${MARKS_KEPT}::interval,
          coalesce((SELECT min(started_at) FROM sync_walks WHERE source_id = ${t.sourceId} AND resource = ${t.resource} AND status = 'running'), now()))
      FOR UPDATE SKIP LOCKED)`.execute(trx);
  await sql`
    INSERT INTO source_events (source_id, resource, last_event_at, last_applied_at, events_applied)
    VALUES (${t.sourceId}, ${t.resource}, ${t.occurredAt}::timestamptz, now(), 1)
    ON CONFLICT (source_id, resource) DO UPDATE
    SET last_event_at = greatest(source_events.last_event_at, EXCLUDED.last_event_at), last_applied_at = now(), events_applied = source_events.events_applied + 1`.execute(trx);
}

/** The newest event applied per source and resource (freshness): the vendor's time and ours. */
export interface LastEvent {
  source: string;
  resource: string;
  lastEventAt: Date;
  lastAppliedAt: Date;
  eventsApplied: number;
}

/** The last event applied of each source and resource (all sources, or those given). */
export async function lastEvents(db: Kysely<Database>, sourceIds?: readonly string[]): Promise<LastEvent[]> {
  const only = sourceIds ? sql`WHERE source_id = ANY(${[...sourceIds]}::text[])` : sql``;
  const res = await sql<{ source_id: string; resource: string; last_event_at: Date; last_applied_at: Date; events_applied: string }>`
    SELECT source_id, resource, last_event_at, last_applied_at, events_applied::text AS events_applied FROM source_events ${only} ORDER BY 1, 2`.execute(db);
  return res.rows.map((r) => ({ source: r.source_id, resource: r.resource, lastEventAt: new Date(r.last_event_at), lastAppliedAt: new Date(r.last_applied_at), eventsApplied: Number(r.events_applied) }));
}
