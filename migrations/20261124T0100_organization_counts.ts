import { sql, type Kysely } from 'kysely';
import { VIEWS } from './20261123T0600_reporting.js';

// reporting.organization_summary read in 1.3 s at a million devices and five million
// packages, counting every present row per organization on each read. The counts now live in
// reporting.organization_counts, recomputed per source when one of its runs ends or its held
// sweeps are applied (src/warehouse/organization-counts.ts), and the view reads them: same
// columns, same names and types. Docs: docs/warehouse.md, reporting.organization_summary.

/** The view as this migration replaces it (frozen; exported so a kept bench database can be brought to it). */
export const ORGANIZATION_SUMMARY = `CREATE OR REPLACE VIEW reporting.organization_summary AS
WITH orgs AS (
  SELECT source_id, external_id, name FROM organizations WHERE deleted_at IS NULL
), last_ok AS (
  SELECT source_id, resource, scope, max(finished_at) AS at FROM sync_walks WHERE status = 'succeeded' GROUP BY 1, 2, 3
), per_org AS (
  SELECT o.source_id, o.external_id, jsonb_object_agg(l.resource, l.at ORDER BY l.resource) AS last_success, min(l.at) AS oldest
  FROM orgs o JOIN last_ok l ON l.source_id = o.source_id AND l.scope IN (o.external_id, '-')
  GROUP BY 1, 2
)
SELECT o.source_id, v.vendor, o.external_id AS organization_id, o.name AS organization_name,
  coalesce(dev.present, 0) AS devices, coalesce(grp.present, 0) AS device_groups, coalesce(pkg.present, 0) AS packages,
  coalesce(p.last_success, '{}'::jsonb) AS last_success_per_resource,
  p.oldest AS oldest_success_at,
  now() - p.oldest AS freshness
FROM orgs o
LEFT JOIN reporting.source_vendors v ON v.source_id = o.source_id
LEFT JOIN reporting.organization_counts dev ON dev.source_id = o.source_id AND dev.table_name = 'devices' AND dev.organization_id = o.external_id
LEFT JOIN reporting.organization_counts grp ON grp.source_id = o.source_id AND grp.table_name = 'device_groups' AND grp.organization_id = o.external_id
LEFT JOIN reporting.organization_counts pkg ON pkg.source_id = o.source_id AND pkg.table_name = 'packages' AND pkg.organization_id = o.external_id
LEFT JOIN per_org p ON p.source_id = o.source_id AND p.external_id = o.external_id`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE reporting.organization_counts (
  source_id text NOT NULL,
  table_name text NOT NULL CHECK (table_name IN ('devices', 'device_groups', 'packages')),
  organization_id text NOT NULL,
  present integer NOT NULL,
  counted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, table_name, organization_id)
)`.execute(db);
  // Filled once from what is present now, for every source (frozen copy of the refresh's SQL).
  for (const t of ['devices', 'device_groups', 'packages']) {
    await sql`INSERT INTO reporting.organization_counts (source_id, table_name, organization_id, present)
SELECT source_id, ${t}::text, organization_external_id, count(*)::int FROM ${sql.table(t)}
WHERE deleted_at IS NULL AND organization_external_id IS NOT NULL GROUP BY source_id, organization_external_id`.execute(db);
  }
  await sql.raw(ORGANIZATION_SUMMARY).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const counting = VIEWS.find((v) => v.startsWith('CREATE VIEW reporting.organization_summary '));
  if (!counting) throw new Error('20261123T0600_reporting no longer exports the organization_summary view');
  await sql.raw(counting.replace('CREATE VIEW', 'CREATE OR REPLACE VIEW')).execute(db);
  await sql`DROP TABLE reporting.organization_counts`.execute(db);
}
