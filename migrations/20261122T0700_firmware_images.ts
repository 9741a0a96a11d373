import { sql, type Kysely } from 'kysely';

// Izuma firmware images get a table of their own rather than `packages`: they are
// account-wide binaries with a checksum and size, not software found installed on a device.
// Same shared columns and primary key as every data table (see the initial migration).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `CREATE TABLE firmware_images (
  source_id text NOT NULL,
  external_id text NOT NULL,
  scope text NOT NULL DEFAULT '-',
  organization_external_id text,
  name text,
  description text,
  datafile_url text,
  datafile_checksum text,
  datafile_size bigint,
  vendor_created_at timestamptz,
  vendor_updated_at timestamptz,
  raw jsonb NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  PRIMARY KEY (source_id, external_id)
)`,
    )
    .execute(db);
  await sql.raw(`CREATE INDEX firmware_images_scope_idx ON firmware_images (source_id, scope)`).execute(db);
  // Devices report the checksum of the firmware they run (Izuma `firmware_checksum`).
  await sql.raw(`CREATE INDEX firmware_images_checksum_idx ON firmware_images (source_id, datafile_checksum)`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`DROP TABLE IF EXISTS firmware_images`).execute(db);
}
