import { sql, type Kysely } from 'kysely';
import type { Database } from './db.js';

/**
 * Marks a source paused (a 402 Payment Required or the `pause` command) with the reason shown by `status`.
 * Idempotent: a second pause only refreshes the time and reason. Does not touch the BullMQ queues.
 */
export async function pauseSource(db: Kysely<Database>, sourceId: string, reason: string): Promise<void> {
  await db
    .insertInto('sync_sources')
    .values({ source_id: sourceId, paused_at: new Date(), paused_reason: reason })
    .onConflict((oc) => oc.column('source_id').doUpdateSet({ paused_at: new Date(), paused_reason: reason, updated_at: sql`now()` }))
    .execute();
}

/**
 * Clears a source's pause and its reason. A source that was never paused is left as it is.
 * Does not touch the BullMQ queues.
 */
export async function clearSourcePause(db: Kysely<Database>, sourceId: string): Promise<void> {
  await db.updateTable('sync_sources').set({ paused_at: null, paused_reason: null, updated_at: sql`now()` }).where('source_id', '=', sourceId).execute();
}

/**
 * Disables one resource of a source (after a 410 Gone) until `enableResource`; runs skip it.
 * Idempotent: disabling again replaces the status and reason.
 */
export async function disableResource(db: Kysely<Database>, sourceId: string, resource: string, status: number | null, reason: string): Promise<void> {
  await db
    .insertInto('sync_disabled_resources')
    .values({ source_id: sourceId, resource, status, reason })
    .onConflict((oc) => oc.columns(['source_id', 'resource']).doUpdateSet({ status, reason }))
    .execute();
}

/**
 * Re-enables a resource that `disableResource` disabled.
 * Resolves to false, changing nothing, when it was not disabled.
 */
export async function enableResource(db: Kysely<Database>, sourceId: string, resource: string): Promise<boolean> {
  const res = await db.deleteFrom('sync_disabled_resources').where('source_id', '=', sourceId).where('resource', '=', resource).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Names of the resources disabled for a source (empty when none). Reads only. */
export async function disabledResources(db: Kysely<Database>, sourceId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('sync_disabled_resources').select('resource').where('source_id', '=', sourceId).execute();
  return new Set(rows.map((r) => r.resource));
}
