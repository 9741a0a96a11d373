/**
 * The reporting workload: generates a warehouse of BENCH_REPORTING_DEVICES devices
 * (default 1,000,000) with 5 packages each straight into Postgres with SQL (no HTTP: the point
 * is the views, not the sync), fills reporting.organization_counts the way a run's end does (timed:
 * it is what a run end now costs at this size), then times each reporting view with EXPLAIN ANALYZE, and measures
 * the history's growth for a resync through the real commit path (upsertRows plus the history
 * step, pages of 1,000 rows) with 1% of the devices changed, then for an unchanged one.
 */
import { sql, type Kysely } from 'kysely';
import { recordHistory } from '../src/warehouse/history.js';
import { refreshOrganizationCounts } from '../src/warehouse/organization-counts.js';
import { DATA_TABLES } from '../src/warehouse/tables.js';
import { payloadRecords, type RowToUpsert } from '../src/warehouse/payload.js';
import { upsertRows } from '../src/warehouse/upsert.js';
import type { Database } from '../src/warehouse/db.js';
import { freshDb } from './lib.js';

const SOURCE = 'bench-ax';

/** One view query's timing. */
export interface ViewTiming {
  view: string;
  query: string;
  rows: number;
  executionMs: number;
  planningMs: number;
  plan: string;
}

export interface ReportingFigures {
  devices: number;
  packages: number;
  generateSec: number;
  /** One refreshOrganizationCounts of the generated source (what each of its run ends adds). */
  countsRefreshSec: number;
  views: ViewTiming[];
  resync?: {
    changedDevices: number;
    seconds: number;
    historyRowsAdded: number;
    historyBytesAdded: number;
    historyBytesPerChangedDevice: number;
    unchangedSeconds: number;
    unchangedHistoryRowsAdded: number;
  };
}

async function one<T>(db: Kysely<Database>, q: ReturnType<typeof sql<T>>): Promise<T> {
  return (await q.execute(db)).rows[0]!;
}

async function generate(db: Kysely<Database>, devices: number, orgs: number, log: (m: string) => void): Promise<void> {
  const packages = devices * 5;
  await sql`INSERT INTO sync_runs (source_id, vendor, trigger, mode, resources, status, started_at, finished_at)
    VALUES (${SOURCE}, 'automox', 'bench', 'full', '{}', 'succeeded', now() - interval '1 hour', now() - interval '30 minutes')`.execute(db);
  await sql`INSERT INTO organizations (source_id, external_id, scope, name, raw)
    SELECT ${SOURCE}, o::text, '-', 'Organization ' || o, jsonb_build_object('id', o) FROM generate_series(1, ${orgs}::int) o`.execute(db);
  await sql`INSERT INTO device_groups (source_id, external_id, scope, organization_external_id, name, raw)
    SELECT ${SOURCE}, (o * 100 + g)::text, o::text, o::text, 'Group ' || g, jsonb_build_object('id', o * 100 + g) FROM generate_series(1, ${orgs}::int) o, generate_series(1, 5) g`.execute(db);
  await sql`INSERT INTO patch_categories (source_id, external_id, scope, name, raw)
    SELECT ${SOURCE}, c::text, '-', 'Category ' || c, jsonb_build_object('id', c) FROM generate_series(1, 13) c`.execute(db);
  log(`reporting: generating ${devices} devices`);
  // 2% of the devices not seen for 31 days or more (stale), the rest within the last day.
  await sql`INSERT INTO devices (source_id, external_id, scope, organization_external_id, device_group_external_id, name, serial_number, model,
      os_family, os_name, os_version, agent_version, status, vendor_last_seen_at, compliant, is_compatible, pending_patches, needs_reboot, raw)
    SELECT ${SOURCE}, i::text, (1 + i % ${orgs}::int)::text, (1 + i % ${orgs}::int)::text, ((1 + i % ${orgs}::int) * 100 + 1 + i % 5)::text,
      'host-' || i, 'SN' || i, 'Model ' || (i % 7), 'Windows', 'Windows 11', '10.0.' || (i % 50), '1.' || (i % 9),
      CASE WHEN i % 3 = 0 THEN 'offline' ELSE 'online' END,
      -- whole seconds, as vendors send them (a resync reads them back through JavaScript dates)
      date_trunc('second', CASE WHEN i % 50 = 0 THEN now() - make_interval(days => 31 + i % 200) ELSE now() - make_interval(secs => i % 86400) END),
      i % 4 <> 0, true, i % 6, i % 10 = 0,
      jsonb_build_object('id', i, 'name', 'host-' || i, 'os_version', '10.0.' || (i % 50), 'detail', jsonb_build_object('SERIAL', 'SN' || i))
    FROM generate_series(1, ${devices}::int) i`.execute(db);
  log(`reporting: generating ${packages} packages`);
  // A quarter of the packages missing; severities and categories spread evenly.
  for (let from = 1; from <= packages; from += 1_000_000) {
    const to = Math.min(packages, from + 999_999);
    await sql`INSERT INTO packages (source_id, external_id, scope, organization_external_id, device_external_id, name, display_name, version,
        severity, installed, patch_category_id, cve_count, raw)
      SELECT ${SOURCE}, j::text, (1 + d % ${orgs}::int)::text, (1 + d % ${orgs}::int)::text, d::text, 'pkg-' || (j % 5000), 'Package ' || (j % 5000), '1.' || (j % 30),
        (ARRAY['critical', 'high', 'medium', 'low', 'none'])[1 + j % 5], j % 4 <> 0, 1 + j % 13, CASE WHEN j % 5 = 4 THEN 0 ELSE 1 + j % 2 END,
        jsonb_build_object('id', j, 'server_id', d, 'name', 'pkg-' || (j % 5000))
      FROM (SELECT j, 1 + (j - 1) / 5 AS d FROM generate_series(${from}::int, ${to}::int) j) x`.execute(db);
  }
  log('reporting: history (one version each, 30 days old), walks, time entries');
  const histCols = (t: 'devices' | 'packages') => sql.raw(['source_id', 'external_id', 'scope', ...Object.keys(DATA_TABLES[t])].join(', '));
  await sql`INSERT INTO devices_history (${histCols('devices')}, valid_from) SELECT ${histCols('devices')}, now() - interval '30 days' FROM devices`.execute(db);
  await sql`INSERT INTO packages_history (${histCols('packages')}, valid_from) SELECT ${histCols('packages')}, now() - interval '30 days' FROM packages`.execute(db);
  // 30 days of hourly runs, a walk per organization for devices and packages and one for the rest.
  await sql`INSERT INTO sync_runs (source_id, vendor, trigger, mode, resources, status, started_at, finished_at)
    SELECT ${SOURCE}, 'automox', 'schedule:hourly', 'full', '{}', 'succeeded', now() - make_interval(hours => h), now() - make_interval(hours => h) + interval '20 minutes'
    FROM generate_series(1, 720) h`.execute(db);
  await sql`INSERT INTO sync_walks (run_id, source_id, resource, scope, mode, status, records, started_at, finished_at, error_message, sweep, sweep_reason)
    SELECT r.id, ${SOURCE}, res, sc, 'full',
      CASE WHEN r.id % 97 = 0 AND res = 'packages' THEN 'failed' ELSE 'succeeded' END, 5000, r.started_at, r.finished_at,
      CASE WHEN r.id % 97 = 0 AND res = 'packages' THEN 'bench-ax/packages org ' || sc || ' page 3: 400 limit must be between 1 and 500' END,
      CASE WHEN res = 'devices' THEN 'swept' END, NULL
    FROM sync_runs r
    CROSS JOIN LATERAL (SELECT 'devices' AS res, o::text AS sc FROM generate_series(1, ${orgs}::int) o
                        UNION ALL SELECT 'packages', o::text FROM generate_series(1, ${orgs}::int) o
                        UNION ALL SELECT 'organizations', '-' UNION ALL SELECT 'patch_categories', '-') w
    WHERE r.source_id = ${SOURCE}`.execute(db);
  await sql`INSERT INTO sync_schedules (name, cron, time_zone, sources, resources, mode, last_fired_at, next_fire_at)
    VALUES ('hourly', '0 * * * *', 'UTC', ARRAY[${SOURCE}], '{}', 'full', date_trunc('hour', now()), date_trunc('hour', now()) + interval '1 hour')`.execute(db);
  await sql`INSERT INTO time_entries (source_id, external_id, scope, organization_external_id, project_external_id, user_external_id, started_at, stopped_at, duration_seconds, billable, raw)
    SELECT 'bench-tg', e::text, (1 + e % 5)::text, (1 + e % 5)::text, (e % 200)::text, (e % 50)::text,
      now() - make_interval(secs => e * 60), now() - make_interval(secs => e * 60) + interval '1 hour', 3600, e % 3 = 0, jsonb_build_object('id', e)
    FROM generate_series(1, 200000) e`.execute(db);
  await sql`VACUUM ANALYZE`.execute(db);
}

/** The queries a dashboard sends, one or more per view. */
function viewQueries(orgs: number): Array<{ view: string; query: string }> {
  const org = String(Math.max(1, Math.floor(orgs / 2)));
  return [
    { view: 'device_inventory', query: `SELECT * FROM reporting.device_inventory WHERE source_id = '${SOURCE}' AND organization_id = '${org}'` },
    { view: 'device_inventory', query: `SELECT organization_name, status, count(*) FROM reporting.device_inventory GROUP BY 1, 2` },
    { view: 'patch_compliance', query: `SELECT * FROM reporting.patch_compliance` },
    { view: 'stale_devices', query: `SELECT * FROM reporting.stale_devices` },
    { view: 'organization_summary', query: `SELECT * FROM reporting.organization_summary` },
    { view: 'sync_health', query: `SELECT * FROM reporting.sync_health` },
    { view: 'time_tracking', query: `SELECT * FROM reporting.time_tracking` },
    { view: 'device_history', query: `SELECT * FROM reporting.device_history WHERE source_id = '${SOURCE}' AND device_id = '4242'` },
    { view: 'compliance_daily', query: `SELECT * FROM reporting.compliance_daily` },
    { view: 'compliance_daily', query: `SELECT * FROM reporting.compliance_daily WHERE source_id = '${SOURCE}' AND organization_id = '${org}'` },
  ];
}

async function timeViews(db: Kysely<Database>, orgs: number, log: (m: string) => void): Promise<ViewTiming[]> {
  const out: ViewTiming[] = [];
  for (const { view, query } of viewQueries(orgs)) {
    await sql.raw(query).execute(db); // warm the cache: dashboards query a warm database
    // The fastest of three: the machine is shared, and other work's CPU time is not the view's.
    let plan = '';
    let executionMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const res = await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, BUFFERS) ${sql.raw(query)}`.execute(db);
      const text = res.rows.map((r) => r['QUERY PLAN']).join('\n');
      const ms = Number(/Execution Time: ([\d.]+) ms/.exec(text)?.[1] ?? NaN);
      if (ms < executionMs) [executionMs, plan] = [ms, text];
    }
    const planningMs = Number(/Planning Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);
    const rows = Number(/\(actual time=[\d.]+\.\.[\d.]+ rows=(\d+)/.exec(plan)?.[1] ?? NaN);
    log(`reporting: ${view}: ${executionMs} ms (${rows} rows) ${query}`);
    out.push({ view, query, rows, executionMs, planningMs, plan });
  }
  return out;
}

/** A resync of every device through upsertRows and the history step, `changeEvery`-th device changed (0: none). */
async function resync(db: Kysely<Database>, changeEvery: number): Promise<{ changed: number; seconds: number }> {
  const cols = Object.keys(DATA_TABLES.devices);
  const started = Date.now();
  let after = '';
  let changed = 0;
  for (;;) {
    const page = await sql<Record<string, unknown>>`SELECT external_id, scope, raw, ${sql.raw(cols.join(', '))} FROM devices
      WHERE source_id = ${SOURCE} AND external_id > ${after} ORDER BY external_id LIMIT 1000`.execute(db);
    if (page.rows.length === 0) break;
    after = String(page.rows[page.rows.length - 1]!.external_id);
    const rows: RowToUpsert[] = page.rows.map((r) => {
      const columns: Record<string, unknown> = {};
      for (const c of cols) columns[c] = r[c];
      const id = String(r.external_id);
      if (changeEvery > 0 && Number(id) % changeEvery === 0) {
        columns.status = columns.status === 'online' ? 'offline' : 'online';
        changed++;
      }
      return { externalId: id, scope: String(r.scope), columns, raw: r.raw };
    });
    await db.transaction().execute(async (trx) => {
      const { changedIds } = await upsertRows(trx, { table: 'devices', sourceId: SOURCE }, payloadRecords(rows));
      await recordHistory(trx, 'devices', SOURCE, changedIds);
    });
  }
  return { changed, seconds: (Date.now() - started) / 1000 };
}

/** Runs the reporting workload in its own database and drops it afterwards (unless BENCH_REPORTING_KEEP=1). */
export async function runReportingBench(opts: { devices: number; resync: boolean; keep: boolean; log: (m: string) => void }): Promise<ReportingFigures> {
  const orgs = Math.max(1, Math.round(opts.devices / 5000));
  const bench = await freshDb('fleetsync_bench_reporting');
  try {
    const t0 = Date.now();
    await generate(bench.db, opts.devices, orgs, opts.log);
    const generateSec = (Date.now() - t0) / 1000;
    // The rows went in with SQL, not through runs: fill the counts as the end of a run does.
    const t1 = Date.now();
    await bench.db.transaction().execute((trx) => refreshOrganizationCounts(trx, SOURCE));
    const countsRefreshSec = (Date.now() - t1) / 1000;
    await sql`ANALYZE reporting.organization_counts`.execute(bench.db);
    opts.log(`reporting: organization counts refreshed in ${countsRefreshSec.toFixed(2)} s`);
    const views = await timeViews(bench.db, orgs, opts.log);
    const figures: ReportingFigures = { devices: opts.devices, packages: opts.devices * 5, generateSec, countsRefreshSec, views };
    if (opts.resync) {
      const size = async () => one(bench.db, sql<{ rows: number; bytes: number }>`SELECT (SELECT count(*) FROM devices_history)::float8 AS rows, pg_total_relation_size('devices_history')::float8 AS bytes`);
      const before = await size();
      opts.log('reporting: resync with 1% of devices changed');
      const r1 = await resync(bench.db, 100);
      await sql`VACUUM ANALYZE devices_history`.execute(bench.db);
      const mid = await size();
      opts.log(`reporting: ${r1.changed} changed in ${r1.seconds.toFixed(1)} s: history +${mid.rows - before.rows} rows, +${mid.bytes - before.bytes} bytes`);
      const r2 = await resync(bench.db, 0);
      const end = await size();
      figures.resync = {
        changedDevices: r1.changed,
        seconds: r1.seconds,
        historyRowsAdded: mid.rows - before.rows,
        historyBytesAdded: mid.bytes - before.bytes,
        historyBytesPerChangedDevice: (mid.bytes - before.bytes) / Math.max(1, r1.changed),
        unchangedSeconds: r2.seconds,
        unchangedHistoryRowsAdded: end.rows - mid.rows,
      };
    }
    return figures;
  } finally {
    if (opts.keep) await bench.db.destroy();
    else await bench.drop();
  }
}
