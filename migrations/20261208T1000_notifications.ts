import { sql, type Kysely } from 'kysely';

// Issue 27: webhook notifications (run failed, sweep held, resource stale) are sent once, by
// whichever worker claims the event first: one row per (event, webhook) sent (src/notify/).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE sync_notifications (key text PRIMARY KEY, sent_at timestamptz NOT NULL DEFAULT now())`.execute(db);
  await sql`CREATE INDEX sync_notifications_sent_idx ON sync_notifications (sent_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE sync_notifications`.execute(db);
}
