import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Pauses a source (402 or the `pause` command) with a reason; idempotent, the latest reason wins. */
export async function pauseSource(db: Db, sourceId: string, reason: string): Promise<void> {
  await db
    .insertInto('sync_sources')
    .values({ source_id: sourceId, paused_at: new Date(), paused_reason: reason })
    .onConflict((oc) => oc.column('source_id').doUpdateSet({ paused_at: new Date(), paused_reason: reason, updated_at: sql`now()` }))
    .execute();
}

/** Clears a source's pause; a source that was not paused is left as it is. */
export async function clearSourcePause(db: Db, sourceId: string): Promise<void> {
  await db.updateTable('sync_sources').set({ paused_at: null, paused_reason: null, updated_at: sql`now()` }).where('source_id', '=', sourceId).execute();
}

/** The pause of a source, or null when it is not paused. */
export async function sourcePause(db: Db, sourceId: string): Promise<{ reason: string | null } | null> {
  const row = await db.selectFrom('sync_sources').select(['paused_at', 'paused_reason']).where('source_id', '=', sourceId).executeTakeFirst();
  return row?.paused_at ? { reason: row.paused_reason } : null;
}

/** Ids of the paused sources. */
export async function pausedSources(db: Db): Promise<Set<string>> {
  return new Set((await db.selectFrom('sync_sources').select('source_id').where('paused_at', 'is not', null).execute()).map((r) => r.source_id));
}

/** Disables a resource of a source (410 Gone) until enableResource; idempotent. */
export async function disableResource(db: Db, sourceId: string, resource: string, status: number | null, reason: string): Promise<void> {
  await db
    .insertInto('sync_disabled_resources')
    .values({ source_id: sourceId, resource, status, reason })
    .onConflict((oc) => oc.columns(['source_id', 'resource']).doUpdateSet({ status, reason }))
    .execute();
}

/** Re-enables a disabled resource. Returns false when it was not disabled. */
export async function enableResource(db: Db, sourceId: string, resource: string): Promise<boolean> {
  const res = await db.deleteFrom('sync_disabled_resources').where('source_id', '=', sourceId).where('resource', '=', resource).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** The disabled resources of a source. */
export async function disabledResources(db: Db, sourceId: string): Promise<Set<string>> {
  return new Set((await db.selectFrom('sync_disabled_resources').select('resource').where('source_id', '=', sourceId).execute()).map((r) => r.resource));
}
