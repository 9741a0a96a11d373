import { sql, type Kysely } from 'kysely';

// Frozen copy of the first warehouse layout: later changes go in new migrations.
const DATA_TABLES: Record<string, Record<string, string>> = {
  organizations: {
    name: 'text',
    guid: 'text',
    parent_external_id: 'text',
    vendor_created_at: 'timestamptz',
    vendor_updated_at: 'timestamptz',
  },
  device_groups: {
    organization_external_id: 'text',
    name: 'text',
    is_default: 'boolean',
    device_count: 'integer',
    vendor_created_at: 'timestamptz',
    vendor_updated_at: 'timestamptz',
  },
  devices: {
    organization_external_id: 'text',
    device_group_external_id: 'text',
    name: 'text',
    serial_number: 'text',
    model: 'text',
    os_family: 'text',
    os_name: 'text',
    os_version: 'text',
    agent_version: 'text',
    status: 'text',
    vendor_created_at: 'timestamptz',
    vendor_updated_at: 'timestamptz',
    vendor_last_seen_at: 'timestamptz',
  },
  packages: {
    organization_external_id: 'text',
    device_external_id: 'text',
    name: 'text',
    display_name: 'text',
    version: 'text',
    severity: 'text',
    installed: 'boolean',
    patch_category_id: 'integer',
    vendor_created_at: 'timestamptz',
  },
  patch_categories: {
    name: 'text',
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
  await sql.raw(`CREATE INDEX devices_org_idx ON devices (source_id, organization_external_id)`).execute(db);
  await sql.raw(`CREATE INDEX packages_device_idx ON packages (source_id, device_external_id)`).execute(db);

  await sql
    .raw(
      `CREATE TABLE sync_runs (
  id bigserial PRIMARY KEY,
  source_id text NOT NULL,
  trigger text NOT NULL,
  mode text NOT NULL DEFAULT 'full' CHECK (mode IN ('full', 'incremental')),
  resources text[] NOT NULL,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed', 'partial', 'cancelled')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  error_status integer,
  error_message text,
  error_request_id text
)`,
    )
    .execute(db);
  await sql.raw(`CREATE INDEX sync_runs_source_idx ON sync_runs (source_id, id DESC)`).execute(db);
  // At most one running run per source: a schedule firing during a run joins it instead.
  await sql.raw(`CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (source_id) WHERE status = 'running'`).execute(db);

  await sql
    .raw(
      `CREATE TABLE sync_walks (
  id bigserial PRIMARY KEY,
  run_id bigint NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
  source_id text NOT NULL,
  resource text NOT NULL,
  scope text NOT NULL,
  parent_walk_id bigint REFERENCES sync_walks (id) ON DELETE CASCADE,
  mode text NOT NULL DEFAULT 'full' CHECK (mode IN ('full', 'incremental')),
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
  cursor jsonb,
  pages integer NOT NULL DEFAULT 0,
  records integer NOT NULL DEFAULT 0,
  inserted integer NOT NULL DEFAULT 0,
  updated integer NOT NULL DEFAULT 0,
  unchanged integer NOT NULL DEFAULT 0,
  deleted integer NOT NULL DEFAULT 0,
  quarantined integer NOT NULL DEFAULT 0,
  repaired integer NOT NULL DEFAULT 0,
  total integer,
  since timestamptz,
  high_water_mark timestamptz,
  waiting_until timestamptz,
  waiting_reason text,
  error_status integer,
  error_message text,
  error_request_id text,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  UNIQUE (run_id, resource, scope)
)`,
    )
    .execute(db);
  await sql.raw(`CREATE INDEX sync_walks_latest_idx ON sync_walks (source_id, resource, scope, id DESC)`).execute(db);
  await sql.raw(`CREATE INDEX sync_walks_running_idx ON sync_walks (run_id) WHERE status = 'running'`).execute(db);

  // Ids seen by each page of a running walk, one row per page: the deletion sweep's input.
  // Kept apart from the data rows so that an unchanged row is never rewritten just to say "seen".
  await sql
    .raw(
      `CREATE TABLE sync_walk_pages (
  walk_id bigint NOT NULL REFERENCES sync_walks (id) ON DELETE CASCADE,
  page integer NOT NULL,
  ids text[] NOT NULL,
  PRIMARY KEY (walk_id, page)
)`,
    )
    .execute(db);

  await sql
    .raw(
      `CREATE TABLE sync_quarantine (
  id bigserial PRIMARY KEY,
  source_id text NOT NULL,
  resource text NOT NULL,
  scope text NOT NULL,
  run_id bigint,
  walk_id bigint,
  page integer NOT NULL,
  external_id text,
  reason text NOT NULL,
  raw jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
)`,
    )
    .execute(db);
  await sql.raw(`CREATE INDEX sync_quarantine_source_idx ON sync_quarantine (source_id, resource, id DESC)`).execute(db);

  await sql
    .raw(
      `CREATE TABLE sync_sources (
  source_id text PRIMARY KEY,
  paused_at timestamptz,
  paused_reason text,
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
    )
    .execute(db);

  await sql
    .raw(
      `CREATE TABLE sync_disabled_resources (
  source_id text NOT NULL,
  resource text NOT NULL,
  disabled_at timestamptz NOT NULL DEFAULT now(),
  status integer,
  reason text,
  PRIMARY KEY (source_id, resource)
)`,
    )
    .execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['sync_disabled_resources', 'sync_sources', 'sync_quarantine', 'sync_walk_pages', 'sync_walks', 'sync_runs', ...Object.keys(DATA_TABLES)]) {
    await sql.raw(`DROP TABLE IF EXISTS ${t} CASCADE`).execute(db);
  }
}
