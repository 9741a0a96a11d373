import { sql, type Transaction } from 'kysely';
import type { Database } from './db.js';

// reporting.organization_counts: present rows per source, table and organization, which
// reporting.organization_summary reads instead of counting millions of rows on every read
// (migration 20261124T0100_organization_counts; docs/warehouse.md, reporting.organization_summary).

/** The tables whose present rows organization_summary shows per organization. */
export const COUNTED_TABLES = ['devices', 'device_groups', 'packages'] as const;

/**
 * Recomputes one source's present-row counts per organization in reporting.organization_counts.
 *
 * Call it inside the transaction that settles the source's data: the one that ends a run
 * (finalizeRunIfDone) or applies held sweeps (applyHeldSweeps). It deletes the source's rows and
 * inserts one grouped count per table (rows without an organization are not counted; the view
 * has no row for them), so readers see the source's previous counts until that transaction
 * commits and its new ones after, never a mix. Refreshes of the same source wait for each other
 * (a transaction-scoped advisory lock), so two runs ending together cannot both insert.
 * The counts include the transaction's own writes and what other transactions committed before
 * each aggregate began. Cost: one aggregate per table over the source's present rows.
 */
export async function refreshOrganizationCounts(trx: Transaction<Database>, sourceId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('reporting.organization_counts'), hashtext(${sourceId}::text))`.execute(trx);
  await sql`DELETE FROM reporting.organization_counts WHERE source_id = ${sourceId}`.execute(trx);
  for (const t of COUNTED_TABLES) {
    await sql`INSERT INTO reporting.organization_counts (source_id, table_name, organization_id, present)
      SELECT source_id, ${t}::text, organization_external_id, count(*)::int FROM ${sql.table(t)}
      WHERE source_id = ${sourceId} AND deleted_at IS NULL AND organization_external_id IS NOT NULL
      GROUP BY source_id, organization_external_id`.execute(trx);
  }
}
