/**
 * The Automox simulator's records (src/simulators/automox.ts): orgs, server groups, servers and
 * packages with the fields of the published definition, and the console's time formats.
 */

/**
 * An organization with the fields of the published `Organization` schema (the console's answer
 * carries more; the definition's are what a client may rely on). `parent_id` only on a child
 * organization: the schema's integer has no null.
 */
export interface AutomoxOrg {
  id: number;
  uuid: string;
  name: string;
  parent_id?: number;
  create_time: string;
  trial_end_time: string;
  tier: 'trial' | 'freemon' | 'disabled' | 'patch' | 'manage' | 'tier3' | 'patch_os' | 'essentials' | 'enterprise';
  device_limit: number | null;
  soft_device_limit: number | null;
  device_count: number;
  access_key: string;
  metadata: { patchServersDone: boolean };
  x_future_field?: Record<string, unknown>;
}

/** The published `WsusConfig`. */
export interface AutomoxWsusConfig {
  id: number;
  server_group_id: number;
  is_managed: boolean | null;
  server_url: string | null;
  created_at: string;
  updated_at: string;
}

/** The published `ServerGroup`; the default group (blank name) has no `parent_server_group_id`. */
export interface AutomoxServerGroup {
  id: number;
  organization_id: number;
  /** The default group of each org has a blank name "". */
  name: string;
  refresh_interval: number;
  parent_server_group_id?: number;
  ui_color: string;
  notes: string;
  enable_os_auto_update: boolean | null;
  server_count: number;
  wsus_config: AutomoxWsusConfig | null;
  policies: number[];
  x_future_field?: Record<string, unknown>;
}

export interface AutomoxNic {
  CONNECTED: boolean;
  DEVICE: string;
  IPS: string[];
  MAC: string;
  TYPE: string;
  VENDOR: string;
}

export interface AutomoxServerDetail {
  CPU: string;
  RAM: string;
  DISKS: Array<{ SIZE: string; TYPE: string }>;
  MODEL: string;
  VENDOR: string;
  VERSION: string;
  SERIAL: string;
  SERVICETAG: string;
  NICS: AutomoxNic[];
}

export interface AutomoxServerStatus {
  device_status: string;
  agent_status: string;
  policy_status: string;
  policy_statuses: Array<{ id: number; compliant: boolean }>;
}

export interface AutomoxServer {
  id: number;
  os_version_id: number;
  server_group_id: number;
  organization_id: number;
  uuid: string;
  name: string;
  /** Set in the console; absent when nobody named the device. */
  custom_name?: string;
  /** `custom_name`, else `name`. */
  display_name: string;
  refresh_interval: number;
  /** Automox format `2025-01-22T22:18:21+0000`. */
  last_update_time: string;
  last_refresh_time: string;
  create_time: string;
  /** Only on a device that has disconnected: the schema's date-time has no null. */
  last_disconnect_time?: string;
  uptime: number;
  needs_reboot: boolean;
  timezone: string;
  tags: string[];
  os_version: string;
  os_name: string;
  os_family: string;
  ip_addrs: string[];
  ip_addrs_private: string[];
  patches: number;
  pending_patches: number;
  agent_version: string;
  /** Only on cloud instances. */
  instance_id?: string;
  connected: boolean;
  exception: boolean;
  pending: boolean;
  compliant: boolean;
  needs_attention: boolean;
  is_compatible: boolean;
  last_logged_in_user: string;
  /** Empty on some devices: the serial is then only in `detail.SERIAL`. */
  serial_number: string;
  status: AutomoxServerStatus;
  detail: AutomoxServerDetail;
  x_future_field?: Record<string, unknown>;
}

export type AutomoxSeverity = 'critical' | 'high' | 'medium' | 'low' | 'none';

export interface AutomoxPackage {
  id: number;
  server_id: number;
  package_id: number;
  software_id: number;
  installed: boolean;
  ignored: boolean;
  group_ignored: boolean;
  deferred_until: string | null;
  group_deferred_until: string | null;
  name: string;
  display_name: string;
  version: string;
  repo: string;
  cves: string[];
  cve_score: string | null;
  severity: AutomoxSeverity;
  agent_severity: string | null;
  package_version_id: number;
  os_name: string;
  os_version: string;
  os_version_id: number;
  create_time: string;
  requires_reboot: boolean;
  /** 1..13, see the vendor doc table; null for software Automox does not patch. */
  patch_classification_category_id: number | null;
  patch_scope: string | null;
  is_uninstallable: boolean;
  secondary_id: string;
  is_managed: boolean;
  impact: number;
  organization_id: number;
  x_future_field?: Record<string, unknown>;
}

export interface AutomoxData {
  orgs: AutomoxOrg[];
  groups: AutomoxServerGroup[];
  servers: AutomoxServer[];
  packages: AutomoxPackage[];
}

// ---------------------------------------------------------------- time formats

/** Automox server timestamp format: `2025-01-22T22:18:21+0000`. */
export function automoxTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
