import { sql, type Kysely } from 'kysely';

// Per-record isolation and order-free loop checks (docs/reliability.md, "Records and responses"):
// - a quarantined record names the field at fault and keeps its text cut to a limit (raw jsonb
//   cannot hold a cut or too-deep record);
// - a walk counts the records it could not identify (a sweep must not trust such a walk) and the
//   duplicate ids within its pages;
// - the requests a running walk has made, one hash per page, so a loop is "a request this walk
//   already made" whatever the vendor's id order, also after a resume.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sync_quarantine ADD COLUMN field text, ADD COLUMN raw_text text`.execute(db);
  await sql`ALTER TABLE sync_walks ADD COLUMN duplicates integer NOT NULL DEFAULT 0`.execute(db);
  await sql`CREATE TABLE sync_walk_cursors (
  walk_id bigint NOT NULL REFERENCES sync_walks(id) ON DELETE CASCADE,
  request_hash text NOT NULL,
  page integer NOT NULL,
  PRIMARY KEY (walk_id, request_hash)
)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS sync_walk_cursors`.execute(db);
  await sql`ALTER TABLE sync_walks DROP COLUMN duplicates`.execute(db);
  await sql`ALTER TABLE sync_quarantine DROP COLUMN field, DROP COLUMN raw_text`.execute(db);
}
