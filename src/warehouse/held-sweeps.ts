import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, SyncHeldSweepsTable } from './db.js';
import { isDataTable, type DataTableName } from './tables.js';
import { closeHistory } from './history.js';
import { refreshOrganizationCounts } from './organization-counts.js';

// Sweeps the mass-delete guard held (docs/design.md, Deletes are detected, not guessed): one per
// (source, resource, scope), replaced by the next held sweep of that scope, dropped when a walk
// sweeps normally, applied by a walk that agrees or by `fleetsync sweep --confirm`.

export type HeldSweep = Selectable<SyncHeldSweepsTable>;
type Db = Kysely<Database> | Transaction<Database>;

/** Locks the held sweep of (source, resource, scope), if there is one, for the rest of the transaction. */
export async function lockHeldSweep(trx: Transaction<Database>, sourceId: string, resource: string, scope: string): Promise<void> {
  await trx.selectFrom('sync_held_sweeps').select('walk_id').where('source_id', '=', sourceId).where('resource', '=', resource).where('scope', '=', scope).forUpdate().execute();
}

/** Records (or replaces) the held sweep of a walk's scope: the rows it would have marked. */
export async function recordHeldSweep(
  trx: Transaction<Database>,
  walk: { id: string; source_id: string; resource: string; scope: string },
  hold: { table: string; present: number; ids: string[]; message: string },
): Promise<void> {
  const values = { source_id: walk.source_id, resource: walk.resource, scope: walk.scope, data_table: hold.table, walk_id: walk.id, present: hold.present, ids: hold.ids, message: hold.message };
  await trx
    .insertInto('sync_held_sweeps')
    .values(values)
    .onConflict((oc) => oc.columns(['source_id', 'resource', 'scope']).doUpdateSet({ data_table: hold.table, walk_id: walk.id, present: hold.present, ids: hold.ids, message: hold.message, held_at: sql`now()` }))
    .execute();
}

/** Drops the held sweep of (source, resource, scope); returns the holding walk's id, if there was one. */
export async function dropHeldSweep(trx: Transaction<Database>, sourceId: string, resource: string, scope: string): Promise<string | null> {
  const row = await trx.deleteFrom('sync_held_sweeps').where('source_id', '=', sourceId).where('resource', '=', resource).where('scope', '=', scope).returning('walk_id').executeTakeFirst();
  return row?.walk_id ?? null;
}

/**
 * Removes from the held sweep of a walk's scope the ids that walk saw (a walk that could not
 * sweep still proves those rows exist); drops the hold when none is left.
 */
export async function pruneHeldSweep(trx: Transaction<Database>, walk: { id: string; source_id: string; resource: string; scope: string }): Promise<void> {
  const key = sql`source_id = ${walk.source_id} AND resource = ${walk.resource} AND scope = ${walk.scope}`;
  await sql`UPDATE sync_held_sweeps SET ids = array(SELECT unnest(ids) EXCEPT SELECT unnest(ids) FROM sync_walk_pages WHERE walk_id = ${walk.id} ORDER BY 1) WHERE ${key}`.execute(trx);
  await sql`DELETE FROM sync_held_sweeps WHERE ${key} AND cardinality(ids) = 0`.execute(trx);
}

/** Held sweeps, oldest first, optionally of one source, resource and scope. */
export function listHeldSweeps(db: Db, filter: { sourceId?: string; resource?: string; scope?: string } = {}): Promise<HeldSweep[]> {
  let q = db.selectFrom('sync_held_sweeps').selectAll();
  if (filter.sourceId !== undefined) q = q.where('source_id', '=', filter.sourceId);
  if (filter.resource !== undefined) q = q.where('resource', '=', filter.resource);
  if (filter.scope !== undefined) q = q.where('scope', '=', filter.scope);
  return q.orderBy('held_at').orderBy('scope').execute();
}

/** Held sweeps per source and resource, for the metrics gauge. */
export async function countHeldSweeps(db: Db): Promise<Array<{ source_id: string; resource: string; n: number }>> {
  return db.selectFrom('sync_held_sweeps').select(['source_id', 'resource', sql<number>`count(*)::int`.as('n')]).groupBy(['source_id', 'resource']).execute();
}

/** One held sweep that applyHeldSweeps carried out. */
export interface AppliedSweep {
  scope: string;
  message: string;
  /** Rows marked deleted now (held rows deleted or revived since are left alone). */
  deleted: number;
}

/**
 * Applies the held sweeps of (source, resource[, scope]) in one transaction: marks their rows
 * deleted (not those written since the hold), records it on the holding walk (sweep `applied`, its deleted count) and drops them,
 * then recomputes the source's organization counts (src/warehouse/organization-counts.ts).
 * Returns what it applied (empty when nothing was held).
 */
export async function applyHeldSweeps(db: Kysely<Database>, sourceId: string, resource: string, scope?: string): Promise<AppliedSweep[]> {
  return db.transaction().execute(async (trx) => {
    let q = trx.selectFrom('sync_held_sweeps').selectAll().where('source_id', '=', sourceId).where('resource', '=', resource);
    if (scope !== undefined) q = q.where('scope', '=', scope);
    const holds = await q.orderBy('scope').forUpdate().execute();
    const applied: AppliedSweep[] = [];
    for (const h of holds) {
      if (!isDataTable(h.data_table)) throw new Error(`held sweep of ${sourceId}/${resource} scope ${h.scope} names unknown table "${h.data_table}"`);
      // A held row written since the hold (listed again, changed, by an incremental walk) exists.
      const deletedIds = await markDeleted(trx, { table: h.data_table, sourceId, scope: h.scope }, h.ids, h.held_at);
      // History: a deleted row's open version ends now (docs/warehouse.md, History).
      await closeHistory(trx, h.data_table, sourceId, deletedIds);
      const deleted = deletedIds.length;
      await trx
        .updateTable('sync_walks')
        .set((eb) => ({ sweep: 'applied', deleted: eb('deleted', '+', deleted), sweep_reason: `${h.message}; applied by fleetsync sweep --confirm at ${new Date().toISOString()}`, updated_at: sql`now()` }))
        .where('id', '=', h.walk_id)
        .execute();
      await dropHeldSweep(trx, sourceId, resource, h.scope);
      applied.push({ scope: h.scope, message: h.message, deleted });
    }
    // The deletes settle here, not at a run's end: the counts follow in the same transaction.
    if (applied.length > 0) await refreshOrganizationCounts(trx, sourceId);
    return applied;
  });
}

/** The rows of one scope of a data table. */
export interface ScopeRows {
  table: DataTableName;
  sourceId: string;
  scope: string;
}

/**
 * Marks the listed rows of a scope deleted, those not deleted already and not written (inserted,
 * changed, revived) after `notWrittenAfter`; returns the ids it marked.
 */
async function markDeleted(trx: Transaction<Database>, rows: ScopeRows, ids: readonly string[], notWrittenAfter: Date): Promise<string[]> {
  if (ids.length === 0) return [];
  const res = await sql<{ external_id: string }>`
    UPDATE ${sql.table(rows.table)} SET deleted_at = now(), missing_since = coalesce(missing_since, now())
    WHERE source_id = ${rows.sourceId} AND scope = ${rows.scope} AND deleted_at IS NULL AND last_seen_at <= ${notWrittenAfter}
      AND external_id = ANY(${ids as string[]}::text[])
    RETURNING external_id`.execute(trx);
  return res.rows.map((r) => r.external_id);
}
