import { z } from 'zod/v4';
import { dateTime, defined, int } from './common.js';

// Automox console API, from AutomoxCommunity/openapi-defs `openapi/ax-console/axconsoleAIO.yaml`
// (components: Organization, ServerGroup, WsusConfig, Server, ServerDetail, DeviceStatus,
// Packages; responses: Error, NotFound, ...). Properties are optional there; nullable only where
// the definition lists 'null' among a property's types.

const tier = z.enum(['trial', 'freemon', 'disabled', 'patch', 'manage', 'tier3', 'patch_os', 'essentials', 'enterprise']);

export const organization = defined({
  id: int,
  name: z.string(),
  create_time: dateTime,
  access_key: z.string(),
  trial_end_time: dateTime,
  tier,
  parent_id: int,
  device_limit: int.nullable(),
  device_count: int.nullable(),
  uuid: z.uuid(),
  soft_device_limit: int.nullable(),
  metadata: z.strictObject({ patchServersDone: z.boolean().optional() }),
}).partial();

const wsusConfig = z
  .strictObject({ id: int, server_group_id: int, is_managed: z.boolean().nullable(), server_url: z.string().nullable(), created_at: z.string(), updated_at: z.string() })
  .partial()
  .nullable();

export const serverGroup = defined({
  id: int,
  organization_id: int,
  name: z.string(),
  refresh_interval: int.min(240).max(1440),
  parent_server_group_id: int,
  ui_color: z.string(),
  notes: z.string(),
  enable_os_auto_update: z.boolean().nullable(),
  server_count: int,
  wsus_config: wsusConfig,
  policies: z.array(int),
}).partial();

const serverDetail = z
  .strictObject({
    CPU: z.string(),
    DISKS: z.array(z.strictObject({ SIZE: z.string(), TYPE: z.string() }).partial()),
    MODEL: z.string(),
    NICS: z.array(z.strictObject({ CONNECTED: z.boolean(), DEVICE: z.string(), IPS: z.array(z.string()), MAC: z.string(), TYPE: z.string(), VENDOR: z.string() }).partial()),
    RAM: z.string(),
    SERIAL: z.string(),
    SERVICETAG: z.string(),
    VENDOR: z.string(),
    VERSION: z.string(),
  })
  .partial();

const deviceStatus = z
  .strictObject({
    device_status: z.string(),
    agent_status: z.string(),
    policy_status: z.string(),
    policy_statuses: z.array(z.strictObject({ id: int, compliant: z.boolean() }).partial()),
  })
  .partial();

export const server = defined({
  id: int,
  os_version_id: int,
  server_group_id: int,
  server_policies: z.array(z.unknown()),
  organization_id: int,
  organizational_unit: z.string(),
  uuid: z.uuid(),
  name: z.string(),
  instance_id: z.string(),
  refresh_interval: int.min(240).max(1440),
  last_update_time: z.string(),
  last_refresh_time: z.string(),
  uptime: int,
  needs_reboot: z.boolean(),
  timezone: z.string(),
  tags: z.array(z.string()),
  deleted: z.boolean(),
  create_time: dateTime,
  os_version: z.string(),
  os_name: z.string(),
  os_family: z.string(),
  ip_addrs: z.array(z.string()),
  ip_addrs_private: z.array(z.string()),
  patches: int,
  detail: serverDetail,
  agent_version: z.string(),
  custom_name: z.string(),
  exception: z.boolean(),
  total_count: int,
  is_compatible: z.boolean(),
  compatibility_checks: z.record(z.string(), z.boolean()),
  policy_status: z.array(z.unknown()),
  last_scan_failed: z.boolean(),
  pending: z.boolean(),
  compliant: z.boolean(),
  display_name: z.string(),
  commands: z.array(z.unknown()),
  pending_patches: int,
  connected: z.boolean(),
  last_process_time: z.string(),
  next_patch_time: z.string(),
  notification_count: int,
  reboot_notification_count: int,
  patch_deferral_count: int,
  reboot_deferral_count: int,
  is_delayed_by_notification: z.boolean(),
  reboot_is_delayed_by_notification: z.boolean(),
  is_delayed_by_user: z.boolean(),
  reboot_is_delayed_by_user: z.boolean(),
  last_disconnect_time: dateTime,
  needs_attention: z.boolean(),
  serial_number: z.string(),
  status: deviceStatus,
  last_logged_in_user: z.string(),
}).partial();

const severity = z.enum(['no_known_cves', 'none', 'unknown', 'low', 'medium', 'high', 'critical']);

export const packages = defined({
  id: int,
  server_id: int,
  package_id: int,
  software_id: int,
  installed: z.boolean(),
  ignored: z.boolean(),
  deferred_until: dateTime.nullable(),
  name: z.string(),
  display_name: z.string(),
  version: z.string(),
  repo: z.string(),
  group_ignored: z.boolean(),
  group_deferred_until: dateTime.nullable(),
  cves: z.array(z.string()),
  cve_score: z.string().nullable(),
  severity: severity.nullable(),
  package_version_id: int,
  os_name: z.string(),
  os_version: z.string(),
  os_version_id: int,
  create_time: dateTime,
  requires_reboot: z.boolean(),
  patch_classification_category_id: int.nullable(),
  patch_scope: z.string().nullable(),
  is_uninstallable: z.boolean(),
  secondary_id: z.string(),
  is_managed: z.boolean(),
  impact: int,
  organization_id: int,
  agent_severity: severity.nullable(),
}).partial();

/** Every error response of the definition (Error, Unauthorized, NotFound, RateLimit, ...): `{errors: [one message]}`. */
export const error = z.strictObject({ errors: z.array(z.string()).max(1) });

/** `SystemEventData` of a device's `system.add` / `system.delete`. */
const systemEventData = z.strictObject({ ip: z.union([z.ipv4(), z.literal('')]), os: z.string(), systemname: z.string() }).partial();

/** `Event` (getEvents), with the data of a device's addition or removal. */
export const event = z
  .strictObject({
    id: int,
    name: z.string(),
    user_id: int,
    server_id: int,
    organization_id: int,
    policy_id: int.nullable(),
    data: systemEventData,
    server_name: z.string(),
    policy_name: z.string(),
    policy_type_name: z.enum(['patch', 'custom', 'required_software']),
    create_time: dateTime,
  })
  .partial();

/** getEvents with `countOnly=1` (the CountOnly answer). */
export const eventCount = z.strictObject({ size: int, results: z.array(z.string()) }).partial();
