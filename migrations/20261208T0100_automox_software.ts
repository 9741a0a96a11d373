import { sql, type Kysely } from 'kysely';

// Issue 28: Automox software the console cannot patch, and the device's display name.
// - packages.unmanaged: true for software Automox lists only with `includeUnmanaged=1` (its
//   `is_managed` is false), so inventory reports can tell it from patchable software.
// - devices.display_name: the Server's `display_name` (its custom name, else its host name).
// Both go into the tables' history too (src/warehouse/history.ts copies every normalized column).
// Rows of Automox sources synced before get both from their raw, in the table and in the open
// history version, so their next sync writes no new version for a value that did not change.
// Docs: docs/connectors.md, Automox.

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const t of ['packages', 'packages_history']) await sql.raw(`ALTER TABLE ${t} ADD COLUMN unmanaged boolean`).execute(db);
  for (const t of ['devices', 'devices_history']) await sql.raw(`ALTER TABLE ${t} ADD COLUMN display_name text`).execute(db);
  const automox = sql`(SELECT source_id FROM reporting.source_vendors WHERE vendor = 'automox')`;
  await sql`UPDATE packages SET unmanaged = NOT (raw->>'is_managed')::boolean
    WHERE source_id IN ${automox} AND jsonb_typeof(raw->'is_managed') = 'boolean'`.execute(db);
  await sql`UPDATE packages_history h SET unmanaged = p.unmanaged FROM packages p
    WHERE h.valid_to IS NULL AND p.source_id = h.source_id AND p.external_id = h.external_id AND p.unmanaged IS NOT NULL`.execute(db);
  await sql`UPDATE devices SET display_name = raw->>'display_name'
    WHERE source_id IN ${automox} AND jsonb_typeof(raw->'display_name') = 'string'`.execute(db);
  await sql`UPDATE devices_history h SET display_name = d.display_name FROM devices d
    WHERE h.valid_to IS NULL AND d.source_id = h.source_id AND d.external_id = h.external_id AND d.display_name IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['packages', 'packages_history']) await sql.raw(`ALTER TABLE ${t} DROP COLUMN unmanaged`).execute(db);
  for (const t of ['devices', 'devices_history']) await sql.raw(`ALTER TABLE ${t} DROP COLUMN display_name`).execute(db);
}
