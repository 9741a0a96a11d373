import { sql, type Kysely } from 'kysely';

// Deletes that a changing listing cannot fake (docs/design.md, Deletes are detected, not
// guessed): a row missed by one complete full walk gets missing_since, deleted_at only when a
// later one misses it too. A walk records what its sweep did and why; a sweep held by the
// mass-delete guard waits in sync_held_sweeps for `fleetsync sweep --confirm` or a walk that agrees.
const DATA_TABLES = ['organizations', 'device_groups', 'devices', 'packages', 'patch_categories', 'firmware_images', 'projects', 'clients', 'users'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of DATA_TABLES) await sql.raw(`ALTER TABLE ${table} ADD COLUMN missing_since timestamptz`).execute(db);
  await sql`ALTER TABLE sync_walks
    ADD COLUMN sweep text,
    ADD COLUMN sweep_reason text,
    ADD COLUMN missing integer NOT NULL DEFAULT 0,
    ADD COLUMN seen_ids integer,
    ADD COLUMN total_max integer,
    ADD COLUMN unidentified integer NOT NULL DEFAULT 0`.execute(db);
  await sql`CREATE TABLE sync_held_sweeps (
  source_id text NOT NULL,
  resource text NOT NULL,
  scope text NOT NULL,
  data_table text NOT NULL,
  walk_id bigint NOT NULL REFERENCES sync_walks (id) ON DELETE CASCADE,
  held_at timestamptz NOT NULL DEFAULT now(),
  present integer NOT NULL,
  ids text[] NOT NULL,
  message text NOT NULL,
  PRIMARY KEY (source_id, resource, scope)
)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE sync_held_sweeps`.execute(db);
  await sql`ALTER TABLE sync_walks DROP COLUMN sweep, DROP COLUMN sweep_reason, DROP COLUMN missing, DROP COLUMN seen_ids, DROP COLUMN total_max, DROP COLUMN unidentified`.execute(db);
  for (const table of DATA_TABLES) await sql.raw(`ALTER TABLE ${table} DROP COLUMN missing_since`).execute(db);
}
