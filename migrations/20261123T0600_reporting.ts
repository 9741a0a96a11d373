import { sql, type Kysely } from 'kysely';

// the `reporting` schema, change history (SCD type 2) and what the views need.
// - packages.cve_count: how many CVEs a package names (Automox `cves`), so patch reports need not
//   read raw jsonb of millions of rows.
// - sync_runs.vendor: the vendor of the run's source (the config names it; reports need it).
// - sync_schedules: each configured schedule's cron and firings, written by the scheduler, so
//   sync_health can say how far a resource is behind its schedule.
// - <table>_history for every data table: its normalized columns per version, valid_from/valid_to.
//   devices and packages are always kept; other tables when a source opts in (`history:`).
// - reporting.settings and the views. Later changes to a view: CREATE OR REPLACE in a new migration.
// Docs: docs/warehouse.md.

// Frozen list of the data tables at this migration; a history table copies its table's columns now.
const TABLES = ['organizations', 'device_groups', 'devices', 'packages', 'patch_categories', 'firmware_images', 'projects', 'clients', 'users', 'time_entries', 'tags', 'tasks'];
const BOOKKEEPING = ['raw', 'first_seen_at', 'last_seen_at', 'deleted_at', 'missing_since'];

/** The views as this migration creates them (frozen; exported so a kept bench database can be brought to them). */
export const VIEWS = [
  // The vendor of each source: the one its latest run recorded (the config is not in the database).
  `CREATE VIEW reporting.source_vendors AS
SELECT DISTINCT ON (source_id) source_id, vendor
FROM sync_runs WHERE vendor IS NOT NULL
ORDER BY source_id, id DESC`,

  // One name per organization key of a source: its id, or its GUID (Famoco Insights names
  // organizations by GUID); an id wins over an equal GUID. One hash join instead of two: 2.0 s ->
  // 0.65 s for a fleet-wide count at a million devices.
  `CREATE VIEW reporting.organization_names AS
SELECT DISTINCT ON (source_id, key) source_id, key, name FROM (
  SELECT source_id, external_id AS key, name, 0 AS pref FROM organizations
  UNION ALL
  SELECT source_id, guid, name, 1 FROM organizations WHERE guid IS NOT NULL AND guid <> ''
) k ORDER BY source_id, key, pref`,

  `CREATE VIEW reporting.device_inventory AS
SELECT d.source_id, v.vendor, d.external_id AS device_id, d.scope,
  d.organization_external_id AS organization_id, n.name AS organization_name,
  d.device_group_external_id AS group_id, g.name AS group_name,
  d.name AS device_name, d.serial_number, d.model, d.os_family, d.os_name, d.os_version,
  d.agent_version, d.status, d.compliant, d.pending_patches, d.needs_reboot,
  d.vendor_last_seen_at AS last_seen_at, d.first_seen_at,
  floor(extract(epoch FROM now() - d.vendor_last_seen_at) / 86400)::int AS days_since_last_seen,
  d.missing_since
FROM devices d
LEFT JOIN reporting.source_vendors v ON v.source_id = d.source_id
LEFT JOIN reporting.organization_names n ON n.source_id = d.source_id AND n.key = d.organization_external_id
LEFT JOIN device_groups g ON g.source_id = d.source_id AND g.external_id = d.device_group_external_id
WHERE d.deleted_at IS NULL`,

  // Aggregated before the names are joined, so the aggregate reads packages_missing_idx in order.
  `CREATE VIEW reporting.patch_compliance AS
SELECT a.source_id, a.organization_id, o.name AS organization_name, a.category_id, c.name AS category_name, a.severity,
  a.devices_missing_patches, a.missing_packages, a.missing_packages_with_cves
FROM (
  SELECT source_id, organization_external_id AS organization_id, patch_category_id AS category_id, severity,
    count(DISTINCT device_external_id)::int AS devices_missing_patches,
    count(*)::int AS missing_packages,
    (count(*) FILTER (WHERE cve_count > 0))::int AS missing_packages_with_cves
  FROM packages
  WHERE deleted_at IS NULL AND installed IS FALSE
  GROUP BY source_id, organization_external_id, patch_category_id, severity
) a
LEFT JOIN organizations o ON o.source_id = a.source_id AND o.external_id = a.organization_id
LEFT JOIN patch_categories c ON c.source_id = a.source_id AND c.external_id = a.category_id::text`,

  `CREATE VIEW reporting.stale_devices AS
SELECT i.*, s.stale_after_days
FROM reporting.device_inventory i,
  (SELECT coalesce((SELECT value::int FROM reporting.settings WHERE key = 'stale_after_days'), 30) AS stale_after_days) s
WHERE i.last_seen_at < now() - make_interval(days => s.stale_after_days)`,

  `CREATE VIEW reporting.organization_summary AS
WITH orgs AS (
  SELECT source_id, external_id, name FROM organizations WHERE deleted_at IS NULL
), dev AS (
  SELECT source_id, organization_external_id AS org, count(*)::int AS n FROM devices WHERE deleted_at IS NULL GROUP BY 1, 2
), grp AS (
  SELECT source_id, organization_external_id AS org, count(*)::int AS n FROM device_groups WHERE deleted_at IS NULL GROUP BY 1, 2
), pkg AS (
  SELECT source_id, organization_external_id AS org, count(*)::int AS n FROM packages WHERE deleted_at IS NULL GROUP BY 1, 2
), last_ok AS (
  SELECT source_id, resource, scope, max(finished_at) AS at FROM sync_walks WHERE status = 'succeeded' GROUP BY 1, 2, 3
), per_org AS (
  SELECT o.source_id, o.external_id, jsonb_object_agg(l.resource, l.at ORDER BY l.resource) AS last_success, min(l.at) AS oldest
  FROM orgs o JOIN last_ok l ON l.source_id = o.source_id AND l.scope IN (o.external_id, '-')
  GROUP BY 1, 2
)
SELECT o.source_id, v.vendor, o.external_id AS organization_id, o.name AS organization_name,
  coalesce(dev.n, 0) AS devices, coalesce(grp.n, 0) AS device_groups, coalesce(pkg.n, 0) AS packages,
  coalesce(p.last_success, '{}'::jsonb) AS last_success_per_resource,
  p.oldest AS oldest_success_at,
  now() - p.oldest AS freshness
FROM orgs o
LEFT JOIN reporting.source_vendors v ON v.source_id = o.source_id
LEFT JOIN dev ON dev.source_id = o.source_id AND dev.org = o.external_id
LEFT JOIN grp ON grp.source_id = o.source_id AND grp.org = o.external_id
LEFT JOIN pkg ON pkg.source_id = o.source_id AND pkg.org = o.external_id
LEFT JOIN per_org p ON p.source_id = o.source_id AND p.external_id = o.external_id`,

  `CREATE VIEW reporting.sync_health AS
WITH per_run AS (
  SELECT source_id, resource, run_id, min(started_at) AS started_at,
    CASE WHEN bool_or(status = 'running') THEN NULL ELSE max(finished_at) END AS finished_at,
    CASE WHEN bool_or(status = 'running') THEN 'running' WHEN bool_or(status = 'failed') THEN 'failed'
         WHEN bool_or(status = 'cancelled') THEN 'cancelled' ELSE 'succeeded' END AS outcome,
    sum(records)::bigint AS records, sum(inserted)::bigint AS inserted, sum(updated)::bigint AS updated,
    sum(deleted)::bigint AS deleted, sum(quarantined)::bigint AS quarantined
  FROM sync_walks GROUP BY source_id, resource, run_id
), last_run AS (
  SELECT DISTINCT ON (source_id, resource) * FROM per_run ORDER BY source_id, resource, run_id DESC
), last_success AS (
  SELECT source_id, resource, max(finished_at) AS at FROM per_run WHERE outcome = 'succeeded' GROUP BY 1, 2
), failures AS (
  SELECT source_id, resource, count(*)::int AS n,
    (array_agg(concat_ws(' ', coalesce(error_message, 'failed (status ' || error_status || ')'), '(request ' || error_request_id || ')') ORDER BY id DESC))[1:5] AS messages
  FROM sync_walks WHERE status = 'failed' AND started_at > now() - interval '7 days' GROUP BY 1, 2
), held AS (
  SELECT source_id, resource, count(*)::int AS n, (array_agg(sweep_reason ORDER BY id DESC))[1:5] AS messages
  FROM sync_walks WHERE sweep = 'held' AND started_at > now() - interval '7 days' GROUP BY 1, 2
), due AS (
  SELECT src AS source_id, res AS resource,
    max(CASE WHEN s.next_fire_at <= now() THEN s.next_fire_at ELSE s.last_fired_at END) AS due_at,
    string_agg(s.name, ', ' ORDER BY s.name) AS schedules
  FROM sync_schedules s CROSS JOIN LATERAL unnest(s.sources) AS src
  CROSS JOIN LATERAL (SELECT DISTINCT resource AS res FROM sync_walks w WHERE w.source_id = src) r
  WHERE cardinality(s.resources) = 0 OR r.res = ANY(s.resources)
  GROUP BY 1, 2
)
SELECT l.source_id, v.vendor, l.resource, l.run_id AS last_run_id, r.trigger AS last_run_trigger,
  l.started_at AS last_run_started_at, l.finished_at AS last_run_finished_at, l.outcome AS last_run_outcome,
  coalesce(l.finished_at, now()) - l.started_at AS last_run_duration,
  l.records AS last_run_records, l.inserted AS last_run_inserted, l.updated AS last_run_updated,
  l.deleted AS last_run_deleted, l.quarantined AS last_run_quarantined,
  s.at AS last_success_at,
  d.schedules, d.due_at AS schedule_due_at,
  CASE WHEN d.due_at IS NULL THEN NULL
       WHEN s.at >= d.due_at THEN interval '0'
       ELSE greatest(now() - d.due_at, interval '0') END AS schedule_lag,
  coalesce(f.n, 0) AS failures_7d, coalesce(f.messages, '{}') AS failure_messages_7d,
  coalesce(h.n, 0) AS held_sweeps_7d, coalesce(h.messages, '{}') AS held_sweep_messages_7d,
  (SELECT count(*)::int FROM sync_held_sweeps x WHERE x.source_id = l.source_id AND x.resource = l.resource) AS held_sweeps_open
FROM last_run l
JOIN sync_runs r ON r.id = l.run_id
LEFT JOIN reporting.source_vendors v ON v.source_id = l.source_id
LEFT JOIN last_success s ON s.source_id = l.source_id AND s.resource = l.resource
LEFT JOIN failures f ON f.source_id = l.source_id AND f.resource = l.resource
LEFT JOIN held h ON h.source_id = l.source_id AND h.resource = l.resource
LEFT JOIN due d ON d.source_id = l.source_id AND d.resource = l.resource`,

  // Aggregated by ids and week before the names are joined: grouping by names and week text per
  // row sorted 200,000 entries on disk (1.5 s in bench/reporting.ts).
  `CREATE VIEW reporting.time_tracking AS
SELECT a.source_id, a.workspace_id, w.name AS workspace_name,
  a.project_id, p.name AS project_name, p.client_external_id AS client_id, c.name AS client_name,
  a.user_id, u.name AS user_name,
  to_char(a.week_start, 'IYYY-"W"IW') AS iso_week, a.week_start,
  a.entries, a.seconds, round(a.seconds / 3600.0, 2) AS hours, round(a.billable_seconds / 3600.0, 2) AS billable_hours
FROM (
  SELECT source_id, organization_external_id AS workspace_id, project_external_id AS project_id, user_external_id AS user_id,
    date_trunc('week', started_at AT TIME ZONE 'UTC')::date AS week_start,
    count(*)::int AS entries,
    sum(duration_seconds)::bigint AS seconds,
    coalesce(sum(duration_seconds) FILTER (WHERE billable), 0)::bigint AS billable_seconds
  FROM time_entries
  WHERE deleted_at IS NULL AND duration_seconds >= 0 AND started_at IS NOT NULL
  GROUP BY 1, 2, 3, 4, 5
) a
LEFT JOIN organizations w ON w.source_id = a.source_id AND w.external_id = a.workspace_id AND w.scope = '-'
LEFT JOIN projects p ON p.source_id = a.source_id AND p.external_id = a.project_id
LEFT JOIN clients c ON c.source_id = a.source_id AND c.external_id = p.client_external_id
LEFT JOIN users u ON u.source_id = a.source_id AND u.organization_external_id = a.workspace_id AND u.user_external_id = a.user_id`,

  `CREATE VIEW reporting.device_history AS
SELECT h.source_id, h.external_id AS device_id, h.scope,
  h.organization_external_id AS organization_id, h.device_group_external_id AS group_id,
  h.name AS device_name, h.serial_number, h.model, h.os_family, h.os_name, h.os_version,
  h.agent_version, h.status, h.compliant, h.pending_patches, h.needs_reboot,
  h.vendor_last_seen_at AS last_seen_at, h.valid_from, h.valid_to, h.valid_to IS NULL AS is_current
FROM devices_history h`,

  // State at the end of each UTC day, from change events: a version adds on the day it began and
  // subtracts on the day it ended, so the cost follows the history's size, not days x devices.
  // The running sums hold from one event day to the next: generate_series fills the days between.
  // `daily` is referenced once, so a filter on source_id and organization_id (the window's
  // partition) reaches the scans.
  `CREATE VIEW reporting.compliance_daily AS
WITH ev AS (
  -- Grouped by the exact instants first: versions share the few valid_from of their commits, and
  -- a day computed per row cost three times the scan (1.7 s -> 0.5 s at a million devices).
  SELECT source_id, organization_external_id AS org, valid_from AS at,
    count(*) AS devices, count(*) FILTER (WHERE compliant) AS compliant, 0::bigint AS critical
  FROM devices_history GROUP BY 1, 2, 3
  UNION ALL
  SELECT source_id, organization_external_id, valid_to, -count(*), -count(*) FILTER (WHERE compliant), 0
  FROM devices_history WHERE valid_to IS NOT NULL GROUP BY 1, 2, 3
  UNION ALL
  SELECT source_id, organization_external_id, valid_from, 0, 0, count(*)
  FROM packages_history WHERE installed IS FALSE AND severity = 'critical' GROUP BY 1, 2, 3
  UNION ALL
  SELECT source_id, organization_external_id, valid_to, 0, 0, -count(*)
  FROM packages_history WHERE installed IS FALSE AND severity = 'critical' AND valid_to IS NOT NULL GROUP BY 1, 2, 3
), daily AS (
  SELECT source_id, org, (at AT TIME ZONE 'UTC')::date AS day, sum(devices) AS devices, sum(compliant) AS compliant, sum(critical) AS critical
  FROM ev GROUP BY 1, 2, 3
), running AS (
  SELECT source_id, org, day,
    sum(devices) OVER w AS devices, sum(compliant) OVER w AS compliant, sum(critical) OVER w AS critical,
    lead(day) OVER w AS next_day
  FROM daily
  WINDOW w AS (PARTITION BY source_id, org ORDER BY day)
)
SELECT r.source_id, r.org AS organization_id, o.name AS organization_name, g.day::date AS day,
  r.devices::int AS devices, r.compliant::int AS compliant_devices, r.critical::int AS missing_critical_patches
FROM running r
CROSS JOIN LATERAL generate_series(r.day, coalesce(r.next_day - 1, greatest(r.day, (now() AT TIME ZONE 'UTC')::date)), interval '1 day') AS g(day)
LEFT JOIN organizations o ON o.source_id = r.source_id AND o.external_id = r.org`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  // time_entries, tags and tasks were created (20261123T0400) without the missing_since that
  // 20261123T0100 gave the tables of its time; the upsert and the sweep of every table use it.
  for (const t of ['time_entries', 'tags', 'tasks']) await sql.raw(`ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS missing_since timestamptz`).execute(db);
  await sql`ALTER TABLE packages ADD COLUMN cve_count integer`.execute(db);
  await sql`ALTER TABLE sync_runs ADD COLUMN vendor text`.execute(db);
  await sql`CREATE TABLE sync_schedules (
  name text PRIMARY KEY,
  cron text NOT NULL,
  time_zone text NOT NULL,
  sources text[] NOT NULL,
  resources text[] NOT NULL,
  mode text NOT NULL,
  last_fired_at timestamptz,
  next_fire_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
)`.execute(db);
  for (const t of TABLES) {
    const h = `${t}_history`;
    await sql.raw(`CREATE TABLE ${h} (LIKE ${t})`).execute(db);
    for (const c of BOOKKEEPING) await sql.raw(`ALTER TABLE ${h} DROP COLUMN IF EXISTS ${c}`).execute(db);
    await sql.raw(`ALTER TABLE ${h} ADD COLUMN valid_from timestamptz NOT NULL, ADD COLUMN valid_to timestamptz, ADD PRIMARY KEY (source_id, external_id, valid_from)`).execute(db);
    // One open version per row; the history step finds it by this index.
    await sql.raw(`CREATE UNIQUE INDEX ${h}_open ON ${h} (source_id, external_id) WHERE valid_to IS NULL`).execute(db);
  }
  // History begins now for what is present: its current values, valid from this migration.
  for (const t of ['devices', 'packages']) {
    const cols = (await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${`${t}_history`} AND column_name NOT IN ('valid_from', 'valid_to') ORDER BY ordinal_position`.execute(db)).rows.map((r) => r.column_name);
    await sql.raw(`INSERT INTO ${t}_history (${cols.join(', ')}, valid_from) SELECT ${cols.join(', ')}, now() FROM ${t} WHERE deleted_at IS NULL`).execute(db);
  }
  // Indexes the views use (measured in bench/reporting.ts, figures in docs/warehouse.md).
  await sql`CREATE INDEX packages_missing_idx ON packages (source_id, organization_external_id, patch_category_id, severity, device_external_id, cve_count) WHERE deleted_at IS NULL AND installed IS FALSE`.execute(db);
  await sql`CREATE INDEX packages_present_org_idx ON packages (source_id, organization_external_id) WHERE deleted_at IS NULL`.execute(db);
  await sql`CREATE INDEX devices_present_last_seen_idx ON devices (vendor_last_seen_at) WHERE deleted_at IS NULL`.execute(db);
  await sql`CREATE INDEX sync_walks_failed_idx ON sync_walks (started_at) WHERE status = 'failed' OR sweep = 'held'`.execute(db);
  await sql`CREATE INDEX devices_present_org_idx ON devices (source_id, organization_external_id) WHERE deleted_at IS NULL`.execute(db);
  await sql`CREATE INDEX sync_walks_succeeded_idx ON sync_walks (source_id, resource, scope, finished_at) WHERE status = 'succeeded'`.execute(db);
  // compliance_daily reads the history through these alone (index-only scans).
  await sql`CREATE INDEX devices_history_from_idx ON devices_history (source_id, organization_external_id, valid_from) INCLUDE (compliant)`.execute(db);
  await sql`CREATE INDEX devices_history_to_idx ON devices_history (source_id, organization_external_id, valid_to) INCLUDE (compliant) WHERE valid_to IS NOT NULL`.execute(db);
  await sql`CREATE INDEX packages_history_critical_idx ON packages_history (source_id, organization_external_id, valid_from, valid_to) WHERE installed IS FALSE AND severity = 'critical'`.execute(db);

  await sql`CREATE SCHEMA reporting`.execute(db);
  await sql`CREATE TABLE reporting.settings (key text PRIMARY KEY, value text NOT NULL, description text)`.execute(db);
  await sql`INSERT INTO reporting.settings (key, value, description) VALUES ('stale_after_days', '30', 'stale_devices: a present device not seen by its vendor for more than this many days')`.execute(db);
  for (const v of VIEWS) await sql.raw(v).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP SCHEMA reporting CASCADE`.execute(db);
  for (const t of TABLES) await sql.raw(`DROP TABLE ${t}_history`).execute(db);
  await sql`DROP INDEX IF EXISTS packages_missing_idx, packages_present_org_idx, devices_present_last_seen_idx, devices_present_org_idx, sync_walks_failed_idx, sync_walks_succeeded_idx`.execute(db);
  await sql`DROP TABLE sync_schedules`.execute(db);
  await sql`ALTER TABLE sync_runs DROP COLUMN vendor`.execute(db);
  await sql`ALTER TABLE packages DROP COLUMN cve_count`.execute(db);
}
