import { sql, type Kysely } from 'kysely';

// columns the vendors' published definitions fill, and Toggl time entries, tags and tasks.
// - devices: the patch-report fields of Automox `/servers` (compliant, is_compatible,
//   pending_patches, needs_reboot, last_disconnect_time).
// - users: Toggl's `inactive` membership flag. timezone, vendor_created_at and vendor_updated_at
//   stay: Toggl's workspace users never fill them, declarative REST sources map them.
// - firmware_images.datafile_size is bigint since it was created: sizes of 2 GiB and more fit.
// Frozen copy of the new tables' first layout: later changes go in new migrations.
const NEW_TABLES: Record<string, Record<string, string>> = {
  time_entries: {
    organization_external_id: 'text',
    project_external_id: 'text',
    task_external_id: 'text',
    user_external_id: 'text',
    description: 'text',
    started_at: 'timestamptz',
    stopped_at: 'timestamptz',
    duration_seconds: 'integer',
    billable: 'boolean',
    tag_names: 'jsonb',
    vendor_updated_at: 'timestamptz',
  },
  tags: {
    organization_external_id: 'text',
    name: 'text',
    vendor_updated_at: 'timestamptz',
  },
  tasks: {
    organization_external_id: 'text',
    project_external_id: 'text',
    user_external_id: 'text',
    name: 'text',
    active: 'boolean',
    estimated_seconds: 'integer',
    tracked_seconds: 'integer',
    vendor_updated_at: 'timestamptz',
  },
};

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `ALTER TABLE devices
  ADD COLUMN compliant boolean,
  ADD COLUMN is_compatible boolean,
  ADD COLUMN pending_patches integer,
  ADD COLUMN needs_reboot boolean,
  ADD COLUMN vendor_last_disconnect_at timestamptz`,
    )
    .execute(db);
  await sql.raw(`ALTER TABLE users ADD COLUMN inactive boolean`).execute(db);
  for (const [table, columns] of Object.entries(NEW_TABLES)) {
    const cols = Object.entries(columns)
      .map(([c, t]) => `${c} ${t}`)
      .join(',\n  ');
    await sql
      .raw(
        `CREATE TABLE ${table} (
  source_id text NOT NULL,
  external_id text NOT NULL,
  scope text NOT NULL DEFAULT '-',
  ${cols},
  raw jsonb NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  -- missed by one complete walk, awaiting a second (see 20261123T0100_confirmed_deletes)
  missing_since timestamptz,
  PRIMARY KEY (source_id, external_id)
)`,
      )
      .execute(db);
    // The deletion sweep reads one (source, scope) at a time.
    await sql.raw(`CREATE INDEX ${table}_scope_idx ON ${table} (source_id, scope)`).execute(db);
  }
  // Reports read time by date; the bounded sweep of a time-entry walk reads its date range.
  await sql.raw(`CREATE INDEX time_entries_started_idx ON time_entries (source_id, scope, started_at)`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of Object.keys(NEW_TABLES)) await sql.raw(`DROP TABLE IF EXISTS ${t} CASCADE`).execute(db);
  await sql.raw(`ALTER TABLE users DROP COLUMN IF EXISTS inactive`).execute(db);
  await sql
    .raw(
      `ALTER TABLE devices DROP COLUMN IF EXISTS compliant, DROP COLUMN IF EXISTS is_compatible, DROP COLUMN IF EXISTS pending_patches,
  DROP COLUMN IF EXISTS needs_reboot, DROP COLUMN IF EXISTS vendor_last_disconnect_at`,
    )
    .execute(db);
}
