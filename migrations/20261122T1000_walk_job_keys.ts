import { sql, type Kysely } from 'kysely';

// Page job ids were `w<walk id>-p<page>`: unique within one database only. A second warehouse
// on the same Redis and queue prefix, or a database recreated while Redis kept its completed
// jobs, reused ids, and BullMQ ignores an add whose id exists: the walk stalled. A random key
// per walk makes the id unique across databases.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sync_walks ADD COLUMN job_key text NOT NULL DEFAULT substr(md5(random()::text || clock_timestamp()::text), 1, 12)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sync_walks DROP COLUMN job_key`.execute(db);
}
