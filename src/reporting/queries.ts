import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../warehouse/db.js';
import type { ReportRows } from './format.js';

/** The reports of `fleetsync report`. */
export const REPORTS = ['inventory', 'compliance', 'stale', 'health', 'time'] as const;
export type ReportName = (typeof REPORTS)[number];

/** Reports that can answer for a past instant (they read the history tables). */
export const AS_OF_REPORTS: readonly ReportName[] = ['inventory', 'compliance', 'stale'];

/** What a report is asked for. */
export interface ReportQuery {
  /** Only these sources; empty: all. */
  sources: readonly string[];
  /** The instant to answer for (see parseAsOf); null: now, from the current tables. */
  asOf: Date | null;
}

const INVENTORY_COLUMNS = ['source_id', 'vendor', 'organization_id', 'organization_name', 'group_id', 'group_name', 'device_id', 'device_name', 'serial_number', 'model', 'os_family', 'os_name', 'os_version', 'agent_version', 'status', 'compliant', 'pending_patches', 'needs_reboot', 'last_seen_at', 'days_since_last_seen'];
const COMPLIANCE_COLUMNS = ['source_id', 'organization_id', 'organization_name', 'category_id', 'category_name', 'severity', 'devices_missing_patches', 'missing_packages', 'missing_packages_with_cves'];
const HEALTH_COLUMNS = ['source_id', 'vendor', 'resource', 'last_run_id', 'last_run_trigger', 'last_run_started_at', 'last_run_outcome', 'last_run_duration', 'last_run_records', 'last_success_at', 'schedules', 'schedule_due_at', 'schedule_lag', 'failures_7d', 'failure_messages_7d', 'held_sweeps_7d', 'held_sweep_messages_7d', 'held_sweeps_open'];
const TIME_COLUMNS = ['source_id', 'workspace_id', 'workspace_name', 'iso_week', 'project_id', 'project_name', 'client_id', 'client_name', 'user_id', 'user_name', 'entries', 'seconds', 'hours', 'billable_hours'];

function sourceFilter(column: string, sources: readonly string[]): RawBuilder<unknown> {
  return sources.length === 0 ? sql`true` : sql`${sql.ref(column)} = ANY(${[...sources]}::text[])`;
}

/** The history rule: versions in force just before instant t (docs/warehouse.md, History). */
function inForce(alias: string, t: Date): RawBuilder<unknown> {
  const a = sql.raw(alias);
  return sql`${a}.valid_from < ${t.toISOString()}::timestamptz AND (${a}.valid_to IS NULL OR ${a}.valid_to >= ${t.toISOString()}::timestamptz)`;
}

/** device_inventory's columns for the devices in force at t, from devices_history (names of organizations and groups as they are now). */
function inventoryAsOf(q: ReportQuery, t: Date): RawBuilder<Record<string, unknown>> {
  return sql`
    SELECT h.source_id, v.vendor, h.organization_external_id AS organization_id, n.name AS organization_name,
      h.device_group_external_id AS group_id, g.name AS group_name, h.external_id AS device_id, h.name AS device_name,
      h.serial_number, h.model, h.os_family, h.os_name, h.os_version, h.agent_version, h.status, h.compliant,
      h.pending_patches, h.needs_reboot, h.vendor_last_seen_at AS last_seen_at,
      floor(extract(epoch FROM ${t.toISOString()}::timestamptz - h.vendor_last_seen_at) / 86400)::int AS days_since_last_seen
    FROM devices_history h
    LEFT JOIN reporting.source_vendors v ON v.source_id = h.source_id
    LEFT JOIN reporting.organization_names n ON n.source_id = h.source_id AND n.key = h.organization_external_id
    LEFT JOIN device_groups g ON g.source_id = h.source_id AND g.external_id = h.device_group_external_id
    WHERE ${inForce('h', t)} AND ${sourceFilter('h.source_id', q.sources)}`;
}

/**
 * Runs one report and returns its rows in a stable order. `asOf` is refused by reports that keep
 * no history (health, time) with an Error that says which do.
 */
export async function runReport(db: Kysely<Database>, name: ReportName, q: ReportQuery): Promise<ReportRows> {
  if (q.asOf !== null && !AS_OF_REPORTS.includes(name)) throw new Error(`report ${name} has no history: --as-of works with ${AS_OF_REPORTS.join(', ')}`);
  const t = q.asOf;
  let query: RawBuilder<Record<string, unknown>>;
  let columns: string[];
  switch (name) {
    case 'inventory':
      columns = INVENTORY_COLUMNS;
      query = t
        ? sql`SELECT * FROM (${inventoryAsOf(q, t)}) i ORDER BY source_id, organization_name, device_name, device_id`
        : sql`SELECT * FROM reporting.device_inventory WHERE ${sourceFilter('source_id', q.sources)} ORDER BY source_id, organization_name, device_name, device_id`;
      break;
    case 'stale':
      columns = [...INVENTORY_COLUMNS, 'stale_after_days'];
      query = t
        ? sql`SELECT i.*, s.stale_after_days FROM (${inventoryAsOf(q, t)}) i,
            (SELECT coalesce((SELECT value::int FROM reporting.settings WHERE key = 'stale_after_days'), 30) AS stale_after_days) s
            WHERE i.last_seen_at < ${t.toISOString()}::timestamptz - make_interval(days => s.stale_after_days)
            ORDER BY i.last_seen_at, i.source_id, i.device_id`
        : sql`SELECT * FROM reporting.stale_devices WHERE ${sourceFilter('source_id', q.sources)} ORDER BY last_seen_at, source_id, device_id`;
      break;
    case 'compliance':
      columns = COMPLIANCE_COLUMNS;
      query = t
        ? sql`SELECT p.source_id, p.organization_external_id AS organization_id, o.name AS organization_name,
              p.patch_category_id AS category_id, c.name AS category_name, p.severity,
              count(DISTINCT p.device_external_id)::int AS devices_missing_patches, count(*)::int AS missing_packages,
              (count(*) FILTER (WHERE p.cve_count > 0))::int AS missing_packages_with_cves
            FROM packages_history p
            LEFT JOIN organizations o ON o.source_id = p.source_id AND o.external_id = p.organization_external_id
            LEFT JOIN patch_categories c ON c.source_id = p.source_id AND c.external_id = p.patch_category_id::text
            WHERE ${inForce('p', t)} AND p.installed IS FALSE AND ${sourceFilter('p.source_id', q.sources)}
            GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 4, 6`
        : sql`SELECT * FROM reporting.patch_compliance WHERE ${sourceFilter('source_id', q.sources)} ORDER BY source_id, organization_id, category_id, severity`;
      break;
    case 'health':
      columns = HEALTH_COLUMNS;
      query = sql`SELECT * FROM reporting.sync_health WHERE ${sourceFilter('source_id', q.sources)} ORDER BY source_id, resource`;
      break;
    case 'time':
      columns = TIME_COLUMNS;
      query = sql`SELECT * FROM reporting.time_tracking WHERE ${sourceFilter('source_id', q.sources)} ORDER BY source_id, workspace_id, iso_week, project_id, user_id`;
      break;
  }
  const res = await query.execute(db);
  return { columns, rows: res.rows };
}
