import { sql, type Kysely } from 'kysely';

// A backfill runs beside the source's regular runs (at a lower priority in the same lanes), so a
// schedule firing during a long backfill still syncs: one running run per source and kind.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS sync_runs_one_running`.execute(db);
  await sql`CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (source_id, (trigger = 'backfill')) WHERE status = 'running'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS sync_runs_one_running`.execute(db);
  await sql`CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (source_id) WHERE status = 'running'`.execute(db);
}
