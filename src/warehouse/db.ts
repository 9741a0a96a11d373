import { Kysely, Migrator, PostgresDialect, type ColumnType, type Generated, type PostgresPool } from 'kysely';
import pg from 'pg';
import { endpointOf, formatEndpoint, postgresConnectionReason } from '../infra-errors.js';
import type { Logger } from '../logger.js';
import { OutageLog } from '../outage-log.js';
import { assertDatabaseUrl } from '../postgres-messages.js';
import { migrationProvider } from '../../migrations/index.js';
import { databaseNameOf, pgConnectionString } from './database-url.js';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** sync_runs: one row per run (a schedule firing, a sync or backfill command). */
export interface SyncRunsTable {
  id: Generated<string>;
  source_id: string;
  trigger: string;
  mode: 'full' | 'incremental';
  resources: string[];
  status: 'running' | 'succeeded' | 'failed' | 'partial' | 'cancelled';
  started_at: Generated<Date>;
  finished_at: Date | null;
  error_status: number | null;
  error_message: string | null;
  error_request_id: string | null;
  /** The source's vendor when the run started (migration 20261123T0600_reporting; null before). */
  vendor: string | null;
  /** Resources of the run it did not walk because they were paused: resource -> the pause's reason (migration 20261209T0100_paused_resources). */
  paused_resources: ColumnType<unknown, string | undefined, string>;
}

/** sync_schedules: each configured schedule and its firings, written by the scheduler (sync_health's lag). */
export interface SyncSchedulesTable {
  name: string;
  cron: string;
  time_zone: string;
  sources: string[];
  resources: string[];
  mode: string;
  last_fired_at: Timestamp | null;
  next_fire_at: Timestamp | null;
  updated_at: Generated<Date>;
}

/** sync_walks: one row per (run, resource, scope), holding the walk's resume cursor. */
export interface SyncWalksTable {
  id: Generated<string>;
  run_id: string;
  source_id: string;
  resource: string;
  scope: string;
  parent_walk_id: string | null;
  /** Random per walk; part of its page job ids so they are unique across databases sharing a Redis. */
  job_key: Generated<string>;
  mode: 'full' | 'incremental';
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  cursor: unknown;
  pages: Generated<number>;
  records: Generated<number>;
  inserted: Generated<number>;
  updated: Generated<number>;
  unchanged: Generated<number>;
  deleted: Generated<number>;
  quarantined: Generated<number>;
  repaired: Generated<number>;
  /** Quarantined records without a usable id: the walk cannot sweep. */
  unidentified: Generated<number>;
  /** Records whose id an earlier record of the same page already had. */
  duplicates: Generated<number>;
  total: number | null;
  /** Largest total the vendor reported on any page of the walk (completeness check). */
  total_max: number | null;
  /** Distinct ids a completed full walk saw. */
  seen_ids: number | null;
  /** Rows this walk's sweep marked missing_since (first miss). */
  missing: Generated<number>;
  /** What the completed walk's sweep did (see SweepOutcome in src/sync/sweep-decision.ts); null while running. */
  sweep: 'swept' | 'held' | 'applied' | 'inconsistent' | 'skipped' | null;
  /** Why, e.g. "held: would delete 1000 of 1000 devices of org 101". */
  sweep_reason: string | null;
  since: Timestamp | null;
  high_water_mark: Timestamp | null;
  waiting_until: Timestamp | null;
  waiting_reason: string | null;
  error_status: number | null;
  error_message: string | null;
  error_request_id: string | null;
  started_at: Generated<Date>;
  updated_at: Generated<Date>;
  finished_at: Timestamp | null;
}

export interface SyncWalkPagesTable {
  walk_id: string;
  page: number;
  ids: string[];
}

/** One hash per page of a running walk: the request that page made (its loop check). */
export interface SyncWalkCursorsTable {
  walk_id: string;
  request_hash: string;
  page: number;
}

export interface SyncQuarantineTable {
  id: Generated<string>;
  source_id: string;
  resource: string;
  scope: string;
  run_id: string | null;
  walk_id: string | null;
  page: number;
  external_id: string | null;
  reason: string;
  /** Key path of the field at fault, when one is. */
  field: string | null;
  raw: unknown;
  /** The record's JSON text cut to a limit (raw is null when the record is cut or too deep). */
  raw_text: string | null;
  created_at: Generated<Date>;
}

/** sync_held_sweeps: a sweep the mass-delete guard held, one per (source, resource, scope). */
export interface SyncHeldSweepsTable {
  source_id: string;
  resource: string;
  scope: string;
  data_table: string;
  walk_id: string;
  held_at: Generated<Date>;
  /** Present rows of the scope when the sweep was held. */
  present: number;
  /** The rows the held sweep would mark deleted. */
  ids: string[];
  message: string;
}

export interface SyncSourcesTable {
  source_id: string;
  paused_at: Timestamp | null;
  paused_reason: string | null;
  updated_at: Generated<Date>;
}

/** A source kept in Postgres (`fleetsync sources`); credentials in `config` are references only. */
export interface SourceConfigsTable {
  id: string;
  vendor: string;
  tags: string[];
  config: unknown;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  removed_at: Timestamp | null;
}

/** sync_paused_resources: a resource of a source paused by a plan-restriction 402 until `resume` (src/warehouse/resource-pauses.ts). */
export interface SyncPausedResourcesTable {
  source_id: string;
  resource: string;
  paused_at: Generated<Date>;
  status: number | null;
  reason: string;
  request_id: string | null;
  run_id: string | null;
}

export interface SyncDisabledResourcesTable {
  source_id: string;
  resource: string;
  disabled_at: Generated<Date>;
  status: number | null;
  reason: string | null;
}

/** Columns every data table shares; the normalized ones are written through raw SQL (see upsert.ts). */
export interface DataTableBase {
  source_id: string;
  external_id: string;
  scope: string;
  raw: unknown;
  first_seen_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  deleted_at: Date | null;
  /** Set when a complete full walk first missed the row; cleared when it is listed again. */
  missing_since: Date | null;
  /** md5 (as a uuid) of the record the row was written from; null until its first sync after migration 20261124T0200. */
  row_hash: string | null;
  [column: string]: unknown;
}

/** run_logs: the log lines of a run (migration 20261208T0900_run_logs; src/warehouse/run-logs.ts). */
export interface RunLogsTable {
  id: Generated<string>;
  run_id: string;
  at: Date;
  level: string;
  msg: string;
  fields: unknown;
}

export interface Database {
  sync_runs: SyncRunsTable;
  run_logs: RunLogsTable;
  sync_walks: SyncWalksTable;
  sync_walk_pages: SyncWalkPagesTable;
  sync_walk_cursors: SyncWalkCursorsTable;
  sync_quarantine: SyncQuarantineTable;
  sync_held_sweeps: SyncHeldSweepsTable;
  sync_sources: SyncSourcesTable;
  sync_disabled_resources: SyncDisabledResourcesTable;
  sync_paused_resources: SyncPausedResourcesTable;
  source_configs: SourceConfigsTable;
  sync_schedules: SyncSchedulesTable;
  organizations: DataTableBase;
  device_groups: DataTableBase;
  devices: DataTableBase;
  packages: DataTableBase;
  patch_categories: DataTableBase;
  firmware_images: DataTableBase;
  projects: DataTableBase;
  clients: DataTableBase;
  users: DataTableBase;
  time_entries: DataTableBase;
  tags: DataTableBase;
  tasks: DataTableBase;
}

// bigint (int8) ids and counts arrive as strings by default; counts we return are int4 or cast.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

/** Options of createDb(). */
export interface CreateDbOptions {
  max?: number;
  applicationName?: string;
  /** Receives one line when Postgres goes away and one when it is back; silent when left out. */
  logger?: Logger;
}

/**
 * Makes the connection's Postgres session compress large values (a device's `raw`) with lz4 instead of pglz, unless the
 * server, database or role chose a compression itself (its setting's source is then not
 * `default`). pglz was 3.4 ms of the ~46 ms of Postgres CPU a first-sync page of 500 devices costs
 * (perf), lz4 a fraction of it, for the same table size (docs/performance.md). Values already
 * stored keep their compression; every reader decompresses either.
 */
export const PREFER_LZ4 = `SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings WHERE name = 'default_toast_compression' AND source = 'default'`;

/**
 * Creates a Kysely instance over a pg pool. The caller owns it and must `destroy()` it.
 * Never lets a lost connection crash the process: every client, idle or checked out, has an
 * 'error' handler, so a terminated backend or a Postgres restart only fails the queries in
 * flight (a page job then retries). Outages are logged once each way through `logger`.
 * Throws InfraError when `databaseUrl` is not a Postgres URL (src/postgres-messages.ts).
 */
export function createDb(databaseUrl: string, opts: CreateDbOptions = {}): Kysely<Database> {
  assertDatabaseUrl(databaseUrl);
  const pool = new pg.Pool({
    connectionString: pgConnectionString(databaseUrl),
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'fleetsync',
  });
  const endpoint = endpointOf(databaseUrl, 5432);
  const outage = new OutageLog(opts.logger, 'postgres', `Postgres${endpoint ? ` at ${formatEndpoint(endpoint)}` : ''}`);
  const lost = (err: unknown) => outage.down(postgresConnectionReason(err) ?? (err instanceof Error ? err.message : 'connection error'));
  // The pool's own handler covers idle clients only; a client Kysely has checked out emits
  // 'error' on itself when its backend goes away, and an unhandled 'error' kills the process.
  pool.on('error', lost);
  pool.on('connect', (client) => {
    client.on('error', lost);
    // Queued before any query of the client's first user; a server without lz4 (or before 14) refuses it, and keeps pglz.
    client.query(PREFER_LZ4).catch(() => undefined);
  });
  const watched: PostgresPool = {
    connect: async () => {
      try {
        const client = await pool.connect();
        outage.up();
        return client;
      } catch (err) {
        if (postgresConnectionReason(err)) lost(err);
        throw err;
      }
    },
    end: () => pool.end(),
  };
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: watched }) });
}

/**
 * Creates the database named in `databaseUrl` when it does not exist (connecting to `postgres`).
 * Returns true when it created one. Throws the driver's error for anything but "already exists".
 */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  assertDatabaseUrl(databaseUrl);
  const url = new URL(databaseUrl);
  const name = databaseNameOf(databaseUrl);
  if (name === '' || name === 'postgres') return false;
  // The name node-postgres connects to is the one created below (database-url.ts).
  const probe = new pg.Client({ connectionString: pgConnectionString(databaseUrl) });
  try {
    await probe.connect();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err;
  } finally {
    await probe.end().catch(() => undefined);
  }
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '42P04') return false; // created meanwhile by another process
    throw err;
  } finally {
    await admin.end();
  }
}

/**
 * Brings the schema to the newest migration. Idempotent; safe to run from several processes
 * (Kysely takes a lock). Returns the names applied now; throws the first migration error.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  // Kysely's Migrator never throws: its error is in the result.
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const msg = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${msg}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
