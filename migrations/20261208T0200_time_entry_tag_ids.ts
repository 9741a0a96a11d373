import { sql, type Kysely } from 'kysely';

// Issue 28: Toggl time entries keep the documented `tag_ids` (a JSON array of tag ids, the
// detailed report row's field) beside `tag_names`, which only the undocumented enriched answer
// carries. Also in the history table (time entries opt in with `history:`). Rows synced before get
// it from their raw, in the table and their open history version. Docs: docs/toggl.md.

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const t of ['time_entries', 'time_entries_history']) await sql.raw(`ALTER TABLE ${t} ADD COLUMN tag_ids jsonb`).execute(db);
  await sql`UPDATE time_entries SET tag_ids = raw->'tag_ids' WHERE jsonb_typeof(raw->'tag_ids') = 'array'
    AND source_id IN (SELECT source_id FROM reporting.source_vendors WHERE vendor = 'toggl')`.execute(db);
  await sql`UPDATE time_entries_history h SET tag_ids = t.tag_ids FROM time_entries t
    WHERE h.valid_to IS NULL AND t.source_id = h.source_id AND t.external_id = h.external_id AND t.tag_ids IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['time_entries', 'time_entries_history']) await sql.raw(`ALTER TABLE ${t} DROP COLUMN tag_ids`).execute(db);
}
