import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './20261122T0530_initial.js';
import * as m0002 from './20261122T0700_firmware_images.js';
import * as m0003 from './20261122T0830_backfill_beside_runs.js';
import * as m0004 from './20261122T0900_projects_clients_users.js';
import * as m0005 from './20261122T1000_walk_job_keys.js';
import * as m0006 from './20261123T0100_confirmed_deletes.js';
import * as m0007 from './20261123T0200_records_and_responses.js';
import * as m0008 from './20261123T0400_connector_columns.js';
import * as m0009 from './20261123T0600_reporting.js';
import * as m0010 from './20261124T0100_organization_counts.js';
import * as m0011 from './20261124T0200_row_hash.js';
import * as m0012 from './20261207T0700_source_configs.js';
import * as m0013 from './20261208T0100_automox_software.js';
import * as m0014 from './20261208T0200_time_entry_tag_ids.js';
import * as m0015 from './20261208T0900_run_logs.js';
import * as m0016 from './20261208T1000_notifications.js';
import * as m0017 from './20261209T0100_paused_resources.js';
import * as m0018 from './20261209T0200_source_events.js';

/**
 * Migrations listed statically rather than read from the directory, so the same provider works
 * under tsx, vitest and compiled JavaScript (FileMigrationProvider only finds .ts under tsx).
 * Names sort by time; add new ones at the end.
 */
export const migrations: Record<string, Migration> = {
  '20261122T0530_initial': m0001,
  '20261122T0700_firmware_images': m0002,
  '20261122T0830_backfill_beside_runs': m0003,
  '20261122T0900_projects_clients_users': m0004,
  '20261122T1000_walk_job_keys': m0005,
  '20261123T0100_confirmed_deletes': m0006,
  '20261123T0200_records_and_responses': m0007,
  '20261123T0400_connector_columns': m0008,
  '20261123T0600_reporting': m0009,
  '20261124T0100_organization_counts': m0010,
  '20261124T0200_row_hash': m0011,
  '20261207T0700_source_configs': m0012,
  '20261208T0100_automox_software': m0013,
  '20261208T0200_time_entry_tag_ids': m0014,
  '20261208T0900_run_logs': m0015,
  '20261208T1000_notifications': m0016,
  '20261209T0100_paused_resources': m0017,
  '20261209T0200_source_events': m0018,
};

/** Kysely MigrationProvider over the static list. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
