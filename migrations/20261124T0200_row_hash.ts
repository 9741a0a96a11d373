import { sql, type Kysely } from 'kysely';

// a resync of unchanged data sent and parsed every page's whole jsonb payload only to
// find nothing changed. Each data row now carries the md5 (as a uuid) of the record it was
// written from; the upsert sends only records whose hash differs (src/warehouse/upsert.ts).
// Existing rows start without one and get it at their next sync, without a history version.
// The tables as of this migration (frozen: src/warehouse/tables.ts may grow).
const DATA_TABLES = ['organizations', 'device_groups', 'devices', 'packages', 'patch_categories', 'firmware_images', 'projects', 'clients', 'users', 'time_entries', 'tags', 'tasks'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of DATA_TABLES) await sql.raw(`ALTER TABLE ${table} ADD COLUMN row_hash uuid`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of DATA_TABLES) await sql.raw(`ALTER TABLE ${table} DROP COLUMN row_hash`).execute(db);
}
