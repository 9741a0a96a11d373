/**
 * Automox console API simulator (vendor doc 001).
 *
 * Base URL for a connector: `${origin}/api` (the real one is https://console.automox.com/api).
 *   GET /api/orgs
 *   GET /api/servergroups?o=ORG
 *   GET /api/servers?o=ORG[&groupId=G][&include_details=0|1]   `detail` and `status` are `{}` unless
 *       include_details=1 (default 0, "fast by default" in the published definition)
 *   GET /api/orgs/{id}/packages?o=ORG[&includeUnmanaged=0|1]   software Automox cannot patch
 *       (`is_managed: false`) only with includeUnmanaged=1
 *   GET /api/servers/{id}?o=ORG, GET /api/servergroups/{id}?o=ORG   one object; 404 {"errors":["Not Found"]}
 *       when the org has no such id
 *   GET /api/events?o=ORG[&eventName=..][&startDate=..][&limit][&page]   the event log (automox-events.ts):
 *       `addServer` and `removeServer` record system.add and system.delete
 * All lists take `limit` (1..500, default 500) and `page` (from 0) and return a bare JSON array
 * (no pagination metadata): a full page means "maybe more". Items are in stable id order.
 * `o` is optional on /servers and /servergroups like the real API (omitted = every org of the
 * account); an unknown `o` answers 403 {"errors":["Forbidden"]}.
 * Auth: `Authorization: Bearer <apiKey>` else 401 {"errors":["Unauthorized"]}.
 * Every response carries x-ratelimit-limit/-remaining/-reset (UTC epoch seconds) and
 * x-request-id; a limiter 429 adds retry-after and {"errors":["Too Many Requests"]}.
 * Without a `rateLimit` option the headers report the documented 100 req/s window but it is not
 * enforced.
 */
import { STATUS_CODES } from 'node:http';
import { AutomoxEventLog } from './automox-events.js';
import { HttpSimulator, bearerToken, byId, createRng, parseIntParam } from './http-sim.js';
import type { RateWindow, Rng, SimRequest, SimResponse } from './http-sim.js';

/** Documented default limit: 100 authenticated requests per second per account. */
export const AUTOMOX_RATE_LIMIT: RateWindow = { max: 100, windowMs: 1000 };

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

export interface GenerateAutomoxOptions {
  seed?: number;
  orgs: number;
  /** Same count for every org, or one count per org index (missing entries = 0). */
  devicesPerOrg: number | number[];
  /** Default 3. */
  packagesPerDevice?: number;
  /**
   * Software per device that Automox lists but cannot patch (`is_managed: false`, served only with
   * `includeUnmanaged=1`); default 0. Appended after every other package (ids above theirs, drawn
   * from a stream of their own), so the rest of the tenant is the same with or without them.
   */
  unmanagedPerDevice?: number;
  /** Groups per org including the blank-named default group; default 3, minimum 1. */
  groupsPerOrg?: number;
}

// ---------------------------------------------------------------- time formats

/** Automox server timestamp format: `2025-01-22T22:18:21+0000`. */
export function automoxTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

// ---------------------------------------------------------------- generator

const BASE_TIME = Date.UTC(2024, 0, 15, 9, 30, 0);
const DAY = 86_400_000;

const ORG_NAMES = [
  'Acme Corp',
  'Zürich-Büro-Ümlaut-😀',
  '東京オフィス',
  'Globex Industries',
  'Initech',
  'Umbrella Health',
  'Stark Logistics',
  'Wayne Enterprises',
];
const GROUP_NAMES = ['Servers', 'Workstations', 'Kiosks', 'Finance Laptops', 'ビルド サーバー', 'Büro Clients', 'Lab', 'Remote Staff'];
const HOST_PREFIXES = ['WS', 'LT', 'SRV', 'MAC', 'BLD', 'KIOSK'];
const USERS = ['jdoe', 'asmith', 'mmüller', 'tnakamura', 'lchen', 'rpatel', 'ksato', 'ebrown', 'admin'];
const TIMEZONES = ['(UTC) Coordinated Universal Time', '(UTC-05:00) Eastern Time (US & Canada)', '(UTC+01:00) Amsterdam, Berlin, Bern, Rome', '(UTC+09:00) Osaka, Sapporo, Tokyo'];
const UI_COLORS = ['#059F1D', '#FF6200', '#1E88E5', '#8E24AA', '#D81B60', '#00ACC1'];

interface OsProfile {
  os_family: string;
  os_name: string;
  os_version: string;
  os_version_id: number;
  hw: Array<{ vendor: string; model: string; cpu: string; nicVendor: string; macPrefix: string }>;
}

const OS_PROFILES: OsProfile[] = [
  {
    os_family: 'Windows',
    os_name: 'Microsoft Windows 11 Pro',
    os_version: '10.0.22631',
    os_version_id: 112,
    hw: [
      { vendor: 'Dell Inc.', model: 'Latitude 7440', cpu: '13th Gen Intel(R) Core(TM) i7-1365U', nicVendor: 'Intel Corporation', macPrefix: 'a4:bb:6d' },
      { vendor: 'LENOVO', model: '21HD0047US', cpu: 'AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics', nicVendor: 'Realtek', macPrefix: '8c:8c:aa' },
    ],
  },
  {
    os_family: 'Windows',
    os_name: 'Microsoft Windows Server 2022 Standard',
    os_version: '10.0.20348',
    os_version_id: 108,
    hw: [{ vendor: 'VMware, Inc.', model: 'VMware7,1', cpu: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz', nicVendor: 'VMware', macPrefix: '00:50:56' }],
  },
  {
    os_family: 'Mac',
    os_name: 'macOS Sonoma',
    os_version: '14.5',
    os_version_id: 131,
    hw: [{ vendor: 'Apple Inc.', model: 'MacBookPro18,3', cpu: 'Apple M1 Pro', nicVendor: 'Apple', macPrefix: 'f4:d4:88' }],
  },
  {
    os_family: 'Linux',
    os_name: 'Ubuntu',
    os_version: '22.04.4 LTS',
    os_version_id: 95,
    hw: [{ vendor: 'HP', model: 'ProLiant DL360 Gen10', cpu: 'Intel(R) Xeon(R) Silver 4214R CPU @ 2.40GHz', nicVendor: 'Broadcom Inc.', macPrefix: '94:40:c9' }],
  },
];

interface Software {
  package_id: number;
  software_id: number;
  name: string;
  display_name: string;
  versions: string[];
  repo: string;
}

const SOFTWARE_BY_FAMILY: Record<string, Software[]> = {
  Windows: [
    { package_id: 70011, software_id: 5011, name: 'Google Chrome', display_name: 'Google Chrome', versions: ['126.0.6478.127', '127.0.6533.89'], repo: 'Windows' },
    { package_id: 70012, software_id: 5012, name: 'Mozilla Firefox (x64 en-US)', display_name: 'Mozilla Firefox', versions: ['127.0.2', '128.0'], repo: 'Windows' },
    { package_id: 70013, software_id: 5013, name: 'KB5040442', display_name: '2024-07 Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB5040442)', versions: ['1'], repo: 'WindowsUpdate' },
    { package_id: 70014, software_id: 5014, name: 'KB2267602', display_name: 'Security Intelligence Update for Microsoft Defender Antivirus - KB2267602', versions: ['1.415.142.0'], repo: 'WindowsUpdate' },
    { package_id: 70015, software_id: 5015, name: '7-Zip 23.01 (x64)', display_name: '7-Zip', versions: ['23.01', '24.07'], repo: 'Windows' },
    { package_id: 70016, software_id: 5016, name: 'Microsoft Edge', display_name: 'Microsoft Edge', versions: ['126.0.2592.102'], repo: 'Windows' },
  ],
  Mac: [
    { package_id: 71011, software_id: 6011, name: 'Safari', display_name: 'Safari 17.5', versions: ['17.5'], repo: 'Apple' },
    { package_id: 71012, software_id: 6012, name: 'macOS Sonoma 14.6', display_name: 'macOS Sonoma 14.6', versions: ['14.6'], repo: 'Apple' },
    { package_id: 71013, software_id: 6013, name: 'Slack', display_name: 'Slack', versions: ['4.39.90'], repo: 'ThirdParty' },
    { package_id: 71014, software_id: 6014, name: 'zoom.us', display_name: 'Zoom', versions: ['6.1.1'], repo: 'ThirdParty' },
  ],
  Linux: [
    { package_id: 72011, software_id: 7011, name: 'openssl', display_name: 'openssl', versions: ['3.0.2-0ubuntu1.16'], repo: 'Linux' },
    { package_id: 72012, software_id: 7012, name: 'linux-image-generic', display_name: 'linux-image-generic', versions: ['5.15.0.116.126'], repo: 'Linux' },
    { package_id: 72013, software_id: 7013, name: 'curl', display_name: 'curl', versions: ['7.81.0-1ubuntu1.17'], repo: 'Linux' },
    { package_id: 72014, software_id: 7014, name: 'sudo', display_name: 'sudo', versions: ['1.9.9-1ubuntu2.4'], repo: 'Linux' },
  ],
};

const SEVERITIES: readonly AutomoxSeverity[] = ['critical', 'high', 'medium', 'low', 'none'];

function ipv4(rng: Rng, prefix: string): string {
  return `${prefix}.${rng.int(0, 254)}.${rng.int(1, 254)}`;
}

function makeServer(rng: Rng, id: number, orgId: number, groupId: number, index: number): AutomoxServer {
  const os = rng.pick(OS_PROFILES);
  const hw = rng.pick(os.hw);
  const prefix = os.os_family === 'Mac' ? 'MAC' : os.os_family === 'Linux' ? 'SRV' : rng.pick(HOST_PREFIXES);
  const unicodeName = index % 17 === 5 ? rng.pick(['Büro-PC-Ünterföhring', '会議室-端末', 'Kiosk-😀-Lobby']) : null;
  const name = unicodeName ?? `${prefix}-${String(id).slice(-5)}-${rng.hex(4).toUpperCase()}`;
  const serial = hw.vendor === 'Apple Inc.' ? `C02${rng.hex(9).toUpperCase()}` : `${rng.hex(3).toUpperCase()}${rng.digits(4)}${rng.hex(3).toUpperCase()}`;
  const created = BASE_TIME - rng.int(30, 900) * DAY + rng.int(0, DAY - 1);
  const refreshed = BASE_TIME + rng.int(0, 20) * DAY + rng.int(0, DAY - 1);
  const connected = rng.bool(0.85);
  const priv = ipv4(rng, '10.' + rng.int(0, 40));
  const nicCount = rng.bool(0.65) ? 1 : 2;
  const nics: AutomoxNic[] = [];
  for (let n = 0; n < nicCount; n++) {
    nics.push({
      CONNECTED: n === 0 ? connected : rng.bool(0.3),
      DEVICE: os.os_family === 'Windows' ? `${hw.nicVendor} Ethernet Adapter #${n + 1}` : os.os_family === 'Mac' ? `en${n}` : `eno${n + 1}`,
      IPS: n === 0 ? [priv] : [],
      MAC: rng.mac(hw.macPrefix).toUpperCase(),
      TYPE: n === 0 && os.os_family !== 'Linux' && rng.bool(0.5) ? 'wireless' : 'ethernet',
      VENDOR: hw.nicVendor,
    });
  }
  const compliant = rng.bool(0.7);
  const pendingPatches = compliant ? 0 : rng.int(1, 14);
  const policyIds = [rng.int(100000, 100050), rng.int(100051, 100099)];
  const server: AutomoxServer = {
    id,
    os_version_id: os.os_version_id,
    server_group_id: groupId,
    organization_id: orgId,
    uuid: rng.uuid(),
    name,
    ...(index % 6 === 1 ? { custom_name: `Front desk ${index}` } : {}),
    display_name: index % 6 === 1 ? `Front desk ${index}` : name,
    refresh_interval: 1440,
    last_update_time: automoxTime(refreshed - rng.int(0, 3) * DAY),
    last_refresh_time: automoxTime(refreshed),
    create_time: automoxTime(created),
    ...(connected ? {} : { last_disconnect_time: automoxTime(refreshed + rng.int(60_000, DAY)) }),
    uptime: rng.int(600, 3_000_000),
    needs_reboot: rng.bool(0.2),
    timezone: rng.pick(TIMEZONES),
    tags: rng.bool(0.4) ? [rng.pick(['prod', 'vip', 'pilot', 'finance', 'kiosk'])] : [],
    os_version: os.os_version,
    os_name: os.os_name,
    os_family: os.os_family,
    ip_addrs: [`${rng.int(20, 220)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`],
    ip_addrs_private: [priv],
    patches: pendingPatches + rng.int(0, 5),
    pending_patches: pendingPatches,
    agent_version: rng.pick(['1.44-26', '1.45-12', '2.0.28', '2.1.7']),
    ...(hw.vendor === 'VMware, Inc.' ? { instance_id: `i-${rng.hex(17)}` } : {}),
    connected,
    exception: rng.bool(0.03),
    pending: !compliant && rng.bool(0.3),
    compliant,
    needs_attention: !connected || rng.bool(0.05),
    is_compatible: true,
    last_logged_in_user: os.os_family === 'Windows' ? `CORP\\${rng.pick(USERS)}` : rng.pick(USERS),
    serial_number: serial,
    status: {
      device_status: connected ? 'ready' : 'not-ready',
      agent_status: connected ? 'connected' : 'disconnected',
      policy_status: compliant ? 'compliant' : 'non-compliant',
      policy_statuses: policyIds.map((pid, k) => ({ id: pid, compliant: compliant || k === 1 })),
    },
    detail: {
      CPU: hw.cpu,
      RAM: `${rng.pick([8, 16, 32, 64])} GB`,
      DISKS: Array.from({ length: rng.bool(0.8) ? 1 : 2 }, () => ({ SIZE: `${rng.pick([256, 512, 1024, 2048])} GB`, TYPE: rng.pick(['SSD', 'NVMe', 'HDD']) })),
      MODEL: hw.model,
      VENDOR: hw.vendor,
      VERSION: rng.pick(['1.18.0', '2.3.1', 'A21', 'N/A']),
      SERIAL: serial,
      SERVICETAG: hw.vendor === 'Dell Inc.' ? serial : '',
      NICS: nics,
    },
  };
  // Some agents leave `serial_number` empty; the hardware serial is still in detail.SERIAL.
  if (index % 11 === 4) server.serial_number = '';
  if (index % 7 === 3) {
    server.x_future_field = { rollout_ring: rng.pick(['canary', 'broad']), telemetry: { v: 2, sampled: rng.bool() } };
  }
  return server;
}

/** Deterministic (seeded mulberry32) fake tenant. Ids are ascending in array order. */
export function generateAutomoxData(opts: GenerateAutomoxOptions): AutomoxData {
  const rng = createRng(opts.seed ?? 1);
  const groupsPerOrg = Math.max(1, opts.groupsPerOrg ?? 3);
  const packagesPerDevice = Math.max(0, opts.packagesPerDevice ?? 3);
  const data: AutomoxData = { orgs: [], groups: [], servers: [], packages: [] };
  let groupId = 200_000;
  let serverId = 1_000_000;
  let packageId = 50_000_000;

  for (let o = 0; o < opts.orgs; o++) {
    const orgId = 10_001 + o;
    const deviceCount = Array.isArray(opts.devicesPerOrg) ? (opts.devicesPerOrg[o] ?? 0) : opts.devicesPerOrg;
    const baseName = ORG_NAMES[o % ORG_NAMES.length] ?? 'Org';
    const name = o < ORG_NAMES.length ? baseName : `${baseName} ${Math.floor(o / ORG_NAMES.length) + 1}`;
    const created = BASE_TIME - rng.int(200, 1500) * DAY;
    const uuid = rng.uuid();
    // The draws of fields the console answers beyond the published schema stay, so a seed gives
    // the same tenant as before they were left out.
    const tier = rng.pick(['patch', 'manage', 'enterprise'] as const);
    void rng.int(1, 9);
    void rng.bool();
    const accessKey = rng.hex(32);
    const patchServersDone = rng.bool();
    const zone = rng.pick(['us', 'eu']);
    const org: AutomoxOrg = {
      id: orgId,
      uuid,
      name,
      ...(o === 0 ? {} : { parent_id: 10_001 }),
      create_time: isoTime(created),
      trial_end_time: isoTime(created + 15 * DAY),
      tier,
      device_limit: null,
      soft_device_limit: null,
      device_count: deviceCount,
      access_key: accessKey,
      metadata: { patchServersDone },
    };
    if (o % 2 === 1) org.x_future_field = { region_v2: zone, beta_flags: ['worklets'] };
    data.orgs.push(org);

    const orgGroups: AutomoxServerGroup[] = [];
    for (let g = 0; g < groupsPerOrg; g++) {
      const id = ++groupId;
      const isDefault = g === 0;
      const group: AutomoxServerGroup = {
        id,
        organization_id: orgId,
        name: isDefault ? '' : GROUP_NAMES[(g - 1 + o) % GROUP_NAMES.length] ?? `Group ${g}`,
        refresh_interval: isDefault ? 1440 : rng.pick([360, 720, 1440]),
        ...(isDefault || !orgGroups[0] ? {} : { parent_server_group_id: orgGroups[0].id }),
        ui_color: rng.pick(UI_COLORS),
        notes: isDefault ? '' : rng.pick(['', 'Managed by IT', 'Patch window: Sun 02:00–04:00']),
        enable_os_auto_update: isDefault ? null : rng.bool(),
        server_count: 0,
        wsus_config: rng.bool(0.3)
          ? {
              id: id * 10,
              server_group_id: id,
              is_managed: true,
              server_url: `https://wsus.example.com:8531/g${id}`,
              created_at: isoTime(created + DAY),
              updated_at: isoTime(created + 2 * DAY),
            }
          : null,
        policies: [rng.int(100000, 100050)],
      };
      if (g === 1 && o % 2 === 0) group.x_future_field = { scope: 'dynamic', rule: 'os_family == "Windows"' };
      orgGroups.push(group);
      data.groups.push(group);
    }

    for (let d = 0; d < deviceCount; d++) {
      const id = ++serverId;
      const group = orgGroups[rng.int(0, orgGroups.length - 1)] ?? orgGroups[0];
      if (!group) throw new Error('unreachable: no group');
      group.server_count++;
      const server = makeServer(rng, id, orgId, group.id, d);
      data.servers.push(server);

      const catalog = SOFTWARE_BY_FAMILY[server.os_family === 'Windows' ? 'Windows' : server.os_family] ?? [];
      for (let p = 0; p < packagesPerDevice && catalog.length > 0; p++) {
        const sw = catalog[(p + d) % catalog.length];
        if (!sw) continue;
        const severity = rng.pick(SEVERITIES);
        const installed = rng.bool(0.6);
        const pkg: AutomoxPackage = {
          id: ++packageId,
          server_id: id,
          package_id: sw.package_id,
          software_id: sw.software_id,
          installed,
          ignored: rng.bool(0.05),
          group_ignored: false,
          deferred_until: null,
          group_deferred_until: null,
          name: sw.name,
          display_name: sw.display_name,
          version: rng.pick(sw.versions),
          repo: sw.repo,
          cves: severity === 'none' ? [] : [`CVE-2024-${rng.int(20000, 45999)}`, ...(rng.bool(0.3) ? [`CVE-2023-${rng.int(10000, 52999)}`] : [])],
          cve_score: severity === 'none' ? null : (rng.int(20, 99) / 10).toFixed(1),
          severity,
          agent_severity: rng.bool(0.5) ? severity : null,
          package_version_id: sw.package_id * 100 + rng.int(1, 99),
          os_name: server.os_name,
          os_version: server.os_version,
          os_version_id: server.os_version_id,
          create_time: isoTime(BASE_TIME - rng.int(0, 120) * DAY),
          requires_reboot: rng.bool(0.25),
          patch_classification_category_id: rng.int(1, 13),
          patch_scope: rng.pick(['all', 'manual', 'filter']),
          is_uninstallable: rng.bool(0.5),
          secondary_id: sw.name.startsWith('KB') ? sw.name : '',
          is_managed: true,
          impact: rng.int(0, 10),
          organization_id: orgId,
        };
        if (packageId % 11 === 0) pkg.x_future_field = { exploit_maturity: rng.pick(['poc', 'weaponized']) };
        data.packages.push(pkg);
      }
    }
  }
  addUnmanaged(data, Math.max(0, opts.unmanagedPerDevice ?? 0), createRng((opts.seed ?? 1) + 0x5eed), packageId);
  return data;
}

const UNMANAGED_SOFTWARE: ReadonlyArray<{ name: string; display_name: string; versions: string[] }> = [
  { name: 'Notepad++ (64-bit x64)', display_name: 'Notepad++', versions: ['8.6.9', '8.7.1'] },
  { name: 'VLC media player', display_name: 'VLC media player', versions: ['3.0.21'] },
  { name: 'Acme Label Printer Driver', display_name: 'Acme Label Printer Driver', versions: ['2.4.0'] },
];

/** Appends `perDevice` unmanaged packages to every server, ids from `lastId` + 1. */
function addUnmanaged(data: AutomoxData, perDevice: number, rng: Rng, lastId: number): void {
  let id = lastId;
  for (const server of data.servers) {
    for (let k = 0; k < perDevice; k++) {
      const sw = UNMANAGED_SOFTWARE[(server.id + k) % UNMANAGED_SOFTWARE.length]!;
      data.packages.push({
        id: ++id,
        server_id: server.id,
        package_id: 0,
        software_id: 90_000 + ((server.id + k) % UNMANAGED_SOFTWARE.length),
        installed: true,
        ignored: false,
        group_ignored: false,
        deferred_until: null,
        group_deferred_until: null,
        name: sw.name,
        display_name: sw.display_name,
        version: rng.pick(sw.versions),
        repo: server.os_family === 'Windows' ? 'Windows' : server.os_family === 'Mac' ? 'Apple' : 'Linux',
        cves: [],
        cve_score: null,
        severity: 'none',
        agent_severity: null,
        package_version_id: 0,
        os_name: server.os_name,
        os_version: server.os_version,
        os_version_id: server.os_version_id,
        create_time: isoTime(BASE_TIME - rng.int(0, 120) * DAY),
        requires_reboot: false,
        patch_classification_category_id: null,
        patch_scope: null,
        is_uninstallable: false,
        secondary_id: '',
        is_managed: false,
        impact: 0,
        organization_id: server.organization_id,
      });
    }
  }
}

// ---------------------------------------------------------------- simulator

export interface AutomoxSimulatorOptions {
  apiKey: string;
  /** The tenant to serve. Ignored when `generated` is given. */
  data?: AutomoxData;
  /**
   * Serve a large tenant without holding it: orgs and groups are generated up front, devices are
   * generated per page on request (deterministic per device id, O(page) per request). For
   * benchmarks; `data.servers` stays empty in this mode and packages are not served.
   */
  generated?: GeneratedAutomoxOptions;
  rateLimit?: RateWindow | RateWindow[];
  /** Only requests whose path matches count against `rateLimit` (Automox's stricter /servers limit); default all. */
  rateLimitPath?: RegExp;
}

/** Options of the generated (lazy) mode of AutomoxSimulator. */
export interface GeneratedAutomoxOptions {
  seed?: number;
  orgs: number;
  devicesPerOrg: number;
  /** Default 3. */
  groupsPerOrg?: number;
}

/** First device id of the generated mode; ids are ascending per org, orgs in order. */
const GENERATED_FIRST_SERVER_ID = 1_000_001;

/**
 * Device `index` of org number `orgIndex` of a generated tenant (see GeneratedAutomoxOptions).
 * Deterministic: the same arguments give the same object, whatever was generated before.
 */
export function generatedAutomoxServer(opts: GeneratedAutomoxOptions, groups: readonly AutomoxServerGroup[], orgIndex: number, index: number): AutomoxServer {
  const id = GENERATED_FIRST_SERVER_ID + orgIndex * opts.devicesPerOrg + index;
  const rng = createRng(((opts.seed ?? 1) * 0x9e3779b1) ^ Math.imul(id, 0x85ebca6b));
  const groupsPerOrg = Math.max(1, opts.groupsPerOrg ?? 3);
  const group = groups[orgIndex * groupsPerOrg + rng.int(0, groupsPerOrg - 1)];
  if (!group) throw new Error(`no group for org index ${orgIndex}`);
  return makeServer(rng, id, 10_001 + orgIndex, group.id, index);
}

export class AutomoxSimulator extends HttpSimulator {
  readonly apiKey: string;
  /** Public and mutable: tests add/delete/rename objects between syncs. */
  data: AutomoxData;
  /** Set in generated mode: devices are made per request. */
  readonly generated: GeneratedAutomoxOptions | null;
  /** What `GET /api/events` answers from; addServer/removeServer record into it. */
  readonly eventLog = new AutomoxEventLog();

  constructor(opts: AutomoxSimulatorOptions) {
    const pathRe = opts.rateLimitPath;
    super({ rateLimit: opts.rateLimit ?? { ...AUTOMOX_RATE_LIMIT, enforce: false }, ...(pathRe ? { rateLimitMatch: (r: { path: string }) => pathRe.test(r.path) } : {}) });
    this.apiKey = opts.apiKey;
    this.generated = opts.generated ?? null;
    if (opts.generated) {
      const g = opts.generated;
      const data = generateAutomoxData({ seed: g.seed, orgs: g.orgs, devicesPerOrg: 0, packagesPerDevice: 0, groupsPerOrg: g.groupsPerOrg });
      for (const grp of data.groups) grp.server_count = Math.round(g.devicesPerOrg / Math.max(1, g.groupsPerOrg ?? 3));
      for (const org of data.orgs) org.device_count = g.devicesPerOrg;
      this.data = data;
    } else if (opts.data) {
      this.data = opts.data;
    } else {
      throw new Error('AutomoxSimulator needs data or generated');
    }

    this.get(/^\/api\/orgs\/?$/, (req) => this.list(req, () => this.data.orgs));
    this.get(/^\/api\/servergroups\/?$/, (req) =>
      this.list(req, (orgIds) => this.data.groups.filter((g) => orgIds.has(g.organization_id))),
    );
    this.get(/^\/api\/servers\/?$/, (req) => {
      const include = req.query.get('include_details') ?? '0';
      if (include !== '0' && include !== '1') return { status: 400, body: { errors: ['include_details must be 0 or 1'] } };
      const res =
        this.generated && req.query.get('groupId') === null
          ? this.generatedServers(req)
          : this.list(req, (orgIds) => {
              const groupParam = req.query.get('groupId');
              const groupId = groupParam === null ? null : Number(groupParam);
              return this.data.servers.filter((s) => orgIds.has(s.organization_id) && (groupId === null || s.server_group_id === groupId));
            });
      return include === '1' || res.status !== 200 ? res : { ...res, body: (res.body as AutomoxServer[]).map(fastByDefault) };
    });
    this.get(/^\/api\/events\/?$/, (req) => {
      const o = req.query.get('o');
      if (o !== null && o !== '' && !this.data.orgs.some((x) => x.id === Number(o))) return forbidden();
      return this.eventLog.answer(req, new Set(o === null || o === '' ? this.data.orgs.map((x) => x.id) : [Number(o)]));
    });
    this.get(/^\/api\/servergroups\/([^/]+)\/?$/, (req, [idParam]) => this.one(req, idParam, () => this.data.groups));
    this.get(/^\/api\/servers\/([^/]+)\/?$/, (req, [idParam]) => this.one(req, idParam, () => this.data.servers));
    this.get(/^\/api\/orgs\/([^/]+)\/packages\/?$/, (req, [idParam]) => {
      const orgId = Number(idParam);
      if (!Number.isInteger(orgId) || !this.data.orgs.some((o) => o.id === orgId)) return forbidden();
      const unmanaged = req.query.get('includeUnmanaged') ?? '0';
      if (unmanaged !== '0' && unmanaged !== '1') return { status: 400, body: { errors: ['includeUnmanaged must be 0 or 1'] } };
      return this.list(req, (orgIds) => {
        if (!orgIds.has(orgId)) return null;
        const serverIds = new Set(this.data.servers.filter((s) => s.organization_id === orgId).map((s) => s.id));
        return this.data.packages.filter((p) => p.organization_id === orgId && serverIds.has(p.server_id) && (unmanaged === '1' || p.is_managed));
      });
    });
  }

  /** Adds a device as the console does: listed and served by id from now on, with a `system.add` event (none with `quiet`: an event lost). */
  addServer(server: AutomoxServer, opts: { quiet?: boolean } = {}): void {
    this.data.servers.push(server);
    this.data.servers.sort((a, b) => a.id - b.id);
    if (!opts.quiet) this.eventLog.record('system.add', server, this.now());
  }

  /** Removes a device (gone from lists, 404 by id) with a `system.delete` event (none with `quiet`). Returns it, or undefined when there is none. */
  removeServer(id: number, opts: { quiet?: boolean } = {}): AutomoxServer | undefined {
    const i = this.data.servers.findIndex((s) => s.id === id);
    const [gone] = i < 0 ? [] : this.data.servers.splice(i, 1);
    if (gone && !opts.quiet) this.eventLog.record('system.delete', gone, this.now());
    return gone;
  }

  /** One server or group by id within `o`: the object, 404 when the org has no such id, 403 for an unknown org. */
  private one<T extends { id: number; organization_id: number }>(req: SimRequest, idParam: string | undefined, all: () => T[]): SimResponse {
    const o = Number(req.query.get('o'));
    if (!Number.isInteger(o) || !this.data.orgs.some((x) => x.id === o)) return forbidden();
    const id = Number(idParam);
    const found = Number.isInteger(id) ? all().find((x) => x.id === id && x.organization_id === o) : undefined;
    return found ? { status: 200, body: found } : { status: 404, body: { errors: ['Not Found'] } };
  }

  /** Shared limit/page/o validation: the values, or the 400/403 to answer. */
  private listParams(req: SimRequest): { limit: number; page: number; orgIds: Set<number> } | SimResponse {
    const limit = parseIntParam(req.query.get('limit')) ?? 500;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      return { status: 400, body: { errors: ['limit must be between 1 and 500'] } };
    }
    const page = parseIntParam(req.query.get('page')) ?? 0;
    if (!Number.isInteger(page) || page < 0) {
      return { status: 400, body: { errors: ['page must be a non-negative integer'] } };
    }
    const o = req.query.get('o');
    let orgIds: Set<number>;
    if (o === null || o === '') {
      orgIds = new Set(this.data.orgs.map((x) => x.id));
    } else {
      const id = Number(o);
      if (!Number.isInteger(id) || !this.data.orgs.some((x) => x.id === id)) return forbidden();
      orgIds = new Set([id]);
    }
    return { limit, page, orgIds };
  }

  /** Shared limit/page/o handling. `select` returns null to answer 403. */
  private list<T extends { id: number }>(req: SimRequest, select: (orgIds: Set<number>) => T[] | null): SimResponse {
    const p = this.listParams(req);
    if ('status' in p) return p;
    const items = select(p.orgIds);
    if (items === null) return forbidden();
    return { status: 200, body: byId(items).slice(p.page * p.limit, (p.page + 1) * p.limit) };
  }

  /** /servers in generated mode: only the requested page is generated. */
  private generatedServers(req: SimRequest): SimResponse {
    const g = this.generated!;
    const p = this.listParams(req);
    if ('status' in p) return p;
    // Orgs are in id order and each holds devicesPerOrg devices: the selection is a concatenation.
    const orgIndexes = this.data.orgs.map((o, i) => (p.orgIds.has(o.id) ? i : -1)).filter((i) => i >= 0);
    const total = orgIndexes.length * g.devicesPerOrg;
    const out: AutomoxServer[] = [];
    for (let k = p.page * p.limit; k < Math.min(total, (p.page + 1) * p.limit); k++) {
      const orgIndex = orgIndexes[Math.floor(k / g.devicesPerOrg)]!;
      out.push(generatedAutomoxServer(g, this.data.groups, orgIndex, k % g.devicesPerOrg));
    }
    return { status: 200, body: out };
  }

  protected override authenticate(req: SimRequest): SimResponse | null {
    return bearerToken(req.headers) === this.apiKey ? null : { status: 401, body: { errors: ['Unauthorized'] } };
  }

  protected override rateLimitResponse(_req: SimRequest, retryAfterSec: number): SimResponse {
    return { status: 429, body: { errors: ['Too Many Requests'] }, headers: { 'retry-after': String(retryAfterSec) } };
  }

  protected override commonHeaders(): Record<string, string> {
    const st = this.rateLimitStatus();
    if (!st) return {};
    return {
      'x-ratelimit-limit': String(st.limit),
      'x-ratelimit-remaining': String(st.remaining),
      'x-ratelimit-reset': String(Math.ceil(st.resetAt / 1000)),
    };
  }

  protected override errorBody(status: number): unknown {
    return { errors: [STATUS_CODES[status] ?? 'Error'] };
  }
}

/**
 * A server as `/servers` lists it without `include_details=1` (the published definition's
 * "server without details (default)" example): `detail` and `status` are empty objects.
 */
export function fastByDefault(s: AutomoxServer): AutomoxServer {
  return { ...s, detail: {} as AutomoxServerDetail, status: {} as AutomoxServerStatus };
}

function forbidden(): SimResponse {
  return { status: 403, body: { errors: ['Forbidden'] } };
}
