/**
 * The normalized columns of each warehouse table, with their Postgres types.
 * Every data table also has source_id, external_id, scope, raw, first_seen_at, last_seen_at,
 * deleted_at, missing_since and row_hash, which the engine fills; connectors map vendor objects
 * only onto these columns.
 * Changing this list needs a migration, which must change `<table>_history` the same way
 * (history copies the normalized columns; see src/warehouse/history.ts).
 */
export const DATA_TABLES = {
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
    // Patch-report columns (migration 20261123T0400_connector_columns; Automox `/servers`).
    compliant: 'boolean',
    is_compatible: 'boolean',
    pending_patches: 'integer',
    needs_reboot: 'boolean',
    vendor_last_disconnect_at: 'timestamptz',
    /** The device's display name where the vendor has one besides its host name (migration 20261208T0100_automox_software). */
    display_name: 'text',
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
    /** How many CVEs the package names (migration 20261123T0600_reporting). */
    cve_count: 'integer',
    /** Software the vendor lists but cannot patch (Automox `is_managed: false`; migration 20261208T0100_automox_software). */
    unmanaged: 'boolean',
  },
  patch_categories: {
    name: 'text',
  },
  // Izuma firmware images (migration 20261122T0700_firmware_images).
  firmware_images: {
    organization_external_id: 'text',
    name: 'text',
    description: 'text',
    datafile_url: 'text',
    datafile_checksum: 'text',
    datafile_size: 'bigint',
    vendor_created_at: 'timestamptz',
    vendor_updated_at: 'timestamptz',
  },
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
    /** The vendor's user id; external_id is "<organization>:<user>" where a user belongs to several. */
    user_external_id: 'text',
    name: 'text',
    email: 'text',
    role: 'text',
    is_admin: 'boolean',
    active: 'boolean',
    /** Toggl's `inactive` membership flag (migration 20261123T0400_connector_columns). */
    inactive: 'boolean',
    timezone: 'text',
    vendor_created_at: 'timestamptz',
    vendor_updated_at: 'timestamptz',
  },
  // Toggl time entries, tags and tasks (migration 20261123T0400_connector_columns).
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
    /** JSON array of the entry's tag names. */
    tag_names: 'jsonb',
    /** JSON array of the entry's tag ids (migration 20261208T0200_time_entry_tag_ids). */
    tag_ids: 'jsonb',
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
} as const satisfies Record<string, Record<string, ColumnType>>;

/** Postgres types a normalized column may have. */
export type ColumnType = 'text' | 'integer' | 'bigint' | 'boolean' | 'timestamptz' | 'double precision' | 'jsonb';

export type DataTableName = keyof typeof DATA_TABLES;

type TsOf<T extends ColumnType> = T extends 'text'
  ? string
  : T extends 'integer' | 'bigint' | 'double precision'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'timestamptz'
        ? Date | string
        : unknown;

/** The normalized values a connector produces for one record of table T (all nullable). */
export type NormalizedRow<T extends DataTableName> = {
  [K in keyof (typeof DATA_TABLES)[T]]?: TsOf<(typeof DATA_TABLES)[T][K] & ColumnType> | null;
};

/** True when `name` is one of the warehouse's data tables. */
export function isDataTable(name: string): name is DataTableName {
  return Object.prototype.hasOwnProperty.call(DATA_TABLES, name);
}
