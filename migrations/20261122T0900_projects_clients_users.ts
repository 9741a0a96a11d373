import { sql, type Kysely } from 'kysely';

// Tables for SaaS resources (Toggl projects/clients/users, declarative REST sources).
// Frozen copy of their first layout: later changes go in new migrations.
// Users are per organization (a Toggl workspace): the same person in two workspaces is two
// rows, so external_id is "<organization>:<user>" and user_external_id keeps the vendor's id.
const DATA_TABLES: Record<string, Record<string, string>> = {
  projects: {
    organization_external_id: 'text',
    client_external_id: 'text',
    name: 'text',
    active: 'boolean',
    is_private: 'boolean',
    billable: 'boolean',
    color: 'text',
    status: 'text',
    vendor_created_at: 'timestamptz',
    vendor_updated_at: 'timestamptz',
    vendor_deleted_at: 'timestamptz',
  },
  clients: {
    organization_external_id: 'text',
    name: 'text',
    archived: 'boolean',
    notes: 'text',
    vendor_created_at: 'timestamptz',
    vendor_updated_at: 'timestamptz',
  },
  users: {
    organization_external_id: 'text',
    user_external_id: 'text',
    name: 'text',
    email: 'text',
    role: 'text',
    is_admin: 'boolean',
    active: 'boolean',
    timezone: 'text',
    vendor_created_at: 'timestamptz',
    vendor_updated_at: 'timestamptz',
  },
};

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [table, columns] of Object.entries(DATA_TABLES)) {
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
  PRIMARY KEY (source_id, external_id)
)`,
      )
      .execute(db);
    // The deletion sweep reads one (source, scope) at a time.
    await sql.raw(`CREATE INDEX ${table}_scope_idx ON ${table} (source_id, scope)`).execute(db);
  }
  await sql.raw(`CREATE INDEX users_user_idx ON users (source_id, user_external_id)`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of Object.keys(DATA_TABLES)) await sql.raw(`DROP TABLE IF EXISTS ${t} CASCADE`).execute(db);
}
